"""The I/O edge: read catalogs and scenarios from disk, resolve API prices, explain bad input.

Everything read is validated by the pydantic models in :mod:`costmodel.catalog` and
:mod:`costmodel.scenario`. Any problem becomes an :class:`InputError` that names the file,
the field (dotted path; list items by their ``name``) and the offending value.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from costmodel.catalog import (
    ApiPrice,
    ApiPriceCatalog,
    Catalog,
    GpuCatalog,
    ModelCatalog,
    QuantizationCatalog,
    Sourced,
)
from costmodel.scenario import ApiOption, HybridOption, Scenario
from costmodel.whatif import set_path

DATA_DIR = Path(os.environ.get("TCO_DATA_DIR", Path(__file__).resolve().parent.parent / "data"))
CATALOG_FILES: dict[str, type[BaseModel]] = {
    "gpus.yaml": GpuCatalog,
    "models.yaml": ModelCatalog,
    "quantizations.yaml": QuantizationCatalog,
    "api_prices.yaml": ApiPriceCatalog,
}
SCHEMAS: dict[str, type[BaseModel]] = {
    "scenario.schema.json": Scenario,
    "gpu-catalog.schema.json": GpuCatalog,
    "model-catalog.schema.json": ModelCatalog,
    "quantization-catalog.schema.json": QuantizationCatalog,
    "api-price-catalog.schema.json": ApiPriceCatalog,
}
_MISSING = object()


@dataclass
class InputError(Exception):
    """Bad input: which file, which field, which value, and what is wrong."""

    file: str
    field: str
    value: Any
    message: str

    def __str__(self) -> str:
        where = self.file if not self.field else f"{self.file}: {self.field}"
        shown = "" if self.value is _MISSING else f" = {self.value!r}"
        return f"{where}{shown}: {self.message}"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping, turning every failure into an :class:`InputError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(p), "", _MISSING, "file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise InputError(str(p), "", _MISSING, f"cannot read: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise InputError(str(p), where, _MISSING, f"malformed YAML: {problem}") from None
    if not isinstance(data, dict):
        raise InputError(str(p), "", _MISSING, f"expected a mapping at the top level, got {type(data).__name__}")
    return data


def _field_path(loc: Iterable[Any], data: Any) -> str:
    """Dotted path for a pydantic error location; list items named by their ``name``/``id``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            item = node[key]
            label = (item.get("id") or item.get("name")) if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1]}[{label or key}]"] if parts else [f"[{key}]"]
            node = item
        elif isinstance(node, dict) and key in node:
            parts.append(str(key))
            node = node[key]
        elif isinstance(key, str) and key in {"api", "rented", "owned", "hybrid"} and isinstance(node, dict):
            continue  # discriminated-union tag, not a field
        else:
            parts.append(str(key))
            node = None
    return ".".join(parts)


def _lookup(data: Any, loc: Iterable[Any]) -> Any:
    node = data
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def validate(model: type[BaseModel], data: dict[str, Any], file: str) -> Any:
    """Validate ``data`` against ``model``; the first error becomes an :class:`InputError`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        err = errors[0]
        loc = err["loc"]
        field = _field_path(loc, data)
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input", _MISSING)
        if err["type"] == "extra_forbidden":
            parent = _lookup(data, loc[:-1])
            fields = _model_fields_at(model, loc[:-1], data)
            close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
            msg = "unknown field" + (f"; did you mean {close[0]!r}?" if close else "")
            value = parent.get(loc[-1]) if isinstance(parent, dict) else value
        elif err["type"] == "missing":
            value = _MISSING
        if isinstance(value, dict | list):
            value = _MISSING  # a whole section: the message says what is wrong
        more = f" (and {len(errors) - 1} more problem{'s' * (len(errors) > 2)})" if len(errors) > 1 else ""
        raise InputError(file, field, value, msg + more) from None


def _model_fields_at(model: type[BaseModel], loc: tuple[Any, ...], data: Any) -> list[str]:
    """Field names of the (sub)model at ``loc``, for 'did you mean' hints."""
    annotation: Any = model
    node = data
    for key in loc:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and key < len(node) else None
            continue
        fields = getattr(_submodel(annotation, node), "model_fields", {})
        if key in fields:  # else a union tag such as 'owned': stay on the same item
            annotation = fields[key].annotation
            node = node.get(key) if isinstance(node, dict) else None
    return list(getattr(_submodel(annotation, node), "model_fields", {}))


def _submodel(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model class an annotation resolves to for this data (a union picked by ``kind``)."""
    stack, candidates = [annotation], []
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            candidates.append(a)
        else:
            stack.extend(get_args(a))
    if isinstance(node, dict) and "kind" in node:
        for c in candidates:
            kind = c.model_fields.get("kind")
            if kind is not None and get_args(kind.annotation) == (node["kind"],):
                return c
    return candidates[0] if len(candidates) == 1 else None


# ---------------------------------------------------------------------------- --set overrides


def apply_overrides(data: dict[str, Any], assignments: Iterable[str], file: str) -> dict[str, Any]:
    """Apply ``path=value`` what-if overrides to raw scenario data (before validation).

    ``path`` is dotted; list items are picked by ``name`` or index
    (``options.own-l40s.usd_per_kwh=0.2``). ``value`` is parsed as YAML (``5e6``, ``true``,
    ``[1, 2]``). Unknown fields are caught by validation afterwards, like any other.
    """
    for assignment in assignments:
        path, sep, raw = assignment.partition("=")
        if not sep or not path.strip():
            raise InputError(file, f"--set {assignment}", _MISSING, "expected path=value")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        try:
            set_path(data, path.strip(), value)
        except KeyError as e:
            raise InputError(file, f"--set {path}", value, e.args[0]) from None
    return data


# ---------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class CatalogFiles:
    """The validated catalog files and where they came from."""

    directory: Path
    gpus: GpuCatalog
    models: ModelCatalog
    quantizations: QuantizationCatalog
    api: ApiPriceCatalog


def load_catalog_files(directory: str | Path | None = None) -> CatalogFiles:
    """Read and validate every catalog file in ``directory`` (default ``data/catalog``)."""
    d = Path(directory) if directory else DATA_DIR / "catalog"
    parsed = {}
    for name, model in CATALOG_FILES.items():
        path = d / name
        parsed[name] = validate(model, read_yaml(path), str(path))
        for entries in parsed[name].__dict__.values():
            ids = [e.id for e in entries if hasattr(e, "id")] if isinstance(entries, tuple) else []
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise InputError(str(path), "id", dupes[0], "duplicate id")
    return CatalogFiles(d, parsed["gpus.yaml"], parsed["models.yaml"], parsed["quantizations.yaml"],
                        parsed["api_prices.yaml"])


def genai_prices_version() -> str:
    import genai_prices

    return genai_prices.__version__


def resolve_api_price(provider: str, model: str, files: CatalogFiles, input_tokens: float = 1000.0) -> ApiPrice:
    """Per-1M-token prices for ``provider/model``: local override first, then genai-prices.

    Prices are read at the snapshot's check date, for a request of ``input_tokens``
    (genai-prices applies long-prompt tiers by request size). Raises ``LookupError`` if
    neither source knows the model.
    """
    from genai_prices import Usage, calc_price

    pin = files.api.genai_prices
    override = next((o for o in files.api.overrides if o.provider == provider and o.model == model), None)
    version = genai_prices_version()
    checked = version == pin.version
    source = f"genai-prices {version} bundled snapshot" + ("" if checked else f" (unchecked; {pin.version} was)")

    def from_package(**usage: float) -> Decimal:
        when = datetime.combine(pin.checked_on, time(), tzinfo=UTC)
        tokens = {k: max(1, int(v)) for k, v in usage.items()}
        calc = calc_price(Usage(**tokens), model_ref=model, provider_id=provider, genai_request_timestamp=when)
        return (calc.total_price / Decimal(tokens["input_tokens" if "input_tokens" in tokens else "output_tokens"])
                * Decimal(1_000_000))

    def sourced(value: Decimal) -> Sourced:
        return Sourced(value=value, unit="USD/1M tokens", source=source, as_of=pin.checked_on)

    tin = max(1.0, input_tokens)
    input_p = override.input if override and override.input else None
    output_p = override.output if override and override.output else None
    cached_p = override.cached_input if override and override.cached_input else None
    if input_p is None or output_p is None or cached_p is None:
        input_p = input_p or sourced(from_package(input_tokens=tin))
        output_p = output_p or sourced(from_package(output_tokens=1000))
        cached_p = cached_p or sourced(from_package(input_tokens=tin, cache_read_tokens=tin))
    return ApiPrice(provider=provider, model=model, input=input_p, output=output_p, cached_input=cached_p,
                    batch_discount=override.batch_discount if override else None)


def build_catalog(files: CatalogFiles, scenario: Scenario | None = None, scenario_file: str = "") -> Catalog:
    """The engine's catalog: entries by id, plus API prices for ``scenario``'s API options.

    Unknown GPU, model, quantization or API model ids in the scenario raise
    :class:`InputError` naming the scenario field.
    """
    catalog = Catalog(
        gpus={g.id: g for g in files.gpus.gpus},
        models={m.id: m for m in files.models.models},
        quantizations={q.id: q for q in files.quantizations.quantizations},
    )
    if scenario is None:
        return catalog
    check_references(scenario, catalog, scenario_file)
    prices: dict[tuple[str, str], ApiPrice] = {}
    for o in scenario.options:
        if isinstance(o, ApiOption):
            try:
                prices[(o.provider, o.model)] = resolve_api_price(
                    o.provider, o.model, files, scenario.workload.input_tokens_per_request
                )
            except LookupError as e:
                raise InputError(scenario_file, f"options[{o.name}].model", o.model,
                                 f"no price known for provider {o.provider!r}: {e}; add an override to "
                                 f"{files.directory / 'api_prices.yaml'}") from None
    return catalog.model_copy(update={"api_prices": prices})


def check_references(scenario: Scenario, catalog: Catalog, file: str) -> None:
    def check(field: str, value: str | None, known: dict[str, Any], what: str) -> None:
        if value is not None and value not in known:
            close = difflib.get_close_matches(value, list(known), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
            raise InputError(file, field, value, f"unknown {what}; {hint}")

    if scenario.serving:
        check("serving.model", scenario.serving.model, catalog.models, "model")
        check("serving.quantization", scenario.serving.quantization, catalog.quantizations, "quantization")
    for o in scenario.options:
        if isinstance(o, ApiOption | HybridOption):
            continue
        check(f"options[{o.name}].gpu", o.gpu, catalog.gpus, "GPU")
        check(f"options[{o.name}].model", o.model, catalog.models, "model")
        check(f"options[{o.name}].quantization", o.quantization, catalog.quantizations, "quantization")


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override (``--set``) and validate a scenario file; resolve ``probe_run`` references."""
    file = str(path)
    data = apply_overrides(read_yaml(path), overrides, file)
    scenario = validate(Scenario, data, file)
    check_uncertainty(scenario, file)
    return resolve_probe_runs(scenario, file)


def check_uncertainty(scenario: Scenario, file: str) -> None:
    """Every draw of an uncertain input must be a value its field accepts, and the field's own
    value (the point estimate) must be a value the distribution can draw."""
    from costmodel.whatif import with_values

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
                    raise InputError(file, field, end, f"draws can reach {end:g}, which {path} does not accept "
                                     f"({problem})") from None
                raise InputError(file, field, dist.dist, f"unbounded draws can leave the range {path} accepts "
                                 f"({problem}); give low and high bounds") from None
        node = scenario.value_at(path)
        if node is not None and not lo <= float(node) <= hi:
            raise InputError(file, field, node, f"the scenario's value {float(node):g} (the point estimate) lies "
                             f"outside the distribution's range [{lo:g}, {hi:g}]")


def resolve_probe_runs(scenario: Scenario, file: str) -> Scenario:
    """Replace each option's ``probe_run`` by the measured figure it yields for the scenario's SLO."""
    from costmodel.probe_data import ProbeDataError, measured_from_probe

    options = []
    for o in scenario.options:
        if getattr(o, "probe_run", None):
            run = Path(o.probe_run)
            run = run if run.is_absolute() else DATA_DIR.parent / run
            try:
                measured = measured_from_probe(run, scenario.workload.slo)
            except ProbeDataError as e:
                raise InputError(file, f"options[{o.name}].probe_run", o.probe_run, str(e)) from None
            o = o.model_copy(update={"measured": measured, "probe_run": None})  # source names the run
        options.append(o)
    return scenario.model_copy(update={"options": tuple(options)})


def load(path: str | Path, overrides: Iterable[str] = (), catalog_dir: str | Path | None = None
         ) -> tuple[Scenario, Catalog]:
    """Scenario and the catalog it needs, both validated and cross-checked."""
    scenario = load_scenario(path, overrides)
    files = load_catalog_files(catalog_dir)
    return scenario, build_catalog(files, scenario, str(path))


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every YAML file the workbench reads, by output file name."""
    return {name: model.model_json_schema() for name, model in SCHEMAS.items()}
