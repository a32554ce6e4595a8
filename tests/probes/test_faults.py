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

from costmodel.model.endpoint import Endpoint
from probes.load import LoadPlan
from probes.run import probe
from tests.conftest import ROOT, free_port, start_fault_server, tco, throwaway_key

TRANSPORT_MS = 3.0  # loopback, HTTP and SSE parsing on an idle core: what is left once timer lag is counted
# The two clocks' starts: the server can read a request a moment before the client stamps it sent
# (0.3 ms seen on a loaded CI machine), so a client's time may be that much under the server's.
CLOCK_START_MS = 5.0


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
        input_tokens=kw.pop("input_tokens", 16),
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
    # early (but the probe's clock may start a moment after the server's: CLOCK_START_MS); each may
    # be late by its own timer lag, which both measured: the server from arrival to its write, the
    # probe its event loop's lag.
    lag = row["loop_lag_p95_ms"]
    assert 50 <= seen["ttft_median_ms"] <= row["ttft_p50_ms"] + CLOCK_START_MS
    assert row["ttft_p50_ms"] <= seen["ttft_median_ms"] + lag + TRANSPORT_MS
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


def test_terminal_escapes_from_a_server_are_recorded_as_text(server, tmp_path):
    """A hostile server's error body holds ESC and BEL: the request is recorded (escaped), none is lost."""
    endpoint = Endpoint(base_url=f"{server}/f/escape/v1", model="fault-model")
    run_dir, records, _summary, manifest = run(server, tmp_path, endpoint=endpoint, requests=6)
    assert manifest["status"] == "complete" and len(records) == 6
    failed = records[~records["ok"]]
    assert len(failed) >= 1 and failed["error_kind"].eq("http_4xx").all()
    assert all("\\x1b[2J\\x07" in e for e in failed["error"])
    assert b"\x1b" not in (run_dir / "requests.jsonl").read_bytes()


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
    # later, on the server's absolute schedule. A busy client reads late, which only delays each
    # time (it can shrink the gap between them, to nothing when one read brings both): the bounds
    # are the schedule's, from below, less the two clocks' starts (CLOCK_START_MS).
    assert (records["ttft_ms"] >= 50 - CLOCK_START_MS).all()
    assert (records["ttft_content_ms"] >= 50 + 30 - 10 - CLOCK_START_MS).all()
    assert (records["ttft_ms"] <= records["ttft_content_ms"]).all()


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


def test_a_run_where_no_level_meets_the_slo_says_so(tmp_path):
    """An SLO no level can meet (TTFT p95 under 1 ms against a 20 ms server): the search has no best
    level, and the console summary says so instead of failing on it."""
    from rich.console import Console

    from tco.probe_cli import print_summary

    proc, url = start_fault_server("--ttft-ms", "20", "--itl-ms", "1")
    try:
        run_dir, _, summary, manifest = run(url, tmp_path, levels=(1, 2), requests=4, plan={"slo": {"ttft_p95": 1.0}})
    finally:
        proc.terminate()
        proc.wait()
    assert not summary["slo_met"].any() and manifest["slo_search"]["best"] is None
    console = Console(record=True, width=200)
    print_summary(run_dir, console)
    said = " ".join(console.export_text().split())
    assert "no level met the SLO" in said and "highest level meeting" not in said


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


def billed_usd(stats: dict, usd_in: float, usd_out: float) -> float:
    """What the fault server billed: every prompt token it received, every token it wrote."""
    return (stats["billed_prompt_tokens"] * usd_in + stats["billed_completion_tokens"] * usd_out) / 1e6


@pytest.mark.parametrize(("mode", "levels"), [("concurrency", (64,)), ("rate", (50.0,))])
def test_budget_guard_keeps_the_bill_under_the_limit(server, tmp_path, mode, levels):
    """At 64 streams and at 50 requests/s the server's own bill stays under --max-cost-usd: each
    request's worst case is held before it is sent."""
    limit, usd_in, usd_out = 0.004, 2.5, 10.0  # ~40 prompt + 16 output tokens: ~$0.00026 a request
    server_stats(server)  # reset the server's counters
    _, records, _, manifest = run(
        server,
        tmp_path,
        requests=400,
        levels=levels,
        mode=mode,
        output_tokens=16,
        max_cost_usd=limit,
        prices_given=(usd_in, usd_out),
    )
    billed = billed_usd(server_stats(server), usd_in, usd_out)
    assert manifest["status"] == "budget-stopped" and manifest["stopped_by"] == "budget"
    assert 0 < billed <= limit, billed
    assert manifest["spent_usd"] <= limit
    assert billed <= manifest["spent_usd"] * (1 + 1e-9)  # the probe counts at least what the server billed
    assert 5 < len(records) < 400


@pytest.mark.parametrize(
    ("mode", "levels"),
    [
        ("concurrency", (1,)),
        ("concurrency", (16,)),
        ("concurrency", (64,)),
        ("concurrency", (256,)),
        ("rate", (200.0,)),
    ],
)
def test_long_prompts_never_pass_the_limit(server, tmp_path, mode, levels):
    """The review's case: 2,000-token prompts at $2.50 / $10 per 1M tokens and a $0.05 limit. The
    server billed 1.03x to 7.80x the limit at 1 to 256 streams when the concurrency workers held
    32 prompt tokens a request; each request's worst case now comes from the body it sends, and
    the two calibration requests are held like any other."""
    limit, usd_in, usd_out = 0.05, 2.5, 10.0
    server_stats(server)
    _, _, _, manifest = run(
        server,
        tmp_path,
        requests=300,
        levels=levels,
        mode=mode,
        input_tokens=2000,
        output_tokens=16,
        max_cost_usd=limit,
        prices_given=(usd_in, usd_out),
    )
    billed = billed_usd(server_stats(server), usd_in, usd_out)
    assert manifest["stopped_by"] == "budget", manifest["status"]
    assert 0 < billed <= limit, f"billed ${billed:.4f}, {billed / limit:.2f}x the limit"
    assert billed <= manifest["spent_usd"] * (1 + 1e-9) <= limit * (1 + 1e-9)


def test_zero_budget_sends_nothing(server, tmp_path):
    server_stats(server)
    run_dir = probe(
        Endpoint(base_url=f"{server}/v1", model="fault-model"),
        LoadPlan(mode="concurrency", levels=(4,), requests=20, warmup=0),
        out_dir=tmp_path,
        input_tokens=16,
        output_tokens=8,
        timeout_s=5.0,
        max_cost_usd=0.0,
        prices_given=(2.5, 10.0),
    )
    assert server_stats(server)["billed_prompt_tokens"] == 0
    assert not (run_dir / "requests.jsonl").read_text().strip()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "budget-stopped"


def test_budget_without_a_price_is_an_error(server, tmp_path):
    with pytest.raises(ValueError, match="--max-cost-usd needs a per-token price"):
        run(server, tmp_path, requests=2, max_cost_usd=1.0)


def test_secret_never_written(server, tmp_path, monkeypatch):
    secret = throwaway_key()
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


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_keeps_every_finished_request(server, tmp_path, sig, code, name):
    """Ctrl-C or kill -TERM mid-run: in-flight requests recorded as interrupted, manifest and summary
    written, the shell's exit code, and the folder usable by tco evaluate as measured capacity."""
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
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    (run_dir,) = list(tmp_path.iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["ended"] and manifest["stopped_by"] == name
    lines = (run_dir / "requests.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line complete JSON
    finished = [r for r in records if r["ok"]]
    assert 5 < len(finished) < 400
    assert all(r["error_kind"] == "interrupted" for r in records if not r["ok"])
    summary = pd.read_csv(run_dir / "summary.csv")
    assert summary.iloc[0]["ok"] == len([r for r in finished if not r["warmup"]])
    used = tco(
        "evaluate",
        str(ROOT / "data/scenarios/batch-summarization.yaml"),
        "--draws",
        "0",
        "--json",
        "--set",
        "options.own-h100.measured=null",
        "--set",
        f"options.own-h100.probe_run={run_dir}",
    )
    assert used.returncode == 0, used.stderr
    option = next(o for o in json.loads(used.stdout)["options"] if o["name"] == "own-h100")
    assert option["capacity"]["basis"] == "measured" and "interrupted" in option["capacity"]["source"]


def _probe_cli(*args: str, **popen) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tco", "probe", *args]
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"}, **popen
    )


def test_a_full_disk_stops_the_run_with_a_consistent_folder(server, tmp_path):
    """Writes capped at 4 KiB (the process's file size limit, as a full disk): the run stops with
    one clear line, every whole record is kept, and --finalize rebuilds the folder."""
    import resource

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = _probe_cli(
        "--base-url",
        f"{server}/v1",
        "--model",
        "fault-model",
        "--concurrency",
        "2",
        "--requests",
        "200",
        "--output-tokens",
        "8",
        "--out",
        str(tmp_path),
        preexec_fn=small_files,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    message = " ".join(done.stderr.split())
    assert "writing" in message and "failed" in message and "--finalize" in message
    (run_dir,) = list(tmp_path.iterdir())
    assert json.loads((run_dir / "manifest.json").read_text())["stopped_by"] == "write-error"
    rebuilt = _probe_cli("--finalize", str(run_dir))
    assert rebuilt.returncode == 0, rebuilt.stderr
    summary = pd.read_csv(run_dir / "summary.csv")
    whole = [json.loads(x) for x in (run_dir / "requests.jsonl").read_text().splitlines() if x.endswith("}")]
    assert 0 < summary["requests"].sum() <= len(whole) < 200


def test_every_request_failing_exits_non_zero(server, tmp_path):
    done = _probe_cli(
        "--base-url",
        f"{server}/f/http500/v1",
        "--model",
        "fault-model",
        "--concurrency",
        "2",
        "--requests",
        "4",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 1 and "every request failed" in done.stderr and "http_5xx" in done.stderr


@pytest.mark.parametrize("kind", ["empty", "null", "list", "html", "text"])
def test_preflight_survives_any_models_reply(server, tmp_path, kind):
    done = _probe_cli(
        "--base-url",
        f"{server}/f/models-{kind}/v1",
        "--model",
        "fault-model",
        "--concurrency",
        "1",
        "--requests",
        "1",
        "--warmup",
        "0",
        "--output-tokens",
        "2",  # the preflight is what is tested: one short request
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert "model name is not checked" in " ".join(done.stderr.split())


def test_base_url_with_a_query_string_is_bad_input(server, tmp_path):
    done = _probe_cli("--base-url", f"{server}/v1?key=1", "--model", "fault-model", "--out", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "query string" in done.stderr


def test_url_credentials_and_echoed_keys_never_reach_disk(server, tmp_path, monkeypatch):
    """A password in the base URL and a key with quotes and slashes, echoed by the server in its
    error body (JSON-escaped, URL-encoded): none of it is written."""
    key = throwaway_key('"quoted\\\\/')
    monkeypatch.setenv("TCO_TEST_KEY", key)
    host = server.removeprefix("http://")
    endpoint = Endpoint(
        base_url=f"http://probeuser:pw-{'P' * 20}@{host}/f/http500/v1", model="fault-model", api_key_env="TCO_TEST_KEY"
    )
    run_dir, *_ = run(server, tmp_path, endpoint=endpoint, requests=2)
    written = " ".join(f.read_text() for f in run_dir.iterdir())
    for form in (key, json.dumps(key)[1:-1], "pw-" + "P" * 20):
        assert form not in written
    assert "probeuser" not in written and "//***@" in written


def test_an_endless_event_is_cut_at_the_cap_not_the_memory(server, tmp_path):
    """A data line that never ends: the request fails as oversized_event (or at --timeout) and
    nothing grows without bound (that the parser stays linear is tests/probes/test_wire.py's)."""
    _, records, _, _manifest = run(
        server,
        tmp_path,
        endpoint=Endpoint(base_url=f"{server}/f/endless/v1", model="fault-model"),
        requests=2,
        levels=(2,),
        timeout_s=20.0,
    )
    assert set(records["error_kind"]) <= {"oversized_event", "timeout"}
    assert "oversized_event" in set(records["error_kind"])


def test_no_file_written_downstream_holds_the_secrets(server, tmp_path, monkeypatch):
    """The probe run's folder, then the evaluation's JSON, the HTML report and the workbook built on
    it: none holds the planted key or the URL's password."""
    import zipfile

    key, password = throwaway_key(), "pw-planted-" + "R" * 20
    monkeypatch.setenv("TCO_TEST_KEY", key)
    host = server.removeprefix("http://")
    endpoint = Endpoint(base_url=f"http://u:{password}@{host}/v1", model="fault-model", api_key_env="TCO_TEST_KEY")
    run_dir, *_ = run(server, tmp_path / "runs", endpoint=endpoint, requests=6, levels=(2,))
    scenario = str(ROOT / "data/scenarios/batch-summarization.yaml")
    sets = [
        "--set",
        "options.own-h100.measured=null",
        "--set",
        f"options.own-h100.probe_run={run_dir}",
        "--set",
        "workload.slo.ttft_p95_ms=100000",
        "--set",
        "workload.slo.tpot_p95_ms=10000",
    ]
    evaluated = tco("evaluate", scenario, "--draws", "0", "--json", *sets)
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    report = tco(
        "report",
        scenario,
        "-o",
        str(html),
        "--xlsx",
        str(xlsx),
        "--draws",
        "0",
        "--probe-run",
        str(run_dir),
        "--probe-option",
        "own-h100",
        timeout=300,
    )
    assert evaluated.returncode == 0 and report.returncode == 0, evaluated.stderr + report.stderr
    with zipfile.ZipFile(xlsx) as z:
        workbook = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    texts = [f.read_text() for f in run_dir.iterdir()] + [evaluated.stdout, html.read_text(), workbook]
    assert "://***@" in evaluated.stdout  # the run's URL is there, without its credentials
    for text in texts:
        assert key not in text and password not in text


def _killed(cmd: list[str], folder: Path, lines: str, at_least: int = 4) -> Path:
    """Start a run, SIGKILL it once ``lines`` holds ``at_least`` lines; the run folder."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tco", *cmd, "--out", str(folder)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while True:
            runs = list(folder.iterdir()) if folder.exists() else []
            if runs and (runs[0] / lines).exists() and len((runs[0] / lines).read_text().splitlines()) >= at_least:
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no records within 60 s"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    (run_dir,) = list(folder.iterdir())
    (run_dir / "manifest.json.tmp").write_text("{")  # an atomic write the kill cut short
    with (run_dir / lines).open("a") as f:
        f.write('{"run_id": "half a line')  # and a record cut mid-write
    return run_dir


def test_a_killed_probe_is_recovered_and_only_then_costed(server, tmp_path):
    """SIGKILL mid-level (the level is not yet in the manifest): costing refuses the run and names
    --finalize; --finalize rebuilds a usable summary, drops the half line, removes the temporary
    file and marks the run recovered; then the run is costed."""
    cmd = ["probe", "--base-url", f"{server}/v1", "--model", "fault-model", "--concurrency", "2"]
    run_dir = _killed(
        [*cmd, "--requests", "5000", "--output-tokens", "4", "--warmup", "0"], tmp_path / "runs", "requests.jsonl", 6
    )
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "running"
    scenario = str(ROOT / "data/scenarios/fintech-rag.yaml")
    use = ["--set", f"options.own-l40s.probe_run={run_dir}", "--set", "options.own-l40s.measured=null"]
    loose = ["--set", "workload.slo.ttft_p95_ms=100000", "--set", "workload.slo.tpot_p95_ms=10000"]
    refused = tco("evaluate", scenario, *use, *loose, "--draws", "0")
    assert refused.returncode == 2 and "tco probe --finalize" in " ".join(refused.stderr.split()), refused.stderr
    rebuilt = _probe_cli("--finalize", str(run_dir))
    assert rebuilt.returncode == 0 and "Traceback" not in rebuilt.stderr, rebuilt.stderr
    said = " ".join(rebuilt.stderr.split())
    assert "1 unreadable line(s) dropped" in said and "status recovered" in said, said
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "recovered" and [lv["name"] for lv in manifest["levels"]] == ["c2"]
    assert not list(run_dir.glob("*.tmp"))
    summary = pd.read_csv(run_dir / "summary.csv")
    assert summary["ok"].sum() >= 6 and summary["output_tokens_per_s"].notna().all()
    costed = tco("evaluate", scenario, *use, *loose, "--draws", "0", "--json")
    assert costed.returncode == 0, costed.stderr
    own = next(o for o in json.loads(costed.stdout)["options"] if o["name"] == "own-l40s")
    assert own["capacity"]["basis"] == "measured" and "recovered" in own["capacity"]["source"]


def test_a_killed_quality_run_is_recovered(server, tmp_path):
    cmd = ["quality", "--base-url", f"{server}/v1", "--model", "fault-model", "--limit", "200", "--concurrency", "2"]
    run_dir = _killed(cmd, tmp_path / "runs", "items.jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "tco", "quality", "--finalize", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    said = " ".join(done.stderr.split())
    assert "status recovered" in said and "1 unreadable line(s) dropped" in said, said
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "recovered"
    assert not list(run_dir.glob("*.tmp"))
    summary = pd.read_csv(run_dir / "summary.csv")
    items = (run_dir / "items.jsonl").read_text().splitlines()
    assert summary.loc[(summary["suite"] == "all") & (summary["item_class"] == "all"), "n"].iloc[0] == len(items) - 1


@pytest.mark.parametrize(
    ("fault", "output_tokens", "kinds"),
    [
        ("flood", 8, {"oversized_response"}),  # more events than asked for: cut, the record stays small
        ("flood", 100_000, {"timeout", "oversized_response"}),  # a flood ends at the timeout or the cap
        ("chunkline", 8, {"malformed_http"}),  # a chunk-size line that never ends is not buffered
    ],
)
def test_hostile_streams_end_bounded(server, tmp_path, fault, output_tokens, kinds):
    """Each ends in its stated error with a small record; the timeout holds within half of itself
    (``bench/hostile_servers.py`` prints how close it comes: the goal is 10 %)."""
    timeout = 1.0
    run_dir, records, _, _ = run(
        server,
        tmp_path,
        endpoint=Endpoint(base_url=f"{server}/f/{fault}/v1", model="fault-model"),
        requests=2,
        levels=(1,),
        output_tokens=output_tokens,
        timeout_s=timeout,
    )
    assert set(records["error_kind"]) <= kinds, records["error"].tolist()
    assert ((records["end_s"] - records["sent_s"]) <= timeout * 1.5).all()
    longest = max(len(line) for line in (run_dir / "requests.jsonl").read_text().splitlines())
    assert longest < 1_000_000 if output_tokens > 1000 else longest < 20_000, longest


@pytest.mark.parametrize(("limit", "said"), [(600, "nothing sent"), (4096, "tco quality --finalize")])
def test_a_quality_run_on_a_full_disk_is_one_line(server, tmp_path, limit, said):
    """Writes capped (a full disk): before the manifest is even written nothing is sent; later, the
    run stops and names --finalize. One line, exit 1, never a traceback."""
    import resource

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [
            *(sys.executable, "-m", "tco", "quality", "--base-url", f"{server}/v1", "--model", "fault-model"),
            *("--limit", "100", "--out", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert said in " ".join(done.stderr.split())
