"""What-if edits of a scenario and its catalog: pure functions over validated inputs.

Used by the sensitivity analysis, the explore notebook's widgets and the report. Scenario
fields are changed by dotted path (list items by name, as ``tco evaluate --set``); prices
by multipliers, which apply to catalog prices and to the scenario's own price overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from costmodel.catalog import ApiPrice, Catalog, Sourced
from costmodel.scenario import OwnedOption, RentedOption, Scenario


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (dotted; list items by ``name`` or index) in nested dict/list ``data``."""
    node: Any = data
    keys = path.split(".")
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            idx = next((j for j, item in enumerate(node) if isinstance(item, dict) and item.get("name") == key),
                       int(key) if key.isdigit() and int(key) < len(node) else None)
            if idx is None:
                names = ", ".join(str(item.get("name")) for item in node if isinstance(item, dict))
                raise KeyError(f"no item named {key!r}; known: {names}")
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise KeyError(f"{'.'.join(keys[:i])} is not a section")


def with_values(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """A copy of ``scenario`` with the fields at the given paths replaced (and re-validated)."""
    data = scenario.model_dump(mode="json", exclude_none=True)  # lists, not tuples; re-validated below
    for path, value in values.items():
        set_path(data, path, value)
    return Scenario.model_validate(data)


def _scaled(s: Sourced, factor: float) -> Sourced:
    return s.model_copy(update={"value": s.value * Decimal(str(factor))})


def scale_prices(scenario: Scenario, catalog: Catalog, *, api: float = 1.0, gpu: float = 1.0,
                 power: float = 1.0) -> tuple[Scenario, Catalog]:
    """Multiply every API price, GPU price (rent and purchase) and electricity price."""
    if api != 1.0:
        catalog = catalog.model_copy(update={"api_prices": {
            k: ApiPrice(provider=p.provider, model=p.model, input=_scaled(p.input, api),
                        output=_scaled(p.output, api), cached_input=_scaled(p.cached_input, api),
                        batch_discount=p.batch_discount)
            for k, p in catalog.api_prices.items()}})
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
