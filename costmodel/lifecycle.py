"""API models that retire inside the horizon: which, when, and what the provider names instead.

Every API model a scenario uses (an API option's, a router classifier's) whose provider has
published a shutdown date before the horizon ends is listed with the month of the horizon it
retires in, its successor and the source (``retirements`` in ``data/catalog/api_prices.yaml``).
Every face says so, and the recommendation's sentence says it when the recommended option depends
on such a model (itself, or a router or hybrid that sends it traffic).

Costing is unchanged: the evaluation bills the retiring model at its own price for the whole
horizon, and every note says so; costing the successor from the shutdown month is not built yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, HybridOption, RouterOption, Scenario

__all__ = ["RetiringModel", "horizon_month", "retirement_note", "retirement_reasons", "retiring_models"]


@dataclass(frozen=True)
class RetiringModel:
    """An API model the scenario uses that its provider shuts down before the horizon ends."""

    used_by: tuple[str, ...]  # the options (or "<router> classifier") that call it
    model: str  # "openai/gpt-4o-mini"
    retires: date
    month: int  # month of the horizon it retires in (1 = the first); 0: before the scenario's date
    successor: str | None  # "openai/gpt-6-luna", None when the provider names none
    source: str


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


def retiring_models(scenario: Scenario, catalog: Catalog) -> list[RetiringModel]:
    """Every API model the scenario uses that retires before its horizon ends, soonest first.

    Examples
    --------
    >>> from costmodel import load, paths
    >>> sc, cat = load(paths.scenarios_dir() / "support-chatbot.yaml")
    >>> r = retiring_models(sc, cat)[0]
    >>> r.used_by, r.model, r.retires.isoformat(), r.month, r.successor
    (('api-gpt-4o-mini',), 'openai/gpt-4o-mini', '2027-01-14', 2, 'openai/gpt-6-luna')
    """
    used: list[tuple[str, tuple[str, str]]] = []
    for o in scenario.options:
        if isinstance(o, ApiOption):
            used.append((o.name, (o.provider, o.model)))
        elif isinstance(o, RouterOption) and (k := o.classifier) is not None and k.api_provider and k.api_model:
            used.append((f"{o.name} classifier", (k.api_provider, k.api_model)))  # an api classifier
    users: dict[tuple[str, str], list[str]] = {}
    for name, key in used:
        users.setdefault(key, []).append(name)
    out = []
    for key, names in users.items():
        price = catalog.api_prices.get(key)
        r = price.retirement if price is not None else None
        month = horizon_month(scenario.as_of, r.retires) if r is not None else 0
        if r is None or month > scenario.horizon_months:
            continue
        successor = f"{r.provider}/{r.successor}" if r.successor else None
        out.append(RetiringModel(tuple(names), f"{key[0]}/{key[1]}", r.retires, month, successor, r.source))
    return sorted(out, key=lambda m: (m.retires, m.used_by))


def _when(scenario: Scenario, m: RetiringModel) -> str:
    if m.month == 0:
        return f"retired on {m.retires.isoformat()}, before the scenario's date ({scenario.as_of.isoformat()})"
    return f"retires on {m.retires.isoformat()} (month {m.month} of {scenario.horizon_months})"


def _instead(m: RetiringModel) -> str:
    return f"the provider names {m.successor} instead" if m.successor else "the provider names no successor"


def retirement_note(scenario: Scenario, models: list[RetiringModel]) -> str:
    """The retiring models in one paragraph, each with its date, month, successor and source ('' when
    none), and how they are costed.

    Examples
    --------
    >>> from costmodel import load, paths
    >>> sc, cat = load(paths.scenarios_dir() / "support-chatbot.yaml")
    >>> print(retirement_note(sc, retiring_models(sc, cat))[:76])
    openai/gpt-4o-mini (api-gpt-4o-mini) retires on 2027-01-14 (month 2 of 36);
    """
    if not models:
        return ""
    items = "; ".join(
        f"{m.model} ({', '.join(m.used_by)}) {_when(scenario, m)}; {_instead(m)} ({m.source})" for m in models
    )
    return (
        f"{items}. Costed at the retiring model's own price for the whole horizon: the successor's price "
        "and the cost of moving to it are not in these figures; evaluate an option on the successor to compare."
    )


def _depends(scenario: Scenario, name: str) -> set[str]:
    """The option and every option (or classifier) it sends traffic to, through routers and hybrids."""
    option = scenario.option(name)
    out = {name}
    if isinstance(option, RouterOption):
        out.add(f"{name} classifier")
        for member in option.members:
            out |= _depends(scenario, member)
    elif isinstance(option, HybridOption):
        out.add(option.overflow)
    return out


def retirement_reasons(scenario: Scenario, models: list[RetiringModel], recommended: str | None) -> list[str]:
    """What the recommendation adds, a sentence per model, when the recommended option depends on
    retiring models (none when it does not): the option itself, or a router or hybrid member it
    sends traffic to."""
    if recommended is None or not models:
        return []
    depends = _depends(scenario, recommended)
    return [
        f"Mind: {m.model} {_when(scenario, m)}; {_instead(m)}; costed at its own price throughout."
        for m in models
        if depends.intersection(m.used_by)
    ]
