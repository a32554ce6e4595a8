"""One probe run over several processes on this host (``tco probe --workers N``).

One process holds about 900 requests/s at 256 streams here (``bench/probe_overhead.py``); past
that its own event loop becomes the bottleneck. With ``N`` workers:

* **One schedule.** Every worker draws the level's whole seeded arrival schedule (the same
  gamma gaps as one process) and sends only requests ``i`` with ``i % N == worker``; in a
  concurrency level, stream ``s`` belongs to worker ``s % N``. The union of what the workers
  send is the one-process schedule, request for request; no two workers' gaps are alike.
* **One clock.** Times are ``time.perf_counter`` (``CLOCK_MONOTONIC``, one clock for the whole
  host) from the parent's start; the parent tells every worker the instant a level starts.
* **Nothing lost.** Each worker writes and flushes its own ``requests.w<k>.jsonl`` as
  requests end; after each level the parent summarises the raw records of all of them (exact
  percentiles over every request, never averages of percentiles), and merges the files into
  ``requests.jsonl`` when the run ends (``tco probe --finalize`` does it for a run killed first).
* **Counted.** Each level records every worker's planned and issued requests and its own event
  loop's lag (the level is flagged when any worker lagged). A worker that dies marks the run
  ``degraded`` and stops it after that level; what it flushed is kept.

The parent forwards Ctrl-C to the workers (they run in their own process group), which record
their requests in flight as interrupted, as one process does.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probes.load import LoadPlan, Runner, install_sigint
from probes.results import WORKER_RECORDS, RunWriter, read_records

READY_TIMEOUT_S = 120.0  # a worker imports the probe and connects within this, or the run fails
START_LEAD_S = 0.2  # a level starts this long after the parent tells the workers: time to hear it


@dataclass(frozen=True)
class PromptSource:
    """How a level's prompts are made, the same in every process: ``(level, n) -> prompts``."""

    output_tokens: int
    chat: bool
    seed: int
    run_id: str
    words: int = 0  # synthetic prompts of this many words (calibrated to the prompt tokens asked for)
    dataset: Path | None = None  # or prompts read from this JSONL file

    def __call__(self, level: int, n: int) -> list[Any]:
        from probes import prompts

        if self.dataset is not None:
            return prompts.from_jsonl(self.dataset, n, self.output_tokens, self.chat)
        return prompts.synthetic(
            n, self.words, self.output_tokens, self.seed * 1000 + level, self.chat, f"{self.run_id}-L{level}"
        )


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process needs: sent to it once, when it starts (no secret: the key is read
    from the environment it inherits)."""

    index: int
    count: int
    endpoint: dict[str, Any]  # Endpoint.model_dump(mode="json")
    plan: LoadPlan
    run_dir: Path
    run_id: str
    t0: float
    prompts: PromptSource
    timeout_s: float
    usd_per_m_input: float | None
    usd_per_m_output: float | None
    max_cost_usd: float | None  # this worker's part of what the budget has left
    tokenizer: Path | None = None


def worker_main(setup: WorkerSetup, conn: Any, events: Any) -> None:
    """A worker process: run each level it is told to, write its records, answer with the level's meta."""
    os.setpgrp()  # the terminal's Ctrl-C reaches the parent only; the parent forwards it once
    from costmodel.io.redact import Redactor
    from costmodel.model.endpoint import Endpoint
    from probes.budget import Budget
    from probes.client import StreamingClient, Target, run_async

    endpoint = Endpoint.model_validate(setup.endpoint)
    key = endpoint.api_key()
    writer = RunWriter(
        setup.run_dir,
        secrets=Redactor.of([key], [endpoint.base_url]).secrets,
        records=WORKER_RECORDS.format(setup.index),
    )
    count_tokens = None
    if setup.tokenizer is not None:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(setup.tokenizer))

        def count_tokens(text: str) -> int:
            return len(tok.encode(text, add_special_tokens=False).ids)

    client = StreamingClient(
        Target.from_url(endpoint.base_url, key), timeout_s=setup.timeout_s, want_text=setup.tokenizer is not None
    )
    runner = Runner(
        endpoint,
        client,
        writer,
        setup.prompts,
        setup.plan,
        setup.run_id,
        budget=Budget(setup.usd_per_m_input, setup.usd_per_m_output, setup.max_cost_usd),
        count_tokens=count_tokens,
        on_record=lambda r: events.put((setup.index, r.ok, r.warmup, r.ttft_ms, r.error_kind)),
        share=(setup.index, setup.count),
        t0=setup.t0,
    )

    async def serve() -> None:
        install_sigint(runner)
        loop = asyncio.get_running_loop()
        monitor = asyncio.ensure_future(runner._monitor_loop())
        conn.send(("ready", os.getpid()))
        try:
            while True:
                try:
                    message = await loop.run_in_executor(None, conn.recv)
                except EOFError:  # the parent is gone: nothing more to do
                    return
                if message[0] != "level":
                    return
                _, index, value, start_at = message
                meta = await runner.run_level(index, value, start_at)
                failed = None if writer.failed is None else str(writer.failed)
                conn.send(("level", meta, runner.stop_reason, runner.spent_usd, runner.failure, failed))
        finally:
            monitor.cancel()
            await client.aclose()

    try:
        run_async(serve())
    except KeyboardInterrupt:  # a second Ctrl-C: leave at once; every record written is kept
        pass
    finally:
        writer.close()


@dataclass
class WorkerState:
    """The parent's view of one worker."""

    index: int
    process: Any
    conn: Any
    pid: int | None = None
    died: bool = False
    spent_usd: float = 0.0  # USD billed so far, as it last said


class Pool:
    """What a run over several parts (this host's worker processes, or a Ray cluster's hosts) keeps
    of them: why it stopped, the first failure a part met, and what they billed."""

    def __init__(self) -> None:
        self.stop_reason: str | None = None
        self.failure: str | None = None
        self.spent_usd = 0.0

    def report(self, part: Any, spent_usd: float, failure: str | None, reason: str | None) -> None:
        """One part's answer after a level: its billing so far (``part.spent_usd`` is what it said
        last time), its failure and stop reason (the first of each counts)."""
        self.spent_usd += spent_usd - part.spent_usd
        part.spent_usd = spent_usd
        if failure and self.failure is None:
            self.failure = failure
        if reason is not None and self.stop_reason is None:
            self.stop_reason = reason


class Workers(Pool):
    """The parent's side: start the workers, run each level across them, merge what they say."""

    def __init__(self, setups: list[WorkerSetup], on_event: Callable[[tuple], None]) -> None:
        super().__init__()
        ctx = mp.get_context("spawn")  # a clean interpreter: no inherited event loop or threads
        self.events = ctx.Queue()
        self.setups = setups
        self.run_dir = setups[0].run_dir
        self.workers: list[WorkerState] = []
        self._forwarded = False
        for s in setups:
            parent, child = ctx.Pipe()
            process = ctx.Process(
                target=worker_main, args=(s, child, self.events), name=f"tco-probe-worker-{s.index}", daemon=True
            )
            process.start()
            child.close()
            self.workers.append(WorkerState(s.index, process, parent))
        self._drain = threading.Thread(target=self._events, args=(on_event,), daemon=True)
        self._drain.start()

    def _events(self, on_event: Callable[[tuple], None]) -> None:
        while True:
            try:
                event = self.events.get()
            except (EOFError, OSError, ValueError):
                return
            if event is None:
                return
            on_event(event)

    def wait_ready(self) -> None:
        """Every worker started and connected; a worker that did not is an error naming it."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        for w in self.workers:
            while not w.conn.poll(0.05):
                if not w.process.is_alive() or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(
                        f"probe worker {w.index} did not start (exit code {w.process.exitcode}); run with --workers 1"
                    )
            _, w.pid = w.conn.recv()

    def stop(self, reason: str, cancel: bool = True) -> None:
        """Ctrl-C or SIGTERM in the parent: every worker stops as one process would (once)."""
        if self.stop_reason is None:
            self.stop_reason = reason
        if cancel and not self._forwarded:
            self._forwarded = True
            for w in self.live:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.process.pid, signal.SIGINT)

    @property
    def live(self) -> list[WorkerState]:
        return [w for w in self.workers if not w.died]

    async def run_level(self, index: int, value: float, start_at: float | None = None) -> dict[str, Any]:
        """One level across the live workers, from one start instant (``start_at`` on this host's
        ``perf_counter``, default shortly after now); the merged meta."""
        start_at = time.perf_counter() + START_LEAD_S if start_at is None else start_at
        asked = self.live
        for w in asked:
            w.conn.send(("level", index, value, start_at))
        metas: dict[int, dict[str, Any]] = {}
        while len(metas) < len([w for w in asked if not w.died]):
            for w in asked:
                if w.index in metas or w.died:
                    continue
                try:
                    ready = w.conn.poll()
                    message = w.conn.recv() if ready else None
                except (EOFError, OSError):
                    ready, message = True, None
                if (ready and message is None) or (not ready and not w.process.is_alive()):
                    w.died = True  # its records so far are in its file
                    continue
                if message is not None:
                    _, meta, reason, spent, failure, failed = message
                    metas[w.index] = meta
                    self.report(w, spent, failure, "write-error" if failed else reason)
            await asyncio.sleep(0.01)
        if any(w.died for w in asked) and self.stop_reason is None:
            self.stop_reason = "worker-died"
        return self._merged(value, asked, metas)

    def _merged(self, value: float, asked: list[WorkerState], metas: dict[int, dict]) -> dict[str, Any]:
        """The workers' metas as one; a worker that died is counted from what it wrote."""
        plan = self.setups[0].plan
        dead = [w for w in asked if w.index not in metas]
        records = read_records(self.run_dir) if dead else None
        shares = [metas[w.index]["share"] for w in asked if w.index in metas]
        for w in dead:
            assert records is not None
            mine = (
                records[(records["level"] == plan.level_name(value)) & (records["worker"] == w.index)]
                if len(records)
                else records
            )
            shares.append(
                {
                    "worker": w.index,
                    "planned": len(plan.share(value, w.index, self.setups[0].count)),
                    "issued": len(mine),
                    "loop_lag_p95_ms": None,
                    "loop_lag_max_ms": None,
                }
            )
        return combined(plan.level_meta(value), list(metas.values()), shares, time.perf_counter() - self.setups[0].t0)

    def running(self) -> list[tuple[int, int | None]]:
        """(worker, pid) of every worker started."""
        return [(w.index, w.pid) for w in self.workers]

    def close(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Tell the workers to finish and wait for them; how each ended (``WorkerInfo``), and no
        hosts (one host: this one)."""
        for w in self.live:
            with contextlib.suppress(OSError, BrokenPipeError):
                w.conn.send(("stop",))
        for w in self.workers:
            w.process.join(10.0)
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(5.0)
        with contextlib.suppress(OSError, ValueError):
            self.events.put(None)
        self._drain.join(2.0)
        ended = [
            worker_info(
                w.index, w.pid, "died" if w.died or (w.process.exitcode or 0) != 0 else "finished", w.process.exitcode
            )
            for w in self.workers
        ]
        return ended, []


def combined(
    base: dict[str, Any], metas: list[dict[str, Any]], workers: list[dict[str, Any]], now: float
) -> dict[str, Any]:
    """Several processes' (or hosts') metas of one level as one (``LevelMeta``): the worst loop lag
    (so one lagging worker flags the level), the span from the first start to the last end (``now``
    if none answered), and every worker's share."""
    lags = [m["loop_lag_p95_ms"] for m in metas if m["loop_lag_p95_ms"] == m["loop_lag_p95_ms"]]  # not NaN
    peaks = [m["loop_lag_max_ms"] for m in metas if m["loop_lag_max_ms"] == m["loop_lag_max_ms"]]
    return {
        **base,
        "loop_lag_p95_ms": max(lags) if lags else float("nan"),
        "loop_lag_max_ms": max(peaks) if peaks else float("nan"),
        "started_s": min((m["started_s"] for m in metas), default=now),
        "ended_s": max((m["ended_s"] for m in metas), default=now),
        "workers": sorted(workers, key=lambda w: w["worker"]),
    }


def worker_info(index: int, pid: int | None, status: str, exit_code: int | None = None) -> dict[str, Any]:
    """A worker as the manifest lists it (``WorkerInfo``)."""
    return {
        "worker": index,
        "pid": pid,
        "records": WORKER_RECORDS.format(index),
        "status": status,
        "exit_code": exit_code,
    }


EVENTS_PER_PROCESS = 12_000.0
"""Token events a second one probe process keeps its schedule at on this 2-core machine, the server
beside it: 2,400 req/s of 4 output tokens (5 events each) held, 3,200 not (``bench/probe_overhead.py``)."""
STREAMS_PER_PROCESS = 256
"""Streams one process holds with a median TTFT error near 1 ms (``bench/probe_overhead.py``)."""


def default_workers(plan: LoadPlan, output_tokens: int = 64, cores: int | None = None) -> int:
    """What the machine can hold: one process while every level is within what one process
    sustains here (:data:`STREAMS_PER_PROCESS` streams, or :data:`EVENTS_PER_PROCESS` token
    events a second for rate levels), else enough for the highest level, at most the cores less
    one (the server or the OS needs one)."""
    cores = cores or os.cpu_count() or 1
    most = max(plan.levels or (plan.search_max,))
    if plan.mode == "concurrency":
        need = math.ceil(most / STREAMS_PER_PROCESS)
    else:
        need = math.ceil(most * (output_tokens + 1) / EVENTS_PER_PROCESS)
    return int(max(1, min(need, max(cores - 1, 1))))
