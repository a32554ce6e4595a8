"""The console face: rich tables of the evaluation document, a capacity study and a diff.

Reads only :class:`costmodel.model.evaluation.Document` (and the diff's own result): where a
figure is absent the document's note says why, and the table shows a dash.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any, Literal, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from costmodel.io.redact import Redactor
from costmodel.model.evaluation import CapacityStudy, Document, MonteCarlo
from costmodel.text import MISSING, count, gist, percent, spread, usd, usd_rate


class _Redacting:
    """A text stream that writes everything through the one redaction (``costmodel.io.redact``):
    credentials in any URL always, and the secrets a command registers with :func:`protect`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.redact = Redactor()

    def write(self, text: str) -> int:
        return self._stream.write(self.redact(text))

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, flush, encoding ...
        return getattr(self._stream, name)


_stdout, _stderr = _Redacting(sys.stdout), _Redacting(sys.stderr)


def protect(secrets: Iterable[str | None] = (), urls: Iterable[str] = ()) -> None:
    """From now on nothing printed shows these secrets or the credentials of these URLs."""
    for stream in (_stdout, _stderr):
        known = stream.redact.secrets
        stream.redact = Redactor.of([*known, *secrets], urls)


# Piped output (CI logs, files) gets room for the tables instead of rich's 80 columns.
# markup=False: text from files (titles, labels, sources) prints as text, never as rich markup
out = Console(file=_stdout, width=None if sys.stdout.isatty() else 150, markup=False)  # type: ignore[arg-type]
err = Console(file=_stderr, width=None if sys.stderr.isatty() else 150, markup=False)  # type: ignore[arg-type]

SLO_COLOUR = {"met": "green", "missed": "red", "unverified": "yellow"}


def _keep_numbers_whole(t: Table) -> Table:
    """Numbers never fold or lose digits ("$1,816,3..." misstates money): each right-aligned
    column is at least as wide as its widest cell, and the headers wrap instead."""
    for col in t.columns:
        if col.justify == "right":
            cells = [len(str(c)) for c in col.cells]
            col.min_width = max(cells, default=1)
            col.no_wrap = False
            col.overflow = "fold"
        else:  # names fold onto a second line rather than lose their end
            col.overflow = "fold"
    return t


def _slo(word: str) -> Text:
    return Text(word, style=SLO_COLOUR[word])


def print_evaluation(d: Document, console: Console = out) -> None:
    """Readable tables: options, break-even and payback, layouts, routes, Monte Carlo, hybrids,
    then the recommendation."""
    console.print(Text(d.title, style="bold"))
    console.print(d.workload.summary)
    t = Table(title="Options", title_justify="left")
    columns: list[tuple[str, Literal["left", "right"]]] = [
        ("option", "left"),
        ("kind", "left"),
        ("total cost", "right"),
        ("NPV of cost", "right"),
        ("$/1M tok", "right"),
        ("GPUs at peak", "right"),
        ("out tok/s per replica", "left"),
        ("SLO", "left"),
        ("quality", "left"),
    ]
    for col, just in columns:
        t.add_column(col, justify=just)
    for o in d.options:
        name = Text(f"{o.name} *", style="bold") if o.recommended else Text(o.name)
        t.add_row(
            name,
            o.kind,
            usd(o.total_cost_usd),
            usd(o.npv_cost_usd),
            usd_rate(o.usd_per_million_tokens),
            count(o.gpus_at_peak),
            MISSING if o.capacity is None else o.capacity.text,
            _slo(o.slo.word),
            o.quality.word,
        )
    console.print(_keep_numbers_whole(t))
    if d.break_even:
        b = Table(title="Break-even (steady monthly volume)", title_justify="left")
        b.add_column("self-hosted")
        b.add_column("vs API")
        b.add_column("requests/month", justify="right")
        for be in d.break_even:
            b.add_row(
                be.self_hosted, be.api, "never" if be.requests_per_month is None else count(be.requests_per_month)
            )
        console.print(_keep_numbers_whole(b))
    for p in d.payback:
        month = p["month"]
        console.print(
            f"payback {p['owned']} vs {p['api']}: "
            + ("never within the horizon" if month is None else f"month {month}")
        )
    for o in d.options:
        if o.layout_sentence:
            console.print(f"layout: {o.layout_sentence}")
        if o.capacity is not None and o.capacity.calibration and o.kind != "hybrid":
            console.print(f"capacity: {o.name}'s is {o.capacity.calibration}")
        if o.kind == "rented":  # which rental it pays, and how old that price is (its source: --json, the report)
            console.print(f"rental: {o.name} pays " + "; ".join(gist(n) for n in o.price_notes))
        if o.routing is not None:
            console.print(f"routes: {o.routing.sentence}")
            k = o.routing.classifier
            console.print(f"classifier: {k.sentence if k is not None else o.routing.classifier_note}")
    if d.monte_carlo is not None:
        print_simulation(d.monte_carlo, d.recommendation.option, console)
    for sweep in d.hybrid_sweeps:
        console.print(sweep.sentence)
    if d.stale_prices_note:
        console.print(Text.assemble(("stale prices: ", "bold yellow"), d.stale_prices_note))
    if d.retiring_models_note:
        console.print(Text.assemble(("retiring models: ", "bold yellow"), d.retiring_models_note))
    console.print(Text.assemble("\n", ("Recommendation: ", "bold"), d.recommendation.sentence))


def print_simulation(mc: MonteCarlo, best: str | None, console: Console = out) -> None:
    """Monte Carlo table: cost percentiles (P90 is the expensive tail), P(cheapest eligible), P(SLO holds)."""
    t = Table(
        title=f"Monte Carlo: {mc.draws:,} draws of {len(mc.inputs)} uncertain inputs, seed {mc.seed}",
        title_justify="left",
    )
    planned = bool(mc.planned_fleets)
    columns = [
        "option",
        "total cost P10",
        "P50",
        "P90",
        "NPV of cost P10",
        "P50 ",
        "P90 ",
        "P(cheapest eligible)",
        "P(SLO holds)",
    ]
    if planned:
        columns += ["unserved P50 (P10-P90)", "stranded P50 (P10-P90)"]
    for col in columns:
        t.add_column(col, justify="left" if col == "option" else "right")
    for o in mc.options:
        cells: list[str | Text] = [
            Text(f"{o.name} *", style="bold") if o.name == best else Text(o.name),
            *(usd(getattr(o.total_cost_usd, p)) for p in ("p10", "p50", "p90")),
            *(usd(getattr(o.npv_cost_usd, p)) for p in ("p10", "p50", "p90")),
            percent(o.p_cheapest, 1),
            "unknown" if o.p_slo is None else percent(o.p_slo, 1),
        ]
        if planned:
            cells += [
                spread(o.unserved_p10, o.unserved_p50, o.unserved_p90),
                spread(o.stranded_p10, o.stranded_p50, o.stranded_p90),
            ]
        t.add_row(*cells)
    console.print(_keep_numbers_whole(t))
    console.print("Uncertain inputs: " + ", ".join(mc.inputs))
    if planned:
        console.print(
            f"Fleets that do not follow each draw's demand ({', '.join(mc.planned_fleets)}: bought or committed "
            "on the plan and topped up by their procurement policy, a router's such members, or a hybrid's fixed "
            "local fleet): unserved is the share of requests beyond their SLO capacity that no API took, "
            "stranded the share of GPU-months the draw's demand did not need."
        )


def _ms(x: float | None) -> str:
    return MISSING if x is None else f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def print_capacity(study: CapacityStudy, console: Console = out) -> None:
    """``tco capacity``: the stack and shape, a table of every layout, the cheapest per token."""
    console.print(Text(study.title, style="bold"))
    kv = "FP8" if study.kv_cache_bytes_per_element == 1 else "BF16"
    price = (
        f"GPU price {usd_rate(study.usd_per_gpu_hour, 2)}/GPU-hour ({study.price_source})"
        if study.usd_per_gpu_hour is not None
        else f"{study.price_source}; pass --gpu-price for $/1M"
    )
    ttft, tpot = study.slo["ttft_p95_ms"], study.slo["tpot_p95_ms"]
    console.print(
        f"{count(study.input_tokens)} in / {count(study.output_tokens)} out tokens per request, "
        f"{percent(study.cached_input_share)} of the prompt cached; KV cache {kv}; "
        f"SLO TTFT p95 {ttft:g} ms, TPOT p95 {tpot:g} ms; {price}."
    )
    if study.calibration:
        console.print(f"How sure: {study.calibration}.")
    t = Table(title="Layouts at the SLO capacity (Poisson arrivals)", title_justify="left")
    for col in (
        "GPUs",
        "out tok/s",
        "per GPU",
        "req/s",
        "sequences",
        "TTFT mean",
        "TTFT p95",
        "TPOT mean",
        "TPOT p95",
        "bound by",
        "$/1M out",
    ):
        t.add_column(col, justify="left" if col == "bound by" else "right")
    for lay in study.layouts:
        best = lay.gpus_per_replica == study.best_gpus_per_replica
        g = Text(f"{lay.gpus_per_replica}{' *' if best else ''}", style="bold" if best else "")
        c = lay.capacity
        if c is None:
            t.add_row(g, *([MISSING] * 8), Text(lay.why_not or MISSING, style="dim"), MISSING)
            continue
        t.add_row(
            g,
            count(c.output_tokens_per_s_per_replica),
            count(c.output_tokens_per_s_per_replica / lay.gpus_per_replica),
            f"{c.requests_per_s_per_replica:,.2f}",
            count(c.batch),
            _ms(c.ttft_mean_ms),
            _ms(c.ttft_ms),
            _ms(c.tpot_mean_ms),
            _ms(c.tpot_ms),
            Text(c.bound_by.removeprefix("the "), style="" if c.slo_met else "red"),
            usd_rate(lay.usd_per_million_output),
        )
    console.print(_keep_numbers_whole(t))
    console.print("Latencies in ms; sequences: mean in flight; * cheapest per output token meeting the SLO.")
    if study.best_gpus_per_replica is None:
        console.print(Text("No layout meets the SLO at any load.", style="red"))


def print_diff(d, old_name: str, new_name: str, console: Console = out) -> None:
    """``tco diff``: the inputs changed, NPV by option, and the sentences."""
    from costmodel.diff import value_text

    t = Table(title=f"Inputs changed ({old_name} -> {new_name})", title_justify="left")
    numbers = ("largest NPV move alone", "share of the decision's move")
    for col in ("input", "old", "new", *numbers, "source"):
        t.add_column(col, justify="right" if col in numbers else "left", overflow="fold")
    for c in sorted(d.changes, key=lambda c: -c.largest_move):
        move = MISSING if c.npv_moves is None else usd(c.largest_move)
        t.add_row(c.path, value_text(c.old), value_text(c.new), move, d.mover_share(c.path), c.source)
    console.print(_keep_numbers_whole(t))
    n = Table(title="NPV by option", title_justify="left")
    for col in ("option", "old", "new", "change"):
        n.add_column(col, justify="left" if col == "option" else "right")
    for name, a, b in d.npv_table():
        n.add_row(name, usd(a), usd(b), MISSING if a is None or b is None else usd(b - a))
    console.print(_keep_numbers_whole(n))
    for line in d.sentences():
        console.print(line)


def _sourced(value: float, unit: str) -> str:
    """A catalog number in the one format of its unit (money per 1M tokens, per GPU, shares)."""
    if unit.startswith("USD/1M"):
        return f"{usd_rate(value)} /1M tokens"
    if unit == "USD/GPU-hour":
        return f"{usd_rate(value, 2)} /GPU-h"
    if unit == "USD/GPU":
        return f"{usd(value)} /GPU"
    if unit == "fraction":
        return percent(value, 1)
    return f"{value:,g} {unit}"


def print_prices(files, snapshot, providers: list[str], input_tokens: int, console: Console = out) -> None:
    """``tco prices``: GPU purchase and rental prices, API prices from genai-prices, local overrides,
    each with its date and source."""
    from costmodel.io.catalog import genai_prices_version, resolve_api_price

    g = Table(title="GPU prices", title_justify="left")
    for col in ("GPU", "what", "price", "as of", "basis", "source"):
        g.add_column(col, overflow="fold")
    for gpu, what, p in _gpu_prices(files):
        g.add_row(gpu, what, _sourced(float(p.value), p.unit), str(p.as_of), p.basis, p.source)
    console.print(g)
    pin = files.api.genai_prices
    a = Table(
        title=f"API prices, USD per 1M tokens (genai-prices {genai_prices_version()}, snapshot checked "
        f"{pin.checked_on}; prompt of {input_tokens} tokens)",
        title_justify="left",
    )
    for col in ("provider", "model", "input", "cached in", "output", "batch discount", "retires"):
        a.add_column(col, justify="right" if col in ("input", "cached in", "output") else "left")
    for pid in providers:
        prov = next(p for p in snapshot.providers if p.id == pid)
        for m in prov.models:
            if m.deprecated:
                continue
            try:
                price = resolve_api_price(pid, m.id, files, input_tokens)
            except (LookupError, ValueError, KeyError, TypeError, ArithmeticError):
                continue  # models priced per image, per second, etc.
            disc = percent(float(price.batch_discount.value)) if price.batch_discount else ""
            r = price.retirement
            a.add_row(
                pid,
                m.id,
                usd_rate(float(price.input.value)),
                usd_rate(float(price.cached_input.value)),
                usd_rate(float(price.output.value)),
                disc,
                "" if r is None else f"{r.retires} -> {r.successor or 'no successor named'}",
            )
    console.print(a)
    if files.api.retirements:
        t = Table(title=f"Announced retirements ({files.directory / 'api_prices.yaml'})", title_justify="left")
        for col in ("provider", "model", "retires", "successor", "checked", "source"):
            t.add_column(col, overflow="fold")
        for r in sorted(files.api.retirements, key=lambda r: (r.retires, r.provider, r.model)):
            t.add_row(r.provider, r.model, str(r.retires), r.successor or "none named", str(r.as_of), r.source)
        console.print(t)
    if files.api.overrides:
        o = Table(title=f"Local overrides ({files.directory / 'api_prices.yaml'})", title_justify="left")
        for col in ("provider", "model", "field", "value", "as of", "source"):
            o.add_column(col, overflow="fold")
        for ov, name, s in _override_prices(files):
            o.add_row(ov.provider, ov.model, name, _sourced(float(s.value), s.unit), str(s.as_of), s.source)
        console.print(o)


def _gpu_prices(files) -> Iterator[tuple[str, str, Any]]:
    """(GPU, what, price) for every purchase and rental price in the catalog."""
    for gpu in files.gpus.gpus:
        if gpu.purchase_price:
            yield gpu.id, "purchase", gpu.purchase_price
        for r in gpu.rental:
            yield gpu.id, f"rent {r.label}", r.price


def _override_prices(files) -> Iterator[tuple[Any, str, Any]]:
    """(override, field, price) for every local API price override."""
    for ov in files.api.overrides:
        for name in ("input", "output", "cached_input", "batch_discount"):
            if getattr(ov, name) is not None:
                yield ov, name, getattr(ov, name)


def print_stale_prices(files, days: int, today: date, console: Console = out) -> None:
    """``tco prices --stale``: every catalog price older than ``days`` at ``today``, oldest first,
    with its date, age and source (the API price snapshot by the day it was checked)."""
    rows = [
        (f"{gpu} {what}", _sourced(float(p.value), p.unit), p.as_of, p.source) for gpu, what, p in _gpu_prices(files)
    ] + [
        (f"{ov.provider}/{ov.model} {name}", _sourced(float(s.value), s.unit), s.as_of, s.source)
        for ov, name, s in _override_prices(files)
    ]
    pin = files.api.genai_prices
    rows.append((f"API prices (genai-prices {pin.version} snapshot)", "-", pin.checked_on, "genai-prices"))
    old = sorted((r for r in rows if (today - r[2]).days > days), key=lambda r: r[2])
    t = Table(title=f"Catalog prices older than {count(days)} days on {today.isoformat()}", title_justify="left")
    for col in ("price", "value", "as of", "age (days)", "source"):
        t.add_column(col, overflow="fold", justify="right" if col == "age (days)" else "left")
    for what, value, as_of, source in old:
        t.add_row(what, value, as_of.isoformat(), count((today - as_of).days), source)
    console.print(t if old else f"No catalog price is older than {count(days)} days on {today.isoformat()}.")


@contextlib.contextmanager
def item_progress(label: str, total: int, right: str = "correct") -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr for runs that score items one by one (``tco quality``, ``tco
    classify``): yields the callback each finished item record is given (it counts the right ones
    and the errors)."""
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{right} {{task.fields[right]}}"),
        TextColumn("errors {task.fields[errors]}"),
        TimeElapsedColumn(),
        console=err,
    )
    counts = {"right": 0, "errors": 0}
    with progress:
        task = progress.add_task("items", total=total, right=0, errors=0)

        def on_item(record: Any) -> None:
            counts["right"] += record.correct
            counts["errors"] += record.error_kind is not None and record.error_kind != "interrupted"
            progress.update(task, advance=1, right=counts["right"], errors=counts["errors"])

        yield on_item


def print_refreshed(refreshed, out_path, console: Console = out) -> None:
    """``tco prices refresh``: what the new rental snapshot holds, and what it left out and why."""
    offers = refreshed.offers
    dates = sorted({str(o.as_of) for o in offers})
    curated = len(refreshed.curated)
    also = f" and {count(curated)} curated" if curated else ""
    listed = f"{count(len(offers) - curated)} instance types from {refreshed.source} {refreshed.version}"
    t = Table(
        title=f"Rental snapshot: {listed}{also}, as of {', '.join(dates)}",
        title_justify="left",
    )
    for col in ("GPU", "provider", "instance", "region", "on demand", "spot"):
        t.add_column(col, justify="right" if col in ("on demand", "spot") else "left")
    for o in sorted(offers, key=lambda o: (o.gpu, o.on_demand_usd_per_gpu_hour)):
        spot = o.spot_usd_per_gpu_hour
        t.add_row(
            o.gpu,
            o.provider,
            f"{o.instance_type} ({o.gpus_per_instance} GPU{'s' if o.gpus_per_instance > 1 else ''})",
            o.region,
            f"{usd_rate(o.on_demand_usd_per_gpu_hour)}/GPU-h",
            "" if spot is None else f"{usd_rate(spot)}/GPU-h",
        )
    console.print(t)
    if curated:
        console.print(
            f"kept from rentals-curated.csv ({curated}), offers the source lacks: "
            + ", ".join(f"{o.provider} {o.instance_type} ({o.gpu}, as of {o.as_of})" for o in refreshed.curated),
            highlight=False,
            soft_wrap=True,
        )
    if refreshed.skipped:
        console.print(f"left out ({len(refreshed.skipped)}):", highlight=False)
        for line in refreshed.skipped:
            console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print(f"wrote {out_path}", highlight=False)
