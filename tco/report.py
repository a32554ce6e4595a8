"""Finance reports: the report notebook's content, its rendering to offline HTML, and Excel.

``prepare`` and the section functions are what ``notebooks/reports/4.01-tco-report.ipynb``
calls; ``render`` executes that notebook with papermill and converts it with nbconvert
to one self-contained HTML file (no code, plotly.js embedded, no external URL), and
``write_workbook`` writes the Excel workbook. The scenario is validated before any kernel
starts, so bad input fails fast with the engine's clear error.
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from costmodel import paths
from costmodel.assumptions import register
from costmodel.diff import ScenarioDiff, diff, value_text
from costmodel.engine import Evaluation, hybrid_sweep
from costmodel.engine.capacity import CapacityStudy, bound_by, layout_sentence, option_capacity_study
from costmodel.engine.eligibility import class_scores
from costmodel.engine.router import routes_sentence
from costmodel.io.catalog import load_catalog_files
from costmodel.io.files import InputError
from costmodel.io.scenario import load, load_scenario
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, Scenario
from costmodel.sensitivity import break_even_sentences, one_at_a_time
from costmodel.text import MISSING, count, latency, percent, quality_word, slo_word, usd, usd_rate, yes_no
from costmodel.uncertainty import DEFAULT_DRAWS, evaluate_with_uncertainty
from tco.workbook import write_workbook


@dataclass(frozen=True)
class ReportContext:
    scenario_path: Path
    evaluation: Evaluation
    catalog: Catalog
    assumptions: pd.DataFrame
    sensitivity: pd.DataFrame
    probe_run: str | None
    diff: ScenarioDiff | None = None  # against an earlier version of the scenario (compare_with)


def run_overrides(scenario_path: str | Path, probe_runs: list[str] | None, quality_runs: list[str] | None) -> list[str]:
    """``--set`` lines from ``OPTION=DIR`` probe and quality runs (``serving=DIR``: the quality of
    the scenario's served model). A value without ``=`` is an error naming it."""
    kinds = {o.name: o.kind for o in load_scenario(scenario_path).options}
    lines = []
    for flag, runs in (("probe_run", probe_runs or []), ("quality_run", quality_runs or [])):
        for item in runs:
            target, sep, folder = item.partition("=")
            if not sep or not target or not folder:
                raise InputError(f"--{flag.replace('_', '-')}", "", item, "expected OPTION=DIR (or serving=DIR)")
            where = "serving" if target == "serving" else f"options.{target}"
            lines.append(f"{where}.{flag}={folder}")
            # a measurement replaces what was stated or published
            if flag == "quality_run":
                lines.append(f"{where}.quality=null")
            elif kinds.get(target) in ("rented", "owned"):
                lines.append(f"{where}.measured=null")
            elif kinds.get(target) == "api":
                lines += [f"{where}.ttft_p95_ms=null", f"{where}.tpot_p95_ms=null"]
    return lines


def probe_overrides(scenario_path: Path, probe_run: str | None, option: str | None = None) -> list[str]:
    """``--set`` lines pointing a self-hosted option (default: the first) at a probe run."""
    if not probe_run:
        return []
    sc = load_scenario(scenario_path)
    hosted = [o.name for o in sc.options if isinstance(o, RentedOption | OwnedOption)]
    target = option or (hosted[0] if hosted else None)
    return run_overrides(scenario_path, [f"{target}={probe_run}"], None) if target else []


def prepare(
    scenario_path: str | Path,
    probe_run: str | None = None,
    probe_option: str | None = None,
    sensitivity: bool = True,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    compare_with: str | Path | None = None,
) -> ReportContext:
    """Load, evaluate and analyse a scenario for the report (Monte Carlo if it has uncertain inputs;
    a diff against ``compare_with``, an earlier version, if given)."""
    path = Path(scenario_path)
    scenario, catalog = load(path, probe_overrides(path, probe_run, probe_option))
    ev = evaluate_with_uncertainty(scenario, catalog, draws, seed)
    sens = one_at_a_time(scenario, catalog) if sensitivity else pd.DataFrame()
    changes = None
    if compare_with:
        old, old_catalog = load(Path(compare_with))
        changes = diff(old, scenario, old_catalog, catalog)
    return ReportContext(path, ev, catalog, register(ev, catalog), sens, probe_run, changes)


def diff_text(ctx: ReportContext) -> str:
    """The changes since the earlier version, in words."""
    return "\n".join(f"- {line}" for line in ctx.diff.sentences())


def diff_table(ctx: ReportContext) -> pd.DataFrame:
    """Each changed input: old and new value, its largest NPV move applied alone, its source."""
    rows = [
        {
            "input": c.path,
            "old": value_text(c.old),
            "new": value_text(c.new),
            "largest NPV move alone": MISSING if c.npv_moves is None else usd(c.largest_move),
            "source": c.source,
        }
        for c in sorted(ctx.diff.changes, key=lambda c: -c.largest_move)
    ]
    return pd.DataFrame(rows)


def diff_npv_table(ctx: ReportContext) -> pd.DataFrame:
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


def monte_carlo_text(ctx: ReportContext) -> str:
    sim = ctx.evaluation.simulation
    if sim is None:
        return (
            "*This scenario gives no uncertain inputs (no `uncertainty:` section), so there is no Monte Carlo; "
            "the sensitivity below uses stated ranges.*"
        )
    sc = ctx.evaluation.scenario
    rows = [
        f"- `{path}`: {dist.dist} "
        + ", ".join(f"{k} {v:g}" for k, v in dist.model_dump(exclude={"dist", "source"}, exclude_none=True).items())
        + f" ({dist.source})"
        for path, dist in sc.uncertainty.items()
    ]
    rec = ctx.evaluation.recommendation
    conf = (
        ""
        if rec.confidence is None
        else (f" The recommended option is the cheapest eligible one in **{percent(rec.confidence)}** of draws.")
    )
    return "\n".join(
        [
            f"{sim.draws:,} draws (seed {sim.seed}) of these inputs, each cost through the same "
            f"engine as the point estimate; every other input stays at its value.{conf} "
            "Costs are positive: P90 is the expensive tail. P(SLO holds) is *unknown* where an option's "
            "latency has no measured figure.",
            "",
            *rows,
        ]
    )


def monte_carlo_table(ctx: ReportContext) -> pd.DataFrame:
    sim = ctx.evaluation.simulation
    t = sim.summary()
    labels = {o.name: o.label for o in ctx.evaluation.options}
    out = pd.DataFrame(
        {
            "option": [labels[n] for n in t.index],
            **{f"NPV of cost P{p}": t[f"npv_cost_p{p}"].map(usd) for p in (10, 50, 90)},
            **{f"total cost P{p}": t[f"total_cost_p{p}"].map(usd) for p in (10, 50, 90)},
            "P(cheapest)": t["p_cheapest"].map(lambda v: percent(v, 1)),
            "P(SLO holds)": t["p_slo"].map(lambda v: "unknown" if pd.isna(v) else percent(v, 1)),
        }
    )
    if sim.shortfall:
        out["unserved P90"] = t["shortfall_p90"].map(lambda v: MISSING if pd.isna(v) else percent(v, 1)).to_numpy()
        out["stranded P50"] = t["stranded_p50"].map(lambda v: MISSING if pd.isna(v) else percent(v, 1)).to_numpy()
    return out


def table(df: pd.DataFrame):
    """A report table: cells already in words and formatted numbers (``costmodel.text``), no index."""
    return df.fillna(MISSING).style.hide(axis="index")


def executive_summary(ctx: ReportContext) -> str:
    ev = ctx.evaluation
    sc = ev.scenario
    rec = ev.recommendation
    lines = [
        f"# {sc.title}",
        "",
        f"*Scenario `{sc.name}`, assumptions as of {sc.as_of}; report generated "
        f"{time.strftime('%Y-%m-%d')}. All money in USD.*",
        "",
        "## Executive summary",
        "",
    ]
    lines.append(f"**Recommendation: {ev.option(rec.option).label if rec.option else 'none'}.**")
    lines += [""] + [f"- {r}" for r in rec.reasons]
    measured = [o.name for o in ev.options if o.capacity is not None and o.capacity.basis == "measured"]
    modelled = [o.name for o in ev.options if o.capacity is not None and o.capacity.basis == "modelled"]
    lines += [
        "",
        "Capacity figures: "
        + (
            "; ".join(
                ([f"measured for {', '.join(measured)}"] if measured else [])
                + ([f"modelled (roofline, not measured) for {', '.join(modelled)}"] if modelled else [])
            )
            or "none"
        )
        + ".",
    ]
    if sc.description:
        lines += ["", sc.description.strip()]
    return "\n".join(lines)


def options_table(ctx: ReportContext) -> pd.DataFrame:
    rows = []
    for o in ctx.evaluation.options:
        rows.append(
            {
                "option": o.label,
                "kind": o.kind,
                "total cost": usd(o.total_cost_usd),
                "NPV": usd(o.npv_usd),
                "per 1M tokens": usd_rate(o.usd_per_million_tokens),
                "GPUs at peak": count(o.gpus_at_peak),
                "capacity": MISSING
                if o.capacity is None
                else f"{count(o.capacity.output_tokens_per_s)} out tok/s per replica ({o.capacity.basis})",
                "SLO": slo_word(o.slo.met),
                "quality": quality_word(o.quality.met, o.quality.basis),
                "recommended": yes_no(o.name == ctx.evaluation.recommendation.option),
                "prices": "; ".join(o.price_notes),
            }
        )
    return pd.DataFrame(rows)


def break_even_table(ctx: ReportContext) -> pd.DataFrame:
    ev = ctx.evaluation
    paybacks = {(p.owned, p.api): p.month for p in ev.paybacks}
    rows = []
    for b in ev.break_evens:
        row = {
            "self-hosted": ev.option(b.self_hosted).label,
            "vs API": ev.option(b.api).label,
            "break-even volume": "never"
            if b.requests_per_month is None
            else f"{count(b.requests_per_month)} requests/month",
            "note": b.note or "",
        }
        if (b.self_hosted, b.api) in paybacks:
            month = paybacks[(b.self_hosted, b.api)]
            row["payback"] = "not within the horizon" if month is None else f"month {month}"
        rows.append(row)
    return pd.DataFrame(rows)


def capacity_table(ctx: ReportContext) -> pd.DataFrame:
    wl = ctx.evaluation.scenario.workload
    rows = []
    for o in ctx.evaluation.options:
        c = o.capacity
        row = {"option": o.label, "basis": o.slo.basis if c is None else c.basis}
        if c is not None:
            row |= {
                "GPUs per replica": count(c.gpus_per_replica),
                "out tok/s per replica": count(c.output_tokens_per_s),
                "sequences in flight": count(c.batch),
                "bound by": bound_by(c.limit),
            }
        row |= {
            "TTFT p95": latency(o.slo.ttft_ms),
            "TPOT p95": latency(o.slo.tpot_ms),
            "SLO": slo_word(o.slo.met),
            "note": o.slo.note,
            "source": "" if c is None else c.source,
        }
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["slo"] = f"SLO: TTFT p95 <= {wl.slo.ttft_p95_ms:g} ms, TPOT p95 <= {wl.slo.tpot_p95_ms:g} ms"
    return df


def layouts_table(ctx: ReportContext) -> pd.DataFrame:
    """Every layout considered for each self-hosted option: what it serves, what bounds it, what it costs."""
    rows = []
    for o in ctx.evaluation.options:
        for lay in o.layouts:
            c = lay.capacity
            rows.append(
                {
                    "option": o.label,
                    "GPUs per replica": count(lay.gpus_per_replica),
                    "chosen": yes_no(lay.chosen),
                    "out tok/s per replica": count(c.output_tokens_per_s),
                    "sequences in flight": count(c.batch),
                    "TTFT p95": latency(c.ttft_ms),
                    "TPOT p95": latency(c.tpot_ms),
                    "bound by": bound_by(c.limit),
                    "per 1M tokens served": usd_rate(lay.usd_per_million_served),
                    "NPV of cost": usd(lay.npv_cost_usd),
                    "SLO": slo_word(c.slo_met),
                }
            )
    return pd.DataFrame(rows)


def assumptions_table(ctx: ReportContext) -> pd.DataFrame:
    """The assumptions register with each value in the format of its unit."""
    df = ctx.assumptions.copy()
    df["value"] = [_in_unit(v, u) for v, u in zip(df["value"], df["unit"], strict=True)]
    return df


def _in_unit(value: Any, unit: str) -> str:
    """A register value read as its unit says: money, shares, counts."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    v = float(value)
    if unit.startswith("USD/1M") or unit in ("USD/GPU-hour", "USD/kWh", "USD/kW-month"):
        return usd_rate(v, 3 if unit.startswith("USD/1M") else 2)
    if unit.startswith("USD"):
        return usd(v)
    if unit.startswith("fraction"):
        return percent(v, 1)
    if v == int(v):
        return count(v)
    return f"{v:,.4g}"


def layout_text(ctx: ReportContext) -> str:
    """One sentence per self-hosted option: the chosen layout and the runner-up."""
    lines = [layout_sentence(o.name, o.layouts) for o in ctx.evaluation.options if o.layouts]
    return "\n".join(f"- {line}" for line in lines) or "*No self-hosted option is modelled by the roofline.*"


def capacity_studies(ctx: ReportContext) -> dict[str, CapacityStudy]:
    """The capacity study (every layout, with its frontier) of each modelled self-hosted option."""
    sc = ctx.evaluation.scenario
    return {
        o.name: option_capacity_study(o, sc, ctx.catalog)
        for o in sc.options
        if isinstance(o, RentedOption | OwnedOption)
        and ctx.evaluation.option(o.name).layouts
        and ctx.evaluation.option(o.name).capacity.basis == "modelled"
    }


def quality_table(sc: Scenario) -> pd.DataFrame:
    """What serves each option, and its accuracy on each request class against the class's need
    (measured: with the 95 % interval and the items scored), with the source."""
    classes = sc.workload.classes
    rows: dict[str, dict[str, str]] = {}
    for o in sc.options:
        if not isinstance(o, ApiOption | RentedOption | OwnedOption):
            continue
        key = sc.serves(o)
        if key in rows:
            rows[key]["options"] += f", {o.name}"
            continue
        scores = class_scores(o, sc)
        row = {"what serves": key, "options": o.name}
        for c in classes:
            s = scores[c.name]
            head = f"{c.name} (needs {percent(c.min_quality)})" if c.min_quality else c.name
            if s is None:
                row[head] = "unknown"
            elif s.ci_low is not None:
                m = sc.quality_of(o)[1].quality_measured.classes
                a = m.get(c.name, m.get("all"))
                row[head] = f"{percent(a.accuracy, 1)} ({percent(a.ci_low, 1)}-{percent(a.ci_high, 1)}, n = {a.n:,})"
            else:
                row[head] = f"{percent(s.accuracy)} (stated)"
        found = sc.quality_of(o)
        row["source"] = (
            MISSING if found is None else next((s.source for s in scores.values() if s is not None), MISSING)
        )
        rows[key] = row
    return pd.DataFrame(rows.values())


def routing_text(ev: Evaluation) -> str:
    """Each router's routes and how they were chosen, in words."""
    lines = [f"- {routes_sentence(o.name, o.routing, ev.scenario)}" for o in ev.options if o.routing is not None]
    return "\n".join(lines) if lines else "*No router in this scenario.*"


def frontier_table(ev: Evaluation, name: str, rows: int = 12) -> pd.DataFrame:
    """A router's assignments: the chosen one, those on the Pareto front, then the cheapest others
    meeting every class (at most ``rows``)."""
    f = ev.option(name).routing.frontier
    ranked = f.assign(
        _rank=np.select([f["chosen"], f["pareto"], f["eligible"] & (f["quality_met"] == True)], [0, 1, 2], 3)  # noqa: E712
    ).sort_values(["_rank", "npv_usd"], ascending=[True, False])
    return pd.DataFrame(
        [
            {
                "routes": r["routes"],
                "NPV of cost": usd(-r["npv_usd"]),
                "accuracy (traffic-weighted)": MISSING if r["quality"] != r["quality"] else percent(r["quality"], 1),
                "every class's quality": {True: "met", False: "missed", None: "unknown"}[r["quality_met"]],
                "SLO": slo_word(r["slo_met"]),
                "Pareto front": yes_no(r["pareto"]),
                "chosen": yes_no(r["chosen"]),
            }
            for _, r in ranked.head(rows).iterrows()
        ]
    )


def routers(ev: Evaluation) -> list[str]:
    return [o.name for o in ev.options if o.routing is not None]


def hybrid_sweeps(ctx: ReportContext) -> dict[str, pd.DataFrame]:
    """Cost against local fleet size for each hybrid option."""
    sc = ctx.evaluation.scenario
    return {o.name: hybrid_sweep(sc, ctx.catalog, o.name) for o in sc.options if o.kind == "hybrid"}


def sensitivity_text(ctx: ReportContext) -> str:
    s = ctx.sensitivity
    if s.empty:
        return "Fewer than two options meet the SLO: no decision to test."
    a, b = s.attrs["options"]
    ranges = (
        "the low and high values of its distribution (bounds, or P10/P90 where a normal or lognormal has none)"
        if ctx.evaluation.scenario.uncertainty
        else "its low and high value (ranges are assumptions of this analysis)"
    )
    lines = [
        f"Decision metric: NPV({a}) - NPV({b}) = {usd(s.attrs['base_metric'])} at the base case "
        f"(positive: {a} is cheaper). Each input moves alone between {ranges}, everything else at base."
    ]
    for _, r in s.head(3).iterrows():
        flip = (
            f"; the decision flips at {r['break_even']:,.4g} {r['unit']}"
            if r["break_even"] is not None and r["break_even"] == r["break_even"]
            else "; the decision holds across the range"
        )
        lines.append(
            f"- **{r['factor']}** ({r['low']:,.4g} to {r['high']:,.4g} {r['unit']}): metric "
            f"{usd(r['metric_low'])} to {usd(r['metric_high'])}{flip}."
        )
    flips = break_even_sentences(s)
    lines += [
        "",
        "**Break-even values:** "
        + ("; ".join(flips) + "." if flips else "no input flips the decision within its range."),
    ]
    return "\n".join(lines)


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
    dates = pd.to_datetime(ctx.assumptions["as_of"], errors="coerce")
    rows.append({"item": "catalog and input dates", "value": f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"})
    if ctx.probe_run:
        rows.append({"item": "probe run", "value": ctx.probe_run})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- Excel


# ---------------------------------------------------------------------------- rendering


def _ipc_kernel_manager():
    """A kernel manager on local IPC sockets: the kernel is only ever reached from this machine,
    and ipykernel then has no reason to warn that TCP traffic is unencrypted."""
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def _transport_default(self) -> str:
            return "ipc"

    return IpcKernelManager


_EXTERNAL = re.compile(
    r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>|<link[^>]*\bhref=[\"']https?://[^>]*>", re.I
)


def offline_html(html: str) -> str:
    """Drop script and stylesheet tags that point at the network (require.js, MathJax CDN)."""
    return _EXTERNAL.sub("", html)


def execute_to_html(notebook: Path, parameters: dict[str, Any], title: str, out_html: Path, progress=print) -> float:
    """Run ``notebook`` with papermill (a real python3 kernel, ``parameters`` injected) and write it
    with nbconvert as one offline HTML file without code cells; returns the execution seconds."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    t0 = time.perf_counter()
    progress(f"executing {notebook.name} (papermill, kernel python3) ...")
    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / "executed.ipynb"
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            kernel_name="python3",
            cwd=str(paths.ROOT),
            progress_bar=False,
            log_output=False,
            kernel_manager_class=_ipc_kernel_manager(),
            parameters=parameters,
        )
        seconds = time.perf_counter() - t0
        progress("rendering self-contained HTML (nbconvert, no code cells) ...")
        nb = nbformat.read(executed, as_version=4)
        exporter = HTMLExporter(
            template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
        )
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(offline_html(body), encoding="utf-8")
    return seconds


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
    progress=print,
) -> dict[str, Any]:
    """Validate, execute the report notebook, render offline HTML (and Excel, and PDF through
    chromium); returns timings."""
    t0 = time.perf_counter()
    progress(f"validating {scenario_path} ...")
    path = Path(scenario_path).resolve()
    scenario, catalog = load(path, probe_overrides(path, probe_run, probe_option))  # fails before any kernel
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
            "probe_run": probe_run,
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
        write_workbook(ev, catalog, xlsx)
    if pdf is not None:
        progress(f"printing {pdf} (chromium, headless) ...")
        print_pdf(browser, out_html, pdf)
    timings["total_s"] = time.perf_counter() - t0
    progress(
        f"wrote {out_html} ({out_html.stat().st_size / 1e6:.1f} MB) in {timings['total_s']:.1f} s"
        + (f" and {xlsx}" if xlsx else "")
        + (f" and {pdf}" if pdf else "")
    )
    return timings


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str:
    """The chromium that prints the PDF; an :class:`InputError` saying how to get one if none is on PATH."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise InputError(
        "--pdf",
        "",
        MISSING,
        "printing to PDF needs chromium on PATH (Debian: sudo apt-get install chromium); the HTML report needs nothing",
    )


def print_pdf(browser: str, html: Path, pdf: Path, timeout: float = 180) -> None:
    """Print the offline HTML report to PDF with headless chromium (A4, figures drawn first)."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--virtual-time-budget=20000",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise RuntimeError(f"chromium could not print {html} to PDF (exit {done.returncode}): {done.stderr[-500:]}")
