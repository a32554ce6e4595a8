"""The README's numbers are the workbench's: its tour output is rerun and compared line by line,
and every document it links to exists."""

from __future__ import annotations

import re

from costmodel.calibration import errors, summary
from costmodel.io.validation import published_runs
from tests.conftest import ROOT, tco

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_tour_output_is_what_the_command_prints():
    block = re.search(r"```text\n\$ tco (evaluate [^\n]+)\n(.*?)```", README, re.S)
    assert block, "the README's tour shows a tco evaluate output"
    command, shown = block.group(1).split(), block.group(2)
    result = tco(*command[:1], *command[1:])
    assert result.returncode == 0, result.stderr
    printed = _squash(result.stdout)
    for line in shown.splitlines():
        if line.strip() and line.strip() != "...":
            assert _squash(line) in printed, f"README line not in today's output: {line}"


def test_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        assert (ROOT / target).exists(), target


def test_readme_is_a_front_page():
    assert README.count("\n") <= 160
    assert "make report" in README and "make test" in README


def test_capacity_error_the_readme_states(base_catalog):
    """'on the 134 runs held out from the fit its median absolute error is 6.1 % and it overstates
    none by more than 25 % (at most +24.0 %)'."""
    table = errors(published_runs(), base_catalog)
    held = table[table["calibrated"] & (table["role"] == "validation")]
    s = summary(held)
    said = re.search(
        r"on\s+the\s+(\d+) runs held out from the fit its median absolute error is ([\d.]+) %\s+and it "
        r"overstates none by more than 25 % \(at most \+([\d.]+) %\)",
        " ".join(README.split()),
    )
    assert said, "the README states the capacity model's error"
    assert int(said.group(1)) == s.rows
    assert float(said.group(2)) == round(s.median_abs * 100, 1)
    assert float(said.group(3)) == round(s.largest_overstatement * 100, 1)
    assert s.overstating_over_25 == 0


def test_every_path_the_architecture_map_names_exists():
    """docs/architecture.md answers each question with files: every path it names is in the repository."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:costmodel|probes|tco|data|bench|notebooks|tests)/[\w./-]+)`", text))
    assert len(named) >= 20
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, missing
