"""Monte Carlo: convergence to the analytic value, degenerate draws, seeds, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from costmodel import evaluate, load
from costmodel.core.units import SECONDS_PER_MONTH
from costmodel.io.files import InputError
from costmodel.io.scenario import load_scenario
from costmodel.model.distributions import Lognormal, Normal, Triangular, Uniform
from costmodel.model.scenario import with_values
from costmodel.uncertainty import point_value, simulate, with_confidence
from tests.conftest import API, FINTECH, MEASURED, owned, price, rented, scenario, with_prices


def test_mean_converges_to_the_analytic_value_for_a_linear_case(base_catalog):
    # The API bill is linear in the price scale, so E[cost] is the cost at E[scale] = 1.
    sc = scenario(
        workload={"monthly_growth": 0.05},
        uncertainty={"options.api.price_scale": {"dist": "uniform", "low": 0.5, "high": 1.5, "source": "test"}},
    )
    cat = with_prices(base_catalog, price(3.0, 15.0))
    exact = evaluate(sc, cat).option("api").total_cost_usd
    sim = simulate(sc, cat, draws=200_000, seed=3)
    total = sim.total_cost["api"]
    stderr = total.std() / np.sqrt(total.size)
    assert abs(total.mean() - exact) < 4 * stderr
    assert total.std() == pytest.approx(exact / np.sqrt(12), rel=0.01)  # uniform(0.5, 1.5) has sd 1/sqrt(12)
    assert np.percentile(total, 10) == pytest.approx(0.6 * exact, rel=0.01)


def test_degenerate_distributions_give_the_point_estimate():
    sc, cat = load(FINTECH)
    point = {path: point_value(sc, cat, path) for path in sc.uncertainty}
    degenerate = {path: {"dist": "uniform", "low": v, "high": v, "source": "test"} for path, v in point.items()}
    degenerate["workload.monthly_growth"] = {
        "dist": "normal",
        "mean": point["workload.monthly_growth"],
        "sd": 0.0,
        "source": "test",
    }
    sc = sc.model_copy(
        update={
            "uncertainty": type(sc)
            .model_validate({**sc.model_dump(mode="json"), "uncertainty": degenerate})
            .uncertainty,
            "capacity_uncertainty": "none",  # capacity per replica as modelled in every draw
        }
    )
    ev = evaluate(sc, cat)
    sim = simulate(sc, cat, draws=1_000, seed=1)
    for o in ev.options:
        assert sim.total_cost[o.name] == pytest.approx(np.full(1_000, o.total_cost_usd), rel=1e-9), o.name
        assert sim.npv_cost[o.name] == pytest.approx(np.full(1_000, -o.npv_usd), rel=1e-9), o.name
        if o.slo.met is not None:
            assert bool(sim.slo_met[o.name].all()) == o.slo.met


def test_same_seed_same_numbers_and_another_seed_differs():
    sc, cat = load(FINTECH)
    a, b, c = (simulate(sc, cat, draws=20_000, seed=s) for s in (5, 5, 6))
    for name in a.npv_cost:
        assert np.array_equal(a.npv_cost[name], b.npv_cost[name])
    assert not np.array_equal(a.npv_cost["own-l40s"], c.npv_cost["own-l40s"])
    # thread count does not change the numbers
    assert np.array_equal(
        simulate(sc, cat, draws=20_000, seed=5, threads=1).npv_cost["own-l40s"], a.npv_cost["own-l40s"]
    )


def test_summary_percentiles_and_probabilities():
    sc, cat = load(FINTECH)
    sim = simulate(sc, cat, draws=50_000, seed=2)
    table = sim.summary()
    assert (table["npv_cost_p10"] <= table["npv_cost_p50"]).all()
    assert (table["npv_cost_p50"] <= table["npv_cost_p90"]).all()
    assert table["p_cheapest"].sum() == pytest.approx(1.0)
    # own-l40s bought on the plan with no procurement policy: the SLO holds in exactly the draws where
    # it leaves at most the tolerated share of requests unserved (workload.slo.max_unserved_share, 1 %)
    fixed = simulate(with_values(sc, {"options.own-l40s.procurement": None}), cat, draws=50_000, seed=2)
    tolerated = sc.workload.slo.max_unserved_share
    assert tolerated == 0.01
    held = fixed.shortfall["own-l40s"] <= tolerated + 1e-9
    assert fixed.summary().loc["own-l40s", "p_slo"] == pytest.approx(float(np.mean(held)))
    assert np.mean(held) > np.mean(fixed.shortfall["own-l40s"] == 0)  # the tolerance counts
    assert 0 < np.mean(held) < 1
    # with its procurement policy it tops up when demand outruns the plan: never less often met
    assert table.loc["own-l40s", "p_slo"] >= np.mean(held)
    assert table.loc["rent-h100", "p_slo"] == pytest.approx(1.0)  # on demand: re-sized to each draw
    assert np.isnan(table.loc["rent-h100", "shortfall_p90"])
    assert np.isnan(table.loc["api-llama-70b", "p_slo"])  # no latency figure: unknown, not 0
    assert sim.draws == 50_000 and sim.seed == 2
    # the stated inputs, then each modelled capacity per replica (uncalibrated pairs: the prior)
    assert sim.inputs == (
        *sc.uncertainty,
        "options.own-l40s.capacity_scale",
        "options.rent-h100.capacity_scale",
    )
    prior = cat.uncalibrated_capacity
    assert all(f"the uncalibrated prior triangular {prior.low:g}-{prior.high:g}" in t for t in sim.capacity_draws)


def test_slo_probability_follows_the_mbu_draws(base_catalog):
    # A fixed fleet of one L40S: low MBU draws leave it short of the peak, high ones do not.
    sc = scenario(
        workload={"requests_per_month": 7_500_000, "output_tokens_per_request": 200},
        serving={"model": "llama-3.1-8b", "quantization": "int4-awq"},
        options=[owned(name="own", gpu="l40s", usd_per_kwh=0.1, gpus=1, measured=None)],
        uncertainty={"serving.efficiency.mbu": {"dist": "uniform", "low": 0.2, "high": 0.9, "source": "test"}},
    )
    sim = simulate(sc, base_catalog, draws=4_000, seed=0)
    p = float(sim.slo_met["own"].mean())
    assert 0.0 < p < 1.0


@pytest.mark.parametrize(
    "dist, lo, hi",
    [
        (Normal(dist="normal", mean=1.0, sd=1.0, low=0.5, high=1.2, source="test"), 0.5, 1.2),
        (Lognormal(dist="lognormal", median=0.1, sigma=1.0, high=0.2, source="test"), 0.0, 0.2),
        (Triangular(dist="triangular", low=1, mode=2, high=4, source="test"), 1, 4),
    ],
)
def test_draws_respect_bounds(dist, lo, hi):
    x = dist.sample(np.random.default_rng(0), 100_000)
    assert x.min() >= lo and x.max() <= hi
    assert 0 < np.mean(x < dist.low_high()[1]) <= 1


def test_distribution_errors_name_the_problem():
    with pytest.raises(ValidationError, match=r"low .* must not exceed high"):
        Uniform(dist="uniform", low=2, high=1, source="test")
    with pytest.raises(ValidationError, match="mean 5 lies outside"):
        Normal(dist="normal", mean=5, sd=1, high=3, source="test")
    with pytest.raises(ValidationError, match=r"uncertainty.workload.horizon: 'horizon' of workload cannot"):
        scenario(uncertainty={"workload.horizon": {"dist": "uniform", "low": 0, "high": 1, "source": "test"}})
    with pytest.raises(ValidationError, match="no option named 'nope'"):
        scenario(uncertainty={"options.nope.price_scale": {"dist": "uniform", "low": 0, "high": 1, "source": "test"}})


def test_bad_uncertainty_in_a_file_is_a_clear_error(tmp_path):
    import yaml

    data = yaml.safe_load(FINTECH.read_text())
    cases = [
        (
            "options.own-l40s.max_utilization",
            {"dist": "uniform", "low": 0.5, "high": 1.4, "source": "test"},
            "draws can reach 1.4",
        ),
        (
            "workload.monthly_growth",
            {"dist": "normal", "mean": 0.04, "sd": 0.01, "source": "test"},
            "give low and high bounds",
        ),
        (
            "options.own-l40s.usd_per_kwh",
            {"dist": "uniform", "low": 0.2, "high": 0.3, "source": "test"},
            "point estimate",
        ),
    ]
    for path, dist, message in cases:
        bad = {**data, "uncertainty": {path: dist}}
        f = tmp_path / "bad.yaml"
        f.write_text(yaml.safe_dump(bad))
        with pytest.raises(InputError, match=message) as e:
            load_scenario(f)
        assert e.value.field == f"uncertainty.{path}" and e.value.file == str(f)


def test_confidence_and_the_under_60_percent_flag(base_catalog):
    # API at scale 1,461 / 3,500 x U(0.5, 1.5): rent (fixed) wins in half the draws or so.
    api = {**API, "price_scale": 0.4174}
    sc = scenario(
        options=[rented(), api],
        uncertainty={"options.api.price_scale": {"dist": "uniform", "low": 0.2087, "high": 0.6261, "source": "test"}},
    )
    cat = with_prices(base_catalog, price(2.5, 10))
    ev = with_confidence(evaluate(sc, cat), simulate(sc, cat, draws=20_000, seed=0))
    rec = ev.recommendation
    p = float(ev.simulation.cheapest()[rec.option])
    assert rec.confidence == p and 0.4 < p < 0.6
    assert f"in {p:.0%} of 20,000 Monte Carlo draws" in rec.sentence
    assert any("under 60%" in r for r in rec.risks)


PLAN_RPS = 240.0  # 30 GPUs at 10 requests/s a replica planned at 80 %: no rounding slack
MEASURED_WITHIN_SLO = {**MEASURED, "ttft_p95_ms": 100, "tpot_p95_ms": 10}  # 10 requests/s, within 1000/50 ms


def _plan_scenario(factor: float, overflow: bool):
    """An owned fleet bought for 240 requests/s (flat load, 10 requests/s per replica, planned at
    80 %: 30 GPUs), while every draw's demand is ``factor`` times that."""
    plan = PLAN_RPS * SECONDS_PER_MONTH
    return scenario(
        workload={"requests_per_month": plan, "peak_to_mean": 1.0},
        options=[owned(overflow="api" if overflow else None, measured=MEASURED_WITHIN_SLO), API],
        uncertainty={
            "workload.requests_per_month": {
                "dist": "uniform",
                "low": plan * factor,
                "high": plan * factor,
                "source": "test",
            }
        },
    )


@pytest.mark.parametrize("factor", [0.7, 1.3])
def test_plan_sized_fleet_strands_below_plan_and_falls_short_above_it(base_catalog, factor):
    """Demand 30 % under plan: the fleet bought on the plan is paid for, its unneeded GPUs
    stranded. 30 % over: the excess overflows to the API (billed) or, without one, misses the SLO."""
    catalog = with_prices(base_catalog, price(1.0, 2.0))
    plan_gpus, drawn_rps = 30.0, PLAN_RPS * factor
    need_gpus = np.ceil(drawn_rps / (10 * 0.8) - 1e-9)
    stranded = max(plan_gpus - need_gpus, 0) / plan_gpus  # 0.7: 9 of 30 GPUs
    unserved = max(drawn_rps - plan_gpus * 10, 0) / drawn_rps  # 1.3: 12 of 312 requests/s
    with_api = simulate(_plan_scenario(factor, overflow=True), catalog, draws=64, seed=0)
    alone = simulate(_plan_scenario(factor, overflow=False), catalog, draws=64, seed=0)
    for sim in (with_api, alone):
        assert sim.stranded["own"] == pytest.approx(np.full(64, stranded))
        assert sim.shortfall["own"] == pytest.approx(np.full(64, unserved))
    fleet_cost = evaluate(_plan_scenario(factor, overflow=False), catalog).option("own").total_cost_usd
    if factor < 1:
        assert stranded == pytest.approx(0.3) and unserved == 0
        perfect = evaluate(
            scenario(
                workload={"requests_per_month": drawn_rps * SECONDS_PER_MONTH, "peak_to_mean": 1.0},
                options=[owned(measured=MEASURED_WITHIN_SLO), API],
            ),
            catalog,
        )
        # the plan's fleet costs more than one bought for the demand that came, and serves it all
        assert alone.total_cost["own"][0] > perfect.option("own").total_cost_usd
        assert alone.slo_met["own"].all()
    else:
        assert unserved == pytest.approx(12 / 312) and stranded == 0
        overflow_bill = unserved * drawn_rps * SECONDS_PER_MONTH * 12 * (1000 * 1.0 + 100 * 2.0) / 1e6
        # the fleet's cost at the drawn demand (its power follows the load) plus the API's bill
        served_fleet = alone.total_cost["own"][0]
        assert with_api.total_cost["own"][0] == pytest.approx(served_fleet + overflow_bill, rel=1e-9)
        assert served_fleet == pytest.approx(fleet_cost, rel=0.01)
        assert not alone.slo_met["own"].any()  # no overflow: the excess misses the SLO


def test_a_routers_fleet_member_reports_its_shortfall():
    """At 10M requests with the 8B model good enough everywhere, the router sends every class to the
    owned fleet (its own, planned on the router's share): its unserved and stranded shares are the
    member's, per draw, not uninitialised memory."""
    sc, cat = load(FINTECH, ["serving.quality.complex=0.8", "workload.requests_per_month=1e7"])
    sim = simulate(sc, cat, draws=4_000, seed=1)
    assert "router" in sim.shortfall and "router" in sim.stranded
    for shares in (sim.shortfall["router"], sim.stranded["router"]):
        assert np.isfinite(shares).all() and (shares >= 0).all() and (shares <= 1).all()
    # the router's member is planned like the option alone (same share of traffic): the same shares
    assert sim.shortfall["router"] == pytest.approx(sim.shortfall["own-l40s"])
    table = sim.summary()
    assert (
        table.loc["router", "shortfall_p10"]
        <= table.loc["router", "shortfall_p50"]
        <= table.loc["router", "shortfall_p90"]
    )


def test_procurement_recourse_by_hand():
    """Plan 2 GPUs a month; reviews every 2 months (0, 2, 4), orders serving a month later (1, 3, 5).
    First draw: peaks needing 1, 3, 5 GPUs at the reviews; 1 is under the plan (no order), 3 and 5 are
    ordered: 2, 2, 2, 3, 3, 5. Second: 0.5 (no order), then 9 ordered at month 2 and, being on its
    way, not again at month 4: 2, 2, 2, 9, 9, 9."""
    from types import SimpleNamespace

    from costmodel.engine.costing import with_recourse
    from costmodel.model.scenario import Procurement

    policy = Procurement(review_months=2, lead_time_months=1, headroom=0.0, source="test")
    fleet = SimpleNamespace(fleet=np.ceil)
    demand = SimpleNamespace(peak_rps=np.array([[1.0, 3.0, 3.0, 5.0, 5.0, 5.0], [0.5, 0.5, 9.0, 9.0, 9.0, 9.0]]))
    got = with_recourse(np.full(6, 2.0), fleet, demand, policy)
    assert got.tolist() == [[2, 2, 2, 3, 3, 5], [2, 2, 2, 9, 9, 9]]


def test_procurement_recourse_with_drawn_capacity_by_hand():
    """The same demand for two draws of the capacity per replica (a (draws, 1) column, as Monte
    Carlo draws it) against one demand row: the orders follow each draw's fleet. Capacity 1
    needs 1, 3, 5 at the reviews (as above); capacity 0.5 needs twice that, 2 (the plan), 6, 10."""
    from types import SimpleNamespace

    from costmodel.engine.costing import with_recourse
    from costmodel.model.scenario import Procurement

    policy = Procurement(review_months=2, lead_time_months=1, headroom=0.0, source="test")
    capacity = np.array([[1.0], [0.5]])
    fleet = SimpleNamespace(fleet=lambda peaks: np.ceil(peaks / capacity))
    demand = SimpleNamespace(peak_rps=np.array([1.0, 3.0, 3.0, 5.0, 5.0, 5.0]))
    got = with_recourse(np.full(6, 2.0), fleet, demand, policy)
    assert got.tolist() == [[2, 2, 2, 3, 3, 5], [2, 2, 2, 6, 6, 10]]
    assert got.flags.c_contiguous


def test_recourse_makes_confidence_agree_with_the_costs():
    """The finance review's case (10M requests, the 8B model good enough): own-l40s bought on the plan
    never reacted to demand, so any draw with unserved requests dropped it and it 'won' in 48 % of
    draws while cheaper in most. With its procurement policy it tops up, meets the SLO in all but a
    handful of draws here, and its P(cheapest eligible) is the share of draws where it is simply the
    cheaper."""
    sc, cat = load(FINTECH, ["serving.quality.complex=0.8", "workload.requests_per_month=1e7"])
    sim = simulate(sc, cat, draws=20_000, seed=3)
    assert sim.slo_met["own-l40s"].mean() >= 0.999
    cheaper = np.mean(sim.npv_cost["own-l40s"] < sim.npv_cost["rent-h100"])
    assert sim.cheapest()["own-l40s"] == pytest.approx(cheaper, abs=0.01)
    assert sim.cheapest()["own-l40s"] > 0.6
    no_policy = simulate(with_values(sc, {"options.own-l40s.procurement": None}), cat, draws=20_000, seed=3)
    assert no_policy.cheapest()["own-l40s"] < sim.cheapest()["own-l40s"]


def test_the_model_docs_quote_the_recourse_case():
    from costmodel.text import percent
    from tests.conftest import docs_say

    said = docs_say(
        "model.md", r"own-l40s was cheapest eligible in (?P<before>\d+) % of draws .*? it is in (?P<after>\d+) %"
    )
    sc, cat = load(FINTECH, ["serving.quality.complex=0.8", "workload.requests_per_month=1e7"])
    before = with_values(sc, {"options.own-l40s.procurement": None, "workload.slo.max_unserved_share": 0.0})
    for version, figure in ((before, said["before"]), (sc, said["after"])):
        share = simulate(version, cat, draws=100_000, seed=0).cheapest()["own-l40s"]
        assert percent(share) == f"{figure}%"


def test_a_hybrids_idle_local_gpus_are_stranded():
    """A hybrid keeps its fixed local fleet: 4 L40S where a 200k-request month needs far fewer. The
    GPU-months its servable demand did not need are reported as stranded, per draw."""
    sc, cat = load(FINTECH, ["options.hybrid-l40s-bedrock.local_gpus=4", "workload.requests_per_month=2e5"])
    sim = simulate(sc, cat, draws=2_000, seed=1)
    stranded = sim.stranded["hybrid-l40s-bedrock"]
    assert np.isfinite(stranded).all() and stranded.min() > 0.2 and stranded.max() <= 1.0
    assert (sim.shortfall["hybrid-l40s-bedrock"] == 0).all()  # what the fleet cannot take goes to the API


def test_a_router_is_not_eligible_in_draws_where_a_member_misses():
    """At 1e9 requests the router sends routine work to an owned fleet and complex work to a hybrid
    (unverified latency). Without a procurement policy that fleet falls short in some draws: the
    router is unverified overall, but known to miss there, so it is not eligible in those draws
    (it was eligible in all of them, counted 100 % confident while its fleet met the SLO in ~60 %)."""
    sc, cat = load(FINTECH, ["workload.requests_per_month=1e9", "options.own-l40s.procurement=null"])
    sim = simulate(sc, cat, draws=20_000, seed=0)
    assert sim.slo_met["router"] is None  # overall: unverified (the hybrid's API part has no latency figure)
    eligible = sim.eligible["router"].mean()
    assert 0.3 < eligible < 0.9
    assert sim.cheapest()["router"] <= eligible
    assert eligible == pytest.approx(sim.slo_met["own-l40s"].mean(), abs=0.05)  # the same fleet, the same draws
