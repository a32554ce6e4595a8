"""The roofline against the published-runs table: the issue's bar (median absolute error at
most 20 %, no row overstated by more than 25 %) on the rows held out from the fit, and the
table read like every other file (a bad cell names its line and field)."""

from __future__ import annotations

import pytest

from costmodel import paths
from costmodel.calibration import errors, summary
from costmodel.io.files import InputError
from costmodel.io.validation import published_runs


@pytest.fixture(scope="module")
def table(base_catalog):
    return errors(published_runs(), base_catalog)


def test_held_out_rows_meet_the_bar(table):
    s = summary(table, "validation")
    assert s.rows >= 50
    assert s.median_abs <= 0.20
    assert s.overstating_over_25 == 0, table[(table.role == "validation") & (table.error > 0.25)]


def test_every_row_names_catalog_entries_and_its_source(base_catalog):
    for r in published_runs():
        assert r.model in base_catalog.models and r.gpu in base_catalog.gpus, r.id
        assert r.engine in base_catalog.engines and r.quantization in base_catalog.quantizations, r.id
        assert r.engine in base_catalog.quantizations[r.quantization].engines, r.id
        assert "github.com" in r.source and r.as_of.year >= 2024, r.id


def test_calibration_is_a_stated_rule_not_a_choice_of_rows():
    """Calibration rows are exactly the 1000/1000 and 5000/500 rows of every model and GPU."""
    for r in published_runs():
        assert (r.role == "calibration") == ((r.input_tokens, r.output_tokens) in {(1000, 1000), (5000, 500)}), r.id


def test_bad_cell_names_line_and_field(tmp_path):
    src = paths.data_dir() / "validation" / "serving_throughput.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    cells = lines[3].split(",")
    cells[7] = "zero"  # gpus_per_replica
    lines[3] = ",".join(cells)
    bad = tmp_path / "runs.csv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as e:
        published_runs(bad)
    assert "line 4" in str(e.value) and "gpus_per_replica" in str(e.value) and "zero" in str(e.value)
