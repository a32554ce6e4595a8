"""Finance reports: the report notebook's content, its rendering to offline HTML, and Excel.

``prepare`` and the section functions are what ``notebooks/reports/4.01-tco-report.ipynb``
calls; every figure they show comes from the evaluation document (``costmodel.document``), and
every value from an input is escaped (``tco.markup``). ``render`` checks the output paths and
validates the scenario before any kernel starts, executes the notebook with papermill and
converts it with nbconvert to one self-contained HTML file (``tco.render``), and writes the Excel
workbook (``tco.workbook``).
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from costmodel import document, paths
from costmodel.diff import ScenarioDiff, diff, value_text
from costmodel.io.catalog import load_catalog_files
from costmodel.io.files import InputError
from costmodel.io.scenario import load, load_scenario
from costmodel.model.evaluation import Document
from costmodel.model.scenario import OwnedOption, RentedOption
from costmodel.sensitivity import one_at_a_time
from costmodel.text import (
    MISSING,
    capacity_basis_word,
    count,
    latency,
    percent,
    provenance,
    spread,
    usd,
    usd_rate,
    yes_no,
)
from costmodel.uncertainty import DEFAULT_DRAWS, evaluate_with_uncertainty
from tco.markup import md
from tco.render import execute_to_html, find_browser, print_pdf, writable
from tco.workbook import write_workbook


@dataclass(frozen=True)
class ReportContext:
    scenario_path: Path
    doc: Document
    overrides: tuple[str, ...]
    probe_run: str | None
    diff: ScenarioDiff | None = None  # against an earlier version of the scenario (compare_with)


def run_overrides(scenario_path: str | Path, probe_runs: list[str] | None, quality_runs: list[str] | None) -> list[str]:
    """``--set`` lines from ``OPTION=DIR`` probe and quality runs (``serving=DIR``: the quality of
    the scenario's served model). A value without ``=`` is an error naming it. A relative DIR is
    resolved against the caller's directory."""
    kinds = {o.name: o.kind for o in load_scenario(scenario_path).options}
    lines = []
    for flag, runs in (("probe_run", probe_runs or []), ("quality_run", quality_runs or [])):
        for item in runs:
            target, sep, folder = item.partition("=")
            if not sep or not target or not folder:
                raise InputError(f"--{flag.replace('_', '-')}", "", item, "expected OPTION=DIR (or serving=DIR)")
            where = "serving" if target == "serving" else f"options.{target}"
            lines.append(f"{where}.{flag}={_from_here(folder)}")
            # a measurement replaces what was stated or published
            if flag == "quality_run":
                lines.append(f"{where}.quality=null")
            elif kinds.get(target) in ("rented", "owned"):
                lines.append(f"{where}.measured=null")
            elif kinds.get(target) == "api":
                lines += [f"{where}.ttft_p95_ms=null", f"{where}.tpot_p95_ms=null"]
    return lines


def _from_here(folder: str) -> str:
    """A run folder as the caller meant it: relative to where the command was typed, when it is
    there; otherwise as given (a scenario resolves it against the data folder)."""
    here = Path(folder).expanduser()
    return str(here.resolve()) if not here.is_absolute() and here.exists() else folder


def probe_overrides(scenario_path: Path, probe_run: str | None, option: str | None = None) -> list[str]:
    """``--set`` lines pointing a self-hosted option (default: the first) at a probe run."""
    if not probe_run:
        return []
    sc = load_scenario(scenario_path)
    hosted = [o.name for o in sc.options if isinstance(o, RentedOption | OwnedOption)]
    target = option or (hosted[0] if hosted else None)
    if target is None:
        raise InputError("--probe-run", "", probe_run, "the scenario has no self-hosted option to apply it to")
    return run_overrides(scenario_path, [f"{target}={probe_run}"], None)


def prepare(
    scenario_path: str | Path,
    probe_run: str | None = None,
    probe_option: str | None = None,
    sensitivity: bool = True,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    compare_with: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> ReportContext:
    """Load, evaluate and analyse a scenario for the report (Monte Carlo if it has uncertain inputs;
    a diff against ``compare_with``, an earlier version, if given) into its document."""
    path = Path(scenario_path)
    lines = [*overrides, *probe_overrides(path, probe_run, probe_option)]
    scenario, catalog = load(path, lines)
    ev = evaluate_with_uncertainty(scenario, catalog, draws, seed)
    doc = document.build(
        ev,
        catalog,
        sensitivity_table=one_at_a_time(scenario, catalog) if sensitivity else None,
        studies=True,
    )
    changes = None
    if compare_with:
        old, old_catalog = load(Path(compare_with))
        changes = diff(old, scenario, old_catalog, catalog)
    return ReportContext(path, doc, tuple(lines), probe_run, changes)


def table(df: pd.DataFrame):
    """A report table: cells already in words and formatted numbers (``costmodel.text``), no index,
    every cell escaped (a value from a file is text, never markup)."""
    return df.fillna(MISSING).style.hide(axis="index").format(escape="html")


def note(text: str) -> str:
    """What a section says in place of a figure it cannot show."""
    return f"*{md(text)}*"


# ---------------------------------------------------------------------------- sections


def executive_summary(ctx: ReportContext) -> str:
    d = ctx.doc
    rec = d.recommendation
    lines = [
        f"# {md(d.title)}",
        "",
        f"*Scenario {md(d.scenario)}, assumptions as of {d.as_of}; report generated "
        f"{time.strftime('%Y-%m-%d')}. All money in USD.*",
        "",
        "## Executive summary",
        "",
        f"**Recommendation: {md(rec.label)}.**",
        "",
        *(f"- {md(r)}" for r in rec.reasons),
        "",
        md(d.capacity_summary),
    ]
    if ctx.overrides:
        lines += ["", "Changed for this report: " + ", ".join(md(o) for o in ctx.overrides) + "."]
    if d.description:
        lines += ["", md(d.description)]
    return "\n".join(lines)


def diff_text(ctx: ReportContext) -> str:
    """The changes since the earlier version, in words."""
    return "\n".join(f"- {md(line)}" for line in ctx.diff.sentences()) if ctx.diff else ""


def diff_table(ctx: ReportContext) -> pd.DataFrame:
    """Each changed input: old and new value, its largest NPV move applied alone, its source."""
    changes = ctx.diff.changes if ctx.diff else ()
    return pd.DataFrame(
        [
            {
                "input": c.path,
                "old": value_text(c.old),
                "new": value_text(c.new),
                "largest NPV move alone": MISSING if c.npv_moves is None else usd(c.largest_move),
                "share of the decision's move": ctx.diff.mover_share(c.path) if ctx.diff else MISSING,
                "source": c.source,
            }
            for c in sorted(changes, key=lambda c: -c.largest_move)
        ]
    )


def diff_npv_table(ctx: ReportContext) -> pd.DataFrame:
    if ctx.diff is None:
        return pd.DataFrame()
    labels = {o.name: o.label for o in (*ctx.diff.old.options, *ctx.diff.new.options)}
    return pd.DataFrame(
        [
            {
                "option": labels[n],
                "NPV before": usd(a),
                "NPV now": usd(b),
                "change": MISSING if a is None or b is None else usd(b - a),
            }
            for n, a, b in ctx.diff.npv_table()
        ]
    )


def options_table(ctx: ReportContext) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "option": o.label,
                "kind": o.kind,
                "total cost": usd(o.total_cost_usd),
                "NPV of cost": usd(o.npv_cost_usd),
                "per 1M tokens": usd_rate(o.usd_per_million_tokens),
                "GPUs at peak": count(o.gpus_at_peak),
                "capacity": o.capacity_note
                if o.capacity is None
                else f"{count(o.capacity.output_tokens_per_s_per_replica)} out tok/s per replica ({o.capacity.basis})",
                "SLO": o.slo.word,
                "quality": o.quality.word,
                "recommended": yes_no(o.recommended),
                "prices": "; ".join(o.price_notes),
            }
            for o in ctx.doc.options
        ]
    )


def break_even_table(ctx: ReportContext) -> pd.DataFrame:
    rows = []
    for b in ctx.doc.break_even:
        row = {
            "self-hosted": b.self_hosted_label,
            "vs API": b.api_label,
            "break-even volume": "never"
            if b.requests_per_month is None
            else f"{count(b.requests_per_month)} requests/month",
            "note": b.note,
        }
        if b.payback_note != "not owned":
            row["payback"] = b.payback_note
        rows.append(row)
    return pd.DataFrame(rows)


def capacity_table(ctx: ReportContext) -> pd.DataFrame:
    rows = []
    for o in ctx.doc.options:
        c = o.capacity
        basis = o.slo.basis if c is None else capacity_basis_word(c.basis, c.calibration)
        row: dict[str, Any] = {"option": o.label, "basis": basis}
        if c is not None:
            row |= {
                "GPUs per replica": count(c.gpus_per_replica),
                "out tok/s per replica": count(c.output_tokens_per_s_per_replica),
                "sequences in flight": count(c.batch),
                "bound by": c.bound_by,
            }
        row |= {
            "TTFT p95": latency(o.slo.ttft_ms),
            "TPOT p95": latency(o.slo.tpot_ms),
            "SLO": o.slo.word,
            "note": o.slo.note if c is not None else f"{o.slo.note}; capacity {o.capacity_note}",
            "source": "" if c is None else provenance(c.source, c.calibration),
        }
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["slo"] = ctx.doc.workload.slo_text
    return df


def layouts_table(ctx: ReportContext) -> pd.DataFrame:
    """Every layout considered for each self-hosted option: what it serves, what bounds it, what it costs."""
    return pd.DataFrame(
        [
            {
                "option": o.label,
                "GPUs per replica": count(lay.gpus_per_replica),
                "chosen": yes_no(lay.chosen),
                "out tok/s per replica": count(lay.capacity.output_tokens_per_s_per_replica),
                "sequences in flight": count(lay.capacity.batch),
                "TTFT p95": latency(lay.capacity.ttft_ms),
                "TPOT p95": latency(lay.capacity.tpot_ms),
                "bound by": lay.capacity.bound_by,
                "per 1M tokens served": usd_rate(lay.usd_per_million_served),
                "NPV of cost": usd(lay.npv_cost_usd),
                "SLO": {True: "met", False: "missed", None: "unverified"}[lay.capacity.slo_met],
            }
            for o in ctx.doc.options
            for lay in o.layouts
        ]
    )


def layout_text(ctx: ReportContext) -> str:
    """One sentence per self-hosted option: the chosen layout and the runner-up."""
    lines = [o.layout_sentence for o in ctx.doc.options if o.layout_sentence]
    return "\n".join(f"- {md(line)}" for line in lines) or note("No self-hosted option is modelled by the roofline.")


def quality_table(ctx: ReportContext) -> pd.DataFrame:
    """What serves each option, and its accuracy on each request class against the class's need
    (measured: with the 95 % interval and the items scored), with the source."""
    need = {c.name: c.min_quality for c in ctx.doc.classes}
    rows = []
    for q in ctx.doc.served_quality:
        row = {"what serves": q.what_serves, "options": ", ".join(q.options)}
        for name, s in q.classes.items():
            head = f"{name} (needs {percent(need[name])})" if need.get(name) else name
            if s.accuracy is None:
                row[head] = "unknown"
            elif s.basis == "measured":
                row[head] = f"{percent(s.accuracy, 1)} ({percent(s.ci_low, 1)}-{percent(s.ci_high, 1)}, n = {s.n:,})"
            else:
                row[head] = f"{percent(s.accuracy)} (stated)"
        row["source"] = q.source
        rows.append(row)
    return pd.DataFrame(rows)


def routing_text(ctx: ReportContext) -> str:
    """Each router's routes and how they were chosen, and its classifier, in words."""
    lines = []
    for o in ctx.doc.options:
        if o.routing is None:
            continue
        lines.append(f"- {md(o.routing.sentence)}")
        k = o.routing.classifier
        lines.append(
            f"- {md(k.sentence)}" if k is not None else f"- {md(o.name)}'s classifier: {md(o.routing.classifier_note)}"
        )
    return "\n".join(lines) if lines else note("No router in this scenario.")


def classifier_table(ctx: ReportContext, name: str) -> pd.DataFrame:
    """A router's confusion matrix: one row per true class, its share of requests, the share of it
    labelled as each class, and the members its requests reach."""
    routing = ctx.doc.option(name).routing
    if routing is None or routing.classifier is None:
        return pd.DataFrame()
    shares: dict[str, float] = {}  # each true class's share of requests: what reaches the members of it
    for mix in routing.mixes.values():
        for true, v in mix.items():
            shares[true] = shares.get(true, 0.0) + v
    rows = []
    for true, row in routing.classifier.confusion.items():
        reaches = {m: mix.get(true, 0.0) for m, mix in routing.mixes.items() if mix.get(true, 0.0) > 0}
        rows.append(
            {
                "true class": true,
                "share of requests": percent(shares.get(true, 0.0)),
                **{f"labelled {p}": percent(v, 1) for p, v in row.items()},
                "sent to": ", ".join(f"{m} ({percent(v / shares[true], 1)})" for m, v in reaches.items()),
            }
        )
    return pd.DataFrame(rows)


def routers(ctx: ReportContext) -> list[str]:
    return [o.name for o in ctx.doc.options if o.routing is not None]


def frontier_table(ctx: ReportContext, name: str, rows: int = 12) -> pd.DataFrame:
    """A router's assignments: the chosen one, those on the Pareto front, then the cheapest others
    meeting every class (at most ``rows``)."""
    routing = ctx.doc.option(name).routing
    if routing is None:
        return pd.DataFrame()

    def rank(r) -> tuple[int, float]:
        first = 0 if r.chosen else 1 if r.pareto else 2 if r.eligible and r.quality_met else 3
        return first, -r.npv_usd

    return pd.DataFrame(
        [
            {
                "routes": r.routes,
                "NPV of cost": usd(-r.npv_usd),
                "accuracy (traffic-weighted)": percent(r.quality, 1),
                "every class's quality": {True: "met", False: "missed", None: "unknown"}[r.quality_met],
                "SLO": {True: "met", False: "missed", None: "unverified"}[r.slo_met],
                "Pareto front": yes_no(r.pareto),
                "chosen": yes_no(r.chosen),
            }
            for r in sorted(routing.frontier, key=rank)[:rows]
        ]
    )


def monte_carlo_text(ctx: ReportContext) -> str:
    mc = ctx.doc.monte_carlo
    if mc is None:
        return note(
            "This scenario gives no uncertain inputs (no uncertainty: section), so there is no Monte Carlo; "
            "the sensitivity below uses stated ranges."
        )
    conf = ctx.doc.recommendation.confidence
    said = (
        "" if conf is None else f" The recommended option is the cheapest eligible one in **{percent(conf)}** of draws."
    )
    return "\n".join(
        [
            f"{mc.draws:,} draws (seed {mc.seed}) of these inputs, each cost through the same "
            f"engine as the point estimate; every other input stays at its value.{said} "
            "Costs are positive: P90 is the expensive tail. P(SLO holds) is *unknown* where an option's "
            "latency has no measured figure.",
            "",
            *(f"- {md(line)}" for line in mc.input_descriptions),
        ]
    )


def monte_carlo_table(ctx: ReportContext) -> pd.DataFrame:
    mc = ctx.doc.monte_carlo
    if mc is None:
        return pd.DataFrame()
    rows = []
    for o in mc.options:
        row = {
            "option": o.label,
            **{f"NPV of cost P{p}": usd(getattr(o.npv_cost_usd, f"p{p}")) for p in (10, 50, 90)},
            **{f"total cost P{p}": usd(getattr(o.total_cost_usd, f"p{p}")) for p in (10, 50, 90)},
            "P(cheapest eligible)": percent(o.p_cheapest, 1),
            "P(SLO holds)": "unknown" if o.p_slo is None else percent(o.p_slo, 1),
        }
        if mc.planned_fleets:
            row |= {
                "unserved P50 (P10-P90)": spread(o.unserved_p10, o.unserved_p50, o.unserved_p90),
                "stranded P50 (P10-P90)": spread(o.stranded_p10, o.stranded_p50, o.stranded_p90),
            }
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity_text(ctx: ReportContext) -> str:
    s = ctx.doc.sensitivity
    if s is None:
        return note(f"No sensitivity: {ctx.doc.sensitivity_note}.")
    if s.options is None or s.base_metric_usd is None:
        return note(f"{s.options_note[:1].upper()}{s.options_note[1:]}.")
    a, b = s.options
    lines = [
        f"Decision metric: NPV({md(a)}) - NPV({md(b)}) = {usd(s.base_metric_usd)} at the base case "
        f"(positive: {md(a)} is cheaper). Each input moves alone between {s.ranges}, everything else at base."
    ]
    shown = s.rows[:3] + [r for r in s.rows[3:] if r.flips_at is not None]  # every input that flips it
    for r in shown:
        flip = (
            f"; the recommendation moves to {md(r.flips_to or '')} at {r.flips_at:,.4g} {md(r.unit)}"
            if r.flips_at is not None
            else f"; the decision metric crosses zero at {r.break_even:,.4g} {md(r.unit)}"
            if r.break_even is not None
            else "; the decision holds across the range"
        )
        lines.append(
            f"- **{md(r.factor)}** ({r.low:,.4g} to {r.high:,.4g} {md(r.unit)}): metric "
            f"{usd(r.metric_low)} to {usd(r.metric_high)}{flip}."
        )
    flips = s.break_even_sentences
    lines += [
        "",
        "**Break-even values:** "
        + ("; ".join(md(f) for f in flips) + "." if flips else "no input flips the decision within its range."),
    ]
    return "\n".join(lines)


def assumptions_table(ctx: ReportContext) -> pd.DataFrame:
    """The assumptions register with each value in the format of its unit."""
    return pd.DataFrame([a.model_dump() for a in ctx.doc.assumptions])


def stale_prices_text(ctx: ReportContext) -> str:
    """Which catalog prices are past the scenario's age threshold, with date, age and source."""
    d = ctx.doc
    if not d.stale_prices:
        return f"No catalog price this scenario uses is older than {d.stale_price_days:,} days at its date ({d.as_of})."
    return f"**Stale prices.** {md(d.stale_prices_note)}"


def retiring_models_text(ctx: ReportContext) -> str:
    """Which API models the scenario uses retire inside the horizon, when, and what replaces them."""
    d = ctx.doc
    if not d.retiring_models:
        return (
            f"No API model this scenario uses has a published shutdown date inside the horizon "
            f"({d.horizon_months} months from {d.as_of})."
        )
    return f"**Retiring models.** {md(d.retiring_models_note)}"


def appendix(ctx: ReportContext) -> pd.DataFrame:
    files = load_catalog_files()
    pkgs = ["llm-tco-workbench", "numpy", "pandas", "pydantic", "plotly", "genai-prices", "papermill", "nbconvert"]
    rows = [{"item": "python", "value": platform.python_version()}]
    for p in pkgs:
        with contextlib.suppress(metadata.PackageNotFoundError):
            rows.append({"item": p, "value": metadata.version(p)})
    digest = hashlib.sha256(ctx.scenario_path.read_bytes()).hexdigest()
    rows.append({"item": f"scenario file {ctx.scenario_path.name} (sha256)", "value": digest})
    rows.append(
        {
            "item": "API price snapshot",
            "value": f"genai-prices {files.api.genai_prices.version}, checked {files.api.genai_prices.checked_on}",
        }
    )
    dates = pd.to_datetime(pd.Series([a.as_of for a in ctx.doc.assumptions], dtype=object), errors="coerce")
    if dates.notna().any():
        rows.append({"item": "catalog and input dates", "value": f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"})
    if ctx.probe_run:
        rows.append({"item": "probe run", "value": ctx.probe_run})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- rendering


def render(
    scenario_path: str | Path,
    out_html: Path,
    *,
    probe_run: str | None = None,
    probe_option: str | None = None,
    xlsx: Path | None = None,
    notebook: Path = paths.REPORT_NOTEBOOK,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    compare_with: Path | None = None,
    pdf: Path | None = None,
    overrides: Sequence[str] = (),
    progress=print,
) -> dict[str, Any]:
    """Check the output paths, validate, execute the report notebook, render offline HTML (and
    Excel, and PDF through chromium); returns timings. Relative paths are the caller's."""
    t0 = time.perf_counter()
    out_html = writable(out_html, "--output")
    xlsx = None if xlsx is None else writable(xlsx, "--xlsx")
    pdf = None if pdf is None else writable(pdf, "--pdf")
    progress(f"validating {scenario_path} ...")
    path = Path(scenario_path).resolve()
    lines = [*overrides, *probe_overrides(path, probe_run, probe_option)]
    scenario, catalog = load(path, lines)  # fails before any kernel
    if compare_with is not None:
        compare_with = Path(compare_with).resolve()
        load(compare_with)
    browser = find_browser() if pdf is not None else None
    # the notebook runs its own Monte Carlo; here only the workbook needs one
    ev = evaluate_with_uncertainty(scenario, catalog, draws if xlsx is not None else 0, seed)
    timings = {"validate_s": time.perf_counter() - t0}
    timings["execute_s"] = execute_to_html(
        notebook,
        {
            "scenario_path": str(path),
            "overrides": list(overrides),
            "probe_run": _from_here(probe_run) if probe_run else None,
            "probe_option": probe_option,
            "draws": draws,
            "seed": seed,
            "compare_with": None if compare_with is None else str(compare_with),
        },
        scenario.title,
        out_html,
        progress,
    )
    if xlsx is not None:
        write_workbook(ev, catalog, xlsx, document.build(ev, catalog, curves=False))
    if browser is not None and pdf is not None:
        progress(f"printing {pdf} (chromium, headless) ...")
        print_pdf(browser, out_html, pdf)
    timings["total_s"] = time.perf_counter() - t0
    progress(
        f"wrote {out_html} ({out_html.stat().st_size / 1e6:.1f} MB) in {timings['total_s']:.1f} s"
        + (f" and {xlsx}" if xlsx else "")
        + (f" and {pdf}" if pdf else "")
    )
    return timings
