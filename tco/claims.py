"""The claims report: what ``notebooks/2.01-check-the-claims.ipynb`` calls, and its rendering.

The verdicts are computed in :mod:`claims`; this module loads the scenario (with
``--set`` overrides, probe and quality runs), runs the Monte Carlo the verdicts use, and turns
each :class:`~claims.Claim` into markdown, a figure and a table of assumptions.
``render`` executes the notebook with papermill and writes one offline HTML file, as the finance
report does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from claims import Claim, check_claims
from claims.open_models import API_MODEL, API_PROVIDER
from costmodel import document, paths
from costmodel.engine import Evaluation
from costmodel.io.catalog import load_catalog_files, resolve_api_price
from costmodel.io.files import InputError
from costmodel.io.scenario import load
from costmodel.model.catalog import Catalog
from costmodel.model.evaluation import Document
from costmodel.model.scenario import Scenario
from costmodel.text import count, latency
from costmodel.uncertainty import evaluate_with_uncertainty
from tco.markup import md, text

CLAIMS_NOTEBOOK = paths.NOTEBOOKS / "2.01-check-the-claims.ipynb"
CLAIMS_DRAWS = 2000  # enough for the P10-P90 spread claim 3 reads; the whole render stays well under 30 s


@dataclass(frozen=True)
class ClaimsContext:
    scenario_path: Path
    overrides: tuple[str, ...]
    scenario: Scenario
    catalog: Catalog
    evaluation: Evaluation
    claims: list[Claim]
    doc: Document  # what the introduction shows of the scenario


def prepare(
    scenario_path: str | Path, overrides: list[str] | tuple[str, ...] = (), draws: int = CLAIMS_DRAWS, seed: int = 0
) -> ClaimsContext:
    """Load and evaluate the scenario (Monte Carlo over its uncertain inputs) and check the claims."""
    path = Path(scenario_path)
    scenario, catalog = load(path, overrides)
    ev = evaluate_with_uncertainty(scenario, catalog, draws if scenario.uncertainty else 0, seed)
    try:
        gpt4o = resolve_api_price(API_PROVIDER, API_MODEL, load_catalog_files())
    except (InputError, KeyError, ValueError):
        gpt4o = None  # claim 7 then says which price it needs
    doc = document.build(ev, catalog, sweeps=False, curves=False, register_rows=False)
    checked = check_claims(scenario, catalog, ev, gpt4o)
    return ClaimsContext(path, tuple(overrides), scenario, catalog, ev, checked, doc)


def introduction(ctx: ClaimsContext) -> str:
    """The report's opening: what it checks, against which scenario, and the verdicts at a glance."""
    d = ctx.doc
    wl = d.workload
    lines = [
        f"# The debate's claims, checked against {md(d.title)}",
        "",
        f"Scenario {md(ctx.scenario_path.name)} as of {d.as_of}: {count(wl.requests_per_month)} requests "
        f"a month, {count(wl.input_tokens_per_request)} tokens in and {count(wl.output_tokens_per_request)} out, "
        f"p95 objectives of {latency(wl.slo_ttft_p95_ms)} to the first token and {latency(wl.slo_tpot_p95_ms)} per "
        "token after it."
        + (f" Changed for this run: {', '.join(md(o) for o in ctx.overrides)}." if ctx.overrides else ""),
        "",
        "Every verdict below is computed by the workbench from this scenario: change an input and it moves. "
        "A verdict is one of **holds**, **holds when** (with the threshold), **does not hold**, or "
        "**cannot tell without** (with the run that would settle it).",
        "",
        "| # | Claim | Verdict |",
        "|---|---|---|",
    ]
    for c in ctx.claims:
        lines.append(f"| {c.number} | {md(c.title)} | {md(c.verdict)} |")
    return "\n".join(lines)


def section(claim: Claim) -> str:
    """One claim's section in markdown: the claim, the method, each finding's verdict and figures."""
    lines = [f"## {claim.number}. {md(claim.title)}", "", f"**The claim.** {md(claim.claim)}", ""]
    lines += [f"**What the workbench computes.** {md(claim.method)}", ""]
    for f in claim.findings:
        lines.append(f"**Verdict ({md(f.question)}): {md(f.verdict)}.**")
        lines.append("")
        lines += [f"- {md(s)}" for s in f.computed]
        if f.settle:
            lines.append(f"- To settle it: <code>{text(f.settle)}</code>")
        lines.append("")
    return "\n".join(lines)


def assumptions_table(claim: Claim) -> pd.DataFrame:
    """The inputs a claim's verdicts rest on, with value, unit, source and date, for reading."""
    if claim.assumptions.empty:
        return pd.DataFrame(columns=["Input", "Value", "Unit", "Source", "As of", "Basis"])
    df = claim.assumptions
    return pd.DataFrame(
        {
            "Input": df["input"],
            "Value": [_value(v) for v in df["value"]],
            "Unit": df["unit"],
            "Source": df["source"],
            "As of": df["as_of"],
            "Basis": df["basis"],
        }
    )


def _value(v) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.4g}"


def render(
    scenario_path: str | Path,
    out_html: Path,
    *,
    overrides: list[str] | tuple[str, ...] = (),
    draws: int = CLAIMS_DRAWS,
    seed: int = 0,
    notebook: Path = CLAIMS_NOTEBOOK,
    progress=print,
) -> list[Claim]:
    """Validate and check the claims here (bad input fails before a kernel starts), then execute the
    claims notebook and write offline HTML; returns the claims for the console."""
    from tco.render import execute_to_html

    t0 = time.perf_counter()
    progress(f"checking the claims against {scenario_path} ...")
    path = Path(scenario_path).resolve()
    ctx = prepare(path, list(overrides), draws, seed)
    execute_to_html(
        notebook,
        {"scenario_path": str(path), "overrides": list(overrides), "draws": draws, "seed": seed},
        f"Claims checked: {ctx.doc.title}",
        out_html,
        progress,
    )
    progress(f"wrote {out_html} ({out_html.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    return ctx.claims


def show(claim: Claim) -> None:
    """Display one claim's section in a notebook: its text, its figure, its assumptions."""
    from IPython.display import Markdown, display

    from tco.figures import claim_curve
    from tco.report import table

    display(Markdown(section(claim)))
    if claim.curve is not None:
        claim_curve(claim.curve).show()
    display(Markdown("What these verdicts rest on:"))
    display(table(assumptions_table(claim)))
