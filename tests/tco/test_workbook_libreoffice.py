"""The workbook recalculated by a real spreadsheet engine (LibreOffice headless), as a finance
reviewer would handle it: change one input of each kind, recalculate, and every option's NPV and
total match ``tco evaluate`` given the same change (the ``--set`` line the workbook itself writes)
to the cent. What the spreadsheet cannot recompute (a replica's capacity at other tokens, a
router's routes) is flagged by the checks sheet; once the engine's capacity is copied in, the
figures match again."""

from __future__ import annotations

import re

import openpyxl
import pytest

from costmodel.engine import evaluate, prepare
from costmodel.engine.recommend import contends
from costmodel.io.scenario import load
from tco.workbook import write_workbook
from tests.conftest import FINTECH, ROOT, typed_into

# one input of each kind a reviewer changes: (workbook input, new value)
CHANGES = {
    "discount rate": {"discount_rate": 0.2},
    "GPU price": {"own_l40s_usd_per_gpu": 12_000},
    "rental rate": {"rent_h100_usd_per_gpu_hour": 2.5},
    "volume": {"requests_first_month": 8e6},
    "growth": {"monthly_growth": 0.0},
    "peak": {"peak_to_mean": 2.0},
    "utilisation": {"own_l40s_max_utilization": 0.6},
    "fixed fleet": {"hybrid_l40s_bedrock_local_gpus": 4},
    "tokens": {"input_tokens": 1000},
    "cached share": {"cached_input_share": 0.5},
}
TOKENS = ("tokens", "cached share")  # the engine's replica capacity moves with these


def changed_copy(path, tmp_path, label: str, changes: dict[str, float]):
    """A copy of the workbook with named inputs set, named after the change."""
    return typed_into(path, changes, tmp_path / f"{re.sub(r'[^a-z]+', '-', label)}.xlsx")


def figures(path) -> dict[str, dict]:
    """The summary after recalculation, by option."""
    ws = openpyxl.load_workbook(path, data_only=True)["summary"]
    rows = {}
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[0] is None:
            break
        rows[row[0]] = {"total": row[3], "npv_cost": row[4], "recommended": row[10]}
    return rows


def checks(path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path, data_only=True)["checks"]
    return {row[0]: row[2] for row in ws.iter_rows(min_row=2, values_only=True) if row[0]}


def the_set_line(path) -> list[str]:
    """The ``--set`` assignments the workbook's checks sheet writes for the changes made."""
    line = checks(path)["the same change in tco"]
    return re.findall(r"--set (\S+)", line)


def assert_matches(path, ev, base) -> None:
    """Every option's total and NPV to the cent; a router only where the engine keeps its routes
    (elsewhere the checks sheet must say it may route differently); the recommendation by formula
    where the engine's contenders are those written."""
    got = figures(path)
    for o in ev.options:
        if o.routing is not None and o.routing.routes != base.option(o.name).routing.routes:
            assert "may route differently" in next(v for k, v in checks(path).items() if k.startswith(o.name))
            continue
        assert got[o.name]["total"] == pytest.approx(o.total_cost_usd, abs=0.005), (path.name, o.name)
        assert got[o.name]["npv_cost"] == pytest.approx(-o.npv_usd, abs=0.005), (path.name, o.name)
    if {r.name for r in ev.options if contends(r)} == {r.name for r in base.options if contends(r)}:
        assert [n for n, f in got.items() if f["recommended"] == "yes"] == [ev.recommendation.option], path.name


def engine_capacity(ev, catalog) -> dict[str, float]:
    """The engine's replica capacity and layout of each fleet, named as the workbook names them."""
    fleets = prepare(ev.scenario, catalog, chosen=ev.chosen_layouts()).fleets
    out = {}
    for name, h in fleets.items():
        p = re.sub(r"[^A-Za-z0-9]", "_", name)
        out[f"{p}_capacity_rps"] = h.capacity.requests_per_s
        out[f"{p}_gpus_per_replica"] = h.capacity.gpus_per_replica
    return out


def test_one_change_of_each_kind_recalculates_in_libreoffice_to_the_engine(tmp_path, libreoffice):
    sc, catalog = load(FINTECH)
    base = evaluate(sc, catalog)
    path = write_workbook(base, catalog, tmp_path / "fintech.xlsx")
    copies = {label: changed_copy(path, tmp_path, label, c) for label, c in CHANGES.items()}
    recalculated = dict(zip(["as written", *copies], libreoffice([path, *copies.values()]), strict=True))

    as_written = recalculated["as written"]
    assert checks(as_written)["inputs changed since tco wrote this workbook"] == 0
    assert_matches(as_written, base, base)

    pasted = {}
    for label, out in recalculated.items():
        if label == "as written":
            continue
        sets = the_set_line(out)
        assert len(sets) == len(CHANGES[label]), (label, sets)  # every change is a scenario field
        moved_sc, _ = load(FINTECH, sets)
        moved = evaluate(moved_sc, catalog)
        status = checks(out)
        capacity_rows = [v for k, v in status.items() if "requests/s per replica" in k]
        if label in TOKENS:  # the sheet cannot rerun the roofline: it says so, and matches once told
            assert capacity_rows and all(v.startswith("stale") for v in capacity_rows), (label, status)
            told = CHANGES[label] | engine_capacity(moved, catalog)
            pasted[label] = changed_copy(path, tmp_path, f"{label} pasted", told)
            pasted[f"{label} engine"] = moved
            continue
        assert all(v.startswith("holds") for v in capacity_rows), (label, status)
        assert_matches(out, moved, base)

    again = libreoffice([pasted[label] for label in TOKENS])
    for label, out in zip(TOKENS, again, strict=True):
        assert_matches(out, pasted[f"{label} engine"], base)


@pytest.mark.parametrize("name", ["support-chatbot", "batch-summarization"])
def test_the_other_bundled_scenarios_recalculate_in_libreoffice(tmp_path, libreoffice, name):
    """A stated load shape (support-chatbot) and a near-flat day (batch-summarization), as written
    and with the volume doubled."""
    file = ROOT / "data" / "scenarios" / f"{name}.yaml"
    sc, catalog = load(file)
    base = evaluate(sc, catalog)
    path = write_workbook(base, catalog, tmp_path / f"{name}.xlsx")
    doubled = changed_copy(path, tmp_path, "doubled", {"requests_first_month": 2 * sc.workload.requests_per_month})
    written, out = libreoffice([path, doubled])
    assert_matches(written, base, base)
    moved_sc, _ = load(file, the_set_line(out))
    assert_matches(out, evaluate(moved_sc, catalog), base)


def test_libreoffice_is_what_ci_uses():
    """CI installs LibreOffice and requires it (a newcomer's machine skips with the reason)."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert "TCO_REQUIRE_LIBREOFFICE=1" in ci and "libreoffice-calc" in ci


def test_a_migration_cost_typed_in_recalculates_to_the_engine(tmp_path, libreoffice):
    """support-chatbot states GPT-4o-mini's move to its successor ($12,000, month 2): typed as
    $30,000 in the workbook, the API and the hybrid (whose overflow it is) follow, and the checks
    sheet's --set line gives the engine the same numbers."""
    file = ROOT / "data" / "scenarios" / "support-chatbot.yaml"
    sc, catalog = load(file)
    base = evaluate(sc, catalog)
    path = write_workbook(base, catalog, tmp_path / "support.xlsx")
    moved_copy = changed_copy(path, tmp_path, "migration", {"api_gpt_4o_mini_migration_usd": 30_000})
    (out,) = libreoffice([moved_copy])
    sets = the_set_line(out)
    assert sets == ["options.api-gpt-4o-mini.migration.usd=30000"], sets
    moved_sc, _ = load(file, sets)
    moved = evaluate(moved_sc, catalog)
    assert moved.option("api-gpt-4o-mini").npv_usd < base.option("api-gpt-4o-mini").npv_usd  # dearer by the move
    assert_matches(out, moved, base)


def test_a_spot_rental_recalculates_to_the_engine(tmp_path, libreoffice):
    """rent-h100 on Azure's spot price, planning on less capacity for its stated interruptions: the
    workbook as written, and with its rate typed higher (inside the scenario's range for it), ties to
    the engine to the cent."""
    spot = [
        "options.rent-h100.provider=azure",
        "options.rent-h100.commitment=spot",
        "options.rent-h100.spot={interruptions_per_month: 4, restart_minutes: 15, spare_share: 0.1, "
        "source: 'assumption: a test'}",
    ]
    sc, catalog = load(FINTECH, spot)
    base = evaluate(sc, catalog)
    path = write_workbook(base, catalog, tmp_path / "spot.xlsx")
    cheaper = changed_copy(path, tmp_path, "spot rate", {"rent_h100_usd_per_gpu_hour": 2.5})
    written, out = libreoffice([path, cheaper])
    assert_matches(written, base, base)
    moved_sc, _ = load(FINTECH, [*spot, *the_set_line(out)])
    assert_matches(out, evaluate(moved_sc, catalog), base)


def test_routes_are_inputs_and_the_checks_say_what_the_engine_would_route(tmp_path, libreoffice):
    """fintech-rag's router sends routine questions to GPT-4o-mini and complex ones to Llama 70B.
    Its routes are inputs: typed to other members, the router's cost follows by formula and ties to
    ``tco evaluate --set options.router.routes.<class>=...`` to the cent, and the checks sheet says
    what the engine would route instead: for an assignment it could take, how much dearer these
    routes are at the inputs as written (the engine's own frontier); for one it would not take
    (complex questions to GPT-4o-mini miss the complex class's accuracy bar), that it would not."""
    sc, catalog = load(FINTECH)
    base = evaluate(sc, catalog)
    frontier = base.option("router").routing.frontier
    chosen = -float(frontier.loc[frontier["chosen"], "npv_usd"].iloc[0])
    dearer = -float(frontier.loc[frontier["routes"] == "all -> api-llama-70b", "npv_usd"].iloc[0])
    path = write_workbook(base, catalog, tmp_path / "fintech.xlsx")
    typed = {
        "routine": changed_copy(path, tmp_path, "routine", {"router_route_routine": "api-llama-70b"}),
        "complex": changed_copy(path, tmp_path, "complex", {"router_route_complex": "api-gpt-4o-mini"}),
    }
    for label, out in zip(typed, libreoffice(list(typed.values())), strict=True):
        sets = the_set_line(out)
        assert sets == [f"options.router.routes.{label}={'api-llama-70b' if label == 'routine' else 'api-gpt-4o-mini'}"]
        moved_sc, _ = load(FINTECH, sets)
        moved = evaluate(moved_sc, catalog)
        router = figures(out)["router"]
        assert router["total"] == pytest.approx(moved.option("router").total_cost_usd, abs=0.005), label
        assert router["npv_cost"] == pytest.approx(-moved.option("router").npv_usd, abs=0.005), label
        status = next(v for k, v in checks(out).items() if k.startswith("router routes"))
        assert status.startswith("the engine would route routine -> api-gpt-4o-mini, complex -> api-llama-70b"), status
        if label == "routine":
            assert f"these routes cost ${dearer - chosen:,.0f} more" in status, status
        else:
            assert "it does not take these" in status, status
