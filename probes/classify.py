"""``tco classify``: measure a router's classifier on a labelled set, giving its confusion matrix.

Two kinds of classifier:

* **an endpoint** (an LLM behind an OpenAI-compatible API): each request is sent with short
  instructions naming the classes, through ``tco quality``'s client (:func:`probes.quality.score`:
  the same timing, fault classification, budget guard, secret redaction, flush-as-it-ends and
  Ctrl-C handling);
* **a local command** (a rules, embedding or small-model classifier you run): it is started once
  and reads one JSON object a line on stdin (``{"id": ..., "prompt": ...}``) and answers each with
  one line naming the class. ``python -m probes.rules_classifier RULES.yaml`` is one.

Either way ``items.jsonl`` gets one record per item as it ends, and ``classifier.json`` says what
was measured; :func:`costmodel.io.classifier_run.measured_confusion` turns them into the matrix a
scenario reads (``classifier_run:``).
"""

from __future__ import annotations

import json
import queue
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from costmodel.io.classifier_run import predicted_class, write_info
from costmodel.io.quality import ITEMS
from costmodel.model.base import printable
from costmodel.model.classifier_run import FORMAT, ClassifierRunInfo, LabelledItem
from costmodel.model.endpoint import Endpoint
from costmodel.model.quality import ItemRecord, QualityItem
from probes.processes import Stopped, supervised
from probes.quality import score
from probes.results import RunWriter, new_run_id, package_versions

SUITE = "classifier"


def instructions_for(classes: list[str]) -> str:
    """What an LLM classifier is told before each request (``--instructions`` replaces it)."""
    return (
        "Label the user's request with exactly one of these classes: "
        + ", ".join(classes)
        + ". Answer with the class name only."
    )


def quality_items(items: list[LabelledItem], instructions: str, max_tokens: int) -> list[QualityItem]:
    """The labelled items as ``tco quality`` sends them: instructions and the request, the true class
    as the answer (``contains``; the confusion matrix reads the reply itself)."""
    return [
        QualityItem.model_validate(
            {
                "id": it.id,
                "messages": [{"role": "system", "content": instructions}, {"role": "user", "content": it.prompt}],
                "answer": it.item_class,
                "match": "contains",
                "class": it.item_class,
                "suite": SUITE,
                "max_tokens": max_tokens,
            }
        )
        for it in items
    ]


def _info(kind: str, classifier: str, labelled_set: Path, digest: str, items: int, classes: list[str], **more):
    return ClassifierRunInfo(
        format=FORMAT,
        run_id="pending",
        status="running",
        started=datetime.now(UTC),
        kind=kind,
        classifier=classifier,
        labelled_set=labelled_set.name,
        sha256=digest,
        items=items,
        classes=classes,
        versions=package_versions(),
        **more,
    )


def classify_endpoint(
    endpoint: Endpoint,
    items: list[LabelledItem],
    classes: list[str],
    fallback: str,
    *,
    labelled_set: Path,
    digest: str,
    out_dir: Path,
    instructions: str | None = None,
    max_tokens: int = 16,
    concurrency: int = 4,
    timeout_s: float = 60.0,
    max_cost_usd: float | None = None,
    prices: tuple[float, float] | None = None,
    on_item: Callable[[ItemRecord], None] | None = None,
) -> Path:
    """Classify every item with an endpoint; returns the run folder."""
    told = instructions or instructions_for(classes)
    info = _info(
        "endpoint",
        f"{endpoint.shown_url()} model {endpoint.model}",
        labelled_set,
        digest,
        len(items),
        classes,
        fallback=fallback,
        instructions=told,
    )

    def start(run_dir: Path) -> None:
        nonlocal info
        info = info.model_copy(update={"run_id": run_dir.name})
        write_info(run_dir, info)

    suites = [{"name": SUITE, "version": digest, "items": len(items)}]
    run_dir = score(
        endpoint,
        quality_items(items, told, max_tokens),
        suites,
        out_dir=out_dir,
        concurrency=concurrency,
        max_cost_usd=max_cost_usd,
        prices=prices,
        timeout_s=timeout_s,
        on_item=on_item,
        on_start=start,
    )
    from costmodel.io.quality import read_manifest

    manifest = read_manifest(run_dir)
    write_info(run_dir, info.model_copy(update={"status": manifest.status, "ended": manifest.ended}))
    return run_dir


def classify_command(
    command: str,
    items: list[LabelledItem],
    classes: list[str],
    fallback: str,
    *,
    labelled_set: Path,
    digest: str,
    out_dir: Path,
    timeout_s: float = 60.0,
    on_item: Callable[[ItemRecord], None] | None = None,
) -> Path:
    """Classify every item with a local command (one JSON line in, one class line out); returns the
    run folder. A command that exits, or takes longer than ``timeout_s`` on an item, fails the run;
    Ctrl-C or SIGTERM interrupts it; what ended is kept either way."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("--command is empty")
    writer = RunWriter.create(out_dir, new_run_id(Path(argv[0]).name + "-command"), (), ITEMS)
    info = _info("command", command, labelled_set, digest, len(items), classes, fallback=fallback)
    info = info.model_copy(update={"run_id": writer.run_dir.name})
    write_info(writer.run_dir, info)
    status, failure = "complete", None
    stderr_tail: list[str] = []
    try:
        with supervised(
            argv, grace_s=2.0, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc:
            answers: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_lines, args=(proc.stdout, answers), daemon=True).start()
            threading.Thread(target=_tail, args=(proc.stderr, stderr_tail), daemon=True).start()
            for item in items:
                t0 = time.perf_counter()
                reply, error = _ask(proc, answers, item, timeout_s)
                record = ItemRecord(
                    run_id=writer.run_dir.name,
                    item_id=item.id,
                    suite=SUITE,
                    item_class=item.item_class,
                    expected=item.item_class,
                    answer=None if reply is None else printable(reply[:2000]),
                    correct=predicted_class(reply, classes, fallback) == item.item_class,
                    e2e_ms=(time.perf_counter() - t0) * 1e3,
                    error_kind=None if error is None else "command",
                    error=error,
                )
                if not writer.write(record):
                    status, failure = "failed", f"writing {writer.run_dir / ITEMS} failed: {writer.failed}"
                    break
                if on_item is not None:
                    on_item(record)
                if error is not None:
                    status, failure = "failed", error
                    break
    except (Stopped, KeyboardInterrupt):
        status = "interrupted"
    finally:
        writer.close()
        if failure and stderr_tail:
            failure += f"; its stderr ended: {printable(' | '.join(stderr_tail[-3:]))[:500]}"
        write_info(writer.run_dir, info.model_copy(update={"status": status, "ended": datetime.now(UTC)}))
    if failure is not None:
        raise CommandFailed(writer.run_dir, failure)
    return writer.run_dir


class CommandFailed(RuntimeError):
    """A classifier command that exited, hung or could not be written to; the run keeps what ended."""

    def __init__(self, run_dir: Path, why: str) -> None:
        super().__init__(f"{why} (the items before it are kept in {run_dir})")
        self.run_dir = run_dir


def _ask(
    proc: subprocess.Popen, answers: queue.Queue[str | None], item: LabelledItem, timeout_s: float
) -> tuple[str | None, str | None]:
    """Send one item; its answer line, or why there is none."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(json.dumps({"id": item.id, "prompt": item.prompt}) + "\n")
        proc.stdin.flush()
    except (BrokenPipeError, OSError):
        return None, f"the command exited (status {proc.poll()}) before item {item.id}"
    try:
        line = answers.get(timeout=timeout_s)
    except queue.Empty:
        return None, f"the command gave no answer to item {item.id} within {timeout_s:g} s"
    if line is None:
        return None, f"the command exited (status {proc.wait()}) without answering item {item.id}"
    return line.rstrip("\n"), None


def _lines(stream, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def _tail(stream, keep: list[str]) -> None:
    for line in stream:
        keep.append(line.rstrip("\n")[:300])
        del keep[:-20]
