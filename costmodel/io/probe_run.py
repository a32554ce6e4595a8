"""Reading and writing probe-run folders (``data/probes/<run-id>/``) through the one format
in :mod:`costmodel.model.probe_run`; the probe writes with these functions and the cost model
reads with them, so the two cannot drift apart.

A folder of another format version, a missing column, a wrong type: :class:`ProbeRunError`
naming the file, the row and the field.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from costmodel.model.probe_run import FORMAT, SUMMARY_COLUMNS, LevelSummary, ProbeManifest
from costmodel.model.scenario import MeasuredThroughput, Slo

MANIFEST = "manifest.json"
SUMMARY = "summary.csv"
REQUESTS = "requests.jsonl"
M = TypeVar("M", bound=BaseModel)
MAX_FILE_BYTES = 256 * 1024 * 1024  # a manifest or summary larger than this is not one


class ProbeRunError(ValueError):
    """A probe run that cannot be used; the message names the file, the field and what is wrong."""


def _problem(e: ValidationError) -> tuple[str, Any, str]:
    err = e.errors()[0]
    field = ".".join(str(x) for x in err["loc"])
    value = err.get("input") if err["type"] != "missing" else None
    return field, value, err["msg"]


def validated(path: Path, data: Any, model: type[M], error: type[Exception]) -> M:
    """``data`` read from ``path`` validated through ``model``; a bad field is ``error`` naming
    file, field and value (the run readers' one way of saying so)."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        field, value, msg = _problem(e)
        raise error(f"{path}: {field} = {value!r}: {msg}") from None


def validated_rows(
    path: Path, text: str, model: type[M], columns: Sequence[str], fmt: str, error: type[Exception]
) -> list[M]:
    """A run's CSV file, each row validated through ``model``: a missing required column, a
    column not in ``columns`` (format ``fmt``) or a bad cell is ``error`` naming file, line and field."""
    reader = csv.DictReader(io.StringIO(text))
    found = reader.fieldnames or []
    required = [name for name, f in model.model_fields.items() if f.is_required()]
    missing = [c for c in required if c not in found]
    if missing:
        raise error(
            f"{path}: column {missing[0]!r} is missing"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    unknown = [c for c in found if c not in columns]
    if unknown:
        raise error(f"{path}: column {unknown[0]!r} is not part of format {fmt}")
    rows = []
    for line, row in enumerate(reader, start=2):
        try:
            rows.append(model.model_validate(row))
        except ValidationError as e:
            field, value, msg = _problem(e)
            raise error(f"{path}: line {line}, {field} = {value!r}: {msg}") from None
    return rows


def _read_text(path: Path) -> str:
    try:
        if not path.is_file():
            raise ProbeRunError(f"{path}: {'not a file' if path.exists() else 'missing'}; not a probe run")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ProbeRunError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB; not a probe run file")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ProbeRunError(f"{path}: cannot read ({e.__class__.__name__}: {e})") from None


def read_manifest(run_dir: Path) -> ProbeManifest:
    """The run's manifest, checked against the format version."""
    path = run_dir / MANIFEST
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProbeRunError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(data, dict):
        raise ProbeRunError(f"{path}: expected a JSON object, got {type(data).__name__}")
    version = data.get("format")
    if version != FORMAT:
        raise ProbeRunError(
            f"{path}: format = {version!r}: this workbench reads {FORMAT!r}; rebuild the "
            f"run with `tco probe --finalize {run_dir}`"
        )
    return validated(path, data, ProbeManifest, ProbeRunError)


def read_summary(run_dir: Path) -> list[LevelSummary]:
    """The per-level summary rows, each validated; a missing column or a bad cell is an error."""
    path = run_dir / SUMMARY
    text = _read_text(path)
    return validated_rows(path, text, LevelSummary, SUMMARY_COLUMNS, FORMAT, ProbeRunError)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def summary_csv(rows: Iterable[LevelSummary]) -> str:
    """The text of ``summary.csv``: every column of the format, in order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in SUMMARY_COLUMNS])
    return out.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_summary(run_dir: Path, rows: Iterable[LevelSummary]) -> None:
    write_atomic(run_dir / SUMMARY, summary_csv(rows))


def manifest_json(manifest: ProbeManifest) -> str:
    return manifest.model_dump_json(indent=2) + "\n"


def slo_levels(summary: list[LevelSummary], slo: Slo, max_error_rate: float = 0.01) -> list[LevelSummary]:
    """Valid levels whose p95 TTFT and TPOT meet ``slo`` and whose error rate is acceptable."""
    return [
        r
        for r in summary
        if r.valid
        and r.ttft_p95_ms is not None
        and r.tpot_p95_ms is not None
        and r.ttft_p95_ms <= slo.ttft_p95_ms
        and r.tpot_p95_ms <= slo.tpot_p95_ms
        and (r.error_rate or 0.0) <= max_error_rate
    ]


def usable_manifest(run_dir: Path) -> ProbeManifest:
    """The manifest of a run the costing may read: not one still marked running (killed, or still
    going), whose summary may be missing or stale."""
    manifest = read_manifest(run_dir)
    if manifest.status == "running":
        raise ProbeRunError(
            f"{run_dir}: the run is still marked running; if it has stopped (killed, or its disk filled), "
            f"recover it first with: tco probe --finalize {run_dir}"
        )
    return manifest


def api_latency_from_probe(run_dir: Path, max_error_rate: float = 0.01) -> dict[str, Any]:
    """An API's p95 TTFT and TPOT from a probe of it: those of its most demanding valid level (the
    highest concurrency or rate with at most ``max_error_rate`` errors): an API scales out, so the
    probe's heaviest load is the conservative reading. Keys: ``ttft_p95_ms``, ``tpot_p95_ms``,
    ``latency_source``, ``model`` (the model the probe asked for)."""
    if not run_dir.is_dir():
        raise ProbeRunError(f"{run_dir}: not a probe run ({'not a folder' if run_dir.exists() else 'missing'})")
    manifest = usable_manifest(run_dir)
    usable = [
        r
        for r in read_summary(run_dir)
        if r.valid and r.ttft_p95_ms is not None and r.tpot_p95_ms is not None and (r.error_rate or 0) <= max_error_rate
    ]
    if not usable:
        raise ProbeRunError(f"{run_dir}: no valid level with p95 TTFT and TPOT and at most {max_error_rate:.0%} errors")
    row = max(usable, key=lambda r: r.load)
    ep = manifest.endpoint
    status = "" if manifest.status == "complete" else f" (run {manifest.status})"
    return {
        "ttft_p95_ms": row.ttft_p95_ms,
        "tpot_p95_ms": row.tpot_p95_ms,
        "latency_source": f"probe run {manifest.run_id}{status}, level {row.level} ({row.requests} requests): "
        f"{ep.model} at {ep.shown_url()}, {manifest.started.date()}",
        "model": ep.model,
    }


def measured_from_probe(run_dir: Path, slo: Slo) -> MeasuredThroughput:
    """Per-replica throughput at the largest load level of ``run_dir`` that meets ``slo``.

    "Largest" is the highest concurrency (or request rate) among valid levels meeting the
    SLO; its output tokens per second over the level's wall time is the figure.
    """
    if not run_dir.is_dir():
        raise ProbeRunError(f"{run_dir}: not a probe run ({'not a folder' if run_dir.exists() else 'missing'})")
    manifest = usable_manifest(run_dir)
    passing = slo_levels(read_summary(run_dir), slo)
    if not passing:
        raise ProbeRunError(
            f"{run_dir}: no valid level meets TTFT p95 <= {slo.ttft_p95_ms:g} ms and TPOT p95 <= {slo.tpot_p95_ms:g} ms"
        )
    row = max(passing, key=lambda r: r.load)
    if not row.output_tokens_per_s:
        raise ProbeRunError(f"{run_dir / SUMMARY}: level {row.level}: output_tokens_per_s is empty or 0")
    ep = manifest.endpoint
    caveat = "" if manifest.status == "complete" else f" (run {manifest.status})"
    return MeasuredThroughput(
        output_tokens_per_s_per_replica=float(row.output_tokens_per_s),
        ttft_p95_ms=row.ttft_p95_ms,
        tpot_p95_ms=row.tpot_p95_ms,
        source=(
            f"probe run {manifest.run_id}{caveat}, level {row.level}: {ep.model} at {ep.shown_url()}, "
            f"{row.requests} requests, {row.mean_input_tokens or 0:.0f} in / {row.mean_output_tokens or 0:.0f} "
            "out tokens"
        ),
        as_of=manifest.started.date(),
        caveat=None
        if manifest.status == "complete"
        else (
            f"from a probe run that ended {manifest.status}"
            + (f" ({manifest.stopped_by})" if manifest.stopped_by else "")
            + "; re-run it to completion"
        ),
    )
