"""Every number a recommendation states is recomputed from the results.

Each reason and risk flag is matched against the sentence it must be, its numbers read back and
compared with the same figure recomputed from the evaluation (formatted by the one formatter);
whatever number is left over fails the test. Runs over the bundled scenarios (with a short
Monte Carlo) and over Hypothesis-built variants that reach the other sentences.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.core.units import SECONDS_PER_MONTH
from costmodel.engine import prepare
from costmodel.engine.eligibility import class_scores, routed_scores
from costmodel.engine.recommend import TIE, contends
from costmodel.io.scenario import load
from costmodel.model.scenario import with_values
from costmodel.text import count, percent, times, usd, usd_rate
from costmodel.uncertainty import CONFIDENT, evaluate_with_uncertainty
from tests.conftest import SCENARIOS

NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _blank_names(text: str, ev) -> str:
    """The sentence with option names and labels (free text, digits included) blanked out."""
    for o in sorted(ev.options, key=lambda o: -len(o.label)):
        text = text.replace(o.label, "<label>")
    for o in sorted(ev.options, key=lambda o: -len(o.name)):
        text = text.replace(o.name, "<name>")
    return text


def _check(pattern: str, sentence: str, ev, **expected: str) -> bool:
    """If ``sentence`` is this kind of sentence, its groups equal ``expected`` and no other number is in it."""
    m = re.fullmatch(pattern, _blank_names(sentence, ev))
    if not m:
        return False
    for key, want in expected.items():
        assert m.group(key) == want, (sentence, key, m.group(key), want)
    rest = _blank_names(sentence, ev)
    for key in expected:
        rest = rest.replace(m.group(key), "", 1)
    assert not NUMBER.search(re.sub(r"1M tokens|1M requests|\(p95\)", "", rest)), (sentence, rest)
    return True


def check_reasons(ev, catalog) -> int:
    """Check every reason and risk; return how many sentences were checked."""
    sc, rec = ev.scenario, ev.recommendation
    checked = 0
    if rec.option is None:
        assert len(rec.reasons) == 1 and not NUMBER.search(rec.reasons[0])
        return 1
    best = ev.option(rec.option)
    # a router sending every class to one member is that member: not ranked as a rival
    ranked = sorted(
        (o for o in ev.options if contends(o)),
        key=lambda o: -o.npv_usd,
    )
    wl = sc.workload
    for reason in rec.reasons:
        if _check(
            r"<label> is the cheapest option that (meets the SLO|is not known to miss the SLO): NPV of cost "
            r"(?P<npv>\$[\d,.]+[kM]?) over (?P<months>\d+) months \((?P<rate>\$[\d,.]+) per 1M tokens\)\.",
            reason,
            ev,
            npv=usd(-best.npv_usd, compact=True),
            months=str(sc.horizon_months),
            rate=usd_rate(best.usd_per_million_tokens),
        ):
            pass
        elif reason.startswith("Next best is"):
            second = ranked[1]
            extra = best.npv_usd - second.npv_usd
            ratio = second.npv_usd / best.npv_usd
            if abs(extra) <= TIE * abs(best.npv_usd):
                assert _check(
                    r"Next best is <label> at (?P<cost>\$[\d,.]+[kM]?): a tie \(within (?P<tie>[\d.]+%) of the NPV "
                    r"of cost; (?P<gap>\$[\d,.]+) apart\), so an input that moves either option by more than that "
                    r"decides between them\.",
                    reason,
                    ev,
                    cost=usd(-second.npv_usd, compact=True),
                    tie=percent(TIE, 1),
                    gap=usd_rate(extra, 2),
                ), reason
            elif ratio < 2:
                assert _check(
                    r"Next best is <label> at (?P<cost>\$[\d,.]+[kM]?), (?P<extra>\$[\d,.]+[kM]?) "
                    r"\((?P<share>[\d.]+%)\) more\.",
                    reason,
                    ev,
                    cost=usd(-second.npv_usd, compact=True),
                    extra=usd(extra, compact=True),
                    share=percent(extra / -best.npv_usd),
                ), reason
            else:
                assert _check(
                    r"Next best is <label> at (?P<cost>\$[\d,.]+[kM]?), (?P<ratio>[\d,.]+ times) as much "
                    r"\((?P<extra>\$[\d,.]+[kM]?) more\)\.",
                    reason,
                    ev,
                    cost=usd(-second.npv_usd, compact=True),
                    ratio=times(ratio),
                    extra=usd(extra, compact=True),
                ), reason
        elif reason.startswith("Latency "):
            assert _check(
                r"Latency \w+: TTFT (?P<ttft>[\d,]+) ms, TPOT (?P<tpot>[\d,.]+) ms vs SLO "
                r"(?P<sttft>[\d.]+)/(?P<stpot>[\d.]+) ms; (?P<gpus>[\d,]+) GPUs at peak\.",
                reason,
                ev,
                ttft=f"{best.slo.ttft_ms:,.0f}",
                tpot=f"{best.slo.tpot_ms:,.1f}",
                sttft=f"{wl.slo.ttft_p95_ms:g}",
                stpot=f"{wl.slo.tpot_p95_ms:g}",
                gpus=count(best.gpus_at_peak),
            ), reason
        elif " breaks even with " in reason:
            b = min(  # the lowest of the recommendation's break-evens is the one named
                (b for b in ev.break_evens if b.requests_per_month is not None and best.name in (b.self_hosted, b.api)),
                key=lambda b: b.requests_per_month,
            )
            assert _check(
                r"<name> breaks even with <name> at (?P<v>[\d,]+) requests/month \(first month: "
                r"(?P<first>[\d,]+)\)\.",
                reason,
                ev,
                v=count(b.requests_per_month),
                first=count(wl.requests_per_month),
            ), reason
        elif reason.startswith("Its hardware pays back"):
            p = next(p for p in ev.paybacks if p.owned == best.name and p.month is not None)
            assert _check(r"Its hardware pays back against <name> in month (?P<m>\d+)\.", reason, ev, m=str(p.month)), (
                reason
            )
        elif reason.startswith("Confidence:"):
            sim = ev.simulation
            assert _check(
                r"Confidence: it is the cheapest eligible option in (?P<p>[\d.]+%) of (?P<n>[\d,]+) Monte "
                r"Carlo draws of (?P<k>\d+) uncertain inputs \(seed (?P<seed>\d+)\)\.",
                reason,
                ev,
                p=percent(float(sim.cheapest()[best.name])),
                n=f"{sim.draws:,}",
                k=str(len(sim.inputs)),
                seed=str(sim.seed),
            ), reason
        elif reason.startswith(("Its latency is unverified", "Excluded for missing the SLO")):
            k = sc.option(best.name).classifier if best.kind == "router" else None
            if k is not None and k.added_ttft_ms:  # the TTFT the classifier takes and what it leaves
                part = (
                    f"; the classifier adds {k.added_ttft_ms:,.0f} ms before the first token, leaving "
                    f"{wl.slo.ttft_p95_ms - k.added_ttft_ms:,.0f} ms"
                )
                assert part in reason, reason
                reason = reason.replace(part, "")
            assert not NUMBER.search(_blank_names(reason, ev).replace("p95", "")), reason
        elif "'s classifier (" in reason:
            check_classifier_sentence(reason, ev)
        elif reason.startswith("Routes:"):
            routes = best.routing.routes
            want = (
                f"all -> {routes[wl.classes[0].name]}"
                if len(set(routes.values())) == 1
                else ", ".join(f"{c.name} ({percent(c.share)}) -> {routes[c.name]}" for c in wl.classes)
            )
            e = sc.option(best.name).escalation
            if e is not None and best.routing.checked_share > 0:
                want += f"; a check re-asks {e.to} for {percent(best.routing.escalated_share, 1)} of requests"
            assert reason == f"Routes: {want}.", reason
        elif reason.startswith(("Quality:", "Excluded for quality:")):
            for o in ev.options:  # a quality note quotes each class's accuracy and need: read back below
                if o.quality.note in reason:
                    check_quality_note(o, ev)
                    reason = reason.replace(o.quality.note, "<note>")
            assert not NUMBER.search(_blank_names(reason, ev)), reason
        else:
            raise AssertionError(f"a reason no test knows: {reason}")
        checked += 1
    prepared = prepare(sc, catalog)
    for o in ev.options:
        for risk in o.risks:
            check_risk(risk, o, ev, prepared)
            checked += 1
    for risk in rec.risks:
        if risk not in best.risks:  # the Monte Carlo's flag
            sim = ev.simulation
            shares = sim.cheapest()
            rival = shares.drop(best.name).idxmax()
            assert _check(
                r"<name> wins in only (?P<p>[\d.]+%) of Monte Carlo draws \(under (?P<c>\d+%)\); <name> "
                r"wins in (?P<q>[\d.]+%)",
                risk,
                ev,
                p=percent(float(shares[best.name])),
                c=percent(CONFIDENT),
                q=percent(float(shares[rival])),
            ), risk
            checked += 1
    return checked


def check_classifier_sentence(sentence: str, ev) -> None:
    """A router's classifier: its price read back from its cash flow, its accuracy from the
    confusion matrix, the threshold and floor from the need it reports (the threshold itself is
    re-checked by re-evaluating: tests/costmodel/engine/test_classifier.py)."""
    sc = ev.scenario
    r = next(o for o in ev.options if o.kind == "router" and sentence.startswith(f"{o.name}'s classifier ("))
    need = r.classifier
    k = sc.option(r.name).classifier
    names = [c.name for c in sc.workload.classes]
    matrix = k.matrix(tuple(names))
    accuracy = sum(c.share * matrix[c.name][c.name] for c in sc.workload.classes)
    first = r.cashflow.iloc[0]
    per_request = first.get("classifier", 0.0) / (first["requests"] * prepare(sc, _catalog(ev)).demand.model_share)
    head = (
        rf"<name>'s classifier \({k.kind}, (?P<price>\$[\d,.]+[kM]?) per 1M requests, \+(?P<ms>[\d,]+) ms before "
        rf"the first token\) is (?P<acc>[\d.]+%) accurate \({k.basis}\)"
        r"(?:; it labels [\w, -]+ requests as another class more often than right, and the routes are chosen "
        r"on that)?"
    )
    expected = {"price": usd(per_request * 1e6, compact=True), "ms": f"{k.added_ttft_ms or 0:,.0f}"}
    expected["acc"] = percent(accuracy, 1)
    tails = {
        "floor": (
            r"; the (?:router|<name>) stays recommended down to (?P<floor>[\d.]+%) accurate, where the right "
            r"class stops being the classifier's likeliest answer\."
        ),
        "below": r"; below (?P<t>[\d.]+%) accurate, <name> is recommended instead\.",
        "above": r"; at (?P<t>[\d.]+%) accurate or better, the (?:router|<name>) would be recommended over <name>\.",
        "never": r"; even a perfect classifier would not make the (?:router|<name>) the recommendation\.",
    }
    if need.threshold is None and need.winner == r.name and "more often than right" in sentence:
        assert _check(head + r"; the (?:router|<name>) is recommended at this accuracy\.", sentence, ev, **expected)
    elif need.threshold is None and need.winner == r.name:
        assert _check(head + tails["floor"], sentence, ev, **expected, floor=percent(need.floor, 1)), sentence
    elif need.threshold is None:
        assert _check(head + tails["never"], sentence, ev, **expected), sentence
    else:
        tail = tails["below"] if need.winner == r.name else tails["above"]
        assert _check(head + tail, sentence, ev, **expected, t=percent(need.threshold, 1)), sentence


def _catalog(ev):
    from costmodel.io.catalog import build_catalog, load_catalog_files

    return build_catalog(load_catalog_files(), ev.scenario)


QUALITY_PART = re.compile(
    r"(?P<cls>[\w-]+) (?:(?P<acc>[\d.]+%)(?: \(95 % interval's low end; accuracy (?P<point>[\d.]+%)\))? "
    r"(?P<op>>=|<) |unknown \(needs )(?P<need>[\d.]+%)\)?"
)


def check_quality_note(o, ev) -> None:
    """Each class's figures in a quality note, recomputed from the scores of what serves it."""
    sc = ev.scenario
    option = sc.option(o.name)
    if o.kind == "router":
        k = option.classifier
        matrix = None if k is None else k.matrix(tuple(c.name for c in sc.workload.classes))
        scores = routed_scores(o.routing.routes, sc, matrix, k.basis if k else "stated")
    elif o.kind == "hybrid":
        scores = routed_scores({c.name: o.name for c in sc.workload.classes}, sc)
    else:
        scores = class_scores(option, sc)
    note = o.quality.note
    for m in QUALITY_PART.finditer(note):
        c = next(c for c in sc.workload.classes if c.name == m["cls"])
        s = scores[c.name]
        assert m["need"] == percent(c.min_quality), (note, m["need"])
        if m["acc"] is None:
            assert s is None, note
            continue
        lower = sc.workload.quality_bound == "lower" and s.ci_low is not None
        assert m["acc"] == percent(s.ci_low if lower else s.accuracy), (note, m["acc"])
        if lower:
            assert m["point"] == percent(s.accuracy), note
        assert (m["op"] == ">=") == (s.checked(sc.workload.quality_bound) >= c.min_quality - 1e-12), note
    assert not NUMBER.search(QUALITY_PART.sub("", note).replace("95 %", "")), note


def check_risk(risk: str, o, ev, prepared) -> None:
    sc = ev.scenario
    h = prepared.fleets[o.name]
    if " runs on a single replica " in risk:
        assert _check(
            r"<name> runs on a single replica \((?P<g>[\d,]+) GPUs?\) with no spare: one failure stops "
            r"service",
            risk,
            ev,
            g=count(o.gpus_at_peak),
        ), risk
        return
    if "breaks even" in risk or "cannot break even" in risk:
        apis = [x for x in ev.options if x.kind == "api" and x.eligible]
        cheapest = max(apis, key=lambda x: x.npv_usd)
        # the API's bill per request, read back from its own first month; the fleet's SLO capacity
        per_request = cheapest.cashflow["api"].iloc[0] / (
            cheapest.cashflow["requests"].iloc[0] * prepared.demand.model_share
        )
        fleet = np.array([float(o.gpus_at_peak)])
        full_rps = float(h.served_capacity(fleet)[0])
        api_cost = full_rps * SECONDS_PER_MONTH * per_request
        fleet_cost = float(h.fleet_steady_cost(fleet, np.array([full_rps]))[0])
        assert "<name>" in _blank_names(risk, ev) and cheapest.name in risk, risk
        if fleet_cost > api_cost:
            assert _check(
                r"<name>'s fleet costs more than <name> would charge for its full SLO capacity \("
                r"(?P<a>\$[\d,]+) against (?P<b>\$[\d,]+) a month at the peak fleet\): it cannot break even "
                r"at any utilisation",
                risk,
                ev,
                a=usd(fleet_cost),
                b=usd(api_cost),
            ), risk
        else:
            assert _check(
                r"<name>'s fleet averages (?P<u>[\d.]+%) utilisation, below the (?P<be>[\d.]+%) at which it "
                r"breaks even with <name>",
                risk,
                ev,
                u=percent(o.mean_utilization),
                be=percent(fleet_cost / api_cost),
            ), risk
        return
    life = sc.option(o.name).depreciation_years * 12 if o.kind == "owned" else None
    if "does not pay back" in risk:
        pattern = r"<name> does not pay back against any API within the (?P<h>\d+)-month horizon"
        expected = {"h": str(sc.horizon_months)}
        if life > sc.horizon_months:
            pattern += r" \(hardware life (?P<life>\d+) months\)"
            expected["life"] = f"{life:.0f}"
        assert _check(pattern, risk, ev, **expected), risk
        return
    if "beyond its" in risk:
        month = min(p.month for p in ev.paybacks if p.owned == o.name and p.month is not None)
        assert _check(
            r"<name> pays back in month (?P<m>\d+), beyond its (?P<life>\d+)-month hardware life",
            risk,
            ev,
            m=str(month),
            life=f"{life:.0f}",
        ), risk
        return
    if "'s measured capacity is from a probe run" in risk:
        assert not NUMBER.search(_blank_names(risk, ev)), risk
        return
    raise AssertionError(f"a risk flag no test knows: {risk}")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_bundled_recommendations_check_out(path):
    sc, catalog = load(path)
    ev = evaluate_with_uncertainty(sc, catalog, draws=4000, seed=0)
    assert check_reasons(ev, catalog) >= 3


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from([p.stem for p in SCENARIOS]),
    volume=st.floats(0.02, 50.0),
    api_scale=st.floats(0.05, 5.0),
    spares=st.sampled_from([0, 1]),
    max_num_seqs=st.sampled_from([None, 1, 16]),
)
def test_built_recommendations_check_out(name, volume, api_scale, spares, max_num_seqs):
    """Volumes, API prices, spares and engine limits that reach the other sentences and flags."""
    sc, catalog = load(next(p for p in SCENARIOS if p.stem == name))
    changes = {"workload.requests_per_month": sc.workload.requests_per_month * volume}
    for o in sc.options:
        if o.kind == "api":
            changes[f"options.{o.name}.price_scale"] = min(api_scale, 10.0)
        elif o.kind in ("owned", "rented"):
            changes[f"options.{o.name}.spare_replicas"] = spares
    if max_num_seqs is not None and sc.serving is not None:
        changes["serving.efficiency.max_num_seqs"] = max_num_seqs
    ev = evaluate_with_uncertainty(with_values(sc, changes), catalog, draws=0)
    check_reasons(ev, catalog)


def test_a_tie_is_said_as_a_tie():
    """Two options within 0.1 % of each other: the runner-up is named as tied, not '$0 (0%) more'."""
    from tests.conftest import ROOT

    sc, cat = load(ROOT / "data" / "scenarios" / "support-chatbot.yaml")
    base = evaluate_with_uncertainty(sc, cat, 0, 0)
    api, rent = base.option("api-gpt-4o-mini").npv_usd, base.option("rent-h100-ondemand").npv_usd
    # the API's NPV is a + b x price_scale (its stated migration is not scaled): solve for the tie
    doubled = evaluate_with_uncertainty(with_values(sc, {"options.api-gpt-4o-mini.price_scale": 2.0}), cat, 0, 0)
    b = doubled.option("api-gpt-4o-mini").npv_usd - api
    scale = (rent - (api - b)) / b
    tied = with_values(sc, {"options.api-gpt-4o-mini.price_scale": scale * (1 + 0.0004)})
    ev = evaluate_with_uncertainty(tied, cat, 0, 0)
    second = next(r for r in ev.recommendation.reasons if r.startswith("Next best is"))
    assert ": a tie (within 0.1% of the NPV of cost;" in second
    check_reasons(ev, cat)
