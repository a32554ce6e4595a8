"""How a router is costed, and which routes it takes.

A router sends each request class to one of its members (API, rented, owned or hybrid
options). For an assignment of classes to members, each member used is costed as its option
would be, on its classes' share of the requests: an API bills those requests, a self-hosted
fleet is sized for their peak, a hybrid's local fleet keeps the classes its model is good
enough for. The extra cost lines of the members used count once each (one vector database
however many members use it); lines paid per request or per token scale with the traffic of
the members that carry them. The router's own extra costs come on top.

Every assignment is costed (:func:`choose_routes`): the router takes the one with the highest
NPV (lowest cost) among those that meet every class's quality and are not known to miss the
SLO; the table of all of them, with the traffic-weighted accuracy and the Pareto front of cost
against quality, is the **cost-quality frontier**. The routes are chosen on the point
estimate and kept in Monte Carlo draws, as fleet layouts are.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from costmodel.core.tables import CostTerms
from costmodel.engine.demand import Demand
from costmodel.engine.eligibility import quality_verdict, routed_scores, weighted_quality
from costmodel.engine.extras import extra_items
from costmodel.engine.hybrid import slo_and
from costmodel.engine.results import RouterChoice, member_shares
from costmodel.model.scenario import ExtraCost, Option, RouterOption, Scenario
from costmodel.text import percent

MemberCost = Callable[[Option, float, tuple[str, ...]], tuple[dict[str, Any], Any]]
"""(member, its share of requests, the classes sent to it) -> (line items with ``total`` and, for a
fleet, ``gpus``; whether it meets the SLO)."""


def routes_label(routes: Mapping[str, str], scenario: Scenario) -> str:
    """``routine (80 %) -> api-a, complex (20 %) -> api-b``; one member: ``all -> api-a``."""
    if len(set(routes.values())) == 1:
        return f"all -> {next(iter(routes.values()))}"
    return ", ".join(f"{c.name} ({percent(c.share)}) -> {routes[c.name]}" for c in scenario.workload.classes)


def routes_sentence(name: str, choice: RouterChoice, scenario: Scenario) -> str:
    """One sentence on a router's choice: its routes, why, and the frontier it came from."""
    f = choice.frontier
    chosen = f[f["chosen"]].iloc[0]
    quality = (
        "" if chosen["quality"] != chosen["quality"] else f", traffic-weighted accuracy {percent(chosen['quality'])}"
    )
    return (
        f"{name} routes {routes_label(choice.routes, scenario)}{quality}: {choice.note} "
        f"({len(f)} assignments costed, {int(f['pareto'].sum())} on the cost-quality frontier)."
    )


def all_routes(router: RouterOption, scenario: Scenario) -> list[dict[str, str]]:
    """Every assignment of the classes the router chooses for (fixed ``routes`` kept)."""
    free = [c.name for c in scenario.workload.classes if c.name not in router.routes]
    return [
        {**router.routes, **dict(zip(free, pick, strict=True))}
        for pick in itertools.product(router.members, repeat=len(free))
    ]


def _extra_lines(
    router: RouterOption, routes: Mapping[str, str], scenario: Scenario
) -> dict[str, tuple[ExtraCost, float]]:
    """The extra cost lines a router pays under ``routes``: each used member's once, with the share
    of requests of the members carrying it, then the router's own (on all requests)."""
    lines: dict[str, tuple[ExtraCost, float]] = {}
    for member, share in member_shares(routes, scenario).items():
        for e in scenario.option(member).extra_costs:
            lines[e.name] = (e, lines.get(e.name, (e, 0.0))[1] + share)
    for e in router.extra_costs:
        lines[e.name] = (e, 1.0)
    return lines


def router_items(
    router: RouterOption,
    routes: Mapping[str, str],
    scenario: Scenario,
    demand: Demand,
    member_cost: MemberCost,
) -> tuple[dict[str, Any], Any]:
    """Monthly line items of a router under ``routes`` and whether it meets the SLO (every member
    used must). Items: ``via <member>`` (each member's serving cost), ``gpus`` (the fleets'),
    the extra cost lines, ``response_cache``, ``total``."""
    items: dict[str, Any] = {}
    met: Any = True
    gpus = None
    for member, share in member_shares(routes, scenario).items():
        classes = tuple(c for c, m in routes.items() if m == member)
        part, part_met = member_cost(scenario.option(member), share, classes)
        items[f"via {member}"] = part["total"]
        if "gpus" in part:
            gpus = part["gpus"] if gpus is None else gpus + part["gpus"]
        met = slo_and(met, part_met)
    months = demand.mean_rps.shape[-1]
    items["gpus"] = np.zeros(months) if gpus is None else gpus
    extras = extra_items(router, scenario, demand, _extra_lines(router, routes, scenario))
    items.update(extras)
    parts = [v for k, v in items.items() if k != "gpus"]
    items["total"] = functools.reduce(
        CostTerms.__add__, (p if isinstance(p, CostTerms) else CostTerms(((1.0, p),)) for p in parts)
    )
    return items, met


def choose_routes(
    router: RouterOption,
    scenario: Scenario,
    demand: Demand,
    member_cost: MemberCost,
    discount_factors: np.ndarray,
) -> RouterChoice:
    """Cost every assignment and take the cheapest that meets every class's quality and is not known
    to miss the SLO (ties: fewer members, then the members' order).

    The frontier has one row per assignment: ``routes`` (in words), one column per class (its
    member), ``npv_usd`` (numpy-financial sign: costs negative), ``total_cost_usd``, ``quality``
    (traffic-weighted accuracy; NaN if a class's is unknown), ``quality_met`` (True, False or None:
    unknown), ``slo_met`` (likewise), ``eligible``, ``pareto`` (no other assignment is at least as
    cheap and at least as good, and better in one), ``chosen``.
    """
    cache: dict[tuple[str, tuple[str, ...]], tuple[dict[str, Any], Any]] = {}

    def cached(member: Option, share: float, classes: tuple[str, ...]):
        key = (member.name, classes)
        if key not in cache:
            cache[key] = member_cost(member, share, classes)
        return cache[key]

    order = {m: i for i, m in enumerate(router.members)}
    rows = []
    for routes in all_routes(router, scenario):
        items, met = router_items(router, routes, scenario, demand, cached)
        sums = np.asarray(items["total"].reduce(np.stack([np.ones(discount_factors.size), discount_factors], axis=1)))
        scores = routed_scores(routes, scenario)  # once for the verdict and the weighted accuracy
        status = quality_verdict(scores, scenario)
        slo_met = None if met is None else bool(np.all(met))
        rows.append(
            {
                "routes": routes_label(routes, scenario),
                **{f"class {c}": m for c, m in routes.items()},
                "npv_usd": -float(sums.reshape(-1, 2)[0, 1]),
                "total_cost_usd": float(sums.reshape(-1, 2)[0, 0]),
                "quality": weighted_quality(scores, scenario),
                "quality_met": status.met,
                "slo_met": slo_met,
                "eligible": status.met is not False and slo_met is not False,
                "_members": len(set(routes.values())),
                "_order": tuple(order[routes[c.name]] for c in scenario.workload.classes),
                "_routes": routes,
            }
        )
    df = pd.DataFrame(rows)
    df["quality"] = df["quality"].astype(float)
    df["pareto"] = _pareto(df["npv_usd"].to_numpy(), df["quality"].to_numpy())
    known = df[df["eligible"] & (df["quality_met"] == True)]  # noqa: E712 (None is not True)
    pool, note = known, "the cheapest assignment meeting every class's quality and not known to miss the SLO"
    if pool.empty:
        pool = df[df["eligible"]]
        note = "no assignment is known to meet every class's quality; the cheapest not known to miss it"
    if pool.empty:
        pool, note = df, "no assignment meets every class's quality and the SLO; the cheapest shown"
    best = pool.sort_values(["npv_usd", "_members", "_order"], ascending=[False, True, True], kind="stable").index[0]
    df["chosen"] = df.index == best
    chosen: dict[str, str] = df.at[best, "_routes"]
    frontier = df.drop(columns=["_members", "_order", "_routes"])
    return RouterChoice(dict(chosen), frontier, note)


def _pareto(npv: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Rows no other row dominates: at least as high an NPV (as cheap) and quality, higher in one.
    Rows of unknown quality (NaN) are not on the front.

    >>> _pareto(np.array([-1.0, -2.0, -3.0, -2.0]), np.array([0.5, 0.7, 0.6, 0.4])).tolist()
    [True, True, False, False]
    """
    known = ~np.isnan(quality)
    front = np.zeros(npv.size, bool)
    for i in np.flatnonzero(known):
        others = known & (npv >= npv[i]) & (quality >= quality[i]) & ((npv > npv[i]) | (quality > quality[i]))
        front[i] = not others.any()
    return front
