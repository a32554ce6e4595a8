"""Goal-seek: at what value of one input does the recommendation change, and to what?

The question a build-vs-buy debate turns on ("at what volume does owning win?"). One input
(a :class:`costmodel.sensitivity.Factor`: a scenario path or a price multiplier) is swept over a
wide range on a grid, the recommendation evaluated at each point; from the base value outwards,
the first grid point with another recommendation brackets the change, and bisection finds it
(:func:`costmodel.core.roots.bracket`). Both directions are searched, so the answer says where
the decision changes below and above today's value. The grid's NPVs are kept for the chart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from costmodel.core.roots import bracket
from costmodel.engine import EngineError, evaluate
from costmodel.io.files import InputError
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import OwnedOption, RentedOption, Scenario
from costmodel.sensitivity import Factor, apply, classifier_factors, quality_factors, volume_factor
from costmodel.text import count, percent, usd, usd_rate
from costmodel.whatif import gpu_price, gpu_price_field

__all__ = ["Flip", "GoalSeek", "decision", "factor_value", "goal_seek", "goal_seek_factors", "sentence"]

VOLUME_SPAN = 100.0  # volume and tokens are sought from base / SPAN to base x SPAN (log axis)
TOKEN_SPAN = 8.0


@dataclass(frozen=True)
class Flip:
    """Where the recommendation changes: moving the input from its base past ``at`` makes
    ``to`` (None: no option is eligible) the recommendation instead of ``from_``."""

    at: float
    from_: str | None
    to: str | None


@dataclass(frozen=True)
class GoalSeek:
    """The answer for one input: the flips nearest its base below and above (None: none in the
    range searched), and the grid (``value``, ``recommended``, one ``npv_cost <option>`` column per
    option, NaN where the inputs do not evaluate) for the chart."""

    factor: Factor
    log: bool
    recommended: str | None
    below: Flip | None
    above: Flip | None
    grid: pd.DataFrame


def decision(ev) -> str | None:
    """What is recommended, in words: the option, and a router's routes (a router that starts
    sending a class to an owned fleet is a changed decision though it stays recommended)."""
    best = ev.recommendation.option
    if best is None:
        return None
    routing = ev.option(best).routing
    if routing is None or routing.single:
        return best
    return f"{best} (" + ", ".join(f"{c} -> {m}" for c, m in routing.routes.items()) + ")"


def goal_seek_factors(scenario: Scenario, catalog: Catalog) -> list[Factor]:
    """The inputs a strategist goal-seeks, each over a wide range around its value: volume and
    tokens over two decades and a factor of eight each way, growth from -5 % to +20 % a month,
    API, GPU and electricity prices from a tenth to five times, the discount rate 0-30 %, every
    stated or measured accuracy over 0-1, each fleet's rental rate or GPU purchase price from a tenth
    to five times, and each router's classifier accuracy."""
    wl = scenario.workload
    f = [
        volume_factor(scenario, 1 / VOLUME_SPAN, VOLUME_SPAN),
        Factor("Monthly growth", "workload.monthly_growth", wl.monthly_growth, -0.05, 0.2, "fraction"),
        Factor(
            "Input tokens per request",
            "workload.input_tokens_per_request",
            wl.input_tokens_per_request,
            max(1.0, wl.input_tokens_per_request / TOKEN_SPAN),
            wl.input_tokens_per_request * TOKEN_SPAN,
            "tokens",
        ),
        Factor(
            "Output tokens per request",
            "workload.output_tokens_per_request",
            wl.output_tokens_per_request,
            max(1.0, wl.output_tokens_per_request / TOKEN_SPAN),
            wl.output_tokens_per_request * TOKEN_SPAN,
            "tokens",
        ),
        Factor("GPU prices (multiplier)", "gpu_price", 1.0, 0.1, 5.0, "x"),
        Factor("API prices (multiplier)", "api_price", 1.0, 0.1, 5.0, "x"),
        Factor("Discount rate", "discount_rate", scenario.discount_rate, 0.0, 0.3, "fraction/year"),
    ]
    if any(isinstance(o, OwnedOption) for o in scenario.options):
        f.append(Factor("Electricity price (multiplier)", "power_price", 1.0, 0.1, 5.0, "x"))
    for o in scenario.options:  # each fleet's own GPU price: a rental rate or a purchase price
        if isinstance(o, RentedOption | OwnedOption) and (price := gpu_price(o, catalog)):
            what, unit = (
                ("rental rate", "USD/GPU-hour") if isinstance(o, RentedOption) else ("GPU purchase price", "USD/GPU")
            )
            path = f"options.{o.name}.{gpu_price_field(o)}"
            f.append(Factor(f"{o.name} {what}", path, price, price / 10, price * 5, unit))
    # a stated accuracy over the whole 0-1 range; a measured one keeps its interval
    f += [q if ".quality_measured." in q.path else replace(q, low=0.0, high=1.0) for q in quality_factors(scenario)]
    f += classifier_factors(scenario)
    return f


def _on_log_axis(factor: Factor) -> bool:
    return (factor.unit in ("requests", "tokens", "x") or factor.unit.startswith("USD")) and factor.low > 0


def _evaluate(scenario: Scenario, catalog: Catalog, factor: Factor, x: float):
    try:
        return evaluate(*apply(scenario, catalog, factor, x), classifier_needs=False)
    except (EngineError, InputError, ValueError):  # e.g. a prompt past the model's context
        return None


def goal_seek(scenario: Scenario, catalog: Catalog, factor: Factor, points: int = 13) -> GoalSeek:
    """Sweep ``factor`` over its range (``points`` grid values each side of the base) and find the
    nearest value below and above the base at which the recommendation changes.

    Examples
    --------
    >>> from costmodel import load, paths
    >>> sc, cat = load(paths.scenarios_dir() / "fintech-rag.yaml")
    >>> volume = goal_seek_factors(sc, cat)[0]
    >>> g = goal_seek(sc, cat, volume, points=4)
    >>> g.recommended
    'router (routine -> api-gpt-4o-mini, complex -> api-llama-70b)'
    >>> g.above.to, g.above.at > sc.workload.requests_per_month
    ('router (routine -> own-l40s, complex -> hybrid-l40s-bedrock)', True)
    """
    log = _on_log_axis(factor)
    space = np.geomspace if log else np.linspace
    below = list(space(factor.base, factor.low, points + 1)[1:]) if factor.low < factor.base else []
    above = list(space(factor.base, factor.high, points + 1)[1:]) if factor.high > factor.base else []
    base = evaluate(*apply(scenario, catalog, factor, factor.base), classifier_needs=False)
    best = decision(base)
    rows = {factor.base: base}
    flips: dict[str, Flip | None] = {}
    for side, xs in (("below", below), ("above", above)):
        flips[side], last = None, factor.base
        for x in xs:
            ev = _evaluate(scenario, catalog, factor, x)
            rows[x] = ev
            if ev is None:
                break  # past here the inputs do not evaluate: the search stops
            if decision(ev) != best:
                flips[side] = _refine(scenario, catalog, factor, best, last, x, log)
                break
            last = x
    grid = pd.DataFrame(
        [
            {
                "value": x,
                "recommended": None if ev is None else decision(ev),
                **{f"npv_cost {o.name}": (np.nan if ev is None else -ev.option(o.name).npv_usd) for o in base.options},
            }
            for x, ev in sorted(rows.items())
        ]
    )
    return GoalSeek(factor, log, best, flips["below"], flips["above"], grid)


def _refine(scenario, catalog, factor: Factor, best, same: float, other: float, log: bool) -> Flip:
    """Bisect between ``same`` (the base's recommendation) and ``other`` (another one)."""

    seen: dict[float, tuple[bool, str | None]] = {}  # each value tried: (evaluates, decision)

    def changed(x: float) -> bool:
        if x not in seen:
            ev = _evaluate(scenario, catalog, factor, x)
            seen[x] = (ev is not None, None if ev is None else decision(ev))
        evaluates, decided = seen[x]
        return not evaluates or decided != best

    _, at = bracket(changed, same, other, log=log and same > 0 and other > 0, steps=20, rel_tol=1e-4)
    changed(at)  # the first value found with another recommendation: tried already unless it is ``other``
    return Flip(at, best, seen[at][1])


def factor_value(factor: Factor, x: float) -> str:
    """A value of ``factor`` for a reader: requests and tokens counted, fractions as percents,
    multipliers as ``x0.85``."""
    if factor.unit in ("requests", "tokens"):
        return f"{count(x)} {factor.unit}"
    if factor.unit.startswith("fraction"):
        return percent(x, 1)
    if factor.unit == "x":
        return f"x{x:.3g}"
    if factor.unit.startswith("USD"):
        return f"{usd_rate(x, 2) if x < 100 else usd(x)}/{factor.unit.removeprefix('USD/')}"
    return f"{x:,.6g}"


def sentence(g: GoalSeek) -> str:
    """The answer in words: what is recommended now, and where moving the input changes it."""
    f = g.factor
    name = f.name[0].lower() + f.name[1:] if f.name[:1].isupper() and not f.name[1:2].isupper() else f.name
    now = f"At {factor_value(f, f.base)} ({name}), {g.recommended or 'no option'} is recommended."
    parts = []
    for flip, way, end in ((g.above, "rises past", f.high), (g.below, "falls below", f.low)):
        if flip is not None:
            parts.append(
                f"It becomes {flip.to or 'no option (none eligible)'} when it {way} {factor_value(f, flip.at)}."
            )
        elif end != f.base:
            bound = "up to" if way == "rises past" else "down to"
            parts.append(f"It does not change {bound} {factor_value(f, end)}.")
    return " ".join([now, *parts])
