"""Benchmark: kernel time from a control change to redrawn figures in the explore notebook.

Builds the real widget tree (``costmodel.dashboard.explorer``) in-process and changes
each control in turn for every bundled scenario; each change runs the observer (engine
re-evaluation, four figures rebuilt and redrawn in their Output areas, the summary updated). Target
(issue 4): under 100 ms per change. Prints the figures; asserts nothing.

    .venv/bin/python bench/widgets.py
"""

from __future__ import annotations

import statistics

from costmodel import paths
from tco.dashboard import explorer

CHANGES = [
    ("volume", lambda v: v * 1.7),
    ("tokens_in", lambda v: v + 500),
    ("tokens_out", lambda v: v + 50),
    ("util", lambda v: 0.6),
    ("api_price", lambda v: 1.3),
    ("gpu_price", lambda v: 0.8),
    ("horizon", lambda v: 48),
    ("rate", lambda v: 0.12),
    ("gpu_count", lambda v: "16"),
    ("gpu", lambda v: "h100-sxm"),
    ("api", lambda v: "openai/gpt-4o"),
    ("quant", lambda v: "fp8"),
]


def main() -> None:
    all_ms = []
    for path in sorted(paths.scenarios_dir().glob("*.yaml")):
        ex = explorer(path.stem).explorer
        times = []
        for key, new in CHANGES * 3:
            ex.widgets[key].value = new(ex.widgets[key].value)
            if "Not evaluated" in ex.widgets["status"].value:
                continue
            times.append(ex.last_seconds * 1e3)
        all_ms += times
        print(
            f"{path.stem:<22} {len(times):>3} changes: median {statistics.median(times):6.1f} ms, "
            f"max {max(times):6.1f} ms"
        )
    print(
        f"all scenarios: median {statistics.median(all_ms):.1f} ms, p95 "
        f"{sorted(all_ms)[int(0.95 * len(all_ms)) - 1]:.1f} ms, max {max(all_ms):.1f} ms per control change"
    )


if __name__ == "__main__":
    main()
