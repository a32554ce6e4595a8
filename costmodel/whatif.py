"""What-if edits of a scenario and its catalog: pure functions over validated inputs.

Used by the sensitivity analysis, the explore notebook's widgets and the report. Scenario
fields are changed by dotted path (list items by name, as ``tco evaluate --set``); prices
by multipliers, which apply to catalog prices and to the scenario's own price overrides.
"""

from __future__ import annotations

from decimal import Decimal

from costmodel.model.base import Sourced
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, Scenario, with_values


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


def prices_in_scenario(scenario: Scenario, catalog: Catalog, *, api: float = 1.0, gpu: float = 1.0) -> Scenario:
    """Price multipliers written into the scenario itself, so that it carries them when saved: every
    API option's ``price_scale`` times ``api`` (a router's classifier keeps the catalog's price), and
    every self-hosted option's GPU price (its override, else the catalog's rental or purchase price)
    times ``gpu`` as an override.

    Examples
    --------
    >>> from costmodel import load, paths
    >>> sc, cat = load(paths.scenarios_dir() / "fintech-rag.yaml")
    >>> moved = prices_in_scenario(sc, cat, api=2.0, gpu=0.5)
    >>> moved.option("api-gpt-4o-mini").price_scale, moved.option("own-l40s").usd_per_gpu
    (2.0, 4000.0)
    """
    values: dict[str, float] = {}
    for o in scenario.options:
        if isinstance(o, ApiOption) and api != 1.0:
            values[f"options.{o.name}.price_scale"] = o.price_scale * api
        if gpu == 1.0 or not isinstance(o, RentedOption | OwnedOption):
            continue
        price = gpu_price(o, catalog)
        if price is not None:
            values[f"options.{o.name}.{gpu_price_field(o)}"] = price * gpu
    if not values:
        return scenario
    moved = with_values(scenario, values)
    # an uncertain price moves with its multiplier, so the point estimate stays inside its range
    factors = {p: api if p.endswith("price_scale") else gpu for p in values}
    drawn = {p: _scaled_distribution(d, factors[p]) if p in factors else d for p, d in moved.uncertainty.items()}
    return moved.model_copy(update={"uncertainty": drawn}) if drawn != moved.uncertainty else moved


def _scaled_distribution(dist, factor: float):
    """A distribution of a price times ``factor``: its location, spread and bounds scaled (a
    lognormal's sigma is a ratio and stays)."""
    fields = ("low", "high", "mode", "mean", "sd", "median")
    update = {k: getattr(dist, k) * factor for k in fields if getattr(dist, k, None) is not None}
    return dist.model_copy(update={**update, "source": f"{dist.source} (x{factor:g}: a what-if price multiplier)"})


def gpu_price_field(option: RentedOption | OwnedOption) -> str:
    """The field that overrides a fleet's GPU price: the hourly rate rented, the purchase price owned."""
    return "usd_per_gpu_hour" if isinstance(option, RentedOption) else "usd_per_gpu"


def catalog_gpu_price(option: RentedOption | OwnedOption, catalog: Catalog) -> tuple[str, Sourced] | None:
    """The catalog's GPU price for a fleet, with what it is in words: the rental rate of its provider
    (or the cheapest) and commitment, ``("lambda on-demand rate", price)``, or the purchase price;
    None where the catalog has none."""
    g = catalog.gpus.get(option.gpu)
    if g is None:
        return None
    if isinstance(option, RentedOption):
        entry = g.rental_price(option.provider, option.commitment, option.region)
        return None if entry is None else (f"{entry.label} rate", entry.price)
    return None if g.purchase_price is None else ("purchase price", g.purchase_price)


def gpu_price(option: RentedOption | OwnedOption, catalog: Catalog) -> float | None:
    """A fleet's GPU price as the engine takes it: the option's override, else the catalog's rental
    price (USD/GPU-hour) or purchase price (USD/GPU); None where neither is known."""
    override = getattr(option, gpu_price_field(option))
    if override is not None:
        return float(override)
    found = catalog_gpu_price(option, catalog)
    return None if found is None else float(found[1])
