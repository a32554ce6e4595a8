"""Notebooks run under papermill with a real kernel; the report renders offline; Excel ties to the engine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import papermill
import pytest

from costmodel import evaluate, load
from costmodel.engine.router import routes_label
from costmodel.io.probe_run import measured_from_probe
from costmodel.io.scenario import load_scenario
from costmodel.text import count, percent
from costmodel.uncertainty import DEFAULT_DRAWS, simulate
from tco.render import ipc_kernel_manager
from tco.report import render
from tests.conftest import EXAMPLE_RUN, EXTERNAL, ROOT, SCENARIOS, assert_bad_input, tco
from tests.conftest import FINTECH as SEED

NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    html, xlsx = out / "fintech-rag.html", out / "fintech-rag.xlsx"
    timings = render(SEED, html, xlsx=xlsx, progress=lambda _m: None)
    return html.read_text(encoding="utf-8"), xlsx, timings


class _Cells(HTMLParser):
    """Every table cell's text, and whether any table shows an index column."""

    def __init__(self):
        super().__init__()
        self.cells, self._text, self._in = [], "", False
        self.index_headers = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._in, self._text = True, ""
            if tag == "th" and any(k == "class" and "row_heading" in (v or "") for k, v in attrs):
                self.index_headers += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._in:
            self.cells.append(self._text.strip())
            self._in = False

    def handle_data(self, data):
        if self._in:
            self._text += data


def test_report_tables_read_as_a_finance_reader_expects(rendered):
    """Money, integers and percents formatted; yes/no, not True/False; no index columns; no raw floats."""
    html, _, _ = rendered
    parser = _Cells()
    parser.feed(html)
    assert len(parser.cells) > 300
    raw_float = re.compile(r"^-?\d+\.\d{6,}$")
    for cell in parser.cells:
        assert not raw_float.match(cell), cell
        assert cell not in ("True", "False", "nan", "NaN", "None"), cell
        assert not re.fullmatch(r"-?\d+\.0+", cell), cell  # an integer shown as a float ("8.00")
        assert "assumption: assumption" not in cell, cell
        assert not re.fullmatch(r"-?\d{5,}(\.\d+)?", cell), cell  # big numbers carry thousands separators
    assert parser.index_headers == 0


def test_report_says_which_prices_are_stale(rendered):
    """The assumptions section names each price past the scenario's threshold with its date and age."""
    html, _, _ = rendered
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "No catalog price this scenario uses is older than 365 days at its date (2026-11-22)." in text
    # past a stricter threshold the section names the price, its date and its age
    from costmodel.document import build
    from costmodel.engine import evaluate
    from costmodel.io.scenario import load
    from tco.report import ReportContext, stale_prices_text

    sc, cat = load(SEED, ["stale_price_days=60"])
    strict = build(evaluate(sc, cat), cat, sweeps=False, curves=False, register_rows=False)
    said = stale_prices_text(ReportContext(SEED, strict, (), None)).replace("\\", "")  # markdown escapes
    assert said.startswith("**Stale prices.** 1 price is older than 60 days at the scenario's date (2026-11-22)")
    assert "as of 2026-09-20 (63 days" in said


def test_report_says_how_sure_each_capacity_is(rendered):
    """The capacity section says which figures are uncalibrated, and each row's source carries the
    basis the engine states (vLLM has no published runs on the L40S or, on NVIDIA, the H100)."""
    html, _, _ = rendered
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "no published runs of the engine on that GPU for own-l40s, rent-h100, hybrid-l40s-bedrock" in text
    assert "uncalibrated: no published runs of vLLM on NVIDIA L40S 48GB; efficiencies: vLLM's prior" in unescape(text)


def test_report_and_workbook_say_which_models_retire(rendered):
    """fintech-rag's router calls GPT-4o-mini (retiring 2027-01-14) and Bedrock's Llama 3.3 70B
    (2027-03-30): the report's assumptions section and the workbook's summary say so, with the
    engine's own note; the recommendation's sentence carries the router's."""
    from openpyxl import load_workbook

    from costmodel import load
    from costmodel.document import build
    from costmodel.engine import evaluate

    html, xlsx, _ = rendered
    sc, cat = load(SEED)
    d = build(evaluate(sc, cat), cat)
    assert d.retiring_models_note
    text = " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#x27;", "'").split())
    assert "Retiring models. " + " ".join(d.retiring_models_note.split())[:200] in text
    assert "Mind: openai/gpt-4o-mini retires on 2027-01-14" in text
    summary = [c for row in load_workbook(xlsx)["summary"].iter_rows(values_only=True) for c in row if c]
    assert f"Retiring models: {d.retiring_models_note}" in summary


def test_report_is_self_contained_with_its_figures(rendered):
    html, _, _ = rendered
    assert not EXTERNAL.search(html), "the report must open offline"
    assert "plotly.js v" in html or "Plotly.newPlot" in html  # plotly.js embedded
    # cost/1M, cumulative, monthly, volume, GPUs, Monte Carlo, tornado, the seed scenario's one hybrid
    # sweep, the capacity frontier of its two modelled self-hosted options, and its router's
    # cost-quality frontier
    assert html.count('class="plotly-graph-div"') == 11
    assert "cost against quality" in html and "Pareto front" in html
    assert "runner-up" in html and "GPUs per replica" in html  # the layout section
    assert "report.prepare(" not in html and "pio.renderers" not in html  # no code cells
    ev = evaluate(*load(SEED))
    assert ev.option(ev.recommendation.option).label in html
    for section in (
        "Executive summary",
        "Options compared",
        "Break-even and payback",
        "Capacity and latency SLO",
        "Quality and routing",
        "Uncertainty: Monte Carlo",
        "Sensitivity of the decision",
        "Assumptions register",
        "Appendix",
    ):
        assert section in html
    # the Monte Carlo section shows the same numbers as simulate() with the report's default draws and seed
    sim = simulate(*load(SEED), draws=DEFAULT_DRAWS, seed=0)
    p50 = sim.summary().loc[ev.recommendation.option, "npv_cost_p50"]
    assert f"{round(p50):,}" in html
    assert "P(cheapest eligible)" in html and "Confidence: it is the cheapest eligible option in" in html
    assert "sha256" in html and "genai-prices" in html
    # the quality table: every class's requirement and each served model's accuracy, with its basis
    for c in ev.scenario.workload.request_classes:
        assert f"{c.name} (needs {percent(c.min_quality)})" in html
    router = next(o for o in ev.options if o.routing is not None)
    assert escape(routes_label(router.routing.routes, ev.scenario), quote=False) in html


def test_report_writes_the_audit_workbook(rendered):
    """The report's workbook is the formula workbook (its recalculation is tests/tco/test_workbook.py)."""
    _, xlsx, _ = rendered
    ev = evaluate(*load(SEED))
    wb = openpyxl.load_workbook(xlsx)
    assert {"summary", "inputs", "assumptions", "monte_carlo"} <= set(wb.sheetnames)
    assert {f"cf {o.name}"[:31] for o in ev.options} <= set(wb.sheetnames)  # a router's sheet among them
    assert "discount_rate" in wb.defined_names
    sources = [r[3] for r in wb["assumptions"].iter_rows(min_row=2, values_only=True)]
    assert all(sources), "every assumption has a source"
    assert all(r[3] for r in wb["inputs"].iter_rows(min_row=2, values_only=True)), "every input has a source"


def test_bad_scenario_fails_before_any_kernel(tmp_path):
    result = tco("report", str(SEED), "-o", str(tmp_path / "x.html"), "--probe-run", "nope")
    assert_bad_input(result, "fintech-rag.yaml", "probe_run", "not a probe run")
    assert "executing" not in result.stderr and not (tmp_path / "x.html").exists()


def test_each_render_binds_its_kernel_sockets_in_its_own_folder(tmp_path):
    """Two renders at once never share a kernel's sockets. jupyter_client would name IPC sockets
    ``kernel-ipc-1`` to ``-5`` in the working directory, so a report rendered on one test worker
    read the kernel messages of another's ("Invalid Signature") and failed CI."""
    first, second = (ipc_kernel_manager(tmp_path / name)() for name in ("first", "second"))
    assert first.transport == second.transport == "ipc"
    assert Path(first.ip).parent == tmp_path / "first" and Path(second.ip).parent == tmp_path / "second"
    assert len(f"{first.ip}-5") < 100  # a Unix socket's path is at most 107 bytes


@pytest.mark.parametrize("scenario", [p.stem for p in SCENARIOS])
def test_explore_notebook_runs_under_papermill(tmp_path, scenario):
    out = tmp_path / "explore.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "1.01-explore-build-vs-buy.ipynb"),
        str(out),
        parameters={"scenario": scenario},
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
        kernel_manager_class=ipc_kernel_manager(tmp_path),
    )
    nb = json.loads(out.read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


def test_report_notebook_with_a_probe_run(tmp_path):
    """The probe run's own figure reaches the capacity table: its run id, level and throughput."""
    out = tmp_path / "r.ipynb"
    scenario_path = ROOT / "data/scenarios/batch-summarization.yaml"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "reports" / "4.01-tco-report.ipynb"),
        str(out),
        parameters={"scenario_path": str(scenario_path), "probe_run": "data/probes/example-tiny-llama-cpu", "draws": 0},
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
        kernel_manager_class=ipc_kernel_manager(tmp_path),
    )
    outputs = "".join(json.dumps(o) for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", []))
    slo = load_scenario(scenario_path).workload.slo
    measured = measured_from_probe(EXAMPLE_RUN, slo)
    run_id = json.loads((EXAMPLE_RUN / "manifest.json").read_text())["run_id"]
    assert run_id in outputs  # not in the notebook's own text: only a measured capacity puts it there
    assert f">{count(measured.output_tokens_per_s_per_replica)}<" in outputs  # the capacity table's cell


def test_notebooks_are_committed_stripped():
    r = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--verify", *map(str, NOTEBOOKS)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        assert any("parameters" in c["metadata"].get("tags", []) for c in nb["cells"]), path
        # notebooks stay thin: no classes or function definitions, only calls into the package
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert not re.search(r"^\s*(class|def)\s", code, re.M), path
