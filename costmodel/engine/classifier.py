"""How good a router's classifier must be: the classifier accuracy at which the recommendation
changes, and to what.

A classifier's errors are scaled along the pattern its confusion matrix states (``C(k) = I +
k (C - I)``: ``k = 0`` is a perfect classifier, ``k = 1`` the stated or measured one; a stated
identity is degraded by spreading errors evenly over the other classes). Its accuracy, the
traffic-weighted diagonal, falls linearly in ``k``: ``a(k) = 1 - k (1 - a(1))``. For each ``k``
the router chooses its routes again (:func:`~costmodel.engine.router.choose_routes`, the rest of
the evaluation as it stands) and the recommendation is recomputed; :func:`classifier_need`
bisects the accuracy where it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from costmodel.core import finance
from costmodel.core.roots import bracket
from costmodel.engine.costing import Prepared, member_cost
from costmodel.engine.recommend import contends
from costmodel.engine.results import ClassifierNeed, OptionResult
from costmodel.engine.router import choose_routes, classifier_accuracy, classifier_usd_per_request, confusion
from costmodel.model.scenario import RouterOption, Scenario
from costmodel.text import percent, usd

Matrix = dict[str, dict[str, float]]


def scaled(matrix: Mapping[str, Mapping[str, float]], k: float) -> Matrix:
    """``I + k (C - I)``; a matrix with no errors is degraded towards even spreading instead.

    >>> scaled({"a": {"a": 0.9, "b": 0.1}, "b": {"a": 0.2, "b": 0.8}}, 2.0)
    {'a': {'a': 0.8, 'b': 0.2}, 'b': {'a': 0.4, 'b': 0.6000000000000001}}
    >>> scaled({"a": {"a": 1.0, "b": 0.0}, "b": {"a": 0.0, "b": 1.0}}, 0.5)
    {'a': {'a': 0.5, 'b': 0.5}, 'b': {'a': 0.5, 'b': 0.5}}
    """
    names = list(matrix)
    perfect = all(matrix[t][t] >= 1.0 for t in names)
    out: Matrix = {}
    for t in names:
        if perfect:
            others = 1.0 / max(len(names) - 1, 1)
            direction = {p: (-1.0 if p == t else others) for p in names}
        else:
            direction = {p: matrix[t][p] - float(p == t) for p in names}
        out[t] = {p: float(p == t) + k * direction[p] for p in names}
    return out


def max_scale(matrix: Mapping[str, Mapping[str, float]]) -> float:
    """The largest ``k`` at which every class's right label is still the classifier's likeliest
    answer for it (``C_k[t][t] >= C_k[t][p]``); beyond it a classifier is worse than uninformative
    and a router would profit from reading its answers backwards, which no operator plans on.

    >>> max_scale({"a": {"a": 0.9, "b": 0.1}, "b": {"a": 0.2, "b": 0.8}})
    2.5
    >>> max_scale({"a": {"a": 1.0, "b": 0.0}, "b": {"a": 0.0, "b": 1.0}})
    0.5
    """
    one = scaled(matrix, 1.0)
    limits = [1.0 / gap for t in one for p in one if p != t and (gap := (one[t][p] - 0.0) - (one[t][t] - 1.0)) > 0]
    return min(limits) if limits else 1.0


def classifier_need(
    router: RouterOption, scenario: Scenario, prepared: Prepared, results: Sequence[OptionResult]
) -> ClassifierNeed | None:
    """The accuracy a router's classifier must have for the recommendation to stay as it is, and
    what is recommended on the other side (None: a workload with one class, or no classifier)."""
    k = router.classifier
    if k is None or len(scenario.workload.classes) < 2:
        return None
    stated = confusion(router, scenario)
    accuracy = classifier_accuracy(stated, scenario)
    perfect = all(stated[t][t] >= 1.0 for t in stated)
    k_now = 0.0 if perfect else 1.0
    k_far = max(max_scale(stated), k_now)  # a classifier already past the floor is searched no further
    a_one = classifier_accuracy(scaled(stated, 1.0), scenario)  # accuracy falls linearly in the scale

    def accuracy_at(scale: float) -> float:
        return 1.0 - scale * (1.0 - a_one)

    factors = finance.discount_factors(
        float(finance.monthly_rate(scenario.discount_rate)), prepared.demand.mean_rps.shape[-1]
    )
    prices = prepared.catalog.api_prices if prepared.catalog is not None else {}
    cost = member_cost(router, scenario, prepared)
    rivals = {  # the recommendation's other candidates, as evaluated (see recommend)
        r.name: r.npv_usd for r in results if r.name != router.name and contends(r)
    }

    def winner(scale: float) -> str | None:
        choice = choose_routes(router, scenario, prepared.demand, cost, factors, prices, scaled(stated, scale))
        row = choice.frontier[choice.frontier["chosen"]].iloc[0]
        pool = dict(rivals)
        if row["eligible"] and not choice.single:
            pool[router.name] = float(row["npv_usd"])
        return max(pool, key=lambda n: pool[n]) if pool else None

    now = winner(k_now)
    threshold, other = None, None
    if now == router.name and winner(k_far) != router.name:  # how much worse may it get?
        _, first = bracket(lambda x: winner(x) != router.name, k_now, k_far, steps=16, rel_tol=1e-3)
        threshold, other = accuracy_at(first), winner(first)
    elif now != router.name and not perfect and winner(0.0) == router.name:  # how much better must it get?
        _, first = bracket(lambda x: winner(x) == router.name, k_now, 0.0, steps=16, rel_tol=1e-3)
        threshold, other = accuracy_at(first), router.name
    per_request = classifier_usd_per_request(router, prices)
    what = (
        f"{router.name}'s classifier ({k.kind}, {usd(per_request * 1e6, compact=True)} per 1M requests, "
        f"+{k.added_ttft_ms or 0:,.0f} ms before the first token) is {percent(accuracy, 1)} accurate ({k.basis})"
    )
    wrong = [t for t in stated if any(v > stated[t][t] for p, v in stated[t].items() if p != t)]
    if wrong:
        what += (
            f"; it labels {', '.join(wrong)} requests as another class more often than right, and the routes "
            "are chosen on that"
        )
    if threshold is None and now == router.name and wrong:
        tail = "; the router is recommended at this accuracy."
    elif threshold is None and now == router.name:
        tail = (
            f"; the router stays recommended down to {percent(accuracy_at(k_far), 1)} accurate, where the right "
            "class stops being the classifier's likeliest answer."
        )
    elif threshold is None:
        tail = "; even a perfect classifier would not make the router the recommendation."
    elif now == router.name:
        tail = f"; below {percent(threshold, 1)} accurate, {other} is recommended instead."
    else:
        tail = f"; at {percent(threshold, 1)} accurate or better, the router would be recommended over {now}."
    return ClassifierNeed(
        router.name,
        k.kind,
        k.basis,
        accuracy,
        per_request,
        float(k.added_ttft_ms or 0.0),
        threshold,
        accuracy_at(k_far),
        now,
        other,
        what + tail,
    )
