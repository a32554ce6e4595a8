"""Shared test helpers: the real catalog, scenarios from plain dicts, the ``tco`` CLI as a process,
a fault-injection server process, and the browser a test may drive.

Test modules import helpers from here, never from each other.
"""

from __future__ import annotations

import copy
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.model.base import Sourced
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import Scenario
from tco.render import BROWSERS

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "data" / "scenarios").glob("*.yaml"))
FINTECH = ROOT / "data" / "scenarios" / "fintech-rag.yaml"
EXAMPLE_RUN = ROOT / "data" / "probes" / "example-tiny-llama-cpu"
# what would make a rendered page reach the network: scripts, stylesheets, images from a URL
EXTERNAL = re.compile(
    r"<script[^>]*\bsrc=[\"']?https?:|<link[^>]*\bhref=[\"']?https?:|<img[^>]*\bsrc=[\"']?https?:", re.I
)

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


def throwaway_key(shape: str = "") -> str:
    """A credential made at run time for the secrets tests (none is committed), with ``shape``
    (quotes, backslashes) inside it where a test needs escaping exercised."""
    return f"tk-{shape}{secrets.token_hex(16)}"


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


def write_quality_run(
    folder: Path, classes: dict[str, tuple[int, int]], model: str = "m", status: str = "complete"
) -> Path:
    """A quality run folder as ``tco quality`` writes it: ``classes`` maps a class to (correct, n)."""
    from datetime import UTC, datetime

    from costmodel.io.probe_run import write_atomic
    from costmodel.io.quality import MANIFEST, write_summary
    from costmodel.model.quality import FORMAT, ClassSummary, QualityManifest, wilson_interval

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for cls, (correct, n) in {**classes, "all": tuple(map(sum, zip(*classes.values(), strict=True)))}.items():
        low, high = wilson_interval(correct, n)
        rows.append(
            ClassSummary(
                suite="all",
                item_class=cls,
                n=n,
                correct=correct,
                accuracy=correct / n,
                ci_low=low,
                ci_high=high,
                errors=0,
                hallucination_rate=None,
                schema_valid_rate=None,
                field_accuracy=None,
                input_tokens=0,
                output_tokens=0,
                cost_usd=None,
            )
        )
    write_summary(folder, rows)
    manifest = QualityManifest(
        format=FORMAT,
        run_id=folder.name,
        status=status,
        started=datetime(2026, 11, 20, tzinfo=UTC),
        ended=datetime(2026, 11, 20, 1, tzinfo=UTC),
        endpoint={"base_url": "http://127.0.0.1:8000/v1", "model": model},
        suites=[{"name": "dataset", "version": "0" * 64, "items": sum(n for _, n in classes.values())}],
        seed=0,
        concurrency=1,
        prices={},
        versions={"python": "3.11"},
        host={"platform": "test", "cpus": 1},
    )
    write_atomic(folder / MANIFEST, manifest.model_dump_json(indent=2))
    return folder


# ---------------------------------------------------------------------------- the CLI as a process


def tco(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``tco`` as a user does (a new process), with room for wide tables."""
    env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tco", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )


def docs_say(page: str, pattern: str) -> re.Match[str]:
    """Where docs/<page> says ``pattern`` (its text with every run of white space one space), for
    a test to recompute the numbers it quotes; fails naming the page when it says nothing of it."""
    text = " ".join((ROOT / "docs" / page).read_text(encoding="utf-8").split())
    found = re.search(pattern, text)
    assert found, f"docs/{page} no longer says: {pattern}"
    return found


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


def start_dashboard(log: Path, *extra: str, new_session: bool = False) -> tuple[subprocess.Popen, int]:
    """``tco dashboard`` as a user starts it, on a free port, its output (and its kernels') in ``log``."""
    port = free_port()
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tco", "dashboard", "--port", str(port), "--no-browser", *extra],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    return proc, port


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


def written(root: Path, pattern: str, lines: int, within_s: float) -> Path:
    """The first file under ``root`` matching ``pattern`` once it has ``lines`` lines (a run under
    way flushing its records); fails naming the pattern when none does within ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        files = sorted(root.glob(pattern))
        if files and len(files[0].read_text().splitlines()) >= lines:
            return files[0]
        time.sleep(0.05)
    pytest.fail(f"no {pattern} with {lines} lines under {root} within {within_s:g} s")


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
    return required(find_chromium(), "browser test needs Debian's chromium on PATH", "chromium", "TCO_REQUIRE_BROWSER")


def required(found: str | None, why: str, package: str, env: str) -> str:
    """A system program a test needs: where it is missing the test skips with one line saying how
    to get it, unless ``env=1`` (set by ``.ci/run``, which installs it) makes that a failure."""
    if found is not None:
        return found
    reason = f"{why} (sudo apt-get install {package}); CI sets {env}=1 and installs it"
    if os.environ.get(env) == "1":
        pytest.fail(f"{env}=1 but it is missing: {reason}")
    pytest.skip(reason)


# ---------------------------------------------------------------------------- a real spreadsheet engine

# Recalculate every formula on load: by default LibreOffice trusts an .xlsx file's cached values.
LIBREOFFICE_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    """LibreOffice's ``soffice`` on PATH, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalc_in_libreoffice(soffice: str, paths: list[Path], out: Path) -> list[Path]:
    """Recalculate workbooks in LibreOffice headless, in one run; returns the recalculated copies
    (formulas and their values) in ``out``."""
    profile = out / "profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(LIBREOFFICE_PROFILE)
    run = subprocess.run(
        [
            soffice,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    done = [out / p.name for p in paths]
    missing = [p.name for p in done if not p.exists()]
    assert not missing, f"LibreOffice did not convert {missing}: {run.stdout[-400:]} {run.stderr[-400:]}"
    return done


def typed_into(path: Path, changes: dict[str, float], out: Path) -> Path:
    """A copy of a workbook at ``out`` with named inputs set, as a reviewer types them."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    for name, value in changes.items():
        sheet, cell = book.defined_names[name].attr_text.split("!")
        book[sheet.strip("'")][cell.replace("$", "")] = value
    book.save(out)
    return out


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory) -> Callable[[list[Path]], list[Path]]:
    """Recalculate workbooks in LibreOffice headless: ``recalc(paths)`` returns the recalculated
    copies, in one LibreOffice run. Without ``soffice`` the test skips with the reason, unless
    ``TCO_REQUIRE_LIBREOFFICE=1`` (set by ``.ci/run``)."""
    soffice = required(
        find_soffice(), "workbook recalculation needs LibreOffice", "libreoffice-calc-nogui", "TCO_REQUIRE_LIBREOFFICE"
    )
    return lambda paths: recalc_in_libreoffice(soffice, paths, tmp_path_factory.mktemp("recalculated"))


# ---------------------------------------------------------------------------- hostile inputs (fuzz)

HOSTILE = (
    "0",
    "-1",
    "1e308",
    "-1e308",
    ".inf",
    "-.inf",
    ".nan",
    "1e-300",
    "abc",
    "[]",
    "{}",
    "null",
    "true",
    "''",
    "1e12",
    "2.5",
    "0.5",
    "[1, 2]",
    "'[/]'",
    "99999999999999999999",
)
"""Values a hostile tester types: edges, non-finite numbers, wrong types, markup."""

FUZZ_FIELDS = (
    "workload.requests_per_month",
    "workload.input_tokens_per_request",
    "workload.output_tokens_per_request",
    "workload.monthly_growth",
    "workload.peak_to_mean",
    "workload.cached_input_share",
    "workload.batch_share",
    "workload.slo.ttft_p95_ms",
    "workload.slo.tpot_p95_ms",
    "discount_rate",
    "horizon_months",
    "title",
    "options.own-l40s.usd_per_gpu",
    "options.own-l40s.usd_per_kwh",
    "options.own-l40s.pue",
    "options.own-l40s.spare_replicas",
    "options.own-l40s.gpus",
    "options.own-l40s.max_utilization",
    "options.own-l40s.server_usd_per_gpu",
    "options.own-l40s.depreciation_years",
    "options.own-l40s.residual_value",
    "options.rent-h100.usd_per_gpu_hour",
    "options.rent-h100.gpus_per_replica",
    "options.api-llama-70b.price_scale",
    "options.hybrid-l40s-bedrock.local_gpus",
    "serving.efficiency.mbu",
    "serving.efficiency.max_num_seqs",
    "serving.kv_cache_dtype",
    "trends.api_price_decline_per_year",
    "workload.response_cache.hit_share",
    "workload.request_classes.complex.input_tokens_factor",
    "workload.request_classes.complex.output_tokens_factor",
    "options.router.classifier.added_ttft_ms",
    "options.router.classifier.prompt_tokens",
    "options.router.classifier.confusion.complex.routine",
    "options.router.classifier.kind",
)
"""Fields of the default scenario the fuzz cases set."""

CATALOG_FIELDS = ("memory", "bandwidth", "bf16_tflops", "tdp")


def fuzz_case(rng) -> tuple[str, list[str], dict[str, str]]:
    """One hostile case for ``tco evaluate --json`` of the default scenario: (kind, extra argv, files
    to write first as name -> text, where ``{dir}`` in argv is the folder they go in)."""
    kind = rng.choice(["set", "set", "set", "set2", "file", "catalog", "option", "alias"])
    if kind in ("set", "set2"):
        n = 1 if kind == "set" else 2
        argv = []
        for _ in range(n):
            argv += ["--set", f"{rng.choice(FUZZ_FIELDS)}={rng.choice(HOSTILE)}"]
        return kind, argv, {}
    if kind == "alias":  # billion laughs: in the scenario, under an x- key, in a catalog, inside --set
        where = rng.choice(["scenario", "x-key", "catalog", "set", "self"])
        bomb = "".join(
            f"x-l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n"
            for i in range(rng.randrange(6, 10))
        )
        if where == "set":
            return kind, ["--set", "title=&a [*a]" if rng.random() < 0.5 else "title=&a [1, [*a]]"], {}
        text = FINTECH.read_text(encoding="utf-8")
        if where == "catalog":
            catalog = {
                f"catalog/{p.name}": p.read_text(encoding="utf-8") for p in (ROOT / "data" / "catalog").glob("*.yaml")
            }
            catalog["catalog/gpus.yaml"] = bomb + catalog["catalog/gpus.yaml"]
            return kind, ["--catalog", "{dir}/catalog"], catalog
        if where == "self":
            return kind, ["{dir}/s.yaml"], {"s.yaml": "x-a: &a [*a]\n" + text}
        if where == "scenario":
            text = text.replace("title:", f"notes: *l{bomb.count(chr(10)) - 1}\ntitle:", 1)
        return kind, ["{dir}/s.yaml"], {"s.yaml": bomb + text}
    if kind == "option":
        flag = rng.choice(["--seed", "--draws"])
        return kind, [flag, rng.choice(["-1", "0", "abc", "1e9", "99999999999999999999", "3"])], {}
    text = FINTECH.read_text(encoding="utf-8")
    if kind == "file":
        lines = text.splitlines()
        how = rng.choice(["drop", "junk", "deep", "empty", "binary", "dup", "date"])
        if how == "drop":
            del lines[rng.randrange(len(lines))]
            text = "\n".join(lines)
        elif how == "junk":
            i = rng.randrange(len(lines))
            lines[i] = lines[i].split(":")[0] + ": " + rng.choice(HOSTILE) if ":" in lines[i] else "{{"
            text = "\n".join(lines)
        elif how == "deep":
            text += "\nx: " + "[" * rng.randrange(40, 600) + "]" * 0
        elif how == "empty":
            text = ""
        elif how == "binary":
            text = "\x00\x01name: \x1b[31m"
        elif how == "dup":
            text = text.replace("name: rent-h100", "name: own-l40s")
        else:
            text = text.replace("as_of: 2026-11-22", "as_of: 2026-13-45")
        return kind, ["{dir}/s.yaml"], {"s.yaml": text}
    catalog = {f"catalog/{p.name}": p.read_text(encoding="utf-8") for p in (ROOT / "data" / "catalog").glob("*.yaml")}
    field, value = rng.choice(CATALOG_FIELDS), rng.choice(HOSTILE)
    gpus = catalog["catalog/gpus.yaml"].splitlines()
    lines = [i for i, line in enumerate(gpus) if line.strip().startswith(f"{field}: {{value:")]
    i = rng.choice(lines)
    head, _, rest = gpus[i].partition("{value:")
    gpus[i] = head + "{value: " + value + "," + rest.partition(",")[2]
    catalog["catalog/gpus.yaml"] = "\n".join(gpus)
    return kind, ["--catalog", "{dir}/catalog"], catalog


def sane(doc: dict) -> list[str]:
    """What is physically absurd in an evaluation's JSON (nothing, for a sane one)."""
    problems = []
    names = {o["name"] for o in doc["options"]}
    for o in doc["options"]:
        for key in ("total_cost_usd", "npv_usd"):
            v = o[key]
            if not isinstance(v, int | float) or abs(v) > 1e16:
                problems.append(f"{o['name']}.{key} = {v}")
        if o["total_cost_usd"] < -1e-6 * abs(o["total_cost_usd"]) - 1e-6:
            problems.append(f"{o['name']} costs less than nothing: {o['total_cost_usd']}")
        if o["npv_usd"] > 1e-6:
            problems.append(f"{o['name']} has a positive NPV of cost: {o['npv_usd']}")
        per = o["usd_per_million_tokens"]
        if per is not None and (per < 0 or per > 1e9):
            problems.append(f"{o['name']} costs {per} per 1M tokens")
        gpus = o["gpus_at_peak"]
        if gpus is not None and not 0 <= gpus <= 1e9:
            problems.append(f"{o['name']} needs {gpus} GPUs")
    rec = doc["recommendation"]["option"]
    if rec is not None and rec not in names:
        problems.append(f"recommends an unknown option {rec}")
    return problems
