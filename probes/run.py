"""One probe run, end to end: preflight, prompts, load, records, manifest, summary, cost.

The cost columns bridge measurement and decision:

* cloud endpoint (``price``): USD per 1M tokens actually billed, from the server's usage
  and the catalog price; ``--max-cost-usd`` stops the run when the spend reaches it.
* self-hosted endpoint (``hardware``): ``USD/1M output tokens = GPU-hour price x GPUs /
  (goodput output tokens/s x 3600) x 1e6``, with the GPU price from the catalog.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from costmodel.io.probe_run import REQUESTS, write_summary
from costmodel.io.redact import Redactor
from costmodel.model.endpoint import Endpoint
from costmodel.model.probe_run import LevelSummary
from probes import prompts as prompt_mod
from probes.budget import Budget
from probes.client import Record, StreamingClient, Target, run_async
from probes.endpoint import count_prompt_tokens, preflight
from probes.errors import ProbeWriteError
from probes.load import LoadPlan, Runner, install_sigint, live_median, run_plan, sweep
from probes.results import (
    STOP_OUTCOMES,
    RunWriter,
    manifest_base,
    merge_worker_records,
    new_run_id,
    read_records,
    summarize,
    with_costs,
)
from probes.workers import PromptSource, Workers, WorkerSetup, worker_info


@dataclass(frozen=True)
class Prices:
    """Resolved prices for the cost columns and the budget guard."""

    usd_per_m_input: float | None = None
    usd_per_m_output: float | None = None
    usd_per_gpu_hour: float | None = None
    gpus: int = 1
    source: str = ""


def resolve_prices(endpoint: Endpoint, input_tokens: int, given: tuple[float, float] | None = None) -> Prices:
    """Prices for the endpoint: ``given`` (USD per 1M input and output tokens, from the command
    line), else the catalog's for its price or hardware reference."""
    from costmodel.io.catalog import load_catalog_files, resolve_api_price

    if given is not None:
        return Prices(given[0], given[1], source="--price-in/--price-out")
    if endpoint.price is None and endpoint.hardware is None:
        return Prices()
    files = load_catalog_files()
    if endpoint.price is not None:
        p = resolve_api_price(endpoint.price.provider, endpoint.price.model, files, input_tokens)
        return Prices(
            float(p.input), float(p.output), source=f"{p.provider}/{p.model}: {p.input.source}, as of {p.input.as_of}"
        )
    hw = endpoint.hardware
    if hw is None:
        return Prices()
    if hw.usd_per_gpu_hour is not None:
        return Prices(usd_per_gpu_hour=hw.usd_per_gpu_hour, gpus=hw.count, source="endpoint file")
    gpu = next((g for g in files.gpus.gpus if g.id == hw.gpu), None)
    if gpu is None:
        raise ValueError(f"hardware.gpu = {hw.gpu!r}: unknown GPU")
    rent = gpu.rental_price(hw.provider, hw.commitment)
    if rent is None:
        raise ValueError(f"hardware.gpu = {hw.gpu!r}: no {hw.commitment} rental price; set usd_per_gpu_hour")
    return Prices(
        usd_per_gpu_hour=float(rent.price),
        gpus=hw.count,
        source=f"{gpu.id} {rent.provider} {rent.commitment}: {rent.price.source}, as of {rent.price.as_of}",
    )


def guarded_count(budget: Budget, endpoint: Endpoint, text: str, timeout_s: float) -> int | None:
    """A calibration request (the server's prompt-token count for ``text``, one output token)
    under the run's budget guard: not sent when its worst case does not fit."""
    prompt_bytes = len(text.encode()) + 256  # the chat template and the JSON around the text
    held = budget.hold_now(prompt_bytes, 1)
    if held is None:
        return None
    tokens = count_prompt_tokens(endpoint, text, timeout_s)
    budget.settle(held, prompt_bytes, tokens, 1, False)
    return tokens


def worst_case_cost(plan: LoadPlan, prices: Prices, input_tokens: int, output_tokens: int) -> float | None:
    if prices.usd_per_m_input is None or prices.usd_per_m_output is None:
        return None
    levels = (int(math.log2(plan.search_max)) + 6) if plan.search else len(plan.levels)
    per_level = max(plan.warmup_for(v) for v in (plan.levels or (plan.search_max,))) + plan.requests
    per_request = (input_tokens * prices.usd_per_m_input + output_tokens * prices.usd_per_m_output) / 1e6
    return levels * per_level * per_request * (1 + plan.retries)


def probe(
    endpoint: Endpoint,
    plan: LoadPlan,
    *,
    out_dir: Path,
    input_tokens: int = 256,
    output_tokens: int = 64,
    dataset: Path | None = None,
    tokenizer: Path | None = None,
    max_cost_usd: float | None = None,
    timeout_s: float = 120.0,
    console: Console | None = None,
    check: bool = True,
    prices_given: tuple[float, float] | None = None,
    workers: int = 1,
    ray_address: str | None = None,
) -> Path:
    """Run ``plan`` against ``endpoint``; returns the run directory. Never raises on request errors.

    With ``max_cost_usd`` the endpoint must have a per-token price (``prices_given`` or its
    catalog reference): the budget guard holds each request's worst case before sending it.
    With ``workers`` > 1 the requests go out from that many processes (:mod:`probes.workers`),
    each with its share of what is left of the budget; with ``ray_address``, from ``workers``
    processes on every node of that Ray cluster (:mod:`probes.ray_agents`)."""
    console = console or Console(stderr=True, markup=False)
    if check:
        _, note = preflight(endpoint)
        if note:
            console.print(Text(note, style="yellow"))
    prices = resolve_prices(endpoint, input_tokens, prices_given)
    if max_cost_usd is not None and prices.usd_per_m_input is None:
        raise ValueError(
            "--max-cost-usd needs a per-token price: give --price-in and --price-out (USD per 1M tokens) "
            "or an endpoint file with a price reference"
        )
    worst = worst_case_cost(plan, prices, input_tokens, output_tokens)
    if worst is not None:
        console.print(
            f"worst-case cost of this run: ${worst:,.4f} ({prices.source})"
            + (f"; stops at ${max_cost_usd:,.2f}" if max_cost_usd is not None else "")
        )
    run_id = new_run_id(endpoint.model)
    chat = endpoint.api_style == "chat"
    # one guard for the whole run, the calibration requests included
    budget = Budget(prices.usd_per_m_input, prices.usd_per_m_output, max_cost_usd)
    words = input_tokens
    if dataset is None and check:
        words = prompt_mod.calibrate_words(
            lambda t: guarded_count(budget, endpoint, t, min(timeout_s, 30.0)), input_tokens, plan.seed
        )
        if words == input_tokens:
            console.print(
                Text.assemble(
                    ("prompt length not calibrated", "yellow"),
                    " (the server reported no usage): one word per token assumed",
                )
            )

    count_tokens = None
    if tokenizer is not None:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer))

        def count_tokens(text: str) -> int:
            return len(tok.encode(text, add_special_tokens=False).ids)

    key = endpoint.api_key()
    secrets = Redactor.of([key], [endpoint.base_url]).secrets  # the key, the URL's user and password
    writer = RunWriter.create(out_dir, run_id, secrets=secrets)
    run_id = writer.run_dir.name
    make_prompts = PromptSource(output_tokens, chat, plan.seed, run_id, words, dataset)
    endpoint_info = {**endpoint.model_dump(mode="json"), "base_url": endpoint.shown_url()}
    writer.manifest = manifest_base(
        run_id,
        endpoint_info,
        {
            "mode": plan.mode,
            "levels": list(plan.levels),
            "requests_per_level": plan.requests,
            "duration_s_per_level": plan.duration_s,
            "warmup": plan.warmup,
            "burstiness": plan.burstiness,
            "max_concurrency": plan.max_concurrency,
            "retries": plan.retries,
            "seed": plan.seed,
            "workers": workers,
            "slo_ms": plan.slo,
            "search": plan.search,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "dataset": str(dataset) if dataset else None,
            "max_cost_usd": max_cost_usd,
            "prices": prices.__dict__,
        },
    )
    writer.save_manifest()
    records: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    ttfts: list[float] = []
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("p50 TTFT {task.fields[ttft]}"),
        TextColumn("errors {task.fields[errors]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    state: dict[str, Any] = {"task": None, "errors": 0}

    def counted(ok: bool, warmup: bool, ttft_ms: float | None, error_kind: str | None) -> None:
        if ok and not warmup and ttft_ms is not None:
            ttfts.append(ttft_ms)
        if not ok and error_kind != "interrupted":
            state["errors"] += 1
        if state["task"] is not None:
            med = live_median(ttfts)
            progress.update(
                state["task"], advance=1, ttft="-" if med is None else f"{med:,.0f} ms", errors=state["errors"]
            )

    def level_started(name: str, total: int) -> None:
        ttfts.clear()
        state["errors"] = 0
        state["task"] = progress.add_task(f"{name:>6}", total=total, ttft="-", errors=0)

    def level_ended(name: str) -> None:
        progress.stop_task(state["task"])

    def advance_to(done: int) -> None:  # a Ray run polls its hosts' counts
        if state["task"] is not None:
            progress.update(state["task"], completed=done)

    if workers > 1 or ray_address is not None:
        return _probe_with_workers(
            workers,
            ray_address,
            advance_to,
            endpoint,
            plan,
            writer,
            make_prompts,
            timeout_s,
            tokenizer,
            prices,
            budget,
            max_cost_usd,
            progress,
            counted,
            level_started,
            level_ended,
        )

    def on_record(r: Record) -> None:
        records.append(r.__dict__.copy())
        counted(r.ok, r.warmup, r.ttft_ms, r.error_kind)

    client = StreamingClient(
        Target.from_url(endpoint.base_url, key), timeout_s=timeout_s, want_text=tokenizer is not None
    )
    runner = Runner(
        endpoint,
        client,
        writer,
        make_prompts,
        plan,
        run_id,
        budget=budget,
        count_tokens=count_tokens,
        on_record=on_record,
        on_level_start=level_started,
        on_level_end=level_ended,
    )

    def on_level(meta: dict[str, Any], row: LevelSummary) -> None:
        levels.append({k: v for k, v in meta.items() if k != "share"})  # one process: the level is its share
        writer.update_manifest(levels=levels)

    async def main() -> dict[str, Any] | None:
        install_sigint(runner)
        try:
            return await run_plan(runner, lambda: pd.DataFrame(records), on_level)
        finally:
            await client.aclose()

    search = None
    with progress:
        try:
            search = run_async(main())
        except KeyboardInterrupt:
            runner.stop_reason = runner.stop_reason or "interrupted"
    status, stopped_by = STOP_OUTCOMES[runner.stop_reason]
    writer.close()
    finish(writer, levels, plan, prices, status, search, runner.spent_usd, stopped_by, runner.failure)
    if writer.failed is not None:
        raise ProbeWriteError(
            f"writing {writer.run_dir} failed ({writer.failed.strerror or writer.failed}); the run stopped. "
            f"Every whole line written is kept: free space, then run 'tco probe --finalize {writer.run_dir}'"
        )
    return writer.run_dir


def _probe_with_workers(
    workers: int,
    ray_address: str | None,
    advance_to: Any,
    endpoint: Endpoint,
    plan: LoadPlan,
    writer: RunWriter,
    make_prompts: PromptSource,
    timeout_s: float,
    tokenizer: Path | None,
    prices: Prices,
    budget: Budget,
    max_cost_usd: float | None,
    progress: Progress,
    counted: Any,
    level_started: Any,
    level_ended: Any,
) -> Path:
    """:func:`probe`'s run over ``workers`` processes (:mod:`probes.workers`), on this host or on
    every node of a Ray cluster (:mod:`probes.ray_agents`)."""
    left = None if max_cost_usd is None else max(max_cost_usd - budget.spent_usd, 0.0)
    t0 = time.perf_counter()
    setups = [
        WorkerSetup(
            index=i,
            count=workers,
            endpoint=endpoint.model_dump(mode="json"),
            plan=plan,
            run_dir=writer.run_dir,
            run_id=writer.run_dir.name,
            t0=t0,
            prompts=make_prompts,
            timeout_s=timeout_s,
            usd_per_m_input=prices.usd_per_m_input,
            usd_per_m_output=prices.usd_per_m_output,
            max_cost_usd=None if left is None else left / workers,  # each its share: the sum stays under
            tokenizer=tokenizer,
        )
        for i in range(workers)
    ]
    pool: Any
    if ray_address is None:
        pool = Workers(setups, lambda event: counted(*event[1:]))
        pool.wait_ready()
    else:
        from probes.ray_agents import RayHosts, connect

        connect(ray_address)
        pool = RayHosts(setups[0], workers, writer.run_dir)
    writer.update_manifest(workers=[worker_info(i, pid, "running") for i, pid in pool.running()])
    levels: list[dict[str, Any]] = []

    async def level(index: int, value: float) -> dict[str, Any]:
        name = plan.level_name(value)
        level_started(name, plan.warmup_for(value) + plan.requests)
        poll = None
        if ray_address is not None:
            done_before = pool.progress()

            async def follow() -> None:
                while True:
                    await asyncio.sleep(0.5)
                    advance_to(pool.progress() - done_before)

            poll = asyncio.ensure_future(follow())
        try:
            return await pool.run_level(index, value)
        finally:
            if poll is not None:
                poll.cancel()
            level_ended(name)

    def on_level(meta: dict[str, Any], row: LevelSummary) -> None:
        levels.append(meta)
        writer.update_manifest(levels=levels)

    async def main() -> dict[str, Any] | None:
        install_sigint(pool)
        return await sweep(plan, level, lambda: pool.stop_reason, lambda: read_records(writer.run_dir), on_level)

    search = None
    try:
        with progress:
            try:
                search = run_async(main())
            except KeyboardInterrupt:
                pool.stop_reason = pool.stop_reason or "interrupted"
    finally:  # the workers end with the run, whatever ended it
        ended, hosts = pool.close()
    merge_worker_records(writer.run_dir)  # the hosts' folders here go with it
    writer.update_manifest(workers=ended, hosts=hosts)
    status, stopped_by = STOP_OUTCOMES[pool.stop_reason]
    writer.close()
    finish(writer, levels, plan, prices, status, search, budget.spent_usd + pool.spent_usd, stopped_by, pool.failure)
    if writer.failed is not None:
        raise ProbeWriteError(f"writing {writer.run_dir} failed ({writer.failed.strerror or writer.failed})")
    return writer.run_dir


def finish(
    writer: RunWriter,
    levels: list[dict[str, Any]],
    plan: LoadPlan,
    prices: Prices,
    status: str,
    search: dict[str, Any] | None,
    spent: float,
    stopped_by: str | None = None,
    failure: str | None = None,
) -> list[LevelSummary]:
    """Write summary.csv from what is on disk and close the manifest (best effort after a failed write)."""
    path = writer.run_dir / REQUESTS
    records = read_records(writer.run_dir) if path.exists() and path.stat().st_size else pd.DataFrame()
    summary = [with_costs(row, prices) for row in summarize(records, levels, plan.slo, plan.max_error_rate)]
    try:
        write_summary(writer.run_dir, summary)
    except OSError as e:
        writer.failed = writer.failed or e
    writer.update_manifest(
        status=status,
        stopped_by=stopped_by,
        failure=failure,
        ended=datetime.now(UTC),
        spent_usd=spent,
        slo_search=None
        if search is None
        else {k: (v if k != "tried" else {f"{a:g}": b for a, b in v.items()}) for k, v in search.items()},
    )
    return summary
