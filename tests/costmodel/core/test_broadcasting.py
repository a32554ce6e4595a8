"""Every public kernel broadcasts as the engine promises: Monte Carlo draws as ``(draws, 1)``
columns, months as a ``(months,)`` row, scalars anywhere. The result must equal the kernel
evaluated one element at a time with scalars."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.core import demand, finance, owned, rented, roofline
from costmodel.core.api import api_usd_per_request

FAST = settings(max_examples=60, deadline=None)

# kernel, and per argument the range its values come from (all elementwise in every argument)
ELEMENTWISE = {
    "api_usd_per_request": (
        api_usd_per_request,
        [(0, 1e5), (1, 1e4), (0, 1), (0, 1), (0, 50), (0, 100), (0, 50), (0, 1)],
    ),
    "rented_monthly_cost": (rented.rented_monthly_cost, [(0, 64), (0.1, 20)]),
    "power_monthly_cost": (owned.power_monthly_cost, [(0, 64), (50, 1500), (1, 2), (0, 1), (0, 1), (1, 2), (0, 0.5)]),
    "colocation_monthly_cost": (owned.colocation_monthly_cost, [(0, 64), (50, 1500), (1, 2), (0, 400)]),
    "power_per_gpu": (owned.power_per_gpu, [(50, 1500), (1, 2), (0, 1), (1, 2), (0, 0.5)]),
    "monthly_rate": (finance.monthly_rate, [(0, 1)]),
    "weight_bytes": (roofline.weight_bytes, [(1e8, 1e12), (0.25, 2)]),
    "kv_bytes_per_token": (roofline.kv_bytes_per_token, [(1, 128), (1, 16), (32, 256), (0.5, 2)]),
    "mla_kv_bytes_per_token": (roofline.mla_kv_bytes_per_token, [(1, 128), (64, 1024), (0, 128), (0.5, 2)]),
    "weights_read_per_step": (roofline.weights_read_per_step, [(1e9, 1e12), (0, 1e9), (8, 256), (1, 8), (1, 1e4)]),
    "allreduce_seconds": (
        roofline.allreduce_seconds,
        [(1, 1e4), (1024, 16384), (1, 2), (1, 128), (2, 8), (1e10, 1e12), (0, 1e-4)],
    ),
    "all_to_all_seconds": (
        roofline.all_to_all_seconds,
        [(1, 1e4), (1, 8), (1024, 8192), (1, 2), (1, 100), (2, 8), (1e10, 1e12), (0, 1e-4)],
    ),
    "concurrency_p95": (roofline.concurrency_p95, [(0, 1e4)]),
    "replicas_needed": (roofline.replicas_needed, [(0, 1e3), (0.1, 100), (0.1, 1)]),
}


@st.composite
def shaped_arguments(draw, ranges):
    """One array per argument, each of shape (), (draws, 1) or (months,)."""
    draws, months = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    args = []
    for lo, hi in ranges:
        shape = draw(st.sampled_from([(), (draws, 1), (months,)]))
        seed = draw(st.integers(0, 2**32 - 1))
        args.append(np.random.default_rng(seed).uniform(lo, hi, shape))
    return args


def one_at_a_time(kernel, args):
    """The kernel on scalars, element by element over the broadcast shape."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    full = [np.broadcast_to(a, shape) for a in args]
    results = [kernel(*(float(a[i]) for a in full)) for i in np.ndindex(shape)]
    if isinstance(results[0], tuple):
        return tuple(np.reshape([r[k] for r in results], shape) for k in range(len(results[0])))
    return np.reshape(results, shape)


@FAST
@given(data=st.data(), name=st.sampled_from(sorted(ELEMENTWISE)))
def test_elementwise_kernels_broadcast(data, name):
    kernel, ranges = ELEMENTWISE[name]
    args = data.draw(shaped_arguments(ranges))
    got, want = kernel(*args), one_at_a_time(kernel, args)
    for g, w in zip(
        got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,), strict=True
    ):
        assert np.shape(g) == np.shape(w), name
        np.testing.assert_allclose(g, w, rtol=1e-12, err_msg=name)


def test_the_power_example_of_the_issue():
    """Fleet of (3, 1) draws against utilisation by month: a (3, 2) table, not an in-place error."""
    got = owned.power_monthly_cost(np.ones((3, 1)), 1000, 1, [0.5, 1], 0.3, 1.5, 0.1)
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got[:, 1], 1.5 * 730.5 * 0.1)


@FAST
@given(draws=st.integers(1, 4), months=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_months_kernels_broadcast_over_draws(draws, months, seed):
    """Kernels with a months argument: a (draws, 1) input gives (draws, months), row by row the scalar's."""
    rng = np.random.default_rng(seed)
    r0, growth, decline = (
        rng.uniform(1, 1e6, (draws, 1)),
        rng.uniform(-0.1, 0.3, (draws, 1)),
        rng.uniform(0, 0.9, (draws, 1)),
    )
    rate = rng.uniform(0, 0.5, (draws, 1))
    for d in range(draws):
        np.testing.assert_allclose(
            demand.monthly_requests(r0, growth, months)[d],
            demand.monthly_requests(r0[d, 0], growth[d, 0], months),
            rtol=1e-12,
        )
        np.testing.assert_allclose(
            demand.price_index(decline, months)[d], demand.price_index(decline[d, 0], months), rtol=1e-12
        )
        np.testing.assert_allclose(
            finance.discount_factors(rate[:, 0], months)[d], finance.discount_factors(rate[d, 0], months), rtol=1e-12
        )
    values = rng.uniform(-10, 10, (draws, months))
    np.testing.assert_allclose(
        finance.npv(rate[:, 0], values), [finance.npv(rate[d, 0], values[d]) for d in range(draws)], rtol=1e-12
    )


@FAST
@given(draws=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_local_share_broadcasts(draws, seed):
    rng = np.random.default_rng(seed)
    shape = rng.uniform(0.01, 3, 24)
    shape /= shape.mean()  # the kernel's contract: weights with mean 1
    mean, capacity = rng.uniform(0.1, 10, (draws, 1)), rng.uniform(0, 20, 6)
    got = demand.local_share(mean, capacity, shape)
    assert got.shape == (draws, 6)
    for d in range(draws):
        for m in range(6):  # hour by hour: serve min(load, capacity) of each hour's load
            hourly = mean[d, 0] * shape
            np.testing.assert_allclose(got[d, m], np.minimum(hourly, capacity[m]).sum() / hourly.sum(), rtol=1e-9)


@FAST
@given(draws=st.integers(1, 4), months=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
def test_owned_costs_broadcast_over_draws(draws, months, seed):
    """Prices as (draws, 1) columns and a (draws, months) fleet: each row is that draw's scalar costing."""
    rng = np.random.default_rng(seed)
    fleet = np.round(rng.uniform(0, 8, (draws, months)))
    loaded = rng.uniform(0, 1, (draws, months)) * fleet
    column = {
        "capex_per_gpu": rng.uniform(1e3, 4e4, (draws, 1)),
        "usd_per_kwh": rng.uniform(0, 0.4, (draws, 1)),
        "pue": rng.uniform(1, 2, (draws, 1)),
        "residual_value": rng.uniform(0, 0.5, (draws, 1)),
        "maintenance_per_year": rng.uniform(0, 0.2, (draws, 1)),
    }
    fixed = dict(
        depreciation_months=36.0,
        count_residual=True,
        tdp_watts=700.0,
        server_power_factor=1.8,
        idle_power_fraction=0.3,
        colocation_usd_per_kw_month=150.0,
        staff_usd_per_month=1000.0,
    )
    together = owned.owned_monthly_costs(fleet, loaded, **column, **fixed)
    terms = owned.owned_monthly_costs(fleet, loaded, **column, **fixed, terms=True)["total"]
    for d in range(draws):
        alone = owned.owned_monthly_costs(
            fleet[d], loaded[d], **{k: float(v[d, 0]) for k, v in column.items()}, **fixed
        )
        for item in ("capex", "power", "colocation", "maintenance", "residual", "total", "depreciation"):
            np.testing.assert_allclose(together[item][d], alone[item], rtol=1e-9, atol=1e-6, err_msg=item)
    np.testing.assert_allclose(terms.dense(), together["total"], rtol=1e-9, atol=1e-6)
