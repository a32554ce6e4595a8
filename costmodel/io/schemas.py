"""JSON Schemas of every file the workbench reads or writes, and of what ``tco evaluate --json`` and ``tco
capacity --json`` print (``tco schema`` writes them to ``data/schema``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from costmodel.model.catalog import ApiPriceCatalog, EngineCatalog, GpuCatalog, ModelCatalog, QuantizationCatalog
from costmodel.model.endpoint import Endpoint
from costmodel.model.evaluation import CapacityStudy, Document
from costmodel.model.probe_run import LevelSummary, ProbeManifest, RequestRecord
from costmodel.model.quality import ClassSummary, ItemRecord, QualityItem, QualityManifest
from costmodel.model.scenario import Scenario

SCHEMAS: dict[str, type[BaseModel]] = {
    "scenario.schema.json": Scenario,
    "gpu-catalog.schema.json": GpuCatalog,
    "model-catalog.schema.json": ModelCatalog,
    "quantization-catalog.schema.json": QuantizationCatalog,
    "engine-catalog.schema.json": EngineCatalog,
    "api-price-catalog.schema.json": ApiPriceCatalog,
    "endpoint.schema.json": Endpoint,
    "probe-manifest.schema.json": ProbeManifest,
    "probe-summary-row.schema.json": LevelSummary,
    "probe-request.schema.json": RequestRecord,
    "quality-item.schema.json": QualityItem,
    "quality-manifest.schema.json": QualityManifest,
    "quality-summary-row.schema.json": ClassSummary,
    "quality-record.schema.json": ItemRecord,
    "evaluation.schema.json": Document,
    "capacity-study.schema.json": CapacityStudy,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every YAML file the workbench reads, by output file name."""
    return {name: model.model_json_schema() for name, model in SCHEMAS.items()}
