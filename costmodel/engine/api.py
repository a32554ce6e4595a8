"""Costing a per-token API option: its catalog price, what it bills per request and per month
(moving to the successor the provider names when the model retires inside the horizon, with the
scenario's migration cost), its SLO status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from costmodel.core.api import api_usd_per_request
from costmodel.core.tables import CostTerms
from costmodel.engine.errors import EngineError
from costmodel.engine.results import SloStatus
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import ApiOption, Scenario, Workload


@dataclass(frozen=True)
class Successor:
    """What an API option is billed at once its model retires: the successor's price from a month on."""

    model: str  # "openai/gpt-6-luna"
    price: ApiPrice
    month: int  # first month billed at the successor's price, 1-based: the month the model retires in


class Overflow(NamedTuple):
    """The API a fleet or hybrid sends what it does not serve to: the option, its price, its successor."""

    option: ApiOption
    price: ApiPrice
    moved: Successor | None

    def bill(self, workload: Workload, requests: ArrayLike, months: int) -> CostTerms:
        """The overflow's bill by month for ``requests``, with the move to the successor if any."""
        return bill_and_move(self.option, self.price, workload, requests, self.moved, months)


def horizon_month(as_of: date, day: date) -> int:
    """The month of a horizon starting on ``as_of`` in which ``day`` falls (1 = the first month,
    ``as_of`` to the day before the same day next month); 0 for a day before ``as_of``.

    Examples
    --------
    >>> horizon_month(date(2026, 11, 22), date(2027, 1, 14))
    2
    >>> horizon_month(date(2026, 11, 22), date(2026, 11, 22)), horizon_month(date(2026, 11, 22), date(2026, 12, 22))
    (1, 2)
    >>> horizon_month(date(2026, 11, 22), date(2026, 11, 21))
    0
    """
    if day < as_of:
        return 0
    months = (day.year - as_of.year) * 12 + day.month - as_of.month
    return months + (1 if day.day >= as_of.day else 0)


def successor(price: ApiPrice, scenario: Scenario, prices: Mapping[tuple[str, str], ApiPrice]) -> Successor | None:
    """The successor an API is billed at from the month its model retires, when that month is inside
    the horizon and ``prices`` (the catalog's) has the successor's (a model retired before the
    scenario's date moves in month 1); None otherwise."""
    r = price.retirement
    if r is None or not r.successor or (r.provider, r.successor) not in prices:
        return None
    month = max(horizon_month(scenario.as_of, r.retires), 1)
    if month > scenario.horizon_months:
        return None
    return Successor(f"{r.provider}/{r.successor}", prices[(r.provider, r.successor)], month)


def switched(rates: tuple[ArrayLike, ArrayLike], requests: ArrayLike, moved: Successor) -> CostTerms:
    """``requests`` by month billed at ``rates[0]`` before ``moved.month`` and ``rates[1]`` from it on."""
    req = np.asarray(requests, float)
    after = (np.arange(req.shape[-1]) >= moved.month - 1).astype(float)
    return CostTerms(((rates[0], req, 1.0 - after), (rates[1], req, after)))  # months masked, not tables


def monthly_bill(
    option: ApiOption, price: ApiPrice, workload: Workload, requests: ArrayLike, moved: Successor | None
) -> CostTerms:
    """What the API bills by month for ``requests`` (weighted by the price trend): its own price per
    request, and from ``moved.month`` on the successor's, at the same tokens and price scale."""
    rate = usd_per_request(option, price, workload)
    if moved is None:
        return CostTerms(((rate, requests),))
    return switched((rate, usd_per_request(option, moved.price, workload)), requests, moved)


def bill_and_move(
    option: ApiOption, price: ApiPrice, workload: Workload, requests: ArrayLike, moved: Successor | None, months: int
) -> CostTerms:
    """:func:`monthly_bill` plus :func:`migration` in one table (a router member's, an overflow's)."""
    bill = monthly_bill(option, price, workload, requests, moved)
    move = migration(option, moved, months)
    return bill if move is None else bill + move


def migration(option: ApiOption, moved: Successor | None, months: int) -> CostTerms | None:
    """The scenario's one-off cost of moving to the successor, in the month the model retires
    (``$0`` when the scenario states none: every face says so); None when the model does not retire."""
    if moved is None:
        return None
    once = np.zeros(months)
    once[moved.month - 1] = 1.0
    return CostTerms(((option.migration.usd if option.migration else 0.0, once),))


def api_price(option: ApiOption, catalog: Catalog) -> ApiPrice:
    """The resolved catalog price of an API option. A price that bills nothing (no input or no
    output price, as genai-prices lists free tiers and non-text models) is an error unless the
    option names the source that says the tier is free (``free_tier_source``)."""
    try:
        price = catalog.api_prices[(option.provider, option.model)]
    except KeyError:
        raise EngineError(
            f"options[{option.name}].model", option.model, f"no price for {option.provider}/{option.model}"
        ) from None
    if option.free_tier_source is None and (float(price.input) <= 0 or float(price.output) <= 0):
        raise EngineError(
            f"options[{option.name}].model",
            option.model,
            f"{option.provider}/{option.model} is priced at ${float(price.input):g} in and ${float(price.output):g} "
            "out per 1M tokens (a free tier or a model not billed per token); pick a paid model, or set "
            "free_tier_source to where the provider says it is free",
        )
    return price


def usd_per_request(option: ApiOption, price: ApiPrice, workload: Workload):
    """USD an API bills per request at today's catalog price times the option's price scale.

    Multiply by requests weighted by the price trend
    (:attr:`costmodel.engine.demand.Demand.api_price_weighted_requests`) for a month's bill.
    """
    scale = option.price_scale  # folded into the prices: (draws, 1) at most, never a months-wide pass
    return api_usd_per_request(
        workload.input_tokens_per_request,
        workload.output_tokens_per_request,
        workload.cached_input_share,
        workload.batch_share,
        float(price.input) * scale,
        float(price.output) * scale,
        float(price.cached_input) * scale,
        float(price.batch_discount) if price.batch_discount else 0.0,
    )


def price_note(option: ApiOption, price: ApiPrice, moved: Successor | None = None) -> str:
    """The prices used, with source and date (and the successor's, from the month the model retires)."""

    def prices(p: ApiPrice) -> str:
        return (
            f"${float(p.input):g} in, ${float(p.cached_input):g} cached in, ${float(p.output):g} out per 1M tokens "
            f"({p.input.source}; as of {p.input.as_of})"
        )

    r = price.retirement
    return (
        f"{price.provider}/{price.model}: {prices(price)}"
        + (f"; x {option.price_scale:g} (scenario price_scale)" if option.price_scale != 1 else "")
        + (
            f"; retires {r.retires}: from month {moved.month} {moved.model} at {prices(moved.price)}"
            if moved is not None and r is not None
            else ""
        )
    )


def api_slo(option: ApiOption, scenario: Scenario) -> SloStatus:
    """Met when the API's known p95 latencies are within the objective; unverified without figures."""
    slo = scenario.workload.slo
    if option.ttft_p95_ms is None or option.tpot_p95_ms is None:
        return SloStatus(
            None,
            option.ttft_p95_ms,
            option.tpot_p95_ms,
            "unknown",
            "no latency figure for this API; probe it to verify",
        )
    met = option.ttft_p95_ms <= slo.ttft_p95_ms and option.tpot_p95_ms <= slo.tpot_p95_ms
    return SloStatus(met, option.ttft_p95_ms, option.tpot_p95_ms, "measured", "")
