"""Shared fixtures: the real catalog files, and scenarios built from plain dicts."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costmodel.catalog import ApiPrice, Catalog, Sourced
from costmodel.loaders import build_catalog, load_catalog_files
from costmodel.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "data" / "scenarios").glob("*.yaml"))

BASE: dict[str, Any] = {
    "name": "t",
    "title": "test",
    "as_of": "2026-11-22",
    "horizon_months": 12,
    "discount_rate": 0.0,
    "workload": {
        "requests_per_month": 1_000_000,
        "input_tokens_per_request": 1000,
        "output_tokens_per_request": 100,
        "slo": {"ttft_p95_ms": 1000, "tpot_p95_ms": 50},
    },
    "serving": {"model": "llama-3.1-8b", "quantization": "bf16"},
    "options": [{"name": "api", "kind": "api", "provider": "test", "model": "m"}],
}


def scenario(**changes: Any) -> Scenario:
    """BASE with top-level keys replaced and ``workload`` keys merged."""
    data = copy.deepcopy(BASE)
    workload = changes.pop("workload", {})
    data.update(changes)
    data["workload"].update(workload)
    return Scenario.model_validate(data)


def price(inp: float, out: float, cached: float | None = None, batch: float | None = None) -> ApiPrice:
    def s(v: float, unit: str = "USD/1M tokens") -> Sourced:
        return Sourced(value=Decimal(str(v)), unit=unit, source="test fixture", as_of="2026-11-22")

    return ApiPrice(provider="test", model="m", input=s(inp), output=s(out),
                    cached_input=s(inp if cached is None else cached),
                    batch_discount=None if batch is None else s(batch, "fraction"))


@pytest.fixture(scope="session")
def catalog_files():
    return load_catalog_files()


@pytest.fixture(scope="session")
def base_catalog(catalog_files) -> Catalog:
    return build_catalog(catalog_files)


def with_prices(catalog: Catalog, *prices: ApiPrice) -> Catalog:
    return catalog.model_copy(update={"api_prices": {(p.provider, p.model): p for p in prices}})
