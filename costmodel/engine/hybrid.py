"""How a hybrid is costed: a fixed local fleet serves each hour's load up to its SLO capacity
(only the request classes its model is good enough for); the rest overflows to an API.

The local share comes from :func:`costmodel.core.demand.local_share` (exact for the daily
shape); the local fleet is costed as its option would be, and the API bills the requests
it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from costmodel.core.demand import local_share
from costmodel.core.tables import CostTerms
from costmodel.engine import api
from costmodel.engine.demand import Demand
from costmodel.engine.eligibility import servable_share
from costmodel.engine.fleet import SelfHostedFleet, stranded_gpus
from costmodel.model.scenario import HybridOption, Scenario


def slo_and(a: Any, b: Any) -> Any:
    """Three-valued AND of SLO flags (None: unknown), element-wise over Monte Carlo draws.

    Examples
    --------
    >>> slo_and(True, None), slo_and(False, None), bool(slo_and(True, True))
    (None, False, True)
    """
    if a is None or b is None:
        known = b if a is None else a
        return False if known is not None and not np.any(known) else None
    return np.logical_and(a, b)


def hybrid_items(
    o: HybridOption,
    scenario: Scenario,
    demand: Demand,
    local: SelfHostedFleet,
    overflow_api: api.Overflow,
    detail: bool,
    mix: Mapping[str, float] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Monthly line items of a hybrid (local items prefixed ``local_``, ``api``, ``local_share``)
    and whether it meets the SLO (both parts must). ``mix`` (a router's member): only these shares
    of all requests come to the hybrid, by true class; ``local_share`` stays a share of all requests."""
    cap = local.capacity
    months = demand.mean_rps.shape[-1]
    fleet = np.full(months, float(o.local_gpus))  # the same every month and draw
    active = max(o.local_gpus // cap.gpus_per_replica - local.option.spare_replicas, 0)
    capacity_rps = active * cap.requests_per_s * local.option.max_utilization
    routed = 1.0 if mix is None else sum(mix.values())
    servable = servable_share(local.option, scenario, mix)  # classes the local model is good enough for
    if servable == 1.0:
        share = local_share(demand.mean_rps, capacity_rps, demand.shape)
    elif servable > 0.0:  # the fleet sees only the servable classes' load; the share is of all requests
        share = local_share(demand.mean_rps, np.divide(capacity_rps, servable), demand.shape)
        share *= servable
    else:  # no class the local model is good enough for: all of it overflows
        share = np.zeros(np.shape(demand.mean_rps))
    local_rps = demand.mean_rps * share
    items: dict[str, Any] = (
        local.monthly(fleet, local_rps, demand.rent_price_index, detail=detail)
        if o.local_gpus > 0
        else {"gpus": np.zeros(months), "total": CostTerms(())}
    )
    overflow = overflow_api.bill(scenario.workload, demand.api_price_weighted_requests * (routed - share), months)
    local_total = items.pop("total")
    items = {f"local_{k}" if k != "gpus" else k: v for k, v in items.items()}
    items.update({"local_share": share, "api": overflow, "total": local_total + overflow})
    if o.local_gpus > 0:  # GPUs of the fixed fleet this demand's servable peak does not need
        items["stranded_gpus"] = stranded_gpus(fleet, local.fleet(demand.peak_rps, share=servable))
    met = slo_and(cap.slo_met if o.local_gpus > 0 else True, api.api_slo(scenario.api_option(o.overflow), scenario).met)
    return items, met
