"""Analyses over the costing: break-even volumes, payback months, steady-state cost curves,
what-if variants, and the hybrid's cost against its local fleet size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from costmodel.core import finance
from costmodel.engine import api
from costmodel.engine.costing import Prepared, option_result, prepare
from costmodel.engine.errors import EngineError
from costmodel.engine.extras import steady_extra_cost
from costmodel.engine.results import BreakEven, OptionResult, Payback
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import HybridOption, OwnedOption, Scenario
from costmodel.text import count

Array = NDArray[np.float64]
BREAK_EVEN_RANGE = (1e2, 1e12)  # requests per month searched for a break-even

SteadyCost = Callable[..., Array]  # f(requests per month, api price scale, max utilisation) -> USD per month


def steady_cost_functions(scenario: Scenario, prepared: Prepared) -> dict[str, SteadyCost]:
    """Per option (not hybrid): f(requests/month, api_price_scale, max_utilization) -> USD/month.

    Requests are all the workload's; a response cache's hits never reach the model. Recurring
    extra costs (monthly, per request, per token) and cache lookups are included; one-off costs
    are not (a steady state has none)."""
    wl = scenario.workload
    peak = float(prepared.demand.shape.max())
    share = prepared.demand.model_share
    fns: dict[str, SteadyCost] = {}
    for o in scenario.options:
        extra = steady_extra_cost(o, scenario)
        if o.name in prepared.fleets:
            fns[o.name] = lambda v, scale=1.0, u=None, h=prepared.fleets[o.name], x=extra: (
                h.steady_monthly_cost(np.asarray(v, float) * share, peak, u) + x(v)
            )
        elif o.name in prepared.prices:
            fns[o.name] = lambda v, scale=1.0, u=None, o=o, p=prepared.prices[o.name], x=extra: (
                np.asarray(v, float) * share * api.usd_per_request(o, p, wl) * scale + x(v)
            )
    return fns


def variant_costs(
    scenario: Scenario,
    catalog: Catalog,
    requests_per_month: ArrayLike,
    *,
    api_price_scale: ArrayLike = 1.0,
    max_utilization: ArrayLike | None = None,
    layouts: dict[str, int] | None = None,
) -> dict[str, Array]:
    """Steady-state monthly cost of each option (not hybrids) for many what-if variants at once.

    The three arguments broadcast against each other: a monthly volume, a multiplier on
    every API price, and the planned peak utilisation of self-hosted fleets (``None``: each
    option's own). Self-hosted fleets are sized for the volume's peak; owned capex is spread
    over its depreciation life net of residual value. USD per month, one array per option.
    ``layouts`` keeps each self-hosted option in the layout an evaluation chose
    (:meth:`Evaluation.chosen_layouts`) instead of choosing again.
    """
    v = np.asarray(requests_per_month, dtype=float)
    # routers have no steady cost function: skip choosing their routes (15-20 ms a call)
    fns = steady_cost_functions(scenario, prepare(scenario, catalog, chosen=layouts, routes={}))
    shape = np.broadcast_shapes(
        v.shape, np.shape(api_price_scale), np.shape(max_utilization) if max_utilization is not None else ()
    )
    return {name: np.broadcast_to(fn(v, api_price_scale, max_utilization), shape) for name, fn in fns.items()}


def cost_curves(
    scenario: Scenario, catalog: Catalog, requests_per_month: ArrayLike, layouts: dict[str, int] | None = None
) -> pd.DataFrame:
    """Steady-state monthly cost of each option (not hybrids) at each monthly volume.

    The curves cross at the break-even volumes (see :func:`variant_costs` for the model).
    Index: requests per month; one column per option, USD per month.
    """
    v = np.asarray(requests_per_month, dtype=float)
    costs = variant_costs(scenario, catalog, v, layouts=layouts)
    return pd.DataFrame(costs, index=pd.Index(v, name="requests_per_month"))


def _difference(a: SteadyCost, b: SteadyCost) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """Monthly cost of ``a`` minus ``b`` at each volume."""
    return lambda x: np.asarray(a(x) - b(x), dtype=float)


def break_evens_and_paybacks(
    scenario: Scenario, prepared: Prepared, results: list[OptionResult]
) -> tuple[tuple[BreakEven, ...], tuple[Payback, ...]]:
    """Each self-hosted option against each API: the steady volume at which it becomes cheaper,
    and (owned) the month from which its cumulative cost stays below the API's."""
    by_name = {r.name: r for r in results}
    fns = steady_cost_functions(scenario, prepared)
    evens, paybacks = [], []
    low, high = BREAK_EVEN_RANGE
    for h_name, h in prepared.fleets.items():
        for a_name in prepared.prices:
            v = finance.break_even(_difference(fns[h_name], fns[a_name]), low, high)
            if v is None:
                note = f"{a_name} is cheaper at every volume up to {high:.0e} requests/month"
            elif v == low:
                note = f"{h_name} is cheaper at every volume from {low:.0e} requests/month"
            else:
                note = f"{h_name} is cheaper above {count(v)} requests/month (steady state, capex amortized)"
            evens.append(BreakEven(h_name, a_name, v, note))
            if isinstance(h.option, OwnedOption):
                paybacks.append(
                    Payback(
                        h_name,
                        a_name,
                        finance.payback_month(
                            by_name[h_name].cashflow["cumulative"], by_name[a_name].cashflow["cumulative"]
                        ),
                    )
                )
    return tuple(evens), tuple(paybacks)


def hybrid_sweep(
    scenario: Scenario, catalog: Catalog, name: str, sizes: ArrayLike | None = None, points: int = 33
) -> pd.DataFrame:
    """Cost of hybrid option ``name`` against its local fleet size, from zero to all-local, and
    the cheapest size.

    A local fleet of ``k`` replicas holds ``k x GPUs per replica + spares`` GPUs, up to the fleet
    the local option alone would need at its busiest month. Its cost rises with ``k`` (linear in
    GPUs) while the overflow's falls, and falls ever less (each hour's local share is concave in
    capacity), so the NPV has one maximum in ``k``: a ternary search finds it in time logarithmic
    in the fleet size, checked on its last few neighbours and against all-API and all-local. The
    table holds every size evaluated plus ``points`` sizes spread geometrically (for the figure).
    ``sizes`` evaluates exactly those instead. Columns: ``local_gpus``, ``npv_usd``,
    ``total_cost_usd``, ``local_share`` (mean over the horizon), ``slo_met`` (True, False or None:
    unverified), ``optimal`` (the highest NPV, i.e. the cheapest, among sizes not known to miss the
    SLO, or among all if every size misses it; ties go to the smaller fleet).
    """
    prepared = prepare(scenario, catalog)
    o = scenario.option(name)
    if not isinstance(o, HybridOption):
        raise EngineError(f"options[{name}]", name, "not a hybrid option")
    local = prepared.fleets[o.local]
    rows: dict[int, dict[str, Any]] = {}

    def cost(gpus: int) -> float:
        if gpus not in rows:
            r = option_result(o.model_copy(update={"local_gpus": int(gpus)}), scenario, prepared)
            rows[gpus] = {
                "local_gpus": int(gpus),
                "npv_usd": r.npv_usd,
                "total_cost_usd": r.total_cost_usd,
                "local_share": float(r.cashflow["local_share"].mean()),
                "slo_met": r.slo.met,
            }
        return rows[gpus]["npv_usd"]

    if sizes is not None:
        for size in np.asarray(sizes).ravel():
            cost(int(size))
    else:
        tp = local.capacity.gpus_per_replica
        spare = local.option.spare_replicas * tp
        all_local = int(np.max(local.fleet(prepared.demand.peak_rps)))
        replicas = max(-(-(all_local - spare) // tp), 1)

        def npv(k: int) -> float:
            return cost(0 if k == 0 else k * tp + spare)

        lo, hi = 1, replicas
        while hi - lo > 4:  # ternary search for the NPV's maximum over 1..replicas
            m1, m2 = lo + (hi - lo) // 3, hi - (hi - lo) // 3
            if npv(m1) < npv(m2):
                lo = m1 + 1
            else:
                hi = m2
        for k in {
            0,
            replicas,
            *range(lo, hi + 1),
            *np.unique(np.round(np.geomspace(1, replicas, min(points, replicas)))).astype(int),
        }:
            npv(int(k))
    df = pd.DataFrame(sorted(rows.values(), key=lambda r: r["local_gpus"]))
    df["optimal"] = False
    eligible = df[df["slo_met"].map(lambda met: met is not False)]  # a size known to miss the SLO is never chosen
    df.loc[(eligible if not eligible.empty else df)["npv_usd"].idxmax(), "optimal"] = True
    return df
