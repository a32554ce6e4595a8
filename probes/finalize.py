"""Rebuild a run folder's summary and manifest from ``requests.jsonl``: after a SIGKILL, a full
disk, or to bring a run of an older format version up to date (``tco probe --finalize DIR``).

What ``requests.jsonl`` holds is the truth: every complete line is kept; a last line cut short
by a crash is dropped (and counted). The manifest keeps what the old one said about endpoint,
plan and versions; a run still marked ``running`` becomes ``recovered``; temporary files left by
a write the crash cut short are removed. :func:`finalize_quality` does the same for a
``tco quality`` run from its ``items.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from costmodel.io.probe_run import MANIFEST, REQUESTS, ProbeRunError, manifest_json, write_atomic, write_summary
from costmodel.model.probe_run import FORMAT, LevelMeta, PlanPrices, ProbeManifest, RequestRecord
from probes.results import merge_worker_records, summarize, with_costs


@dataclass(frozen=True)
class Finalized:
    """What a finalize found."""

    run_dir: Path
    records: int
    dropped_lines: int
    levels: int  # load levels (a probe run) or request classes (a quality run)
    status: str
    kind: str = "probe"

    def said(self) -> str:
        """What was rebuilt, in one line."""
        counted = f"{self.records} records, {self.levels} levels" if self.kind == "probe" else f"{self.records} items"
        dropped = f"; {self.dropped_lines} unreadable line(s) dropped" if self.dropped_lines else ""
        return f"rebuilt {self.run_dir}: {counted}, status {self.status}{dropped}"


M = TypeVar("M", bound=BaseModel)


def read_lines(path: Path, model: type[M]) -> tuple[list[M], int]:
    """Every complete, valid line of a JSONL run file; and how many were not (a cut-off last line)."""
    if not path.is_file():
        raise ProbeRunError(f"{path}: missing; nothing to rebuild from")
    rows, dropped = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            rows.append(model.model_validate_json(line))
        except ValidationError:
            dropped += 1
    return rows, dropped


def read_request_lines(run_dir: Path) -> tuple[list[dict[str, Any]], int]:
    """Every complete, valid record (the workers' files merged first, for a run killed before it
    merged them); and how many lines were not (a cut-off last line)."""
    merge_worker_records(run_dir)
    rows, dropped = read_lines(run_dir / REQUESTS, RequestRecord)
    return [r.model_dump() for r in rows], dropped


def old_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest as the run left it (read as JSON: it may be of an older format)."""
    path = run_dir / MANIFEST
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ProbeRunError(f"{path}: missing; a run folder needs the manifest it started with") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProbeRunError(f"{path}: unreadable ({e})") from None


def _levels_from_records(records: pd.DataFrame, plan: dict[str, Any], known: list[dict[str, Any]]) -> list[dict]:
    """Level timing: as the manifest recorded it, else rebuilt from the records (loop lag unknown)."""
    by_name = {lv["name"]: lv for lv in known}
    out = []
    for name in dict.fromkeys(records["level"]):  # in the order they ran
        if name in by_name:
            out.append(by_name[name])
            continue
        rows = records[records["level"] == name]
        rate = name.startswith("r")
        value = float(name[1:])
        out.append(
            LevelMeta(
                name=name,
                mode="rate" if rate else "concurrency",
                concurrency=None if rate else int(value),
                rate=value if rate else None,
                warmup=int(rows["warmup"].sum()),
                requests_planned=int(plan.get("requests_per_level", len(rows))),
                loop_lag_p95_ms=None,
                loop_lag_max_ms=None,
                started_s=float(rows["scheduled_s"].min()),
                ended_s=float(rows["end_s"].max() if rows["end_s"].notna().any() else rows["scheduled_s"].max()),
            ).model_dump()
        )
    return out


def finalize(run_dir: Path) -> Finalized:
    """Rewrite ``summary.csv`` and ``manifest.json`` (format :data:`FORMAT`) from the records."""
    path = run_dir / MANIFEST
    old = old_manifest(run_dir)
    rows, dropped = read_request_lines(run_dir)
    records = pd.DataFrame(rows)
    plan = old.get("plan", {})
    levels = _levels_from_records(records, plan, old.get("levels", [])) if len(records) else []
    slo = plan.get("slo_ms") or {}
    manifest_prices = PlanPrices.model_validate(plan.get("prices") or {})
    summary = [with_costs(row, manifest_prices) for row in summarize(records, levels, slo)]
    status = old.get("status", "interrupted")
    if status == "running":  # killed, or its disk filled: what it wrote is all there is
        status = "recovered"
    if summary and all(r.ok == 0 for r in summary):
        status = "failed"
    old["plan"] = {"dataset": None, "max_cost_usd": None, **plan}
    old["plan"].setdefault("prices", {})
    search = old.get("slo_search")
    manifest = ProbeManifest.model_validate(
        {
            **old,
            "format": FORMAT,
            "status": status,
            "levels": levels,
            "ended": old.get("ended") or old.get("started"),
            "slo_search": search,
        }
    )
    write_summary(run_dir, summary)
    write_atomic(path, manifest_json(manifest))
    remove_leftovers(run_dir)
    return Finalized(run_dir, len(rows), dropped, len(levels), status)


def remove_leftovers(run_dir: Path) -> int:
    """Delete the temporary files an atomic write left when the process died mid-write."""
    gone = 0
    for tmp in run_dir.glob("*.tmp"):
        tmp.unlink(missing_ok=True)
        gone += 1
    return gone


def finalize_quality(run_dir: Path) -> Finalized:
    """Rebuild a ``tco quality`` run's ``summary.csv`` and manifest from its ``items.jsonl``: every
    complete line is scored again into the per-class summary; a cut-off last line is dropped and
    counted; a run still marked ``running`` becomes ``recovered``; leftover temporary files go."""
    from costmodel.io.quality import ITEMS
    from costmodel.io.quality import write_summary as write_quality_summary
    from costmodel.model.quality import ItemRecord, QualityManifest
    from probes.budget import Budget
    from probes.quality import summarize as summarize_items

    path = run_dir / MANIFEST
    old = old_manifest(run_dir)
    records, dropped = read_lines(run_dir / ITEMS, ItemRecord)
    prices = old.get("prices") or {}
    budget = Budget(prices.get("usd_per_m_input"), prices.get("usd_per_m_output"))
    summary = summarize_items(records, budget)
    status = old.get("status", "interrupted")
    if status == "running":
        status = "recovered"
    try:
        manifest = QualityManifest.model_validate(
            {**old, "status": status, "ended": old.get("ended") or old.get("started")}
        )
    except ValidationError as e:
        raise ProbeRunError(f"{path}: not a quality run's manifest ({e.error_count()} problems)") from None
    write_quality_summary(run_dir, summary)
    write_atomic(path, manifest.model_dump_json(indent=2) + "\n")
    remove_leftovers(run_dir)
    return Finalized(run_dir, len(records), dropped, len({r.item_class for r in records}), status, "quality")
