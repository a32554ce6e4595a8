"""Every fault the probe must survive, against a real fault-injection server process on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from costmodel.model.endpoint import Endpoint, PriceRef
from probes.load import LoadPlan
from probes.run import probe
from tests.conftest import ROOT, free_port, start_fault_server

TRANSPORT_MS = 3.0  # loopback, HTTP and SSE parsing on an idle core: what is left once timer lag is counted


@pytest.fixture(scope="module")
def server(fault_server):
    return fault_server


def server_stats(url: str) -> dict:
    """The fault server's own view since the last reset: TTFT and ITL medians from arrival to write."""
    with urllib.request.urlopen(f"{url}/stats?reset=1", timeout=5) as r:
        return json.loads(r.read())


def run(
    url: str,
    tmp_path: Path,
    *,
    requests: int = 6,
    levels=(2,),
    mode: str = "concurrency",
    warmup: int = 0,
    output_tokens: int = 8,
    **kw,
) -> tuple[Path, pd.DataFrame, pd.DataFrame, dict]:
    endpoint = kw.pop("endpoint", None) or Endpoint(base_url=f"{url}/v1", model="fault-model")
    plan = LoadPlan(mode=mode, levels=levels, requests=requests, warmup=warmup, **kw.pop("plan", {}))
    run_dir = probe(
        endpoint,
        plan,
        out_dir=tmp_path,
        input_tokens=16,
        output_tokens=output_tokens,
        timeout_s=kw.pop("timeout_s", 5.0),
        **kw,
    )
    records = pd.read_json(run_dir / "requests.jsonl", lines=True)
    summary = pd.read_csv(run_dir / "summary.csv")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return run_dir, records, summary, manifest


def test_normal_run_measures_known_timings(server, tmp_path):
    server_stats(server)  # reset the server's own view
    _, records, summary, manifest = run(server, tmp_path, requests=11, levels=(1,), warmup=0)
    seen = server_stats(server)  # the same 11 requests (calibration calls are not streamed, not counted)
    assert manifest["status"] == "complete" and seen["count"] == 11
    assert len(records) == 11 and records["ok"].all()
    assert records["output_tokens"].eq(8).all() and records["token_source"].eq("usage").all()
    row = summary.set_index("level").loc["c1"]
    # The server sends the first token 50 ms after the request arrives, then one every 10 ms; a
    # role-only chunk and a keep-alive comment come first and must not count. Neither side can be
    # early; each may be late by its own timer lag, which both measured: the server from arrival to
    # its write, the probe its event loop's lag.
    lag = row["loop_lag_p95_ms"]
    assert 50 <= seen["ttft_median_ms"] <= row["ttft_p50_ms"] <= seen["ttft_median_ms"] + lag + TRANSPORT_MS
    for metric in ("itl_p50_ms", "tpot_p50_ms"):
        assert abs(row[metric] - seen["itl_median_ms"]) <= lag + TRANSPORT_MS, metric


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("/f/cut:3", "stream_cut"),
        ("/f/sse_error:2", "sse_error"),
        ("/f/malformed:1", "malformed_sse"),
        ("/f/http500", "http_5xx"),
        ("/f/http429", "http_429"),
        ("/f/hang", "timeout"),
    ],
)
def test_each_fault_is_recorded_and_the_run_goes_on(server, tmp_path, prefix, kind):
    endpoint = Endpoint(base_url=f"{server}{prefix}/v1", model="fault-model")
    _, records, summary, manifest = run(
        server, tmp_path, endpoint=endpoint, requests=4, timeout_s=1.0 if kind == "timeout" else 5.0
    )
    assert manifest["status"] == "complete"
    assert len(records) == 4, "every request is recorded, none aborts the run"
    assert records["error_kind"].eq(kind).all() and not records["ok"].any()
    row = summary.iloc[0]
    assert row["error_rate"] == 1.0 and json.loads(row["errors_by_kind"]) == {kind: 4}
    assert row["requests_per_s"] > 0 and row["goodput_rps"] == 0  # failures stay in the denominators
    if kind == "http_429":
        assert row["throttle_rate"] == 1.0 and records["retry_after_s"].eq(1.0).all()


def test_connection_refused_is_recorded(tmp_path):
    endpoint = Endpoint(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m")
    plan = LoadPlan(mode="concurrency", levels=(2,), requests=3, warmup=0)
    run_dir = probe(endpoint, plan, out_dir=tmp_path, check=False)
    records = pd.read_json(run_dir / "requests.jsonl", lines=True)
    assert len(records) == 3 and records["error_kind"].eq("connection_refused").all()


def test_throttling_without_and_with_retries(server, tmp_path):
    endpoint = Endpoint(base_url=f"{server}/f/http429-odd/v1", model="fault-model")
    _, records, summary, _ = run(server, tmp_path / "a", endpoint=endpoint, requests=6, levels=(1,))
    row = summary.iloc[0]
    assert records["ok"].sum() == 3 and records["error_kind"].eq("http_429").sum() == 3
    assert row["error_rate"] == 0.5 and row["throttle_rate"] == 0.5
    assert row["goodput_rps"] < row["requests_per_s"]
    _, records, summary, _ = run(
        server, tmp_path / "b", endpoint=endpoint, requests=4, levels=(1,), plan={"retries": 2}
    )
    # the server throttles every other request it sees: each request succeeds within two attempts
    assert records["ok"].all() and records["attempts"].isin([1, 2]).all()
    assert (records["throttled"] == records["attempts"] - 1).all() and records["throttled"].sum() >= 1
    retried = records[records["attempts"] == 2]
    # Retry-After: 1 was honoured before the second attempt (less timer granularity)
    assert ((retried["sent_s"] - retried["scheduled_s"]) >= 0.99).all()
    assert summary.iloc[0]["throttle_rate"] == pytest.approx(records["throttled"].sum() / records["attempts"].sum())


def test_ttft_counts_reasoning_tokens_and_records_first_content(server, tmp_path):
    endpoint = Endpoint(base_url=f"{server}/f/reasoning:3/v1", model="fault-model")
    _, records, _, _ = run(server, tmp_path, endpoint=endpoint, requests=3, levels=(1,))
    assert records["ok"].all()
    # TTFT is the first reasoning token; the first content token comes three tokens (10 ms apart)
    # later, on the server's absolute schedule: never sooner than 30 ms minus one token's jitter
    gap = records["ttft_content_ms"] - records["ttft_ms"]
    assert (records["ttft_ms"] >= 50).all() and (gap >= 20).all()
    assert (records["ttft_ms"] < records["ttft_content_ms"]).all()


def test_open_loop_rate_judges_its_own_schedule(server, tmp_path):
    """The probe keeps to its drawn schedule or says it did not: a level is valid exactly when its
    send lag and achieved rate are within the bounds, whatever else the machine is doing."""
    _, records, summary, _ = run(server, tmp_path, mode="rate", levels=(40.0,), requests=60, warmup=5)
    row = summary.iloc[0]
    measured = records[~records["warmup"]]
    lag = measured["schedule_lag_ms"].quantile(0.95)
    assert row["schedule_lag_p95_ms"] == pytest.approx(lag)
    sent = measured["sent_s"].sort_values()
    assert row["achieved_rate"] == pytest.approx((len(sent) - 1) / (sent.iloc[-1] - sent.iloc[0]))
    within = lag <= 10.0 and row["achieved_rate"] >= 0.9 * row["scheduled_rate"] and row["loop_lag_p95_ms"] <= 5
    assert bool(row["valid"]) == within, row["invalid_reason"]
    if not within:
        assert row["invalid_reason"]


def test_slo_search_doubles_then_bisects_to_the_knee(tmp_path):
    """TTFT = 20 ms + 20 ms per request in flight, so a p95 bound of 130 ms allows about 5 streams.
    Where the knee lands depends on timing; what the search does with the measurements does not:
    it doubles from 1 until a level fails, bisects between the last pass and the first failure,
    reports the highest level that passed and the lowest that failed, and they are neighbours.
    (``bench/probe_search.py`` prints the knee itself.)"""
    proc, url = start_fault_server("--ttft-ms", "20", "--itl-ms", "2", "--ttft-per-inflight-ms", "20")
    try:
        _, _, summary, manifest = run(
            url,
            tmp_path,
            levels=(1,),
            requests=12,
            warmup=2,
            plan={"slo": {"ttft_p95": 130.0}, "search": True, "search_max": 64},
        )
    finally:
        proc.terminate()
        proc.wait()
    met = {int(r.level[1:]): bool(r.slo_met) for r in summary.itertuples()}
    search = manifest["slo_search"]
    best, failing = search["best"], search["first_failing"]
    assert best == max((c for c, ok in met.items() if ok), default=None)
    assert failing == min(c for c, ok in met.items() if not ok)
    assert failing == (best or 0) + 1
    doubled = [c for c in met if c & (c - 1) == 0]  # 1, 2, 4, ... up to the first failure
    assert doubled == [2**k for k in range(len(doubled))]
    assert [met[c] for c in doubled] == [True] * (len(doubled) - 1) + [False]


def test_budget_guard_stops_the_run(server, tmp_path):
    # priced as gpt-4o ($2.5 in / $10 out per 1M); each request is ~40 in + 8 out tokens
    endpoint = Endpoint(base_url=f"{server}/v1", model="fault-model", price=PriceRef(provider="openai", model="gpt-4o"))
    _, records, _, manifest = run(server, tmp_path, endpoint=endpoint, requests=100, levels=(1,), max_cost_usd=0.0005)
    assert manifest["status"] == "budget-stopped"
    assert 0.0005 <= manifest["spent_usd"] < 0.0012
    assert len(records) < 100


def test_secret_never_written(server, tmp_path, monkeypatch):
    secret = "sk-test-" + "Z" * 32
    monkeypatch.setenv("TCO_TEST_KEY", secret)
    endpoint = Endpoint(base_url=f"{server}/f/http500/v1", model="fault-model", api_key_env="TCO_TEST_KEY")
    run_dir, *_ = run(server, tmp_path, endpoint=endpoint, requests=2)
    for f in run_dir.iterdir():
        assert secret not in f.read_text()
    assert "TCO_TEST_KEY" in (run_dir / "manifest.json").read_text()  # the variable's name is kept


def wait_for_records(folder: Path, at_least: int, timeout_s: float = 120.0) -> None:
    """Until a run folder in ``folder`` has ``at_least`` records on disk (however slow the machine)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        files = list(folder.glob("*/requests.jsonl"))
        if files and len(files[0].read_text().splitlines()) >= at_least:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {at_least} records after {timeout_s:.0f} s")


def test_sigint_keeps_every_finished_request(server, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "tco",
        "probe",
        "--base-url",
        f"{server}/v1",
        "--model",
        "fault-model",
        "--concurrency",
        "4",
        "--requests",
        "400",
        "--output-tokens",
        "30",
        "--out",
        str(tmp_path),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"}
    )
    wait_for_records(tmp_path, 10)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    (run_dir,) = list(tmp_path.iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["ended"]
    lines = (run_dir / "requests.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line complete JSON
    finished = [r for r in records if r["ok"]]
    assert 5 < len(finished) < 400
    assert all(r["error_kind"] == "interrupted" for r in records if not r["ok"])
    summary = pd.read_csv(run_dir / "summary.csv")
    assert summary.iloc[0]["ok"] == len([r for r in finished if not r["warmup"]])
