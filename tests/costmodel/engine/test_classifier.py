"""A router's classifier: misrouting by hand, its cost and latency, request classes with their own
tokens, fixed lines per provider, and the accuracy threshold re-checked by re-evaluating."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from costmodel.engine import evaluate
from costmodel.engine.classifier import max_scale, scaled
from costmodel.model.catalog import ApiRetirement
from costmodel.model.scenario import with_values
from tests.conftest import price, scenario

CLASSES = [{"name": "easy", "share": 0.7, "min_quality": 0.8}, {"name": "hard", "share": 0.3, "min_quality": 0.7}]
SOURCE = {"quality_source": "test fixture"}
CONFUSION = {"easy": {"easy": 0.9, "hard": 0.1}, "hard": {"easy": 0.2, "hard": 0.8}}
API_CLASSIFIER = {
    "kind": "api",
    "api_provider": "test",
    "api_model": "cheap",
    "prompt_tokens": 400,
    "answer_tokens": 2,
    "added_ttft_ms": 300,
    "confusion": CONFUSION,
    "source": "test",
}
RULES = {"kind": "rules", "usd_per_request": 0.0001, "added_ttft_ms": 5, "confusion": CONFUSION, "source": "test"}


def api(name: str, quality, provider: str = "test", **extra):
    return {"name": name, "kind": "api", "provider": provider, "model": name, "quality": quality, **SOURCE, **extra}


def catalog_of(base_catalog, prices=(("test", "cheap", 0.1), ("test", "big", 2.0))):
    return base_catalog.model_copy(
        update={
            "api_prices": {(p, n): price(v, v).model_copy(update={"provider": p, "model": n}) for p, n, v in prices}
        }
    )


def two_apis(classifier=RULES, **router):
    return [
        api("cheap", {"easy": 0.85, "hard": 0.5}),
        api("big", 0.95),
        {"name": "router", "kind": "router", "members": ["cheap", "big"], "classifier": classifier, **router},
    ]


def test_misrouting_by_hand(base_catalog):
    """1M requests a month of 1,000 in + 100 out (1,100 tokens): $1.1e-4 a request on cheap, $2.2e-3 on
    big. Routes easy -> cheap, hard -> big. The classifier sends 10 % of easy to big and 20 % of hard to
    cheap: cheap gets 0.7 x 0.9 + 0.3 x 0.2 = 0.69 of requests, big 0.31.
    cheap: 690,000 x 1.1e-4 = 75.9; big: 310,000 x 2.2e-3 = 682; classifier: 1M x 1e-4 = 100.
    Hard's accuracy: 0.2 x 0.5 + 0.8 x 0.95 = 0.86 >= 0.7; easy's: 0.9 x 0.85 + 0.1 x 0.95 = 0.86 >= 0.8."""
    ev = evaluate(scenario(options=two_apis(), workload={"request_classes": CLASSES}), catalog_of(base_catalog))
    r = ev.option("router")
    assert r.routing.routes == {"easy": "cheap", "hard": "big"}
    assert r.cashflow["via cheap"].tolist() == pytest.approx([75.9] * 12)
    assert r.cashflow["via big"].tolist() == pytest.approx([682.0] * 12)
    assert r.cashflow["classifier"].tolist() == pytest.approx([100.0] * 12)
    assert r.npv_usd == pytest.approx(-12 * (75.9 + 682 + 100))
    assert "easy 86% >= 80%" in r.quality.note and "hard 86% >= 70%" in r.quality.note
    assert r.routing.mixes == {
        "cheap": pytest.approx({"easy": 0.63, "hard": 0.06}),
        "big": pytest.approx({"easy": 0.07, "hard": 0.24}),
    }


def test_misrouting_can_break_a_class_bar(base_catalog):
    """Half of hard sent to cheap: 0.5 x 0.5 + 0.5 x 0.95 = 0.725 < 0.75: easy -> cheap no longer
    serves hard well enough, so the router must send everything to big (one member: no rival)."""
    classes = [CLASSES[0], {**CLASSES[1], "min_quality": 0.75}]
    bad = {**RULES, "confusion": {"easy": {"easy": 1.0}, "hard": {"easy": 0.5, "hard": 0.5}}}
    ev = evaluate(scenario(options=two_apis(bad), workload={"request_classes": classes}), catalog_of(base_catalog))
    r = ev.option("router")
    assert set(r.routing.routes.values()) == {"big"}
    assert ev.recommendation.option == "big"


def test_classes_with_their_own_tokens(base_catalog):
    """hard: 3 times the 1,000 / 100 means (3,000 in / 300 out); easy takes the rest:
    (1,000 - 0.3 x 3,000) / 0.7 = 142.857 in, (100 - 0.3 x 300) / 0.7 = 14.286 out.
    Labelled: cheap bills 700,000 x 157.143e-6 x 0.1 = 11.0; big 300,000 x 3,300e-6 x 2 = 1,980."""
    classes = [CLASSES[0], {**CLASSES[1], "input_tokens_factor": 3, "output_tokens_factor": 3}]
    labelled = {"kind": "labelled", "source": "test: labelled by the caller"}
    ev = evaluate(scenario(options=two_apis(labelled), workload={"request_classes": classes}), catalog_of(base_catalog))
    cf = ev.option("router").cashflow
    assert cf["via cheap"].iloc[0] == pytest.approx(700_000 * (1000 - 900 + 100 - 90) / 0.7 * 1e-6 * 0.1)
    assert cf["via big"].iloc[0] == pytest.approx(1980.0)
    # every other option still sees the workload's means
    assert ev.option("big").cashflow["api"].iloc[0] == pytest.approx(1e6 * 1100e-6 * 2)


def test_class_tokens_must_average_to_the_workload():
    both = [{**CLASSES[0], "input_tokens_factor": 0.5}, {**CLASSES[1], "input_tokens_factor": 3}]
    with pytest.raises(ValidationError, match=r"averages 1\.25 .* must average 1"):
        scenario(workload={"request_classes": both})
    with pytest.raises(ValidationError, match=r"leaving -0\.2857 for easy"):
        scenario(workload={"request_classes": [CLASSES[0], {**CLASSES[1], "input_tokens_factor": 4}]})
    # multiples, not counts: any workload mean keeps them valid
    sc = scenario(workload={"request_classes": [CLASSES[0], {**CLASSES[1], "output_tokens_factor": 2}]})
    for mean in (1, 100, 1e5):
        assert with_values(sc, {"workload.output_tokens_per_request": mean}).workload.class_tokens()["hard"][1] == (
            2 * mean
        )


def test_an_api_classifier_is_priced_from_the_catalog(base_catalog):
    """400 tokens in and 2 out at cheap's $0.1/1M: 4.02e-5 a request, 40.2 a month on 1M requests."""
    k = API_CLASSIFIER
    ev = evaluate(scenario(options=two_apis(k), workload={"request_classes": CLASSES}), catalog_of(base_catalog))
    assert ev.option("router").cashflow["classifier"].tolist() == pytest.approx([40.2] * 12)


def test_an_api_classifier_moves_to_its_successors_price_when_its_model_retires(base_catalog):
    """cheap retires on 2027-04-01 (month 5 from 2026-11-22); its successor cheap2 at $0.05/1M:
    40.2 a month for four months (as above), then 400 x 0.05 + 2 x 0.05 = 20.1 per 1M requests."""
    k = API_CLASSIFIER
    cat = catalog_of(base_catalog, prices=(("test", "cheap", 0.1), ("test", "big", 2.0), ("test", "cheap2", 0.05)))
    retires = ApiRetirement(
        provider="test", model="cheap", retires="2027-04-01", successor="cheap2", source="test", as_of="2026-11-22"
    )
    prices = dict(cat.api_prices)
    prices[("test", "cheap")] = prices[("test", "cheap")].model_copy(update={"retirement": retires})
    cat = cat.model_copy(update={"api_prices": prices})
    ev = evaluate(scenario(options=two_apis(k), workload={"request_classes": CLASSES}), cat)
    assert ev.option("router").cashflow["classifier"].tolist() == pytest.approx([40.2] * 4 + [20.1] * 8)


def test_the_classifier_latency_comes_off_the_ttft_objective(base_catalog):
    """Members with a known TTFT of 400 ms under a 500 ms objective: met alone, missed once a
    classifier adds 150 ms; a classifier taking the whole objective misses it outright."""
    fast = {"ttft_p95_ms": 400, "tpot_p95_ms": 10, "latency_source": "test"}
    opts = [api("cheap", {"easy": 0.85, "hard": 0.5}, **fast), api("big", 0.95, **fast)]
    wl = {"request_classes": CLASSES, "slo": {"ttft_p95_ms": 500, "tpot_p95_ms": 50}}
    cat = catalog_of(base_catalog)
    for added, met in ((50, True), (150, False), (500, False)):
        router = {"name": "router", "kind": "router", "members": ["cheap", "big"]}
        router["classifier"] = {**RULES, "added_ttft_ms": added}
        r = evaluate(scenario(options=[*opts, router], workload=wl), cat).option("router")
        assert r.slo.met is met, (added, r.slo.note)
    assert "takes the whole TTFT objective" in r.slo.note


def test_fixed_lines_are_paid_per_provider(base_catalog):
    """An integration line on two providers is paid twice; a shared vector database once."""
    integration = {"name": "integration", "usd": 5000, "per": "one-off", "source": "test"}
    db = {"name": "vector-db", "usd": 100, "per": "month", "scope": "shared", "source": "test"}
    opts = [
        api("cheap", {"easy": 0.85, "hard": 0.5}, provider="openai", extra_costs=[integration, db]),
        api("big", 0.95, provider="aws", extra_costs=[integration, db]),
        {"name": "router", "kind": "router", "members": ["cheap", "big"], "classifier": RULES},
    ]
    cat = catalog_of(base_catalog, (("openai", "cheap", 0.1), ("aws", "big", 2.0)))
    cf = evaluate(scenario(options=opts, workload={"request_classes": CLASSES}), cat).option("router").cashflow
    assert cf["integration (openai)"].iloc[0] == 5000 and cf["integration (aws)"].iloc[0] == 5000
    assert cf["vector-db"].tolist() == pytest.approx([100.0] * 12)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"classifier": None}, "classifier is missing"),
        ({"classifier": {**RULES, "confusion": {"easy": {"easy": 0.9}, "hard": {"hard": 1}}}}, "must sum to 1"),
        ({"classifier": {**RULES, "confusion": {"easy": {"easy": 1}}}}, "no row for hard"),
        ({"classifier": {**RULES, "confusion": {**CONFUSION, "odd": {"odd": 1}}}}, "no request class 'odd'"),
        ({"classifier": {k: v for k, v in RULES.items() if k != "added_ttft_ms"}}, "added_ttft_ms is missing"),
        ({"classifier": {k: v for k, v in RULES.items() if k != "usd_per_request"}}, "usd_per_request is missing"),
        ({"classifier": {"kind": "labelled", "usd_per_request": 1, "source": "x y"}}, "costs nothing"),
        ({"classifier": {**RULES, "kind": "api"}}, "priced from the catalog"),
    ],
)
def test_classifier_validation(change, needle):
    router = {"name": "router", "kind": "router", "members": ["cheap", "big"], **change}
    if router["classifier"] is None:
        del router["classifier"]
    with pytest.raises(ValidationError, match=needle):
        scenario(options=[*two_apis()[:2], router], workload={"request_classes": CLASSES})


def test_scaling_keeps_rows_and_the_floor():
    for k in (0.0, 0.5, 1.0, max_scale(CONFUSION)):
        for row in scaled(CONFUSION, k).values():
            assert sum(row.values()) == pytest.approx(1.0) and min(row.values()) >= -1e-12
    floor = scaled(CONFUSION, max_scale(CONFUSION))
    assert min(floor[t][t] - max(v for p, v in floor[t].items() if p != t) for t in floor) == pytest.approx(0.0)


def _confusion_at(accuracy: float, stated: dict, shares: dict[str, float]) -> dict:
    """The stated pattern scaled to a given traffic-weighted accuracy."""
    now = sum(shares[t] * stated[t][t] for t in stated)
    return scaled(stated, (1.0 - accuracy) / (1.0 - now))


def test_the_threshold_is_where_the_recommendation_changes(base_catalog):
    """Re-evaluate just above and just below the threshold the evaluation states: the router is
    recommended above it, the rival it names below it."""
    classes = [CLASSES[0], {**CLASSES[1], "min_quality": 0.75}]
    sc = scenario(options=two_apis(), workload={"request_classes": classes})
    cat = catalog_of(base_catalog)
    ev = evaluate(sc, cat)
    need = ev.option("router").classifier
    assert ev.recommendation.option == "router" and need.threshold is not None and need.other == "big"
    assert need.sentence in ev.recommendation.sentence
    shares = {c["name"]: c["share"] for c in classes}
    for accuracy, winner in ((need.threshold + 0.002, "router"), (need.threshold - 0.002, "big")):
        moved = with_values(sc, {"options.router.classifier.confusion": _confusion_at(accuracy, CONFUSION, shares)})
        assert evaluate(moved, cat).recommendation.option == winner, accuracy


def test_a_router_that_loses_says_what_classifier_would_make_it_win(base_catalog):
    classes = [CLASSES[0], {**CLASSES[1], "min_quality": 0.75}]
    poor = copy.deepcopy(RULES)
    poor["confusion"] = {"easy": {"easy": 0.9, "hard": 0.1}, "hard": {"easy": 0.45, "hard": 0.55}}
    ev = evaluate(scenario(options=two_apis(poor), workload={"request_classes": classes}), catalog_of(base_catalog))
    need = ev.option("router").classifier
    assert ev.recommendation.option == "big" and need.other == "router" and need.threshold > need.accuracy
    assert "the router would be recommended over big" in ev.recommendation.sentence


def test_escalation_by_hand(base_catalog):
    """Labelled routes easy -> cheap, hard -> big; cheap's answers are checked ($0.00005 each) and a
    flagged one re-asked of big. On easy cheap is right 85 %: flagged 0.85 x 0.1 + 0.15 x 0.6 = 0.175
    of its 700,000 requests, 122,500 more to big. Easy's accuracy: 0.85 x 0.9 + 0.175 x 0.95 = 0.93125.
    Bills: cheap 700,000 x 1.1e-4 = 77; big (300,000 + 122,500) x 2.2e-3 = 929.5; check 700,000 x 5e-5 = 35."""
    labelled = {"kind": "labelled", "source": "test: labelled by the caller"}
    escalation = {
        "to": "big",
        "catches": 0.6,
        "false_alarms": 0.1,
        "check_usd_per_request": 0.00005,
        "added_ttft_ms": 300,
        "source": "test",
    }
    classes = [{**CLASSES[0], "min_quality": 0.9}, CLASSES[1]]  # cheap alone (85 %) misses easy's bar
    # hard fixed on big (with the check, cheap would reach 0.5 x 0.9 + 0.35 x 0.95 = 78 % on hard: enough)
    router = {"escalation": escalation, "routes": {"hard": "big"}}
    sc = scenario(options=two_apis(labelled, **router), workload={"request_classes": classes})
    r = evaluate(sc, catalog_of(base_catalog)).option("router")
    assert r.routing.routes == {"easy": "cheap", "hard": "big"}
    assert r.cashflow["via cheap"].iloc[0] == pytest.approx(77.0)
    assert r.cashflow["via big"].iloc[0] == pytest.approx(929.5)
    assert r.cashflow["escalation_check"].iloc[0] == pytest.approx(35.0)
    assert "easy 93% >= 90%" in r.quality.note
    assert r.routing.mixes["big"] == pytest.approx({"easy": 0.1225, "hard": 0.3})


def test_escalation_latency_comes_off_the_checked_members_ttft(base_catalog):
    fast = {"ttft_p95_ms": 400, "tpot_p95_ms": 10, "latency_source": "test"}
    opts = [api("cheap", {"easy": 0.85, "hard": 0.5}, **fast), api("big", 0.95, **fast)]
    wl = {"request_classes": CLASSES, "slo": {"ttft_p95_ms": 500, "tpot_p95_ms": 50}}
    escalation = {"to": "big", "catches": 0.5, "false_alarms": 0.0, "check_usd_per_request": 0, "source": "test"}
    for added, met in ((50, True), (150, False)):
        router = {"name": "router", "kind": "router", "members": ["cheap", "big"], "classifier": RULES}
        router |= {"escalation": {**escalation, "added_ttft_ms": added}, "routes": {"easy": "cheap", "hard": "big"}}
        r = evaluate(scenario(options=[*opts, router], workload=wl), catalog_of(base_catalog)).option("router")
        assert r.slo.met is met, (added, r.slo.note)
    with pytest.raises(ValidationError, match=r"escalation\.to = 'nope'"):
        scenario(options=[*opts, {**router, "escalation": {**router["escalation"], "to": "nope"}}], workload=wl)


def test_a_members_unserved_requests_never_count_as_money():
    """A member fleet's unserved requests and idle GPUs travel with the router's items for the Monte
    Carlo's shares; the router's total is the same with or without them."""
    import numpy as np

    from costmodel.core.tables import CostTerms
    from costmodel.engine import prepare
    from costmodel.engine.router import router_items
    from costmodel.io.scenario import load
    from tests.conftest import FINTECH

    sc, cat = load(FINTECH)
    prepared = prepare(sc, cat)
    months = sc.horizon_months
    router = sc.option("router")

    def member(with_shortfall: bool):
        def cost(option, mix):
            items = {"total": CostTerms(((1.0, np.ones(months)),))}
            if with_shortfall:
                items |= {"unserved": np.full(months, 1e6), "stranded_gpus": np.full(months, 3.0)}
            return items, np.array([[True], [False]])

        return cost

    routes = {"routine": "own-l40s", "complex": "api-llama-70b"}
    plain, _ = router_items(router, routes, sc, prepared.demand, member(False), cat.api_prices)
    kept, _ = router_items(router, routes, sc, prepared.demand, member(True), cat.api_prices)
    assert kept["total"].dense() == pytest.approx(plain["total"].dense())
    assert kept["member_unserved"].sum() > 0 and kept["member_missed"].tolist() == [[False], [True]]
