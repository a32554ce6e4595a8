"""How old each price a scenario uses is, against the scenario's own date.

A price shows its age: every API price (an option's, a router classifier's), GPU rental rate and
purchase price the evaluation takes from the catalog is listed with its ``as_of`` and its age in
days at the scenario's ``as_of``; past ``scenario.stale_price_days`` (365 by default) it is
*stale*, and every face says so with its date and source. A price the scenario sets itself is
as old as the scenario, and is not listed. A catalog date after the day it is read is refused
when the catalog loads (:class:`costmodel.model.base.Sourced`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from costmodel.model.base import Sourced
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, RouterOption, Scenario
from costmodel.whatif import catalog_gpu_price, gpu_price_field

__all__ = ["PriceAge", "price_ages", "stale_note", "stale_prices"]


@dataclass(frozen=True)
class PriceAge:
    """One price the evaluation uses: what it is, its value in words, date, source and age."""

    name: str  # "rent-h100: h100-sxm aws p5.48xlarge us-east-1 on-demand rate"
    value: str  # "6.88 USD/GPU-hour"
    as_of: date
    source: str
    age_days: int  # at the scenario's as_of
    stale: bool


def _used(scenario: Scenario, catalog: Catalog) -> dict[str, Sourced]:
    """Every catalog price the scenario's options take, by name (each once)."""
    out: dict[str, Sourced] = {}
    for o in scenario.options:
        if isinstance(o, ApiOption) and (o.provider, o.model) in catalog.api_prices:
            p = catalog.api_prices[(o.provider, o.model)]
            for field in ("input", "cached_input", "output"):
                out[f"{o.provider}/{o.model} {field.replace('_', ' ')} price"] = getattr(p, field)
            if p.batch_discount is not None and scenario.workload.batch_share > 0:
                out[f"{o.provider}/{o.model} batch discount"] = p.batch_discount
        elif isinstance(o, RouterOption) and o.classifier is not None and o.classifier.kind == "api":
            key = (o.classifier.api_provider, o.classifier.api_model)
            if key in catalog.api_prices:
                p = catalog.api_prices[key]
                for field in ("input", "output"):
                    out[f"{o.name} classifier: {key[0]}/{key[1]} {field} price"] = getattr(p, field)
        elif isinstance(o, RentedOption | OwnedOption) and getattr(o, gpu_price_field(o)) is None:
            found = catalog_gpu_price(o, catalog)  # a price the scenario sets itself is not the catalog's
            if found is not None:
                out[f"{o.name}: {o.gpu} {found[0]}"] = found[1]
    return out


def price_ages(scenario: Scenario, catalog: Catalog) -> list[PriceAge]:
    """Every catalog price the scenario uses with its age at ``scenario.as_of``, oldest first.

    Examples
    --------
    >>> from costmodel import load, paths
    >>> sc, cat = load(paths.scenarios_dir() / "fintech-rag.yaml")
    >>> oldest = price_ages(sc, cat)[0]
    >>> oldest.name, oldest.as_of.isoformat(), oldest.age_days, oldest.stale
    ('rent-h100: h100-sxm lambda gpu_8x_h100_sxm5 all regions on-demand rate', '2026-09-20', 63, False)
    """
    ages = [
        PriceAge(
            name,
            f"{s.value:f}".rstrip("0").rstrip(".") + f" {s.unit}",
            s.as_of,
            s.source,
            (scenario.as_of - s.as_of).days,
            (scenario.as_of - s.as_of).days > scenario.stale_price_days,
        )
        for name, s in _used(scenario, catalog).items()
    ]
    return sorted(ages, key=lambda a: (-a.age_days, a.name))


def stale_prices(scenario: Scenario, catalog: Catalog) -> list[PriceAge]:
    """The prices past ``scenario.stale_price_days`` at the scenario's date."""
    return [a for a in price_ages(scenario, catalog) if a.stale]


def stale_note(scenario: Scenario, stale: list[PriceAge]) -> str:
    """The stale prices in one sentence, each with its date, age and source ('' when none).

    Examples
    --------
    >>> from costmodel import load, paths
    >>> sc, cat = load(paths.scenarios_dir() / "fintech-rag.yaml", ["stale_price_days=60"])
    >>> print(stale_note(sc, stale_prices(sc, cat))[:86])
    1 price is older than 60 days at the scenario's date (2026-11-22): rent-h100: h100-sxm
    """
    if not stale:
        return ""
    n = len(stale)
    items = "; ".join(
        f"{a.name} {a.value} as of {a.as_of.isoformat()} ({a.age_days:,} days; {a.source})" for a in stale
    )
    return (
        f"{n} price{' is' if n == 1 else 's are'} older than {scenario.stale_price_days:,} days at the scenario's "
        f"date ({scenario.as_of.isoformat()}): {items}. Check them (tco prices) or set stale_price_days."
    )
