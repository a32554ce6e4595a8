"""What-if edits of a scenario and its catalog: pure functions over validated inputs.

Used by the sensitivity analysis, the explore notebook's widgets and the report. Scenario
fields are changed by dotted path (list items by name, as ``tco evaluate --set``); prices
by multipliers, which apply to catalog prices and to the scenario's own price overrides.
"""

from __future__ import annotations

from decimal import Decimal

from costmodel.model.base import Sourced
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import OwnedOption, RentedOption, Scenario, with_values


def _scaled(s: Sourced, factor: float) -> Sourced:
    return s.model_copy(update={"value": s.value * Decimal(str(factor))})


def scale_prices(
    scenario: Scenario, catalog: Catalog, *, api: float = 1.0, gpu: float = 1.0, power: float = 1.0
) -> tuple[Scenario, Catalog]:
    """Multiply every API price, GPU price (rent and purchase) and electricity price."""
    if api != 1.0:
        catalog = catalog.model_copy(
            update={
                "api_prices": {
                    k: ApiPrice(
                        provider=p.provider,
                        model=p.model,
                        input=_scaled(p.input, api),
                        output=_scaled(p.output, api),
                        cached_input=_scaled(p.cached_input, api),
                        batch_discount=p.batch_discount,
                    )
                    for k, p in catalog.api_prices.items()
                }
            }
        )
    if gpu != 1.0:
        gpus = {}
        for gid, g in catalog.gpus.items():
            rental = tuple(r.model_copy(update={"price": _scaled(r.price, gpu)}) for r in g.rental)
            purchase = _scaled(g.purchase_price, gpu) if g.purchase_price else None
            gpus[gid] = g.model_copy(update={"rental": rental, "purchase_price": purchase})
        catalog = catalog.model_copy(update={"gpus": gpus})
    if gpu != 1.0 or power != 1.0:
        values = {}
        for o in scenario.options:
            if isinstance(o, RentedOption) and o.usd_per_gpu_hour is not None:
                values[f"options.{o.name}.usd_per_gpu_hour"] = o.usd_per_gpu_hour * gpu
            if isinstance(o, OwnedOption):
                if o.usd_per_gpu is not None:
                    values[f"options.{o.name}.usd_per_gpu"] = o.usd_per_gpu * gpu
                values[f"options.{o.name}.usd_per_kwh"] = o.usd_per_kwh * power
        scenario = with_values(scenario, values) if values else scenario
    return scenario, catalog
