"""Every fault the probe must survive, against a real fault-injection server process on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from probes.endpoint import Endpoint, PriceRef
from probes.load import LoadPlan
from probes.run import probe
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_fault_server(*args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "probes.faultserver", "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def server():
    proc, url = start_fault_server("--ttft-ms", "50", "--itl-ms", "10")
    yield url
    proc.terminate()
    proc.wait()


def run(url: str, tmp_path: Path, *, requests: int = 6, levels=(2,), mode: str = "concurrency", warmup: int = 0,
        output_tokens: int = 8, **kw) -> tuple[Path, pd.DataFrame, pd.DataFrame, dict]:
    endpoint = kw.pop("endpoint", None) or Endpoint(base_url=f"{url}/v1", model="fault-model")
    plan = LoadPlan(mode=mode, levels=levels, requests=requests, warmup=warmup, **kw.pop("plan", {}))
    run_dir = probe(endpoint, plan, out_dir=tmp_path, input_tokens=16, output_tokens=output_tokens,
                    timeout_s=kw.pop("timeout_s", 5.0), **kw)
    records = pd.read_json(run_dir / "requests.jsonl", lines=True)
    summary = pd.read_csv(run_dir / "summary.csv")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return run_dir, records, summary, manifest


def test_normal_run_measures_known_timings(server, tmp_path):
    _, records, summary, manifest = run(server, tmp_path, requests=10, levels=(1, 4), warmup=1)
    assert manifest["status"] == "complete"
    assert len(records) == 2 * 11 and records["ok"].all()
    assert records["output_tokens"].eq(8).all() and records["token_source"].eq("usage").all()
    row = summary.set_index("level").loc["c1"]
    # the server sends the first token 50 ms after the request arrives, then one every 10 ms;
    # a role-only chunk and a keep-alive comment come first and must not count
    assert 50 <= row["ttft_p50_ms"] < 58
    assert 9 <= row["itl_p50_ms"] < 12 and 9 <= row["tpot_p50_ms"] < 12
    assert row["requests"] == 10  # the warm-up request is recorded but not summarized
    assert records["warmup"].sum() == 2


@pytest.mark.parametrize(("prefix", "kind"), [
    ("/f/cut:3", "stream_cut"), ("/f/sse_error:2", "sse_error"), ("/f/malformed:1", "malformed_sse"),
    ("/f/http500", "http_5xx"), ("/f/http429", "http_429"), ("/f/hang", "timeout")])
def test_each_fault_is_recorded_and_the_run_goes_on(server, tmp_path, prefix, kind):
    endpoint = Endpoint(base_url=f"{server}{prefix}/v1", model="fault-model")
    _, records, summary, manifest = run(server, tmp_path, endpoint=endpoint, requests=4,
                                        timeout_s=1.0 if kind == "timeout" else 5.0)
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
    _, records, summary, _ = run(server, tmp_path / "b", endpoint=endpoint, requests=4, levels=(1,),
                                 plan={"retries": 2})
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
    gap = records["ttft_content_ms"] - records["ttft_ms"]  # three reasoning tokens, 10 ms apart
    assert (records["ttft_ms"] < 60).all() and gap.between(25, 40).all()


def test_open_loop_rate_keeps_its_schedule(server, tmp_path):
    _, records, summary, _ = run(server, tmp_path, mode="rate", levels=(40.0,), requests=60, warmup=5)
    row = summary.iloc[0]
    assert row["valid"], row["invalid_reason"]
    assert 28 <= row["achieved_rate"] <= 55  # Poisson arrivals at 40/s over ~1.5 s
    assert row["schedule_lag_p95_ms"] < 10


def test_slo_search_finds_the_knee(tmp_path):
    # TTFT = 20 ms + 20 ms per request in flight: 5 streams give 120 ms, 6 give 140 ms, so a p95
    # bound of 130 ms allows 5, with 10 ms of margin either side
    proc, url = start_fault_server("--ttft-ms", "20", "--itl-ms", "2", "--ttft-per-inflight-ms", "20")
    try:
        _, _, summary, manifest = run(url, tmp_path, levels=(1,), requests=12, warmup=2,
                                      plan={"slo": {"ttft_p95": 130.0}, "search": True, "search_max": 64})
    finally:
        proc.terminate()
        proc.wait()
    assert manifest["slo_search"]["best"] == 5
    assert manifest["slo_search"]["first_failing"] == 6
    assert set(summary["level"]) == {"c1", "c2", "c4", "c8", "c6", "c5"}


def test_budget_guard_stops_the_run(server, tmp_path):
    # priced as gpt-4o ($2.5 in / $10 out per 1M); each request is ~40 in + 8 out tokens
    endpoint = Endpoint(base_url=f"{server}/v1", model="fault-model", price=PriceRef(provider="openai",
                                                                                     model="gpt-4o"))
    _, records, _, manifest = run(server, tmp_path, endpoint=endpoint, requests=100, levels=(1,),
                                  max_cost_usd=0.0005)
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


def test_sigint_keeps_every_finished_request(server, tmp_path):
    cmd = [sys.executable, "-m", "costmodel", "probe", "--base-url", f"{server}/v1", "--model", "fault-model",
           "--concurrency", "4", "--requests", "400", "--output-tokens", "30", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    time.sleep(4.0)  # preflight, calibration, then ~0.34 s per request on 4 streams
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
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
