"""Benchmark: Monte Carlo draws of a scenario's uncertain inputs per second.

Times :func:`costmodel.uncertainty.simulate` (the engine's own costing over
``(draws, months)`` tables; see that module) on the default scenario, all of its options,
and on the build-vs-buy pair alone (its owned option and its first API), and checks that
a second run with the same seed gives identical numbers. Target (issue 5): 1,000,000
draws of a 36-month horizon in under 1 s on the project's 2-core machine (see the README
for the figures measured). Prints the figures; asserts nothing.

    .venv/bin/python bench/montecarlo.py [--scenario PATH] [--draws 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np

from costmodel import load
from costmodel.model.scenario import ApiOption, OwnedOption
from costmodel.uncertainty import simulate

ROOT = Path(__file__).resolve().parent.parent


def timed(scenario, catalog, draws: int, repeat: int, threads: int | None) -> tuple[float, object]:
    best, sim = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        sim = simulate(scenario, catalog, draws, seed=7, threads=threads)
        best = min(best, time.perf_counter() - t0)
    return best, sim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", type=Path, default=ROOT / "data/scenarios/fintech-rag.yaml")
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    args = ap.parse_args()

    scenario, catalog = load(args.scenario)
    simulate(scenario, catalog, 50_000, seed=0)  # warm-up: imports, allocator
    owned = next(o.name for o in scenario.options if isinstance(o, OwnedOption))
    api = next(o.name for o in scenario.options if isinstance(o, ApiOption))
    pair = scenario.model_copy(
        update={
            "options": tuple(o for o in scenario.options if o.name in (owned, api)),
            "uncertainty": {
                k: v
                for k, v in scenario.uncertainty.items()
                if not k.startswith("options.") or k.split(".")[1] in (owned, api)
            },
        }
    )
    print(
        f"machine: {os.cpu_count()} cores; scenario {scenario.name}, {scenario.horizon_months} months, "
        f"{len(scenario.uncertainty)} uncertain inputs; best of {args.repeat}"
    )
    for label, sc in ((f"all {len(scenario.options)} options", scenario), (f"build vs buy: {owned} vs {api}", pair)):
        for threads in (1, None):
            seconds, _sim = timed(sc, catalog, args.draws, args.repeat, threads)
            print(
                f"  {label:<45} threads={threads or 'auto':<4} {args.draws:>9,} draws: {seconds:6.3f} s "
                f"({args.draws / seconds / 1e6:.2f} M draws/s)"
            )
    again = simulate(scenario, catalog, args.draws, seed=7)
    same = all(
        np.array_equal(sim_a, sim_b)
        for sim_a, sim_b in zip(
            timed(scenario, catalog, args.draws, 1, None)[1].npv_cost.values(), again.npv_cost.values(), strict=True
        )
    )
    print(f"same seed, same numbers: {same}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    print(
        again.summary()[["npv_cost_p10", "npv_cost_p50", "npv_cost_p90", "p_cheapest", "p_slo"]].to_string(
            float_format=lambda x: f"{x:,.3f}"
        )
    )


if __name__ == "__main__":
    main()
