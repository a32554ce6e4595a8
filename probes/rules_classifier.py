"""A rules classifier for ``tco classify --command``: the first rule whose pattern a request matches
names its class, else the default. Reads one JSON object a line on stdin (``{"id", "prompt"}``)
and writes one class a line on stdout, flushed, so it can run as a router's classifier process.

Rules file (YAML)::

    default: routine
    rules:
      - class: complex
        any: ['\\bcalculate\\b', '\\bcompare\\b']   # regular expressions, case-insensitive

Usage: ``python -m probes.rules_classifier RULES.yaml``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml


def load_rules(path: Path) -> tuple[str, list[tuple[str, list[re.Pattern[str]]]]]:
    """The default class and the rules, each a class and its compiled patterns."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = [(str(r["class"]), [re.compile(p, re.IGNORECASE) for p in r["any"]]) for r in data["rules"]]
    return str(data["default"]), rules


def classify(prompt: str, default: str, rules: list[tuple[str, list[re.Pattern[str]]]]) -> str:
    """The class of the first rule with a pattern found in ``prompt``, else ``default``.

    >>> classify("Please calculate the fee", "routine", [("complex", [re.compile("calculate")])])
    'complex'
    """
    for name, patterns in rules:
        if any(p.search(prompt) for p in patterns):
            return name
    return default


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m probes.rules_classifier RULES.yaml")
    default, rules = load_rules(Path(sys.argv[1]))
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        sys.stdout.write(classify(str(request.get("prompt", "")), default, rules) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
