"""Costing a per-token API option: its catalog price, what it bills per request, its SLO status."""

from __future__ import annotations

from costmodel.core.api import api_usd_per_request
from costmodel.engine.errors import EngineError
from costmodel.engine.results import SloStatus
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import ApiOption, Scenario, Workload


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


def price_note(option: ApiOption, price: ApiPrice) -> str:
    """The prices used, with source and date."""
    return (
        f"{price.provider}/{price.model}: ${float(price.input):g} in, ${float(price.cached_input):g} cached in, "
        f"${float(price.output):g} out per 1M tokens ({price.input.source}; as of {price.input.as_of})"
        + (f"; x {option.price_scale:g} (scenario price_scale)" if option.price_scale != 1 else "")
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
