"""Reading a scenario: the file, ``--set`` what-if overrides, validation, uncertainty ranges,
and probe runs named by ``probe_run``. :func:`load` returns the scenario with its catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from costmodel import paths
from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.io.classifier_run import measured_confusion
from costmodel.io.files import MISSING, InputError, check_shape, read_yaml, validate
from costmodel.io.probe_run import ProbeRunError, api_latency_from_probe, measured_from_probe
from costmodel.io.quality import QualityRunError, measured_quality
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, MeasuredQuality, RouterOption, Scenario, set_path, with_values


def apply_overrides(data: dict[str, Any], assignments: Iterable[str], file: str) -> dict[str, Any]:
    """Apply ``path=value`` what-if overrides to raw scenario data (before validation).

    ``path`` is dotted; list items are picked by ``name`` or index
    (``options.own-l40s.usd_per_kwh=0.2``). ``value`` is parsed as YAML (``5e6``, ``true``,
    ``[1, 2]``). Unknown fields are caught by validation afterwards, like any other.
    """
    seen: dict[str, str] = {}
    for assignment in assignments:
        path, sep, raw = assignment.partition("=")
        if not sep or not path.strip():
            raise InputError(file, f"--set {assignment}", MISSING, "expected path=value")
        if path.strip() in seen:  # the second would silently win: refuse instead
            raise InputError(
                file, f"--set {path.strip()}", raw, f"set twice (first to {seen[path.strip()]}); give it once"
            )
        seen[path.strip()] = raw
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        check_shape(value, file, f"--set {path.strip()}")
        try:
            set_path(data, path.strip(), value)
        except KeyError as e:
            raise InputError(file, f"--set {path}", value, e.args[0]) from None
    return data


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override (``--set``) and validate a scenario file; resolve ``probe_run`` references."""
    file = str(path)
    data = read_yaml(path)
    if isinstance(data, dict):  # top-level x- keys hold YAML anchors to reuse (as in docker compose)
        data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    data = apply_overrides(data, overrides, file)
    scenario = validate(Scenario, data, file)
    check_uncertainty(scenario, file)
    return resolve_probe_runs(scenario, file)


def check_uncertainty(scenario: Scenario, file: str) -> None:
    """Every draw of an uncertain input must be a value its field accepts, and the field's own
    value (the point estimate) must be a value the distribution can draw."""
    plain = scenario.model_copy(update={"uncertainty": {}})
    for path, dist in scenario.uncertainty.items():
        field = f"uncertainty.{path}"
        lo, hi = dist.support()
        for end, probe in ((lo, -1e12), (hi, 1e12)):
            value = end if np.isfinite(end) else probe
            try:
                with_values(plain, {path: value})
            except ValidationError as e:
                problem = e.errors()[0]["msg"]
                if np.isfinite(end):
                    raise InputError(
                        file, field, end, f"draws can reach {end:g}, which {path} does not accept ({problem})"
                    ) from None
                raise InputError(
                    file,
                    field,
                    dist.dist,
                    f"unbounded draws can leave the range {path} accepts ({problem}); give low and high bounds",
                ) from None
        node = scenario.value_at(path)
        if node is not None and not lo <= float(node) <= hi:
            raise InputError(
                file,
                field,
                node,
                f"the scenario's value {float(node):g} (the point estimate) lies "
                f"outside the distribution's range [{lo:g}, {hi:g}]",
            )


def resolve_probe_runs(scenario: Scenario, file: str) -> Scenario:
    """Replace each ``probe_run`` by the figures it yields (a self-hosted option's throughput at the
    scenario's SLO; an API's p95 latencies), each ``quality_run`` by its per-class accuracy and each
    router's ``classifier_run`` by its confusion matrix; the
    sources name the runs. The result is validated again (measured quality must agree wherever the
    same model is served). A run of another model than an API option's is an error."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    changed = False
    for o, raw in zip(scenario.options, data["options"], strict=True):
        where = f"options[{o.name}]"
        probe_run = getattr(o, "probe_run", None)
        if probe_run:
            try:
                run = paths.resolve(probe_run)
                if isinstance(o, ApiOption):
                    latency = api_latency_from_probe(run)
                    _same_model(o, latency.pop("model"), "probe run", f"{where}.probe_run", file)
                    raw.update(latency, latency_measured=True)
                else:
                    raw["measured"] = measured_from_probe(run, scenario.workload.slo).model_dump(mode="json")
            except ProbeRunError as e:
                raise InputError(file, f"{where}.probe_run", probe_run, str(e)) from None
            del raw["probe_run"]
            changed = True
        if getattr(o, "quality_run", None):
            measured, model = _quality(raw.pop("quality_run"), f"{where}.quality_run", file)
            if isinstance(o, ApiOption):
                _same_model(o, model, "quality run", f"{where}.quality_run", file)
            raw["quality_measured"] = measured.model_dump(mode="json")
            changed = True
        k = raw.get("classifier") if isinstance(o, RouterOption) else None
        if k and k.get("classifier_run"):
            run = k.pop("classifier_run")
            try:
                k["confusion_measured"] = measured_confusion(paths.resolve(run)).model_dump(mode="json")
            except QualityRunError as e:
                raise InputError(file, f"{where}.classifier.classifier_run", run, str(e)) from None
            changed = True
    if scenario.serving is not None and scenario.serving.quality_run:
        measured, _ = _quality(data["serving"].pop("quality_run"), "serving.quality_run", file)
        data["serving"]["quality_measured"] = measured.model_dump(mode="json")
        changed = True
    return validate(Scenario, data, file) if changed else scenario


def _quality(run: str, field: str, file: str) -> tuple[MeasuredQuality, str]:
    try:
        return measured_quality(paths.resolve(run))
    except QualityRunError as e:
        raise InputError(file, field, run, str(e)) from None


def _same_model(option: ApiOption, model: str, what: str, field: str, file: str) -> None:
    if model != option.model:
        raise InputError(file, field, model, f"the {what} measured {model!r}, but the option serves {option.model!r}")


def load(
    path: str | Path, overrides: Iterable[str] = (), catalog_dir: str | Path | None = None
) -> tuple[Scenario, Catalog]:
    """Scenario and the catalog it needs, both validated and cross-checked."""
    scenario = load_scenario(path, overrides)
    files = load_catalog_files(catalog_dir)
    catalog = build_catalog(files, scenario, str(path))
    check_engine_points(scenario, catalog, str(path))
    return scenario, catalog


def check_engine_points(scenario: Scenario, catalog: Catalog, file: str) -> None:
    """An uncertain efficiency the scenario leaves to the engine must have the engine's value
    inside its range (that value is the point estimate)."""
    for path, dist in scenario.uncertainty.items():
        if path.startswith("serving.efficiency.") and scenario.serving and scenario.value_at(path) is None:
            point = catalog.engines[scenario.serving.engine].default_for(path.rpartition(".")[2])
            lo, hi = dist.support()
            if not lo <= point <= hi:
                raise InputError(
                    file,
                    f"uncertainty.{path}",
                    point,
                    f"the engine's calibrated value {point:g} (the "
                    f"point estimate) lies outside the distribution's range [{lo:g}, {hi:g}]",
                )
