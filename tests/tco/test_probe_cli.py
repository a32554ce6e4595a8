"""``tco probe`` bad input: one line naming the option or file, field and value; exit 2."""

from __future__ import annotations

import pytest

from costmodel.io.files import read_yaml, validate
from costmodel.model.endpoint import Endpoint
from tests.conftest import ROOT, assert_bad_input, tco


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
    bad.write_text("base_url: http://127.0.0.1:9/v1\nmodel: m\napi_key: sk-nope\n")
    assert_bad_input(tco("probe", str(bad)), "ep.yaml", "api_key", "unknown field", "api_key_env")


def test_unreachable_endpoint_is_a_clear_error():
    assert_bad_input(tco("probe", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"), "cannot reach")


@pytest.mark.parametrize("path", sorted((ROOT / "data" / "endpoints").glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_endpoint_files_validate(path):
    ep = validate(Endpoint, read_yaml(path), str(path))
    assert ep.api_key_env is None or ep.api_key_env.isupper()  # a variable's name, not a key
