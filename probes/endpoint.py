"""Talking to an endpoint outside the measured hot path: configuration, the preflight model
check and the prompt-length calibration, with the ``openai`` client (good at exactly that).
The endpoint file's schema is :class:`costmodel.model.endpoint.Endpoint`.
"""

from __future__ import annotations

from costmodel.model.endpoint import Endpoint


def openai_client(endpoint: Endpoint, timeout_s: float = 30.0):
    """An ``openai.OpenAI`` client for this endpoint (key from the environment, or a placeholder)."""
    import openai

    return openai.OpenAI(
        base_url=endpoint.base_url, api_key=endpoint.api_key() or "not-needed", timeout=timeout_s, max_retries=0
    )


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
        r = client.chat.completions.create(
            model=endpoint.model, messages=[{"role": "user", "content": prompt}], max_tokens=1, extra_body=extra
        )
    else:
        r = client.completions.create(model=endpoint.model, prompt=prompt, max_tokens=1, extra_body=extra)
    return r.usage.prompt_tokens if r.usage else None
