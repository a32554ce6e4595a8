"""Cost tables and the owned-fleet kernel: invariants over random fleets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from costmodel.core import finance
from costmodel.core.owned import owned_monthly_costs
from costmodel.core.tables import CostTerms, running_max

FAST = settings(max_examples=40, deadline=None)


fleets = hnp.arrays(np.float64, 24, elements=st.integers(0, 64).map(float))


@FAST
@given(fleet=fleets, extra=hnp.arrays(np.float64, 24, elements=st.integers(0, 8).map(float)))
def test_more_gpus_never_lower_owned_capex(fleet, extra):
    kw = dict(
        capex_per_gpu=30_000.0,
        depreciation_months=48.0,
        residual_value=0.1,
        count_residual=True,
        tdp_watts=700.0,
        server_power_factor=1.8,
        idle_power_fraction=0.3,
        pue=1.5,
        usd_per_kwh=0.1,
        colocation_usd_per_kw_month=150.0,
        maintenance_per_year=0.05,
        staff_usd_per_month=0.0,
    )
    load = np.full(24, 3.0)  # GPUs' worth of load, carried by at most the fleet
    small = owned_monthly_costs(fleet, np.minimum(load, fleet), **kw)
    large = owned_monthly_costs(fleet + extra, np.minimum(load, fleet + extra), **kw)
    assert large["capex"].sum() >= small["capex"].sum()
    assert large["total"].sum() >= small["total"].sum() - 1e-6


@FAST
@given(draws=st.integers(1, 5), months=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_reduced_terms_equal_the_reduced_table(draws, months, seed):
    """Monte Carlo's shortcut (reduce each term's table, then scale) is the dense total's sum and NPV."""
    rng = np.random.default_rng(seed)
    terms = CostTerms(
        (
            (rng.uniform(0, 10, (draws, 1)), rng.uniform(0, 5, (draws, months))),
            (3.5, rng.uniform(0, 5, months)),
            (rng.uniform(-1, 1, (draws, 1)), np.arange(months) == months - 1),
        )
    )
    weights = np.stack([np.ones(months), finance.discount_factors(0.01, months)], axis=1)
    np.testing.assert_allclose(terms.reduce(weights), terms.dense() @ weights, rtol=1e-12, atol=1e-9)


@FAST
@given(
    table=hnp.arrays(
        np.float64, st.tuples(st.integers(1, 6), st.integers(1, 12)), elements=st.integers(0, 5).map(float)
    ),
    sort_rows=st.booleans(),
)
def test_running_max_is_the_accumulated_maximum(table, sort_rows):
    """The fleet held: shortcut for rows that never fall (a row may start below the last one ends)."""
    if sort_rows:
        table = np.sort(table, axis=-1)
    np.testing.assert_array_equal(running_max(table), np.maximum.accumulate(table, axis=-1))
