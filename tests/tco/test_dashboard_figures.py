"""The explorer's figures, in-process: each Output area holds exactly one plotly figure, set as
the widget's state (not captured with ``with out:``, which made Voila wait for ever; see
``Explorer.show``), and a control change replaces it."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

PLOTLY = "application/vnd.plotly.v1+json"


def test_each_output_area_holds_one_figure_and_a_change_replaces_it():
    from tco.dashboard import explorer

    ex = explorer("fintech-rag").explorer
    before = {key: out.outputs for key, out in ex.figs.items()}
    for key, outputs in before.items():
        (only,) = outputs
        assert only["output_type"] == "display_data" and only["data"][PLOTLY]["data"], key
        assert only["data"][PLOTLY]["config"] == {"displaylogo": False}
    ex.widgets["tokens_out"].value = 1400
    for key, out in ex.figs.items():
        assert len(out.outputs) == 1, key
    bars = [t["text"] for t in ex.figs["per_million"].outputs[0]["data"][PLOTLY]["data"]]
    assert bars != [t["text"] for t in before["per_million"][0]["data"][PLOTLY]["data"]]
