"""What changed between two versions of a scenario, and what it did to the decision.

Finance reviews a scenario's versions: :func:`diff` lists the inputs that changed (with their
sources), how each option's NPV and the recommendation moved, and, applying each change alone
to the old version, which change moved the NPVs most.

**Who moved the decision.** When the recommendation moves, each change gets its Shapley share of
the move: the value of a set ``S`` of changes applied to the old version is 1 when the old version
then recommends what the new one does, else 0; a change's share is its marginal contribution to
that, averaged over every order the changes could be made in (every subset for up to
``EXACT_UP_TO`` changes, else ``SAMPLED_ORDERS`` seeded random orders). An accuracy change that
makes an option eligible moves the decision without moving any NPV: the shares see it, the NPV
moves do not. For each numeric change that moves the decision (alone, or with the others made),
the value between old and new where the recommendation flips is bisected.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from costmodel.core.roots import bracket
from costmodel.engine import EngineError, Evaluation, evaluate
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import Scenario, with_values
from costmodel.text import MISSING, percent, usd

__all__ = ["Change", "Mover", "ScenarioDiff", "changed_inputs", "diff", "flatten", "movers", "value_text"]


def flatten(scenario: Scenario) -> dict[str, Any]:
    """Every input of a scenario by dotted path (options, request classes and extra costs by name, as
    ``--set`` names them; other lists are single values)."""
    data = scenario.model_dump(mode="json", exclude={"sources"})
    out: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(node, list) and node and all(isinstance(v, dict) and "name" in v for v in node):
            for v in node:
                walk(f"{prefix}.{v['name']}", {k: x for k, x in v.items() if k != "name"})
        else:
            out[prefix] = node

    options = data.pop("options")
    uncertainty = data.pop("uncertainty")
    walk("", data)
    for o in options:
        walk(f"options.{o['name']}", {k: v for k, v in o.items() if k != "name"})
    for path, dist in uncertainty.items():
        out[f"uncertainty.{path}"] = dist
    return out


@dataclass(frozen=True)
class Change:
    """One input that differs between the versions, and what it does alone to the old version."""

    path: str
    old: Any  # None: absent in the old version
    new: Any  # None: absent in the new version
    source: str  # where the new value comes from (the new version's sources), else the old one's
    npv_moves: dict[str, float] | None = None  # option -> NPV change (USD) with only this change; None: not alone
    recommendation: str | None = None  # what the old version recommends with only this change

    @property
    def largest_move(self) -> float:
        return max((abs(v) for v in (self.npv_moves or {}).values()), default=0.0)


@dataclass(frozen=True)
class Mover:
    """One change's part in moving the recommendation."""

    path: str
    share: float  # Shapley share of the move (the shares sum to 1 when the move is reproduced)
    alone: str | None  # what the old version recommends with only this change
    flips_at: float | None  # value between old and new where the recommendation flips (numeric changes)
    flips_with_others: bool  # the flip point was found with every other change made (it does not flip alone)


@dataclass(frozen=True)
class ScenarioDiff:
    old: Evaluation
    new: Evaluation
    changes: tuple[Change, ...]
    movers: tuple[Mover, ...] = ()  # when the recommendation moves: each change's part, largest first
    attribution_note: str = ""  # how the shares were found (exact or sampled), or why there are none

    @property
    def moved_most(self) -> Change | None:
        """The change that, applied alone, moves some option's NPV the most."""
        alone = [c for c in self.changes if c.npv_moves]
        return max(alone, key=lambda c: c.largest_move) if alone else None

    def sentences(self) -> list[str]:
        """The diff in words: how the recommendation moved and which change moved the NPVs most."""
        old, new = self.old.recommendation.option, self.new.recommendation.option
        said = [f"{len(self.changes)} input{'s' * (len(self.changes) != 1)} changed."]
        said.append(
            f"The recommendation stays {new}."
            if old == new
            else f"The recommendation moves from {old or 'none'} to {new or 'none'}."
        )
        if self.movers:
            parts = []
            for m in self.movers:
                c = next(c for c in self.changes if c.path == m.path)
                where = (
                    ""
                    if m.flips_at is None
                    else f", flipping at {value_text(m.flips_at)}"
                    + (" with the other changes" if m.flips_with_others else "")
                )
                parts.append(f"{m.path} ({value_text(c.old)} to {value_text(c.new)}): {percent(m.share)}{where}")
            said.append(f"What moves it (Shapley share of the move, {self.attribution_note}): {'; '.join(parts)}.")
        top = self.moved_most
        if top is not None and top.npv_moves:
            name, move = max(top.npv_moves.items(), key=lambda kv: abs(kv[1]))
            flips = f"; alone it makes the recommendation {top.recommendation}" if top.recommendation != old else ""
            said.append(
                f"The change that moves an NPV most is {top.path} ({value_text(top.old)} to "
                f"{value_text(top.new)}): alone it moves {name}'s NPV by {usd(move)}{flips}."
            )
        return said

    def mover_share(self, path: str) -> str:
        """A change's Shapley share of the decision's move, in words (a dash when nothing moved it)."""
        m = next((m for m in self.movers if m.path == path), None)
        return MISSING if m is None else percent(m.share)

    def npv_table(self) -> list[tuple[str, float | None, float | None]]:
        """(option, old NPV, new NPV) for every option of either version (None where absent)."""
        names = [o.name for o in self.old.options] + [
            o.name for o in self.new.options if o.name not in {x.name for x in self.old.options}
        ]
        old = {o.name: o.npv_usd for o in self.old.options}
        new = {o.name: o.npv_usd for o in self.new.options}
        return [(n, old.get(n), new.get(n)) for n in names]


def _source(scenario: Scenario, path: str) -> str | None:
    if path in scenario.sources:
        return scenario.sources[path]
    return next((v for k, v in scenario.sources.items() if path.startswith(k + ".")), None)


def changed_inputs(old: Scenario, new: Scenario) -> dict[str, tuple[Any, Any]]:
    """Every input that differs between two versions, by ``--set`` path: (old value, new value)."""
    return _whole_sections(flatten(old), flatten(new))


def _whole_sections(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Differing paths, a section that only one version has counted as one change (the whole section)."""

    def section(flat: dict[str, Any], prefix: str) -> Any:
        if prefix in flat:
            return flat[prefix]
        inner = {k[len(prefix) + 1 :]: v for k, v in flat.items() if k.startswith(prefix + ".")}
        return inner or None

    out: dict[str, tuple[Any, Any]] = {}
    for path in sorted(set(a) | set(b)):
        if a.get(path) == b.get(path):
            continue
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            old, new = section(a, prefix), section(b, prefix)
            if old is None or new is None or i == len(parts):
                out[prefix] = (old, new)
                break
    return out


def _own_source(value: Any) -> str | None:
    """A section that carries its own source (a response cache, an extra cost)."""
    if isinstance(value, dict) and isinstance(value.get("source"), str):
        return value["source"]
    if isinstance(value, list) and value and all(isinstance(v, dict) and "source" in v for v in value):
        return "; ".join(f"{v.get('name', '')}: {v['source']}" for v in value)
    return None


EXACT_UP_TO = 8  # changes: every subset (2^8 = 256 evaluations); past it, sampled orders
SAMPLED_ORDERS = 48


def movers(
    old: Scenario, catalog: Catalog, changes: list[Change], target: str | None, seed: int = 0
) -> tuple[tuple[Mover, ...], str]:
    """Each change's Shapley share of moving the old version's recommendation to ``target``, and
    where each numeric change flips it (see the module's docstring)."""
    paths = [c.path for c in changes]
    by_path = {c.path: c for c in changes}
    cache: dict[frozenset[str], str | None] = {}

    def recommends(subset: frozenset[str], override: dict[str, Any] | None = None) -> str | None:
        key = subset if override is None else None
        if key is not None and key in cache:
            return cache[key]
        values = {p: by_path[p].new for p in subset} | (override or {})
        try:
            rec = evaluate(with_values(old, values), catalog, classifier_needs=False).recommendation.option
        except (ValueError, KeyError, EngineError):
            rec = None  # a mix of changes that is not a valid scenario: it does not reach the target
        if key is not None:
            cache[key] = rec
        return rec

    def value(subset: frozenset[str]) -> float:
        return float(recommends(subset) == target)

    everything = frozenset(paths)
    if value(everything) < 1.0:
        return (), "the changes made on the old version do not reproduce the new recommendation (the catalog moved)"
    n = len(paths)
    shares = dict.fromkeys(paths, 0.0)
    if n <= EXACT_UP_TO:
        weights = [math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)]
        for p in paths:
            others = [q for q in paths if q != p]
            for k in range(n):
                for subset in itertools.combinations(others, k):
                    s0 = frozenset(subset)
                    shares[p] += weights[k] * (value(s0 | {p}) - value(s0))
        how = f"exact over {n} change{'s' * (n != 1)}"
    else:
        rng = random.Random(seed)
        for _ in range(SAMPLED_ORDERS):
            order = paths[:]
            rng.shuffle(order)
            made: frozenset[str] = frozenset()
            for p in order:
                shares[p] += (value(made | {p}) - value(made)) / SAMPLED_ORDERS
                made = made | {p}
        how = f"sampled over {SAMPLED_ORDERS} orders of {n} changes (seed {seed})"
    out = []
    for p in paths:
        c = by_path[p]
        alone = recommends(frozenset({p}))
        flips_at, with_others = None, False
        if _number(c.old) and _number(c.new) and shares[p] > 0:
            base = None if alone == target else everything - {p}
            with_others = base is not None

            def reaches(x: float, base=base, p=p) -> bool:
                return recommends(base or frozenset(), {p: x}) == target

            if reaches(float(c.new)) and not reaches(float(c.old)):
                _, flips_at = bracket(reaches, float(c.old), float(c.new), steps=24, rel_tol=1e-6)
        out.append(Mover(p, shares[p], alone, flips_at, with_others))
    return tuple(sorted(out, key=lambda m: -m.share)), how


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def diff(old: Scenario, new: Scenario, old_catalog: Catalog, new_catalog: Catalog) -> ScenarioDiff:
    """Compare two versions of a scenario: changed inputs, each one's effect alone, both evaluations,
    and (when the recommendation moves) which changes move it (:func:`movers`)."""
    ev_old, ev_new = evaluate(old, old_catalog), evaluate(new, new_catalog)
    base = {o.name: o.npv_usd for o in ev_old.options}
    changes = []
    for path, (was, now) in changed_inputs(old, new).items():
        moves = rec = None
        try:
            alone = evaluate(with_values(old, {path: now}), old_catalog, classifier_needs=False)
            moves = {o.name: o.npv_usd - base[o.name] for o in alone.options if o.name in base}
            rec = alone.recommendation.option
        except (ValueError, KeyError, EngineError):  # not a change that stands alone (a new option, say)
            pass
        source = _own_source(now) or _source(new, path) or _source(old, path) or "scenario (no source given)"
        changes.append(Change(path, was, now, source, moves, rec))
    target = ev_new.recommendation.option
    if changes and target != ev_old.recommendation.option:
        found, note = movers(old, old_catalog, changes, target)
    else:
        found, note = (), "the recommendation does not move"
    return ScenarioDiff(ev_old, ev_new, tuple(changes), found, note)


def value_text(value: Any) -> str:
    """An input's value for a reader: numbers as given, lists and sections in short, absent as a dash."""
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        return ", ".join(str(v["name"]) for v in value)  # extra costs, request classes: by name
    if isinstance(value, list | dict):
        text = str(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)
