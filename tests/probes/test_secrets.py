"""No secret on disk or on screen, in any spelling: the key a server echoes raw, across the 300-
character cut of an error, JSON-escaped with ``\\/``, as ``\\u00xx``, URL-encoded and in base64;
a token given as a URL's user part; a URL password in a validation error on stderr."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from urllib.parse import quote

import pytest

from costmodel.model.endpoint import Endpoint
from tests.conftest import ROOT, tco, throwaway_key
from tests.probes.test_faults import run


def _forms(secret: str) -> list[str]:
    """The spellings a test looks for, and every 8-character piece of the secret (a cut leaves one)."""
    whole = [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        "".join(f"\\u{ord(c):04x}" for c in secret),
        quote(secret, safe=""),
        base64.b64encode(secret.encode()).decode().rstrip("="),
    ]
    pieces = [secret[i : i + 8] for i in range(len(secret) - 7)]
    return whole + pieces


def _leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    return [
        f"{where}: {form!r}"
        for where, text in texts.items()
        for s in secrets
        for f in [s]
        for form in _forms(f)
        if form in text
    ]


@pytest.fixture
def key(monkeypatch):
    k = throwaway_key("a/b+c")  # a slash and a plus: escaped differently by JSON and URLs
    monkeypatch.setenv("TCO_TEST_KEY", k)
    return k


def test_an_echoed_key_is_redacted_in_every_spelling(fault_server, tmp_path, key):
    server = fault_server
    host = server.removeprefix("http://")
    token, password = "TOKEN" + "T" * 20, "pw-" + "Q" * 20
    endpoint = Endpoint(
        base_url=f"http://{token}:{password}@{host}/f/echo-key/v1", model="fault-model", api_key_env="TCO_TEST_KEY"
    )
    run_dir, records, _, _ = run(server, tmp_path, endpoint=endpoint, requests=3)
    assert (records["status"] == 401).all() and records["error"].str.startswith("HTTP 401: xxx").all()
    texts = {f.name: f.read_text(encoding="utf-8") for f in run_dir.iterdir()}
    assert not _leaks(texts, [key, token, password])
    assert "***" in texts["requests.jsonl"] and "://***@" in texts["manifest.json"]


def test_a_token_in_the_url_user_part_reaches_no_report_or_workbook(fault_server, tmp_path):
    """``http://TOKEN@host/v1`` (no password): the run, the HTML report and the workbook built on
    it hold no part of the token."""
    server = fault_server
    token = "TOKEN-" + throwaway_key()
    host = server.removeprefix("http://")
    endpoint = Endpoint(base_url=f"http://{token}@{host}/v1", model="fault-model")
    run_dir, *_ = run(server, tmp_path / "runs", endpoint=endpoint, requests=6, levels=(2,))
    scenario = str(ROOT / "data/scenarios/batch-summarization.yaml")
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    sets = ["--set", "workload.slo.ttft_p95_ms=100000", "--set", "workload.slo.tpot_p95_ms=10000"]
    common = ["--probe-run", str(run_dir), "--probe-option", "own-h100", "--draws", "0", *sets]
    report = tco("report", scenario, "-o", str(html), "--xlsx", str(xlsx), *common, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    with zipfile.ZipFile(xlsx) as z:
        workbook = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    texts = {f.name: f.read_text(encoding="utf-8") for f in run_dir.iterdir()}
    texts |= {"report": html.read_text(encoding="utf-8"), "workbook": workbook, "stderr": report.stderr}
    assert not _leaks(texts, [token])


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw-SECRET-ABCDEFGH@127.0.0.1:99999/v1",  # port out of range
        "http://user:pw-SECRET-ABCDEFGH@127.0.0.1:port/v1",  # not a number
        "http://user:pw-SECRET-ABCDEFGH@127.0.0.1:8000/v1?x=1",  # a query string
    ],
)
def test_a_url_password_never_reaches_stderr(url, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tco", "probe", "--base-url", url, "--model", "m", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "SECRET" not in done.stderr + done.stdout, done.stderr
