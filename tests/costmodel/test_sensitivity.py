"""One-at-a-time sensitivity: the tornado and its break-even sentences."""

from __future__ import annotations

import pytest

from costmodel.sensitivity import break_even_sentences, one_at_a_time
from tests.conftest import API, price, rented, scenario, with_prices


def test_tornado_over_uncertain_inputs_finds_the_break_even(base_catalog):
    # Rent 1 GPU at $2/h = 1,461/month vs an API bill of 3,500 x scale a month (12 months, no
    # discounting): they cross at scale 1,461 / 3,500 = 0.4174.
    sc = scenario(
        options=[rented(), API],
        uncertainty={
            "options.api.price_scale": {"dist": "uniform", "low": 0.2, "high": 1.5, "source": "test"},
            "workload.monthly_growth": {"dist": "uniform", "low": 0.0, "high": 0.01, "source": "test"},
        },
    )
    cat = with_prices(base_catalog, price(2.5, 10))
    tornado = one_at_a_time(sc, cat)
    assert tornado.attrs["options"] == ("rent", "api")
    row = tornado.set_index("factor").loc["options.api.price_scale"]
    assert (row["low"], row["high"]) == (0.2, 1.5)
    assert row["break_even"] == pytest.approx(2.0 * 730.5 / 3500.0, rel=1e-4)
    assert row["winner_low"] == "api" and row["winner_high"] == "rent"
    # where the recommended option changes: the same crossing, found on the recommendation itself
    assert row["flips_at"] == pytest.approx(row["break_even"], rel=1e-3) and row["flips_to"] == "api"
    sentence = break_even_sentences(tornado)[0]
    assert sentence.startswith(
        "the recommendation moves from rent to api when options.api.price_scale goes below 0.417"
    ), sentence


def test_quality_inputs_that_flip_the_decision_are_named():
    """The finance review's case: GPT-4o-mini's stated complex accuracy 0.70 moves 0.60-0.80; at the
    complex bar (0.75) it becomes good enough alone and, being cheapest, is recommended."""
    from costmodel.engine import evaluate
    from costmodel.io.scenario import load
    from costmodel.model.scenario import with_values
    from tests.conftest import FINTECH

    sc, cat = load(FINTECH)
    tornado = one_at_a_time(sc, cat)
    row = tornado.set_index("factor").loc["accuracy of openai/gpt-4o-mini on complex (stated)"]
    assert (row["low"], row["base"], row["high"]) == pytest.approx((0.6, 0.7, 0.8))
    assert row["flips_at"] == pytest.approx(0.75, abs=1e-4) and row["flips_to"] == "api-gpt-4o-mini"
    path = "options.api-gpt-4o-mini.quality.complex"
    assert evaluate(with_values(sc, {path: 0.7501}), cat).recommendation.option == "api-gpt-4o-mini"
    assert evaluate(with_values(sc, {path: 0.7499}), cat).recommendation.option == "router"
    assert any(
        "accuracy of openai/gpt-4o-mini on complex (stated) goes above 0.75" in s for s in break_even_sentences(tornado)
    )


def test_the_model_docs_quote_the_default_scenarios_flips():

    from costmodel.io.scenario import load
    from tests.conftest import FINTECH, docs_say

    tornado = one_at_a_time(*load(FINTECH))
    flips = tornado.dropna(subset=["flips_at"]).set_index("factor")
    said = docs_say(
        "model.md",
        r"three accuracies flip the decision within their ranges \(GPT-4o-mini's on routine below (?P<a>[\d.]+) "
        r"and on complex above (?P<b>[\d.]+), Llama 3.3 70B's on complex below (?P<c>[\d.]+)\); no cost input does",
    )
    assert set(flips.index) == {
        "accuracy of openai/gpt-4o-mini on routine (stated)",
        "accuracy of openai/gpt-4o-mini on complex (stated)",
        "accuracy of aws/meta.llama3-3-70b-instruct-v1:0 on complex (stated)",
    }
    assert float(said["a"]) == pytest.approx(
        flips.loc["accuracy of openai/gpt-4o-mini on routine (stated)", "flips_at"], abs=5e-4
    )
    assert float(said["b"]) == pytest.approx(
        flips.loc["accuracy of openai/gpt-4o-mini on complex (stated)", "flips_at"], abs=5e-3
    )
    llama = flips.loc["accuracy of aws/meta.llama3-3-70b-instruct-v1:0 on complex (stated)", "flips_at"]
    assert float(said["c"]) == pytest.approx(llama, abs=5e-4)
