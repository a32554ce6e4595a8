"""The dashboard's state: the controls a user can change (:class:`Controls`) and what they give
(:func:`what_if`: scenario + catalog files + control values in, evaluation and document out).

Pure: no widgets. :mod:`tco.dashboard` wires it to widgets, :mod:`tco.share` hands it over.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from costmodel import document
from costmodel.engine import Evaluation, evaluate
from costmodel.io.catalog import CatalogFiles, build_catalog, check_references, resolve_api_price, scenario_prices
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.evaluation import Document
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, Scenario, with_values
from costmodel.whatif import prices_in_scenario

__all__ = ["Controls", "WhatIf", "apply_controls", "base_catalog", "what_if"]


@dataclass(frozen=True)
class Controls:
    """Everything a user can change in the explorer; ``None`` keeps the scenario's value."""

    requests_per_month: float | None = None
    input_tokens: float | None = None
    output_tokens: float | None = None
    model: str | None = None
    quantization: str | None = None
    gpu: str | None = None
    gpu_count: int | None = None  # fixed fleet of every self-hosted option; None = auto
    api_model: str | None = None  # "provider/model" for the first API option
    max_utilization: float | None = None
    api_price: float = 1.0
    gpu_price: float = 1.0
    horizon_months: int | None = None
    discount_rate: float | None = None


@dataclass(frozen=True)
class WhatIf:
    scenario: Scenario
    catalog: Catalog
    evaluation: Evaluation
    doc: Document  # what the summary and the figures show


def apply_controls(scenario: Scenario, c: Controls) -> Scenario:
    """The scenario with the controls' values written into it."""
    values: dict[str, Any] = {}
    for path, v in (
        ("workload.requests_per_month", c.requests_per_month),
        ("workload.input_tokens_per_request", c.input_tokens),
        ("workload.output_tokens_per_request", c.output_tokens),
        ("horizon_months", c.horizon_months),
        ("discount_rate", c.discount_rate),
    ):
        if v is not None:
            values[path] = v
    if scenario.serving is not None:
        if c.model:
            values["serving.model"] = c.model
        if c.quantization:
            values["serving.quantization"] = c.quantization
    for o in scenario.options:
        if isinstance(o, RentedOption | OwnedOption):
            if c.gpu:
                values[f"options.{o.name}.gpu"] = c.gpu
                if c.gpu != o.gpu and isinstance(o, RentedOption) and o.provider:
                    values[f"options.{o.name}.provider"] = None  # the old provider may not rent this GPU
            if c.model and o.model:
                values[f"options.{o.name}.model"] = c.model
            if c.quantization and o.quantization:
                values[f"options.{o.name}.quantization"] = c.quantization
            values[f"options.{o.name}.gpus"] = c.gpu_count
            if c.max_utilization is not None:
                values[f"options.{o.name}.max_utilization"] = c.max_utilization
    first_api = next((o for o in scenario.options if isinstance(o, ApiOption)), None)
    if c.api_model and first_api is not None and c.api_model != f"{first_api.provider}/{first_api.model}":
        provider, _, model = c.api_model.partition("/")
        values[f"options.{first_api.name}.provider"] = provider
        values[f"options.{first_api.name}.model"] = model
        values[f"options.{first_api.name}.label"] = f"{provider} {model} API"
    return with_values(scenario, values) if values else scenario


def what_if(scenario: Scenario, files: CatalogFiles, controls: Controls) -> WhatIf:
    """Evaluate ``scenario`` under ``controls``. Raises InputError / EngineError on impossible combinations."""
    sc = apply_controls(scenario, controls)
    # the multipliers go into the scenario's own fields, so the state saves as a scenario file
    sc = prices_in_scenario(sc, base_catalog(files), api=controls.api_price, gpu=controls.gpu_price)
    catalog = _catalog(files, sc)
    ev = evaluate(sc, catalog)
    return WhatIf(sc, catalog, ev, document.build(ev, catalog, sweeps=False, register_rows=False))


def _catalog(files: CatalogFiles, sc: Scenario) -> Catalog:
    """The catalog with API prices for ``sc`` (as ``tco evaluate`` builds it); price look-ups are
    cached per (provider, model, prompt size)."""
    base = base_catalog(files)
    check_references(sc, base, "explorer")
    return base.model_copy(update={"api_prices": scenario_prices(sc, files, "explorer", resolve=_cached_price)})


@functools.lru_cache(maxsize=256)
def _cached_price(provider: str, model: str, files: CatalogFiles, input_tokens: float) -> ApiPrice:
    return resolve_api_price(provider, model, files, input_tokens)


@functools.lru_cache(maxsize=4)
def base_catalog(files: CatalogFiles) -> Catalog:
    return build_catalog(files)
