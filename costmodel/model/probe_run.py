"""The probe-run format (``data/probes/<run-id>/``): one versioned definition, read and written
through these models by both the probe and the cost model.

A run folder holds:

* ``manifest.json``: :class:`ProbeManifest` (endpoint without secrets, load plan, package
  versions, status, per-level timing, SLO search);
* ``summary.csv``: one :class:`LevelSummary` row per load level, columns in field order;
* ``requests.jsonl``: one :class:`RequestRecord` per request, flushed as it ends.

``FORMAT`` names the version; readers refuse any other. What each summary column means is
the field's description below (also in ``docs/probes.md``).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from costmodel.model.base import Strict
from costmodel.model.endpoint import Endpoint

FORMAT = "llm-tco-probe/3"
"""Version 3 (2026-12-04): runs over several worker processes (``workers`` in the manifest and
in each level, ``worker`` on each record, status ``degraded``). Version 2 (2026-11-29): every
summary column typed and required; ``scheduled_rate`` added."""

RunStatus = Literal["running", "complete", "interrupted", "budget-stopped", "failed", "recovered", "degraded"]
PERCENTILES = (50, 90, 95, 99)


class _NoNaN(Strict):
    """Numbers that were not measured are ``None`` (an empty CSV cell), never NaN."""

    @field_validator("*", mode="before")
    @classmethod
    def _nan_is_none(cls, v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, str) and v.strip() == "":
            return None
        return v


class PlanPrices(_NoNaN):
    """Prices the probe used for its cost columns and budget guard."""

    usd_per_m_input: float | None = Field(default=None, ge=0, description="USD per 1M input tokens (cloud).")
    usd_per_m_output: float | None = Field(default=None, ge=0, description="USD per 1M output tokens (cloud).")
    usd_per_gpu_hour: float | None = Field(default=None, ge=0, description="USD per GPU-hour (self-hosted).")
    gpus: int = Field(default=1, ge=1, description="GPUs behind the endpoint.")
    source: str | None = Field(default=None, description="Where the prices come from, with the as-of date.")


class LoadPlanInfo(_NoNaN):
    """The load plan as run."""

    mode: Literal["concurrency", "rate"] = Field(description="Closed-loop concurrency or open-loop request rate.")
    levels: list[float] = Field(description="Concurrencies or request rates (per second) asked for.")
    requests_per_level: int = Field(ge=1, description="Measured requests per level (after warm-up).")
    duration_s_per_level: float = Field(gt=0, description="Time cap per level, seconds.")
    warmup: int | None = Field(description="Warm-up requests per level; None: one per stream or second.")
    burstiness: float = Field(gt=0, description="Gamma shape of arrival gaps (1 = Poisson).")
    max_concurrency: int | None = Field(description="Cap on streams in flight for rate levels.")
    retries: int = Field(ge=0, description="Retries of HTTP 429 responses.")
    seed: int = Field(description="Random seed of prompts and arrivals.")
    workers: int = Field(
        default=1, ge=1, description="Probe processes on this host; each sends every N-th request of the schedule."
    )
    slo_ms: dict[str, float] = Field(description="SLO bounds by percentile metric, e.g. ttft_p95: 500.")
    search: bool = Field(description="Whether the SLO search chose the levels.")
    input_tokens: int = Field(ge=0, description="Synthetic prompt length asked for, tokens.")
    output_tokens: int = Field(ge=1, description="Output length asked for, tokens.")
    dataset: str | None = Field(description="Prompt dataset file, if one replaced synthetic prompts.")
    max_cost_usd: float | None = Field(description="Budget limit, USD.")
    prices: PlanPrices = Field(description="Prices used for cost columns and the budget guard.")


class LevelMeta(_NoNaN):
    """Timing of one load level as the probe ran it."""

    name: str = Field(description="Level name: c<concurrency> or r<rate>.")
    mode: Literal["concurrency", "rate"] = Field(description="Concurrency or rate level.")
    concurrency: int | None = Field(description="Streams (concurrency) or cap (rate), if any.")
    rate: float | None = Field(description="Requested arrivals per second (rate levels).")
    warmup: int = Field(ge=0, description="Warm-up requests sent first.")
    requests_planned: int = Field(ge=0, description="Measured requests planned.")
    loop_lag_p95_ms: float | None = Field(description="p95 lag of the probe's own event loop, ms.")
    loop_lag_max_ms: float | None = Field(description="Largest lag of the probe's own event loop, ms.")
    started_s: float = Field(description="Start, seconds since the run started.")
    ended_s: float = Field(description="End, seconds since the run started.")
    workers: list[WorkerLevel] = Field(
        default_factory=list, description="Each worker process's share of the level (several workers only)."
    )


class WorkerLevel(_NoNaN):
    """One worker process's share of one level."""

    worker: int = Field(ge=0, description="Worker index (0 .. workers - 1).")
    planned: int = Field(ge=0, description="Requests of the level's schedule that are this worker's, warm-up included.")
    issued: int = Field(ge=0, description="Of those, the requests it sent before the level ended.")
    loop_lag_p95_ms: float | None = Field(description="p95 lag of this worker's event loop, ms.")
    loop_lag_max_ms: float | None = Field(description="Largest lag of this worker's event loop, ms.")


class WorkerInfo(_NoNaN):
    """A worker process of a run and how it ended."""

    worker: int = Field(ge=0, description="Worker index (0 .. workers - 1).")
    pid: int | None = Field(description="Its process id while it ran.")
    records: str = Field(description="The JSON-lines file it wrote (merged into requests.jsonl when the run ends).")
    status: Literal["running", "finished", "died"] = Field(description="running, finished, or died mid-run.")
    exit_code: int | None = Field(default=None, description="Its exit code (negative: the signal that ended it).")


class HostClock(_NoNaN):
    """A host of a run over a Ray cluster, and its clock against the driver's."""

    host: int = Field(ge=0, description="Host index (its workers are host x workers-per-host onwards).")
    node: str = Field(description="The Ray node id the host's agent ran on.")
    offset_ms: float = Field(description="Its clock minus the driver's before the run, from the fastest of 20 pings.")
    offset_error_ms: float = Field(ge=0, description="Half that ping's round trip: the offset is right to within it.")
    offset_after_ms: float | None = Field(description="The same after the run (None: the host was lost).")
    offset_after_error_ms: float | None = Field(description="Its error bound after the run.")
    lost: bool = Field(description="The host's agent or node was lost during the run.")


class HostInfo(Strict):
    """Where the probe ran."""

    platform: str = Field(description="Operating system and architecture.")
    cpus: int | None = Field(description="Logical CPUs.")


class SloSearch(_NoNaN):
    """Result of the SLO search (or of a level sweep with an SLO)."""

    best: float | None = Field(description="Highest load meeting the SLO.")
    first_failing: float | None = Field(default=None, description="Lowest load found to break the SLO.")
    tried: dict[str, bool] = Field(description="Load level -> whether it met the SLO.")


class ProbeManifest(_NoNaN):
    """``manifest.json``: what ran, against what, with which software, and how it ended."""

    format: Literal["llm-tco-probe/3"] = Field(description="File format version; readers check it.")
    run_id: str = Field(min_length=1, description="Unique run id (UTC start time, model, random suffix).")
    status: RunStatus = Field(
        description="running, complete, interrupted, budget-stopped, failed, recovered (rebuilt by --finalize "
        "after the process was killed or its disk filled), or degraded (a worker process died; its records are "
        "kept)."
    )
    started: datetime = Field(description="Start time (UTC, ISO 8601).")
    ended: datetime | None = Field(description="End time; None while running.")
    endpoint: Endpoint = Field(description="The endpoint as described (no secret).")
    plan: LoadPlanInfo = Field(description="The load plan.")
    versions: dict[str, str] = Field(description="Python and package versions.")
    host: HostInfo = Field(description="The probing machine.")
    levels: list[LevelMeta] = Field(description="Levels as run, in order.")
    slo_search: SloSearch | None = Field(default=None, description="SLO search result, if an SLO was given.")
    spent_usd: float | None = Field(default=None, ge=0, description="Billed cost of the run so far, USD.")
    stopped_by: Literal["SIGINT", "SIGTERM", "budget", "write-error", "internal-error", "worker-died"] | None = Field(
        default=None,
        description="Why the run stopped before its plan ended: a signal, the budget guard, a failed write, "
        "an internal error, or a worker process that died.",
    )
    failure: str | None = Field(default=None, description="What went wrong, when an internal error stopped it.")
    workers: list[WorkerInfo] = Field(
        default_factory=list, description="The run's worker processes (several workers only), with how each ended."
    )
    hosts: list[HostClock] = Field(
        default_factory=list, description="The hosts of a run over a Ray cluster, with their clock offsets."
    )


MAX_LATENCY_MS = 86_400_000.0  # a day: no request of a probe run waits longer
MIN_LATENCY_MS = 1e-6  # a nanosecond: no network answer is faster (0 means none measured)
MAX_RATE = 1e9  # requests or tokens per second: no endpoint serves more
MAX_COUNT = 1e12  # requests, tokens, seconds, USD: bounds a run cannot reach


class LevelSummary(_NoNaN):
    """One row of ``summary.csv``: a load level's measured (non-warm-up) requests.

    Failed requests count in every denominator (error rate, requests/s, goodput); latency
    percentiles are over successful requests. Interrupted requests are left out.
    """

    level: str = Field(description="Level name: c<concurrency> or r<rate>.")
    mode: Literal["concurrency", "rate"] = Field(description="Concurrency or rate level.")
    concurrency: int | None = Field(description="Streams (concurrency levels) or the cap (rate levels).")
    requested_rate: float | None = Field(description="Requested arrivals per second (rate levels).")
    requests: int = Field(ge=0, description="Measured requests, failed ones included.")
    ok: int = Field(ge=0, description="Successful requests.")
    errors: int = Field(ge=0, description="Failed requests.")
    error_rate: float | None = Field(description="errors / requests.")
    errors_by_kind: dict[str, int] = Field(description="Failed requests by error kind (JSON in the CSV).")
    throttle_rate: float = Field(ge=0, description="HTTP 429 answers per attempt.")
    duration_s: float | None = Field(description="First send to last end of the level's requests, seconds.")
    requests_per_s: float | None = Field(description="requests / duration_s.")
    achieved_rate: float | None = Field(description="Rate at which requests were actually sent, per second.")
    scheduled_rate: float | None = Field(description="Rate of the drawn arrival schedule, per second.")
    output_tokens_per_s: float | None = Field(description="Output tokens of successful requests / duration_s.")
    input_tokens_per_s: float | None = Field(description="Input tokens of successful requests / duration_s.")
    mean_output_tokens: float | None = Field(description="Mean output tokens per successful request.")
    mean_input_tokens: float | None = Field(description="Mean input tokens per successful request.")
    token_source: str | None = Field(description="Where token counts came from: usage, tokenizer or chunks.")
    ttft_p50_ms: float | None = Field(description="p50 time to first token (request sent to first token), ms.")
    ttft_p90_ms: float | None = Field(description="p90 time to first token, ms.")
    ttft_p95_ms: float | None = Field(description="p95 time to first token, ms.")
    ttft_p99_ms: float | None = Field(description="p99 time to first token, ms.")
    ttft_content_p50_ms: float | None = Field(description="p50 time to first content chunk, ms.")
    ttft_content_p90_ms: float | None = Field(description="p90 time to first content chunk, ms.")
    ttft_content_p95_ms: float | None = Field(description="p95 time to first content chunk, ms.")
    ttft_content_p99_ms: float | None = Field(description="p99 time to first content chunk, ms.")
    itl_p50_ms: float | None = Field(description="p50 gap between successive content chunks, ms.")
    itl_p90_ms: float | None = Field(description="p90 gap between successive content chunks, ms.")
    itl_p95_ms: float | None = Field(description="p95 gap between successive content chunks, ms.")
    itl_p99_ms: float | None = Field(description="p99 gap between successive content chunks, ms.")
    tpot_p50_ms: float | None = Field(description="p50 time per output token, (e2e - TTFT) / (tokens - 1), ms.")
    tpot_p90_ms: float | None = Field(description="p90 time per output token, ms.")
    tpot_p95_ms: float | None = Field(description="p95 time per output token, ms.")
    tpot_p99_ms: float | None = Field(description="p99 time per output token, ms.")
    e2e_p50_ms: float | None = Field(description="p50 end-to-end latency, ms.")
    e2e_p90_ms: float | None = Field(description="p90 end-to-end latency, ms.")
    e2e_p95_ms: float | None = Field(description="p95 end-to-end latency, ms.")
    e2e_p99_ms: float | None = Field(description="p99 end-to-end latency, ms.")
    schedule_lag_p50_ms: float | None = Field(description="p50 of actual minus scheduled send time, ms.")
    schedule_lag_p95_ms: float | None = Field(description="p95 of actual minus scheduled send time, ms.")
    schedule_lag_max_ms: float | None = Field(description="Largest send delay behind schedule, ms.")
    loop_lag_p95_ms: float | None = Field(description="p95 lag of the probe's own event loop, ms.")
    goodput_rps: float | None = Field(description="Requests per second that succeeded and met every SLO bound.")
    goodput_output_tokens_per_s: float | None = Field(description="Output tokens/s of those requests.")
    valid: bool = Field(description="False when the probe itself limited the measurement (see invalid_reason).")
    invalid_reason: str | None = Field(description="Why the level is not a valid measurement.")
    slo: str | None = Field(description="The SLO the level was judged against, e.g. ttft_p95=500ms.")
    slo_met: bool | None = Field(description="Valid, within every SLO bound, error rate at most 1 %; None: no SLO.")
    usd_per_m_output_tokens: float | None = Field(
        default=None, description="Self-hosted: GPU-hour price x GPUs / (goodput output tokens/s x 3600) x 1e6."
    )
    usd_per_m_tokens: float | None = Field(
        default=None, description="Cloud: billed USD per 1M input + output tokens at the catalog price."
    )

    @field_validator("*", mode="after")
    @classmethod
    def _physical(cls, v: Any, info: ValidationInfo) -> Any:
        """A summary someone edited (or a bug wrote) must still describe requests that could happen."""
        name = info.field_name or ""
        if not isinstance(v, int | float) or isinstance(v, bool) or "_lag_" in name:  # lags: timer jitter, ±
            return v
        if name.endswith("_ms"):
            bound, low = MAX_LATENCY_MS, MIN_LATENCY_MS
        elif name in ("error_rate", "throttle_rate"):
            bound, low = 1.0, 0.0
        elif name.endswith(("_per_s", "_rps", "_rate")):
            bound, low = MAX_RATE, 0.0
        else:
            bound, low = MAX_COUNT, 0.0
        if v < 0 or v > bound or 0 < v < low:
            raise ValueError(f"not a physical value (0, or {low:g} to {bound:g})")
        return v

    @model_validator(mode="after")
    def _counts_add_up(self) -> LevelSummary:
        if self.ok + self.errors > self.requests:
            raise ValueError(f"ok + errors = {self.ok + self.errors} exceeds requests = {self.requests}")
        return self

    @field_validator("errors_by_kind", mode="before")
    @classmethod
    def _json_cell(cls, v: Any) -> Any:
        import json

        if v is None:
            return {}
        return json.loads(v) if isinstance(v, str) else v

    @property
    def load(self) -> float:
        """The level's load: concurrency, or requested rate."""
        return float((self.concurrency if self.mode == "concurrency" else self.requested_rate) or 0)


class RequestRecord(_NoNaN):
    """One line of ``requests.jsonl``: a request as measured. Times in ms; ``*_s`` are seconds
    since the run started."""

    run_id: str = Field(description="Run id.")
    level: str = Field(description="Level name.")
    request_id: int = Field(ge=0, description="Index within the level.")
    warmup: bool = Field(description="Warm-up request (left out of the summary).")
    scheduled_s: float = Field(description="When it was due to be sent.")
    sent_s: float | None = Field(default=None, description="When it was sent.")
    end_s: float | None = Field(default=None, description="When it ended.")
    schedule_lag_ms: float | None = Field(default=None, description="Sent minus scheduled, ms.")
    ttft_ms: float | None = Field(default=None, description="Time to first token, ms.")
    ttft_content_ms: float | None = Field(default=None, description="Time to first content chunk, ms.")
    e2e_ms: float | None = Field(default=None, description="End-to-end latency, ms.")
    tpot_ms: float | None = Field(default=None, description="Time per output token after the first, ms.")
    itl_ms: list[float] = Field(default_factory=list, description="Gaps between content chunks, ms.")
    input_tokens: int | None = Field(default=None, description="Prompt tokens (server usage where given).")
    output_tokens: int | None = Field(default=None, description="Output tokens.")
    token_source: str | None = Field(default=None, description="usage, tokenizer or chunks.")
    token_events: int = Field(default=0, description="Content events received.")
    status: int | None = Field(default=None, description="HTTP status.")
    ok: bool = Field(default=False, description="Succeeded.")
    error_kind: str | None = Field(default=None, description="Class of failure, e.g. timeout, http_429.")
    error: str | None = Field(default=None, description="Error text (secrets redacted).")
    retry_after_s: float | None = Field(default=None, description="Retry-After the server asked for, s.")
    attempts: int = Field(default=1, ge=1, description="Attempts made (retries of 429s).")
    throttled: int = Field(default=0, ge=0, description="HTTP 429 answers received.")
    worker: int = Field(default=0, ge=0, description="The worker process that sent it (0 with one process).")


SUMMARY_COLUMNS = tuple(LevelSummary.model_fields)
