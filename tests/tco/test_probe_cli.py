"""``tco probe`` bad input: one line naming the option or file, field and value; exit 2."""

from __future__ import annotations

import json
import shutil

import pytest

from costmodel.io.files import read_yaml, validate
from costmodel.io.probe_run import read_manifest, read_summary, summary_csv
from costmodel.model.endpoint import Endpoint
from tests.conftest import EXAMPLE_RUN, ROOT, assert_bad_input, tco


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--base-url", "http://127.0.0.1:9/v1"], ["--base-url and --model"]),
        (["--base-url", "http://x/v1", "--model", "m", "--concurrency", "1,two"], ["--concurrency", "'1,two'"]),
        (["--base-url", "http://x/v1", "--model", "m", "--concurrency", "0"], ["--concurrency", "positive"]),
        (["--base-url", "http://x/v1", "--model", "m", "--slo", "ttft=5"], ["--slo", "'ttft=5'", "ttft_p95=500ms"]),
        (["--base-url", "http://x/v1", "--model", "m", "--search"], ["--search needs --slo"]),
        (["--base-url", "http://x/v1", "--model", "m", "--rate", "1", "--concurrency", "2"], ["not both"]),
        (["--base-url", "ftp://x", "--model", "m", "--concurrency", "1"], []),
    ],
)
def test_bad_probe_options(args, needles):
    result = tco("probe", *args)
    assert_bad_input(result, *needles)


def test_bad_endpoint_file(tmp_path):
    bad = tmp_path / "ep.yaml"
    bad.write_text("base_url: http://127.0.0.1:9/v1\nmodel: m\napi_key: not-a-key\n")
    assert_bad_input(tco("probe", str(bad)), "ep.yaml", "api_key", "unknown field", "api_key_env")


def test_unreachable_endpoint_is_a_clear_error():
    assert_bad_input(tco("probe", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"), "cannot reach")


@pytest.mark.parametrize("path", sorted((ROOT / "data" / "endpoints").glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_endpoint_files_validate(path):
    ep = validate(Endpoint, read_yaml(path), str(path))
    assert ep.api_key_env is None or ep.api_key_env.isupper()  # a variable's name, not a key


def test_finalize_rebuilds_a_crashed_run(tmp_path):
    """After a SIGKILL: a half-written last line, no summary, a manifest still 'running'."""
    run = tmp_path / "run"
    shutil.copytree(EXAMPLE_RUN, run)
    lines = (run / "requests.jsonl").read_text().splitlines()
    (run / "requests.jsonl").write_text("\n".join(lines) + "\n" + lines[-1][:40])  # cut mid-record
    (run / "summary.csv").unlink()
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "status": "running", "ended": None}))
    result = tco("probe", "--finalize", str(run))
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stderr.split())  # rich wraps at the terminal's width
    assert f"{len(lines)} records" in said and "1 unreadable line(s) dropped" in said
    assert read_manifest(run).status == "recovered"
    assert summary_csv(read_summary(run)) == (EXAMPLE_RUN / "summary.csv").read_text()  # the same figures


def test_finalize_needs_a_run_folder(tmp_path):
    assert_bad_input(tco("probe", "--finalize", str(tmp_path)), "manifest.json", "missing")
