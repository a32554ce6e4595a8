"""Published serving runs: maximum-throughput runs (``data/validation/serving_throughput.csv``),
what the roofline is calibrated on (role ``calibration``) and checked against (role
``validation``); latency at a few streams (``data/validation/serving_latency.csv``), the
time per output token at low load; and streams held at a fixed
concurrency (``data/validation/serving_streams.csv``: TTFT, inter-token latency and throughput
at each concurrency); and requests arriving at a fixed rate (``serving_rates.csv``: the median
inter-token latency and the mean end-to-end latency at each rate). The time per output token of
the latency, fixed-concurrency and rate rows is fitted on (role ``calibration``) or held out
(``validation``) like a throughput row."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, field_validator

from costmodel.model.base import Strict


class _PublishedServing(Strict):
    """What every published serving measurement names: the stack it ran, the request shape, its source."""

    id: str = Field(min_length=1, description="Row id.")
    engine: str = Field(description="Engine id (data/catalog/engines.yaml).")
    engine_version: str = Field(description="Engine version the run used.")
    model: str = Field(description="Model id (data/catalog/models.yaml).")
    quantization: str = Field(description="Weight format id (data/catalog/quantizations.yaml).")
    gpu: str = Field(description="GPU id (data/catalog/gpus.yaml).")
    gpus_per_replica: int = Field(ge=1, description="Tensor-parallel size of the run.")
    input_tokens: int = Field(ge=1, description="Prompt tokens per request (fixed).")
    output_tokens: int = Field(ge=1, description="Output tokens per request (fixed).")
    source: str = Field(min_length=3, description="Where the figure is published.")
    as_of: date = Field(description="Date of the publication.")
    kv_cache_dtype: Literal["bf16", "fp8"] | None = Field(
        default=None, description="KV-cache dtype of the run; empty: the engine's default for the weight format."
    )
    cuda_graph_batch_sizes: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        default=(),
        description="Batch sizes the run captured CUDA graphs for with padding on (TensorRT-LLM's "
        "cuda_graph_config with enable_padding: true), space-separated: a decode-only step pads each "
        "scheduler's batch up to the next; empty: no padding.",
    )

    @field_validator("cuda_graph_batch_sizes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if value is None:  # an empty cell
            return ()
        return tuple(value.split()) if isinstance(value, str) else value


class _Role(Strict):
    role: Literal["calibration", "validation"] = Field(
        description="calibration: the engine's efficiencies are fitted on it; validation: held out to check the model."
    )


class PublishedRun(_PublishedServing, _Role):
    """One published maximum-throughput measurement."""

    requests: int | None = Field(
        default=None,
        ge=1,
        description="Requests in the benchmark run, all queued at once (the run's ramp and drain are modelled); "
        "empty: steady state.",
    )
    output_tokens_per_s: float = Field(gt=0, description="Published output tokens per second of the whole replica.")


class PublishedLatency(_PublishedServing, _Role):
    """One published latency measurement: a batch of requests run together to the end."""

    batch: int = Field(ge=1, description="Requests in the batch (streams decoding together).")
    output_tokens: int = Field(ge=2, description="Output tokens per request (fixed; a step after the first).")
    latency_s: float = Field(gt=0, description="Published time from the batch's start to its last token, s.")


class PublishedStreams(_PublishedServing, _Role):
    """One published point of a fixed-concurrency run: ``concurrency`` requests in flight at every
    moment (a finished one replaced at once), with the mean TTFT, inter-token latency and output
    throughput measured over the run."""

    concurrency: int = Field(ge=1, description="Requests kept in flight (closed loop).")
    output_tokens: int = Field(ge=2, description="Output tokens per request (fixed; a step after the first).")
    ttft_ms: float = Field(gt=0, description="Published mean time to first token, ms.")
    itl_ms: float = Field(gt=0, description="Published mean inter-token latency (time per output token), ms.")
    output_tokens_per_s: float = Field(gt=0, description="Published output tokens per second of the whole replica.")


class PublishedRate(_PublishedServing, _Role):
    """One published point of an online run at a fixed request rate (Poisson arrivals): the mean
    end-to-end latency, which with the rate gives the requests in flight on average (Little's
    law), and the median inter-token latency, a decode step at about that many."""

    request_rate: float = Field(gt=0, description="Requests sent per second, Poisson arrivals (--request-rate).")
    output_tokens: int = Field(ge=2, description="Output tokens per request (the run's mean; a step after the first).")
    mean_e2e_ms: float = Field(gt=0, description="Published mean end-to-end latency of a request, ms.")
    median_ttft_ms: float = Field(gt=0, description="Published median time to first token, ms.")
    median_itl_ms: float = Field(gt=0, description="Published median inter-token latency, ms.")

    @property
    def in_flight(self) -> float:
        """Requests in flight on average: rate x mean end-to-end latency (Little's law)."""
        return self.request_rate * self.mean_e2e_ms / 1e3
