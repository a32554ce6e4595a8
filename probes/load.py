"""Load generation: fixed-concurrency sweeps, open-loop request rates, and the SLO search.

Each level sends ``warmup`` requests first (recorded, flagged, left out of the summary),
then up to ``requests`` measured ones, and stops early at ``duration_s``. Rate levels
schedule Poisson arrivals (gamma-distributed gaps with shape ``burstiness``; 1 = Poisson,
as vLLM's benchmark), optionally capped at ``max_concurrency``; the gap between the
scheduled and the actual send time of every request is recorded, and a level whose probe
fell behind is flagged invalid. A monitor samples the event loop's own lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import signal
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from costmodel.model.base import printable
from costmodel.model.endpoint import Endpoint
from costmodel.model.probe_run import LevelSummary
from probes.budget import Budget
from probes.client import Record, StreamingClient, streamed_body
from probes.prompts import Prompt
from probes.results import RunWriter, summarize_level


@dataclass(frozen=True)
class LoadPlan:
    """What to send, and how hard."""

    mode: str  # "concurrency" or "rate"
    levels: tuple[float, ...]
    requests: int = 50
    duration_s: float = 300.0
    warmup: int | None = None  # default: one per stream (concurrency) or one second of arrivals (rate)
    burstiness: float = 1.0
    max_concurrency: int | None = None
    retries: int = 0
    seed: int = 0
    slo: dict[str, float] = field(default_factory=dict)  # e.g. {"ttft_p95": 500, "tpot_p95": 50}
    search: bool = False
    search_max: float = 256
    max_error_rate: float = 0.01

    def warmup_for(self, value: float) -> int:
        if self.warmup is not None:
            return self.warmup
        return int(value) if self.mode == "concurrency" else max(1, math.ceil(value))

    def level_name(self, value: float) -> str:
        return f"c{int(value)}" if self.mode == "concurrency" else f"r{value:g}"

    def share(self, value: float, worker: int, workers: int) -> range:
        """Requests of a level's schedule worker ``worker`` of ``workers`` sends: ``i % workers == worker``."""
        return range(worker, self.warmup_for(value) + self.requests, workers)

    def level_meta(self, value: float) -> dict[str, Any]:
        """What a level's meta (``LevelMeta``) says of the plan, whoever ran it."""
        return {
            "name": self.level_name(value),
            "mode": self.mode,
            "concurrency": int(value) if self.mode == "concurrency" else self.max_concurrency,
            "rate": value if self.mode == "rate" else None,
            "warmup": self.warmup_for(value),
            "requests_planned": self.requests,
        }


def request_body(endpoint: Endpoint, prompt: Prompt) -> bytes:
    """The JSON body of one streamed request."""
    body = streamed_body(
        endpoint.api_style, endpoint.model, prompt.output_tokens, prompt.messages or [], prompt.text or ""
    )
    if endpoint.server == "vllm":  # exact output lengths, and usage on every chunk
        body["ignore_eos"] = True
        body["min_tokens"] = prompt.output_tokens
        body["stream_options"]["continuous_usage_stats"] = True
    return json.dumps(body).encode()


@dataclass
class Runner:
    """Runs levels against one endpoint, writing every request as it ends."""

    endpoint: Endpoint
    client: StreamingClient
    writer: RunWriter
    prompts: Callable[[int, int], list[Prompt]]  # (level index, count) -> prompts
    plan: LoadPlan
    run_id: str
    budget: Budget = field(default_factory=Budget)  # the endpoint's price, the spend and the budget guard
    count_tokens: Callable[[str], int] | None = None
    on_record: Callable[[Record], None] | None = None
    on_level_start: Callable[[str, int], None] | None = None  # (level name, requests incl. warm-up)
    on_level_end: Callable[[str], None] | None = None
    stop_reason: str | None = None
    share: tuple[int, int] = (0, 1)  # (this worker, workers): it sends requests i with i % workers == this
    write_error: OSError | None = None
    failure: str | None = None  # a bug met mid-run: the run stops as failed, finished records kept
    t0: float = field(default_factory=time.perf_counter)
    _inflight: set = field(default_factory=set)
    _max_tokens: list[int] = field(default_factory=list)
    _loop_lags: list[float] = field(default_factory=list)

    def stop(self, reason: str, cancel: bool = True) -> None:
        """Send nothing more; with ``cancel``, cut the requests in flight (recorded as interrupted)."""
        if self.stop_reason is None:
            self.stop_reason = reason
        if cancel:
            for task in list(self._inflight):
                task.cancel()

    @property
    def spent_usd(self) -> float:
        return self.budget.spent_usd

    async def _monitor_loop(self) -> None:
        """Sample how late the event loop wakes up: the probe's own lag."""
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            self._loop_lags.append((time.perf_counter() - t - 0.005) * 1e3)

    async def _one(
        self,
        level: str,
        index: int,
        body: bytes,
        warmup: bool,
        scheduled: float,
        max_tokens: int,
    ) -> None:
        if self.stop_reason is not None:
            return
        # the worst case is bounded from what is sent: the body's bytes (a token is at least one
        # byte of it) and the answer's max_tokens, whichever mode the request comes from
        prompt_bytes = len(body)
        held = await self.budget.reserve(prompt_bytes, max_tokens, self.stop_reason is not None)
        if held is None:
            self.stop("budget", cancel=False)  # what is in flight is already covered: let it finish
            return
        record = Record(self.run_id, level, index, warmup, scheduled, worker=self.share[0])
        task = asyncio.current_task()
        self._inflight.add(task)
        try:
            attempt = record
            while True:
                ex = await self.client.send(self.endpoint.path, body, attempt, self.t0, max_tokens)
                if attempt.error_kind == "http_429":
                    record.throttled += 1
                    if record.attempts <= self.plan.retries and self.stop_reason is None:
                        await asyncio.sleep(attempt.retry_after_s or min(2.0**record.attempts, 30.0))
                        record.attempts += 1
                        attempt = replace(
                            record, sent_s=None, error_kind=None, error=None, status=None, retry_after_s=None
                        )
                        continue
                break
            if attempt is not record:
                attempt.attempts, attempt.throttled = record.attempts, record.throttled
                attempt.schedule_lag_ms = record.schedule_lag_ms
                record = attempt
            if (
                ex is not None
                and record.ok
                and record.token_source != "usage"
                and self.count_tokens
                and ex.text_parts is not None
            ):
                record.output_tokens = self.count_tokens("".join(ex.text_parts))
                record.token_source = "tokenizer"
                if record.output_tokens > 1 and record.e2e_ms is not None and record.ttft_ms is not None:
                    record.tpot_ms = (record.e2e_ms - record.ttft_ms) / (record.output_tokens - 1)
        except asyncio.CancelledError:
            record.ok, record.error_kind, record.error = False, "interrupted", self.stop_reason or "cancelled"
            record.end_s = time.perf_counter() - self.t0
        finally:
            self._inflight.discard(task)
        if not self.writer.write(record) and self.write_error is None:
            self.write_error = self.writer.failed
            self.stop("write-error")
        self.budget.settle(
            held, prompt_bytes, record.input_tokens, record.output_tokens, record.error_kind == "interrupted"
        )
        if self.on_record is not None:
            self.on_record(record)

    def _note_failures(self, outcomes: list[Any]) -> None:
        """A request that raised (a bug, not a fault: faults are records) stops the run as failed."""
        for outcome in outcomes:
            if isinstance(outcome, Exception) and self.failure is None:
                self.failure = f"{type(outcome).__name__}: {printable(str(outcome))[:500]}"
                self.stop("internal-error", cancel=False)

    async def run_level(self, index: int, value: float, start_at: float | None = None) -> dict[str, Any]:
        """Run one level; ``start_at`` (a ``time.perf_counter`` instant, the host-wide monotonic
        clock) starts it then, so that several workers share one schedule."""
        plan = self.plan
        name = plan.level_name(value)
        warm = plan.warmup_for(value)
        total = warm + plan.requests
        prompts = self.prompts(index, total)
        bodies = [request_body(self.endpoint, p) for p in prompts]
        self._max_tokens = [p.output_tokens for p in prompts]
        if self.on_level_start is not None:
            self.on_level_start(name, total)
        try:
            return await self._run_level(index, name, value, warm, total, bodies, start_at)
        finally:
            if self.on_level_end is not None:
                self.on_level_end(name)

    async def _run_level(
        self,
        index: int,
        name: str,
        value: float,
        warm: int,
        total: int,
        bodies: list[bytes],
        start_at: float | None = None,
    ) -> dict[str, Any]:
        plan = self.plan
        me, workers = self.share
        mine = plan.share(value, me, workers)  # this worker's requests of the level's schedule
        if start_at is not None:
            await asyncio.sleep(max(start_at - time.perf_counter(), 0.0))
        start = time.perf_counter() if start_at is None else start_at
        deadline = start + plan.duration_s
        self._loop_lags.clear()
        issued = 0
        if plan.mode == "concurrency":
            counter = iter(mine)

            async def worker() -> None:
                nonlocal issued
                while self.stop_reason is None and time.perf_counter() < deadline:
                    i = next(counter, None)
                    if i is None:
                        return
                    issued += 1
                    await self._one(name, i, bodies[i], i < warm, time.perf_counter() - self.t0, self._max_tokens[i])

            streams = len(range(me, int(value), workers))  # stream s belongs to worker s % workers
            self._note_failures(await asyncio.gather(*(worker() for _ in range(streams)), return_exceptions=True))
        else:
            # every worker draws the whole schedule and keeps its own arrivals: their union is the
            # one-process schedule, and no two workers' gaps are drawn alike
            rng = np.random.default_rng(plan.seed + index)
            gaps = rng.gamma(plan.burstiness, 1.0 / (value * plan.burstiness), size=total)
            offsets = np.concatenate([[0.0], np.cumsum(gaps[1:])])
            cap = len(range(me, plan.max_concurrency, workers)) if plan.max_concurrency else 0
            limit = asyncio.Semaphore(cap) if cap else None
            tasks = []
            for i in mine:
                offset = float(offsets[i])
                if self.stop_reason is not None or offset > plan.duration_s:
                    break
                issued += 1
                delay = start + offset - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if limit is not None:
                    await limit.acquire()
                scheduled = start + offset - self.t0
                task = asyncio.ensure_future(self._one(name, i, bodies[i], i < warm, scheduled, self._max_tokens[i]))
                if limit is not None:
                    task.add_done_callback(lambda _t: limit.release())
                tasks.append(task)
            self._note_failures(await asyncio.gather(*tasks, return_exceptions=True))
        lags = self._loop_lags
        return {
            **plan.level_meta(value),
            "loop_lag_p95_ms": float(np.percentile(lags, 95)) if lags else float("nan"),
            "loop_lag_max_ms": max(lags) if lags else float("nan"),
            "started_s": start - self.t0,
            "ended_s": time.perf_counter() - self.t0,
            # this process's part (costmodel.model.probe_run.WorkerLevel), kept when several share the level
            "share": {
                "worker": me,
                "planned": len(mine),
                "issued": issued,
                "loop_lag_p95_ms": float(np.percentile(lags, 95)) if lags else None,
                "loop_lag_max_ms": max(lags) if lags else None,
            },
        }


async def run_plan(
    runner: Runner, records_of: Callable[[], Any], on_level: Callable[[dict[str, Any], LevelSummary], None]
) -> dict[str, Any] | None:
    """Run every level of the plan (or the SLO search); returns the search result, if any.

    ``records_of()`` gives the records so far (a DataFrame) for the per-level summary;
    ``on_level(meta, summary_row)`` is told about each finished level.
    """
    monitor = asyncio.ensure_future(runner._monitor_loop())
    try:
        return await sweep(runner.plan, runner.run_level, lambda: runner.stop_reason, records_of, on_level)
    finally:
        monitor.cancel()


async def sweep(
    plan: LoadPlan,
    run_level: Callable[[int, float], Any],
    stopped: Callable[[], str | None],
    records_of: Callable[[], Any],
    on_level: Callable[[dict[str, Any], LevelSummary], None],
) -> dict[str, Any] | None:
    """The plan's levels (or the SLO search) through ``run_level(index, value)`` (a coroutine
    giving the level's meta: one process's runner, or the workers'), until ``stopped()``."""
    results: dict[float, bool] = {}
    index = 0

    async def measure(value: float) -> bool:
        nonlocal index
        meta = await run_level(index, value)
        index += 1
        row = summarize_level(records_of(), meta, plan.slo, plan.max_error_rate)
        on_level(meta, row)
        results[value] = bool(row.slo_met)
        return results[value]

    if not plan.search:
        for value in plan.levels:
            if stopped():
                break
            ok = await measure(value)
            if plan.slo and not ok:
                break  # higher load only breaks the SLO further
        best = max((v for v, ok in results.items() if ok), default=None)
        return {"best": best, "tried": results} if plan.slo else None
    # SLO search: double until the SLO breaks, then bisect.
    value = plan.levels[0] if plan.levels else 1.0
    good, bad = None, None
    while stopped() is None and value <= plan.search_max:
        if await measure(value):
            good, value = value, value * 2
        else:
            bad = value
            break
    while stopped() is None and good is not None and bad is not None:
        mid = (good + bad) / 2
        if plan.mode == "concurrency":
            mid = math.floor(mid)
            if mid <= good:
                break
        elif bad / good < 1.1:
            break
        if await measure(mid):
            good = mid
        else:
            bad = mid
    return {"best": good, "first_failing": bad, "tried": results}


class Stoppable(Protocol):
    """A run a signal can stop: a load runner or a quality run."""

    stop_reason: str | None

    def stop(self, reason: str, cancel: bool = True) -> None: ...


def install_sigint(runner: Stoppable) -> None:
    """First Ctrl-C (or SIGTERM): stop, record what is in flight as interrupted, keep what was
    measured. A second one exits at once."""
    loop = asyncio.get_running_loop()

    def handler(reason: str) -> None:
        if runner.stop_reason is not None and runner.stop_reason != "budget":
            raise KeyboardInterrupt
        runner.stop(reason)

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread (uvloop: ValueError)
        loop.add_signal_handler(signal.SIGINT, handler, "interrupted")
        loop.add_signal_handler(signal.SIGTERM, handler, "terminated")


def live_median(values: list[float]) -> float | None:
    return statistics.median(values[-200:]) if values else None
