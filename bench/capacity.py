"""Benchmark: how far the modelled capacity is from published serving throughputs.

For every row of ``data/validation/serving_throughput.csv`` (each with its source, date, engine
and lengths), prints the published output tokens/s, the roofline's figure for the same model,
format, GPU, tensor-parallel size, lengths, request count and engine, and the error; then, per
role and per engine x GPU, the median absolute error and the largest overstatement (the
dangerous side: it makes building look cheaper than it is); then the time per output token at a
few streams against the published latency runs. Prints figures; asserts nothing.

``.venv/bin/python bench/capacity.py [--all]``
"""

from __future__ import annotations

import argparse

import numpy as np

from costmodel.calibration import errors, latency_errors, summary
from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.io.validation import published_latencies, published_runs


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
    for role in ("calibration", "validation"):
        s = summary(table, role)
        print(
            f"{role}: {s.rows} rows, median absolute error {s.median_abs:.1%}, largest overstatement "
            f"{s.largest_overstatement:+.1%}, largest understatement {s.largest_understatement:+.1%}, "
            f"rows overstating by more than 25 %: {s.overstating_over_25}"
        )
    print("\nheld-out (validation) rows per engine x GPU:")
    for (engine, gpu), part in table.groupby(["engine", "gpu"]):
        s = summary(part)
        if s.rows:
            print(
                f"  {engine:8s} on {gpu:9s} {s.rows:3d} rows, median absolute error {s.median_abs:5.1%}, "
                f"largest overstatement {s.largest_overstatement:+6.1%}, largest understatement "
                f"{s.largest_understatement:+6.1%}"
            )

    latency = latency_errors(published_latencies(), catalog)
    print("\ntime per output token at a few streams (data/validation/serving_latency.csv; never fitted on):")
    for r in latency.itertuples():
        print(
            f"  {r.id:58s} batch {r.batch:3d}  TPOT published {r.tpot_published_ms:6.2f} ms  "
            f"modelled {r.tpot_modelled_ms:6.2f} ms  {r.tpot_error:+.1%}"
        )
    e = latency["tpot_error"].to_numpy()
    print(
        f"TPOT at {latency['batch'].min()}-{latency['batch'].max()} streams: {e.size} rows, "
        f"median absolute error {np.median(np.abs(e)):.1%}, "
        f"range {e.min():+.1%} to {e.max():+.1%} (positive: the model is slower than published)"
    )


if __name__ == "__main__":
    main()
