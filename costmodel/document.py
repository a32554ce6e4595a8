"""The one place an evaluation becomes the document every face reads
(:class:`costmodel.model.evaluation.Document`).

Each face used to reach into the engine's objects and their optional fields on its own, so a
shape the engine produced at one volume (a router with an owned member: GPUs, but no capacity of
its own) broke a face that had never seen it. Here every optional figure is decided once: it has
a value, or a note saying why not, and the faces show one or the other.

The costly parts (sensitivity, capacity studies, hybrid sweeps, cost curves) are built when asked;
a part the engine cannot compute for this scenario becomes its note, never an exception in a face.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import SupportsFloat, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from costmodel.assumptions import register
from costmodel.core.roofline import ReplicaCapacity
from costmodel.engine import EngineError, Evaluation, OptionResult, cost_curves, hybrid_sweep
from costmodel.engine.capacity import CapacityStudy as EngineStudy
from costmodel.engine.capacity import bound_by, layout_sentence, option_capacity_study
from costmodel.engine.eligibility import class_scores
from costmodel.engine.results import ClassifierNeed
from costmodel.engine.router import RouterChoice, routes_sentence
from costmodel.lifecycle import retirement_note, retirement_reasons, retiring_models
from costmodel.model import evaluation as doc
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, Scenario
from costmodel.price_age import stale_note, stale_prices
from costmodel.sensitivity import break_even_sentences, one_at_a_time
from costmodel.text import capacity_basis_word, count, percent, quality_word, slo_word, times, unit_value, usd

# Monthly cash-flow columns that are not cost line items (counts, shares, running sums).
NOT_LINE_ITEMS = frozenset(  # columns of a cash-flow table that are not money paid
    {
        "month",
        "requests",
        "tokens",
        "gpus",
        "total",
        "cumulative",
        "depreciation",
        "local_share",
        "utilization",
        "unserved",  # requests a fleet could not serve
        "stranded_gpus",  # GPUs this demand did not need
    }
)
T = TypeVar("T")
# What a failed optional analysis may raise: bad combinations the engine reports, numbers out of range.
ANALYSIS_ERRORS = (EngineError, ValueError, ArithmeticError, LookupError)


def _finite(x: SupportsFloat | None) -> float | None:
    """A float, or None where the engine has no finite number."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _finite_list(values: Iterable[SupportsFloat | None]) -> list[float]:
    """Plot and table data with no NaN for a face to draw: a figure the engine has no finite value
    for (the utilisation of a month with no GPUs) reads 0."""
    return [v if (v := _finite(x)) is not None else 0.0 for x in values]


def capacity(cap: ReplicaCapacity) -> doc.Capacity:
    """A replica's capacity as the document has it."""
    return doc.Capacity(
        basis=cap.basis,
        gpus_per_replica=int(cap.gpus_per_replica),
        requests_per_s_per_replica=float(cap.requests_per_s),
        output_tokens_per_s_per_replica=float(cap.output_tokens_per_s),
        batch=_finite(cap.batch),
        ttft_ms=_finite(cap.ttft_ms),
        tpot_ms=_finite(cap.tpot_ms),
        ttft_mean_ms=_finite(cap.ttft_mean_ms),
        tpot_mean_ms=_finite(cap.tpot_mean_ms),
        e2e_ms=_finite(cap.e2e_ms),
        slo_met=cap.slo_met,
        limit=cap.limit,
        bound_by=bound_by(cap.limit),
        source=cap.source,
        calibration=cap.calibration,
        text=f"{count(cap.output_tokens_per_s)} tok/s x{cap.gpus_per_replica} "
        f"({capacity_basis_word(cap.basis, cap.calibration)})",
    )


def _capacity_note(o: OptionResult, sc: Scenario) -> str:
    if o.capacity is not None:
        return ""
    if o.kind == "api":
        return "none: an API runs on the provider's GPUs"
    if o.kind == "router":
        hosted = [m for m in o.routing.shares() if sc.option(m).kind in ("rented", "owned")] if o.routing else []
        if hosted:
            return f"none of its own: its self-hosted members carry theirs ({', '.join(hosted)})"
        return "none: this option's traffic all goes to an API"
    return "none: no capacity figure for this option"


def _gpus_note(o: OptionResult) -> str:
    if o.gpus_at_peak is not None:
        return ""
    return "none: this option's traffic all goes to an API" if o.kind in ("api", "router") else "none"


def _layouts(o: OptionResult) -> list[doc.Layout]:
    return [
        doc.Layout(
            gpus_per_replica=lay.gpus_per_replica,
            chosen=lay.chosen,
            eligible=lay.eligible,
            npv_cost_usd=float(lay.npv_cost_usd),
            usd_per_million_served=_finite(lay.usd_per_million_served),
            description=lay.description,
            capacity=capacity(lay.capacity),
        )
        for lay in o.layouts
    ]


def classifier(need: ClassifierNeed | None, name: str, sc: Scenario) -> doc.Classifier | None:
    """A router's classifier and the accuracy it needs (None: no classifier)."""
    router = sc.option(name)
    k = getattr(router, "classifier", None)
    if need is None or k is None:
        return None
    names = tuple(c.name for c in sc.workload.classes)
    return doc.Classifier(
        kind=need.kind,
        basis=need.basis,
        source=k.source,
        accuracy=float(need.accuracy),
        usd_per_request=float(need.usd_per_request),
        usd_per_month=float(k.usd_per_month),
        added_ttft_ms=float(need.added_ttft_ms),
        confusion=k.matrix(names),
        threshold=None if need.threshold is None else float(need.threshold),
        threshold_note=""
        if need.threshold is not None
        else (
            f"none: the recommendation holds down to {percent(need.floor, 1)} accurate"
            if need.winner == name
            else "none: no classifier accuracy makes the router the recommendation"
        ),
        floor=float(need.floor),
        winner=need.winner,
        other=need.other,
        sentence=need.sentence,
    )


def routing(choice: RouterChoice, name: str, sc: Scenario, need: ClassifierNeed | None = None) -> doc.Routing:
    """A router's routes, each member's share, its classifier and every assignment it costed."""
    f = choice.frontier
    classes = [c for c in f.columns if c.startswith("class ")]
    rows = [
        doc.FrontierRow(
            routes=r["routes"],
            classes={c.removeprefix("class "): r[c] for c in classes},
            npv_usd=float(r["npv_usd"]),
            total_cost_usd=float(r["total_cost_usd"]),
            quality=_finite(r["quality"]),
            quality_met=None if r["quality_met"] is None else bool(r["quality_met"]),
            slo_met=None if r["slo_met"] is None else bool(r["slo_met"]),
            eligible=bool(r["eligible"]),
            pareto=bool(r["pareto"]),
            chosen=bool(r["chosen"]),
        )
        for r in f.to_dict(orient="records")
    ]
    return doc.Routing(
        routes=dict(choice.routes),
        shares={m: float(v) for m, v in choice.shares().items()},
        mixes={m: {c: float(v) for c, v in mix.items()} for m, mix in choice.mixes.items()},
        checked_share=float(choice.checked_share),
        escalated_share=float(choice.escalated_share),
        classifier=classifier(need, name, sc),
        classifier_note="" if need is not None else "none: one request class, nothing to tell apart",
        note=choice.note,
        sentence=routes_sentence(name, choice, sc),
        frontier=rows,
    )


def option(o: OptionResult, ev: Evaluation) -> doc.Option:
    sc = ev.scenario
    df = o.cashflow
    per_million = _finite(o.usd_per_million_tokens)
    return doc.Option(
        name=o.name,
        label=o.label,
        kind=o.kind,
        total_cost_usd=float(o.total_cost_usd),
        npv_usd=float(o.npv_usd),
        npv_cost_usd=-float(o.npv_usd),
        usd_per_million_tokens=per_million,
        usd_per_million_tokens_note="" if per_million is not None else "none: no tokens served",
        gpus_at_peak=None if o.gpus_at_peak is None else int(o.gpus_at_peak),
        gpus_at_peak_note=_gpus_note(o),
        capacity=None if o.capacity is None else capacity(o.capacity),
        capacity_note=_capacity_note(o, sc),
        layouts=_layouts(o),
        layout_sentence=layout_sentence(o.name, o.layouts) if o.layouts else "",
        slo=doc.Slo(
            met=o.slo.met,
            word=slo_word(o.slo.met),
            ttft_ms=_finite(o.slo.ttft_ms),
            tpot_ms=_finite(o.slo.tpot_ms),
            basis=o.slo.basis,
            note=o.slo.note,
        ),
        quality=doc.Quality(
            met=o.quality.met,
            word=quality_word(o.quality.met, o.quality.basis),
            basis=o.quality.basis,
            note=o.quality.note,
        ),
        eligible=o.eligible,
        recommended=o.name == ev.recommendation.option,
        routing=None if o.routing is None else routing(o.routing, o.name, sc, o.classifier),
        routing_note="" if o.routing is not None else f"none: a {o.kind} option has no routes",
        price_notes=list(o.price_notes),
        mean_utilization=_finite(o.mean_utilization),
        mean_utilization_note="" if _finite(o.mean_utilization) is not None else "none: no fleet of its own",
        risks=list(o.risks),
        monthly={str(c): _finite_list(df[c]) for c in df.columns},
        line_items=[str(c) for c in df.columns if c not in NOT_LINE_ITEMS and np.any(df[c].to_numpy() != 0)],
    )


def workload(sc: Scenario) -> doc.Workload:
    wl = sc.workload
    slo = f"SLO: TTFT p95 <= {wl.slo.ttft_p95_ms:g} ms, TPOT p95 <= {wl.slo.tpot_p95_ms:g} ms"
    return doc.Workload(
        requests_per_month=float(wl.requests_per_month),
        monthly_growth=float(wl.monthly_growth),
        input_tokens_per_request=float(wl.input_tokens_per_request),
        output_tokens_per_request=float(wl.output_tokens_per_request),
        slo_ttft_p95_ms=float(wl.slo.ttft_p95_ms),
        slo_tpot_p95_ms=float(wl.slo.tpot_p95_ms),
        slo_text=slo,
        summary=f"{count(wl.requests_per_month)} requests/month growing {percent(wl.monthly_growth, 1)}/month"
        + _growth_reached(sc)
        + ", "
        f"{count(wl.input_tokens_per_request)} in / {count(wl.output_tokens_per_request)} out tokens, "
        f"SLO TTFT p95 {wl.slo.ttft_p95_ms:g} ms, TPOT p95 {wl.slo.tpot_p95_ms:g} ms; "
        f"{sc.horizon_months} months at {percent(sc.discount_rate, 1)}/year.",
    )


def break_evens(ev: Evaluation) -> list[doc.BreakEven]:
    labels = {o.name: o.label for o in ev.options}
    paybacks = {(p.owned, p.api): p.month for p in ev.paybacks}
    rows = []
    for b in ev.break_evens:
        owned = (b.self_hosted, b.api) in paybacks
        month = paybacks.get((b.self_hosted, b.api))
        rows.append(
            doc.BreakEven(
                self_hosted=b.self_hosted,
                self_hosted_label=labels[b.self_hosted],
                api=b.api,
                api_label=labels[b.api],
                requests_per_month=_finite(b.requests_per_month),
                note=b.note or "",
                payback_month=month,
                payback_note=("not within the horizon" if month is None else f"month {month}")
                if owned
                else "not owned",
            )
        )
    return rows


def _growth_reached(sc: Scenario) -> str:
    """Where compound growth takes the volume by the horizon's last month, said beside the rate (4 %
    a month for ten years is 106 times as much)."""
    wl = sc.workload
    if not wl.monthly_growth or sc.horizon_months < 2:
        return ""
    last = sc.horizon_months - 1
    factor = (1.0 + wl.monthly_growth) ** last
    return f" ({count(wl.requests_per_month * factor)} by month {last}, {times(factor)} the first)"


def capacity_summary(ev: Evaluation) -> str:
    """Which capacities are measured, modelled on a calibrated engine and GPU, or modelled without
    published runs of the pair (each option's ``capacity.calibration`` says more)."""
    kinds: dict[str, list[str]] = {"measured": [], "modelled": [], "uncalibrated": []}
    for o in ev.options:
        if o.capacity is not None:
            kinds[capacity_basis_word(o.capacity.basis, o.capacity.calibration)].append(o.name)
    words = {
        "measured": "measured",
        "modelled": "modelled (roofline, calibrated on published runs of the engine on that GPU)",
        "uncalibrated": "modelled (roofline) and uncalibrated: no published runs of the engine on that GPU",
    }
    parts = [f"{words[k]} for {', '.join(names)}" for k, names in kinds.items() if names]
    return "Capacity figures: " + ("; ".join(parts) or "none") + "."


def monte_carlo(ev: Evaluation) -> doc.MonteCarlo | None:
    sim = ev.simulation
    if sim is None:
        return None
    sc = ev.scenario
    labels = {o.name: o.label for o in ev.options}
    table = sim.summary()
    p_cheapest = sim.cheapest()

    def pct(draws: NDArray[np.float64]) -> doc.Percentiles:
        q = np.percentile(np.asarray(draws, dtype=float), (10, 25, 50, 75, 90))
        return doc.Percentiles(**{f"p{p}": float(v) for p, v in zip((10, 25, 50, 75, 90), q, strict=True)})

    return doc.MonteCarlo(
        draws=int(sim.draws),
        seed=int(sim.seed),
        inputs=list(sim.inputs),
        input_descriptions=[
            f"{path}: {dist.dist} "
            + ", ".join(f"{k} {v:g}" for k, v in dist.model_dump(exclude={"dist", "source"}, exclude_none=True).items())
            + f" ({dist.source})"
            for path, dist in sc.uncertainty.items()
        ]
        + list(sim.capacity_draws),
        planned_fleets=list(sim.shortfall),
        options=[
            doc.SimulatedOption(
                name=name,
                label=labels.get(name, name),
                total_cost_usd=pct(sim.total_cost[name]),
                npv_cost_usd=pct(sim.npv_cost[name]),
                p_cheapest=float(p_cheapest[name]),
                p_slo=_finite(row["p_slo"]),
                **{f"unserved_p{p}": _finite(row[f"shortfall_p{p}"]) for p in (10, 50, 90)},
                **{f"stranded_p{p}": _finite(row[f"stranded_p{p}"]) for p in (10, 50, 90)},
            )
            for name, row in table.iterrows()
        ],
    )


def hybrid_sweeps(ev: Evaluation, catalog: Catalog) -> list[doc.HybridSweep]:
    out = []
    for o in ev.scenario.options:
        if o.kind != "hybrid":
            continue
        df = hybrid_sweep(ev.scenario, catalog, o.name)
        best = df[df["optimal"]].iloc[0]
        missing = df[df["slo_met"].map(lambda met: met is False)]
        which = "cheapest local fleet" if best["slo_met"] is not False else "no fleet size meets the SLO; cheapest"
        misses = (
            f"; {len(missing)} of {len(df)} sizes costed miss the SLO (never chosen)"
            if len(missing) and best["slo_met"] is not False
            else ""
        )
        all_local = df.iloc[-1]
        out.append(
            doc.HybridSweep(
                option=o.name,
                label=ev.option(o.name).label,
                sentence=f"hybrid {o.name}: {which} {int(best['local_gpus'])} GPUs "
                f"({percent(best['local_share'])} served locally, NPV of cost {usd(-best['npv_usd'])}); "
                f"all-API {usd(-df['npv_usd'].iloc[0])}, all-local ({int(all_local['local_gpus'])} GPUs"
                f"{', misses the SLO' if all_local['slo_met'] is False else ''}) {usd(-all_local['npv_usd'])}{misses}",
                rows=[
                    doc.SweepRow(
                        local_gpus=int(r["local_gpus"]),
                        local_share=float(r["local_share"]),
                        npv_usd=float(r["npv_usd"]),
                        total_cost_usd=float(r["total_cost_usd"]),
                        slo_met=None if r["slo_met"] is None else bool(r["slo_met"]),
                        optimal=bool(r["optimal"]),
                    )
                    for r in df.to_dict(orient="records")
                ],
            )
        )
    return out


def volume_grid(ev: Evaluation, points: int = 160) -> NDArray[np.float64]:
    """Monthly volumes around the scenario's: 1/100 to 100x the first month, and every break-even."""
    v0 = max(ev.scenario.workload.requests_per_month, 1.0)
    lo, hi = v0 / 100, v0 * 100
    for b in ev.break_evens:
        if b.requests_per_month:
            lo, hi = min(lo, b.requests_per_month / 3), max(hi, b.requests_per_month * 3)
    return np.geomspace(lo, hi, points)


def volume_curves(ev: Evaluation, catalog: Catalog, volumes: NDArray[np.float64] | None = None) -> doc.VolumeCurves:
    """Steady monthly cost of each option against volume, in the evaluation's layouts, with the
    break-even points costed on the same curves."""
    v = volume_grid(ev) if volumes is None else np.asarray(volumes, dtype=float)
    be = [b for b in ev.break_evens if b.requests_per_month]
    xs = [float(b.requests_per_month or 0.0) for b in be]
    both = cost_curves(ev.scenario, catalog, np.concatenate([v, xs]), ev.chosen_layouts())
    curves, at = both.iloc[: len(v)], both.iloc[len(v) :]
    return doc.VolumeCurves(
        volumes_per_month=[float(x) for x in v],
        first_month_requests=float(ev.scenario.workload.requests_per_month),
        monthly_cost_usd={str(n): _finite_list(curves[n]) for n in curves.columns},
        step={str(n): ev.option(n).kind != "api" for n in curves.columns},
        break_evens=[
            doc.BreakEvenPoint(
                self_hosted=b.self_hosted,
                api=b.api,
                requests_per_month=x,
                monthly_cost_usd=_finite(at[b.api].iloc[k]) or 0.0,
            )
            for k, (b, x) in enumerate(zip(be, xs, strict=True))
        ],
    )


def sensitivity(table: pd.DataFrame, sc: Scenario) -> doc.Sensitivity:
    ranges = (
        "the low and high values of its distribution (bounds, or P10/P90 where a normal or lognormal has none)"
        if sc.uncertainty
        else "its low and high value (ranges are assumptions of this analysis)"
    )
    if table.empty:
        return doc.Sensitivity(
            ranges=ranges,
            options=None,
            options_note="fewer than two options meet the SLO: no decision to test",
            base_metric_usd=None,
            base_metric_usd_note="no decision to test",
            rows=[],
            break_even_sentences=[],
        )
    return doc.Sensitivity(
        ranges=ranges,
        options=list(table.attrs["options"]),
        base_metric_usd=float(table.attrs["base_metric"]),
        rows=[
            doc.SensitivityRow(
                factor=str(r["factor"]),
                unit=str(r["unit"]),
                low=float(r["low"]),
                high=float(r["high"]),
                metric_low=float(r["metric_low"]),
                metric_high=float(r["metric_high"]),
                break_even=_finite(r["break_even"]),
                winner_low=r["winner_low"] if isinstance(r.get("winner_low"), str) else None,
                winner_high=r["winner_high"] if isinstance(r.get("winner_high"), str) else None,
                flips_at=_finite(r.get("flips_at")),
                flips_to=None if not isinstance(r.get("flips_to"), str) else r["flips_to"],
            )
            for r in table.to_dict(orient="records")
        ],
        break_even_sentences=break_even_sentences(table),
    )


def served_quality(sc: Scenario) -> list[doc.ServedQuality]:
    """What serves each option and its accuracy per request class (measured with interval, or stated)."""
    rows: dict[str, doc.ServedQuality] = {}
    for o in sc.options:
        if not isinstance(o, ApiOption | RentedOption | OwnedOption):
            continue
        key = sc.serves(o)
        if key in rows:
            rows[key] = rows[key].model_copy(update={"options": [*rows[key].options, o.name]})
            continue
        scores = class_scores(o, sc)
        measured = sc.quality_of(o)
        table = measured[1].quality_measured.classes if measured and measured[1].quality_measured else {}
        classes = {}
        for c in sc.workload.classes:
            s = scores[c.name]
            if s is None:
                classes[c.name] = doc.ClassScore(accuracy=None, ci_low=None, ci_high=None, n=None, basis="unknown")
            elif s.basis == "measured":
                a = table.get(c.name, table.get("all"))
                classes[c.name] = doc.ClassScore(
                    accuracy=float(s.accuracy),
                    ci_low=_finite(s.ci_low),
                    ci_high=None if a is None else float(a.ci_high),
                    n=None if a is None else a.n,
                    basis="measured",
                )
            else:
                classes[c.name] = doc.ClassScore(
                    accuracy=float(s.accuracy), ci_low=None, ci_high=None, n=None, basis="stated"
                )
        source = next((s.source for s in scores.values() if s is not None), "") if measured else ""
        rows[key] = doc.ServedQuality(what_serves=key, options=[o.name], classes=classes, source=source or "–")
    return list(rows.values())


def capacity_studies(ev: Evaluation, catalog: Catalog) -> list[doc.CapacityStudy]:
    """The frontier study of each self-hosted option whose capacity is modelled."""
    sc = ev.scenario
    out = []
    for o in sc.options:
        if not isinstance(o, RentedOption | OwnedOption):
            continue
        r = ev.option(o.name)
        if r.layouts and r.capacity is not None and r.capacity.basis == "modelled":
            out.append(capacity_study(option_capacity_study(o, sc, catalog), option=o.name))
    return out


def capacity_study(study: EngineStudy, option: str | None = None) -> doc.CapacityStudy:
    """``tco capacity``'s study (:class:`~costmodel.engine.capacity.CapacityStudy`) as the document has it."""
    st = study.stack
    return doc.CapacityStudy(
        option=option,
        title=f"{st.model.name} ({st.quantization.name}) on {st.gpu.name}, {st.engine.name} {st.engine.version}",
        model=st.model.id,
        quantization=st.quantization.id,
        gpu=st.gpu.id,
        engine=st.engine.id,
        engine_version=st.engine.version,
        kv_cache_bytes_per_element=float(st.kv_bytes_per_element),
        input_tokens=float(study.load.input_tokens),
        output_tokens=float(study.load.output_tokens),
        cached_input_share=float(np.asarray(study.load.cached_input_share)),
        slo={"ttft_p95_ms": float(study.ttft_ms), "tpot_p95_ms": float(study.tpot_ms)},
        usd_per_gpu_hour=_finite(study.usd_per_gpu_hour),
        price_source=study.price_source,
        calibration=study.calibration,
        best_gpus_per_replica=None if study.best is None else study.best.gpus_per_replica,
        layouts=[
            doc.CapacityFrontier(
                gpus_per_replica=s.gpus_per_replica,
                feasible=s.why_not is None,
                why_not=s.why_not,
                capacity=None if s.capacity is None else capacity(s.capacity),
                usd_per_million_output=_finite(s.usd_per_million_output),
                frontier=None if s.frontier is None else {k: _finite_list(v) for k, v in s.frontier.items()},
            )
            for s in study.layouts
        ],
    )


def assumptions(ev: Evaluation, catalog: Catalog) -> list[doc.Assumption]:
    """The assumptions register, each value in the format of its unit."""
    df = register(ev, catalog)
    return [
        doc.Assumption(
            input=str(r["input"]),
            value=unit_value(r["value"], str(r["unit"])),
            unit=str(r["unit"]),
            source=str(r["source"]),
            as_of=str(r["as_of"]),
            basis=str(r["basis"]),
        )
        for r in df.to_dict(orient="records")
    ]


def _optional(build: Callable[[], T], note: str) -> tuple[T | None, str]:
    """An optional analysis, or None and a note saying why the engine could not compute it."""
    try:
        return build(), ""
    except ANALYSIS_ERRORS as e:
        return None, f"{note}: {e}"


def build(
    ev: Evaluation,
    catalog: Catalog,
    *,
    sweeps: bool = True,
    curves: bool = True,
    sensitivity_table: pd.DataFrame | None = None,
    sensitivity_run: bool = False,
    studies: bool = False,
    register_rows: bool = True,
) -> doc.Document:
    """The document of ``ev``. The optional parts: ``sweeps`` (hybrid fleet sweeps), ``curves``
    (cost against volume), sensitivity (given, or run with ``sensitivity_run``), ``studies``
    (capacity frontiers) and ``register_rows`` (the assumptions register)."""
    sc = ev.scenario
    rec = ev.recommendation
    labels = {o.name: o.label for o in ev.options}
    curve_doc, curve_note = (
        _optional(lambda: volume_curves(ev, catalog), "no cost curves for this scenario")
        if curves
        else (None, "not computed for this view")
    )
    if sensitivity_table is None and sensitivity_run:
        sensitivity_table, sens_note = _optional(lambda: one_at_a_time(sc, catalog), "no sensitivity")
    else:
        sens_note = "" if sensitivity_table is not None else "not computed for this view"
    mc = monte_carlo(ev)
    stale = stale_prices(sc, catalog)
    retiring = retiring_models(sc, catalog)
    mind = retirement_reasons(sc, retiring, rec.option)
    return doc.Document(
        scenario=sc.name,
        title=sc.title,
        description=(sc.description or "").strip(),
        as_of=sc.as_of.isoformat(),
        horizon_months=sc.horizon_months,
        discount_rate=float(sc.discount_rate),
        workload=workload(sc),
        classes=[
            doc.RequestClass(name=c.name, share=float(c.share), min_quality=_finite(c.min_quality) or None)
            for c in sc.workload.classes
        ],
        options=[option(o, ev) for o in ev.options],
        break_even=break_evens(ev),
        payback=[{"owned": p.owned, "api": p.api, "month": p.month} for p in ev.paybacks],
        recommendation=doc.Recommendation(
            option=rec.option,
            label=labels.get(rec.option, "none") if rec.option else "none",
            reasons=[*rec.reasons, *mind],
            risks=list(rec.risks),
            confidence=_finite(rec.confidence),
            sentence=" ".join([rec.sentence, *mind]),
        ),
        capacity_summary=capacity_summary(ev),
        stale_price_days=sc.stale_price_days,
        stale_prices=[
            doc.StalePrice(name=a.name, value=a.value, as_of=a.as_of.isoformat(), age_days=a.age_days, source=a.source)
            for a in stale
        ],
        stale_prices_note=stale_note(sc, stale),
        retiring_models=[
            doc.RetiringApiModel(
                used_by=list(m.used_by),
                model=m.model,
                retires=m.retires.isoformat(),
                month=m.month,
                successor=m.successor,
                source=m.source,
            )
            for m in retiring
        ],
        retiring_models_note=retirement_note(sc, retiring),
        monte_carlo=mc,
        monte_carlo_note=""
        if mc is not None
        else "none: this scenario gives no uncertain inputs (no `uncertainty:` section), or no draws were asked for",
        hybrid_sweeps=hybrid_sweeps(ev, catalog) if sweeps else [],
        volume_curves=curve_doc,
        volume_curves_note=curve_note,
        sensitivity=None if sensitivity_table is None else sensitivity(sensitivity_table, sc),
        sensitivity_note=sens_note,
        served_quality=served_quality(sc),
        capacity_studies=capacity_studies(ev, catalog) if studies else [],
        assumptions=assumptions(ev, catalog) if register_rows else [],
    )


def dumps(document: doc.Document) -> str:
    """The document as strict JSON text (``tco evaluate --json``)."""
    return document.model_dump_json(indent=2) + "\n"
