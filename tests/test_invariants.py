"""Hypothesis invariants of the engine and the finance functions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from costmodel import finance
from costmodel.capacity import decode_step_seconds, kv_bytes_per_token, prefill_tokens_per_second, roofline_capacity
from costmodel.engine import CostTerms, cost_curves, evaluate, owned_monthly_costs, running_max
from costmodel.loaders import build_catalog, load_scenario
from tests.conftest import SCENARIOS, price, scenario, with_prices

FAST = settings(max_examples=40, deadline=None)
money = st.floats(min_value=0.01, max_value=100.0, allow_nan=False)


@pytest.fixture(scope="module")
def bundled(catalog_files):
    """Every bundled scenario with its resolved catalog."""
    out = {}
    for path in SCENARIOS:
        sc = load_scenario(path)
        out[sc.name] = (path, build_catalog(catalog_files, sc, str(path)))
    return out


@FAST
@given(v1=st.floats(1e4, 1e9), factor=st.floats(1.0, 50.0), name=st.sampled_from([p.stem for p in SCENARIOS]))
def test_cost_rises_with_volume(bundled, v1, factor, name):
    """Every option's total cost is non-decreasing in the monthly volume."""
    path, catalog = bundled[name]
    low = evaluate(load_scenario(path, [f"workload.requests_per_month={v1!r}"]), catalog)
    high = evaluate(load_scenario(path, [f"workload.requests_per_month={v1 * factor!r}"]), catalog)
    for a, b in zip(low.options, high.options, strict=True):
        assert b.total_cost_usd >= a.total_cost_usd - 1e-6 * abs(a.total_cost_usd), a.name


@FAST
@given(values=hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(-1e6, 1e6)))
def test_npv_at_zero_rate_is_plain_sum(values):
    assert finance.npv(0.0, values) == pytest.approx(values.sum(), abs=1e-6)


@FAST
@given(name=st.sampled_from([p.stem for p in SCENARIOS]))
def test_engine_npv_at_zero_rate_is_minus_total(bundled, name):
    path, catalog = bundled[name]
    ev = evaluate(load_scenario(path, ["discount_rate=0"]), catalog)
    for o in ev.options:
        assert o.npv_usd == pytest.approx(-o.total_cost_usd)


@FAST
@given(p_in=money, p_out=money, rate=st.floats(0.2, 20.0), mbu=st.floats(0.3, 0.9))
def test_break_even_is_where_the_curves_cross(base_catalog, p_in, p_out, rate, mbu):
    sc = scenario(
        serving={"model": "llama-3.1-8b", "quantization": "fp8", "efficiency": {"mbu": mbu}},
        workload={"peak_to_mean": 2.0},
        options=[{"name": "rent", "kind": "rented", "gpu": "h100-sxm", "usd_per_gpu_hour": rate},
                 {"name": "api", "kind": "api", "provider": "test", "model": "m"}],
    )
    catalog = with_prices(base_catalog, price(p_in, p_out))
    (be,) = evaluate(sc, catalog).break_evens
    if be.requests_per_month is None:  # API cheaper everywhere on the searched range
        curves = cost_curves(sc, catalog, np.geomspace(1e2, 1e12, 200))
        assert (curves["rent"] > curves["api"]).all()
        return
    v = be.requests_per_month
    below, above = cost_curves(sc, catalog, [v * (1 - 1e-6), v * (1 + 1e-6)]).to_numpy()
    assert below[0] > below[1]  # self-hosting dearer just below the break-even ...
    assert above[0] <= above[1]  # ... and no dearer just above it


fleets = hnp.arrays(np.float64, 24, elements=st.integers(0, 64).map(float))


@FAST
@given(fleet=fleets, extra=hnp.arrays(np.float64, 24, elements=st.integers(0, 8).map(float)))
def test_more_gpus_never_lower_owned_capex(fleet, extra):
    kw = dict(capex_per_gpu=30_000.0, depreciation_months=48.0, residual_value=0.1, count_residual=True,
              tdp_watts=700.0, server_power_factor=1.8, idle_power_fraction=0.3, pue=1.5, usd_per_kwh=0.1,
              colocation_usd_per_kw_month=150.0, maintenance_per_year=0.05, staff_usd_per_month=0.0)
    load = np.full(24, 3.0)  # GPUs' worth of load, carried by at most the fleet
    small = owned_monthly_costs(fleet, np.minimum(load, fleet), **kw)
    large = owned_monthly_costs(fleet + extra, np.minimum(load, fleet + extra), **kw)
    assert large["capex"].sum() >= small["capex"].sum()
    assert large["total"].sum() >= small["total"].sum() - 1e-6


@FAST
@given(tin=st.floats(1, 1e5), tout=st.floats(1, 1e4), more=st.floats(1.0, 10.0))
def test_api_cost_grows_with_tokens(base_catalog, tin, tout, more):
    catalog = with_prices(base_catalog, price(1.0, 4.0, cached=0.5))
    a = evaluate(scenario(workload={"input_tokens_per_request": tin, "output_tokens_per_request": tout,
                                    "cached_input_share": 0.3}), catalog)
    b = evaluate(scenario(workload={"input_tokens_per_request": tin * more, "output_tokens_per_request": tout,
                                    "cached_input_share": 0.3}), catalog)
    assert b.option("api").total_cost_usd >= a.option("api").total_cost_usd


@FAST
@given(cumulative=hnp.arrays(np.float64, st.integers(2, 48), elements=st.floats(0, 1e6)))
def test_payback_month_is_a_lasting_crossing(cumulative):
    a = np.cumsum(cumulative)
    b = np.cumsum(cumulative[::-1])
    m = finance.payback_month(a, b)
    if m is not None:
        assert (a[m:] <= b[m:] + 1e-9 * np.maximum(1.0, np.abs(b[m:]))).all()
        if m > 0:
            assert a[m - 1] > b[m - 1]


def _tpot(batch, *, weights, kv, context, bandwidth, mbu, parameters, flops, mfu, prompt, output_tokens):
    """TPOT from its definition: decode step stretched by the share of time spent in prefill."""
    step = decode_step_seconds(batch, weights, kv, context, bandwidth, mbu, parameters, flops, mfu)
    prefill = prefill_tokens_per_second(parameters, flops, mfu)
    requests_per_s = 1.0 / (prompt / prefill + output_tokens * step / batch)
    return step / (1.0 - requests_per_s * prompt / prefill)


@FAST
@given(mbu=hnp.arrays(np.float64, 16, elements=st.floats(0.05, 1.0)),
       mfu=hnp.arrays(np.float64, 16, elements=st.floats(0.05, 1.0)),
       tpot_slo=st.floats(0.005, 0.3), input_tokens=st.integers(1, 30_000), output_tokens=st.integers(1, 4_000),
       cached=st.sampled_from([0.0, 0.5, 1.0]), max_num_seqs=st.sampled_from([1, 64, 256, 1024]))
def test_operating_batch_is_the_largest_meeting_tpot(mbu, mfu, tpot_slo, input_tokens, output_tokens, cached,
                                                     max_num_seqs):
    """The roofline's batch meets the TPOT objective and one more sequence would not (or the cap binds)."""
    c = roofline_capacity(parameters=8.03e9, bytes_per_weight=0.5, layers=32, kv_heads=8, head_dim=128,
                          kv_bytes_per_element=2, memory_per_gpu=48e9, bandwidth_per_gpu=0.864e12,
                          flops_per_gpu=362e12, gpus=1, mbu=mbu, mfu=mfu, memory_utilization=0.9,
                          max_num_seqs=max_num_seqs, input_tokens=input_tokens, cached_input_share=cached,
                          output_tokens=output_tokens, ttft_slo_s=10.0, tpot_slo_s=tpot_slo)
    kv_limit = (48e9 * 0.9 - 8.03e9 * 0.5) // (float(kv_bytes_per_token(32, 8, 128)) * (input_tokens + output_tokens))
    cap = max(1, min(kv_limit, max_num_seqs))
    model = dict(weights=8.03e9 * 0.5, kv=float(kv_bytes_per_token(32, 8, 128)),
                 context=input_tokens + output_tokens / 2, bandwidth=0.864e12, mbu=mbu, parameters=8.03e9,
                 flops=362e12, mfu=mfu, prompt=input_tokens * (1 - cached), output_tokens=output_tokens)
    met = c.limit != "tpot-slo-unmet"
    assert np.all(_tpot(c.batch, **model)[met] <= tpot_slo)
    assert np.all(_tpot(np.ones(16), **model)[~met] > tpot_slo)
    assert np.all((c.batch >= cap) | (_tpot(c.batch + 1, **model) > tpot_slo))


@FAST
@given(draws=st.integers(1, 5), months=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_weighed_terms_equal_the_weighed_table(draws, months, seed):
    """Monte Carlo's shortcut (weigh each term's table, then scale) is the dense total's sum and NPV."""
    rng = np.random.default_rng(seed)
    terms = CostTerms(((rng.uniform(0, 10, (draws, 1)), rng.uniform(0, 5, (draws, months))),
                       (3.5, rng.uniform(0, 5, months)),
                       (rng.uniform(-1, 1, (draws, 1)), np.arange(months) == months - 1)))
    weights = np.stack([np.ones(months), finance.discount_factors(0.01, months)], axis=1)
    np.testing.assert_allclose(terms.weighed(weights), terms.dense() @ weights, rtol=1e-12, atol=1e-9)


@FAST
@given(table=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 12)),
                        elements=st.integers(0, 5).map(float)), sort_rows=st.booleans())
def test_running_max_is_the_accumulated_maximum(table, sort_rows):
    """The fleet held: shortcut for rows that never fall (a row may start below the last one ends)."""
    if sort_rows:
        table = np.sort(table, axis=-1)
    np.testing.assert_array_equal(running_max(table), np.maximum.accumulate(table, axis=-1))
