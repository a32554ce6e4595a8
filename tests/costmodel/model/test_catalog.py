"""The catalogs: provenance on every number, honest basis, the models users ask for."""

from __future__ import annotations

from costmodel.model.base import Sourced


def all_sourced(obj, path="catalog"):
    """Every Sourced value inside a validated catalog object, with its path."""
    if isinstance(obj, Sourced):
        yield path, obj
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            yield from all_sourced(item, f"{path}[{getattr(item, 'id', i)}]")
    elif hasattr(obj, "__pydantic_fields__"):
        for name in type(obj).model_fields:
            yield from all_sourced(getattr(obj, name), f"{path}.{name}")


def test_every_number_has_provenance_and_honest_basis(catalog_files):
    values = [
        v
        for part in (catalog_files.gpus, catalog_files.models, catalog_files.quantizations, catalog_files.api)
        for v in all_sourced(part)
    ]
    assert len(values) > 80
    for path, v in values:
        assert v.source and v.as_of and v.unit, path
        says_assumption = v.source.lower().startswith("assumption")
        assert says_assumption == (v.basis == "assumption"), f"{path}: basis {v.basis} vs source {v.source!r}"


def test_required_models_present(catalog_files):
    ids = {m.id for m in catalog_files.models.models}
    assert {"llama-3.1-8b", "llama-3.1-70b", "qwen2.5-7b", "qwen2.5-72b", "mistral-small-24b"} <= ids
