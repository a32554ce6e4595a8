"""Two versions of a scenario: the inputs that changed, each change's effect alone, the NPVs and
the recommendation before and after."""

from __future__ import annotations

import json

import pytest

from costmodel.diff import diff, flatten
from costmodel.engine import evaluate
from costmodel.io.scenario import load
from costmodel.model.scenario import with_values
from tests.conftest import FINTECH, assert_bad_input, tco


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("versions")
    newer = folder / "fintech-rag-v2.yaml"
    text = FINTECH.read_text(encoding="utf-8")
    text = text.replace("monthly_growth: 0.04", "monthly_growth: 0.06").replace("usd_per_kwh: 0.12", "usd_per_kwh: 0.2")
    newer.write_text(text, encoding="utf-8")
    return FINTECH, newer


def test_changes_npvs_and_what_moved_most(versions):
    (old, old_cat), (new, new_cat) = load(versions[0]), load(versions[1])
    d = diff(old, new, old_cat, new_cat)
    assert {c.path for c in d.changes} == {"workload.monthly_growth", "options.own-l40s.usd_per_kwh"}
    for c in d.changes:  # each change alone, recomputed
        alone = evaluate(with_values(old, {c.path: c.new}), old_cat)
        for o in alone.options:
            assert c.npv_moves[o.name] == pytest.approx(o.npv_usd - d.old.option(o.name).npv_usd)
    assert d.moved_most.path == "workload.monthly_growth"  # growth moves every bill; power only own-l40s
    for name, before, after in d.npv_table():
        assert before == evaluate(old, old_cat).option(name).npv_usd
        assert after == evaluate(new, new_cat).option(name).npv_usd
    growth = next(c for c in d.changes if c.path == "workload.monthly_growth")
    assert growth.source == "scenario (no source given)"
    kwh = next(c for c in d.changes if c.path.endswith("usd_per_kwh"))
    assert kwh.source.startswith("assumption: US commercial electricity")
    assert d.sentences()[0] == "2 inputs changed."


def test_identical_versions_have_no_changes():
    sc, cat = load(FINTECH)
    assert not diff(sc, sc, cat, cat).changes
    assert "options.own-l40s.usd_per_kwh" in flatten(sc)


def test_cli_json_and_bad_input(versions, tmp_path):
    done = tco("diff", str(versions[0]), str(versions[1]), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["moved_most"] == "workload.monthly_growth"
    expected = [evaluate(*load(v)).recommendation.option for v in versions]
    assert [doc["recommendation"]["old"], doc["recommendation"]["new"]] == expected
    assert all(r["change"] == pytest.approx(r["new"] - r["old"]) for r in doc["npv"])
    shown = tco("diff", str(versions[0]), str(versions[1]))
    assert "workload.monthly_growth" in shown.stdout and "NPV by option" in shown.stdout
    assert_bad_input(tco("diff", str(versions[0]), str(tmp_path / "missing.yaml")), "missing.yaml")
