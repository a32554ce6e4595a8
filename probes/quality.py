"""``tco quality``: score an OpenAI-compatible endpoint on bundled suites or a golden set.

Each item is sent (streamed, through the probe's own client: the same fault classification,
the same timing), its reply judged (:func:`judge`), and its record written and flushed the
moment it ends (``items.jsonl``). Ctrl-C or SIGTERM records what is in flight as interrupted and
keeps the rest; the budget guard (:mod:`probes.budget`) keeps the bill under ``--max-cost-usd``;
the key and the URL's credentials are never written. ``summary.csv`` gives per suite and class
the accuracy with its 95 % Wilson interval, errors, hallucination and schema-valid rates,
tokens and cost.

Why not an evaluation framework: see ``docs/quality.md`` (inspect-ai was tried).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import regex

from costmodel.io.quality import ITEMS, write_summary
from costmodel.io.redact import Redactor
from costmodel.model.base import printable
from costmodel.model.endpoint import Endpoint
from costmodel.model.quality import FORMAT, ClassSummary, ItemRecord, QualityItem, QualityManifest, wilson_interval
from probes.budget import Budget
from probes.client import Record, StreamingClient, Target, run_async, streamed_body
from probes.errors import ProbeWriteError
from probes.load import install_sigint
from probes.results import STOP_OUTCOMES, RunWriter, new_run_id, package_versions
from probes.suites import ABSTAIN

REGEX_TIMEOUT_S = 1.0  # a golden set's pattern against one reply; past it the item is an error
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
ABSTAIN_WORDS = (ABSTAIN.lower(), "not in the document", "does not contain", "not stated", "not mentioned")


def _fold(text: str) -> str:
    return " ".join(text.strip().casefold().split())


def _json_object(reply: str) -> dict | None:
    """The first JSON object in a reply (models wrap it in prose or code fences)."""
    start = reply.find("{")
    while start >= 0:
        depth = 0
        for end in range(start, len(reply)):
            depth += {"{": 1, "}": -1}.get(reply[end], 0)
            if depth == 0:
                with contextlib.suppress(ValueError):
                    obj = json.loads(reply[start : end + 1])
                    if isinstance(obj, dict):
                        return obj
                break
        start = reply.find("{", start + 1)
    return None


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, int | float) and not isinstance(want, bool):
        try:
            return abs(float(str(got).replace(",", "")) - float(want)) <= 0.01
        except ValueError:
            return False
    return _fold(str(got)) == _fold(str(want))


@dataclass(frozen=True)
class Verdict:
    """How a reply scored: right or wrong, and the suite-specific measures (None where they do not apply)."""

    correct: bool
    hallucinated: bool | None = None  # abstain items: answered where the document is silent
    schema_valid: bool | None = None  # json items: the reply holds a JSON object
    field_accuracy: float | None = None  # json items: share of the expected fields right
    error: str | None = None  # the judge could not decide (a regex that ran past its time): an error


def judge(reply: str, item: QualityItem) -> Verdict:
    """Judge a reply against an item's answer and match rule.

    Examples
    --------
    >>> item = QualityItem(id="a", prompt="p", answer="12.5", match="number", tolerance=0.1)
    >>> judge("It is 12.55 dollars.", item).correct, judge("1,250", item).correct
    (True, False)
    >>> judge("I cannot say: NOT IN DOCUMENT", QualityItem(id="b", prompt="p", answer="", match="abstain"))
    Verdict(correct=True, hallucinated=False, schema_valid=None, field_accuracy=None, error=None)
    >>> judge('{"a": 1, "b": "X"}', QualityItem(id="c", prompt="p", answer='{"a": 1, "b": "y"}', match="json"))
    Verdict(correct=False, hallucinated=None, schema_valid=True, field_accuracy=0.5, error=None)
    """
    if item.match == "abstain":
        abstained = any(w in reply.casefold() for w in ABSTAIN_WORDS)
        return Verdict(abstained, hallucinated=not abstained)
    if item.match == "json":
        obj = _json_object(reply)
        want = json.loads(item.answer)
        right = 0 if obj is None else sum(_same(obj.get(k), v) for k, v in want.items())
        return Verdict(
            right == len(want) and obj is not None,
            schema_valid=obj is not None,
            field_accuracy=right / len(want) if want else 1.0,
        )
    if item.match == "exact":
        return Verdict(_fold(reply) == _fold(item.answer))
    if item.match == "contains":
        return Verdict(_fold(item.answer) in _fold(reply))
    if item.match == "regex":  # bounded: a golden set's pattern must not hang the run
        try:
            return Verdict(regex.search(item.answer, reply, timeout=REGEX_TIMEOUT_S) is not None)
        except TimeoutError:
            return Verdict(False, error=f"regex did not finish within {REGEX_TIMEOUT_S:g} s")
    numbers = NUMBER.findall(reply)
    try:
        return Verdict(
            bool(numbers) and abs(float(numbers[-1].replace(",", "")) - float(item.answer)) <= item.tolerance + 1e-9
        )
    except ValueError:
        return Verdict(False)


def request_body(endpoint: Endpoint, item: QualityItem) -> bytes:
    messages = item.messages if item.messages is not None else [{"role": "user", "content": item.prompt}]
    text = "\n\n".join(str(m.get("content", "")) for m in messages)
    return json.dumps(streamed_body(endpoint.api_style, endpoint.model, item.max_tokens, messages, text)).encode()


def summarize(records: list[ItemRecord], budget: Budget) -> list[ClassSummary]:
    """Per suite and class, then per class over every suite (``all``), then everything."""
    groups: dict[tuple[str, str], list[ItemRecord]] = {}
    for r in records:
        if r.error_kind == "interrupted":
            continue  # not a measurement
        for key in ((r.suite, r.item_class), ("all", r.item_class), ("all", "all")):
            groups.setdefault(key, []).append(r)
    rows = []
    for (suite, cls), rs in sorted(groups.items(), key=lambda kv: (kv[0][0] == "all", kv[0])):
        n, correct = len(rs), sum(r.correct for r in rs)
        low, high = wilson_interval(correct, n)
        abstain = [r for r in rs if r.hallucinated is not None]
        shaped = [r for r in rs if r.schema_valid is not None]
        fields = [r.field_accuracy for r in rs if r.field_accuracy is not None]
        tin, tout = sum(r.input_tokens or 0 for r in rs), sum(r.output_tokens or 0 for r in rs)
        rows.append(
            ClassSummary(
                suite=suite,
                item_class=cls,
                n=n,
                correct=correct,
                accuracy=correct / n if n else None,
                ci_low=low,
                ci_high=high,
                errors=sum(r.error_kind is not None for r in rs),
                hallucination_rate=sum(bool(r.hallucinated) for r in abstain) / len(abstain) if abstain else None,
                schema_valid_rate=sum(bool(r.schema_valid) for r in shaped) / len(shaped) if shaped else None,
                field_accuracy=sum(fields) / len(fields) if fields else None,
                input_tokens=tin,
                output_tokens=tout,
                cost_usd=budget.cost(tin, tout) if budget.priced else None,
            )
        )
    return rows


@dataclass
class QualityRun:
    endpoint: Endpoint
    items: list[QualityItem]
    writer: RunWriter
    client: StreamingClient
    budget: Budget
    concurrency: int
    on_item: Callable[[ItemRecord], None] | None = None
    stop_reason: str | None = None
    failure: str | None = None
    records: list[ItemRecord] = field(default_factory=list)
    _inflight: set = field(default_factory=set)

    def stop(self, reason: str, cancel: bool = True) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        if cancel:
            for task in list(self._inflight):
                task.cancel()

    async def one(self, item: QualityItem, t0: float) -> None:
        body = request_body(self.endpoint, item)
        prompt_bytes = len(body)
        held = await self.budget.reserve(prompt_bytes, item.max_tokens, self.stop_reason is not None)
        if held is None:
            self.stop("budget", cancel=False)
            return
        record = Record(self.writer.run_dir.name, "quality", 0, False, 0.0)
        task = asyncio.current_task()
        self._inflight.add(task)
        ex = None
        try:
            ex = await self.client.send(self.endpoint.path, body, record, t0, item.max_tokens)
        except asyncio.CancelledError:
            record.ok, record.error_kind, record.error = False, "interrupted", self.stop_reason or "cancelled"
        finally:
            self._inflight.discard(task)
        reply = "".join(ex.text_parts) if ex is not None and ex.text_parts is not None else ""
        verdict = judge(reply, item) if record.ok else Verdict(False)
        out = ItemRecord(
            run_id=self.writer.run_dir.name,
            item_id=item.id,
            suite=item.suite,
            item_class=item.item_class,
            expected=item.answer,
            answer=printable(reply[:2000]) if record.ok else None,
            correct=verdict.correct,
            hallucinated=verdict.hallucinated,
            schema_valid=verdict.schema_valid,
            field_accuracy=verdict.field_accuracy,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            ttft_ms=record.ttft_ms,
            e2e_ms=record.e2e_ms,
            error_kind=record.error_kind if verdict.error is None else "judge_timeout",
            error=record.error if verdict.error is None else verdict.error,
        )
        self.budget.settle(
            held, prompt_bytes, record.input_tokens, record.output_tokens, record.error_kind == "interrupted"
        )
        if not self.writer.write(out):
            self.stop("write-error")
        self.records.append(out)
        if self.on_item is not None:
            self.on_item(out)

    async def main(self) -> None:
        install_sigint(self)  # as a probe: the first signal stops and keeps, a second exits at once
        t0 = asyncio.get_running_loop().time()
        queue = iter(self.items)

        async def worker() -> None:
            while self.stop_reason is None:
                item = next(queue, None)
                if item is None:
                    return
                try:
                    await self.one(item, t0)
                except Exception as e:  # a bug must not drop items silently: the run stops as failed
                    self.failure = f"item {item.id}: {type(e).__name__}: {printable(str(e))[:500]}"
                    self.stop("internal-error", cancel=False)

        try:
            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        finally:
            await self.client.aclose()


def score(
    endpoint: Endpoint,
    items: list[QualityItem],
    suites: list[dict[str, Any]],
    *,
    out_dir: Path,
    seed: int = 0,
    concurrency: int = 4,
    max_cost_usd: float | None = None,
    prices: tuple[float, float] | None = None,
    timeout_s: float = 120.0,
    on_item: Callable[[ItemRecord], None] | None = None,
    on_start: Callable[[Path], None] | None = None,
) -> Path:
    """Score ``items`` against ``endpoint``; returns the run folder (``manifest.json``, ``items.jsonl``,
    ``summary.csv``; ``on_start(run_dir)`` runs once the manifest is written, before anything is sent).
    Never raises on request errors; raises ``ValueError`` on a budget without a price."""
    if max_cost_usd is not None and prices is None:
        raise ValueError("--max-cost-usd needs a per-token price: give --price-in and --price-out")
    rng = random.Random(seed)
    items = list(items)
    rng.shuffle(items)  # classes interleaved: a stopped run still covers every class
    key = endpoint.api_key()
    secrets = Redactor.of([key], [endpoint.base_url]).secrets  # the key, the URL's user and password
    writer = RunWriter.create(out_dir, new_run_id(endpoint.model), secrets, ITEMS)
    budget = Budget(prices[0] if prices else None, prices[1] if prices else None, max_cost_usd=max_cost_usd)
    writer.manifest = QualityManifest(
        format=FORMAT,
        run_id=writer.run_dir.name,
        status="running",
        started=datetime.now(UTC),
        endpoint={**endpoint.model_dump(mode="json"), "base_url": endpoint.shown_url()},
        suites=suites,
        seed=seed,
        concurrency=concurrency,
        prices={
            "usd_per_m_input": prices[0] if prices else None,
            "usd_per_m_output": prices[1] if prices else None,
            "source": "--price-in/--price-out" if prices else None,
        },
        max_cost_usd=max_cost_usd,
        versions=package_versions(),
        host={"platform": platform.platform(), "cpus": os.cpu_count()},
    )
    writer.save_manifest()
    if writer.failed is not None:  # not even the manifest: send nothing
        raise ProbeWriteError(
            f"writing {writer.run_dir} failed ({writer.failed.strerror or writer.failed}); nothing sent"
        )
    if on_start is not None:  # the caller's own files beside the run's, before anything is sent
        on_start(writer.run_dir)
    client = StreamingClient(Target.from_url(endpoint.base_url, key), timeout_s=timeout_s, want_text=True)
    run = QualityRun(endpoint, items, writer, client, budget, concurrency, on_item)
    with contextlib.suppress(KeyboardInterrupt):
        run_async(run.main())
    status, stopped_by = STOP_OUTCOMES[run.stop_reason]
    writer.close()
    with contextlib.suppress(OSError):
        write_summary(writer.run_dir, summarize(run.records, budget))
    writer.update_manifest(
        status=status,
        stopped_by=stopped_by,
        ended=datetime.now(UTC),
        spent_usd=budget.spent_usd if budget.priced else None,
        failure=run.failure,
    )
    if writer.failed is not None:
        raise ProbeWriteError(
            f"writing {writer.run_dir} failed ({writer.failed.strerror or writer.failed}); the run stopped. "
            f"Every whole line written is kept: free space, then run 'tco quality --finalize {writer.run_dir}'"
        )
    return writer.run_dir


def accuracy_text(rows: list[ClassSummary]) -> list[str]:
    """One line per class over every suite: accuracy, interval and counts."""
    out = []
    for r in rows:
        if r.suite != "all" or r.accuracy is None:
            continue
        extra = "" if r.hallucination_rate is None else f", hallucination {r.hallucination_rate:.0%}"
        out.append(
            f"{r.item_class}: {r.correct}/{r.n} correct, accuracy {r.accuracy:.1%} "
            f"(95 % interval {r.ci_low:.1%}-{r.ci_high:.1%}), {r.errors} errors{extra}"
        )
    return out


__all__ = ["accuracy_text", "judge", "score", "summarize"]
