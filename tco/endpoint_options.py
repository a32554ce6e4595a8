"""The options that name an endpoint and bound a run against it, shared by ``tco probe``, ``tco
quality`` and ``tco classify``: written once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EndpointFile = Annotated[Path | None, typer.Argument(help="Endpoint YAML (data/endpoints/*.yaml).")]
BaseUrl = Annotated[str | None, typer.Option(help="Base URL with /v1, e.g. http://127.0.0.1:8000/v1.")]
Model = Annotated[str | None, typer.Option(help="Model name sent in requests.")]
ApiStyle = Annotated[str, typer.Option(help="chat or completions.")]
ApiKeyEnv = Annotated[
    str | None, typer.Option(help="Name of the environment variable holding the key (never the key itself).")
]
PriceIn = Annotated[float | None, typer.Option(min=0, max=1e4, help="USD per 1M input tokens (for --base-url runs).")]
PriceOut = Annotated[float | None, typer.Option(min=0, max=1e4, help="USD per 1M output tokens (for --base-url runs).")]
Timeout = Annotated[float, typer.Option(min=0.1, help="Seconds per request at most.")]
MaxCostUsd = Annotated[float | None, typer.Option(min=0, max=1e6, help="Budget the bill never passes (needs a price).")]
ItemTimeout = Annotated[float, typer.Option(min=0.1, help="Seconds per item at most.")]
