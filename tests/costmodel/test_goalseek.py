"""Goal-seek: the value found is where the recommendation really changes (the engine recommends the
other option there and the base's just before it), in both directions, and said in words."""

from __future__ import annotations

import pytest

from costmodel.engine import evaluate
from costmodel.goalseek import decision, goal_seek, goal_seek_factors, sentence
from costmodel.io.scenario import load
from costmodel.sensitivity import apply
from tests.conftest import FINTECH

SC, CATALOG = load(FINTECH)
FACTORS = {f.name: f for f in goal_seek_factors(SC, CATALOG)}


def decided(factor, x):
    return decision(evaluate(*apply(SC, CATALOG, factor, x), classifier_needs=False))


@pytest.mark.parametrize(
    "name", ["Requests per month", "Monthly growth", "accuracy of openai/gpt-4o-mini on complex (stated)"]
)
def test_the_value_found_is_where_the_decision_changes(name):
    f = FACTORS[name]
    g = goal_seek(SC, CATALOG, f, points=6)
    assert g.recommended == decided(f, f.base)
    found = [flip for flip in (g.below, g.above) if flip is not None]
    assert found, "each of these inputs changes the decision inside its range"
    for flip in found:
        assert decided(f, flip.at) == flip.to != g.recommended
        just_before = flip.at + (f.base - flip.at) * 1e-3
        assert decided(f, just_before) == g.recommended
        assert flip.from_ == g.recommended


def test_volume_answers_when_owning_takes_traffic():
    """The default scenario's question: from what volume does the router send routine requests to
    the owned L40S fleet? Above the base, and said in words with the value."""
    g = goal_seek(SC, CATALOG, FACTORS["Requests per month"], points=6)
    assert g.above is not None and "own-l40s" in g.above.to and g.above.at > SC.workload.requests_per_month
    said = sentence(g)
    assert f"{round(g.above.at):,}" in said and "rises past" in said


def test_an_input_that_never_changes_the_decision_says_so():
    f = FACTORS["Discount rate"]
    g = goal_seek(SC, CATALOG, f, points=4)
    if g.below is None and g.above is None:
        assert "does not change" in sentence(g)
    assert len(g.grid) == 9 and g.grid["value"].is_monotonic_increasing
