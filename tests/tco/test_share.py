"""The dashboard's hand-over: a share link carries the controls exactly, the saved scenario YAML and
the ``--set`` line give ``tco evaluate`` the dashboard's numbers, and two states compare as
``tco diff`` compares two files."""

from __future__ import annotations

import shlex

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.engine import evaluate
from costmodel.io.catalog import load_catalog_files
from costmodel.io.files import InputError
from costmodel.io.scenario import load, load_scenario
from costmodel.text import usd
from tco import share
from tco.state import Controls, what_if
from tests.conftest import FINTECH, ROOT

FILES = load_catalog_files()
STATES = [
    Controls(),
    Controls(requests_per_month=2_345_678.0, gpu_price=0.55, api_price=1.3),
    Controls(input_tokens=1200, output_tokens=400, horizon_months=24, discount_rate=0.12, max_utilization=0.65),
    Controls(api_model="openai/gpt-4.1-mini", gpu="h100-sxm", gpu_count=4),
]


@settings(max_examples=60, deadline=None)
@given(
    volume=st.none() | st.floats(1.0, 1e12, allow_nan=False),
    tokens=st.none() | st.integers(1, 200_000),
    gpu_price=st.floats(0.2, 3.0),
    count=st.none() | st.sampled_from([1, 2, 4, 8]),
    api=st.none() | st.sampled_from(["openai/gpt-4o", "aws/meta.llama3-3-70b-instruct-v1:0"]),
)
def test_a_share_link_carries_the_controls_exactly(volume, tokens, gpu_price, count, api):
    c = Controls(requests_per_month=volume, input_tokens=tokens, gpu_price=gpu_price, gpu_count=count, api_model=api)
    assert share.from_query(share.query("fintech-rag", c), Controls) == ("fintech-rag", c)


@pytest.mark.parametrize(
    ("qs", "field"),
    [("volume=5", "volume"), ("requests_per_month=lots", "requests_per_month"), ("gpu_count=2.5", "gpu_count")],
)
def test_a_bad_share_link_names_the_field(qs, field):
    with pytest.raises(InputError, match=field):
        share.from_query(qs, Controls)


def npvs(ev) -> dict[str, float]:
    return {o.name: o.npv_usd for o in ev.options}


@pytest.mark.parametrize("controls", STATES)
def test_the_saved_yaml_and_the_set_line_give_the_dashboards_numbers(tmp_path, controls):
    original = load_scenario(FINTECH)
    w = what_if(original, FILES, controls)
    path = tmp_path / "what-if.yaml"
    path.write_text(share.scenario_yaml(w))
    again, catalog = load(path)
    assert npvs(evaluate(again, catalog)) == pytest.approx(npvs(w.evaluation), rel=1e-12)
    line = share.set_line(FINTECH.relative_to(ROOT), original, w)
    assert line.startswith("tco evaluate data/scenarios/fintech-rag.yaml")
    words = shlex.split(line)  # as a shell reads it
    sets = [words[i + 1] for i, word in enumerate(words) if word == "--set"]
    moved, catalog = load(FINTECH, sets)
    assert npvs(evaluate(moved, catalog)) == pytest.approx(npvs(w.evaluation), rel=1e-12)


def test_the_saved_yaml_says_where_it_came_from(tmp_path):
    w = what_if(load_scenario(FINTECH), FILES, STATES[1])
    text = share.scenario_yaml(w)
    assert text.startswith("# ") and "saved from the dashboard" in text.splitlines()[0]
    assert yaml.safe_load(text)["workload"]["requests_per_month"] == 2_345_678.0


def test_two_states_compare_as_tco_diff_does():
    original = load_scenario(FINTECH)
    pinned = what_if(original, FILES, Controls())
    now = what_if(original, FILES, Controls(requests_per_month=3e7))
    d = share.comparison(pinned, now)
    assert [c.path for c in d.changes] == ["workload.requests_per_month"]
    html = share.comparison_html(d)
    for name, old, new in d.npv_table():  # both NPVs of cost, as the summary formats money
        assert f"<td>{name}</td><td class='num'>{usd(-old)}</td><td class='num'>{usd(-new)}</td>" in html
    assert "1 input changed" in html


def test_the_workbook_of_a_state_is_an_xlsx():
    w = what_if(load_scenario(FINTECH), FILES, STATES[1])
    assert share.workbook_bytes(w)[:2] == b"PK"  # a zip: the xlsx container
