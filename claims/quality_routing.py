"""Claim 5: quantized small models fail on complex logic; routing by difficulty balances it.

Its text, the figures it claims and the catalog ids it is tested on: ``claims.yaml``."""

from __future__ import annotations

from claims.base import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, Claim, Finding
from claims.common import (
    assumption_rows,
)
from costmodel.assumptions import quality_rows
from costmodel.engine import Evaluation
from costmodel.engine.eligibility import class_scores
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, RouterOption, Scenario
from costmodel.text import percent, usd


def claim_quality_routing(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 5: quantized small models lose accuracy mostly on complex logic, and routing by
    difficulty balances cost, speed and accuracy. Computed: the served model's accuracy gap to the
    best option on each request class (stated, or measured by ``tco quality``), and the router's
    chosen routes against the cheapest single option that meets every class."""
    rows = quality_rows(sc)
    return Claim.of("quality_routing", (_accuracy_gap(sc, ev), _routing(sc, ev)), assumption_rows(*rows))


def _accuracy_gap(sc: Scenario, ev: Evaluation) -> Finding:
    q = "accuracy lost mostly on the hardest class"
    hosted = [o for o in sc.options if isinstance(o, RentedOption | OwnedOption)]
    classes = sc.workload.classes
    if not hosted or len(classes) < 2:
        return Finding(
            q,
            CANNOT_TELL,
            "a self-hosted option and at least two request classes",
            ("The scenario has one request class or nothing self-hosted.",),
            settle="add request_classes to the workload",
        )
    small = class_scores(hosted[0], sc)
    others = [
        o
        for o in sc.options
        if isinstance(o, ApiOption | RentedOption | OwnedOption) and sc.serves(o) != sc.serves(hosted[0])
    ]
    scores = {o.name: class_scores(o, sc) for o in others}
    best = {
        c.name: max((x.accuracy for s in scores.values() if (x := s[c.name]) is not None), default=None)
        for c in classes
    }
    if any(small[c.name] is None or best[c.name] is None for c in classes):
        return Finding(
            q,
            CANNOT_TELL,
            "accuracy figures for every class",
            ("Some class's accuracy is unknown.",),
            settle="tco quality",
        )
    small_known = {c: x for c, x in small.items() if x is not None}
    best_known = {c: x for c, x in best.items() if x is not None}
    hardest = min(classes, key=lambda c: best_known[c.name])
    easiest = max(classes, key=lambda c: best_known[c.name])
    gap = {c.name: best_known[c.name] - small_known[c.name].accuracy for c in classes}
    n = {"gap_hard": gap[hardest.name], "gap_easy": gap[easiest.name]}
    served = sc.serves(hosted[0])
    computed = (
        f"{served}: "
        + ", ".join(
            f"{c.name} {percent(small_known[c.name].accuracy, 1)} ({small_known[c.name].basis})" for c in classes
        )
        + "; best other option: "
        + ", ".join(f"{c.name} {percent(best_known[c.name], 1)}" for c in classes)
        + ".",
        f"Gap on {hardest.name} (the class every option finds hardest) {percent(gap[hardest.name], 1)}, on "
        f"{easiest.name} {percent(gap[easiest.name], 1)}.",
    )
    holds = gap[hardest.name] > gap[easiest.name] and gap[hardest.name] > 0
    shown = (
        f"a gap of {percent(gap[hardest.name], 1)} on {hardest.name} "
        f"against {percent(gap[easiest.name], 1)} on {easiest.name}"
    )
    if small_known[hardest.name].basis != "measured":
        return Finding(
            q,
            CANNOT_TELL,
            f"a quality run of {served} (the stated figures {'agree' if holds else 'disagree'}: {shown})",
            computed,
            n,
            settle=f"tco quality --base-url <the {served} endpoint> --model <its model>, "
            "then tco claims --quality-run serving=data/quality/<run-id>",
        )
    return Finding(q, HOLDS if holds else DOES_NOT_HOLD, shown + " (measured)", computed, n)


def _routing(sc: Scenario, ev: Evaluation) -> Finding:
    q = "routing by difficulty wins"
    routers = [o.name for o in sc.options if isinstance(o, RouterOption)]
    if not routers:
        return Finding(
            q,
            CANNOT_TELL,
            "a router option in the scenario",
            ("The scenario has no kind: router option.",),
            settle="add an option of kind router listing the members to route between",
        )
    name = routers[0]
    r = ev.option(name)
    choice = r.routing
    singles = [o for o in ev.options if o.kind != "router" and o.eligible]
    used = list(choice.mixes) if choice is not None else []  # members its traffic reaches (escalation too)
    n = {"members_used": float(len(used)), "router_npv_cost": -r.npv_usd}
    routes = ", ".join(f"{c} -> {m}" for c, m in (choice.routes.items() if choice else ()))
    computed = [f"{name} routes {routes}: NPV of cost {usd(-r.npv_usd)}, quality {r.quality.note}."]
    need = r.classifier
    needs = ""  # the classifier accuracy the verdict rests on
    if need is not None:
        computed.append(need.sentence)
        n["classifier_accuracy"] = need.accuracy
        if need.threshold is not None:
            n["classifier_threshold"] = need.threshold
            needs = (
                f"; its classifier is {percent(need.accuracy, 1)} accurate ({need.basis}) and must stay above "
                f"{percent(need.threshold, 1)}"
                if need.winner == name
                else f"; it would need a classifier at least {percent(need.threshold, 1)} accurate "
                f"(it has {percent(need.accuracy, 1)}, {need.basis})"
            )
        elif need.winner == name:
            needs = (
                f"; its classifier is {percent(need.accuracy, 1)} accurate ({need.basis}) and the verdict holds "
                f"down to {percent(need.floor, 1)}"
            )
    if singles:
        best = min(singles, key=lambda o: -o.npv_usd)
        n["single_npv_cost"] = -best.npv_usd
        computed.append(f"Cheapest single option meeting the SLO and every class: {best.name}, {usd(-best.npv_usd)}.")
    if not r.eligible:
        return Finding(
            q,
            DOES_NOT_HOLD,
            f"no assignment of classes meets every requirement ({r.quality.note}){needs}",
            tuple(computed),
            n,
        )
    if len(used) < 2:
        return Finding(
            q, DOES_NOT_HOLD, f"one option, {used[0]}, serves every class at the lowest cost{needs}", tuple(computed), n
        )
    if not singles:
        return Finding(q, HOLDS, f"only the router meets every class, at {usd(-r.npv_usd)}{needs}", tuple(computed), n)
    saved = 1.0 - (-r.npv_usd) / n["single_npv_cost"]
    n["saving"] = saved
    if saved <= 0:
        return Finding(
            q,
            DOES_NOT_HOLD,
            f"{usd(-r.npv_usd)} against {usd(n['single_npv_cost'])} for the cheapest single option{needs}",
            tuple(computed),
            n,
        )
    return Finding(
        q,
        HOLDS,
        f"{usd(-r.npv_usd)} against {usd(n['single_npv_cost'])} for the cheapest single option "
        f"({percent(saved)} less){needs}",
        tuple(computed),
        n,
    )
