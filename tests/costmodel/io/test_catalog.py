"""API prices: genai-prices' pinned snapshot, with local overrides first."""

from __future__ import annotations

import pytest

from costmodel.io.catalog import genai_prices_version, resolve_api_price


def test_genai_prices_pin_matches_installed(catalog_files):
    # the as-of date of every API price is the pin's check date: it must describe this release
    assert genai_prices_version() == catalog_files.api.genai_prices.version


def test_api_price_from_genai_prices(catalog_files):
    p = resolve_api_price("openai", "gpt-4o", catalog_files)
    # genai-prices 0.2.3: gpt-4o $2.5 in, $10 out, $1.25 cached per 1M tokens
    assert (float(p.input), float(p.output), float(p.cached_input)) == (2.5, 10.0, 1.25)
    assert p.input.as_of == catalog_files.api.genai_prices.checked_on
    # genai-prices' batch prices (processing: batch): half of both token prices
    assert float(p.batch_discount) == 0.5 and "batch prices" in p.batch_discount.source
    assert p.batch_discount.basis == "derived" and p.batch_discount.as_of == catalog_files.api.genai_prices.checked_on


def test_batch_discounts_come_from_genai_prices_unless_overridden(catalog_files):
    """Bedrock has no batch price in genai-prices 0.2.3: the local override's 50 % stands; a model
    with neither has none."""
    bedrock = resolve_api_price("aws", "meta.llama3-3-70b-instruct-v1:0", catalog_files)
    assert float(bedrock.batch_discount) == 0.5 and "Amazon Bedrock batch inference" in bedrock.batch_discount.source
    successor = resolve_api_price("openai", "gpt-6-luna", catalog_files)
    assert float(successor.batch_discount) == 0.5
    groq = resolve_api_price("groq", "llama-3.3-70b-versatile", catalog_files)
    assert groq.batch_discount is None


def test_unknown_api_model_raises(catalog_files):
    with pytest.raises(LookupError):
        resolve_api_price("openai", "no-such-model", catalog_files)
