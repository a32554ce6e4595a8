"""Benchmark: what-if variants of a scenario evaluated per second by the vectorized engine.

1,000,000 variants, each its own (monthly volume, API-price multiplier, planned fleet
utilisation) drawn at random, go through ``costmodel.engine.variant_costs``, the same
functions the break-even search uses: every option's steady-state monthly cost for every
variant, then the cheapest option per variant. Random triples are the honest case: a
regular 100 x 100 x 100 grid is also timed, but there the engine only computes the 10,000
distinct pairs each option depends on and broadcasts, so it is far faster.
Target (issue 2): 1,000,000 variants in under 1 s on the project's 2-core machine.
Prints the figures; asserts nothing.

    .venv/bin/python bench/engine.py [--scenario PATH] [--side 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from costmodel import evaluate, load
from costmodel.engine import variant_costs

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", type=Path, default=ROOT / "data/scenarios/fintech-rag.yaml")
    ap.add_argument("--variants", type=int, default=1_000_000, help="random variants")
    ap.add_argument("--side", type=int, default=100, help="grid points per axis (grid variants = side^3)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs; the best is reported")
    args = ap.parse_args()

    scenario, catalog = load(args.scenario)
    rng = np.random.default_rng(0)
    m = args.variants
    random_axes = (
        np.exp(rng.uniform(np.log(1e5), np.log(1e9), m)),  # requests per month
        rng.uniform(0.25, 4.0, m),  # multiplier on every API price
        rng.uniform(0.3, 1.0, m),
    )  # planned peak utilisation of fleets
    n = args.side
    grid_axes = (
        np.geomspace(1e5, 1e9, n)[:, None, None],
        np.linspace(0.25, 4.0, n)[None, :, None],
        np.linspace(0.3, 1.0, n)[None, None, :],
    )

    def run(volume, price, util):
        costs = variant_costs(scenario, catalog, volume, api_price_scale=price, max_utilization=util)
        return list(costs), np.stack(list(costs.values())).argmin(axis=0)

    def timed(axes):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            names, cheapest = run(*axes)
            times.append(time.perf_counter() - t0)
        return names, cheapest, min(times), sorted(times)[len(times) // 2]

    names, cheapest, best, median = timed(random_axes)
    _, grid_cheapest, grid_best, _ = timed(grid_axes)

    t0 = time.perf_counter()
    evaluate(scenario, catalog)
    one = time.perf_counter() - t0

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scenario: {scenario.name} ({len(names)} options priced per variant)")
    print(
        f"random variants: {cheapest.size:,} (volume 1e5-1e9 req/month log-uniform, API price x0.25-4, "
        f"utilisation 0.3-1.0)"
    )
    print(f"  best of {args.repeat}: {best:.3f} s -> {cheapest.size / best:,.0f} variants/s (median {median:.3f} s)")
    print(
        "  cheapest option share: " + ", ".join(f"{k} {float((cheapest == i).mean()):.1%}" for i, k in enumerate(names))
    )
    print(
        f"grid variants: {grid_cheapest.size:,} ({n}^3, separable): best {grid_best:.3f} s -> "
        f"{grid_cheapest.size / grid_best:,.0f} variants/s"
    )
    print(f"peak RSS: {rss:,.0f} MiB")
    print(f"one full evaluate() ({scenario.horizon_months} months, break-evens, recommendation): {one * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
