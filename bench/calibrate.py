"""Fit an engine's roofline efficiencies on the calibration rows of the published-runs table.

Minimises the mean squared log error of modelled against published output tokens/s over the
rows marked ``calibration`` in ``data/validation/serving_throughput.csv``, and of modelled
against published time per output token over the fixed-concurrency points, latency runs and
fixed-rate points marked ``calibration`` in ``data/validation/serving_streams.csv``,
``serving_latency.csv`` and ``serving_rates.csv`` (latency at a few streams is what informs the
step overhead), weighing overstatements four
times (overstated capacity makes building look cheaper than it is), by coordinate descent over
each efficiency's range. The validation rows are never seen here: ``bench/capacity.py`` checks
the fit on them.

``.venv/bin/python bench/calibrate.py --engine trt-llm [--gpu mi300x] [--write]`` prints the fit
and each calibration row's error; ``--write`` stores the values in ``data/catalog/engines.yaml``
with their provenance: as the engine's prior without ``--gpu`` (fitted on its rows on GPUs that
have no fit of their own), as its ``gpu_efficiency`` on that GPU with it.
"""

from __future__ import annotations

import argparse
import re
from datetime import date

from costmodel import paths
from costmodel.calibration import (
    RANGES,
    errors,
    fit,
    fit_allreduce_efficiency,
    fitted_names,
    latency_errors,
    own_fit_gpus,
    rate_errors,
    stream_errors,
    summary,
    why_not_fitted,
    with_allreduce_efficiency,
)
from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.io.validation import published_latencies, published_rates, published_runs, published_streams
from costmodel.model.catalog import EFFICIENCY_FIELDS
from costmodel.model.scenario import Efficiency


def _shown(name: str, value: float) -> float:
    return round(value, 2) if name.startswith("step_overhead") else round(value, 3)


def write(
    engine: str, values: dict[str, float], rows: int, gpu: str | None = None, fitted=(), points: int = 0, reasons=None
) -> None:
    """Store the fitted efficiencies in data/catalog/engines.yaml with their provenance."""
    path = paths.catalog_dir() / "engines.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {engine}\n")
    end = text.find("\n  - id: ", start + 1)
    stop = end + 1 if end > 0 else len(text)
    block = text[start:stop]
    where = f"{engine} on {gpu}" if gpu else engine
    # the prior's lines come before the engine's gpu_efficiency entries, which keep their own fits
    own = block.find("\n    gpu_efficiency:\n")
    prior, fits = (block, "") if own < 0 or gpu is not None else (block[:own], block[own:])
    latency = (
        f"{points} calibration latency points in data/validation/serving_streams.csv, serving_latency.csv "
        "and serving_rates.csv"
    )
    source = (
        f"derived: fitted by bench/calibrate.py on the {rows} calibration rows for {where} in "
        "data/validation/serving_throughput.csv" + (f" and its {latency}" if points else "")
        if rows
        else f"derived: fitted by bench/calibrate.py on the {latency} for {where} (no maximum-throughput runs: "
        "the other efficiencies keep theirs)"
    )
    if gpu is not None:
        block = _with_gpu_block(block, gpu, values, source, fitted, reasons or {})
        path.write_text(text[:start] + block + text[stop:], encoding="utf-8")
        print(f"wrote {where}'s efficiencies to {path}")
        return
    for name, value in values.items():
        if name not in fitted:  # not informed by these points: keeps its value and its provenance
            continue
        key = EFFICIENCY_FIELDS[name]
        shown = _shown(name, value)
        prior = re.sub(
            rf"( +{key}: \{{value: )[^,]+(, unit: [^,]+, source: )\"[^\"]*\"(, as_of: )[0-9-]+(, basis: \w+)?\}}",
            rf'\g<1>{shown}\g<2>"{source}"\g<3>{date.today().isoformat()}, basis: derived}}',
            prior,
        )
    path.write_text(text[:start] + prior + fits + text[stop:], encoding="utf-8")
    print(f"wrote {engine}'s efficiencies to {path}")


def _with_gpu_block(block: str, gpu: str, values: dict[str, float], source: str, fitted, reasons) -> str:
    """The engine's YAML block with its ``gpu_efficiency`` entry for ``gpu`` written (replaced if
    there); an efficiency the runs do not inform keeps the prior's value, said so with ``reasons[name]``."""
    units = {"step_overhead_ms": "ms", "step_overhead_per_rank_ms": "ms"}
    lines = ["        efficiency:"]
    for name, value in values.items():
        unit = units.get(name, "fraction")
        said, basis = (
            (source, "derived")
            if name in fitted
            else (f"assumption: the engine's prior; {reasons.get(name, 'the points do not inform it')}", "assumption")
        )
        lines.append(
            f"          {EFFICIENCY_FIELDS[name]}: {{value: {_shown(name, value)}, unit: {unit}, "
            f'source: "{said}", as_of: {date.today().isoformat()}, basis: {basis}}}'
        )
    entry = "\n".join(lines) + "\n"
    # an entry fitted on this GPU (its list may name more of the family, and its fitted_on line is kept)
    found = re.search(
        rf"      - gpus: \[{re.escape(gpu)}(, [^\]]+)?\]\n(        fitted_on: .*\n)?"
        r"(        efficiency:\n(          .*\n)+)",
        block,
    )
    if found:
        return block[: found.start(3)] + entry + block[found.end(3) :]
    entry = f"      - gpus: [{gpu}]\n" + entry
    body = block.rstrip("\n")
    if "\n    gpu_efficiency:\n" not in block:
        body += "\n    gpu_efficiency:"
    return body + "\n" + entry + "\n"


def _allreduce(engine: str, gpu: str, catalog, write: bool) -> None:
    """Fit ``gpu``'s all-reduce efficiency on ``engine``'s calibration rows there; print, and store it."""
    rows = [r for r in published_runs() if r.role == "calibration" and r.engine == engine and r.gpu == gpu]
    value = fit_allreduce_efficiency(rows, catalog, gpu)
    multi = sum(r.gpus_per_replica > 1 for r in rows)
    fitted_on = f"{len(rows)} calibration rows of {engine} on {gpu} ({multi} at more than one GPU)"
    print(f"{gpu}: all-reduce efficiency {value:.2f}, fitted on the {fitted_on}")
    for r in errors(rows, with_allreduce_efficiency(catalog, gpu, value)).itertuples():
        print(f"  {r.id:52s} published {r.published:>9,.0f}  modelled {r.modelled:>9,.0f}  {r.error:+.1%}")
    if not write:
        return
    path = paths.catalog_dir() / "gpus.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {gpu}\n")
    source = (
        f"derived: fitted by bench/calibrate.py --allreduce on the {fitted_on} in "
        "data/validation/serving_throughput.csv, the engine's efficiencies as they are"
    )
    line = re.compile(r"      allreduce_efficiency: \{[^\n]*\}\n")
    found = line.search(text, start)
    new = (
        f'      allreduce_efficiency: {{value: {value:.2f}, unit: fraction, source: "{source}", '
        f"as_of: {date.today()}, basis: derived}}\n"
    )
    path.write_text(text[: found.start()] + new + text[found.end() :], encoding="utf-8")
    print(f"wrote {gpu}'s all-reduce efficiency to {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default="trt-llm")
    ap.add_argument("--gpu", help="fit the engine on this GPU alone (its gpu_efficiency); default: its prior")
    ap.add_argument("--write", action="store_true", help="store the fit in data/catalog/engines.yaml")
    ap.add_argument(
        "--allreduce",
        action="store_true",
        help="fit the GPU's all-reduce efficiency instead (data/catalog/gpus.yaml), on the engine's "
        "calibration rows at more than one GPU, the efficiencies as they are; needs --gpu",
    )
    args = ap.parse_args()
    catalog = build_catalog(load_catalog_files())
    engine = catalog.engines[args.engine]
    if args.allreduce:
        if not args.gpu:
            raise SystemExit("--allreduce needs --gpu")
        _allreduce(args.engine, args.gpu, catalog, args.write)
        return
    own = own_fit_gpus(args.engine, catalog)  # GPUs whose runs fit something of their own

    def mine(table):  # the calibration rows of this engine (on this GPU, or on GPUs without a fit of their own)
        return [
            r
            for r in table
            if r.role == "calibration"
            and r.engine == args.engine
            and (r.gpu == args.gpu if args.gpu else r.gpu not in own)
        ]

    rows = mine(published_runs())
    where = f"{args.engine} on {args.gpu}" if args.gpu else args.engine
    streams, latencies, rates = mine(published_streams()), mine(published_latencies()), mine(published_rates())
    if not rows and not streams and not latencies and not rates:
        raise SystemExit(f"no calibration rows or latency points for {where}")
    # from the prior: what the points do not inform keeps the prior's value, as the catalog then says
    start = {name: engine.default_for(name) for name in RANGES}
    values = fit(rows, catalog, start, streams=streams, latencies=latencies, rates=rates)
    points = len(streams) + len(latencies) + len(rates)
    print(f"{where}: fitted on {len(rows)} calibration rows and {points} latency points")
    for name, value in values.items():
        print(f"  {name:18s} {value:8.3f}")
    table = errors(rows, catalog, Efficiency(**values))
    for r in table.itertuples():
        print(f"  {r.id:52s} published {r.published:>9,.0f}  modelled {r.modelled:>9,.0f}  {r.error:+.1%}")
    if rows:
        s = summary(table, "calibration")
        print(
            f"calibration rows: median absolute error {s.median_abs:.1%}, largest overstatement "
            f"{s.largest_overstatement:+.1%}"
        )
    fitted = Efficiency(**values)
    for p in [
        *stream_errors(streams, catalog, fitted).itertuples(),
        *latency_errors(latencies, catalog, fitted).itertuples(),
        *rate_errors(rates, catalog, fitted).itertuples(),
    ]:
        print(
            f"  {p.id:58s} TPOT published {p.tpot_published_ms:6.2f} ms  modelled {p.tpot_modelled_ms:6.2f} ms  "
            f"{p.tpot_error:+.1%}"
        )
    if args.write:
        names = fitted_names(rows, catalog, streams, latencies, rates)
        reasons = {name: why_not_fitted(name, rows, streams, latencies, rates) for name in RANGES if name not in names}
        write(args.engine, values, len(rows), args.gpu, names, points, reasons)


if __name__ == "__main__":
    main()
