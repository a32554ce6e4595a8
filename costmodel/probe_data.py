"""Read probe runs (``data/probes/<run-id>/``) into the cost model: the measured capacity.

The file format is written by :mod:`probes.results`: ``summary.csv`` (one row per load
level) and ``manifest.json``. This module only reads it, so the cost model does not
depend on the probe code.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from costmodel.scenario import MeasuredThroughput, Slo


class ProbeDataError(ValueError):
    """A probe run that cannot be used; the message names the run and what is missing."""


def read_probe_run(run_dir: Path) -> tuple[dict, pd.DataFrame]:
    """The manifest and the summary table of a probe run."""
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        summary = pd.read_csv(run_dir / "summary.csv")
    except FileNotFoundError as e:
        raise ProbeDataError(f"{run_dir}: not a probe run ({Path(e.filename).name} missing)") from None
    except (ValueError, pd.errors.ParserError) as e:
        raise ProbeDataError(f"{run_dir}: unreadable probe run ({e})") from None
    return manifest, summary


def slo_levels(summary: pd.DataFrame, slo: Slo, max_error_rate: float = 0.01) -> pd.DataFrame:
    """Valid levels whose p95 TTFT and TPOT meet ``slo`` and whose error rate is acceptable."""
    if summary.empty:
        return summary
    ok = (summary["valid"].astype(bool) & (summary["ttft_p95_ms"] <= slo.ttft_p95_ms)
          & (summary["tpot_p95_ms"] <= slo.tpot_p95_ms) & (summary["error_rate"] <= max_error_rate))
    return summary[ok]


def measured_from_probe(run_dir: Path, slo: Slo) -> MeasuredThroughput:
    """Per-replica throughput at the largest load level of ``run_dir`` that meets ``slo``.

    "Largest" is the highest concurrency (or request rate) among valid levels meeting the
    SLO; its output tokens per second over the level's wall time is the figure.
    """
    manifest, summary = read_probe_run(run_dir)
    passing = slo_levels(summary, slo)
    if passing.empty:
        raise ProbeDataError(f"{run_dir}: no valid level meets TTFT p95 <= {slo.ttft_p95_ms:g} ms and "
                             f"TPOT p95 <= {slo.tpot_p95_ms:g} ms")
    load = passing["concurrency"].fillna(0) if (passing["mode"] == "concurrency").all() \
        else passing["requested_rate"].fillna(0)
    row = passing.loc[load.idxmax()]
    started = manifest.get("started")
    as_of = datetime.fromisoformat(started).date() if started else date.today()
    ep = manifest.get("endpoint", {})
    return MeasuredThroughput(
        output_tokens_per_s_per_replica=float(row["output_tokens_per_s"]),
        ttft_p95_ms=float(row["ttft_p95_ms"]),
        tpot_p95_ms=float(row["tpot_p95_ms"]),
        source=(f"probe run {manifest.get('run_id', run_dir.name)}, level {row['level']}: "
                f"{ep.get('model', '?')} at {ep.get('base_url', '?')}, {row['requests']:.0f} requests, "
                f"{row['mean_input_tokens']:.0f} in / {row['mean_output_tokens']:.0f} out tokens"),
        as_of=as_of,
    )
