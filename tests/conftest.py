"""Shared test helpers: the real catalog, scenarios from plain dicts, the ``tco`` CLI as a process,
a fault-injection server process, and the browser a test may drive.

Test modules import helpers from here, never from each other.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.model.base import Sourced
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import Scenario
from tco.report import BROWSERS

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "data" / "scenarios").glob("*.yaml"))
FINTECH = ROOT / "data" / "scenarios" / "fintech-rag.yaml"
EXAMPLE_RUN = ROOT / "data" / "probes" / "example-tiny-llama-cpu"

# ---------------------------------------------------------------------------- scenarios

BASE: dict[str, Any] = {
    "name": "t",
    "title": "test",
    "as_of": "2026-11-22",
    "horizon_months": 12,
    "discount_rate": 0.0,
    "workload": {
        "requests_per_month": 1_000_000,
        "input_tokens_per_request": 1000,
        "output_tokens_per_request": 100,
        "slo": {"ttft_p95_ms": 1000, "tpot_p95_ms": 50},
    },
    "serving": {"model": "llama-3.1-8b", "quantization": "bf16"},
    "options": [{"name": "api", "kind": "api", "provider": "test", "model": "m"}],
}

MEASURED = {"output_tokens_per_s_per_replica": 1000, "source": "test", "as_of": "2026-11-22"}
"""1,000 output tok/s / 100 output tokens per request = 10 requests/s per replica."""

API = {"name": "api", "kind": "api", "provider": "test", "model": "m"}


def scenario(**changes: Any) -> Scenario:
    """BASE with top-level keys replaced and ``workload`` keys merged."""
    data = copy.deepcopy(BASE)
    workload = changes.pop("workload", {})
    data.update(changes)
    data["workload"].update(workload)
    return Scenario.model_validate(data)


NO_STAFF_NO_SPARES = {"spare_replicas": 0, "ops_staff_fte": 0, "ops_staff_usd_per_year": 0}
"""The cost inputs a self-hosted option must state, all explicitly zero."""


def rented(**extra: Any) -> dict[str, Any]:
    """One H100 at $2/GPU-hour, measured at 10 requests/s per replica; no staff, no spares."""
    return {
        "name": "rent",
        "kind": "rented",
        "gpu": "h100-sxm",
        "usd_per_gpu_hour": 2.0,
        "measured": MEASURED,
        **NO_STAFF_NO_SPARES,
        **extra,
    }


def owned(**extra: Any) -> dict[str, Any]:
    """H100s at $30,000 (no server share), a one-year life with no resale, PUE 1.5 at $0.10/kWh,
    $100/kW colocation, 12 % maintenance a year; measured at 10 requests/s per replica; no staff, no spares."""
    return {
        "name": "own",
        "kind": "owned",
        "gpu": "h100-sxm",
        "usd_per_gpu": 30_000,
        "server_usd_per_gpu": 0,
        **NO_STAFF_NO_SPARES,
        "measured": MEASURED,
        "depreciation_years": 1,
        "residual_value": 0.0,
        "pue": 1.5,
        "usd_per_kwh": 0.10,
        "colocation_usd_per_kw_month": 100,
        "maintenance_per_year": 0.12,
        **extra,
    }


def price(inp: float, out: float, cached: float | None = None, batch: float | None = None) -> ApiPrice:
    """An API price for provider ``test``, model ``m`` (USD per 1M tokens)."""

    def s(v: float, unit: str = "USD/1M tokens") -> Sourced:
        return Sourced(value=Decimal(str(v)), unit=unit, source="test fixture", as_of="2026-11-22")

    return ApiPrice(
        provider="test",
        model="m",
        input=s(inp),
        output=s(out),
        cached_input=s(inp if cached is None else cached),
        batch_discount=None if batch is None else s(batch, "fraction"),
    )


def with_prices(catalog: Catalog, *prices: ApiPrice) -> Catalog:
    return catalog.model_copy(update={"api_prices": {(p.provider, p.model): p for p in prices}})


@pytest.fixture(scope="session")
def catalog_files():
    return load_catalog_files()


@pytest.fixture(scope="session")
def base_catalog(catalog_files) -> Catalog:
    return build_catalog(catalog_files)


# ---------------------------------------------------------------------------- the CLI as a process


def tco(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``tco`` as a user does (a new process), with room for wide tables."""
    env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tco", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )


def assert_bad_input(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, no traceback, and one message naming what is wrong."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())  # undo wrapping
    for needle in needles:
        assert needle in message, (needle, message)


# ---------------------------------------------------------------------------- servers on loopback


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_fault_server(*args: str) -> tuple[subprocess.Popen, str]:
    """``probes.faultserver`` as its own process on a free loopback port; (process, base URL)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "probes.faultserver", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                break
        except OSError:
            assert proc.poll() is None, "fault server exited"
            assert time.monotonic() < deadline, "fault server did not answer within 30 s"
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def fault_server():
    """A fault server with 50 ms TTFT and 10 ms between tokens."""
    proc, url = start_fault_server("--ttft-ms", "50", "--itl-ms", "10")
    yield url
    proc.terminate()
    proc.wait()


# ---------------------------------------------------------------------------- the browser


def find_chromium() -> str | None:
    """Debian's chromium on PATH, if installed."""
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable. Without one the browser tests skip with the reason, unless
    ``TCO_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which makes a missing browser a failure."""
    path = find_chromium()
    if path is None:
        reason = (
            "browser test needs Debian's chromium on PATH (sudo apt-get install chromium); "
            "CI sets TCO_REQUIRE_BROWSER=1 and installs it"
        )
        if os.environ.get("TCO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TCO_REQUIRE_BROWSER=1 but no chromium found: {reason}")
        pytest.skip(reason)
    return path
