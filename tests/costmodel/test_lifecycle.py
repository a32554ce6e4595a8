"""API models that retire inside the horizon (``costmodel/lifecycle.py``): the month they retire
in, hand-checked; which options they touch; every number the notes and the recommendation's
sentence state, recomputed from the catalog; and the catalog's own rule (one entry per model)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta

import pytest

from costmodel import load, paths
from costmodel.document import build
from costmodel.engine import evaluate
from costmodel.engine.api import horizon_month
from costmodel.io.files import InputError
from costmodel.lifecycle import retirement_reasons, retiring_models
from costmodel.text import usd_rate
from tests.conftest import ROOT, tco

SCENARIOS = {p.stem: p for p in paths.scenarios_dir().glob("*.yaml")}


@pytest.mark.parametrize(
    ("as_of", "day", "month"),
    [
        (date(2026, 11, 22), date(2026, 11, 22), 1),  # the first day is month 1
        (date(2026, 11, 22), date(2026, 12, 21), 1),  # ... up to the day before the same day next month
        (date(2026, 11, 22), date(2026, 12, 22), 2),
        (date(2026, 11, 22), date(2027, 1, 14), 2),
        (date(2026, 11, 22), date(2027, 3, 30), 5),
        (date(2026, 1, 31), date(2026, 2, 28), 1),  # no 31 February: still the first month
        (date(2026, 11, 22), date(2026, 11, 21), 0),  # before the scenario's date
    ],
)
def test_the_month_a_day_falls_in(as_of, day, month):
    assert horizon_month(as_of, day) == month


def test_every_bundled_scenario_names_its_retiring_models_with_the_catalog_figures():
    for name, path in SCENARIOS.items():
        sc, cat = load(path)
        models = retiring_models(sc, cat)
        d = build(evaluate(sc, cat), cat)
        assert [m.model for m in d.retiring_models] == [m.model for m in models], name
        for m in models:
            provider, model = m.model.split("/", 1)
            r = cat.api_prices[(provider, model)].retirement
            assert r is not None and r.retires == m.retires and r.source == m.source
            assert m.month == horizon_month(sc.as_of, r.retires) <= sc.horizon_months
            # the note states the date, the month of the horizon and the successor
            assert f"{m.model} ({', '.join(m.used_by)}) retires on {r.retires.isoformat()} " in d.retiring_models_note
            assert f"(month {m.month} of {sc.horizon_months})" in d.retiring_models_note
            assert (f"names {provider}/{r.successor} instead" if r.successor else "names no successor") in (
                d.retiring_models_note
            )
            succ = cat.api_prices.get((provider, r.successor)) if r.successor else None
            if succ is not None:  # billed at the successor's price from the month it retires in
                assert (
                    f"billed from month {max(m.month, 1)} at {m.successor}'s price ({usd_rate(float(succ.input))} in, "
                    f"{usd_rate(float(succ.cached_input))} cached in, {usd_rate(float(succ.output))} out per 1M tokens"
                ) in d.retiring_models_note
            else:
                assert f"{m.model} ({', '.join(m.used_by)})" in d.retiring_models_note
                assert "billed at its own price throughout" in d.retiring_models_note


def test_the_recommendation_says_when_what_it_recommends_retires():
    """support-chatbot recommends GPT-4o-mini, which leaves OpenAI's API on 2027-01-14: the
    sentence says so with the date, the month and the successor; at a volume where owning wins, it
    does not (the owned fleet retires nothing)."""
    sc, cat = load(SCENARIOS["support-chatbot"])
    d = build(evaluate(sc, cat), cat)
    assert d.recommendation.option == "api-gpt-4o-mini"
    said = re.search(
        r"Mind: openai/gpt-4o-mini retires on (\S+) \(month (\d+) of (\d+)\); the provider names (\S+) instead",
        d.recommendation.sentence,
    )
    assert said is not None, d.recommendation.sentence
    r = cat.api_prices[("openai", "gpt-4o-mini")].retirement
    assert r is not None
    month = horizon_month(sc.as_of, r.retires)
    assert said.groups() == (r.retires.isoformat(), str(month), str(sc.horizon_months), f"openai/{r.successor}")
    big = sc.model_copy(update={"workload": sc.workload.model_copy(update={"requests_per_month": 3e9})})
    ev = evaluate(big, cat)
    assert ev.recommendation.option != "api-gpt-4o-mini"
    assert retirement_reasons(big, retiring_models(big, cat), ev.recommendation.option) == []


def test_a_router_carries_its_members_and_classifiers_retirements():
    sc, cat = load(SCENARIOS["fintech-rag"])
    router = next(o for o in sc.options if o.kind == "router")
    models = retiring_models(sc, cat)
    clause = " ".join(retirement_reasons(sc, models, router.name))
    for m in models:
        if set(m.used_by) & {*router.members, f"{router.name} classifier"}:
            assert f"Mind: {m.model} retires on {m.retires.isoformat()}" in clause
    # the same model named once, with every option that calls it
    assert len({m.model for m in models}) == len(models)


def test_a_horizon_that_ends_before_the_shutdown_lists_nothing_and_a_past_shutdown_says_so():
    sc, cat = load(SCENARIOS["support-chatbot"])
    r = cat.api_prices[("openai", "gpt-4o-mini")].retirement
    assert r is not None
    short = sc.model_copy(update={"horizon_months": horizon_month(sc.as_of, r.retires) - 1})
    assert all(m.model != "openai/gpt-4o-mini" for m in retiring_models(short, cat))
    late = sc.model_copy(update={"as_of": r.retires + timedelta(days=1)})
    (m,) = [m for m in retiring_models(late, cat) if m.model == "openai/gpt-4o-mini"]
    assert m.month == 0
    clause = " ".join(retirement_reasons(late, [m], "api-gpt-4o-mini"))
    assert f"retired on {r.retires.isoformat()}, before the scenario's date ({late.as_of.isoformat()})" in clause


def test_a_model_listed_twice_in_retirements_is_refused(tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "data" / "catalog", catalog)
    prices = catalog / "api_prices.yaml"
    text = prices.read_text(encoding="utf-8")
    first = text[text.index("  - provider: openai\n    model: gpt-4o-mini\n    retires:") :]
    first = first[: first.index("  - provider:", 10)]
    prices.write_text(text + first, encoding="utf-8")
    with pytest.raises(InputError, match="retirements: openai/gpt-4o-mini is listed twice"):
        load(SCENARIOS["support-chatbot"], catalog_dir=catalog)


def test_the_console_json_and_validate_say_which_models_retire():

    path = SCENARIOS["support-chatbot"]
    sc, cat = load(path)
    (m,) = retiring_models(sc, cat)
    done = tco("evaluate", str(path), "--draws", "0")
    said = " ".join(done.stdout.split())
    assert "retiring models: openai/gpt-4o-mini (api-gpt-4o-mini) retires on 2027-01-14 (month 2 of 36)" in said
    doc = json.loads(tco("evaluate", str(path), "--draws", "0", "--json").stdout)
    (only,) = doc["retiring_models"]
    assert only == {
        "used_by": ["api-gpt-4o-mini"],
        "model": m.model,
        "retires": m.retires.isoformat(),
        "month": m.month,
        "successor": m.successor,
        "source": m.source,
    }
    checked = tco("validate", str(path))
    assert checked.returncode == 0
    assert "warning:" in checked.stderr and "retires on 2027-01-14" in " ".join(checked.stderr.split())


def test_what_the_docs_say_of_the_bundled_scenarios():
    """docs/cli.md: GPT-4o-mini and GPT-4o retire in month 2 of every bundled horizon (successor
    gpt-6-luna), Bedrock's Llama 3.3 70B in month 5 (no successor)."""
    said = " ".join((ROOT / "docs" / "cli.md").read_text(encoding="utf-8").split())
    assert (
        "GPT-4o-mini and GPT-4o leave OpenAI's API on 2027-01-14 (month 2 of their horizons; successor gpt-6-luna) "
        "and Bedrock's Llama 3.3 70B on 2027-03-30 (month 5; no successor named, so it stays at its own price)"
    ) in said
    seen = {}
    for path in SCENARIOS.values():
        sc, cat = load(path)
        for m in retiring_models(sc, cat):
            seen.setdefault(m.model, set()).add((m.retires.isoformat(), m.month, m.successor))
    assert seen == {
        "openai/gpt-4o-mini": {("2027-01-14", 2, "openai/gpt-6-luna")},
        "openai/gpt-4o": {("2027-01-14", 2, "openai/gpt-6-luna")},
        "aws/meta.llama3-3-70b-instruct-v1:0": {("2027-03-30", 5, None)},
    }


def test_tco_prices_shows_each_models_retirement():
    listed = " ".join(tco("prices", "--provider", "openai", "--provider", "aws").stdout.split())
    assert "2027-01-14 -> gpt-6-luna" in listed and "Announced retirements" in listed
    assert "meta.llama3-3-70b-instruct-v1:0 │ 2027-03-30 │ none named" in listed


def test_the_bundled_migration_the_docs_name():
    """docs/cli.md: support-chatbot states GPT-4o-mini's migration ($12,000); the other two none."""
    said = " ".join((ROOT / "docs" / "cli.md").read_text(encoding="utf-8").split())
    assert "`support-chatbot.yaml` states GPT-4o-mini's migration ($12,000, an assumption" in said
    for name, path in SCENARIOS.items():
        sc, _ = load(path)
        stated = {o.name: o.migration.usd for o in sc.options if getattr(o, "migration", None)}
        assert stated == ({"api-gpt-4o-mini": 12_000} if name == "support-chatbot" else {}), name
