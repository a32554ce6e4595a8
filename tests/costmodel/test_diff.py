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


def test_the_mover_is_named_even_when_it_moves_no_npv(tmp_path):
    """The issue's case: growth 0.04 -> 0.06 moves every NPV, GPT-4o-mini's complex accuracy
    0.70 -> 0.76 moves none; the accuracy is what moves the recommendation (it clears the 75 % bar),
    with all of the Shapley share, and it flips at the bar. Re-checked by evaluating each subset."""
    text = FINTECH.read_text(encoding="utf-8")
    newer = tmp_path / "v2.yaml"
    newer.write_text(
        text.replace("monthly_growth: 0.04", "monthly_growth: 0.06").replace(
            "quality: {routine: 0.94, complex: 0.70}", "quality: {routine: 0.94, complex: 0.76}"
        ),
        encoding="utf-8",
    )
    (old, old_cat), (new, new_cat) = load(FINTECH), load(newer)
    d = diff(old, new, old_cat, new_cat)
    accuracy, growth = "options.api-gpt-4o-mini.quality.complex", "workload.monthly_growth"
    assert {c.path for c in d.changes} == {accuracy, growth}
    assert d.moved_most.path == growth  # the NPVs see growth only
    shares = {m.path: m.share for m in d.movers}
    # by hand: v(S) = 1 when S reproduces the new recommendation; only sets holding the accuracy do
    target = d.new.recommendation.option
    for subset, reaches in (({growth: 0.06}, False), ({accuracy: 0.76}, True), ({growth: 0.06, accuracy: 0.76}, True)):
        assert (evaluate(with_values(old, subset), old_cat).recommendation.option == target) is reaches
    assert shares == {accuracy: pytest.approx(1.0), growth: pytest.approx(0.0)}
    top = d.movers[0]
    assert top.path == accuracy and top.flips_at == pytest.approx(0.75, abs=1e-5) and not top.flips_with_others
    assert any(s.startswith("What moves it") and accuracy in s and "flipping at 0.75" in s for s in d.sentences())


def test_shares_split_when_two_changes_are_needed_together(versions):
    """Two changes each unable to flip the decision alone but flipping it together share it equally."""
    (old, cat) = load(versions[0])
    # GPT-4o-mini good enough on complex work only if both its accuracy rises and the bar falls
    a, b = "options.api-gpt-4o-mini.quality.complex", "workload.request_classes.complex.min_quality"
    new = with_values(old, {a: 0.73, b: 0.72})
    assert evaluate(with_values(old, {a: 0.73}), cat).recommendation.option == "router"
    assert evaluate(with_values(old, {b: 0.72}), cat).recommendation.option == "router"
    d = diff(old, new, cat, cat)
    assert d.new.recommendation.option == "api-gpt-4o-mini"
    shares = {m.path: m.share for m in d.movers}
    assert shares == {a: pytest.approx(0.5), b: pytest.approx(0.5)}
    assert all(m.flips_with_others and m.flips_at is not None for m in d.movers)
    flip_a = next(m for m in d.movers if m.path == a).flips_at
    assert flip_a == pytest.approx(0.72, abs=1e-5)  # with the bar at 0.72, the accuracy clears it there
