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


def preflight(endpoint: Endpoint) -> tuple[list[str], str | None]:
    """Check the endpoint answers and serves the model: the served model ids, and a note when the
    model could not be checked (no ``/models``, or a reply that is not a model list).

    Raises ``RuntimeError`` with a readable reason when the endpoint cannot be reached, refuses
    the key, or lists models without this one.
    """
    import openai

    client = openai_client(endpoint, timeout_s=10.0)
    try:
        models = client.models.list()
        ids = [str(m.id) for m in (getattr(models, "data", None) or []) if getattr(m, "id", None)]
    except openai.NotFoundError:
        return [], f"{endpoint.shown_url()}/models is not served; the model name is not checked"
    except openai.APIConnectionError as e:
        raise RuntimeError(f"cannot reach {endpoint.shown_url()}: {e.__cause__ or e}") from None
    except openai.AuthenticationError:
        raise RuntimeError(f"{endpoint.shown_url()} rejected the API key from ${endpoint.api_key_env}") from None
    except openai.APIStatusError as e:
        raise RuntimeError(f"{endpoint.shown_url()}/models answered HTTP {e.status_code}") from None
    except (openai.OpenAIError, ValueError, TypeError, AttributeError, KeyError) as e:  # not a model list
        return (
            [],
            f"{endpoint.shown_url()}/models gave no model list ({type(e).__name__}); the model name is not checked",
        )
    if not ids:
        return [], f"{endpoint.shown_url()}/models listed no models; the model name is not checked"
    if endpoint.model not in ids:
        raise RuntimeError(f"{endpoint.shown_url()} does not serve model {endpoint.model!r}; it serves {ids}")
    return ids, None


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
