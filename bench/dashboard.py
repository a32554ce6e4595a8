"""Benchmark: the dashboard's first render in Chromium, as a strategist opens it.

Starts ``tco dashboard`` (Voila) on a free port, opens the page in Debian's chromium (Playwright)
several times, each in a fresh browser context (so each load starts its own kernel), and prints
the seconds from navigation to the rendered summary (the recommendation and the table of every
option's costs), to the four what-if charts drawn after it, and to the *How sure* line that the
Monte Carlo fills in after them. Each load waits for the whole page (the file's sections below
too) before the next starts, so no earlier kernel is still busy. Target (issue 24): the summary in
under 5 s on two cores. Prints the figures; asserts nothing.

    .venv/bin/python bench/dashboard.py [--loads 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import find_chromium, start_dashboard
from tests.tco.browser.test_dashboard import ARGS, FIGURES

PLOT = ".js-plotly-plot"


def wait_for_port(proc, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("voila did not start") from None
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads (default 5)")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("bench/dashboard.py needs Debian's chromium on PATH")
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.mkdtemp()) / "voila.log"
    # closed pages' kernels culled within seconds, so each load is a first load on an idle machine
    proc, port = start_dashboard(log, "--cull-idle-s", "2", new_session=True)
    try:
        wait_for_port(proc, port)
        summary, charts, sure = [], [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            for i in range(args.loads):
                context = browser.new_context(viewport={"width": 1500, "height": 1300})
                page = context.new_page()
                t0 = time.monotonic()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="commit", timeout=60_000)
                page.locator(".tco-summary").wait_for(timeout=120_000)
                summary.append(time.monotonic() - t0)
                page.wait_for_function(f"() => document.querySelectorAll('{PLOT}').length >= 4", timeout=120_000)
                charts.append(time.monotonic() - t0)
                page.locator(".tco-sure").wait_for(timeout=120_000)
                sure.append(time.monotonic() - t0)
                print(
                    f"load {i + 1}: summary {summary[-1]:.1f} s, charts {charts[-1]:.1f} s, how sure {sure[-1]:.1f} s",
                    flush=True,
                )
                page.wait_for_function(
                    f"() => document.querySelectorAll('{PLOT}').length >= {FIGURES}", timeout=300_000
                )
                context.close()
                time.sleep(5)  # the closed page's kernel is culled before the next load
            browser.close()
        print(
            f"first render (summary): median {statistics.median(summary):.1f} s, "
            f"first load {summary[0]:.1f} s, max {max(summary):.1f} s over {len(summary)} loads; "
            f"charts: median {statistics.median(charts):.1f} s; how sure: median {statistics.median(sure):.1f} s "
            "(target: summary < 5 s)"
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


if __name__ == "__main__":
    main()
