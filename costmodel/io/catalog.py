"""Reading the catalog (``data/catalog/*.yaml``) and resolving per-token API prices.

API prices come from the pinned ``genai-prices`` snapshot, with local overrides
(negotiated rates, batch discounts) from ``api_prices.yaml`` taking precedence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from costmodel import paths
from costmodel.io.files import InputError, read_yaml, validate
from costmodel.io.rentals import RENTALS_FILE, read_rentals, with_rentals
from costmodel.io.validation import published_runs
from costmodel.model.base import Sourced
from costmodel.model.catalog import (
    ApiPrice,
    ApiPriceCatalog,
    Catalog,
    EngineCatalog,
    GpuCatalog,
    ModelCatalog,
    QuantizationCatalog,
)
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, RouterOption, Scenario
from costmodel.model.validation import PublishedRun
from costmodel.text import unknown_id

CATALOG_FILES: dict[str, type[BaseModel]] = {
    "gpus.yaml": GpuCatalog,
    "models.yaml": ModelCatalog,
    "quantizations.yaml": QuantizationCatalog,
    "engines.yaml": EngineCatalog,
    "api_prices.yaml": ApiPriceCatalog,
}


@dataclass(frozen=True)
class CatalogFiles:
    """The validated catalog files and where they came from."""

    directory: Path
    gpus: GpuCatalog
    models: ModelCatalog
    quantizations: QuantizationCatalog
    engines: EngineCatalog
    api: ApiPriceCatalog
    runs: tuple[PublishedRun, ...] = ()  # the published serving runs (data/validation)


def load_catalog_files(directory: str | Path | None = None) -> CatalogFiles:
    """Read and validate every catalog file in ``directory`` (default ``data/catalog``)."""
    d = Path(directory) if directory else paths.catalog_dir()
    parsed = {}
    for name, model in CATALOG_FILES.items():
        path = d / name
        parsed[name] = validate(model, read_yaml(path), str(path))
        for entries in parsed[name].__dict__.values():
            ids = [e.id for e in entries if hasattr(e, "id")] if isinstance(entries, tuple) else []
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise InputError(str(path), "id", dupes[0], "duplicate id")
    rentals = d / RENTALS_FILE  # the rental snapshot (tco prices refresh): its prices join the GPUs'
    gpus = with_rentals(list(parsed["gpus.yaml"].gpus), read_rentals(rentals), str(rentals))
    parsed["gpus.yaml"] = parsed["gpus.yaml"].model_copy(update={"gpus": tuple(gpus)})
    engine_ids = {e.id for e in parsed["engines.yaml"].engines}
    quantizations = d / "quantizations.yaml"
    for q in parsed["quantizations.yaml"].quantizations:
        unknown = [e for e in q.engines if e not in engine_ids]
        if unknown:
            raise InputError(
                str(quantizations),
                f"quantizations[{q.id}].engines",
                unknown[0],
                f"unknown engine; known: {', '.join(sorted(engine_ids))}",
            )
    return CatalogFiles(
        d,
        parsed["gpus.yaml"],
        parsed["models.yaml"],
        parsed["quantizations.yaml"],
        parsed["engines.yaml"],
        parsed["api_prices.yaml"],
        tuple(published_runs(_runs_file(d))),
    )


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

    def from_package(batch: bool = False, **usage: float) -> Decimal:
        when = datetime.combine(pin.checked_on, time(), tzinfo=UTC)
        tokens = {k: max(1, int(v)) for k, v in usage.items()}
        calc = calc_price(
            Usage(**tokens),
            model_ref=model,
            provider_id=provider,
            genai_request_timestamp=when,
            price_context={"processing": "batch"} if batch else None,
        )
        return (
            calc.total_price
            / Decimal(tokens["input_tokens" if "input_tokens" in tokens else "output_tokens"])
            * Decimal(1_000_000)
        )

    def batch_discount() -> Sourced | None:
        """The package's batch prices as one discount, where it has them and input and output agree."""
        try:
            off = [
                1 - from_package(batch=True, **usage) / standard
                for usage in ({"input_tokens": tin}, {"output_tokens": 1000})
                if (standard := from_package(**usage)) > 0
            ]
        except (LookupError, ValueError, ArithmeticError):
            return None
        if len(off) != 2 or off[0] <= 0 or abs(off[0] - off[1]) > Decimal("1e-9"):
            return None  # no batch price, or a discount that differs by token kind (kept out: one fraction)
        return Sourced(
            value=off[0].quantize(Decimal("1e-6")),
            unit="fraction",
            source=f"{source}, batch prices (processing: batch)",
            as_of=pin.checked_on,
            basis="derived",
        )

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
    return ApiPrice(
        provider=provider,
        model=model,
        input=input_p,
        output=output_p,
        cached_input=cached_p,
        batch_discount=override.batch_discount if override and override.batch_discount else batch_discount(),
        retirement=next((r for r in files.api.retirements if r.provider == provider and r.model == model), None),
    )


def scenario_prices(
    scenario: Scenario,
    files: CatalogFiles,
    scenario_file: str = "",
    resolve: Callable[[str, str, CatalogFiles, float], ApiPrice] = resolve_api_price,
) -> dict[tuple[str, str], ApiPrice]:
    """Every API price ``scenario`` needs, by (provider, model): its API options' (at its prompt
    size), the successors of those that retire, and its routers' api classifiers' (``resolve``: a
    cached :func:`resolve_api_price`, as the dashboard passes). Unknown models raise
    :class:`InputError` naming the scenario field."""
    prices: dict[tuple[str, str], ApiPrice] = {}
    for o in scenario.options:
        if isinstance(o, ApiOption):
            try:
                prices[(o.provider, o.model)] = resolve(
                    o.provider, o.model, files, scenario.workload.input_tokens_per_request
                )
            except LookupError as e:
                raise InputError(
                    scenario_file,
                    f"options[{o.name}].model",
                    o.model,
                    f"no price known for provider {o.provider!r}: {e}; add an override to "
                    f"{files.directory / 'api_prices.yaml'}",
                ) from None
    for o in scenario.options:  # a router's api classifier is priced like an API option
        k = o.classifier if isinstance(o, RouterOption) else None
        if k is not None and k.api_provider is not None and k.api_model is not None:
            if (k.api_provider, k.api_model) in prices:  # an option's price (at its prompt size) stands
                continue
            try:
                prices[(k.api_provider, k.api_model)] = resolve(
                    k.api_provider, k.api_model, files, k.prompt_tokens or 1.0
                )
            except LookupError as e:
                raise InputError(
                    scenario_file, f"options[{o.name}].classifier.api_model", k.api_model, f"no price known: {e}"
                ) from None
    for (provider, _), price in list(prices.items()):  # the successor of a retiring model, at the same prompt
        r = price.retirement
        if r is not None and r.successor and (provider, r.successor) not in prices:
            # no price for the successor: the retiring model stays billed at its own (and says so)
            with contextlib.suppress(LookupError):
                prices[(provider, r.successor)] = resolve(
                    provider, r.successor, files, scenario.workload.input_tokens_per_request
                )
    return prices


def _runs_file(catalog_dir: Path) -> Path | None:
    """The published-runs table beside a catalog directory (``<data>/validation``), else the
    project's (a catalog copied elsewhere is judged against the project's runs)."""
    beside = catalog_dir.parent / "validation" / "serving_throughput.csv"
    return beside if beside.is_file() else None


def build_catalog(files: CatalogFiles, scenario: Scenario | None = None, scenario_file: str = "") -> Catalog:
    """The engine's catalog: entries by id, plus API prices for ``scenario``'s API options.

    Unknown GPU, model, quantization or API model ids in the scenario raise
    :class:`InputError` naming the scenario field.
    """
    catalog = Catalog(
        gpus={g.id: g for g in files.gpus.gpus},
        models={m.id: m for m in files.models.models},
        quantizations={q.id: q for q in files.quantizations.quantizations},
        engines={e.id: e for e in files.engines.engines},
        published_runs=files.runs,
        uncalibrated_capacity=files.engines.uncalibrated_capacity,
    )
    if scenario is None:
        return catalog
    check_references(scenario, catalog, scenario_file)
    return catalog.model_copy(update={"api_prices": scenario_prices(scenario, files, scenario_file)})


def check_references(scenario: Scenario, catalog: Catalog, file: str) -> None:
    def check(field: str, value: str | None, known: dict[str, Any], what: str) -> None:
        if value is not None and value not in known:
            raise InputError(file, field, value, unknown_id(value, known, what))

    if scenario.serving:
        check("serving.model", scenario.serving.model, catalog.models, "model")
        check("serving.quantization", scenario.serving.quantization, catalog.quantizations, "quantization")
        check("serving.engine", scenario.serving.engine, catalog.engines, "engine")
    engine = scenario.serving.engine if scenario.serving else "vllm"
    for o in scenario.options:
        if not isinstance(o, RentedOption | OwnedOption):
            continue
        check(f"options[{o.name}].gpu", o.gpu, catalog.gpus, "GPU")
        check(f"options[{o.name}].model", o.model, catalog.models, "model")
        check(f"options[{o.name}].quantization", o.quantization, catalog.quantizations, "quantization")
        quant_id = o.quantization or (scenario.serving.quantization if scenario.serving else "bf16")
        quant = catalog.quantizations.get(quant_id)
        if quant is not None and engine in catalog.engines and engine not in quant.engines:
            field = f"options[{o.name}].quantization" if o.quantization else "serving.quantization"
            raise InputError(
                file,
                field,
                quant_id,
                f"{quant.name} is not served by {catalog.engines[engine].name} "
                f"(served by: {', '.join(quant.engines)}; {quant.engines_source}); pick another "
                "format or set serving.engine",
            )
        model_id = scenario.model_of(o)[0]
        if quant is not None and model_id in catalog.models and (why := quant.why_not(catalog.models[model_id])):
            field = f"options[{o.name}].quantization" if o.quantization else "serving.quantization"
            raise InputError(file, field, quant_id, f"{why}; pick another format")
