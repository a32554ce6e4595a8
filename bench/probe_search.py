"""Benchmark: where the probe's SLO search finds the knee of a server that slows under load.

The fault server answers with TTFT = 20 ms + 20 ms per request in flight, so 5 streams give
120 ms and 6 give 140 ms: against a p95 bound of 130 ms the knee is 5 streams, with 10 ms of
margin either side. The test suite checks what the search does with its measurements
(``tests/probes/test_faults.py``); this prints where the knee lands on this machine, several
times, with each level's p95 TTFT. Prints figures; asserts nothing.

``.venv/bin/python bench/probe_search.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rich.console import Console

from costmodel.io.probe_run import read_manifest, read_summary
from costmodel.model.endpoint import Endpoint
from probes.load import LoadPlan
from probes.run import probe

EXPECTED_KNEE = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="searches to run")
    args = ap.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "probes.faultserver",
            "--port",
            str(port),
            "--ttft-ms",
            "20",
            "--itl-ms",
            "2",
            "--ttft-per-inflight-ms",
            "20",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        endpoint = Endpoint(base_url=f"http://127.0.0.1:{port}/v1", model="fault-model")
        plan = LoadPlan(
            mode="concurrency", levels=(1,), requests=12, warmup=2, slo={"ttft_p95": 130.0}, search=True, search_max=64
        )
        quiet = Console(stderr=True, quiet=True)
        hits = 0
        for i in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                run = probe(endpoint, plan, out_dir=Path(tmp), input_tokens=16, output_tokens=8, console=quiet)
                search = read_manifest(run).slo_search
                levels = ", ".join(f"{r.level} {r.ttft_p95_ms:.0f} ms" for r in read_summary(run))
            hits += search.best == EXPECTED_KNEE
            print(f"search {i + 1}: knee {search.best:g} (first failing {search.first_failing:g}); p95 TTFT: {levels}")
        print(f"knee found at {EXPECTED_KNEE} streams in {hits} of {args.repeat} searches")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
