"""The workbook a reviewer audits: recalculated outside Excel (LibreOffice where installed, else the
``formulas`` package), every option's total and NPV match the engine to the cent, before and after
an input changes; numbers carry money, integer and percent formats; headers are frozen. One change
of each kind through LibreOffice, and the checks sheet: ``test_workbook_libreoffice.py``."""

from __future__ import annotations

import warnings

import formulas
import openpyxl
import pytest

from costmodel.engine import evaluate
from costmodel.io.scenario import load
from costmodel.model.scenario import with_values
from tco.workbook import MONEY, PERCENT, write_workbook
from tests.conftest import (
    API,
    FINTECH,
    MEASURED,
    find_soffice,
    owned,
    price,
    recalc_in_libreoffice,
    rented,
    scenario,
    typed_into,
    with_prices,
)


def recalculated(path, ev, changes: dict[str, float] | None = None) -> dict[str, tuple[float, float]]:
    """Each option's (total, NPV) from the summary after a full recalculation with named inputs
    changed first: by LibreOffice where it is installed (the real spreadsheet engine, and faster),
    else by the ``formulas`` package. The summary shows the NPV of cost (positive); the engine's NPV
    is its negative."""
    soffice = find_soffice()
    if soffice is not None:
        out = path.parent / f"recalculated-{len(list(path.parent.glob('recalculated-*')))}"
        out.mkdir()
        (done,) = recalc_in_libreoffice(soffice, [typed_into(path, changes or {}, out / path.name)], out / "calc")
        ws = openpyxl.load_workbook(done, data_only=True)["summary"]
        return {o.name: (ws.cell(i, 4).value, -ws.cell(i, 5).value) for i, o in enumerate(ev.options, start=2)}
    return summary_figures(_formulas(path, changes), path, ev)


def _formulas(path, changes: dict[str, float] | None) -> dict[str, float]:
    """Every cell's value after a recalculation by the ``formulas`` package."""
    book = openpyxl.load_workbook(path)
    inputs = {}
    for name, value in (changes or {}).items():
        sheet, cell = book.defined_names[name].attr_text.split("!")
        inputs[f"'[{path.name}]{sheet.upper()}'!{cell.replace('$', '')}"] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package's own deprecation notices
        model = formulas.ExcelModel().loads(str(path)).finish()
        solution = model.calculate(inputs=inputs) if inputs else model.calculate()
    return {k: v.value[0][0] for k, v in solution.items() if hasattr(v, "value")}


def summary_figures(values: dict[str, float], path, ev) -> dict[str, tuple[float, float]]:
    return {
        o.name: (values[f"'[{path.name}]SUMMARY'!D{i}"], -values[f"'[{path.name}]SUMMARY'!E{i}"])
        for i, o in enumerate(ev.options, start=2)
    }


def assert_ties(figures, ev) -> None:
    for o in ev.options:
        total, npv = figures[o.name]
        assert total == pytest.approx(o.total_cost_usd, abs=0.005), o.name
        assert npv == pytest.approx(o.npv_usd, abs=0.005), o.name


def test_default_scenario_recalculates_to_the_engine_at_two_discount_rates(tmp_path):
    sc, catalog = load(FINTECH)
    ev = evaluate(sc, catalog)
    path = write_workbook(ev, catalog, tmp_path / "fintech.xlsx")
    assert_ties(recalculated(path, ev), ev)
    at_20 = evaluate(with_values(sc, {"discount_rate": 0.2}), catalog)
    moved = recalculated(path, at_20, {"discount_rate": 0.2})
    assert_ties(moved, at_20)
    assert moved["own-l40s"][1] != pytest.approx(ev.option("own-l40s").npv_usd, abs=1.0)


def test_the_routers_classifier_and_class_tokens_follow_in_the_workbook(tmp_path):
    """The default router: its members' shares and tokens derive from the class shares, the classes'
    tokens and the classifier's confusion matrix; changing a confusion cell and a class's tokens in
    the workbook moves the router as the engine moves it (same routes)."""
    sc, catalog = load(FINTECH)
    ev = evaluate(sc, catalog)
    path = write_workbook(ev, catalog, tmp_path / "fintech.xlsx")
    changes = {
        "router_confusion_complex_routine": 0.15,
        "router_confusion_complex_complex": 0.85,
        "class_complex_input_tokens_factor": 5000 / 3000,
    }
    moved_sc = with_values(
        sc,
        {
            "options.router.classifier.confusion.complex": {"routine": 0.15, "complex": 0.85},
            "workload.request_classes": [
                c.model_dump(exclude_none=True) | ({"input_tokens_factor": 5000 / 3000} if c.name == "complex" else {})
                for c in sc.workload.request_classes
            ],
        },
    )
    moved = evaluate(moved_sc, catalog)
    assert moved.option("router").routing.routes == ev.option("router").routing.routes
    assert moved.option("router").npv_usd != pytest.approx(ev.option("router").npv_usd, abs=1.0)
    figures = recalculated(path, moved, changes)
    total, npv = figures["router"]
    assert total == pytest.approx(moved.option("router").total_cost_usd, abs=0.005)
    assert npv == pytest.approx(moved.option("router").npv_usd, abs=0.005)


def test_fleets_that_do_not_follow_demand_and_extra_costs(tmp_path, base_catalog):
    """A lagging rented fleet with overflow, a fixed owned fleet, extras and a response cache."""
    extras = [
        {"name": "vector-db", "usd": 500, "per": "month", "source": "test"},
        {"name": "migration", "usd": 9000, "per": "one-off", "month": 1, "source": "test"},
        {"name": "egress", "usd": 0.0005, "per": "request", "source": "test"},
        {"name": "embeddings", "usd": 0.02, "per": "million-tokens", "source": "test"},
    ]
    within = {**MEASURED, "ttft_p95_ms": 100, "tpot_p95_ms": 10}
    sc = scenario(
        horizon_months=6,
        discount_rate=0.1,
        workload={
            "requests_per_month": 8e7,
            "monthly_growth": 0.3,
            "peak_to_mean": 2.0,
            "response_cache": {"hit_share": 0.1, "usd_per_million_lookups": 3, "source": "test"},
        },
        options=[
            rented(sizing="resize", resize_lag_months=1, overflow="api", measured=within, extra_costs=extras),
            owned(gpus=12, spare_replicas=1, ops_staff_fte=0.5, ops_staff_usd_per_year=150_000, measured=within),
            {**API, "extra_costs": extras[:1]},
        ],
    )
    catalog = with_prices(base_catalog, price(1.0, 3.0, cached=0.5))
    ev = evaluate(sc, catalog)
    assert "overflow" in ev.option("rent").cashflow and "unserved" in ev.option("own").cashflow
    path = write_workbook(ev, catalog, tmp_path / "built.xlsx")
    assert_ties(recalculated(path, ev), ev)


def test_a_router_with_fleet_members_recalculates_to_the_engine(tmp_path, base_catalog):
    """Easy to an owned fleet (its own share sheet), hard to an API, with extra lines carried by both
    members (counted once), one carried by one (on its share) and the router's own; at two rates."""
    shared = {"name": "vector-db", "usd": 500, "per": "month", "source": "test"}
    egress = {"name": "egress", "usd": 0.0005, "per": "request", "source": "test"}
    own_line = {"name": "guardrail", "usd": 0.02, "per": "million-tokens", "source": "test"}
    quality = {"quality_source": "test fixture"}
    sc = scenario(
        horizon_months=6,
        discount_rate=0.1,
        workload={
            "requests_per_month": 8e7,
            "monthly_growth": 0.1,
            "request_classes": [{"name": "easy", "share": 0.7, "min_quality": 0.8}, {"name": "hard", "share": 0.3}],
        },
        options=[
            owned(quality=0.85, **quality, extra_costs=[shared, egress]),
            {**API, "quality": 0.6, **quality, "extra_costs": [shared]},
            {
                "name": "router",
                "kind": "router",
                "members": ["own", "api"],
                "routes": {"easy": "own", "hard": "api"},
                "classifier": {"kind": "labelled", "source": "test fixture: the caller labels each request"},
                "extra_costs": [own_line],
            },
        ],
    )
    catalog = with_prices(base_catalog, price(1.0, 3.0, cached=0.5))
    ev = evaluate(sc, catalog)
    path = write_workbook(ev, catalog, tmp_path / "router.xlsx")
    assert "cf router.own" in openpyxl.load_workbook(path).sheetnames
    assert_ties(recalculated(path, ev), ev)
    at_30 = evaluate(with_values(sc, {"discount_rate": 0.3}), catalog)
    assert_ties(recalculated(path, at_30, {"discount_rate": 0.3}), at_30)


def test_formats_and_frozen_headers(tmp_path):
    sc, catalog = load(FINTECH)
    ev = evaluate(sc, catalog)
    book = openpyxl.load_workbook(write_workbook(ev, catalog, tmp_path / "f.xlsx"))
    cf = book["cf own-l40s"]
    headers = [c.value for c in cf[1]]
    assert cf.freeze_panes == "B2" and book["summary"].freeze_panes == "B2"
    assert cf.cell(2, headers.index("capex") + 1).number_format == MONEY
    assert cf.cell(2, headers.index("GPUs") + 1).number_format == "#,##0"
    assert str(cf.cell(2, headers.index("capex") + 1).value).startswith("=")  # a formula, not a number
    inputs = book["inputs"]
    rate = inputs[book.defined_names["discount_rate"].attr_text.split("!")[1].replace("$", "")]
    assert rate.value == 0.08 and rate.number_format == PERCENT
    figures = [c for row in book["summary"].iter_rows(min_row=2, max_row=6, min_col=4, max_col=7) for c in row]
    assert all(c.number_format != "General" for c in figures if c.value != "–")  # an API has no GPUs


def test_an_escalating_router_recalculates_to_the_engine(tmp_path):
    """The default router with a check on GPT-4o-mini's answers that re-asks the Llama API: the flagged
    shares derive from the members' accuracies and the check's rates; moving the catch rate in the
    workbook moves the router as the engine moves it."""
    escalation = (
        "options.router.escalation={to: api-llama-70b, catches: 0.5, false_alarms: 0.05, "
        "check_usd_per_request: 0.0002, added_ttft_ms: 0, source: test}"
    )
    sc, catalog = load(FINTECH, [escalation])
    ev = evaluate(sc, catalog)
    assert "escalation_check" in ev.option("router").cashflow
    path = write_workbook(ev, catalog, tmp_path / "escalation.xlsx")
    assert_ties(recalculated(path, ev), ev)
    moved = evaluate(with_values(sc, {"options.router.escalation.catches": 0.8}), catalog)
    assert moved.option("router").routing.routes == ev.option("router").routing.routes
    total, npv = recalculated(path, moved, {"router_escalation_catches": 0.8})["router"]
    assert total == pytest.approx(moved.option("router").total_cost_usd, abs=0.005)
    assert npv == pytest.approx(moved.option("router").npv_usd, abs=0.005)
    assert npv != pytest.approx(ev.option("router").npv_usd, abs=1.0)


def test_every_input_cites_a_source_not_just_the_scenario(tmp_path):
    """Fields a scenario leaves out are the workbench's defaults, cited as such; fields it sets cite its
    sources, or say they are its own assumption: no input's source is the bare word "scenario"."""
    sc, catalog = load(FINTECH)
    path = write_workbook(evaluate(sc, catalog), catalog, tmp_path / "sources.xlsx")
    ws = openpyxl.load_workbook(path)["inputs"]
    sources = {ws.cell(r, 1).value: str(ws.cell(r, 4).value) for r in range(2, ws.max_row + 1)}
    assert not [name for name, s in sources.items() if s.strip() in ("scenario", "", "None")]
    assert sources["own_l40s_pue"].startswith("default 1.56: Uptime Institute")  # the scenario's own source
    assert sources["own_l40s_idle_power_fraction"].startswith("workbench default (assumption)")
    assert sources["own_l40s_max_utilization"].startswith("workbench default (assumption)")


def test_numbers_read_as_what_they_are(tmp_path):
    """A $0.075 price shows as $0.075 (not $0.08), months and yes/no flags as whole numbers, and no
    formula hides the seconds in a month: it reads the hours_per_month input."""
    sc, catalog = load(FINTECH)
    path = write_workbook(evaluate(sc, catalog), catalog, tmp_path / "formats.xlsx")
    book = openpyxl.load_workbook(path)
    ws = book["inputs"]
    fmt = {ws.cell(r, 1).value: ws.cell(r, 2).number_format for r in range(2, ws.max_row + 1)}
    assert fmt["api_gpt_4o_mini_cached_input"].startswith('"$"#,##0.00#')  # $0.075 per 1M tokens
    assert fmt["own_l40s_depreciation_months"] == fmt["own_l40s_count_residual"] == "#,##0"
    assert fmt["own_l40s_usd_per_kwh"].startswith('"$"#,##0.00#')
    formulas = [c.value for s in book.worksheets for row in s.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [f for f in formulas if f.startswith("=") and "2629800" in f]
    assert any("MIN(horizon_months-" in f for f in formulas)  # the book value reads the horizon input
