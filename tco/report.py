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
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from costmodel import paths
from costmodel.assumptions import register
from costmodel.engine import Evaluation, hybrid_sweep
from costmodel.engine.capacity import CapacityStudy, bound_by, layout_sentence, option_capacity_study
from costmodel.io.catalog import load_catalog_files
from costmodel.io.scenario import load, load_scenario
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import OwnedOption, RentedOption
from costmodel.sensitivity import break_even_sentences, one_at_a_time
from costmodel.text import count, percent, slo_word, usd, usd_rate
from costmodel.uncertainty import DEFAULT_DRAWS, evaluate_with_uncertainty


@dataclass(frozen=True)
class ReportContext:
    scenario_path: Path
    evaluation: Evaluation
    catalog: Catalog
    assumptions: pd.DataFrame
    sensitivity: pd.DataFrame
    probe_run: str | None


def probe_overrides(scenario_path: Path, probe_run: str | None, option: str | None = None) -> list[str]:
    """``--set`` lines pointing a self-hosted option (default: the first) at a probe run."""
    if not probe_run:
        return []
    sc = load_scenario(scenario_path)
    hosted = [o.name for o in sc.options if isinstance(o, RentedOption | OwnedOption)]
    target = option or (hosted[0] if hosted else None)
    # the run replaces any published figure the option had
    return [f"options.{target}.measured=null", f"options.{target}.probe_run={probe_run}"] if target else []


def prepare(
    scenario_path: str | Path,
    probe_run: str | None = None,
    probe_option: str | None = None,
    sensitivity: bool = True,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> ReportContext:
    """Load, evaluate and analyse a scenario for the report (Monte Carlo if it has uncertain inputs)."""
    path = Path(scenario_path)
    scenario, catalog = load(path, probe_overrides(path, probe_run, probe_option))
    ev = evaluate_with_uncertainty(scenario, catalog, draws, seed)
    sens = one_at_a_time(scenario, catalog) if sensitivity else pd.DataFrame()
    return ReportContext(path, ev, catalog, register(ev, catalog), sens, probe_run)


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
            **{f"NPV of cost P{p} (USD)": t[f"npv_cost_p{p}"].round().astype("int64") for p in (10, 50, 90)},
            **{f"total cost P{p} (USD)": t[f"total_cost_p{p}"].round().astype("int64") for p in (10, 50, 90)},
            "P(cheapest)": t["p_cheapest"].map(lambda v: percent(v, 1)),
            "P(SLO holds)": t["p_slo"].map(lambda v: "unknown" if pd.isna(v) else percent(v, 1)),
        }
    ).set_index("option")
    return out


def table(df: pd.DataFrame):
    """A report table: thousands separators, no NaN (a dash where there is no value)."""
    return df.style.format(na_rep="–", thousands=",", precision=2)


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
                "total cost (USD)": round(o.total_cost_usd),
                "NPV (USD)": round(o.npv_usd),
                "USD per 1M tokens": round(o.usd_per_million_tokens, 4),
                "GPUs at peak": o.gpus_at_peak,
                "capacity": None
                if o.capacity is None
                else f"{count(o.capacity.output_tokens_per_s)} out tok/s per replica ({o.capacity.basis})",
                "SLO": slo_word(o.slo.met),
                "prices": "; ".join(o.price_notes),
            }
        )
    return pd.DataFrame(rows).set_index("option")


def break_even_table(ctx: ReportContext) -> pd.DataFrame:
    ev = ctx.evaluation
    rows = [
        {
            "self-hosted": b.self_hosted,
            "vs API": b.api,
            "break-even requests/month": None if b.requests_per_month is None else round(b.requests_per_month),
            "note": b.note,
        }
        for b in ev.break_evens
    ]
    for p in ev.paybacks:
        for r in rows:
            if r["self-hosted"] == p.owned and r["vs API"] == p.api:
                r["payback month"] = p.month
    return pd.DataFrame(rows)


def capacity_table(ctx: ReportContext) -> pd.DataFrame:
    wl = ctx.evaluation.scenario.workload
    rows = []
    for o in ctx.evaluation.options:
        c = o.capacity
        if c is None:
            rows.append(
                {
                    "option": o.name,
                    "basis": o.slo.basis,
                    "TTFT p95 ms": o.slo.ttft_ms,
                    "TPOT p95 ms": o.slo.tpot_ms,
                    "SLO": o.slo.met,
                    "note": o.slo.note,
                }
            )
            continue
        rows.append(
            {
                "option": o.name,
                "basis": c.basis,
                "GPUs/replica": c.gpus_per_replica,
                "out tok/s/replica": round(c.output_tokens_per_s, 1),
                "batch": c.batch,
                "TTFT p95 ms": None if c.ttft_ms is None else round(c.ttft_ms, 1),
                "TPOT p95 ms": None if c.tpot_ms is None else round(c.tpot_ms, 2),
                "limit": c.limit,
                "SLO": o.slo.met,
                "note": o.slo.note,
                "source": c.source,
            }
        )
    df = pd.DataFrame(rows).set_index("option")
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
                    "option": o.name,
                    "GPUs/replica": lay.gpus_per_replica,
                    "chosen": "yes" if lay.chosen else "",
                    "out tok/s/replica": count(c.output_tokens_per_s),
                    "sequences": count(c.batch),
                    "TTFT p95 ms": None if c.ttft_ms is None else round(c.ttft_ms, 1),
                    "TPOT p95 ms": None if c.tpot_ms is None else round(c.tpot_ms, 2),
                    "bound by": bound_by(c.limit),
                    "$/1M served": usd_rate(lay.usd_per_million_served),
                    "NPV of cost": usd(lay.npv_cost_usd),
                    "SLO": slo_word(c.slo_met),
                }
            )
    return pd.DataFrame(rows).set_index(["option", "GPUs/replica"]) if rows else pd.DataFrame()


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
    return pd.DataFrame(rows).set_index("item")


# ---------------------------------------------------------------------------- Excel


def write_workbook(ev: Evaluation, catalog: Catalog, path: Path) -> Path:
    """Excel for finance: summary, assumptions with sources, monthly cash flow per option (numbers as numbers)."""
    summary = pd.DataFrame(
        [
            {
                "option": o.name,
                "label": o.label,
                "kind": o.kind,
                "total_cost_usd": round(o.total_cost_usd, 2),
                "npv_usd": round(o.npv_usd, 2),
                "usd_per_million_tokens": o.usd_per_million_tokens,
                "gpus_at_peak": o.gpus_at_peak,
                "slo_met": slo_word(o.slo.met),
                "recommended": o.name == ev.recommendation.option,
            }
            for o in ev.options
        ]
    )
    assumptions = register(ev, catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        summary.to_excel(xl, sheet_name="summary", index=False)
        assumptions.to_excel(xl, sheet_name="assumptions", index=False)
        if ev.simulation is not None:
            mc = ev.simulation.summary().reset_index()
            mc.attrs.clear()
            mc.to_excel(xl, sheet_name="monte_carlo", index=False)
        for o in ev.options:
            o.cashflow.round(2).to_excel(xl, sheet_name=_sheet_name(o.name), index=False)
    return path


def _sheet_name(option: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "-", f"cf {option}")[:31]


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
    progress=print,
) -> dict[str, Any]:
    """Validate, execute the report notebook, render offline HTML (and Excel); returns timings."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    t0 = time.perf_counter()
    progress(f"validating {scenario_path} ...")
    path = Path(scenario_path).resolve()
    scenario, catalog = load(path, probe_overrides(path, probe_run, probe_option))  # fails before any kernel
    # the notebook runs its own Monte Carlo; here only the workbook needs one
    ev = evaluate_with_uncertainty(scenario, catalog, draws if xlsx is not None else 0, seed)
    timings = {"validate_s": time.perf_counter() - t0}
    progress("executing the report notebook (papermill, kernel python3) ...")
    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / "report.ipynb"
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            kernel_name="python3",
            cwd=str(paths.ROOT),
            progress_bar=False,
            log_output=False,
            kernel_manager_class=_ipc_kernel_manager(),
            parameters={
                "scenario_path": str(path),
                "probe_run": probe_run,
                "probe_option": probe_option,
                "draws": draws,
                "seed": seed,
            },
        )
        timings["execute_s"] = time.perf_counter() - t0 - timings["validate_s"]
        progress("rendering self-contained HTML (nbconvert, no code cells) ...")
        nb = nbformat.read(executed, as_version=4)
        exporter = HTMLExporter(
            template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
        )
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": scenario.title}})
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(offline_html(body), encoding="utf-8")
    if xlsx is not None:
        write_workbook(ev, catalog, xlsx)
    timings["total_s"] = time.perf_counter() - t0
    progress(
        f"wrote {out_html} ({out_html.stat().st_size / 1e6:.1f} MB) in {timings['total_s']:.1f} s"
        + (f" and {xlsx}" if xlsx else "")
    )
    return timings
