"""Endpoint files (``data/endpoints/*.yaml``): an OpenAI-compatible server to probe.

An endpoint names the *environment variable* that holds its API key, never the key.
"""

from __future__ import annotations

import os
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from costmodel.model.base import Commitment, Strict


class PriceRef(Strict):
    """Per-token price of a cloud endpoint: a genai-prices provider/model (or a local override)."""

    provider: str = Field(description="genai-prices provider id, e.g. openai.")
    model: str = Field(description="Model id at that provider.")


class GpuRef(Strict):
    """The hardware behind a self-hosted endpoint, priced from the GPU catalog."""

    gpu: str = Field(description="GPU id from data/catalog/gpus.yaml.")
    count: int = Field(default=1, ge=1, description="GPUs serving this endpoint (one replica).")
    provider: str | None = Field(default=None, description="Rental provider; cheapest in the catalog if absent.")
    commitment: Commitment = Field(default="on-demand", description="Rental commitment to price the GPU-hours at.")
    usd_per_gpu_hour: float | None = Field(default=None, ge=0, description="Explicit price; overrides the catalog.")


class Endpoint(Strict):
    """An OpenAI-compatible endpoint."""

    name: str = Field(default="endpoint", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", description="Short name.")
    base_url: str = Field(description="Base URL including /v1, e.g. http://127.0.0.1:8000/v1.")
    model: str = Field(description="Model name sent in requests.")
    api_style: Literal["chat", "completions"] = Field(default="chat", description="Which API to call.")
    server: Literal["vllm", "openai", "other"] = Field(
        default="other",
        description="vllm enables ignore_eos/min_tokens (exact output lengths) and continuous usage stats.",
    )
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the API key (never the key)."
    )
    price: PriceRef | None = Field(default=None, description="Catalog price of a cloud endpoint.")
    hardware: GpuRef | None = Field(default=None, description="GPUs behind a self-hosted endpoint.")

    @field_validator("base_url")
    @classmethod
    def _plain_base_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be http(s)://host[:port]/path")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query string or fragment (the API paths are appended to it)")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as e:
            raise ValueError(f"bad port: {e}") from None
        return url

    def shown_url(self) -> str:
        """The base URL as written to disk or printed: credentials in it replaced by ``***``."""
        return redact_url(self.base_url)

    def api_key(self) -> str | None:
        """The key, read from the environment at the moment it is needed (never stored)."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    @property
    def path(self) -> str:
        return "/chat/completions" if self.api_style == "chat" else "/completions"


def redact_url(url: str) -> str:
    """``http://user:secret@host/v1`` -> ``http://***@host/v1``: a URL's user part is a secret too
    (``http://TOKEN@host/v1``); a URL without credentials as is.

    Examples
    --------
    >>> redact_url("https://me:hunter2@api.example.com/v1"), redact_url("http://TOKEN@h/v1")
    ('https://***@api.example.com/v1', 'http://***@h/v1')
    >>> redact_url("http://h:8000/v1")
    'http://h:8000/v1'
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()
