"""Every face survives every scenario the engine accepts.

In process, for each generated scenario that ``evaluate`` accepts: the JSON document (read back),
the console, the report's sections and tables, every figure, the workbook, the dashboard's
what-if and the claims. ``FACES_CASES`` sets how many scenarios (CI: the default; ``make fuzz``:
600). Then the report notebook itself, under papermill, for the cases that broke it before, and
hostile text that must stay text in the HTML.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback

import pytest

from tests.conftest import EXAMPLE_RUN, FINTECH, tco
from tests.fuzz.faces import accepted, render_faces, variants

CASES = int(os.environ.get("FACES_CASES", "25"))  # make test; make fuzz runs 600
HOSTILE = "<script>alert(1)</script>"


def test_every_face_renders_every_accepted_scenario(tmp_path):
    failures, rendered, refused = [], 0, 0
    t0 = time.perf_counter()
    for v in variants(tmp_path, CASES, seed=int(os.environ.get("FACES_SEED", "0"))):
        found = accepted(v)
        if found is None:
            refused += 1
            continue
        try:
            render_faces(v, *found, tmp_path, sensitivity=rendered % 5 == 0)
            rendered += 1
        except Exception:
            failures.append(f"{v.label}\n{traceback.format_exc(limit=-4)}")
    seconds = time.perf_counter() - t0
    print(f"faces: {rendered} accepted scenarios rendered, {refused} refused, {len(failures)} failed, {seconds:.0f} s")
    assert not failures, f"{len(failures)} of {rendered + len(failures)} failed:\n\n" + "\n\n".join(failures[:5])
    assert rendered >= CASES * 0.6, (rendered, refused)


def _report(tmp_path, *args: str):
    out = tmp_path / "r.html"
    done = tco("report", *args, "-o", str(out), "--draws", "200", timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hard_report(tmp_path_factory):
    """One papermill render (each costs 10-15 s) of the inputs that broke the report before:

    - at 60M requests a month the router sends a class to own-l40s, which has GPUs but the router
      no capacity of its own;
    - a label, the title and a probe run's model name hold a script tag;
    - the probe run is given relative to the caller's directory (outside the checkout).
    """
    where = tmp_path_factory.mktemp("hard-report")
    run = where / "myrun"
    shutil.copytree(EXAMPLE_RUN, run)
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    manifest["endpoint"]["model"] = HOSTILE
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    sets = ["workload.requests_per_month=60000000", f"options.rent-h100.label={HOSTILE}", f"title={HOSTILE} title"]
    args = [str(FINTECH), *(x for s in sets for x in ("--set", s)), "--probe-run", "myrun"]
    done = tco("report", *args, "-o", "r.html", "--draws", "200", cwd=where, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return (where / "r.html").read_text(encoding="utf-8"), manifest["run_id"]


def test_report_renders_where_a_router_sends_a_class_to_an_owned_fleet(hard_report):
    """The router's capacity row says its self-hosted members carry theirs instead of failing."""
    html, _ = hard_report
    assert "its self-hosted members carry theirs" in html


def test_no_script_from_any_input_reaches_the_report(hard_report):
    """A label and a probe run's model name holding a script tag are text in every table, heading
    and figure of the report."""
    html, _ = hard_report
    assert HOSTILE not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text


def test_relative_probe_run_is_the_callers(hard_report):
    html, run_id = hard_report
    assert run_id in html  # the run in the caller's directory was read


def test_report_renders_a_scenario_with_api_options_only(tmp_path):
    data = FINTECH.read_text(encoding="utf-8")
    path = tmp_path / "apis.yaml"
    path.write_text(data, encoding="utf-8")
    sets = [
        "options=[{name: api, kind: api, provider: openai, model: gpt-4o-mini, extra_costs: []}]",
        "uncertainty={}",
        "serving=null",
    ]
    args = [str(path), *(x for s in sets for x in ("--set", s))]
    if tco("evaluate", *args).returncode != 0:
        pytest.skip("this scenario needs more than the API option to validate")
    html = _report(tmp_path, *args)
    assert "No hybrid option in this scenario" in html


def test_report_paths_are_checked_before_any_work(tmp_path):
    t0 = time.perf_counter()
    done = tco("report", str(FINTECH), "-o", str(tmp_path), timeout=60)
    assert done.returncode == 2 and "--output" in done.stderr and "directory" in done.stderr, done.stderr
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: a file where a folder should be instead
            (tmp_path / "file").write_text("x")
            target = tmp_path / "file" / "book.xlsx"
        else:
            target = locked / "book.xlsx"
        done = tco("report", str(FINTECH), "-o", str(tmp_path / "r.html"), "--xlsx", str(target), timeout=60)
    finally:
        locked.chmod(0o700)
    assert done.returncode == 2 and "--xlsx" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "r.html").exists()  # nothing was rendered
    assert time.perf_counter() - t0 < 60
