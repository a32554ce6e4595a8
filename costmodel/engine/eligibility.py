"""Quality, the third axis: how good the answers of each option are on each request class, and
whether it may be recommended for them.

Quality belongs to what serves (an API's provider/model, an open model in its weight format:
:meth:`~costmodel.model.scenario.Scenario.serves`), measured by ``tco quality`` (``quality_run``)
or stated with a source. A class's requirement (``min_quality``) is checked against the accuracy,
or against the lower end of its 95 % interval when the workload says ``quality_bound: lower``
(measured figures only: a stated one has no interval). An option must not be known to miss the
quality of any class it serves; unknown quality is said, not excluded. SLO statuses come from
:mod:`costmodel.engine.api` and :mod:`costmodel.engine.capacity`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from costmodel.engine.results import NO_QUALITY_REQUIREMENT, QualityStatus
from costmodel.model.scenario import (
    Escalation,
    HybridOption,
    Option,
    RequestClass,
    RouterOption,
    Scenario,
    ServingOption,
)
from costmodel.text import percent


@dataclass(frozen=True)
class ClassScore:
    """The accuracy of what serves on one request class."""

    accuracy: float
    ci_low: float | None  # measured: the 95 % interval's lower end
    basis: str  # measured or stated
    source: str

    def checked(self, bound: str) -> float:
        """The figure a requirement is checked against: the accuracy, or (``lower``) the interval's low end."""
        return self.ci_low if bound == "lower" and self.ci_low is not None else self.accuracy


def class_scores(option: ServingOption, scenario: Scenario) -> dict[str, ClassScore | None]:
    """Per request class, the accuracy of what ``option`` serves (None: unknown)."""
    classes = scenario.workload.classes
    found = scenario.quality_of(option)
    if found is None:
        return {c.name: None for c in classes}
    _where, q = found
    if q.quality_measured is not None:
        table, m = q.quality_measured.classes, q.quality_measured
        out = {}
        for c in classes:
            row = table.get(c.name, table.get("all"))
            out[c.name] = None if row is None else ClassScore(row.accuracy, row.ci_low, "measured", m.source)
        return out
    stated = q.quality if isinstance(q.quality, dict) else {"all": q.quality}
    return {
        c.name: None
        if (v := stated.get(c.name, stated.get("all"))) is None
        else ClassScore(float(v), None, "stated", q.quality_source or "")
        for c in classes
    }


def meets(score: ClassScore | None, c: RequestClass, bound: str) -> bool | None:
    """Whether a score clears a class's requirement (None: unknown and required)."""
    if c.min_quality <= 0:
        return True
    if score is None:
        return None
    return score.checked(bound) >= c.min_quality - 1e-12


def weighted_quality(scores: Mapping[str, ClassScore | None], scenario: Scenario) -> float | None:
    """Traffic-weighted accuracy over the request classes (None if any class's is unknown)."""
    total = 0.0
    for c in scenario.workload.classes:
        s = scores.get(c.name)
        if s is None:
            return None
        total += c.share * s.accuracy
    return total


def servable_classes(option: ServingOption, scenario: Scenario) -> list[RequestClass]:
    """The request classes ``option``'s model is good enough for (unknown quality: all of them)."""
    scores, bound = class_scores(option, scenario), scenario.workload.quality_bound
    return [c for c in scenario.workload.classes if meets(scores[c.name], c, bound) is not False]


def servable_share(option: ServingOption, scenario: Scenario, mix: Mapping[str, float] | None = None) -> float:
    """Share of all requests in ``mix`` (class -> share of all requests; default: every request)
    that ``option``'s model is good enough for (unknown quality: all of them)."""
    return float(sum((c.share if mix is None else mix.get(c.name, 0.0)) for c in servable_classes(option, scenario)))


def quality_verdict(scores: Mapping[str, ClassScore | None], scenario: Scenario) -> QualityStatus:
    """Met, missed or unknown over the classes with a requirement, with each class's figures in words."""
    wl = scenario.workload
    need = [c for c in wl.classes if c.min_quality > 0]
    if not need:
        return NO_QUALITY_REQUIREMENT
    bound = wl.quality_bound
    parts: dict[bool | None, list[str]] = {True: [], False: [], None: []}
    for c in need:
        s = scores.get(c.name)
        ok = meets(s, c, bound)
        if s is None:
            parts[ok].append(f"{c.name} unknown (needs {percent(c.min_quality)})")
            continue
        figure = (
            f"{percent(s.ci_low)} (95 % interval's low end; accuracy {percent(s.accuracy)})"
            if bound == "lower" and s.ci_low is not None
            else percent(s.accuracy)
        )
        parts[ok].append(f"{c.name} {figure} {'>=' if ok else '<'} {percent(c.min_quality)}")
    met = False if parts[False] else (None if parts[None] else True)
    bases = sorted({s.basis for c in need if (s := scores.get(c.name)) is not None})
    shown = parts[False] if met is False else parts[None] + parts[True]  # a miss names only the classes missed
    note = "; ".join(shown) + (f" ({', '.join(bases)})" if bases else "")
    return QualityStatus(met, note, "/".join(bases) or "unknown")


def quality_status(option: Option, scenario: Scenario, routes: Mapping[str, str] | None = None) -> QualityStatus:
    """An option's quality against the workload's request classes. A hybrid's local fleet keeps
    only the classes it is good enough for, so each class is judged on the weaker of the parts
    serving it (:func:`routed_scores`); a router on the member each class is sent to (``routes``:
    class -> member)."""
    if isinstance(option, HybridOption):
        every_class = {c.name: option.name for c in scenario.workload.classes}
        return quality_verdict(routed_scores(every_class, scenario), scenario)
    if isinstance(option, RouterOption):
        k = option.classifier
        names = tuple(c.name for c in scenario.workload.classes)
        matrix = None if k is None or routes is None else k.matrix(names)
        scores = routed_scores(routes or {}, scenario, matrix, k.basis if k else "stated", option.escalation)
        return quality_verdict(scores, scenario)
    return quality_verdict(class_scores(option, scenario), scenario)


def routed_scores(
    routes: Mapping[str, str],
    scenario: Scenario,
    matrix: Mapping[str, Mapping[str, float]] | None = None,
    matrix_basis: str = "stated",
    escalation: Escalation | None = None,
) -> dict[str, ClassScore | None]:
    """Per true class, the score its requests get: the member its predicted class is sent to, mixed
    over the classifier's confusion ``matrix`` (true -> predicted -> share; None: no misrouting).
    A misrouted complex request is answered at the cheap member's accuracy on complex requests
    (with ``escalation``, a flagged answer is asked again of the strong member: :func:`_escalated`).
    Unknown if any member a share of the class lands on has no figure for it."""
    out: dict[str, ClassScore | None] = {}
    for cls in routes:
        row = {cls: 1.0} if matrix is None else {p: w for p, w in matrix[cls].items() if w > 0}
        parts = [(w, _escalated(routes[p], cls, scenario, escalation)) for p, w in row.items()]
        known = [(w, sc) for w, sc in parts if sc is not None]
        if len(known) < len(parts):
            out[cls] = None
        elif len(known) == 1:
            out[cls] = known[0][1]
        else:
            lows = [sc.ci_low for _, sc in known]
            bases = sorted({sc.basis for _, sc in known} | {matrix_basis})
            out[cls] = ClassScore(
                accuracy=sum(w * sc.accuracy for w, sc in known),
                ci_low=None if any(x is None for x in lows) else sum(w * (sc.ci_low or 0.0) for w, sc in known),
                basis="/".join(bases),
                source="; ".join(dict.fromkeys(sc.source for _, sc in known)),
            )
    return out


def _escalated(member: str, cls: str, scenario: Scenario, escalation: Escalation | None) -> ClassScore | None:
    """A member's score on a class once a check re-asks flagged answers of ``escalation.to``: right
    and not flagged, or flagged (right or wrong) and answered right by the strong member,
    ``a (1 - false_alarms) + (a false_alarms + (1 - a) catches) a_to``."""
    own = member_score(member, cls, scenario)
    if escalation is None or member == escalation.to or own is None:
        return own
    strong = member_score(escalation.to, cls, scenario)
    if strong is None:
        return None
    e = escalation

    def after(a: float, a_to: float) -> float:
        return a * (1.0 - e.false_alarms) + (a * e.false_alarms + (1.0 - a) * e.catches) * a_to

    low = None if own.ci_low is None or strong.ci_low is None else after(own.ci_low, strong.ci_low)
    return ClassScore(
        after(own.accuracy, strong.accuracy),
        low,
        "/".join(sorted({own.basis, strong.basis, "stated"})),
        f"{own.source}; escalation: {e.source}",
    )


def member_score(member: str, cls: str, scenario: Scenario) -> ClassScore | None:
    """The score of one member on one class. A hybrid member: its overflow API's, or the lower of
    its two parts' where its local model is good enough to take a share of the class."""
    o = scenario.option(member)
    if not isinstance(o, HybridOption):
        return class_scores(scenario.serving_option(member), scenario)[cls]
    remote = class_scores(scenario.api_option(o.overflow), scenario)[cls]
    local = class_scores(scenario.serving_option(o.local), scenario)[cls]
    c = next(c for c in scenario.workload.classes if c.name == cls)
    takes_part = meets(local, c, scenario.workload.quality_bound) is not False
    if takes_part and (local is None or remote is None):
        return None  # one part's accuracy is unknown
    if takes_part and local is not None and remote is not None and local.accuracy < remote.accuracy:
        return local
    return remote
