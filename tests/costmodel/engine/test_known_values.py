"""Hand-checked cases: the arithmetic is written out next to each expected value."""

from __future__ import annotations

import numpy as np
import pytest

from costmodel.core.units import HOURS_PER_MONTH, SECONDS_PER_MONTH
from costmodel.engine import evaluate, hybrid_sweep, prepare
from costmodel.model.catalog import ApiPrice, ApiRetirement
from tests.conftest import API, MEASURED, owned, price, rented, scenario, with_prices

api_only = scenario  # the base scenario has one API option, provider "test", model "m"


def test_api_flat_month(base_catalog):
    ev = evaluate(api_only(), with_prices(base_catalog, price(2.5, 10)))
    api = ev.option("api")
    # 1e6 requests x (1,000 in x $2.5 + 100 out x $10) / 1e6 = 2,500 + 1,000 = 3,500 per month
    assert api.cashflow["total"].tolist() == pytest.approx([3500.0] * 12)
    assert api.total_cost_usd == pytest.approx(42_000.0)
    # zero discount rate: NPV is minus the plain sum
    assert api.npv_usd == pytest.approx(-42_000.0)
    # 42,000 USD / (12 x 1e6 x 1,100 tokens) x 1e6
    assert api.usd_per_million_tokens == pytest.approx(42_000 / 13.2e9 * 1e6)


def test_api_cache_and_batch(base_catalog):
    sc = api_only(workload={"cached_input_share": 0.5, "batch_share": 0.5})
    ev = evaluate(sc, with_prices(base_catalog, price(2.5, 10, cached=1.25, batch=0.5)))
    # input: 1,000 x (0.5 x 2.5 + 0.5 x 1.25) = 1,875; output: 100 x 10 = 1,000 -> 2,875 per 1e6 requests
    # batch: half the requests at half price -> x (1 - 0.5 x 0.5) = 0.75 -> 2,156.25
    assert ev.option("api").cashflow["total"].iloc[0] == pytest.approx(2156.25)


def test_api_growth(base_catalog):
    ev = evaluate(
        api_only(horizon_months=3, workload={"monthly_growth": 0.1}), with_prices(base_catalog, price(2.5, 10))
    )
    # 3,500 x (1 + 1.1 + 1.21)
    assert ev.option("api").total_cost_usd == pytest.approx(3500 * 3.31)


def test_npv_with_discount_rate(base_catalog):
    ev = evaluate(api_only(discount_rate=0.12), with_prices(base_catalog, price(2.5, 10)))
    # monthly rate r with (1 + r)^12 = 1.12; payments at months 0..11 (annuity due):
    # sum v^m = (1 - v^12) / (1 - v), v = 1 / (1 + r), v^12 = 1 / 1.12
    v = 1.12 ** (-1 / 12)
    assert ev.option("api").npv_usd == pytest.approx(-3500 * (1 - 1 / 1.12) / (1 - v))


def test_rented_one_gpu(base_catalog):
    sc = scenario(options=[rented(ops_staff_fte=0.5, ops_staff_usd_per_year=120_000), API])
    ev = evaluate(sc, with_prices(base_catalog, price(2.5, 10)))
    r = ev.option("rent")
    # Llama-3.1-8B BF16 (16.06 GB) fits one 80 GB H100 -> 1 GPU per replica.
    # Mean load 1e6 / 2,629,800 s = 0.38 req/s; flat day -> peak 0.38; ceil(0.38 / (10 x 0.8)) = 1 replica.
    assert r.gpus_at_peak == 1
    assert r.capacity.basis == "measured"
    # 1 GPU x $2 x 730.5 h = 1,461; staff 0.5 x 120,000 / 12 = 5,000
    assert r.cashflow["total"].tolist() == pytest.approx([1461.0 + 5000.0] * 12)


def test_rented_fleet_scales_with_peak(base_catalog):
    sc = scenario(workload={"requests_per_month": 2e8, "peak_to_mean": 2.0}, options=[rented()])
    ev = evaluate(sc, base_catalog)
    # mean 2e8 / 2,629,800 = 76.05 req/s; peak x2 = 152.1; / (10 x 0.8) = 19.01 -> 20 replicas
    assert ev.option("rent").gpus_at_peak == 20
    assert ev.option("rent").cashflow["total"].iloc[0] == pytest.approx(20 * 2.0 * HOURS_PER_MONTH)


def test_owned_line_items(base_catalog):
    ev = evaluate(scenario(options=[owned()]), base_catalog)
    cf = ev.option("own").cashflow
    assert cf["capex"].tolist() == [30_000.0] + [0.0] * 11
    # utilisation = 0.380257 req/s / 10 req/s; draw = 0.3 + 0.7 x utilisation
    util = 1e6 / SECONDS_PER_MONTH / 10
    kw = 700 * 1.8 / 1000  # 1.26 kW for the server around one 700 W GPU
    assert cf["power"].iloc[0] == pytest.approx(kw * (0.3 + 0.7 * util) * 1.5 * HOURS_PER_MONTH * 0.10)
    assert cf["colocation"].iloc[0] == pytest.approx(kw * 100)  # 126 per month
    assert cf["maintenance"].iloc[0] == pytest.approx(30_000 * 0.12 / 12)  # 300 per month
    # 12-month life, zero residual: fully depreciated at the horizon, nothing comes back
    assert cf["residual"].sum() == 0.0
    assert cf["depreciation"].tolist() == pytest.approx([30_000 / 12] * 12)


def test_owned_items_add_up_to_the_total(base_catalog):
    """The total comes from cost terms (what Monte Carlo weighs); the line items must add up to it."""
    sc = scenario(options=[owned(depreciation_years=2, residual_value=0.2, spare_replicas=1)])
    cf = evaluate(sc, base_catalog).option("own").cashflow
    items = cf[["capex", "power", "colocation", "maintenance", "staff", "residual"]].sum(axis=1)
    assert items.tolist() == pytest.approx(cf["total"].tolist(), rel=1e-12)


def test_utilization_edges(base_catalog):
    """Spares carry no load: utilisation is over the active replicas; none active and no load is idle."""
    own = prepare(scenario(options=[owned(spare_replicas=1)]), base_catalog).fleets[
        "own"
    ]  # one GPU per replica, 10 requests/s each
    u = own.utilization(np.array([2.0, 2.0, 1.0, 1.0]), np.array([5.0, 20.0, 0.0, 3.0]))
    assert u.tolist() == [0.5, 1.0, 0.0, 1.0]  # half of one active GPU; capped; idle spare; load on none is full


def test_owned_spare_draws_idle_power_only(base_catalog):
    """A spare GPU idles: it adds idle power (and colocation, maintenance), not load power."""
    cf = evaluate(scenario(options=[owned(spare_replicas=1)]), base_catalog).option("own").cashflow
    util = 1e6 / SECONDS_PER_MONTH / 10  # the load of the one active GPU, as in test_owned_line_items
    kw = 700 * 1.8 / 1000
    # active GPU: 0.3 + 0.7 x utilisation; spare: 0.3 (idle). Not 2 x (0.3 + 0.7 x utilisation).
    assert cf["power"].iloc[0] == pytest.approx(kw * ((0.3 + 0.7 * util) + 0.3) * 1.5 * HOURS_PER_MONTH * 0.10)
    assert cf["utilization"].iloc[0] == pytest.approx(util)  # reported over the active replica


def test_loaded_gpus_leave_spares_idle(base_catalog):
    own = prepare(scenario(options=[owned(spare_replicas=1)]), base_catalog).fleets[
        "own"
    ]  # one GPU per replica, 10 requests/s each
    loaded = own.loaded_gpus(np.array([3.0, 3.0, 0.0, 1.0]), np.array([10.0, 50.0, 0.0, 3.0]))
    # one GPU's worth; capped at the two active GPUs; no fleet; a spare alone carries nothing
    assert loaded.tolist() == [1.0, 2.0, 0.0, 0.0]


def test_owned_residual_book_value(base_catalog):
    sc = scenario(options=[owned(depreciation_years=2, residual_value=0.2)])
    cf = evaluate(sc, base_catalog).option("own").cashflow
    # after 12 of 24 months the GPU lost 12/24 of (1 - 0.2): book = 30,000 x (1 - 0.8 x 0.5) = 18,000
    assert cf["residual"].tolist() == pytest.approx([0.0] * 11 + [-18_000.0])


def test_owned_spare_adds_gpus(base_catalog):
    ev = evaluate(scenario(options=[owned(spare_replicas=1)]), base_catalog)
    assert ev.option("own").gpus_at_peak == 2  # 1 replica needed + 1 spare


def test_break_even_rented_vs_api(base_catalog):
    sc = scenario(options=[rented(), API])
    ev = evaluate(sc, with_prices(base_catalog, price(2.5, 10)))
    (be,) = ev.break_evens
    # one GPU costs 1,461 a month and serves up to 8 req/s (21M requests/month);
    # the API costs 3,500 / 1e6 = 0.0035 per request: 1,461 / 0.0035 = 417,428.6 requests/month
    assert be.requests_per_month == pytest.approx(1461 / 0.0035, rel=1e-6)


def test_payback_owned_vs_api(base_catalog):
    sc = scenario(
        horizon_months=24,
        options=[
            owned(
                depreciation_years=4,
                residual_value=0.0,
                count_residual=False,
                colocation_usd_per_kw_month=0,
                maintenance_per_year=0,
                usd_per_kwh=0,
            ),
            API,
        ],
    )
    ev = evaluate(sc, with_prices(base_catalog, price(2.5, 10)))
    # owned: 30,000 in month 0 and nothing after; API: 3,500 a month.
    # cumulative API at month m is 3,500 (m + 1) >= 30,000 from m = 8 (31,500)
    assert ev.paybacks[0].month == 8


def test_hybrid_ends(base_catalog):
    api = API
    cat = with_prices(base_catalog, price(2.5, 10))
    for gpus, local in [(0, 0.0), (50, 1.0)]:
        hyb = {"name": "hyb", "kind": "hybrid", "local": "rent", "overflow": "api", "local_gpus": gpus}
        ev = evaluate(scenario(options=[rented(), api, hyb], workload={"peak_to_mean": 3.0}), cat)
        cf = ev.option("hyb").cashflow
        assert cf["local_share"].tolist() == pytest.approx([local] * 12)
        if gpus == 0:  # zero fleet: exactly the API bill
            np.testing.assert_allclose(cf["total"], ev.option("api").cashflow["total"])
        else:  # everything local: exactly 50 rented GPUs
            np.testing.assert_allclose(cf["total"], 50 * 2.0 * HOURS_PER_MONTH)


def test_recommendation_picks_cheapest_meeting_slo(base_catalog):
    api = {**API, "ttft_p95_ms": 300, "tpot_p95_ms": 20, "latency_source": "test fixture"}
    ev = evaluate(scenario(options=[rented(), api]), with_prices(base_catalog, price(2.5, 10)))
    # rent: 1,461 / month; API 3,500 / month -> rent wins; measured capacity has no latency -> unverified
    assert ev.recommendation.option == "rent"
    slow = {**api, "ttft_p95_ms": 5000}
    ev = evaluate(
        scenario(options=[{**rented(), "usd_per_gpu_hour": 20.0}, slow]), with_prices(base_catalog, price(2.5, 10))
    )
    assert ev.option("api").slo.met is False
    assert ev.recommendation.option == "rent"
    assert "Excluded for missing the SLO" in ev.recommendation.sentence


def test_fixed_fleet_too_small_misses_the_slo(base_catalog):
    # 2e8 requests/month at peak x2 needs 20 one-GPU replicas (see above); 8 GPUs fall short
    sc = scenario(workload={"requests_per_month": 2e8, "peak_to_mean": 2.0}, options=[rented(gpus=8)])
    r = evaluate(sc, base_catalog).option("rent")
    assert r.gpus_at_peak == 8 and r.slo.met is False and "20 needed" in r.slo.note
    assert r.cashflow["total"].iloc[0] == pytest.approx(8 * 2.0 * HOURS_PER_MONTH)
    ok = evaluate(scenario(options=[rented(gpus=3)]), base_catalog).option("rent")
    assert ok.gpus_at_peak == 3 and ok.slo.met is None  # big enough; measured without latency -> unverified


def test_price_trends(base_catalog):
    trends = {"api_price_decline_per_year": 0.5, "gpu_rent_decline_per_year": 0.2}
    api = API
    sc = scenario(
        horizon_months=13,
        trends=trends,
        options=[rented(), {**rented(), "name": "rent-3y", "commitment": "3-year"}, api],
    )
    ev = evaluate(sc, with_prices(base_catalog, price(2.5, 10)))
    # API: 3,500 a month falling 50 % a year -> x 0.5^(6/12) in month 6, x 0.5 in month 12
    assert ev.option("api").cashflow["total"].iloc[[0, 6, 12]].tolist() == pytest.approx([3500, 3500 * 0.5**0.5, 1750])
    # on-demand rent: 1,461 falling 20 % a year; a 3-year commitment keeps its rate
    assert ev.option("rent").cashflow["total"].iloc[12] == pytest.approx(1461 * 0.8)
    assert ev.option("rent-3y").cashflow["total"].iloc[12] == pytest.approx(1461)


def test_risk_flags(base_catalog):
    api = API
    # One rented GPU at $2/h = 1,461 a month serves up to 10 req/s = 26.3M requests a month at full load.
    # At $0.1 per 1M tokens the API charges (1,000 + 100) x 0.1 / 1e6 = 0.00011 per request, so 2,893 for
    # those 26.3M: the GPU breaks even at 1,461 / 2,893 = 50.5 % utilisation, and 1M requests a month
    # keep it 3.8 % busy.
    ev = evaluate(scenario(options=[rented(), api]), with_prices(base_catalog, price(0.1, 0.1)))
    risks = ev.option("rent").risks
    assert any("single replica" in r for r in risks)
    (util,) = [r for r in risks if "utilisation" in r]
    assert "averages 4% utilisation, below the 51%" in util  # 0.505 rounds up
    # at $2.5 / $10 the API costs 0.0035 a request: break-even at 1.6 %, and no utilisation flag
    ev = evaluate(scenario(options=[rented(spare_replicas=1), api]), with_prices(base_catalog, price(2.5, 10)))
    assert ev.option("rent").risks == ()
    # owned hardware that never pays back within its life is flagged, and the flag reaches the recommendation
    ev = evaluate(scenario(options=[owned(depreciation_years=4), api]), with_prices(base_catalog, price(0.1, 0.1)))
    assert any("does not pay back" in r for r in ev.option("own").risks)
    ev = evaluate(scenario(options=[owned(usd_per_gpu=1), api]), with_prices(base_catalog, price(2.5, 10)))
    assert ev.recommendation.option == "own"
    assert ev.recommendation.risks == ev.option("own").risks
    assert all(r in ev.recommendation.sentence for r in ev.recommendation.risks)


def test_recommendation_numbers_match_the_results(base_catalog):
    import re

    api = API
    ev = evaluate(scenario(options=[rented(), owned(), api]), with_prices(base_catalog, price(2.5, 10)))
    best, text = ev.option(ev.recommendation.option), ev.recommendation.sentence
    assert f"${-best.npv_usd:,.0f}" in text
    assert f"(${best.usd_per_million_tokens:,.3f} per 1M tokens)" in text
    for b in ev.break_evens:
        if b.requests_per_month and f"{b.self_hosted} breaks even with {b.api}" in text:
            assert f"{b.requests_per_month:,.0f} requests/month" in text
    runner_up = sorted(ev.options, key=lambda o: -o.npv_usd)[1]
    assert re.search(re.escape(f"${-runner_up.npv_usd:,.0f}"), text)


def test_hybrid_sweep_optimum(base_catalog):
    api = API
    hyb = {"name": "hyb", "kind": "hybrid", "local": "rent", "overflow": "api", "local_gpus": 1}
    sc = scenario(workload={"requests_per_month": 2e8, "peak_to_mean": 3.0}, options=[rented(), api, hyb])
    # $0.1 per 1M tokens: 0.00011 a request; a $2/h GPU serving 10 req/s costs 0.0000556 a request at
    # full use, so a GPU pays only while it is more than ~50 % busy
    cat = with_prices(base_catalog, price(0.1, 0.1))
    sweep = hybrid_sweep(sc, cat, "hyb")
    ev = evaluate(sc, cat)
    # the ends: zero GPUs is the API bill; the last size serves everything locally
    assert sweep["local_gpus"].iloc[0] == 0
    assert sweep["npv_usd"].iloc[0] == pytest.approx(ev.option("api").npv_usd)
    assert sweep["local_share"].iloc[-1] == pytest.approx(1.0)
    best = sweep[sweep["optimal"]].iloc[0]
    assert best["npv_usd"] >= max(sweep["npv_usd"].iloc[0], sweep["npv_usd"].iloc[-1])  # never worse than an end
    # with a peak three times the mean, GPUs kept only for peak hours are idle most of the day:
    # the optimum serves the base load locally and sends the peaks to the API
    assert 0 < best["local_gpus"] < sweep["local_gpus"].iloc[-1]


def test_request_classes_route_by_quality(base_catalog):
    # 70 % easy requests any model may serve, 30 % hard ones needing quality 0.8. The local
    # model scores 0.7, so however large its fleet it keeps only the easy 70 %; the API (0.9)
    # takes the hard 30 % plus whatever the local fleet cannot.
    classes = [{"name": "easy", "share": 0.7}, {"name": "hard", "share": 0.3, "min_quality": 0.8}]
    api = {**API, "quality": 0.9, "quality_source": "test fixture"}
    cat = with_prices(base_catalog, price(2.5, 10))
    for gpus, local in [(0, 0.0), (50, 0.7)]:
        hyb = {"name": "hyb", "kind": "hybrid", "local": "rent", "overflow": "api", "local_gpus": gpus}
        local_quality = {"quality": 0.7, "quality_source": "test fixture"}
        sc = scenario(options=[{**rented(), **local_quality}, api, hyb], workload={"request_classes": classes})
        ev = evaluate(sc, cat)
        cf = ev.option("hyb").cashflow
        assert cf["local_share"].tolist() == pytest.approx([local] * 12)
        # API bill: 3,500 a month for all traffic (see test_api_flat_month), so 30 % of it at least
        assert cf["api"].tolist() == pytest.approx([3500.0 * (1 - local)] * 12)
    # the local-only option cannot serve the hard class: excluded for quality, named in the reasons
    assert ev.option("rent").quality.met is False
    assert ev.option("hyb").quality.met is True
    assert ev.recommendation.option != "rent"
    assert (
        "Excluded for quality" in ev.recommendation.sentence
        and "rent (hard 70% < 80% (stated))" in ev.recommendation.sentence
    )


def test_request_class_shares_must_sum_to_one():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"shares must sum to 1, got 0\.9"):
        scenario(workload={"request_classes": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.4}]})


def test_extra_costs_by_kind(base_catalog):
    """A vector DB at $500 a month, $20,000 of one-off work in month 2, $0.001 a request and $0.5
    per 1M tokens on the base API (1e6 requests, 1,100 tokens each, 12 months)."""
    extras = [
        {"name": "vector-db", "usd": 500, "per": "month", "source": "test"},
        {"name": "migration", "usd": 20_000, "per": "one-off", "month": 2, "source": "test"},
        {"name": "egress", "usd": 0.001, "per": "request", "source": "test"},
        {"name": "embeddings", "usd": 0.5, "per": "million-tokens", "source": "test"},
    ]
    ev = evaluate(api_only(options=[{**API, "extra_costs": extras}]), with_prices(base_catalog, price(2.5, 10)))
    cf = ev.option("api").cashflow
    assert cf["vector-db"].tolist() == [500.0] * 12
    assert cf["migration"].tolist() == [0, 0, 20_000] + [0] * 9
    assert cf["egress"].iloc[0] == pytest.approx(1_000.0)  # 1e6 x $0.001
    assert cf["embeddings"].iloc[0] == pytest.approx(550.0)  # 1.1e9 tokens x $0.5 / 1e6
    # 3,500 (API) + 500 + 1,000 + 550 a month, and the one-off
    assert ev.option("api").total_cost_usd == pytest.approx(12 * 5_550 + 20_000)


def test_response_cache_hits_never_reach_the_model(base_catalog):
    """A 20 % hit share: the API bills 0.8 x 1e6 requests (2,800), every request pays a lookup
    ($2 per 1M: 2), and the cost per 1M tokens still counts all requests' tokens."""
    sc = api_only(workload={"response_cache": {"hit_share": 0.2, "usd_per_million_lookups": 2, "source": "test"}})
    ev = evaluate(sc, with_prices(base_catalog, price(2.5, 10)))
    cf = ev.option("api").cashflow
    assert cf["api"].iloc[0] == pytest.approx(3500 * 0.8)
    assert cf["response_cache"].iloc[0] == pytest.approx(2.0)
    assert cf["requests"].iloc[0] == pytest.approx(1e6)
    assert ev.option("api").usd_per_million_tokens == pytest.approx(12 * 2802 / 13.2e9 * 1e6)


def test_resize_lag_overflows_growth_to_the_api(base_catalog):
    """On-demand rent re-sized two months late under 50 % monthly growth, flat load, 10 requests/s
    a replica planned at 80 %: months 0-1 run month 0's fleet; later months what two months ago
    needed; whatever exceeds the fleet's full SLO capacity goes to the overflow API."""
    rps0 = 30.0  # month 0: ceil(30 / 8) = 4 GPUs
    sc = scenario(
        horizon_months=4,
        workload={"requests_per_month": rps0 * SECONDS_PER_MONTH, "monthly_growth": 0.5, "peak_to_mean": 1.0},
        options=[rented(sizing="resize", resize_lag_months=2, overflow="api"), API],
    )
    ev = evaluate(sc, with_prices(base_catalog, price(1.0, 2.0)))
    cf = ev.option("rent").cashflow
    demand = rps0 * 1.5 ** np.arange(4)  # 30, 45, 67.5, 101.25 requests/s
    needed = np.ceil(demand / 8 - 1e-9)  # 4, 6, 9, 13 GPUs
    fleet = np.array([needed[0], needed[0], needed[0], needed[1]])  # 4, 4, 4, 6
    assert cf["gpus"].tolist() == fleet.tolist()
    unserved = np.maximum(demand - fleet * 10, 0)  # 0, 5, 27.5, 41.25 requests/s
    assert cf["unserved"].to_numpy() == pytest.approx(unserved * SECONDS_PER_MONTH)
    per_request = (1000 * 1.0 + 100 * 2.0) / 1e6
    assert cf["overflow"].to_numpy() == pytest.approx(unserved * SECONDS_PER_MONTH * per_request)
    assert ev.option("rent").slo.met is None  # the overflow API's latency is unverified


def test_resize_lag_without_overflow_misses_the_slo(base_catalog):
    sc = scenario(
        horizon_months=4,
        workload={"requests_per_month": 30.0 * SECONDS_PER_MONTH, "monthly_growth": 0.5, "peak_to_mean": 1.0},
        options=[
            rented(sizing="resize", resize_lag_months=2, measured={**MEASURED, "ttft_p95_ms": 100, "tpot_p95_ms": 10}),
            API,
        ],
    )
    assert evaluate(sc, with_prices(base_catalog, price(1.0, 2.0))).option("rent").slo.met is False


def test_fixed_fleet_costs_per_token_it_served(base_catalog):
    """8 GPUs at 10 requests/s a replica (full SLO capacity 80/s) under a flat 100 requests/s:
    a fifth of the requests go unserved, and the cost per 1M tokens counts only the rest."""
    sc = scenario(
        workload={"requests_per_month": 100 * SECONDS_PER_MONTH, "peak_to_mean": 1.0}, options=[rented(gpus=8)]
    )
    r = evaluate(sc, base_catalog).option("rent")
    served_tokens = 12 * 80 * SECONDS_PER_MONTH * 1100
    assert r.cashflow["unserved"].iloc[0] == pytest.approx(20 * SECONDS_PER_MONTH)
    assert r.usd_per_million_tokens == pytest.approx(r.total_cost_usd / served_tokens * 1e6)
    assert r.slo.met is False and "20.0% of requests above its SLO capacity" in r.slo.note


def _retiring(retires: str, successor: str | None = "m2") -> ApiPrice:
    """Test model m ($2.5 in, $10 out) retiring on ``retires``; its successor m2 at $1 in, $5 out."""
    return price(2.5, 10).model_copy(
        update={
            "retirement": ApiRetirement(
                provider="test", model="m", retires=retires, successor=successor, source="test", as_of="2026-11-22"
            )
        }
    )


def _successor() -> ApiPrice:
    return price(1, 5).model_copy(update={"model": "m2"})


def test_a_retiring_api_is_billed_at_its_successors_price_from_the_month_it_retires(base_catalog):
    # as_of 2026-11-22: 2027-01-14 falls in month 2 (2026-12-22 to 2027-01-21)
    cat = with_prices(base_catalog, _retiring("2027-01-14"), _successor())
    ev = evaluate(api_only(), cat)
    # month 1 at m: 3,500 (test_api_flat_month); from month 2 at m2: 1e6 x (1,000 x $1 + 100 x $5) / 1e6 = 1,500
    assert ev.option("api").cashflow["api"].tolist() == pytest.approx([3500.0] + [1500.0] * 11)
    # no migration stated: its own line, $0 in month 2
    assert ev.option("api").cashflow["migration"].tolist() == [0.0] * 12
    assert ev.option("api").total_cost_usd == pytest.approx(3500 + 11 * 1500)


def test_the_move_costs_what_the_scenario_states_once(base_catalog):
    cat = with_prices(base_catalog, _retiring("2027-03-01"), _successor())  # month 4 (2027-02-22 to 03-21)
    sc = api_only(options=[{**API, "migration": {"usd": 20_000, "source": "assumption: two engineer-weeks"}}])
    ev = evaluate(sc, cat)
    assert ev.option("api").cashflow["migration"].tolist() == [0.0] * 3 + [20_000.0] + [0.0] * 8
    assert ev.option("api").total_cost_usd == pytest.approx(3 * 3500 + 9 * 1500 + 20_000)


def test_no_successor_no_price_or_after_the_horizon_stays_at_its_own_price(base_catalog):
    flat = [3500.0] * 12
    for cat in (
        with_prices(base_catalog, _retiring("2027-01-14", successor=None)),  # none named
        with_prices(base_catalog, _retiring("2027-01-14")),  # m2 not priced
        with_prices(base_catalog, _retiring("2027-11-22"), _successor()),  # month 13 of 12
    ):
        ev = evaluate(api_only(), cat)
        assert ev.option("api").cashflow["total"].tolist() == pytest.approx(flat)
        assert "migration" not in ev.option("api").cashflow


def test_a_model_retired_before_the_scenario_is_billed_at_its_successor_from_month_one(base_catalog):
    ev = evaluate(api_only(), with_prices(base_catalog, _retiring("2026-06-30"), _successor()))
    assert ev.option("api").cashflow["api"].tolist() == pytest.approx([1500.0] * 12)


def test_a_hybrids_overflow_moves_to_the_successor_too(base_catalog):
    # all traffic overflows (no local GPUs): the hybrid's API line is the API option's bill, migration included
    sc = api_only(
        options=[
            {**API, "migration": {"usd": 1000, "source": "test"}},
            rented(),
            {"name": "hyb", "kind": "hybrid", "local": "rent", "local_gpus": 0, "overflow": "api"},
        ]
    )
    ev = evaluate(sc, with_prices(base_catalog, _retiring("2027-01-14"), _successor()))
    assert ev.option("hyb").cashflow["api"].tolist() == pytest.approx([3500.0, 2500.0] + [1500.0] * 10)
