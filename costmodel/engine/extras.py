"""Cost lines beside serving: an option's extra costs (vector database, embeddings, egress,
licences, migration work) and the response cache's lookups, as monthly cost terms.

``per``: ``one-off`` (paid in its month), ``month``, ``request`` (requests reaching the model:
a response cache's hits excluded), ``million-tokens`` (input + output tokens of those
requests). The response cache charges every request's lookup to every option alike.
"""

from __future__ import annotations

import numpy as np

from costmodel.core.tables import CostTerms
from costmodel.engine.demand import Demand
from costmodel.model.scenario import ExtraCost, Option, Scenario


def _term(extra: ExtraCost, demand: Demand) -> tuple[float, np.ndarray]:
    """What one unit of ``extra``'s price buys each month, as (scale, table)."""
    months = demand.mean_rps.shape[-1]
    if extra.per == "one-off":
        return 1.0, (np.arange(months) == extra.month).astype(float)
    if extra.per == "month":
        return 1.0, np.ones(months)
    per_month, rates = demand.model_requests
    return (per_month if extra.per == "request" else per_month * demand.tokens_per_request / 1e6), rates


def extra_items(
    option: Option, scenario: Scenario, demand: Demand, lines: dict[str, tuple[ExtraCost, float]] | None = None
) -> dict[str, CostTerms]:
    """One cost line per extra cost of ``option``, and ``response_cache`` if the workload has one.

    ``lines`` (a router): line name -> (extra cost, share of requests it applies to) instead of the
    option's own; lines paid per request or per token scale with the share, the others do not.
    """
    if lines is None:
        lines = {e.name: (e, 1.0) for e in option.extra_costs}
    items = {}
    for name, (e, share) in lines.items():
        scale, table = _term(e, demand)
        items[name] = CostTerms(((e.usd * (share if e.per in ("request", "million-tokens") else 1.0) * scale, table),))
    cache = scenario.workload.response_cache
    if cache is not None and cache.usd_per_million_lookups > 0:
        price = cache.usd_per_million_lookups / 1e6
        per_month, rates = demand.model_requests
        lookups = (  # every request is looked up: those reaching the model over their share, if any reach it
            (price * per_month / demand.model_share, rates) if demand.model_share > 0 else (price, demand.requests)
        )
        items["response_cache"] = CostTerms((lookups,))
    return items


def steady_extra_cost(option: Option, scenario: Scenario):
    """Recurring extra costs of ``option`` and cache lookups as a function of requests a month
    (all of them; the cache's hits do not reach the model): USD a month, one-offs excluded."""
    wl = scenario.workload
    share = 1.0 - (wl.response_cache.hit_share if wl.response_cache else 0.0)
    lookup = wl.response_cache.usd_per_million_lookups / 1e6 if wl.response_cache else 0.0
    tokens = (wl.input_tokens_per_request + wl.output_tokens_per_request) / 1e6
    monthly = sum(e.usd for e in option.extra_costs if e.per == "month")
    per_request = lookup + share * sum(
        e.usd * (1.0 if e.per == "request" else tokens)
        for e in option.extra_costs
        if e.per in ("request", "million-tokens")
    )
    return lambda v: monthly + per_request * np.asarray(v, float)
