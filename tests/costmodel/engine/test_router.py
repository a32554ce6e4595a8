"""Routers: a hand-checked three-API case, members on a share of traffic costed as their own
options would be, extra costs counted once, the frontier and its Pareto front, validation, and
invariants over random prices and accuracies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from costmodel.engine import evaluate
from costmodel.engine.router import _pareto
from costmodel.uncertainty import simulate
from tests.conftest import price, rented, scenario

CLASSES = [{"name": "easy", "share": 0.7, "min_quality": 0.8}, {"name": "hard", "share": 0.3, "min_quality": 0.7}]
SOURCE = {"quality_source": "test fixture"}
LABELLED = {"kind": "labelled", "source": "test fixture: the caller labels each request"}


def api(name: str, quality, **extra):
    return {"name": name, "kind": "api", "provider": "test", "model": name, "quality": quality, **SOURCE, **extra}


def three_apis(base_catalog, prices=(0.1, 0.5, 2.0)):
    """cheap, mid and big: $0.1, $0.5 and $2 per 1M tokens in and out."""
    return base_catalog.model_copy(
        update={
            "api_prices": {
                ("test", n): price(p, p).model_copy(update={"model": n})
                for n, p in zip(("cheap", "mid", "big"), prices, strict=True)
            }
        }
    )


THREE = [
    api("cheap", {"easy": 0.85, "hard": 0.5}),
    api("mid", {"easy": 0.9, "hard": 0.65}),
    api("big", 0.95),
    {"name": "router", "kind": "router", "classifier": LABELLED, "members": ["cheap", "mid", "big"]},
]


def test_three_apis_by_hand(base_catalog):
    # 1M requests a month of 1,000 in + 100 out tokens: 1,100 tokens, so $1.1e-4 a request at
    # $0.1/1M (cheap) and $2.2e-3 at $2/1M (big). Easy (70 %) needs 0.8: cheap (0.85) is enough;
    # hard (30 %) needs 0.7: only big (0.95) is. 12 months, no discounting:
    # 12 x (700,000 x 1.1e-4 + 300,000 x 2.2e-3) = 12 x (77 + 660) = 8,844.
    ev = evaluate(scenario(options=THREE, workload={"request_classes": CLASSES}), three_apis(base_catalog))
    r = ev.option("router")
    assert r.routing.routes == {"easy": "cheap", "hard": "big"}
    assert r.npv_usd == pytest.approx(-8844.0)
    assert r.cashflow["via cheap"].tolist() == pytest.approx([77.0] * 12)
    assert r.cashflow["via big"].tolist() == pytest.approx([660.0] * 12)
    assert r.quality.met is True and "easy 85% >= 80%" in r.quality.note and "hard 95% >= 70%" in r.quality.note
    assert ev.option("cheap").quality.met is False and ev.option("mid").quality.met is False
    assert ev.recommendation.option == "router"
    assert "Routes: easy (70%) -> cheap, hard (30%) -> big." in ev.recommendation.sentence

    f = r.routing.frontier.set_index("routes")
    assert len(f) == 9  # 3 members ** 2 classes
    # traffic-weighted accuracy: 0.7 x 0.85 + 0.3 x 0.95
    assert f.loc["easy (70%) -> cheap, hard (30%) -> big", "quality"] == pytest.approx(0.88)
    # on the front: no assignment at least as cheap and as good (worked out by hand)
    front = set(f.index[f["pareto"]])
    assert front == {
        "all -> cheap",
        "easy (70%) -> cheap, hard (30%) -> mid",
        "easy (70%) -> cheap, hard (30%) -> big",
        "all -> mid",
        "easy (70%) -> mid, hard (30%) -> big",
        "all -> big",
    }
    # the frontier's cheapest point meeting every class's quality is the router's choice
    meeting = f[f["quality_met"] == True]  # noqa: E712
    assert meeting["npv_usd"].idxmax() == f.index[f["chosen"]][0]


def test_fixed_routes_are_kept(base_catalog):
    router = {**THREE[3], "routes": {"hard": "mid"}}
    ev = evaluate(
        scenario(options=[*THREE[:3], router], workload={"request_classes": CLASSES}), three_apis(base_catalog)
    )
    r = ev.option("router")
    assert r.routing.routes["hard"] == "mid" and len(r.routing.frontier) == 3
    assert r.quality.met is False and not r.eligible  # mid is not good enough for hard: said, and excluded
    assert "no assignment meets" in r.routing.note


def test_a_fleet_member_costs_what_its_option_costs_on_that_traffic(base_catalog):
    """easy (70 %) to a rented fleet: the same cost as the fleet alone on 70 % of the requests."""
    local = rented(quality={"easy": 0.9, "hard": 0.2}, **SOURCE)
    cat = three_apis(base_catalog)
    opts = [
        local,
        api("big", 0.95),
        {
            "name": "router",
            "kind": "router",
            "classifier": LABELLED,
            "members": ["rent", "big"],
            "routes": {"easy": "rent", "hard": "big"},
        },
    ]
    sc = scenario(options=opts, workload={"request_classes": CLASSES, "requests_per_month": 30_000_000})
    r = evaluate(sc, cat).option("router")
    alone = evaluate(scenario(options=[rented()], workload={"requests_per_month": 0.7 * 30_000_000}), cat).option(
        "rent"
    )
    assert r.cashflow["via rent"].tolist() == pytest.approx(alone.cashflow["total"].tolist())
    assert r.cashflow["gpus"].tolist() == alone.cashflow["gpus"].tolist() and r.gpus_at_peak == alone.gpus_at_peak


def test_extra_costs_count_once_and_scale_with_traffic(base_catalog):
    db = {"name": "vector-db", "usd": 100, "per": "month", "source": "test fixture"}
    cheap = api(
        "cheap",
        {"easy": 0.85, "hard": 0.5},
        extra_costs=[db, {"name": "guard", "usd": 0.001, "per": "request", "source": "test fixture"}],
    )
    big = api("big", 0.95, extra_costs=[db])
    own = {"name": "guardrail", "usd": 0.0001, "per": "request", "source": "test fixture"}
    router = {
        "name": "router",
        "kind": "router",
        "classifier": LABELLED,
        "members": ["cheap", "big"],
        "extra_costs": [own],
    }
    ev = evaluate(
        scenario(options=[cheap, big, router], workload={"request_classes": CLASSES}), three_apis(base_catalog)
    )
    cf = ev.option("router").cashflow
    assert cf["vector-db"].tolist() == pytest.approx([100.0] * 12)  # once, not twice
    assert cf["guard"].tolist() == pytest.approx([0.001 * 700_000] * 12)  # only cheap's 70 % pays it
    assert cf["guardrail"].tolist() == pytest.approx([0.0001 * 1_000_000] * 12)  # the router's own: every request
    assert cf["total"].tolist() == pytest.approx((77 + 660 + 100 + 700 + 100.0) * np.ones(12))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"members": ["cheap", "nope"]}, "no option named 'nope'"),
        ({"members": ["cheap", "cheap"]}, "each member once"),
        ({"routes": {"medium": "cheap"}}, "no request class 'medium'"),
        ({"routes": {"easy": "other"}}, "not a member"),
    ],
)
def test_router_validation(change, needle):
    with pytest.raises(ValidationError, match=needle):
        scenario(options=[*THREE[:3], {**THREE[3], **change}], workload={"request_classes": CLASSES})


def test_same_line_with_other_terms_is_an_error():
    a = api("cheap", 0.9, extra_costs=[{"name": "integration", "usd": 5000, "per": "one-off", "source": "test"}])
    b = api("big", 0.9, extra_costs=[{"name": "integration", "usd": 20000, "per": "one-off", "source": "test"}])
    with pytest.raises(ValidationError, match="both have an extra cost 'integration'"):
        scenario(options=[a, b, {"name": "r", "kind": "router", "classifier": LABELLED, "members": ["cheap", "big"]}])


def test_too_many_assignments_is_an_error():
    classes = [{"name": f"c{i}", "share": 0.125} for i in range(8)]
    opts = [api(f"m{i}", 0.9) for i in range(3)]
    with pytest.raises(ValidationError, match="6,561 assignments"):
        scenario(
            options=[*opts, {"name": "r", "kind": "router", "classifier": LABELLED, "members": ["m0", "m1", "m2"]}],
            workload={"request_classes": classes},
        )


def test_monte_carlo_keeps_the_routes(base_catalog):
    uncertainty = {"options.big.price_scale": {"dist": "uniform", "low": 0.5, "high": 1.5, "source": "test"}}
    sc = scenario(options=THREE, workload={"request_classes": CLASSES}, uncertainty=uncertainty)
    sim = simulate(sc, three_apis(base_catalog), draws=200, seed=1)
    # the router's cost moves with big's price on hard's 30 % only: 12 x (77 + 660 x scale)
    scale = (sim.total_cost["router"] / 12 - 77) / 660
    assert scale.min() >= 0.5 - 1e-9 and scale.max() <= 1.5 + 1e-9 and scale.std() > 0.2
    assert not sim.eligible["cheap"].any() and sim.eligible["router"].all()


def test_pareto_front_doctest_cases():
    npv, q = np.array([-5.0, -5.0, -6.0]), np.array([0.5, 0.5, np.nan])
    assert _pareto(npv, q).tolist() == [True, True, False]  # ties do not dominate; unknown is off the front


@settings(max_examples=40, deadline=None)
@given(
    prices=st.tuples(*(st.floats(0.01, 10) for _ in range(3))),
    accuracies=st.lists(st.floats(0.3, 1.0), min_size=6, max_size=6),
    needs=st.tuples(st.floats(0, 0.9), st.floats(0, 0.9)),
)
def test_the_router_is_never_dearer_than_an_eligible_member(base_catalog, prices, accuracies, needs):
    """Whatever the prices and accuracies: the router's choice is the frontier's cheapest assignment
    meeting every class, and no member that meets every class on its own is cheaper."""
    classes = [{**c, "min_quality": n} for c, n in zip(CLASSES, needs, strict=True)]
    opts = [
        api(n, {"easy": accuracies[2 * i], "hard": accuracies[2 * i + 1]})
        for i, n in enumerate(("cheap", "mid", "big"))
    ]
    ev = evaluate(
        scenario(options=[*opts, THREE[3]], workload={"request_classes": classes}), three_apis(base_catalog, prices)
    )
    r = ev.option("router")
    f = r.routing.frontier
    meeting = f[f["quality_met"] == True]  # noqa: E712
    if meeting.empty:
        assert not r.eligible
        return
    assert f.loc[f["chosen"], "npv_usd"].iloc[0] == pytest.approx(meeting["npv_usd"].max())
    for o in ev.options:
        if o.kind == "api" and o.quality.met:
            assert r.npv_usd >= o.npv_usd - 1e-6
    assert f["pareto"].any() and not f.loc[f["pareto"], "quality"].isna().any()
