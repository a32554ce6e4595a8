"""Benchmark: the slowest evaluation within the documented input ranges.

Each bundled scenario at the edges of its ranges (the most requests a month the schema takes,
the longest horizon, the sharpest daily peak, every combination), timed as ``tco evaluate`` does
its work: the point evaluation, the hybrid fleet sweep and the default Monte Carlo. Target: every
case under 2 s. Prints each case's time and the worst; asserts nothing.

``.venv/bin/python bench/worst_case.py``
"""

from __future__ import annotations

import itertools
import time

from costmodel import paths
from costmodel.engine import evaluate, hybrid_sweep
from costmodel.io.scenario import load
from costmodel.model.scenario import with_values
from costmodel.uncertainty import DEFAULT_DRAWS, simulate

EDGES = {
    "workload.requests_per_month": (1.0, 1e12),
    "horizon_months": (1, 120),
    "workload.peak_to_mean": (1.0, 24.0),
}


def main() -> None:
    worst = (0.0, "")
    for path in sorted(paths.scenarios_dir().glob("*.yaml")):
        base, catalog = load(path)
        for values in itertools.product(*EDGES.values()):
            changes = dict(zip(EDGES, values, strict=True))
            if base.workload.load_shape is not None:
                changes.pop("workload.peak_to_mean")
            sc = with_values(base.model_copy(update={"uncertainty": base.uncertainty}), changes)
            t = time.perf_counter()
            evaluate(sc, catalog)
            for o in sc.options:
                if o.kind == "hybrid":
                    hybrid_sweep(sc, catalog, o.name)
            if sc.uncertainty:
                simulate(sc, catalog, DEFAULT_DRAWS, 0)
            dt = time.perf_counter() - t
            label = f"{path.stem} " + ", ".join(f"{k.split('.')[-1]}={v:g}" for k, v in changes.items())
            print(f"{dt:6.2f} s  {label}")
            worst = max(worst, (dt, label))
    print(f"worst: {worst[0]:.2f} s ({worst[1]}); target under 2 s")


if __name__ == "__main__":
    main()
