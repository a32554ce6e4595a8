"""One-at-a-time sensitivity of the decision to its inputs (the data behind a tornado chart).

The decision metric is the NPV gap between the best build option (owned or rented GPUs)
and the best buy option (an API), or the two best options when one side is missing:
``NPV(base-case winner) - NPV(other)``, USD, positive while the winner stays ahead. Each factor is
moved to its low and high value with everything else at base; where the metric changes
sign, the break-even value of that factor is found by bisection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from costmodel.core.roots import bracket
from costmodel.engine import EngineError, evaluate
from costmodel.engine.classifier import max_scale, scaled
from costmodel.engine.router import classifier_accuracy, confusion
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import OwnedOption, RentedOption, RouterOption, Scenario, with_values
from costmodel.whatif import scale_prices

PRICE_FACTORS = {"api_price": "api", "gpu_price": "gpu", "power_price": "power"}


@dataclass(frozen=True)
class Factor:
    """An input to vary: a scenario path or a price multiplier, with its range."""

    name: str
    path: str  # scenario dotted path, or api_price / gpu_price / power_price (multipliers)
    base: float
    low: float
    high: float
    unit: str


def uncertain_factors(scenario: Scenario, catalog: Catalog) -> list[Factor]:
    """The scenario's uncertain inputs, each from its distribution's low to its high value.

    Low/high are a uniform or triangular distribution's ends and a normal or lognormal
    one's bounds, or its P10/P90 where it has none; the base is the scenario's own value
    (the catalog's price where the scenario sets none).
    """
    from costmodel.uncertainty import point_value

    factors = []
    for path, dist in scenario.uncertainty.items():
        low, high = dist.low_high()
        factors.append(Factor(path, path, point_value(scenario, catalog, path), low, high, ""))
    return factors


def volume_factor(scenario: Scenario, low: float, high: float) -> Factor:
    """Requests per month, from ``low`` to ``high`` times the scenario's."""
    v = scenario.workload.requests_per_month
    return Factor("Requests per month", "workload.requests_per_month", v, v * low, v * high, "requests")


def default_factors(scenario: Scenario, catalog: Catalog) -> list[Factor]:
    """The inputs a build-vs-buy decision usually hinges on, with ranges stated as assumptions
    (decode MBU: from the engine's fitted value down to 65 % of it, the engine reaching less of
    the roofline than the published runs it was fitted on)."""
    wl = scenario.workload
    f = [
        volume_factor(scenario, 0.5, 2.0),
        Factor(
            "Monthly growth",
            "workload.monthly_growth",
            wl.monthly_growth,
            max(-0.5, wl.monthly_growth - 0.03),
            wl.monthly_growth + 0.03,
            "fraction",
        ),
        Factor("API prices (multiplier)", "api_price", 1.0, 0.5, 1.5, "x"),
        Factor("GPU prices (multiplier)", "gpu_price", 1.0, 0.7, 1.3, "x"),
        Factor(
            "Discount rate",
            "discount_rate",
            scenario.discount_rate,
            max(0.0, scenario.discount_rate - 0.05),
            scenario.discount_rate + 0.05,
            "fraction/year",
        ),
        Factor(
            "Output tokens per request",
            "workload.output_tokens_per_request",
            wl.output_tokens_per_request,
            max(1.0, wl.output_tokens_per_request * 0.5),
            wl.output_tokens_per_request * 1.5,
            "tokens",
        ),
    ]
    if any(isinstance(o, OwnedOption) for o in scenario.options):
        f.append(Factor("Electricity price (multiplier)", "power_price", 1.0, 0.5, 2.0, "x"))
    if scenario.serving is not None and any(
        isinstance(o, RentedOption | OwnedOption) and o.measured is None for o in scenario.options
    ):
        mbu = scenario.serving.efficiency.mbu or catalog.engines[scenario.serving.engine].default_for("mbu")
        f.append(Factor("Decode MBU", "serving.efficiency.mbu", mbu, 0.65 * mbu, mbu, "fraction"))
    return f


def classifier_factors(scenario: Scenario) -> list[Factor]:
    """Each router's classifier accuracy (its errors scaled along their stated pattern:
    :mod:`costmodel.engine.classifier`), from where the right class stops being its likeliest
    answer up to a perfect classifier."""
    factors = []
    for o in scenario.options:
        if not isinstance(o, RouterOption) or o.classifier is None or o.classifier.kind == "labelled":
            continue
        if len(scenario.workload.classes) < 2:
            continue
        matrix = confusion(o, scenario)
        now = classifier_accuracy(matrix, scenario)
        floor = 1.0 - max(max_scale(matrix), 1.0 if now < 1 else 0.0) * (
            1.0 - classifier_accuracy(scaled(matrix, 1.0), scenario)
        )
        factors.append(Factor(f"{o.name} classifier accuracy", f"{CLASSIFIER}{o.name}", now, floor, 1.0, "fraction"))
    return factors


CLASSIFIER = "classifier:"  # a factor path naming a router whose classifier accuracy moves
STATED_QUALITY_SPREAD = 0.10  # a stated accuracy moves this far each way (it has no interval of its own)


def quality_factors(scenario: Scenario) -> list[Factor]:
    """Each stated accuracy of what serves, per request class, moved ``STATED_QUALITY_SPREAD`` each
    way (an assumption of this analysis, within 0-1); a measured one between its 95 % interval's
    ends. Quality moves the decision through eligibility, not NPVs: a model that clears a class's
    bar can take its traffic."""
    factors = []
    for key, (where, q) in scenario._quality_declarations().items():
        prefix = "serving" if where == "serving" else f"options.{where.removeprefix('options[').rstrip(']')}"
        if q.quality_measured is not None:
            for cls, row in q.quality_measured.classes.items():
                path = f"{prefix}.quality_measured.classes.{cls}.accuracy"
                factors.append(
                    Factor(
                        f"accuracy of {key} on {cls} (measured)",
                        path,
                        row.accuracy,
                        row.ci_low,
                        row.ci_high,
                        "fraction",
                    )
                )
            continue
        stated = q.quality if isinstance(q.quality, dict) else ({"all": q.quality} if q.quality is not None else {})
        for cls, value in stated.items():
            path = f"{prefix}.quality.{cls}" if isinstance(q.quality, dict) else f"{prefix}.quality"
            low, high = max(0.0, value - STATED_QUALITY_SPREAD), min(1.0, value + STATED_QUALITY_SPREAD)
            factors.append(Factor(f"accuracy of {key} on {cls} (stated)", path, value, low, high, "fraction"))
    return factors


def capacity_factors(scenario: Scenario, catalog: Catalog) -> list[Factor]:
    """Each modelled capacity per replica over the range its Monte Carlo draws span (the held-out
    published/modelled ratios of its engine on its GPU, or the uncalibrated prior)."""
    from costmodel.uncertainty import capacity_draws

    factors = []
    for d in capacity_draws(scenario, catalog):
        low, high = d.low_high()
        factors.append(Factor(f"{d.option}: capacity per replica", d.path, d.base, low, high, "x"))
    return factors


def apply(scenario: Scenario, catalog: Catalog, factor: Factor, value: float) -> tuple[Scenario, Catalog]:
    if factor.path in PRICE_FACTORS:
        return scale_prices(scenario, catalog, **{PRICE_FACTORS[factor.path]: value})
    if factor.path.startswith(CLASSIFIER):
        name = factor.path.removeprefix(CLASSIFIER)
        router = scenario.option(name)
        assert isinstance(router, RouterOption)
        matrix = confusion(router, scenario)
        one = classifier_accuracy(scaled(matrix, 1.0), scenario)
        moved = scaled(matrix, (1.0 - value) / (1.0 - one))
        where = f"options.{name}.classifier"
        return with_values(
            scenario,
            {f"{where}.confusion": moved, f"{where}.classifier_run": None, f"{where}.confusion_measured": None},
        ), catalog
    return with_values(scenario, {factor.path: value}), catalog


def decision_pair(ev) -> tuple[str, str] | None:
    """The two options the decision is between: the best build (owned or rented) and the best
    buy (API) when both are eligible, else the best two; the base case's winner first."""
    ranked = sorted((o for o in ev.options if o.eligible), key=lambda o: -o.npv_usd)
    build = [o for o in ranked if o.kind in ("owned", "rented")]
    buy = [o for o in ranked if o.kind == "api"]
    pair = (build[0], buy[0]) if build and buy else tuple(ranked[:2])
    if len(pair) < 2:
        return None
    a, b = sorted(pair, key=lambda o: -o.npv_usd)
    return a.name, b.name


def _gap(scenario: Scenario, catalog: Catalog, a: str, b: str) -> tuple[float, str | None]:
    """NPV(a) - NPV(b) and the recommended option (None: none) at these inputs."""
    ev = evaluate(scenario, catalog, classifier_needs=False)
    return ev.option(a).npv_usd - ev.option(b).npv_usd, ev.recommendation.option


def _recommended(scenario: Scenario, catalog: Catalog) -> str | None:
    return evaluate(scenario, catalog, classifier_needs=False).recommendation.option


def one_at_a_time(
    scenario: Scenario, catalog: Catalog, factors: list[Factor] | None = None, options: tuple[str, str] | None = None
) -> pd.DataFrame:
    """Tornado data: one row per factor, sorted by swing (largest first).

    Columns: ``factor``, ``unit``, ``base``, ``low``, ``high``, ``metric_low``, ``metric_high``
    (NPV of ``options[0]`` minus NPV of ``options[1]``, USD), ``swing``, ``winner_low``,
    ``winner_high``, ``break_even`` (factor value where the metric crosses zero, if inside
    the range). ``options`` defaults to :func:`decision_pair` (best build vs best buy).
    ``factors`` defaults to the scenario's uncertain inputs, or to :func:`default_factors`
    (ranges stated as assumptions) when it has none, and in either case each modelled capacity
    per replica (:func:`capacity_factors`), every stated or measured accuracy
    (:func:`quality_factors`) and each router's classifier accuracy (:func:`classifier_factors`).
    """
    if factors is None:
        factors = uncertain_factors(scenario, catalog) if scenario.uncertainty else default_factors(scenario, catalog)
        factors += capacity_factors(scenario, catalog) + quality_factors(scenario) + classifier_factors(scenario)
    base = evaluate(scenario, catalog)
    base_best = base.recommendation.option
    if options is None:
        options = decision_pair(base)
        if options is None:
            return pd.DataFrame()
    a, b = options
    base_gap = base.option(a).npv_usd - base.option(b).npv_usd
    rows = []
    for f in factors:
        try:
            lo_gap, lo_win = _gap(*apply(scenario, catalog, f, f.low), a, b)
            hi_gap, hi_win = _gap(*apply(scenario, catalog, f, f.high), a, b)
        except (EngineError, ValueError):
            continue  # e.g. a volume at which a model no longer fits: not a sensitivity
        crossing = None
        for (x0, g0), (x1, g1) in (((f.low, lo_gap), (f.base, base_gap)), ((f.base, base_gap), (f.high, hi_gap))):
            if np.sign(g0) != np.sign(g1) and g0 != 0:
                crossing = _bisect(scenario, catalog, f, a, b, x0, g0, x1)
                break
        flips_at, flips_to = None, None
        need = base.option(f.path.removeprefix(CLASSIFIER)).classifier if f.path.startswith(CLASSIFIER) else None
        if need is not None:  # the evaluation found it already (costmodel.engine.classifier)
            if need.threshold is not None and need.winner == base_best:
                flips_at, flips_to = need.threshold, need.other
        else:
            for end, winner in ((f.low, lo_win), (f.high, hi_win)):
                if winner != base_best and end != f.base:  # the recommendation changes inside this half
                    flips_at, flips_to = _flip(scenario, catalog, f, base_best, end)
                    break
        rows.append(
            {
                "factor": f.name,
                "unit": f.unit,
                "base": f.base,
                "low": f.low,
                "high": f.high,
                "metric_low": lo_gap,
                "metric_high": hi_gap,
                "swing": abs(hi_gap - lo_gap),
                "winner_low": lo_win,
                "winner_high": hi_win,
                "break_even": crossing,
                "flips_at": flips_at,
                "flips_to": flips_to,
            }
        )
    df = pd.DataFrame(rows)
    if not df.empty:
        df = df.sort_values("swing", ascending=False, ignore_index=True)
    df.attrs.update({"options": options, "base_metric": base_gap, "recommended": base_best})
    return df


def _flip(scenario, catalog, f: Factor, best: str | None, end: float, steps: int = 14) -> tuple[float, str | None]:
    """Where moving ``f`` from its base towards ``end`` first changes the recommended option, and
    to what."""

    def changed(x: float) -> bool:
        return _recommended(*apply(scenario, catalog, f, x)) != best

    _, first = bracket(changed, f.base, end, steps=steps, rel_tol=1e-4)
    return first, _recommended(*apply(scenario, catalog, f, first))


def _bisect(scenario, catalog, f, a, b, x0, g0, x1, steps: int = 24) -> float:
    """Where the gap between ``a`` and ``b`` changes sign between ``x0`` (gap ``g0``) and ``x1``."""

    def flipped(x: float) -> bool:
        return bool(np.sign(_gap(*apply(scenario, catalog, f, x), a, b)[0]) != np.sign(g0))

    lo, hi = bracket(flipped, x0, x1, steps=steps)
    return 0.5 * (lo + hi)


def flip_sentences(tornado: pd.DataFrame) -> list[str]:
    """Plain words for every factor that changes the recommendation inside its range:
    "the recommendation moves from router to api-x when <factor> goes below 0.62 (base 0.9)"."""
    if tornado.empty or "flips_at" not in tornado:
        return []
    best = tornado.attrs.get("recommended")
    sentences = []
    for _, row in tornado.dropna(subset=["flips_at"]).iterrows():
        side = "below" if row["flips_at"] < row["base"] else "above"
        sentences.append(
            f"the recommendation moves from {best or 'none'} to {row['flips_to'] or 'none'} when {row['factor']} "
            f"goes {side} {row['flips_at']:.4g} (base {row['base']:.4g}; range {row['low']:.4g} to {row['high']:.4g})"
        )
    return sentences


def break_even_sentences(tornado: pd.DataFrame, top: int = 3) -> list[str]:
    """Plain words for the factors whose break-even lies inside their range, largest swing first:
    "api-x stays cheaper than own-y while <factor> stays below 0.38 (base 0.25)"; then every factor
    that changes the recommendation (:func:`flip_sentences`)."""
    if tornado.empty:
        return []
    a, b = tornado.attrs["options"]
    sentences = flip_sentences(tornado)
    flipping = set(tornado.dropna(subset=["flips_at"])["factor"]) if "flips_at" in tornado else set()
    for _, row in tornado[~tornado["factor"].isin(flipping)].dropna(subset=["break_even"]).head(top).iterrows():
        # the base case has a ahead of b; which side of the break-even keeps it there?
        keeps_below = row["winner_low"] == a or (row["winner_high"] != a and row["base"] < row["break_even"])
        side = "below" if keeps_below else "above"
        sentences.append(
            f"{a} stays cheaper than {b} while {row['factor']} stays {side} "
            f"{row['break_even']:.4g} (base {row['base']:.4g}; range {row['low']:.4g} to {row['high']:.4g})"
        )
    return sentences
