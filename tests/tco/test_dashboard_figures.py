"""The explorer's figures, in-process: each Output area holds exactly one plotly figure, set as
the widget's state (not captured with ``with out:``, which made Voila wait for ever; see
``Explorer.draw``), and a control change replaces it."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

PLOTLY = "application/vnd.plotly.v1+json"


def test_each_output_area_holds_one_figure_and_a_change_replaces_it():
    from tco.dashboard import explorer

    ex = explorer("fintech-rag").explorer
    assert ex.figs["goal"].outputs == ()  # goal-seek draws when asked
    live = {key: out for key, out in ex.figs.items() if key != "goal"}
    before = {key: out.outputs for key, out in live.items()}
    for key, outputs in before.items():
        (only,) = outputs
        assert only["output_type"] == "display_data" and only["data"][PLOTLY]["data"], key
        assert only["data"][PLOTLY]["config"] == {"displaylogo": False}
    ex.widgets["tokens_out"].value = 1400
    for key, out in live.items():
        assert len(out.outputs) == 1, key
    bars = [t["text"] for t in ex.figs["per_million"].outputs[0]["data"][PLOTLY]["data"]]
    assert bars != [t["text"] for t in before["per_million"][0]["data"][PLOTLY]["data"]]
    ex.goal_seek()
    (goal,) = ex.figs["goal"].outputs
    assert goal["data"][PLOTLY]["layout"]["title"]["text"].startswith("Where the decision changes")


def test_charts_read_right():
    """Break-evens labelled in readable volumes, log axes ticked at powers of ten in readable units,
    and the cost bars coloured by eligibility: an option a class's quality bar excludes is not green."""
    import re

    import numpy as np

    from costmodel import document
    from costmodel.engine import evaluate
    from costmodel.io.scenario import load
    from tco import figures
    from tests.conftest import FINTECH

    sc, cat = load(FINTECH)
    doc = document.build(evaluate(sc, cat), cat, sweeps=False)
    fig = figures.cost_vs_volume(doc)
    marks = next(t for t in fig.data if t.name == "break-even")
    assert all(re.fullmatch(r"[\d.,]+[kMBT]?", label) for label in marks.text), marks.text
    assert all(re.fullmatch(r"[\d.,]+[kMBT]?", t) for t in fig.layout.xaxis.ticktext)
    assert all(float(v) == 10 ** round(np.log10(float(v))) for v in fig.layout.xaxis.tickvals)
    bars = figures.cost_per_million(doc).data[0]
    colour = dict(zip(bars.x, bars.marker.color, strict=True))
    assert colour["api-gpt-4o-mini"] == figures.ELIGIBILITY_COLOR["quality"]  # cheapest, but too weak on complex
    assert colour["router"] == figures.ELIGIBILITY_COLOR["unverified"]
    assert colour["own-l40s"] == figures.ELIGIBILITY_COLOR["quality"]
    assert fig.layout.legend.y < 0  # below the plot: the title never runs into it


def test_the_dashboard_summary_says_which_models_retire():
    from costmodel import load, paths
    from costmodel.document import build
    from costmodel.engine import evaluate
    from tco.dashboard import summary_html

    sc, cat = load(paths.scenarios_dir() / "support-chatbot.yaml")
    d = build(evaluate(sc, cat), cat)
    html = summary_html(d)
    assert "<div class='tco-retiring'><b>Retiring models:</b> openai/gpt-4o-mini (api-gpt-4o-mini)" in html


def test_the_what_if_prices_a_picked_api_and_its_successor_as_evaluate_does():
    """Picking GPT-5-mini (retiring 2026-12-11, month 1) in the dashboard costs it as ``tco evaluate
    --set`` would: the same catalog prices, its successor's included, and the same NPVs."""
    from costmodel import load, paths
    from costmodel.engine import evaluate
    from costmodel.io.catalog import load_catalog_files
    from tco.state import Controls, what_if

    path = paths.scenarios_dir() / "support-chatbot.yaml"
    sc, _ = load(path)
    w = what_if(sc, load_catalog_files(), Controls(api_model="openai/gpt-5-mini"))
    _, cat = load(path, ["options.api-gpt-4o-mini.model=gpt-5-mini"])
    assert w.catalog.api_prices == cat.api_prices and ("openai", "gpt-5.6-terra") in cat.api_prices
    ev = evaluate(w.scenario, cat)
    assert [o.npv_usd for o in w.evaluation.options] == [o.npv_usd for o in ev.options]
    assert "billed from month 1 at openai/gpt-5.6-terra's price" in w.doc.retiring_models_note


def test_the_dashboard_summary_says_how_sure_the_capacities_are():
    """On the file's GPUs vLLM is uncalibrated; picking the MI300X (fitted on AMD's runs) says so."""
    from costmodel import load, paths
    from costmodel.io.catalog import load_catalog_files
    from tco.dashboard import summary_html
    from tco.state import Controls, what_if

    sc, _ = load(paths.scenarios_dir() / "fintech-rag.yaml")
    files = load_catalog_files()
    html = summary_html(what_if(sc, files, Controls()).doc)
    assert "<b>How sure:</b> Capacity figures: modelled (roofline) and uncalibrated" in html
    priced, _ = load(paths.scenarios_dir() / "fintech-rag.yaml", ["options.rent-h100.usd_per_gpu_hour=2.5"])
    picked = summary_html(what_if(priced, files, Controls(gpu="mi300x")).doc)  # no MI300X rental in the catalog
    assert "(roofline, calibrated on published runs of the engine on that GPU) for own-l40s" in picked
