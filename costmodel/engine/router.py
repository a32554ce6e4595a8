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

**The classifier.** Routes send *predicted* classes; the classifier's confusion matrix (true class
-> predicted class -> share, :meth:`~costmodel.model.scenario.Classifier.matrix`) says how many of
each true class go where (:func:`member_mixes`). A member is costed on the true classes it
receives, at their token counts; a class's accuracy is the mix of the accuracies of the members
its requests land on (:func:`~costmodel.engine.eligibility.routed_scores`), so misrouting counts
against its bar. The classifier's own cost is the line ``classifier`` (:func:`classifier_items`);
the latency it adds comes off the TTFT objective the members must meet (:func:`router_view`).
:func:`classifier_threshold` finds the classifier accuracy below which the router stops being
recommended.

**Fixed lines.** A member's extra cost lines are paid once per provider the router uses
(``scope: provider``, the default: each integration, each contract) or once however many members
carry them (``scope: shared``: one vector database); lines paid per request or per token scale
with the traffic of the members that carry them (:func:`_extra_lines`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from costmodel.core.tables import CostTerms
from costmodel.engine import api
from costmodel.engine.demand import Demand
from costmodel.engine.eligibility import member_score, quality_verdict, routed_scores, weighted_quality
from costmodel.engine.extras import extra_items
from costmodel.engine.hybrid import slo_and
from costmodel.engine.results import RouterChoice
from costmodel.model.catalog import ApiPrice
from costmodel.model.scenario import ExtraCost, Option, RouterOption, Scenario
from costmodel.text import percent

Mix = Mapping[str, float]
"""True class -> share of all requests a member receives of it."""

MemberCost = Callable[[Option, Mix], tuple[dict[str, Any], Any]]
"""(member, the true classes it receives as shares of all requests) -> (line items with ``total``
and, for a fleet, ``gpus``; whether it meets the SLO)."""


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
    router = scenario.option(name)
    e = router.escalation if isinstance(router, RouterOption) else None
    checks = (
        f"; a check on {percent(choice.checked_share)} of answers re-asks {e.to} for "
        f"{percent(choice.escalated_share, 1)} of requests"
        if e is not None and choice.checked_share > 0
        else ""
    )
    return (
        f"{name} routes {routes_label(choice.routes, scenario)}{quality}{checks}: {choice.note} "
        f"({len(f)} assignments costed, {int(f['pareto'].sum())} on the cost-quality frontier)."
    )


def confusion(router: RouterOption, scenario: Scenario) -> dict[str, dict[str, float]]:
    """The router's confusion matrix over the workload's classes (no classifier: the identity)."""
    names = tuple(c.name for c in scenario.workload.classes)
    if router.classifier is None:
        return {t: {p: float(t == p) for p in names} for t in names}
    return router.classifier.matrix(names)


def classifier_accuracy(matrix: Mapping[str, Mapping[str, float]], scenario: Scenario) -> float:
    """Share of all requests the classifier labels right: the traffic-weighted diagonal."""
    return float(sum(c.share * matrix[c.name][c.name] for c in scenario.workload.classes))


def member_mixes(
    routes: Mapping[str, str], scenario: Scenario, matrix: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Per member used, the true classes it receives (share of all requests): each class's share
    split by what the classifier predicts, sent where the routes send the predicted class. Members
    in order of first appearance; a member nothing reaches is left out.

    >>> from costmodel.model.scenario import RequestClass, Workload
    >>> wl = Workload(requests_per_month=1, input_tokens_per_request=1, output_tokens_per_request=1,
    ...     slo={"ttft_p95_ms": 1, "tpot_p95_ms": 1},
    ...     request_classes=[RequestClass(name="a", share=0.8), RequestClass(name="b", share=0.2)])
    >>> class S: workload = wl
    >>> member_mixes({"a": "cheap", "b": "strong"}, S, {"a": {"a": 0.9, "b": 0.1}, "b": {"a": 0.25, "b": 0.75}})
    {'cheap': {'a': 0.72, 'b': 0.05}, 'strong': {'a': 0.08000000000000002, 'b': 0.15000000000000002}}
    """
    mixes: dict[str, dict[str, float]] = {}
    for predicted in scenario.workload.classes:
        member = routes[predicted.name]
        for true in scenario.workload.classes:
            share = true.share * matrix[true.name][predicted.name]
            if share > 0:
                mix = mixes.setdefault(member, {})
                mix[true.name] = mix.get(true.name, 0.0) + share
    return mixes


def router_view(router: RouterOption, scenario: Scenario, member: str | None = None) -> Scenario | None:
    """The scenario a member is held to: the TTFT objective less the latency the classifier adds
    and, for a member whose answers an escalation checks, the check's (None when they take the whole
    TTFT budget: the router misses the SLO)."""
    added = (router.classifier.added_ttft_ms or 0.0) if router.classifier is not None else 0.0
    e = router.escalation
    if e is not None and member is not None and member != e.to:
        added += e.added_ttft_ms
    if not added:
        return scenario
    slo = scenario.workload.slo
    if added >= slo.ttft_p95_ms:
        return None
    tighter = slo.model_copy(update={"ttft_p95_ms": slo.ttft_p95_ms - added})
    return scenario.model_copy(update={"workload": scenario.workload.model_copy(update={"slo": tighter})})


def escalated(
    router: RouterOption, scenario: Scenario, mixes: Mapping[str, Mix]
) -> tuple[dict[str, dict[str, float]], float]:
    """The mixes once an escalation re-asks flagged answers of its strong member, and the share of
    all requests checked. A member's answers on class ``t`` (accuracy ``a``) are flagged with
    ``a false_alarms + (1 - a) catches`` (unknown accuracy: the larger rate); those requests reach
    ``to`` as well, which bills them again."""
    out = {m: dict(mix) for m, mix in mixes.items()}
    e = router.escalation
    if e is None:
        return out, 0.0
    checked = 0.0
    extra: dict[str, float] = {}
    for member, mix in mixes.items():
        if member == e.to:
            continue
        checked += sum(mix.values())
        for cls, share in mix.items():
            score = member_score(member, cls, scenario)
            flagged = (
                max(e.catches, e.false_alarms)
                if score is None
                else score.accuracy * e.false_alarms + (1.0 - score.accuracy) * e.catches
            )
            extra[cls] = extra.get(cls, 0.0) + share * flagged
    if any(v > 0 for v in extra.values()):
        to = out.setdefault(e.to, {})
        for cls, share in extra.items():
            to[cls] = to.get(cls, 0.0) + share
    return out, checked


def classifier_usd_per_request(router: RouterOption, prices: Mapping[tuple[str, str], ApiPrice]) -> float:
    """What classifying one request costs today, USD: stated, or (an api classifier) its tokens at
    the catalog's price."""
    k = router.classifier
    if k is None or k.kind == "labelled":
        return 0.0
    if k.kind != "api":
        return float(k.usd_per_request or 0.0)
    assert k.api_provider and k.api_model and k.prompt_tokens is not None and k.answer_tokens is not None
    price = prices[(k.api_provider, k.api_model)]
    return (k.prompt_tokens * float(price.input) + k.answer_tokens * float(price.output)) / 1e6


def classifier_successor(
    router: RouterOption, scenario: Scenario, prices: Mapping[tuple[str, str], ApiPrice]
) -> api.Successor | None:
    """The model an api classifier moves to when its own retires inside the horizon (else None)."""
    k = router.classifier
    if k is None or k.kind != "api" or not k.api_provider or not k.api_model:
        return None
    return api.successor(prices[(k.api_provider, k.api_model)], scenario, prices)


def classifier_items(
    router: RouterOption, demand: Demand, prices: Mapping[tuple[str, str], ApiPrice], scenario: Scenario
) -> dict[str, CostTerms]:
    """The line ``classifier``: every request that reaches a model is classified (a response
    cache's hits are not); an api classifier's price follows the API price trend, and moves to the
    successor's price from the month its model retires (no migration line: the router's own)."""
    k = router.classifier
    if k is None or k.kind == "labelled":
        return {}
    rate = classifier_usd_per_request(router, prices)
    scale, requests = (1.0, demand.api_price_weighted_requests) if k.kind == "api" else demand.model_requests
    moved = classifier_successor(router, scenario, prices)
    if moved is None:
        bill = CostTerms(((rate * scale, requests),))
    else:
        assert k.prompt_tokens is not None and k.answer_tokens is not None  # an api classifier states both
        new = (k.prompt_tokens * float(moved.price.input) + k.answer_tokens * float(moved.price.output)) / 1e6
        bill = api.switched((rate, new), requests, moved)
    if k.usd_per_month:
        bill = bill + CostTerms(((k.usd_per_month, np.ones(demand.mean_rps.shape[-1])),))
    return {"classifier": bill}


def all_routes(router: RouterOption, scenario: Scenario) -> list[dict[str, str]]:
    """Every assignment of the classes the router chooses for (fixed ``routes`` kept)."""
    free = [c.name for c in scenario.workload.classes if c.name not in router.routes]
    return [
        {**router.routes, **dict(zip(free, pick, strict=True))}
        for pick in itertools.product(router.members, repeat=len(free))
    ]


def _extra_lines(
    router: RouterOption, mixes: Mapping[str, Mix], scenario: Scenario
) -> dict[str, tuple[ExtraCost, float]]:
    """The extra cost lines a router pays: each used member's once per provider (``scope:
    provider``) or once (``scope: shared``), with the share of requests of the members carrying
    it, then the router's own (on all requests). A line paid to more than one provider is named
    ``<line> (<provider>)``."""
    keyed: dict[tuple[str, str], tuple[ExtraCost, float]] = {}
    for member, mix in mixes.items():
        share = sum(mix.values())
        for e in scenario.option(member).extra_costs:
            key = (e.name, "" if e.scope == "shared" else scenario.provider_key(member))
            keyed[key] = (e, keyed.get(key, (e, 0.0))[1] + share)
    providers: dict[str, int] = {}
    for name, _provider in keyed:
        providers[name] = providers.get(name, 0) + 1
    lines = {(f"{name} ({provider})" if providers[name] > 1 else name): v for (name, provider), v in keyed.items()}
    for e in router.extra_costs:
        lines[e.name] = (e, 1.0)
    return lines


@dataclass(frozen=True)
class Routed:
    """Where a router's traffic goes under one assignment: each member's true classes as the routes
    and the classifier send them (``direct``), then with escalations (``mixes``), and the share of
    requests an escalation checks."""

    direct: dict[str, dict[str, float]]
    mixes: dict[str, dict[str, float]]
    checked: float

    @property
    def escalated_share(self) -> float:
        """Share of all requests asked again of the escalation's member."""
        return sum(sum(m.values()) for m in self.mixes.values()) - sum(sum(m.values()) for m in self.direct.values())


def routed(
    router: RouterOption,
    routes: Mapping[str, str],
    scenario: Scenario,
    matrix: Mapping[str, Mapping[str, float]] | None = None,
) -> Routed:
    """The traffic of ``routes`` (``matrix``: the confusion matrix, default the router's classifier's)."""
    direct = member_mixes(routes, scenario, confusion(router, scenario) if matrix is None else matrix)
    mixes, checked = escalated(router, scenario, direct)
    return Routed(direct, mixes, checked)


def router_items(
    router: RouterOption,
    routes: Mapping[str, str],
    scenario: Scenario,
    demand: Demand,
    member_cost: MemberCost,
    prices: Mapping[tuple[str, str], ApiPrice],
    matrix: Mapping[str, Mapping[str, float]] | None = None,
    traffic: Routed | None = None,
) -> tuple[dict[str, Any], Any]:
    """Monthly line items of a router under ``routes`` and whether it meets the SLO (every member
    used must, with the classifier's latency added). Items: ``via <member>`` (each member's serving
    cost), ``gpus`` (the fleets'), ``classifier``, the extra cost lines, ``response_cache``,
    ``total``; with a member fleet that does not follow demand, ``member_unserved`` and
    ``member_stranded_gpus`` (what the Monte Carlo reports as unserved and stranded), and
    ``member_missed`` where a member is known to miss the SLO (per draw: the router is then not
    eligible there, even when another member's latency is unknown). ``matrix``:
    the confusion matrix (default: the router's classifier's); ``traffic``: :func:`routed`, if the
    caller has it already."""
    items: dict[str, Any] = {}
    met: Any = router_view(router, scenario) is not None  # False: the classifier takes the TTFT budget
    gpus = None
    traffic = traffic or routed(router, routes, scenario, matrix)
    mixes, checked = traffic.mixes, traffic.checked
    for member, mix in mixes.items():
        part, part_met = member_cost(scenario.option(member), mix)
        items[f"via {member}"] = part["total"]
        if "gpus" in part:
            gpus = part["gpus"] if gpus is None else gpus + part["gpus"]
        # a member fleet that does not follow demand (on the plan in Monte Carlo draws, or fixed): what it
        # left unserved (not what it overflowed to an API) and the GPUs demand did not need, for the draws
        kept = {"member_unserved": None if "overflow" in part else part.get("unserved")}
        kept["member_stranded_gpus"] = part.get("stranded_gpus")
        for key, value in kept.items():
            if value is not None:
                items[key] = value if key not in items else items[key] + value
        met = slo_and(met, part_met)
        if part_met is not None:  # per draw, where a member is known to miss (slo_and alone says "unknown")
            missed = np.logical_not(part_met)
            items["member_missed"] = missed if "member_missed" not in items else items["member_missed"] | missed
    months = demand.mean_rps.shape[-1]
    items["gpus"] = np.zeros(months) if gpus is None else gpus
    items.update(classifier_items(router, demand, prices, scenario))
    if router.escalation is not None and router.escalation.check_usd_per_request and checked:
        per_month, rates = demand.model_requests
        items["escalation_check"] = CostTerms(((router.escalation.check_usd_per_request * checked * per_month, rates),))
    extras = extra_items(router, scenario, demand, _extra_lines(router, mixes, scenario))
    items.update(extras)
    parts = [v for k, v in items.items() if k != "gpus" and not k.startswith("member_")]  # money only
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
    prices: Mapping[tuple[str, str], ApiPrice],
    matrix: Mapping[str, Mapping[str, float]] | None = None,
) -> RouterChoice:
    """Cost every assignment and take the cheapest that meets every class's quality and is not known
    to miss the SLO (ties: fewer members, then the members' order).

    The frontier has one row per assignment: ``routes`` (in words), one column per class (its
    member), ``npv_usd`` (numpy-financial sign: costs negative), ``total_cost_usd``, ``quality``
    (traffic-weighted accuracy; NaN if a class's is unknown), ``quality_met`` (True, False or None:
    unknown), ``slo_met`` (likewise), ``eligible``, ``pareto`` (no other assignment is at least as
    cheap and at least as good, and better in one), ``considered`` (in the pool the choice was made
    from, per the note), ``chosen``.
    """
    cache: dict[tuple[str, tuple[tuple[str, float], ...]], tuple[dict[str, Any], Any]] = {}

    def cached(member: Option, mix: Mix):
        key = (member.name, tuple(sorted(mix.items())))
        if key not in cache:
            cache[key] = member_cost(member, mix)
        return cache[key]

    basis = router.classifier.basis if router.classifier is not None and matrix is None else "stated"
    matrix = confusion(router, scenario) if matrix is None else matrix
    order = {m: i for i, m in enumerate(router.members)}
    rows = []
    for routes in all_routes(router, scenario):
        traffic = routed(router, routes, scenario, matrix)
        items, met = router_items(router, routes, scenario, demand, cached, prices, matrix, traffic)
        sums = np.asarray(items["total"].reduce(np.stack([np.ones(discount_factors.size), discount_factors], axis=1)))
        scores = routed_scores(routes, scenario, matrix, basis, router.escalation)  # verdict and weighted accuracy
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
                "_members": len(traffic.mixes),
                "_order": tuple(order[routes[c.name]] for c in scenario.workload.classes),
                "_routes": routes,
                "_traffic": traffic,
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
    df["considered"] = df.index.isin(pool.index)  # the assignments the engine chose among
    df["chosen"] = df.index == best
    chosen: dict[str, str] = df.at[best, "_routes"]
    traffic = df.at[best, "_traffic"]
    frontier = df.drop(columns=["_members", "_order", "_routes", "_traffic"])
    return RouterChoice(dict(chosen), frontier, note, traffic.mixes, traffic.checked, traffic.escalated_share)


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
