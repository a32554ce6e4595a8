"""Probe runs feed the cost model through one versioned format; a broken run is a one-line error
naming the file and the field."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from costmodel.engine import evaluate
from costmodel.io.catalog import build_catalog
from costmodel.io.files import InputError
from costmodel.io.probe_run import ProbeRunError, measured_from_probe, read_manifest, read_summary, summary_csv
from costmodel.io.scenario import load_scenario
from costmodel.model.probe_run import FORMAT, SUMMARY_COLUMNS
from costmodel.model.scenario import Slo
from tests.conftest import EXAMPLE_RUN, FINTECH, assert_bad_input, tco


def test_largest_level_meeting_the_slo_is_used():
    summary = read_summary(EXAMPLE_RUN)
    m = measured_from_probe(EXAMPLE_RUN, Slo(ttft_p95_ms=60, tpot_p95_ms=10))
    passing = [r for r in summary if r.valid and r.ttft_p95_ms <= 60 and r.tpot_p95_ms <= 10]
    top = max(passing, key=lambda r: r.concurrency)
    assert m.output_tokens_per_s_per_replica == pytest.approx(top.output_tokens_per_s)
    assert m.ttft_p95_ms == pytest.approx(top.ttft_p95_ms)
    assert top.level in m.source and "tiny-llama" in m.source
    # a stricter SLO picks a lower level with less throughput
    lowest_ttft = min(r.ttft_p95_ms for r in summary)
    strict = measured_from_probe(EXAMPLE_RUN, Slo(ttft_p95_ms=lowest_ttft + 0.01, tpot_p95_ms=10))
    assert strict.output_tokens_per_s_per_replica < m.output_tokens_per_s_per_replica


def test_no_level_meets_the_slo():
    with pytest.raises(ProbeRunError, match="no valid level meets"):
        measured_from_probe(EXAMPLE_RUN, Slo(ttft_p95_ms=0.001, tpot_p95_ms=0.001))


def test_written_summary_reads_back_the_same():
    rows = read_summary(EXAMPLE_RUN)
    assert (EXAMPLE_RUN / "summary.csv").read_text() == summary_csv(rows)
    assert read_manifest(EXAMPLE_RUN).format == FORMAT


def test_scenario_option_points_at_a_probe_run(catalog_files):
    overrides = [
        "options.own-l40s.probe_run=data/probes/example-tiny-llama-cpu",
        "workload.slo.ttft_p95_ms=60",
        "workload.slo.tpot_p95_ms=10",
    ]
    sc = load_scenario(FINTECH, overrides)
    ev = evaluate(sc, build_catalog(catalog_files, sc, str(FINTECH)))
    cap = ev.option("own-l40s").capacity
    assert cap.basis == "measured" and "probe run" in cap.source
    expected = measured_from_probe(EXAMPLE_RUN, sc.workload.slo).output_tokens_per_s_per_replica
    # requests/s per replica = measured output tokens/s / the scenario's output tokens per request
    assert cap.requests_per_s == pytest.approx(expected / sc.workload.output_tokens_per_request)
    assert ev.option("own-l40s").slo.met is True
    assert ev.option("rent-h100").capacity.basis == "modelled"


def test_bad_probe_run_is_a_clear_input_error():
    with pytest.raises(InputError) as e:
        load_scenario(FINTECH, ["options.own-l40s.probe_run=data/probes/nope"])
    assert e.value.field == "options[own-l40s].probe_run" and "not a probe run" in e.value.message


def _copy(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(EXAMPLE_RUN, run)
    return run


def _rewrite_summary(run, change):
    with (run / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    columns = list(rows[0])
    columns, rows = change(columns, rows)
    with (run / "summary.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def _drop_valid(columns, rows):
    return [c for c in columns if c != "valid"], rows


def _bad_type(columns, rows):
    rows[1]["ttft_p95_ms"] = "fast"
    return columns, rows


def _unknown_column(columns, rows):
    for r in rows:
        r["colour"] = "blue"
    return [*columns, "colour"], rows


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (_drop_valid, ["summary.csv", "column 'valid' is missing"]),
        (_bad_type, ["summary.csv", "line 3", "ttft_p95_ms", "'fast'"]),
        (_unknown_column, ["summary.csv", "column 'colour'", FORMAT]),
    ],
)
def test_broken_summary_is_one_line_naming_file_and_field(tmp_path, change, needles):
    run = _copy(tmp_path)
    _rewrite_summary(run, change)
    result = tco("evaluate", str(FINTECH), "--set", f"options.own-l40s.probe_run={run}", "--draws", "0")
    assert_bad_input(result, "fintech-rag.yaml", "options[own-l40s].probe_run", *needles)
    assert len(result.stderr.strip().splitlines()) == 1


def test_old_format_version_is_refused_with_the_fix(tmp_path):
    run = _copy(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["format"] = "llm-tco-probe/1"
    (run / "manifest.json").write_text(json.dumps(manifest))
    result = tco("evaluate", str(FINTECH), "--set", f"options.own-l40s.probe_run={run}", "--draws", "0")
    assert_bad_input(result, "manifest.json", "format = 'llm-tco-probe/1'", FORMAT, "tco probe --finalize")


@pytest.mark.parametrize("target", ["/dev/null", "file"])
def test_not_a_folder(tmp_path, target):
    path = "/dev/null" if target == "/dev/null" else str(tmp_path / "x.txt")
    if target == "file":
        (tmp_path / "x.txt").write_text("hello")
    result = tco("evaluate", str(FINTECH), "--set", f"options.own-l40s.probe_run={path}", "--draws", "0")
    assert_bad_input(result, "options[own-l40s].probe_run", "not a probe run")


def test_summary_columns_are_the_models_fields():
    header = (EXAMPLE_RUN / "summary.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == SUMMARY_COLUMNS
