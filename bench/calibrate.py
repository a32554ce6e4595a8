"""Fit an engine's roofline efficiencies on the calibration rows of the published-runs table.

Minimises the mean squared log error of modelled against published output tokens/s over the
rows marked ``calibration`` in ``data/validation/serving_throughput.csv``, weighing
overstatements four times (overstated capacity makes building look cheaper than it is), by
coordinate descent over each efficiency's range. The validation rows are never seen here:
``bench/capacity.py`` checks the fit on them.

``.venv/bin/python bench/calibrate.py --engine trt-llm [--write]`` prints the fit and each
calibration row's error; ``--write`` stores the values in ``data/catalog/engines.yaml`` with
their provenance.
"""

from __future__ import annotations

import argparse
import re
from datetime import date

from costmodel import paths
from costmodel.calibration import RANGES, errors, fit, summary
from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.io.validation import published_runs
from costmodel.model.catalog import EFFICIENCY_FIELDS
from costmodel.model.scenario import Efficiency


def write(engine: str, values: dict[str, float], rows: int) -> None:
    """Store the fitted efficiencies in data/catalog/engines.yaml with their provenance."""
    path = paths.catalog_dir() / "engines.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {engine}\n")
    end = text.find("\n  - id: ", start + 1)
    stop = end + 1 if end > 0 else len(text)
    block = text[start:stop]
    source = (
        f"derived: fitted by bench/calibrate.py on the {rows} calibration rows for {engine} in "
        "data/validation/serving_throughput.csv"
    )
    for name, value in values.items():
        key = EFFICIENCY_FIELDS[name]
        shown = round(value, 2) if name == "step_overhead_ms" else round(value, 3)
        block = re.sub(
            rf"( +{key}: \{{value: )[^,]+(, unit: [^,]+, source: )\"[^\"]*\"(, as_of: )[0-9-]+(, basis: \w+)?\}}",
            rf'\g<1>{shown}\g<2>"{source}"\g<3>{date.today().isoformat()}, basis: derived}}',
            block,
        )
    path.write_text(text[:start] + block + text[stop:], encoding="utf-8")
    print(f"wrote {engine}'s efficiencies to {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default="trt-llm")
    ap.add_argument("--write", action="store_true", help="store the fit in data/catalog/engines.yaml")
    args = ap.parse_args()
    catalog = build_catalog(load_catalog_files())
    rows = [r for r in published_runs() if r.role == "calibration" and r.engine == args.engine]
    if not rows:
        raise SystemExit(f"no calibration rows for engine {args.engine!r}")
    engine = catalog.engines[args.engine]
    values = fit(rows, catalog, {name: engine.default_for(name) for name in RANGES})
    print(f"{args.engine}: fitted on {len(rows)} calibration rows")
    for name, value in values.items():
        print(f"  {name:18s} {value:8.3f}")
    table = errors(rows, catalog, Efficiency(**values))
    for r in table.itertuples():
        print(f"  {r.id:52s} published {r.published:>9,.0f}  modelled {r.modelled:>9,.0f}  {r.error:+.1%}")
    s = summary(table, "calibration")
    print(
        f"calibration rows: median absolute error {s.median_abs:.1%}, largest overstatement "
        f"{s.largest_overstatement:+.1%}"
    )
    if args.write:
        write(args.engine, values, len(rows))


if __name__ == "__main__":
    main()
