"""The catalogs: provenance on every number, ids that resolve, physics anchor points."""

from __future__ import annotations

import pytest

from costmodel.capacity import decode_step_seconds, kv_bytes_per_token, weight_bytes
from costmodel.catalog import Sourced
from costmodel.loaders import genai_prices_version, resolve_api_price


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
    values = [v for part in (catalog_files.gpus, catalog_files.models, catalog_files.quantizations,
                             catalog_files.api) for v in all_sourced(part)]
    assert len(values) > 80
    for path, v in values:
        assert v.source and v.as_of and v.unit, path
        says_assumption = v.source.lower().startswith("assumption")
        assert says_assumption == (v.basis == "assumption"), f"{path}: basis {v.basis} vs source {v.source!r}"


def test_required_models_present(catalog_files):
    ids = {m.id for m in catalog_files.models.models}
    assert {"llama-3.1-8b", "llama-3.1-70b", "qwen2.5-7b", "qwen2.5-72b", "mistral-small-24b"} <= ids


def test_genai_prices_pin_matches_installed(catalog_files):
    # the as-of date of every API price is the pin's check date: it must describe this release
    assert genai_prices_version() == catalog_files.api.genai_prices.version


def test_api_price_from_genai_prices(catalog_files):
    p = resolve_api_price("openai", "gpt-4o", catalog_files)
    # genai-prices 0.2.3: gpt-4o $2.5 in, $10 out, $1.25 cached per 1M tokens
    assert (float(p.input), float(p.output), float(p.cached_input)) == (2.5, 10.0, 1.25)
    assert p.input.as_of == catalog_files.api.genai_prices.checked_on
    assert float(p.batch_discount) == 0.5  # local override file


def test_unknown_api_model_raises(catalog_files):
    with pytest.raises(LookupError):
        resolve_api_price("openai", "no-such-model", catalog_files)


@pytest.mark.parametrize(("gpu", "tokens_per_s"), [("h100-sxm", 209), ("a100-80gb-sxm", 127), ("a10g", 37)])
def test_batch_one_decode_ceiling(base_catalog, gpu, tokens_per_s):
    """DESIGN.md: Llama-3.1-8B BF16 (16.1 GB) at batch 1 is bandwidth / weight bytes."""
    m, g = base_catalog.models["llama-3.1-8b"], base_catalog.gpus[gpu]
    weights = weight_bytes(float(m.parameters), 2.0)
    step = decode_step_seconds(1, weights, 0, 0, float(g.bandwidth) * 1e12, 1.0, float(m.parameters),
                               float(g.bf16_tflops) * 1e12, 1.0)
    assert round(1 / float(step)) == tokens_per_s


@pytest.mark.parametrize(("model", "kib"), [("llama-3.1-8b", 128), ("llama-3.1-70b", 320)])
def test_kv_cache_per_token(base_catalog, model, kib):
    m = base_catalog.models[model]
    assert kv_bytes_per_token(float(m.layers), float(m.kv_heads), float(m.head_dim), 2.0) == kib * 1024
