"""Scenarios the engine accepts, and every face rendering each of them.

``variants`` makes the scenarios: each bundled scenario at 1 to 1e11 requests a month, growth from
-5 % to +10 % a month, horizons from 1 to 120 months, every option alone (a router or hybrid with
its members), hostile ``--set`` values from the CLI fuzz suite, and random mixes of all of these.
``render_faces`` puts one through the console, the JSON document, the report's sections and
tables, every figure, the workbook, the dashboard's what-if and the claims, in this process (the
report notebook itself runs under papermill in ``test_faces.py``, for a sample).
"""

from __future__ import annotations

import io
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from rich.console import Console

from claims import check_claims
from costmodel import document
from costmodel.engine import EngineError
from costmodel.io.catalog import load_catalog_files
from costmodel.io.files import InputError
from costmodel.io.scenario import load
from costmodel.model.evaluation import Document
from costmodel.uncertainty import evaluate_with_uncertainty
from tco import claims as claims_face
from tco import console, dashboard, figures, report
from tco.workbook import write_workbook
from tests.conftest import SCENARIOS, fuzz_case

VOLUMES = (1, 1e4, 1e6, 2e7, 1e9, 1e11)
GROWTHS = (-0.05, 0.0, 0.1)
HORIZONS = (1, 12, 120)


@dataclass(frozen=True)
class Variant:
    """A scenario file and ``--set`` lines; ``label`` says how it was made."""

    label: str
    path: Path
    overrides: tuple[str, ...] = ()


def _copy(path: Path, folder: Path, keep: str | None = None) -> Variant:
    """The scenario as a file of its own whose growth the variants may set (its growth leaves the
    uncertainty section, whose range would refuse a point estimate outside it); with ``keep``, only
    that option (and a router's or hybrid's members)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    names = {o["name"] for o in data["options"]}
    if keep is not None:
        chosen = next(o for o in data["options"] if o["name"] == keep)
        names = {keep, *chosen.get("members", ()), *(chosen[k] for k in ("local", "overflow") if k in chosen)}
        data["options"] = [o for o in data["options"] if o["name"] in names]
    data["uncertainty"] = {
        k: v
        for k, v in (data.get("uncertainty") or {}).items()
        if k != "workload.monthly_growth" and (not k.startswith("options.") or k.split(".")[1] in names)
    }
    out = folder / f"{path.stem}-{keep or 'all'}.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return Variant(f"{path.stem}: {keep} alone" if keep else path.stem, out)


def fixed_variants(folder: Path) -> list[Variant]:
    """The issue's grid: every bundled scenario at each volume, growth and horizon, and each of its
    options alone."""
    out = []
    for path in SCENARIOS:
        out += [Variant(f"{path.stem} at {v:g}/month", path, (f"workload.requests_per_month={v}",)) for v in VOLUMES]
        copy = _copy(path, folder)
        out += [Variant(f"{path.stem} growth {g:g}", copy.path, (f"workload.monthly_growth={g}",)) for g in GROWTHS]
        out += [Variant(f"{path.stem} over {h} months", path, (f"horizon_months={h}",)) for h in HORIZONS]
        for name in (o["name"] for o in yaml.safe_load(path.read_text(encoding="utf-8"))["options"]):
            out.append(_copy(path, folder, name))
    return out


def random_variant(rng: random.Random, bases: list[Variant]) -> Variant:
    """A random mix: a bundled scenario or one option of one alone, a random volume, growth, horizon
    and request shape, sometimes a router's classifier erring more or less, sometimes a rental
    moved to another provider, region or to spot, sometimes a hostile ``--set`` from the CLI fuzz
    suite on top."""
    base = rng.choice(bases)
    lines = [
        f"workload.requests_per_month={10 ** rng.uniform(0, 11):.6g}",
        f"workload.monthly_growth={rng.uniform(-0.05, 0.1):.4f}",
        f"horizon_months={rng.randint(1, 120)}",
    ]
    if rng.random() < 0.5:
        lines.append(f"workload.input_tokens_per_request={rng.choice([1, 50, 500, 4000, 30000])}")
        lines.append(f"workload.output_tokens_per_request={rng.choice([1, 20, 300, 2000])}")
    if rng.random() < 0.3 and "router" in base.path.read_text(encoding="utf-8"):  # its classifier errs more or less
        wrong = rng.choice([0.0, 0.05, 0.3, 0.5, 0.7, 1.0])
        lines.append(f"options.router.classifier.confusion.complex={{routine: {wrong}, complex: {1 - wrong:.2f}}}")
    rented = [
        o["name"] for o in yaml.safe_load(base.path.read_text(encoding="utf-8"))["options"] if o["kind"] == "rented"
    ]
    if rented and rng.random() < 0.3:  # where it rents: any provider, a region, on demand or on spot
        name = rng.choice(rented)
        lines += [f"options.{name}.provider=null", f"options.{name}.usd_per_gpu_hour=null"]
        lines.append(f"options.{name}.region={rng.choice(['null', 'us-east-1', 'eastus', 'us-east1', 'mars-1'])}")
        if rng.random() < 0.5:
            lines.append(f"options.{name}.commitment=spot")
            lines.append(
                f"options.{name}.spot={{interruptions_per_month: {rng.choice([0, 2, 30, 5000])}, "
                f"restart_minutes: {rng.choice([0, 15, 600])}, spare_share: {rng.choice([0, 0.1, 1])}, "
                "source: 'assumption: fuzz'}"
            )
    if rng.random() < 0.3:
        kind, argv, _files = fuzz_case(rng)
        if kind in ("set", "set2"):
            lines += [a for a in argv if a != "--set"]
    return Variant(f"{base.label} + {' '.join(lines)}", base.path, (*base.overrides, *lines))


def variants(folder: Path, count: int, seed: int = 0) -> Iterator[Variant]:
    """The fixed grid, then random mixes until ``count`` variants in all."""
    fixed = fixed_variants(folder)
    yield from fixed[:count]
    bases = [*(_copy(p, folder) for p in SCENARIOS), *(v for v in fixed if "alone" in v.label)]
    rng = random.Random(seed)
    for _ in range(max(0, count - len(fixed))):
        yield random_variant(rng, bases)


def accepted(v: Variant, draws: int = 200):
    """(scenario, catalog, evaluation), or None where the engine refuses the input (a one-line error)."""
    try:
        sc, cat = load(v.path, v.overrides)
        return sc, cat, evaluate_with_uncertainty(sc, cat, draws if sc.uncertainty else 0, 0)
    except (InputError, EngineError):
        return None


def render_faces(v: Variant, sc, cat, ev, folder: Path, sensitivity: bool = True) -> Document:
    """Every face of one accepted scenario; raises whatever a face raises."""
    doc = document.build(ev, cat, sensitivity_run=sensitivity, studies=True)
    # --json: strict JSON that reads back into the same document
    text = document.dumps(doc)
    assert Document.model_validate_json(text) == doc
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    # console
    sink = Console(file=io.StringIO(), width=150)
    console.print_evaluation(doc, sink)
    printed = sink.file.getvalue()
    assert "Recommendation:" in printed and "…" not in printed  # no cell cut short
    # report sections, tables rendered to HTML as the notebook does
    ctx = report.ReportContext(v.path, doc, v.overrides, None)
    for md in (
        report.executive_summary(ctx),
        report.layout_text(ctx),
        report.routing_text(ctx),
        report.monte_carlo_text(ctx),
        report.sensitivity_text(ctx),
    ):
        assert isinstance(md, str) and md
    tables = [
        report.options_table(ctx),
        report.break_even_table(ctx),
        report.capacity_table(ctx),
        report.layouts_table(ctx),
        report.quality_table(ctx),
        report.monte_carlo_table(ctx),
        report.assumptions_table(ctx),
        *(report.frontier_table(ctx, name) for name in report.routers(ctx)),
        *(report.classifier_table(ctx, name) for name in report.routers(ctx)),
    ]
    for t in tables:
        report.table(t).to_html()
    # figures
    figs = [
        figures.cost_per_million(doc),
        figures.cumulative_cost(doc),
        figures.cost_vs_volume(doc),
        figures.gpus_and_slo(doc),
        figures.tornado(doc.sensitivity, doc.sensitivity_note),
        *(figures.monthly_cashflow(doc, o.name) for o in doc.options),
        *(figures.frontier(s) for s in doc.capacity_studies),
        *(figures.hybrid_sweep(s) for s in doc.hybrid_sweeps),
        *(figures.cost_quality_frontier(o.routing, o.name) for o in doc.options if o.routing is not None),
    ]
    if doc.monte_carlo is not None:
        figs.append(figures.cost_distribution(doc.monte_carlo))
    for f in figs:
        f.to_json()
    # workbook
    write_workbook(ev, cat, folder / "book.xlsx", doc)
    # dashboard: the what-if the widgets run, its figures and summary
    w = dashboard.what_if(sc, load_catalog_files(), dashboard.Controls())
    for f in dashboard.what_if_figures(w).values():
        f.to_json()
    assert "tco-summary" in dashboard.summary_html(w.doc)
    # claims
    checked = check_claims(sc, cat, ev)
    for c in checked:
        claims_face.section(c)
        claims_face.assumptions_table(c)
        if c.curve is not None:
            figures.claim_curve(c.curve).to_json()
    return doc


def finite(x: float | None) -> bool:
    return x is None or math.isfinite(x)
