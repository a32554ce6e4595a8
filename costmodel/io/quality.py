"""Reading golden sets and quality-run folders (``data/quality/<run-id>/``) through the one format
of :mod:`costmodel.model.quality`; ``tco quality`` writes with these functions and the cost model
reads with them.

A malformed golden-set line is an :class:`~costmodel.io.files.InputError` naming the file, the line
and the field, raised before any request is sent; a run folder of another format, a missing
column or a wrong type is a :class:`QualityRunError` naming the file and field.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from costmodel.io.files import MISSING, InputError, read_text
from costmodel.io.probe_run import validated, validated_rows, write_atomic
from costmodel.model.quality import FORMAT, SUMMARY_COLUMNS, ClassSummary, QualityItem, QualityManifest
from costmodel.model.scenario import ClassAccuracy, MeasuredQuality

MANIFEST = "manifest.json"
SUMMARY = "summary.csv"
ITEMS = "items.jsonl"
M = TypeVar("M", bound=BaseModel)


class QualityRunError(ValueError):
    """A quality run that cannot be used; the message names the file, the field and what is wrong."""


def read_golden_set(path: Path) -> tuple[list[QualityItem], str]:
    """Every item of a JSONL golden set, validated, and the file's sha256 (its version)."""
    return read_items(path, QualityItem, "golden set (JSONL)")


def read_items(path: Path, model: type[M], what: str) -> tuple[list[M], str]:
    """Every line of a JSONL file of ``model`` items (each with a unique ``id``), validated, and the
    file's sha256. A bad line is an InputError naming the line and the field."""
    text = read_text(path, what)
    items, seen = [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as e:
            raise InputError(str(path), f"line {number}", MISSING, f"not JSON: {e}") from None
        if not isinstance(data, dict):
            raise InputError(str(path), f"line {number}", MISSING, "expected a JSON object")
        try:
            item = model.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "item"
            raise InputError(
                str(path),
                f"line {number}, {where}",
                err.get("input", MISSING) if err["loc"] else MISSING,
                err["msg"].removeprefix("Value error, "),
            ) from None
        item_id = getattr(item, "id")  # noqa: B009 - every item model has one
        if item_id in seen:
            raise InputError(str(path), f"line {number}, id", item_id, "repeats an earlier item's id")
        seen.add(item_id)
        items.append(item)
    if not items:
        raise InputError(str(path), "", MISSING, "no items")
    return items, hashlib.sha256(text.encode()).hexdigest()


def summary_csv(rows: Iterable[ClassSummary]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(SUMMARY_COLUMNS)
    for r in rows:
        w.writerow(["" if getattr(r, c) is None else getattr(r, c) for c in SUMMARY_COLUMNS])
    return out.getvalue()


def write_summary(run_dir: Path, rows: Iterable[ClassSummary]) -> None:
    write_atomic(run_dir / SUMMARY, summary_csv(rows))


def read_manifest(run_dir: Path) -> QualityManifest:
    path = run_dir / MANIFEST
    try:
        data = json.loads(read_text(path, "quality manifest"))
    except InputError as e:
        raise QualityRunError(f"{path}: {e.message}; not a quality run") from None
    except ValueError as e:
        raise QualityRunError(f"{path}: not JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else None
        raise QualityRunError(f"{path}: format {got!r}; this version reads {FORMAT!r}")
    return validated(path, data, QualityManifest, QualityRunError)


def read_summary(run_dir: Path) -> list[ClassSummary]:
    path = run_dir / SUMMARY
    try:
        text = read_text(path, "quality summary")
    except InputError as e:
        raise QualityRunError(f"{path}: {e.message}") from None
    return validated_rows(path, text, ClassSummary, SUMMARY_COLUMNS, FORMAT, QualityRunError)


def measured_quality(run_dir: Path) -> tuple[MeasuredQuality, str]:
    """A quality run as a scenario reads it: per-class accuracy with its interval, the run named in
    the source; and the model the run asked for."""
    manifest, by_class = class_accuracy(run_dir)
    classes = {
        cls: ClassAccuracy(accuracy=r.accuracy, ci_low=r.ci_low, ci_high=r.ci_high, n=r.n)
        for cls, r in by_class.items()
        if r.n and r.accuracy is not None
    }
    if not classes:
        raise QualityRunError(f"{run_dir / SUMMARY}: no item was scored")
    suites = ", ".join(f"{s.name} v{s.version[:12]}" for s in manifest.suites)
    status = "" if manifest.status == "complete" else f" (run {manifest.status})"
    measured = MeasuredQuality(
        classes=classes,
        source=f"quality run {manifest.run_id}{status}: {manifest.endpoint.model} at {manifest.endpoint.shown_url()}, "
        f"{suites}, {by_class['all'].n if 'all' in by_class else sum(r.n for r in by_class.values())} items",
        as_of=manifest.started.date(),
        caveat=None if manifest.status == "complete" else f"from a quality run that ended {manifest.status}",
    )
    return measured, manifest.endpoint.model


def class_accuracy(run_dir: Path) -> tuple[QualityManifest, dict[str, ClassSummary]]:
    """The run's manifest and, per request class, its summary over every suite."""
    if not run_dir.is_dir():
        raise QualityRunError(f"{run_dir}: not a quality run ({'not a folder' if run_dir.exists() else 'missing'})")
    manifest = read_manifest(run_dir)
    if manifest.status == "running":
        raise QualityRunError(
            f"{run_dir}: the run is still marked running; if it has stopped (killed, or its disk filled), "
            f"recover it first with: tco quality --finalize {run_dir}"
        )
    return manifest, {r.item_class: r for r in read_summary(run_dir) if r.suite == "all"}
