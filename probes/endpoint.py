"""Endpoints to probe: described in ``data/endpoints/*.yaml`` or on the command line.

An endpoint names the *environment variable* that holds its API key, never the key. The
``openai`` client is used here for what it is good at: configuration and non-streamed
calls (the preflight model check and the prompt-length calibration).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field

from costmodel.catalog import Commitment, Strict


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

    def api_key(self) -> str | None:
        """The key, read from the environment at the moment it is needed."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    @property
    def path(self) -> str:
        return "/chat/completions" if self.api_style == "chat" else "/completions"


def openai_client(endpoint: Endpoint, timeout_s: float = 30.0):
    """An ``openai.OpenAI`` client for this endpoint (key from the environment, or a placeholder)."""
    import openai

    return openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key() or "not-needed",
                         timeout=timeout_s, max_retries=0)


def preflight(endpoint: Endpoint) -> list[str]:
    """Check the endpoint answers and serves the model; returns the served model ids.

    Raises ``RuntimeError`` with a readable reason. Servers without ``/models`` pass.
    """
    import openai

    client = openai_client(endpoint, timeout_s=10.0)
    try:
        ids = [m.id for m in client.models.list().data]
    except openai.NotFoundError:
        return []
    except openai.APIConnectionError as e:
        raise RuntimeError(f"cannot reach {endpoint.base_url}: {e.__cause__ or e}") from None
    except openai.AuthenticationError:
        raise RuntimeError(f"{endpoint.base_url} rejected the API key from ${endpoint.api_key_env}") from None
    except openai.APIStatusError as e:
        raise RuntimeError(f"{endpoint.base_url}/models answered HTTP {e.status_code}") from None
    if ids and endpoint.model not in ids:
        raise RuntimeError(f"{endpoint.base_url} does not serve model {endpoint.model!r}; it serves {ids}")
    return ids


def count_prompt_tokens(endpoint: Endpoint, prompt: str, timeout_s: float = 30.0) -> int | None:
    """Prompt tokens the server counts for ``prompt`` (a non-streamed 1-token request); None if unknown."""
    import openai

    client = openai_client(endpoint, timeout_s)
    try:
        return _count_prompt_tokens(client, endpoint, prompt)
    except (openai.OpenAIError, AttributeError, TypeError):
        return None


def _count_prompt_tokens(client, endpoint: Endpoint, prompt: str) -> int | None:
    extra = {"ignore_eos": True} if endpoint.server == "vllm" else None
    if endpoint.api_style == "chat":
        r = client.chat.completions.create(model=endpoint.model, messages=[{"role": "user", "content": prompt}],
                                           max_tokens=1, extra_body=extra)
    else:
        r = client.completions.create(model=endpoint.model, prompt=prompt, max_tokens=1, extra_body=extra)
    return r.usage.prompt_tokens if r.usage else None
