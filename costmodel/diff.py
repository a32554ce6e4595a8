"""What changed between two versions of a scenario, and what it did to the decision.

Finance reviews a scenario's versions: :func:`diff` lists the inputs that changed (with their
sources), how each option's NPV and the recommendation moved, and, applying each change alone
to the old version, which change moved the NPVs most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from costmodel.engine import EngineError, Evaluation, evaluate
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import Scenario, with_values
from costmodel.text import MISSING, usd

__all__ = ["Change", "ScenarioDiff", "diff", "flatten", "value_text"]


def flatten(scenario: Scenario) -> dict[str, Any]:
    """Every input of a scenario by dotted path (options by name; lists are single values)."""
    data = scenario.model_dump(mode="json", exclude={"sources"})
    out: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
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
class ScenarioDiff:
    old: Evaluation
    new: Evaluation
    changes: tuple[Change, ...]

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
        top = self.moved_most
        if top is not None and top.npv_moves:
            name, move = max(top.npv_moves.items(), key=lambda kv: abs(kv[1]))
            flips = f"; alone it makes the recommendation {top.recommendation}" if top.recommendation != old else ""
            said.append(
                f"The change that moves an NPV most is {top.path} ({value_text(top.old)} to "
                f"{value_text(top.new)}): alone it moves {name}'s NPV by {usd(move)}{flips}."
            )
        return said

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


def diff(old: Scenario, new: Scenario, old_catalog: Catalog, new_catalog: Catalog) -> ScenarioDiff:
    """Compare two versions of a scenario: changed inputs, each one's effect alone, both evaluations."""
    ev_old, ev_new = evaluate(old, old_catalog), evaluate(new, new_catalog)
    base = {o.name: o.npv_usd for o in ev_old.options}
    changes = []
    for path, (was, now) in _whole_sections(flatten(old), flatten(new)).items():
        moves = rec = None
        try:
            alone = evaluate(with_values(old, {path: now}), old_catalog, classifier_needs=False)
            moves = {o.name: o.npv_usd - base[o.name] for o in alone.options if o.name in base}
            rec = alone.recommendation.option
        except (ValueError, KeyError, EngineError):  # not a change that stands alone (a new option, say)
            pass
        source = _own_source(now) or _source(new, path) or _source(old, path) or "scenario (no source given)"
        changes.append(Change(path, was, now, source, moves, rec))
    return ScenarioDiff(ev_old, ev_new, tuple(changes))


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
