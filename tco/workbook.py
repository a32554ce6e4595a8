"""The one Excel writer: a workbook a finance reviewer can audit and change.

``inputs`` holds every number the costs depend on, each a named cell with its unit and source
(the discount rate, volumes, token counts, prices, power, staff, capacity per replica). Each
option's ``cf`` sheet builds its monthly cash flow from them in formulas: requests, the GPUs
the peak needs, the fleet kept, every line item, the total, the cumulative, the discount factor
and the NPV; ``summary`` sums them up. Change ``discount_rate`` (or a price, or the volume) and
the workbook recalculates as the engine would. Where the engine works hour by hour (the share
of a month's requests a fixed or lagging fleet serves under the daily load shape) the sheet
takes that share from the engine as a value column marked ``(engine)``.

Recalculated outside Excel (``formulas``), the workbook matches the engine to the cent
(``tests/tco/test_workbook.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from costmodel import document
from costmodel.assumptions import input_source
from costmodel.core.units import HOURS_PER_MONTH
from costmodel.engine import Evaluation, prepare
from costmodel.engine.api import Successor
from costmodel.engine.costing import member_cost, member_view
from costmodel.engine.eligibility import member_score, servable_classes
from costmodel.engine.recommend import contends
from costmodel.engine.router import classifier_successor, confusion
from costmodel.model.catalog import Catalog
from costmodel.model.evaluation import Document, MonteCarlo
from costmodel.model.scenario import (
    ApiOption,
    ExtraCost,
    HybridOption,
    OwnedOption,
    RentedOption,
    RouterOption,
    Scenario,
)
from costmodel.text import count, yes_no

MONEY = '"$"#,##0.00'
UNIT_PRICE = '"$"#,##0.00####'  # a unit price shown to its last digit: $0.075, not $0.08
INTEGER = "#,##0"
DECIMAL = "#,##0.00"
PERCENT = "0.0%"
FACTOR = "0.000000"
HEADER = Font(bold=True)
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # inputs a reviewer may change


def _slug(text: str) -> str:
    """A defined-name-safe form of an option name: ``own-l40s`` -> ``own_l40s``."""
    s = re.sub(r"[^A-Za-z0-9]", "_", text)
    return s if re.match(r"[A-Za-z_]", s) else f"o_{s}"


@dataclass
class Inputs:
    """The inputs sheet being written: one named cell per input. A typed input keeps the value tco
    wrote (column ``as written``) and, where one exists, its scenario path: a changed input then
    reads as the ``--set`` that gives the engine the same change (column ``--set``)."""

    ws: Any
    wb: Any
    sc: Scenario  # whose sources the scenario fields cite
    row: int = 1
    names: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    typed: set[str] = field(default_factory=set)
    routes: dict[str, dict[str, str]] = field(default_factory=dict)  # router -> class -> its route's input

    HEADERS = ("input", "value", "unit", "source", "as written", "scenario path", "--set")

    def add(self, name: str, value: float, unit: str, source: str, fmt: str = DECIMAL, path: str | None = None) -> str:
        """Write a named input (``path``: its place in the scenario, for ``--set``); return its name."""
        return self._typed(self._named(name, unit, source), name, float(value), path, fmt)

    def _typed(self, r: int, name: str, value: float | str, path: str | None, fmt: str | None = None) -> str:
        """Row ``r`` as a typed input: its value (filled), the value as written, its scenario path,
        and the ``--set`` that gives the engine the same change once it is changed."""
        cell = self.ws.cell(r, 2, value)
        cell.fill = INPUT_FILL
        written = self.ws.cell(r, 5, value)
        if fmt is not None:
            cell.number_format = written.number_format = fmt
        self.ws.cell(r, 6, path or "")
        self.ws.cell(r, 7, f'=IF(B{r}<>E{r},IF(F{r}=""," [{name}: not a scenario field]"," --set "&F{r}&"="&B{r}),"")')
        self.typed.add(name)
        return name

    def choice(self, name: str, value: str, options: list[str], source: str, path: str) -> str:
        """A named input that is a decision among ``options`` (text, with a drop-down list)."""
        r = self._named(name, "choice", source)
        listed = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=False)
        self.ws.add_data_validation(listed)
        listed.add(f"B{r}")
        return self._typed(r, name, value, path)

    def derive(self, name: str, formula: str, unit: str, how: str, fmt: str = DECIMAL) -> str:
        """Write a named figure computed from other inputs (a formula, not filled like an input)."""
        r = self._named(name, unit, f"derived: {how}")
        self.ws.cell(r, 2, formula).number_format = fmt
        return name

    def _named(self, name: str, unit: str, source: str) -> int:
        self.row += 1
        r = self.row
        self.ws.cell(r, 1, name)
        self.ws.cell(r, 3, unit)
        self.ws.cell(r, 4, source)
        self.wb.defined_names[name] = DefinedName(name, attr_text=f"inputs!$B${r}")
        self.names[name], self.rows[name] = name, r
        return r

    def once(self, name: str, value: float, unit: str, source: str, fmt: str = DECIMAL, path: str | None = None) -> str:
        """An input written the first time it is asked for."""
        return self.names.get(name) or self.add(name, value, unit, source, fmt, path)

    def field(self, name: str, path: str, value: float, unit: str, fmt: str = DECIMAL) -> str:
        """An input that is a scenario field (``path``): its source is the scenario's for that path."""
        return self.once(name, value, unit, input_source(self.sc, path), fmt, path)

    def changed(self, names: list[str]) -> str:
        """A formula that is true when any of ``names`` differs from the value written."""
        rows = [self.rows[n] for n in names if n in self.typed]
        return "OR(" + ",".join(f"inputs!B{r}<>inputs!E{r}" for r in rows) + ")" if rows else "FALSE()"


@dataclass
class Sheet:
    """One option's cash-flow sheet: columns of formulas (or engine values) by month."""

    ws: Any
    months: int
    columns: list[str] = field(default_factory=list)
    costs: list[str] = field(default_factory=list)  # columns summed into the total

    def col(self, header: str) -> str:
        return get_column_letter(self.columns.index(header) + 1)

    def rng(self, header: str) -> str:
        c = self.col(header)
        return f"${c}$2:${c}${self.months + 1}"

    def add(self, header: str, formula, fmt: str = MONEY, cost: bool = False) -> None:
        """``formula(row, month)`` gives a formula string or a number for each month."""
        self.columns.append(header)
        c = len(self.columns)
        self.ws.cell(1, c, header).font = HEADER
        for m in range(self.months):
            value = formula(m + 2, m)
            self.ws.cell(m + 2, c, value).number_format = fmt
        if cost:
            self.costs.append(header)

    def ref(self, header: str, row: int) -> str:
        return f"{self.col(header)}{row}"


@dataclass
class Book:
    """The workbook being written: new cash-flow sheets, and how each one closes (extra costs,
    cache lookups, total, cumulative, discount factor, NPV)."""

    wb: Any
    inp: Inputs
    months: int
    cache: bool  # a response cache charges every request's lookup

    def sheet(self, title: str, share: str | None = None) -> Sheet:
        """A cash-flow sheet with month, requests, model requests (x ``share``, a named input) and tokens."""
        ws = self.wb.create_sheet(re.sub(r"[\[\]:*?/\\]", "-", title)[:31])
        sh = Sheet(ws, self.months)
        sh.add("month", lambda r, m: m, INTEGER)
        sh.add("requests", lambda r, m: f"=requests_first_month*(1+monthly_growth)^A{r}", INTEGER)
        scale = f"*{share}" if share else ""
        sh.add("model requests", lambda r, m, sh=sh: f"={sh.ref('requests', r)}*model_share{scale}", INTEGER)
        sh.add("tokens", lambda r, m, sh=sh: f"={sh.ref('requests', r)}*(input_tokens+output_tokens)", INTEGER)
        return sh

    def close(self, sh: Sheet, p: str, cashflow, lines: list[tuple[str, ExtraCost, str | None]] | None) -> None:
        """Extra cost lines (each with the named share of requests it applies to, None: all),
        cache lookups, then total, cumulative, discount factor and the NPV, total and tokens
        served cells (named ``npv_<option>``). ``lines`` None: a router member's share sheet,
        which carries no extras, no cache and no name."""
        ws = sh.ws
        if lines is not None:
            _extra_columns(sh, self.inp, p, lines)
            if self.cache:
                sh.add(
                    "response_cache",
                    lambda r, m, sh=sh: f"={sh.ref('requests', r)}*cache_lookup_usd_per_million/1000000",
                    cost=True,
                )
        costs = list(sh.costs)
        sh.add("total", lambda r, m, sh=sh, costs=costs: "=" + "+".join(sh.ref(c, r) for c in costs))
        sh.add(
            "cumulative",
            lambda r, m, sh=sh: (
                f"={sh.ref('total', r)}" if m == 0 else f"={sh.ref('cumulative', r - 1)}+{sh.ref('total', r)}"
            ),
        )
        sh.add("discount factor", lambda r, m, sh=sh: f"=(1+discount_rate)^(-{sh.ref('month', r)}/12)", FACTOR)
        c = len(sh.columns) + 2
        ws.cell(1, c, "NPV").font = HEADER
        ws.cell(2, c, f"=-SUMPRODUCT({sh.rng('total')},{sh.rng('discount factor')})").number_format = MONEY
        ws.cell(3, c, "total").font = HEADER
        ws.cell(4, c, f"=SUM({sh.rng('total')})").number_format = MONEY
        ws.cell(5, c, "tokens served").font = HEADER
        served = f"SUM({sh.rng('tokens')})"
        if "unserved" in cashflow and "overflow" not in cashflow:
            served += f"-SUM({sh.rng('unserved')})*(input_tokens+output_tokens)"
        ws.cell(6, c, f"={served}").number_format = INTEGER
        if lines is not None:
            npv_cell = f"'{ws.title}'!${get_column_letter(c)}$2"
            self.wb.defined_names[f"npv_{p}"] = DefinedName(f"npv_{p}", attr_text=npv_cell)
        ws.freeze_panes = "B2"
        for i in range(1, len(sh.columns) + 3):
            ws.column_dimensions[get_column_letter(i)].width = 16


def write_workbook(ev: Evaluation, catalog: Catalog, path: Path, doc: Document | None = None) -> Path:
    """Write the audit workbook of an evaluation: inputs, a formula cash flow per option (over the
    engine's inputs, so a spreadsheet recalculates them), and from the evaluation document
    (``doc``, built here if not given) the summary's words, the assumptions register and the Monte
    Carlo percentiles."""
    doc = doc or document.build(ev, catalog, sweeps=False, curves=False)
    sc = ev.scenario
    wl = sc.workload
    prepared = prepare(sc, catalog, chosen=ev.chosen_layouts())
    demand = prepared.demand
    wb = openpyxl.Workbook()
    summary_ws = wb.active
    summary_ws.title = "summary"
    ws_in = wb.create_sheet("inputs")
    for c, h in enumerate(Inputs.HEADERS, start=1):
        ws_in.cell(1, c, h).font = HEADER
    inp = Inputs(ws_in, wb, sc)
    inp.field("discount_rate", "discount_rate", sc.discount_rate, "fraction/year", PERCENT)
    inp.add("hours_per_month", HOURS_PER_MONTH, "hours", "365.25 x 24 / 12")
    inp.add(
        "horizon_months",
        sc.horizon_months,
        "months",
        "the scenario's horizon (the cash-flow sheets hold that many rows: change it with tco, not here)",
        INTEGER,
    )
    for name, what, unit, fmt in (
        ("requests_first_month", "requests_per_month", "requests", INTEGER),
        ("monthly_growth", "monthly_growth", "fraction/month", PERCENT),
        ("input_tokens", "input_tokens_per_request", "tokens/request", INTEGER),
        ("output_tokens", "output_tokens_per_request", "tokens/request", INTEGER),
        ("cached_input_share", "cached_input_share", "fraction", PERCENT),
        ("batch_share", "batch_share", "fraction", PERCENT),
    ):
        inp.field(name, f"workload.{what}", getattr(wl, what), unit, fmt)
    cache = wl.response_cache
    inp.add(
        "model_share",
        demand.model_share,
        "fraction of requests reaching the model",
        cache.source if cache else "no response cache",
        PERCENT,
    )
    inp.add(
        "cache_lookup_usd_per_million",
        cache.usd_per_million_lookups if cache else 0.0,
        "USD/1M lookups",
        cache.source if cache else "no response cache",
        MONEY,
    )
    _load_shape(wb, inp, sc)
    for name, what in (
        ("api_price_decline", "api_price_decline_per_year"),
        ("gpu_rent_decline", "gpu_rent_decline_per_year"),
    ):
        inp.add(name, getattr(sc.trends, what), "fraction/year", sc.trends.source, PERCENT, path=f"trends.{what}")

    months = sc.horizon_months
    sheets: dict[str, Sheet] = {}
    book = Book(wb, inp, months, cache is not None and cache.usd_per_million_lookups > 0)
    for o in sc.options:
        sh = book.sheet(f"cf {o.name}")
        p = _slug(o.name)
        result = ev.option(o.name)
        if isinstance(o, RouterOption):
            book.close(sh, p, result.cashflow, lines=_router_columns(book, sh, o, ev, prepared))
            sheets[o.name] = sh
            continue

        def overflow_to(api_name: str, header: str, sh=sh) -> None:  # the requests the fleet did not serve
            api = sc.api_option(api_name)
            unserved = f"(1-{sh.col('served share')}{{r}})"
            _api_columns(
                sh,
                inp,
                _slug(api.name),
                api,
                prepared.prices[api.name],
                header,
                share=unserved,
                moved=prepared.successors.get(api.name),
            )

        if isinstance(o, ApiOption):
            _api_columns(
                sh, inp, p, o, prepared.prices[o.name], "api", share=None, moved=prepared.successors.get(o.name)
            )
        elif isinstance(o, RentedOption | OwnedOption):
            _self_hosted_columns(sh, inp, p, o, prepared.fleets[o.name], sc=sc)
            if "overflow" in result.cashflow and o.overflow:
                overflow_to(o.overflow, "overflow")
        else:
            assert isinstance(o, HybridOption)
            local = sc.serving_option(o.local)
            assert not isinstance(local, ApiOption)  # a hybrid's local part is a fleet
            _self_hosted_columns(
                sh,
                inp,
                _slug(local.name),
                local,
                prepared.fleets[local.name],
                hybrid=o,
                sc=sc,
            )
            overflow_to(o.overflow, "api")
        book.close(sh, p, result.cashflow, lines=[(e.name, e, None) for e in o.extra_costs])
        sheets[o.name] = sh

    contenders = {r.name for r in ev.options if contends(r)}
    _summary(summary_ws, doc, sheets, contenders, inp)
    _checks(wb.create_sheet("checks", 1), inp, ev, prepared)
    _assumptions(wb.create_sheet("assumptions"), doc)
    if doc.monte_carlo is not None:
        _monte_carlo(wb.create_sheet("monte_carlo"), doc.monte_carlo)
    ws_in.freeze_panes = "A2"
    ws_in.column_dimensions["A"].width, ws_in.column_dimensions["D"].width = 34, 90
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _load_shape(wb, inp: Inputs, sc: Scenario) -> None:
    """The 24 hourly weights of the daily load (named ``load_shape``, mean 1) on a ``load shape``
    sheet, and ``peak_to_mean`` (their maximum). A stated ``load_shape`` is 24 inputs, normalised
    by formula. Otherwise ``peak_to_mean`` is the input and the weights are ``(1 + cos(2 pi (h -
    14) / 24)) ^ k``, ``k`` found by the engine's own bisection written out row by row (doubling
    from 1 to bracket it, then 60 halvings), so changing the ratio reshapes the day as the engine
    would."""
    wl = sc.workload
    ws = wb.create_sheet("load shape")
    for c, h in enumerate(
        ("hour", "weight", "normalised", "", "step", "k", "low", "high", "ratio at k", "reaches"), start=1
    ):
        ws.cell(1, c, h).font = HEADER
    hours = range(2, 26)
    for hour, r in enumerate(hours):
        ws.cell(r, 1, hour)
    weights = "'load shape'!$B$2:$B$25"
    wb.defined_names["load_shape"] = DefinedName("load_shape", attr_text="'load shape'!$C$2:$C$25")
    if wl.load_shape is not None:
        for r, w in zip(hours, wl.load_shape, strict=True):
            cell = ws.cell(r, 2, float(w))
            cell.number_format, cell.fill = DECIMAL, INPUT_FILL
        ws.cell(27, 1, f"weights: {input_source(sc, 'workload.load_shape')}")
        for r in hours:
            ws.cell(r, 3, f"=B{r}/AVERAGE({weights})").number_format = FACTOR
        inp.derive("peak_to_mean", "=MAX(load_shape)", "ratio", "the busiest hour of the load shape over its mean")
        return
    inp.add(
        "peak_to_mean",
        wl.peak_to_mean or 1.0,
        "ratio",
        input_source(sc, "workload.peak_to_mean") if wl.peak_to_mean else "no peak_to_mean: a flat day",
        path="workload.peak_to_mean",
    )
    base = "(1+COS(2*PI()*(A{r}-14)/24))"
    for r in hours:
        ws.cell(r, 2, "=" + base.format(r=r)).number_format = FACTOR

    def ratio(k: str) -> str:  # the shape's max over its mean at exponent k
        # IFERROR: LibreOffice calls a power that underflows an error, where numpy and Excel give 0
        return f"MAX({weights})^{k}/(SUMPRODUCT(IFERROR({weights}^{k},0))/COUNT({weights}))"

    # bracket: the first of 1, 2, 4, ... 512 whose ratio reaches peak_to_mean (the engine doubles)
    for i in range(10):
        r = 2 + i
        ws.cell(r, 5, f"bracket {i}")
        ws.cell(r, 6, 2**i)
        ws.cell(r, 9, f"={ratio(f'F{r}')}")
        ws.cell(r, 10, f"=IF(I{r}>=peak_to_mean,F{r},F$11)")
    first = 12
    ws.cell(first, 5, "halving 0")
    ws.cell(first, 7, 0)
    ws.cell(first, 8, "=MIN($J$2:$J$11)")
    for i in range(60):
        r = first + i
        ws.cell(r, 6, f"=(G{r}+H{r})/2")
        ws.cell(r, 9, f"={ratio(f'F{r}')}")
        if i:
            ws.cell(r, 5, f"halving {i}")
            ws.cell(r, 7, f"=IF(I{r - 1}<peak_to_mean,F{r - 1},G{r - 1})")
            ws.cell(r, 8, f"=IF(I{r - 1}<peak_to_mean,H{r - 1},F{r - 1})")
    last = first + 59
    k = f"IF(I{last}<peak_to_mean,H{last},F{last})"
    ws.cell(last + 1, 5, "k")
    ws.cell(last + 1, 6, f"={k}")
    k_cell = f"$F${last + 1}"
    for r in hours:
        ws.cell(
            r,
            3,
            f"=IF(peak_to_mean<=1,1,IFERROR(B{r}^{k_cell},0)/(SUMPRODUCT(IFERROR({weights}^{k_cell},0))/COUNT({weights})))",
        ).number_format = FACTOR
    ws.cell(27, 1, "weights (1 + cos(2 pi (hour - 14) / 24)) ^ k, k such that max / mean = peak_to_mean")


def _api_columns(
    sh: Sheet,
    inp: Inputs,
    p: str,
    o: ApiOption,
    price,
    header: str,
    share: str | None,
    tokens: tuple[str, str] = ("input_tokens", "output_tokens"),
    moved: Successor | None = None,
) -> None:
    """What an API bills per month: requests reaching it x price trend x tokens x prices (``tokens``:
    the named input and output tokens per request, a router member's own). When its model retires
    inside the horizon (``moved``), the successor's prices apply from the month it retires in
    (``<p>_successor_month``, an input), and a ``<header> migration`` column carries the one-off
    move, as :func:`costmodel.engine.api.monthly_bill` and :func:`~costmodel.engine.api.migration`."""

    def prices(prefix: str, price, note: str) -> str:
        names = {
            field_name: inp.once(
                f"{prefix}_{field_name}",
                float(value) * o.price_scale,
                "USD/1M tokens",
                f"{note}{value.source} ({value.as_of})"
                + (f"; x {o.price_scale:g} price_scale" if o.price_scale != 1 else ""),
                UNIT_PRICE,
            )
            for field_name, value in (
                ("input", price.input),
                ("cached_input", price.cached_input),
                ("output", price.output),
            )
        }
        disc = inp.once(
            f"{prefix}_batch_discount",
            float(price.batch_discount) if price.batch_discount else 0.0,
            "fraction",
            price.batch_discount.source if price.batch_discount else "no batch discount",
            PERCENT,
        )
        return (
            f"({tokens[0]}*((1-cached_input_share)*{names['input']}+cached_input_share*"
            f"{names['cached_input']})+{tokens[1]}*{names['output']})/1000000*(1-batch_share*{disc})"
        )

    per_request = prices(p, price, "")
    switch = None
    if moved is not None:
        r = price.retirement
        switch = inp.once(
            f"{p}_successor_month",
            moved.month,
            "month of the horizon (1 = the first)",
            f"{price.provider}/{price.model} retires on {r.retires} ({r.source}): {moved.model} from this month",
            INTEGER,
        )
        after = prices(f"{p}_successor", moved.price, f"{moved.model}: ")
        per_request = f"IF({{month}}+1>={switch},{after},{per_request})"

    def formula(r, m, sh=sh):
        reaching = sh.ref("model requests", r) + ("*" + share.format(r=r) if share else "")
        month = sh.ref("month", r)
        return f"={reaching}*(1-api_price_decline)^({month}/12)*" + per_request.replace("{month}", month)

    sh.add(header, formula, cost=True)
    if switch is not None:
        stated = o.migration
        usd_once = inp.once(
            f"{p}_migration_usd",
            stated.usd if stated else 0.0,
            "USD, once",
            stated.source if stated else f"none stated: $0 (set options.{o.name}.migration)",
            MONEY,
            path=f"options.{o.name}.migration.usd" if stated else None,
        )
        sh.add(
            f"{header} migration",
            lambda r, m, sh=sh: f"=IF({sh.ref('month', r)}+1={switch},{usd_once},0)",
            cost=True,
        )


def _self_hosted_columns(
    sh: Sheet,
    inp: Inputs,
    p: str,
    o: RentedOption | OwnedOption,
    h,
    sc: Scenario,
    hybrid: HybridOption | None = None,
) -> None:
    """GPUs the peak needs, the fleet kept, and the line items of a rented or owned fleet (``sc``:
    the scenario, whose sources the inputs cite)."""

    def option_field(field: str, value: float, unit: str, fmt: str = DECIMAL) -> str:
        return inp.field(f"{p}_{field}", f"options.{o.name}.{field}", value, unit, fmt)

    cap = h.capacity
    if f"{p}_capacity_rps" not in inp.names:
        inp.add(f"{p}_capacity_rps", cap.requests_per_s, "requests/s per replica at the SLO", cap.provenance)
        inp.add(f"{p}_gpus_per_replica", cap.gpus_per_replica, "GPUs", "the layout chosen by cost", INTEGER)
        option_field("max_utilization", o.max_utilization, "fraction", PERCENT)
        inp.field(f"{p}_spares", f"options.{o.name}.spare_replicas", o.spare_replicas, "replicas", INTEGER)
        inp.add(
            f"{p}_staff_per_month",
            h.staff_usd_per_month,
            "USD/month",
            f"{o.ops_staff_fte:g} FTE x ${o.ops_staff_usd_per_year:,.0f}/year / 12",
            MONEY,
        )
        if isinstance(o, RentedOption):
            inp.add(
                f"{p}_usd_per_gpu_hour",
                h.usd_per_gpu_hour,
                "USD/GPU-hour",
                "; ".join(h.notes),
                UNIT_PRICE,
                f"options.{o.name}.usd_per_gpu_hour",
            )
        else:
            gpu_price = inp.add(
                f"{p}_usd_per_gpu",
                h.capex_per_gpu - o.server_usd_per_gpu,
                "USD/GPU",
                "; ".join(h.notes),
                MONEY,
                f"options.{o.name}.usd_per_gpu",
            )
            server = option_field("server_usd_per_gpu", o.server_usd_per_gpu, "USD/GPU", MONEY)
            inp.derive(
                f"{p}_capex_per_gpu", f"={gpu_price}+{server}", "USD/GPU", "the GPU and its share of the server", MONEY
            )
            inp.add(f"{p}_tdp_kw", h.tdp_watts / 1000, "kW", "GPU catalog (TDP)")
            for name, value, unit in (
                ("server_power_factor", o.server_power_factor, "ratio"),
                ("idle_power_fraction", o.idle_power_fraction, "fraction"),
                ("pue", o.pue, "ratio"),
                ("usd_per_kwh", o.usd_per_kwh, "USD/kWh"),
                ("colocation_usd_per_kw_month", o.colocation_usd_per_kw_month, "USD/kW-month"),
                ("maintenance_per_year", o.maintenance_per_year, "fraction/year"),
                ("residual_value", o.residual_value, "fraction of capex"),
                ("depreciation_years", o.depreciation_years, "years"),
                ("count_residual", 1.0 if o.count_residual else 0.0, "1 = yes"),
            ):
                fmt = (
                    PERCENT
                    if unit.startswith("fraction")
                    else UNIT_PRICE
                    if unit.startswith("USD")
                    else INTEGER
                    if unit == "1 = yes"
                    else DECIMAL
                )
                option_field(name, value, unit, fmt)
            inp.derive(f"{p}_depreciation_months", f"={p}_depreciation_years*12", "months", "years x 12", INTEGER)
    tp, spares = f"{p}_gpus_per_replica", f"{p}_spares"

    def peak(r, sh=sh):
        return f"{sh.ref('model requests', r)}/(hours_per_month*3600)*MAX(load_shape)"

    sh.add(
        "GPUs needed",
        lambda r, m: (
            f"=IF({peak(r)}>0,(ROUNDUP({peak(r)}/({p}_capacity_rps*{p}_max_utilization)-0.000000001,0)+{spares})*{tp},0)"
        ),
        INTEGER,
    )
    lag = o.resize_lag_months if o.policy == "resize" else 0
    if hybrid is not None:
        fixed = inp.field(
            f"{_slug(hybrid.name)}_local_gpus", f"options.{hybrid.name}.local_gpus", hybrid.local_gpus, "GPUs", INTEGER
        )
        sh.add("GPUs", lambda r, m: f"={fixed}", INTEGER)
    elif o.gpus is not None:
        fixed = option_field("gpus", o.gpus, "GPUs", INTEGER)
        sh.add("GPUs", lambda r, m: f"={fixed}", INTEGER)
    elif lag:
        sh.add("GPUs", lambda r, m, sh=sh: f"={sh.ref('GPUs needed', max(r - lag, 2))}", INTEGER)
    else:
        sh.add("GPUs", lambda r, m, sh=sh: f"={sh.ref('GPUs needed', r)}", INTEGER)
    kept = isinstance(o, OwnedOption) or o.committed
    if kept:  # bought or committed: the fleet never shrinks
        sh.add(
            "GPUs held",
            lambda r, m, sh=sh: (
                f"={sh.ref('GPUs', r)}" if m == 0 else f"=MAX({sh.ref('GPUs held', r - 1)},{sh.ref('GPUs', r)})"
            ),
            INTEGER,
        )
    fleet = "GPUs held" if kept else "GPUs"
    follows = hybrid is None and o.gpus is None and not lag
    if follows:  # served: the mean load up to the fleet's full SLO capacity (spares idle)
        sh.add(
            "served requests/s",
            lambda r, m, sh=sh: (
                f"=MIN({sh.ref('model requests', r)}/(hours_per_month*3600),MAX(ROUNDDOWN({sh.ref('GPUs', r)}/{tp},0)"
                f"-{spares},0)*{p}_capacity_rps)"
            ),
            DECIMAL,
        )
    else:  # a fleet that does not follow demand serves each hour of the day's shape up to its capacity
        if hybrid is not None:  # its planned utilisation, and only the classes its model is good enough for
            servable = _servable_share(inp, hybrid, local_option=o, sc=sc)
            capacity = f"MAX(ROUNDDOWN({fixed}/{tp},0)-{spares},0)*{p}_capacity_rps*{p}_max_utilization"
        else:
            servable, capacity = "1", f"MAX(ROUNDDOWN({{gpus}}/{tp},0)-{spares},0)*{p}_capacity_rps"

        def share(r, m, sh=sh):
            mean = f"{sh.ref('model requests', r)}/(hours_per_month*3600)*{servable}"
            return "=" + _local_share(mean, capacity.format(gpus=sh.ref("GPUs", r))) + f"*{servable}"

        sh.add("served share", share, PERCENT)
        if hybrid is None:
            sh.add(
                "unserved",
                lambda r, m, sh=sh: f"={sh.ref('model requests', r)}*(1-{sh.ref('served share', r)})",
                INTEGER,
            )
        sh.add(
            "served requests/s",
            lambda r, m, sh=sh: f"={sh.ref('model requests', r)}/(hours_per_month*3600)*{sh.ref('served share', r)}",
            DECIMAL,
        )
    prefix = "local_" if hybrid is not None else ""
    staff = f"{p}_staff_per_month"
    if isinstance(o, RentedOption):
        index = "1" if kept else "(1-gpu_rent_decline)^({month}/12)"
        sh.add(
            f"{prefix}rent",
            lambda r, m, sh=sh: (
                f"={sh.ref(fleet, r)}*hours_per_month*{p}_usd_per_gpu_hour*" + index.format(month=sh.ref("month", r))
            ),
            cost=True,
        )
        sh.add(f"{prefix}staff", lambda r, m: f"={staff}", cost=True)
        return
    power = f"{p}_tdp_kw*{p}_server_power_factor*{p}_pue*hours_per_month*{p}_usd_per_kwh"
    sh.add(
        "GPUs bought",
        lambda r, m, sh=sh: (
            f"={sh.ref('GPUs held', r)}" if m == 0 else f"={sh.ref('GPUs held', r)}-{sh.ref('GPUs held', r - 1)}"
        ),
        INTEGER,
    )
    sh.add(
        "loaded GPUs",
        lambda r, m, sh=sh: (
            f"=MIN(MAX({sh.ref('served requests/s', r)}*{tp}/{p}_capacity_rps,0),"
            f"MAX({sh.ref('GPUs held', r)}-{spares}*{tp},0))"
        ),
        DECIMAL,
    )
    sh.add(f"{prefix}capex", lambda r, m, sh=sh: f"={sh.ref('GPUs bought', r)}*{p}_capex_per_gpu", cost=True)
    sh.add(
        f"{prefix}power",
        lambda r, m, sh=sh: (
            f"=({sh.ref('GPUs held', r)}*{p}_idle_power_fraction"
            f"+{sh.ref('loaded GPUs', r)}*(1-{p}_idle_power_fraction))*{power}"
        ),
        cost=True,
    )
    sh.add(
        f"{prefix}colocation",
        lambda r, m, sh=sh: (
            f"={sh.ref('GPUs held', r)}*{p}_tdp_kw*{p}_server_power_factor*{p}_colocation_usd_per_kw_month"
        ),
        cost=True,
    )
    sh.add(
        f"{prefix}maintenance",
        lambda r, m, sh=sh: f"={sh.ref('GPUs held', r)}*{p}_capex_per_gpu*{p}_maintenance_per_year/12",
        cost=True,
    )
    sh.add(f"{prefix}staff", lambda r, m: f"={staff}", cost=True)
    sh.add(
        "book value share",
        lambda r, m, sh=sh: (
            f"=1-(1-{p}_residual_value)*MIN(horizon_months-{sh.ref('month', r)},{p}_depreciation_months)"
            f"/{p}_depreciation_months"
        ),
        PERCENT,
    )
    last = sh.months + 1
    sh.add(
        f"{prefix}residual",
        lambda r, m, sh=sh: (
            f"=-{p}_count_residual*{p}_capex_per_gpu*SUMPRODUCT({sh.rng('GPUs bought')},{sh.rng('book value share')})"
            if r == last
            else 0.0
        ),
        cost=True,
    )


def _local_share(mean: str, capacity: str) -> str:
    """The share of a day's requests a fleet of ``capacity`` requests/s serves at a mean of ``mean``
    requests/s under ``load_shape`` (:func:`costmodel.core.demand.local_share`): each hour it serves
    up to its capacity, so the share is ``1 - sum_h max(s_h x mean - capacity, 0) / (24 x mean)``;
    with no load, 1 if there is a fleet."""
    over = f"SUMPRODUCT((load_shape*({mean})>{capacity})*(load_shape*({mean})-{capacity}))"
    return f"IF(({mean})>0,1-{over}/(COUNT(load_shape)*({mean})),IF({capacity}>0,1,0))"


def _servable_share(inp: Inputs, hybrid: HybridOption, local_option, sc: Scenario) -> str:
    """The share of requests a hybrid's local model is good enough for: the sum of those classes'
    shares (all requests when it meets every class's bar or quality is unknown)."""
    classes = sc.workload.classes
    ok = servable_classes(local_option, sc)
    if len(ok) == len(classes):
        return "1"
    shares = [
        inp.once(f"class_{_slug(c.name)}_share", c.share, "fraction of requests", "workload.request_classes", PERCENT)
        for c in ok
    ]
    return inp.derive(
        f"{_slug(hybrid.name)}_servable_share",
        "=" + ("+".join(shares) or "0"),
        "fraction of requests",
        f"the classes {local_option.name}'s model is good enough for: " + (", ".join(c.name for c in ok) or "none"),
        PERCENT,
    )


def _extra_columns(sh: Sheet, inp: Inputs, p: str, lines: list[tuple[str, ExtraCost, str | None]]) -> None:
    """One column per extra cost line (header, line, share); a line paid per request or per token
    applies to ``share`` (a named figure: the share of requests of a router's members carrying it),
    else to all."""
    for header, e, share in lines:
        name = inp.once(f"{p}_{_slug(header)}", e.usd, f"USD per {e.per}", e.source, MONEY)
        scale = f"*{share}" if share else ""
        used = f"{share}>0" if share else "TRUE()"  # a router member's line counts if any class reaches it
        if e.per == "month":
            sh.add(header, lambda r, m, name=name, used=used: f"=IF({used},{name},0)", cost=True)
        elif e.per == "one-off":
            sh.add(
                header,
                lambda r, m, name=name, e=e, sh=sh, used=used: (
                    f"=IF(AND({used},{sh.ref('month', r)}={e.month}),{name},0)"
                ),
                cost=True,
            )
        elif e.per == "request":
            sh.add(
                header,
                lambda r, m, name=name, sh=sh, scale=scale: f"={sh.ref('model requests', r)}*{name}{scale}",
                cost=True,
            )
        else:
            sh.add(
                header,
                lambda r, m, name=name, sh=sh, scale=scale: (
                    f"={sh.ref('model requests', r)}*(input_tokens+output_tokens)/1000000*{name}{scale}"
                ),
                cost=True,
            )


def _class_inputs(inp: Inputs, sc) -> dict[str, tuple[str, str, str]]:
    """Per request class: its share, input and output tokens as named figures. A class's tokens are
    the workload's means times its multiple: a stated multiple is an input, the others take what
    keeps the means (derived)."""
    classes = sc.workload.classes
    out: dict[str, tuple[str, str, str]] = {}
    for c in classes:
        cs = _slug(c.name)
        share = inp.once(f"class_{cs}_share", c.share, "fraction of requests", "workload.request_classes", PERCENT)
        out[c.name] = (share, "", "")
    for i, (attr, mean) in enumerate(
        (("input_tokens_factor", "input_tokens"), ("output_tokens_factor", "output_tokens"))
    ):
        stated = [c for c in classes if getattr(c, attr) is not None]
        free = [c for c in classes if getattr(c, attr) is None]
        factors = {
            c.name: inp.once(
                f"class_{_slug(c.name)}_{mean}_factor",
                getattr(c, attr),
                "x the workload's mean",
                sc.sources.get("workload.request_classes", "workload.request_classes"),
            )
            for c in stated
        }
        if free:
            given = "".join(f"-{out[c.name][0]}*{factors[c.name]}" for c in stated)
            rest = "+".join(out[c.name][0] for c in free)
            for c in free:
                factors[c.name] = inp.names.get(f"class_{_slug(c.name)}_{mean}_factor") or inp.derive(
                    f"class_{_slug(c.name)}_{mean}_factor",
                    f"=(1{given})/({rest})",
                    "x the workload's mean",
                    "what keeps the workload's mean",
                )
        for c in classes:
            name = inp.names.get(f"class_{_slug(c.name)}_{mean}") or inp.derive(
                f"class_{_slug(c.name)}_{mean}",
                f"={mean}*{factors[c.name]}",
                "tokens/request",
                "the workload's mean x the class's multiple",
                INTEGER,
            )
            share, tin, tout = out[c.name]
            out[c.name] = (share, name, tout) if i == 0 else (share, tin, name)
    return out


def _classifier_column(sh: Sheet, inp: Inputs, o: RouterOption, prices, sc: Scenario) -> None:
    """The classifier's line: every request reaching a model is classified (an api classifier at
    its tokens and the catalog's price, following the API price trend)."""
    k = o.classifier
    if k is None or k.kind == "labelled":
        return
    r = _slug(o.name)
    if k.kind == "api":
        assert k.api_provider and k.api_model
        price = prices[(k.api_provider, k.api_model)]
        pin = inp.add(
            f"{r}_classifier_input_price", float(price.input), "USD/1M tokens", price.input.source, UNIT_PRICE
        )
        pout = inp.add(
            f"{r}_classifier_output_price", float(price.output), "USD/1M tokens", price.output.source, UNIT_PRICE
        )
        pt = inp.add(f"{r}_classifier_prompt_tokens", k.prompt_tokens or 0.0, "tokens/request", k.source, INTEGER)
        at = inp.add(f"{r}_classifier_answer_tokens", k.answer_tokens or 0.0, "tokens/request", k.source, INTEGER)
        rate = inp.derive(
            f"{r}_classifier_usd_per_request",
            f"=({pt}*{pin}+{at}*{pout})/1000000",
            "USD/request",
            "prompt and answer tokens at the classifier model's prices",
            '"$"#,##0.000000',
        )
        moved = classifier_successor(o, sc, prices)
        if moved is not None:  # from the month its model retires, at the successor's prices
            ret = price.retirement
            switch = inp.add(
                f"{r}_classifier_successor_month",
                moved.month,
                "month of the horizon (1 = the first)",
                f"{k.api_provider}/{k.api_model} retires on {ret.retires} ({ret.source}): "
                f"{moved.model} from this month",
                INTEGER,
            )
            new_in, new_out = (
                inp.add(
                    f"{r}_classifier_successor_{what}_price",
                    float(getattr(moved.price, what)),
                    "USD/1M tokens",
                    f"{moved.model}: {getattr(moved.price, what).source}",
                    UNIT_PRICE,
                )
                for what in ("input", "output")
            )
            rate = f"IF({{month}}+1>={switch},({pt}*{new_in}+{at}*{new_out})/1000000,{rate})"
        trend = "*(1-api_price_decline)^({month}/12)"
    else:
        rate = inp.add(
            f"{r}_classifier_usd_per_request", k.usd_per_request or 0.0, "USD/request", k.source, '"$"#,##0.000000'
        )
        trend = ""
    monthly = inp.add(f"{r}_classifier_usd_per_month", k.usd_per_month, "USD/month", k.source, MONEY)
    sh.add(
        "classifier",
        lambda row, m: (
            f"={sh.ref('model requests', row)}*{rate.replace('{month}', sh.ref('month', row))}"
            f"{trend.format(month=sh.ref('month', row))}+{monthly}"
        ),
        cost=True,
    )


def _escalation_inputs(inp: Inputs, o: RouterOption, sc, checked: dict[str, list[tuple[str, str]]]) -> dict:
    """Per (checked member, true class): the share of its answers the check flags, derived from the
    member's accuracy on the class (an input, with its source) and the check's rates (inputs)."""
    e = o.escalation
    assert e is not None
    r = _slug(o.name)
    catches = inp.add(f"{r}_escalation_catches", e.catches, "share of wrong answers flagged", e.source, PERCENT)
    alarms = inp.add(
        f"{r}_escalation_false_alarms", e.false_alarms, "share of right answers flagged", e.source, PERCENT
    )
    out = {}
    for member, ts in checked.items():
        for t in dict.fromkeys(t for _, t in ts):
            score = member_score(member, t, sc)
            if score is None:  # unknown accuracy: the larger rate, as the engine takes it
                formula = f"=MAX({catches},{alarms})"
            else:
                acc = inp.once(
                    f"accuracy_{_slug(member)}_{_slug(t)}",
                    score.accuracy,
                    "fraction",
                    score.source or score.basis,
                    PERCENT,
                )
                formula = f"={acc}*{alarms}+(1-{acc})*{catches}"
            out[(member, t)] = inp.derive(
                f"{r}_flagged_{_slug(member)}_{_slug(t)}",
                formula,
                "share of answers",
                f"answers of {member} on {t} the check flags",
                PERCENT,
            )
    return out


def _router_columns(
    book: Book, sh: Sheet, o: RouterOption, ev: Evaluation, prepared
) -> list[tuple[str, ExtraCost, str | None]]:
    """A router's sheet: each member used on the requests it receives, then the classifier and the
    members' extra cost lines (once per provider, or once if shared). A member's share and tokens
    are figures derived from the class shares, the classes' tokens and the classifier's confusion
    matrix (inputs), along the routes the engine chose. An API member bills on this sheet; a fleet
    member gets its own share sheet (``cf <router>.<member>``) whose total this sheet takes; a hybrid
    member's cost is the engine's (marked ``(engine)``: its hour-by-hour split has no closed form)."""
    sc, inp = ev.scenario, book.inp
    routing = ev.option(o.name).routing
    assert routing is not None  # a router's result carries its routes
    r = _slug(o.name)
    classes = _class_inputs(inp, sc)
    matrix = confusion(o, sc)
    k = o.classifier
    how = k.source if k is not None else "no classifier: one class"
    conf = {
        (t, p): inp.add(f"{r}_confusion_{_slug(t)}_{_slug(p)}", matrix[t][p], "share of the true class", how, PERCENT)
        for t in matrix
        for p in matrix[t]
    }
    _classifier_column(sh, inp, o, prepared.catalog.api_prices if prepared.catalog is not None else {}, sc)
    # Routes are decisions, so inputs: one per class, among the members this sheet can cost by formula
    # (those the engine's routes use, and every API member); the checks sheet says what the engine
    # would choose. Each member's traffic: (weight formula, true class) terms along the routes.
    candidates = [m for m in o.members if m in routing.mixes or isinstance(sc.option(m), ApiOption)]
    if o.escalation is not None and o.escalation.to not in candidates:
        candidates.append(o.escalation.to)
    inp.routes[o.name] = {
        p: inp.choice(
            f"{r}_route_{_slug(p)}",
            member,
            candidates,
            "the engine's choice: the cheapest assignment meeting every class's quality and the SLO (see checks)",
            f"options.{o.name}.routes.{p}",
        )
        for p, member in routing.routes.items()
    }
    terms: dict[str, list[tuple[str, str]]] = {m: [] for m in candidates}
    for member in candidates:
        for p, route in inp.routes[o.name].items():
            terms[member] += [(f'IF({route}="{member}",{classes[t][0]}*{conf[(t, p)]},0)', t) for t in matrix]
    esc = o.escalation
    if esc is not None:
        flagged = _escalation_inputs(inp, o, sc, {m: ts for m, ts in terms.items() if m != esc.to})
        terms[esc.to] = terms.get(esc.to, []) + [
            (f"{w}*{flagged[(m, t)]}", t) for m, ts in terms.items() if m != esc.to for w, t in ts
        ]
    names = {}
    cost = member_cost(o, sc, prepared)
    for member in candidates:
        mix = routing.mixes.get(member, {})
        names[member] = inp.derive(
            f"{r}_share_{_slug(member)}",
            "=" + ("+".join(w for w, _ in terms[member]) or "0"),
            "fraction of requests",
            f"class shares x confusion along the routes to {member}"
            + (", and the answers escalated to it" if esc is not None and member == esc.to else ""),
            PERCENT,
        )
        tin, tout = (
            inp.derive(
                f"{r}_{_slug(member)}_{what}",
                f"=IF({names[member]}>0,("
                + "+".join(f"{w}*{classes[t][i]}" for w, t in terms[member])
                + f")/{names[member]},0)",
                "tokens/request",
                "mean tokens of the true classes the member receives",
                INTEGER,
            )
            for i, what in ((1, "input_tokens"), (2, "output_tokens"))
        )
        m = sc.option(member)
        header = f"via {member}"
        if isinstance(m, ApiOption):
            _api_columns(
                sh,
                inp,
                _slug(member),
                m,
                prepared.prices[member],
                header,
                share=names[member],
                tokens=(tin, tout),
                moved=prepared.successors.get(member),
            )
        elif isinstance(m, RentedOption | OwnedOption):  # a member of the engine's routes: it has a mix
            items, _ = cost(m, mix)
            cf = pd.DataFrame({k: np.asarray(items[k], float) for k in ("unserved",) if k in items})
            part = book.sheet(f"cf {o.name}.{member}", share=names[member])
            fleet = prepared.member_fleet(member, member_view(o, mix, sc, member) or sc)
            # sized for other tokens or a tighter TTFT than the option alone: its own capacity inputs
            prefix = _slug(member) if fleet is prepared.fleets[member] else f"{r}_{_slug(member)}"
            _self_hosted_columns(part, inp, prefix, m, fleet, sc=sc)
            book.close(part, f"{r}_{_slug(member)}", cf, lines=None)
            title, col = part.ws.title, part.col("total")
            sh.add(header, lambda row, n, title=title, col=col: f"='{title}'!{col}{row}", cost=True)
        else:
            values = ev.option(o.name).cashflow[header].to_numpy()
            sh.add(f"{header} (engine)", lambda row, n, values=values: float(values[n]), cost=True)
    if esc is not None and esc.check_usd_per_request:
        checked = "+".join(names[m] for m in candidates if m != esc.to) or "0"
        check = inp.add(
            f"{r}_escalation_check_usd", esc.check_usd_per_request, "USD/answer checked", esc.source, '"$"#,##0.000000'
        )
        sh.add(
            "escalation_check",
            lambda row, n: f"={sh.ref('model requests', row)}*({checked})*{check}",
            cost=True,
        )
    carried: dict[tuple[str, str], tuple[ExtraCost, list[str]]] = {}
    for member in candidates:
        for e in sc.option(member).extra_costs:
            key = (e.name, "" if e.scope == "shared" else sc.provider_key(member))
            carried.setdefault(key, (e, []))[1].append(names[member])
    count_by_name: dict[str, int] = {}
    for name, _provider in carried:
        count_by_name[name] = count_by_name.get(name, 0) + 1
    return [
        (f"{name} ({provider})" if count_by_name[name] > 1 else name, e, "(" + "+".join(shares_of) + ")")
        for (name, provider), (e, shares_of) in carried.items()
    ] + [(e.name, e, None) for e in o.extra_costs]


def _summary(ws, doc: Document, sheets: dict[str, Sheet], contenders: set[str], inp: Inputs) -> None:
    """One row per option: totals and NPVs read from its sheet, the engine's verdicts (SLO, quality,
    whether it contends), and ``recommended`` by formula: the contender with the lowest NPV of cost."""
    headers = (
        "option",
        "label",
        "kind",
        "total cost",
        "NPV of cost",
        "$ per 1M tokens",
        "GPUs at peak",
        "SLO",
        "quality",
        "contends",
        "recommended",
        "NPV if it contends",
    )
    for c, h in enumerate(headers, start=1):
        ws.cell(1, c, h).font = HEADER
    last = len(doc.options) + 1
    for i, o in enumerate(doc.options, start=2):
        sh = sheets[o.name]
        title = sh.ws.title
        c = len(sh.columns) + 2
        col = get_column_letter(c)
        ws.cell(i, 1, o.name)
        ws.cell(i, 2, o.label)
        ws.cell(i, 3, o.kind)
        ws.cell(i, 4, f"='{title}'!${col}$4").number_format = MONEY
        ws.cell(i, 5, f"=-'{title}'!${col}$2").number_format = MONEY  # cost positive, as every face shows it
        ws.cell(i, 6, f"='{title}'!${col}$4/'{title}'!${col}$6*1000000").number_format = '"$"#,##0.000'
        if "GPUs" in sh.columns:
            ws.cell(i, 7, f"=MAX('{title}'!{sh.rng('GPUs')})").number_format = INTEGER
        else:
            ws.cell(i, 7, "–")
        ws.cell(i, 8, o.slo.word)
        ws.cell(i, 9, o.quality.word)
        ws.cell(i, 10, yes_no(o.name in contenders))
        ws.cell(i, 11, f'=IF(AND(J{i}="yes",E{i}=MIN($L$2:$L${last})),"yes","no")')
        ws.cell(i, 12, f'=IF(J{i}="yes",E{i},"")').number_format = MONEY
    ws.freeze_panes = "B2"
    for letter, width in zip("ABCDEFGHIJKL", (22, 40, 9, 16, 16, 15, 13, 12, 18, 10, 12, 16), strict=True):
        ws.column_dimensions[letter].width = width
    notes = (
        "Every figure is a formula over the inputs sheet: change an input (yellow) and the cash flows, "
        "totals, NPVs and the recommendation follow.",
        "SLO, quality and contends are the engine's verdicts at the inputs as written (an option contends when it "
        "is not known to miss the SLO or the quality bar); the checks sheet says when a change may move them.",
        *(
            f"{what}: {note}"
            for what, note in (("Stale prices", doc.stale_prices_note), ("Retiring models", doc.retiring_models_note))
            if note
        ),
    )
    for k, note in enumerate(notes):
        ws.cell(last + 2 + k, 1, note).alignment = Alignment(wrap_text=False)
    ws.cell(last + 2 + len(notes), 1, "inputs changed since tco wrote this workbook:")
    ws.cell(last + 2 + len(notes), 5, "=checks!C2")


def _checks(ws, inp: Inputs, ev: Evaluation, prepared) -> None:
    """What the spreadsheet cannot recompute, said where a reviewer looks: the engine's figures
    (capacity per replica, layouts, routes, verdicts) hold at the inputs as written; after a change
    each row says whether it may have moved, and the ``--set`` line gives the engine the same change."""
    for c, h in enumerate(("check", "depends on", "status"), start=1):
        ws.cell(1, c, h).font = HEADER
    first, last = 2, inp.row
    ws.cell(2, 1, "inputs changed since tco wrote this workbook")
    ws.cell(2, 2, "every input (yellow) against its value as written")
    ws.cell(2, 3, f'=SUMPRODUCT((inputs!B{first}:B{last}<>inputs!E{first}:E{last})*(inputs!E{first}:E{last}<>""))')
    ws.cell(2, 3).number_format = INTEGER
    ws.cell(3, 1, "the same change in tco")
    ws.cell(3, 2, "the changed inputs as --set (run it to see the engine's figures at these inputs)")
    ws.cell(3, 3, f'=IF(C2=0,"no change","tco evaluate {ev.scenario.name}.yaml"&_xlfn.CONCAT(inputs!G{first}:G{last}))')
    row = 4
    tokens = ["input_tokens", "output_tokens", "cached_input_share"]
    for name, h in prepared.fleets.items():
        p = _slug(name)
        if f"{p}_capacity_rps" not in inp.names:
            continue
        ws.cell(
            row,
            1,
            f"{name}: {h.capacity.requests_per_s:,.3f} requests/s per replica of "
            + count(h.capacity.gpus_per_replica, "GPU" if h.capacity.gpus_per_replica == 1 else "GPUs"),
        )
        ws.cell(
            row, 2, "the engine's roofline at the tokens per request and cached share (and the layout chosen by cost)"
        )
        ws.cell(
            row,
            3,
            f'=IF({inp.changed(tokens)},"stale: the engine sizes a replica at the tokens it is given; '
            f'run the --set line and copy its capacity into {p}_capacity_rps",IF($C$2>0,"holds at these tokens; '
            f'the layout may differ if prices moved: run the --set line","holds: the engine\'s figure"))',
        )
        row += 1
    table = 0  # the routers' frontiers, side by side with the checks (columns E:G)
    for r in ev.options:
        if r.routing is None or r.name not in inp.routes:
            continue
        routes = ", ".join(f"{c} -> {m}" for c, m in r.routing.routes.items())
        ws.cell(row, 1, f"{r.name} routes {routes}")
        ws.cell(row, 2, "a decision (the route inputs): the engine costs every assignment, takes the cheapest eligible")
        first_row, last_row = _frontier_table(ws, r, table + 1)
        table = last_row + 1
        names = inp.routes[r.name]
        key = '&"|"&'.join(names.values())
        moved = "(" + "+".join(f"(inputs!B{inp.rows[n]}<>inputs!E{inp.rows[n]})" for n in names.values()) + ")"
        rows = f"$E${first_row}:$G${last_row}"
        chosen = float(r.routing.frontier.loc[r.routing.frontier["chosen"], "npv_usd"].iloc[0])
        ws.cell(
            row,
            3,
            f'=IF({moved}=0,IF($C$2>0,"check: the engine may route differently at these inputs: run the --set line",'
            f'"holds: the engine\'s choice"),IF($C$2>{moved},"check: routes and other inputs changed: run the --set '
            f'line (it fixes these routes)",IFERROR(IF(VLOOKUP({key},{rows},3,0)="yes",'
            f'"the engine would route {routes}: at the inputs as written these routes cost "'
            f'&TEXT(VLOOKUP({key},{rows},2,0)-{-chosen:.2f},"$#,##0")&'
            f'" more (NPV of cost)","the engine would route {routes}: it does not take these (a class\'s quality or '
            f'the SLO)"),"these routes were not costed by the engine")))',
        )
        row += 1
    ws.cell(row, 1, "SLO, quality and which options contend (summary)")
    ws.cell(row, 2, "the engine's verdicts: latency at the fleet's load, accuracy by class, unserved share")
    ws.cell(
        row,
        3,
        '=IF($C$2>0,"check: a verdict may differ at these inputs: run the --set line","holds: the engine\'s verdicts")',
    )
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width, ws.column_dimensions["C"].width = 60, 70, 90


def _frontier_table(ws, r, first: int) -> tuple[int, int]:
    """Every assignment the engine costed for router ``r`` (columns E:G from row ``first``): its
    routes as the route inputs spell them, its NPV of cost and whether the engine could take it
    (the frontier's ``considered``). Returns the table's first and last data rows."""
    routing = r.routing
    f = routing.frontier
    for c, h in enumerate((f"{r.name}: assignment", "NPV of cost", "the engine may take it"), start=5):
        ws.cell(first, c, h).font = HEADER
    for i, (_, row) in enumerate(f.iterrows(), start=first + 1):
        ws.cell(i, 5, "|".join(str(row[f"class {p}"]) for p in routing.routes))
        ws.cell(i, 6, -float(row["npv_usd"])).number_format = MONEY
        ws.cell(i, 7, yes_no(bool(row["considered"])))
    ws.column_dimensions["E"].width, ws.column_dimensions["F"].width, ws.column_dimensions["G"].width = 50, 16, 22
    return first + 1, first + len(f)


def _assumptions(ws, doc: Document) -> None:
    headers = ("input", "value", "unit", "source", "as_of", "basis")
    for c, h in enumerate(headers, start=1):
        ws.cell(1, c, h).font = HEADER
    for i, a in enumerate(doc.assumptions, start=2):
        for c, h in enumerate(headers, start=1):
            ws.cell(i, c, getattr(a, h))
    ws.freeze_panes = "A2"
    ws.column_dimensions["A"].width, ws.column_dimensions["D"].width = 44, 90


def _monte_carlo(ws, mc: MonteCarlo) -> None:
    money = [f"{what}_{p}" for what in ("total_cost", "npv_cost") for p in ("p10", "p50", "p90")]
    shares = ["p_cheapest", "p_slo", *(f"{what}_p{p}" for what in ("unserved", "stranded") for p in (10, 50, 90))]
    for c, h in enumerate(["option", *money, *shares], start=1):
        ws.cell(1, c, h).font = HEADER
    for i, o in enumerate(mc.options, start=2):
        ws.cell(i, 1, o.name)
        values = [getattr(getattr(o, f"{m.rsplit('_', 1)[0]}_usd"), m.rsplit("_", 1)[1]) for m in money]
        for c, v in enumerate(values, start=2):
            ws.cell(i, c, v).number_format = MONEY
        for c, h in enumerate(shares, start=2 + len(money)):
            v = getattr(o, h)
            if v is None:
                ws.cell(i, c, "–")
            else:
                ws.cell(i, c, v).number_format = PERCENT
    ws.freeze_panes = "B2"
