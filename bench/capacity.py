"""Benchmark: how far the modelled capacity is from published serving throughputs.

For every row of ``data/validation/serving_throughput.csv`` (each with its source, date, engine
and lengths), prints the published output tokens/s, the roofline's figure for the same model,
format, GPU, tensor-parallel size, lengths, request count and engine, and the error; then, per
role and per engine x GPU, the median absolute error and the largest overstatement (the
dangerous side: it makes building look cheaper than it is); then the published latency points
(batch latency runs, ``serving_latency.csv``; fixed-concurrency TTFT, TPOT and throughput,
``serving_streams.csv``; the median inter-token latency at a fixed request rate,
``serving_rates.csv``) against the model, and the held-out time per output token at 1-8
streams per engine x GPU (calibrated pairs apart from those on the engine's prior), and the
per-step overhead the batch latency runs imply at each tensor-parallel size. Prints figures;
asserts nothing.

``.venv/bin/python bench/capacity.py [--all]``
"""

from __future__ import annotations

import argparse

import numpy as np

from costmodel.calibration import (
    LOW_LOAD_STREAMS,
    errors,
    implied_overhead_by_tp,
    latency_errors,
    low_load_tpot,
    rate_errors,
    stream_errors,
    summary,
)
from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.io.validation import published_latencies, published_rates, published_runs, published_streams

UNCALIBRATED = "uncalibrated pairs (the engine's prior)"  # a pair with no points in the fit


def _marked(calibrated: bool) -> str:
    """What follows a pair's line: nothing when it is fitted on, else that it runs on the prior."""
    return "" if calibrated else "  (uncalibrated: the engine's prior)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="also list the calibration rows")
    args = ap.parse_args()
    catalog = build_catalog(load_catalog_files())
    table = errors(published_runs(), catalog)
    print(f"{'row':52s} {'role':11s} {'published':>10s} {'modelled':>10s} {'error':>7s}")
    for r in table.itertuples():
        if r.role == "validation" or args.all:
            print(f"{r.id:52s} {r.role:11s} {r.published:>10,.0f} {r.modelled:>10,.0f} {r.error:>+7.1%}")
    for role, part, words in (
        ("calibration", table, "calibration"),
        ("validation", table[table["calibrated"]], "validation, calibrated pairs"),
        ("validation", table[~table["calibrated"]], f"validation, {UNCALIBRATED}"),
    ):
        s = summary(part, role)
        if s.rows:
            print(
                f"{words}: {s.rows} rows, median absolute error {s.median_abs:.1%}, largest overstatement "
                f"{s.largest_overstatement:+.1%}, largest understatement {s.largest_understatement:+.1%}, "
                f"rows overstating by more than 25 %: {s.overstating_over_25}"
            )
    print("\nheld-out (validation) rows per engine x GPU:")
    for (engine, gpu, calibrated), part in table.groupby(["engine", "gpu", "calibrated"]):
        s = summary(part)
        if s.rows:
            print(
                f"  {engine:8s} on {gpu:9s} {s.rows:3d} rows, median absolute error {s.median_abs:5.1%}, "
                f"largest overstatement {s.largest_overstatement:+6.1%}, largest understatement "
                f"{s.largest_understatement:+6.1%}" + _marked(calibrated)
            )

    latency = latency_errors(published_latencies(), catalog)
    print("\nbatch latency runs (data/validation/serving_latency.csv): time per output token")
    for r in latency.itertuples():
        print(
            f"  {r.id:58s} {r.role:11s} batch {r.batch:3d}  TPOT published {r.tpot_published_ms:6.2f} ms  "
            f"modelled {r.tpot_modelled_ms:6.2f} ms  {r.tpot_error:+.1%}"
        )
    streams = stream_errors(published_streams(), catalog)
    print(
        "\nfixed concurrency (data/validation/serving_streams.csv): mean TTFT, TPOT, output tok/s, published / modelled"
    )
    for r in streams.itertuples():
        print(
            f"  {r.id:46s} {r.role:11s} c {r.concurrency:3d}  TTFT {r.ttft_published_ms:7.1f} / "
            f"{r.ttft_modelled_ms:7.1f} ms {r.ttft_error:+7.1%}  TPOT {r.tpot_published_ms:5.2f} / "
            f"{r.tpot_modelled_ms:5.2f} ms {r.tpot_error:+6.1%}  tok/s {r.throughput_published:6.0f} / "
            f"{r.throughput_modelled:6.0f} {r.throughput_error:+6.1%}"
        )
    held_out = streams[streams["role"] == "validation"]
    for name in ("ttft", "throughput"):
        e = held_out[f"{name}_error"].to_numpy()
        print(
            f"held-out fixed-concurrency {name} ({e.size} points): median absolute error "
            f"{np.median(np.abs(e)):.1%}, range {e.min():+.1%} to {e.max():+.1%}"
        )
    rates = rate_errors(published_rates(), catalog)
    print(
        "\nfixed request rate (data/validation/serving_rates.csv): median inter-token latency against a decode "
        "step with the mean in flight (rate x mean end-to-end latency)"
    )
    for r in rates.itertuples():
        print(
            f"  {r.id:58s} {r.role:11s} {r.request_rate:4g} req/s, {r.in_flight:6.1f} in flight  TPOT published "
            f"{r.tpot_published_ms:6.2f} ms  modelled {r.tpot_modelled_ms:6.2f} ms  {r.tpot_error:+.1%}"
        )
    low = low_load_tpot(latency, streams, rates=rates)
    print(f"\nheld-out time per output token at 1-{LOW_LOAD_STREAMS} streams (positive: the model is slower):")
    for (engine, gpu, calibrated), part in low.groupby(["engine", "gpu", "calibrated"]):
        e = part["tpot_error"].to_numpy()
        print(
            f"  {engine:8s} on {gpu:13s} {e.size:3d} points, median absolute error {np.median(np.abs(e)):5.1%}, "
            f"range {e.min():+.1%} to {e.max():+.1%}" + _marked(calibrated)
        )
    for calibrated, words in ((True, "calibrated pairs"), (False, UNCALIBRATED)):
        e = low.loc[low["calibrated"] == calibrated, "tpot_error"].to_numpy()
        if e.size:
            print(
                f"TPOT at 1-{LOW_LOAD_STREAMS} streams, held out, {words}: {e.size} points, median absolute error "
                f"{np.median(np.abs(e)):.1%}, from {e.min():+.1%} to {e.max():+.1%}"
            )
    print("\nper-step overhead the batch latency runs imply, by tensor-parallel size (the catalog holds one per pair):")
    for r in implied_overhead_by_tp(latency).itertuples():
        print(
            f"  {r.engine:8s} on {r.gpu:13s} TP {r.gpus_per_replica} {r.model:14s} {r.runs} runs, "
            f"{r.low_ms:.2f} to {r.high_ms:.2f} ms a step"
        )


if __name__ == "__main__":
    main()
