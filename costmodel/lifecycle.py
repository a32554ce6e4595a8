"""API models that retire inside the horizon: which, when, what the provider names instead, and
how the evaluation costs the move.

Every API model a scenario uses (an API option's, a router classifier's) whose provider has
published a shutdown date before the horizon ends is listed with the month of the horizon it
retires in, its successor and the source (``retirements`` in ``data/catalog/api_prices.yaml``).
Every face says so, and the recommendation says it when the recommended option depends on such a
model (itself, or a router or hybrid that sends it traffic).

The costing itself is in :mod:`costmodel.engine.api`: from the month the model retires, the
option (and any router or fleet sending it traffic) is billed at the successor's catalog price,
plus the scenario's one-off ``migration`` cost ($0 when the scenario states none, said here). A
model whose provider names no successor, or whose successor has no price, stays billed at its
own price (said so); a router's api classifier moves with its model, without a migration line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from costmodel.engine.api import Successor, horizon_month, successor
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, HybridOption, RouterOption, Scenario
from costmodel.text import usd, usd_rate

__all__ = ["RetiringModel", "retirement_note", "retirement_reasons", "retiring_models"]


@dataclass(frozen=True)
class RetiringModel:
    """An API model the scenario uses that its provider shuts down before the horizon ends."""

    used_by: tuple[str, ...]  # the options (or "<router> classifier") that call it
    model: str  # "openai/gpt-4o-mini"
    retires: date
    month: int  # month of the horizon it retires in (1 = the first); 0: before the scenario's date
    successor: str | None  # "openai/gpt-6-luna", None when the provider names none
    source: str
    moved: Successor | None  # what the engine bills from the shutdown (None: no priced successor)
    migrations: tuple[
        tuple[str, float, str], ...
    ]  # (option, USD, source) per API option calling it; "" source: unstated


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
        if price is None or r is None or (month := horizon_month(scenario.as_of, r.retires)) > scenario.horizon_months:
            continue
        named = f"{r.provider}/{r.successor}" if r.successor else None
        moved = successor(price, scenario, catalog.api_prices)  # as the engine bills it
        moves = tuple(
            (o.name, o.migration.usd if o.migration else 0.0, o.migration.source if o.migration else "")
            for o in scenario.options
            if isinstance(o, ApiOption) and o.name in names
        )
        out.append(RetiringModel(tuple(names), f"{key[0]}/{key[1]}", r.retires, month, named, r.source, moved, moves))
    return sorted(out, key=lambda m: (m.retires, m.used_by))


def _when(scenario: Scenario, m: RetiringModel) -> str:
    if m.month == 0:
        return f"retired on {m.retires.isoformat()}, before the scenario's date ({scenario.as_of.isoformat()})"
    return f"retires on {m.retires.isoformat()} (month {m.month} of {scenario.horizon_months})"


def _instead(m: RetiringModel) -> str:
    return f"the provider names {m.successor} instead" if m.successor else "the provider names no successor"


def _costed(m: RetiringModel) -> str:
    """How the evaluation bills the move, in words."""
    if m.moved is None:
        what = "no successor named" if m.successor is None else f"no catalog price for {m.successor}"
        return f"billed at its own price throughout ({what}: state a replacement option)"
    p, start = m.moved.price, m.moved.month
    said = (
        f"billed from month {start} at {m.successor}'s price ({usd_rate(float(p.input))} in, "
        f"{usd_rate(float(p.cached_input))} cached in, {usd_rate(float(p.output))} out per 1M tokens; "
        f"{p.input.source}, {p.input.as_of})"
    )
    for option, cost, source in m.migrations:
        said += (
            f", plus {option}'s migration of {usd(cost)} in month {start} ({source})"
            if source
            else f", plus no migration cost for {option} ($0: none stated; set options.{option}.migration)"
        )
    classifiers = [u for u in m.used_by if u.endswith(" classifier")]
    if classifiers:
        said += f"; {', '.join(classifiers)} moves with it (no migration line of its own)"
    return said + f"; accuracy and latency stay as stated for {m.model}: measure {m.successor} to confirm them"


def retirement_note(scenario: Scenario, models: list[RetiringModel]) -> str:
    """The retiring models in one paragraph, each with its date, month, successor, source and how it
    is costed ('' when none).

    Examples
    --------
    >>> from costmodel import load, paths
    >>> sc, cat = load(paths.scenarios_dir() / "support-chatbot.yaml")
    >>> print(retirement_note(sc, retiring_models(sc, cat))[:76])
    openai/gpt-4o-mini (api-gpt-4o-mini) retires on 2027-01-14 (month 2 of 36);
    """
    return "; ".join(
        f"{m.model} ({', '.join(m.used_by)}) {_when(scenario, m)}; {_instead(m)} ({m.source}); {_costed(m)}"
        for m in models
    ) + ("." if models else "")


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
        f"Mind: {m.model} {_when(scenario, m)}; {_instead(m)}; {_costed(m)}."
        for m in models
        if depends.intersection(m.used_by)
    ]
