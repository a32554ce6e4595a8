"""A bounded fuzz run through the CLI as processes: hostile --set values, mutated scenario files
and catalogs, bad option values. Each case ends in exit 0 with valid, finite, physically sane
JSON, or exit 2 with one line; never a traceback, never a hang. ``bench/fuzz.py`` runs hundreds
of the same cases and counts them."""

from __future__ import annotations

import json
import random
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import FINTECH, fuzz_case, sane, tco

CASES = 15  # processes per run, about a second each; make fuzz runs 600


def run_case(case, folder) -> subprocess.CompletedProcess | None:
    """Run one case; None when it hung past the timeout."""
    _kind, argv, files = case
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    argv = [a.replace("{dir}", str(folder)) for a in argv]
    scenario = [] if any(a.endswith(".yaml") for a in argv) else [str(FINTECH)]
    try:
        return tco("evaluate", *scenario, *argv, "--draws", "200", "--json", timeout=90)
    except subprocess.TimeoutExpired:
        return None


def judge(done) -> str | None:
    """What is wrong with how a case ended, or None."""
    if done is None:
        return "hang"
    if "Traceback" in done.stderr or "Traceback" in done.stdout:
        return f"traceback: {done.stderr[-400:]}"
    if done.returncode == 0:
        try:
            doc = json.loads(done.stdout)
        except ValueError:
            return f"not JSON: {done.stdout[:200]}"
        problems = sane(doc)
        return f"absurd: {problems}" if problems else None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode != 2 or not lines or not lines[0].startswith("error:"):
        return f"exit {done.returncode}: {done.stderr[-300:]}"
    return None


@settings(max_examples=CASES, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_hostile_inputs_end_cleanly(tmp_path_factory, seed):
    case = fuzz_case(random.Random(seed))
    done = run_case(case, tmp_path_factory.mktemp("case"))
    problem = judge(done)
    assert problem is None, (case[0], case[1], problem)


@pytest.mark.parametrize(
    "argv",
    [
        ["--set", "options.own-l40s.usd_per_gpu=.inf"],
        ["--set", "options.own-l40s.usd_per_gpu=1e308"],
        ["--set", "options.own-l40s.measured={output_tokens_per_s_per_replica: 1e100, source: x1, as_of: 2026-01-01}"],
        ["--set", "workload.requests_per_month=0"],
        ["--set", "workload.load_shape=[.inf,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]"],
        ["--seed", "-1"],
        ["--set", "workload.requests_per_month=1e12"],
    ],
)
def test_the_issue_commands(argv, tmp_path):
    """The commands of the reliability issue: each a one-line error or a sane result."""
    assert judge(run_case(("cli", argv, {}), tmp_path)) is None
