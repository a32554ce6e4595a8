"""Plotly figures of an evaluation document. Pure: the document (or a part of it) in, ``go.Figure``
out; a figure that cannot be drawn for a scenario says why in its place (:func:`says`).

One trace per option in scenario order, with the same colour in every figure. Figures
carry no template: building one costs ~28 ms (plotly validates and copies it), so callers
set ``plotly.io.templates.default`` once (:data:`TEMPLATE`).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from costmodel.model.evaluation import CapacityStudy, Document, HybridSweep, MonteCarlo, Routing, Sensitivity
from costmodel.text import compact, count, percent, usd_rate

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
SLO_COLOR = {True: "#2ca02c", False: "#d62728", None: "#bcbd22"}
TEMPLATE = "plotly_white"
LAYOUT = dict(  # the legend below the plot, so a long title never runs into it
    margin=dict(l=70, r=20, t=60, b=110), height=460, legend=dict(orientation="h", yanchor="top", y=-0.22, x=0)
)
ELIGIBILITY_COLOR = {"eligible": "#2ca02c", "slo": "#d62728", "quality": "#9467bd", "unverified": "#bcbd22"}


def _log_ticks(low: float, high: float, money: bool = False) -> dict:
    """Tick values and labels of a log axis at powers of ten only (no stray 2 and 5 ticks), in
    readable units: ``1M`` requests, ``$10k``."""
    low, high = max(low, 1e-12), max(high, low * 10)
    powers = [10.0**k for k in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)]
    return dict(tickvals=powers, ticktext=[("$" if money else "") + compact(v) for v in powers])


def eligibility(o) -> str:
    """How an option stands: eligible (SLO met or not known missed, and quality not missed) with its
    latency met or unverified, or excluded for the SLO or for quality."""
    if o.slo.met is False:
        return "slo"
    if o.quality.met is False:
        return "quality"
    return "eligible" if o.slo.met else "unverified"


def _list(values) -> list:
    """Plain lists for trace data: the figure's JSON stays readable and free of binary buffers."""
    return np.asarray(values, dtype=float).tolist()


def says(title: str, text: str, height: int = 300) -> go.Figure:
    """A figure that cannot be drawn for this scenario says why, in place."""
    fig = go.Figure(layout={**LAYOUT, "height": height})
    fig.add_annotation(
        text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=14, color="#555")
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title)
    return fig


def cost_vs_volume(d: Document) -> go.Figure:
    """Steady-state monthly cost of each option against monthly volume, break-evens marked."""
    title = "Monthly cost vs volume (capex spread over its life)"
    c = d.volume_curves
    if c is None:
        return says(title, d.volume_curves_note)
    fig = go.Figure(layout=LAYOUT)
    for i, (name, ys) in enumerate(c.monthly_cost_usd.items()):
        fig.add_scatter(
            x=c.volumes_per_month,
            y=ys,
            name=name,
            mode="lines",
            line=dict(color=PALETTE[i % 8], width=2, shape="hv" if c.step[name] else "linear"),
        )
    be = c.break_evens
    fig.add_scatter(
        x=[b.requests_per_month for b in be],
        y=[b.monthly_cost_usd for b in be],
        name="break-even",
        mode="markers+text",
        marker=dict(size=11, symbol="x", color="black"),
        text=[compact(b.requests_per_month) for b in be],
        textposition=["top center" if i % 2 == 0 else "bottom center" for i in range(len(be))],  # neighbours apart
        hovertext=[f"{b.self_hosted} = {b.api} at {count(b.requests_per_month)} req/month" for b in be],
    )
    fig.add_vline(
        x=max(c.first_month_requests, c.volumes_per_month[0]),
        line_dash="dot",
        line_color="grey",
        annotation_text="first month",
        annotation_position="top left",
    )
    volumes = c.volumes_per_month
    costs = [v for ys in c.monthly_cost_usd.values() for v in ys if v > 0]
    fig.update_xaxes(type="log", title="requests per month", **_log_ticks(min(volumes), max(volumes)))
    if costs:
        fig.update_yaxes(type="log", title="USD per month (steady state)", **_log_ticks(min(costs), max(costs), True))
    fig.update_layout(title=title)
    return fig


def cumulative_cost(d: Document) -> go.Figure:
    """Cumulative cash cost of each option over the horizon."""
    fig = go.Figure(layout=LAYOUT)
    for i, o in enumerate(d.options):
        fig.add_scatter(
            x=o.monthly["month"],
            y=o.monthly["cumulative"],
            name=o.name,
            mode="lines",
            line=dict(color=PALETTE[i % 8], width=2.5 if o.recommended else 1.5),
        )
    fig.update_xaxes(title="month")
    fig.update_yaxes(title="cumulative cost, USD")
    fig.update_layout(title="Cumulative cash cost")
    return fig


def cost_per_million(d: Document) -> go.Figure:
    """USD per 1M tokens (input + output) over the horizon, coloured by eligibility: the latency SLO
    and every class's quality (an option a class's bar excludes is not shown as eligible)."""
    shown = [o for o in d.options if o.usd_per_million_tokens is not None]
    title = (
        "Cost per 1M tokens<br><sup>green: eligible · olive: eligible, latency unverified · red: misses the SLO · "
        "purple: misses a class's quality</sup>"
    )
    if not shown:
        return says(title, "no option serves any tokens in this scenario")
    fig = go.Figure(
        go.Bar(
            x=[o.name for o in shown],
            y=[o.usd_per_million_tokens for o in shown],
            marker_color=[ELIGIBILITY_COLOR[eligibility(o)] for o in shown],
            text=[usd_rate(o.usd_per_million_tokens) for o in shown],
            textposition="outside",
            hovertext=[f"SLO {o.slo.word}; quality {o.quality.word}" for o in shown],
        ),
        layout=LAYOUT,
    )
    fig.update_yaxes(title="USD per 1M tokens")
    fig.update_layout(title=title, showlegend=False)
    return fig


def gpus_and_slo(d: Document) -> go.Figure:
    """GPUs at peak per option with GPUs (its own or a self-hosted member's), with the SLO status
    and where capacity came from."""
    hosted = [o for o in d.options if o.gpus_at_peak is not None]
    title = "GPUs needed at peak and SLO status"
    if not hosted:
        return says(title, "no option in this scenario runs GPUs of its own")
    fig = go.Figure(
        go.Bar(
            x=[o.name for o in hosted],
            y=[o.gpus_at_peak for o in hosted],
            marker_color=[SLO_COLOR[o.slo.met] for o in hosted],
            text=[
                f"{count(o.gpus_at_peak, 'GPUs')}, SLO {o.slo.word}, "
                + (o.capacity.basis if o.capacity is not None else "members' capacity")
                for o in hosted
            ],
            textposition="outside",
        ),
        layout=LAYOUT,
    )
    fig.update_yaxes(title="GPUs at peak")
    fig.update_layout(title=title, showlegend=False)
    return fig


def monthly_cashflow(d: Document, option: str) -> go.Figure:
    """Stacked monthly line items of one option (residual value negative)."""
    o = d.option(option)
    fig = go.Figure(layout=LAYOUT)
    for i, col in enumerate(o.line_items):
        fig.add_bar(x=o.monthly["month"], y=o.monthly[col], name=col, marker_color=PALETTE[i % 8])
    fig.update_layout(barmode="relative", title=f"Monthly cash flow: {o.label}")
    fig.update_xaxes(title="month")
    fig.update_yaxes(title="USD")
    return fig


def tornado(s: Sensitivity | None, note: str = "") -> go.Figure:
    """Tornado of the decision metric (NPV gap of the two best options) per input."""
    if s is None or s.options is None or s.base_metric_usd is None:
        why = note if s is None else s.options_note
        return says("Sensitivity", why or "no sensitivity for this scenario")
    fig = go.Figure(layout={**LAYOUT, "height": max(300, 60 + 40 * len(s.rows))})
    a, b = s.options
    base = s.base_metric_usd
    order = s.rows[::-1]
    for end, colour in (("low", "#1f77b4"), ("high", "#ff7f0e")):
        fig.add_bar(
            y=[r.factor for r in order],
            x=[getattr(r, f"metric_{end}") - base for r in order],
            base=base,
            orientation="h",
            name=f"{end} value",
            marker_color=colour,
            text=[f"{getattr(r, end):,.3g}" for r in order],
            textposition="inside",
        )
    fig.add_vline(x=0, line_color="black")
    fig.update_layout(barmode="overlay", title=f"Sensitivity: NPV({a}) - NPV({b}); left of 0, {b} wins")
    fig.update_xaxes(title="USD")
    return fig


def hybrid_sweep(sweep: HybridSweep) -> go.Figure:
    """NPV of cost of a hybrid option against its local fleet size, the optimum marked."""
    fig = go.Figure(layout=LAYOUT)
    rows = sweep.rows
    fig.add_scatter(
        x=[r.local_gpus for r in rows],
        y=[-r.npv_usd for r in rows],
        mode="lines+markers",
        name="NPV of cost",
        customdata=[r.local_share for r in rows],
        hovertemplate="%{x} GPUs: $%{y:,.0f}, %{customdata:.0%} served locally<extra></extra>",
    )
    best = next(r for r in rows if r.optimal)
    fig.add_scatter(
        x=[best.local_gpus],
        y=[-best.npv_usd],
        mode="markers+text",
        marker=dict(size=14, symbol="star", color="#d62728"),
        name="optimum",
        text=[f"optimum: {count(best.local_gpus, 'GPUs')}, {percent(best.local_share)} local"],
        textposition="top center",
    )
    fig.update_xaxes(title="local GPUs (0 = all API; right end = all local)")
    fig.update_yaxes(title="NPV of cost, USD")
    fig.update_layout(title=f"Hybrid {sweep.option}: cost against local fleet size")
    return fig


def cost_distribution(mc: MonteCarlo) -> go.Figure:
    """Monte Carlo NPV of cost per option: box from P25 to P75, whiskers P10 to P90, line at P50.

    Only the percentiles go into the figure (not the draws), so a million draws cost no more
    HTML than a thousand.
    """
    labels = [o.label for o in mc.options]
    q = {p: [getattr(o.npv_cost_usd, f"p{p}") for o in mc.options] for p in (10, 25, 50, 75, 90)}
    fig = go.Figure(layout={**LAYOUT, "height": max(320, 80 + 50 * len(labels))})
    fig.add_trace(
        go.Box(
            y=labels,
            lowerfence=q[10],
            q1=q[25],
            median=q[50],
            q3=q[75],
            upperfence=q[90],
            orientation="h",
            name="NPV of cost",
            marker_color="#1f77b4",
            boxpoints=False,
        )
    )
    fig.add_scatter(
        x=q[90],
        y=labels,
        mode="text",
        showlegend=False,
        text=[f"  P(cheapest eligible) {percent(o.p_cheapest)}" for o in mc.options],
        textposition="middle right",
    )
    fig.update_layout(
        title=f"NPV of cost over {mc.draws:,} Monte Carlo draws (box P25-P75, whiskers P10-P90)", showlegend=False
    )
    fig.update_xaxes(title="USD (present value of cost)")
    return fig


def frontier(study: CapacityStudy) -> go.Figure:
    """The throughput-interactivity frontier (InferenceMAX's view) of a capacity study: output
    tokens/s per GPU against tokens/s per user, one curve per layout, the SLO's interactivity
    (1,000 / TPOT p95 ms) marked, the SLO capacity of each layout as a point and the GPU cost per
    1M output tokens along each curve."""
    fig = go.Figure(layout=LAYOUT)
    priced = study.usd_per_gpu_hour is not None
    tpot = study.slo["tpot_p95_ms"]
    for i, lay in enumerate(s for s in study.layouts if s.frontier is not None):
        f, colour = {k: np.asarray(v) for k, v in (lay.frontier or {}).items()}, PALETTE[i % 8]
        label = f"{lay.gpus_per_replica} GPU{'s' * (lay.gpus_per_replica > 1)} per replica"
        cost = [usd_rate(x) for x in f["usd_per_million"]] if priced else [""] * len(f["per_gpu"])
        fig.add_scatter(
            x=_list(f["per_user"]),
            y=_list(f["per_gpu"]),
            name=label,
            mode="lines",
            line=dict(color=colour, width=2),
            customdata=np.column_stack(
                [_list(f["concurrency"]), _list(f["tpot_p95_ms"]), _list(f["ttft_p95_ms"]), cost]
            ),
            hovertemplate="%{x:,.0f} tok/s per user, %{y:,.0f} tok/s per GPU<br>%{customdata[0]:,.0f} sequences, "
            "p95 TPOT %{customdata[1]:,.1f} ms, p95 TTFT %{customdata[2]:,.0f} ms<br>%{customdata[3]} per 1M output"
            "<extra>" + label + "</extra>",
        )
        if priced:  # the cost printed at a few points along the curve
            marks = np.linspace(0, len(f["per_gpu"]) - 1, 4).astype(int)[1:]
            fig.add_scatter(
                x=_list(f["per_user"][marks]),
                y=_list(f["per_gpu"][marks]),
                mode="markers+text",
                text=[cost[k] for k in marks],
                textposition="top right",
                showlegend=False,
                marker=dict(color=colour, size=5),
                hoverinfo="skip",
            )
        c = lay.capacity
        if c is not None and c.slo_met and c.tpot_mean_ms:
            fig.add_scatter(
                x=[1e3 / c.tpot_mean_ms],
                y=[c.output_tokens_per_s_per_replica / lay.gpus_per_replica],
                mode="markers",
                marker=dict(color=colour, size=11, symbol="star"),
                name=f"{label}: SLO capacity",
                showlegend=False,
                hovertemplate=f"{label} at its SLO capacity: %{{y:,.0f}} tok/s per GPU<extra></extra>",
            )
    fig.add_vline(
        x=1e3 / tpot,
        line=dict(color="#7f7f7f", dash="dash"),
        annotation_text=f"SLO: TPOT p95 {tpot:g} ms",
        annotation_position="bottom right",
    )
    fig.update_layout(
        title=f"{study.title}: {count(study.input_tokens)} in / {count(study.output_tokens)} out",
        xaxis_title="interactivity: output tokens/s per user (1 / mean TPOT)",
        yaxis_title="output tokens/s per GPU",
    )
    return fig


def cost_quality_frontier(routing: Routing, name: str) -> go.Figure:
    """A router's cost-quality frontier: every assignment of classes to members it costed, NPV of
    cost against traffic-weighted accuracy; assignments meeting every class's quality (and not
    known to miss the SLO) in green, the others grey; the Pareto front joined by a line; the
    router's choice starred. Assignments of unknown accuracy are left out (counted in the title)."""
    rows = routing.frontier
    known = [r for r in rows if r.quality is not None]
    fig = go.Figure(layout=LAYOUT)
    ok = [r for r in known if r.eligible and r.quality_met]
    others = [r for r in known if not (r.eligible and r.quality_met)]
    for part, label, colour in ((ok, "meets every class", "#2ca02c"), (others, "misses a class or the SLO", "#9a9a9a")):
        fig.add_scatter(
            x=[-r.npv_usd for r in part],
            y=[r.quality for r in part],
            mode="markers",
            name=label,
            marker=dict(color=colour, size=9),
            text=[r.routes for r in part],
            hovertemplate="%{text}<br>NPV of cost $%{x:,.0f}, accuracy %{y:.1%}<extra></extra>",
        )
    front = sorted((r for r in known if r.pareto), key=lambda r: -r.npv_usd)
    fig.add_scatter(
        x=[-r.npv_usd for r in front],
        y=[r.quality for r in front],
        mode="lines",
        name="Pareto front",
        line=dict(color="#1f77b4", dash="dot"),
        hoverinfo="skip",
    )
    best = next((r for r in rows if r.chosen), None)
    if best is not None and best.quality is not None:
        fig.add_scatter(
            x=[-best.npv_usd],
            y=[best.quality],
            mode="markers+text",
            marker=dict(size=16, symbol="star", color="#d62728"),
            name="chosen",
            text=[best.routes],
            textposition="bottom center",
        )
    unknown = len(rows) - len(known)
    fig.update_layout(
        title=f"Router {name}: cost against quality, {len(rows)} assignments"
        + (f" ({unknown} of unknown accuracy not shown)" if unknown else "")
    )
    fig.update_xaxes(title="NPV of cost, USD (left is cheaper)")
    fig.update_yaxes(title="traffic-weighted accuracy", tickformat=".0%")
    return fig


def claim_curve(curve, title: str = "") -> go.Figure:
    """A claim's curve (:class:`claims.Curve`): each series against its x, the claimed
    figure as a dashed line, the scenario's x as a dotted one."""
    fig = go.Figure(layout=LAYOUT)
    for i, (series, df) in enumerate(curve.data.groupby("series", sort=False)):
        fig.add_scatter(
            x=_list(df["x"]), y=_list(df["y"]), name=str(series), mode="lines", line=dict(color=PALETTE[i % 8], width=2)
        )
    x = curve.data["x"]
    fig.add_scatter(  # traces, not shapes: shapes on log axes want log10 coordinates
        x=[float(x.min()), float(x.max())],
        y=[curve.mark, curve.mark],
        name=curve.mark_label,
        mode="lines",
        line=dict(dash="dash", color="#d62728"),
    )
    if curve.scenario_x is not None:
        y = curve.data["y"]
        low, high = (-1.0, 1.0) if curve.y_percent else (float(y[y > 0].min()) if curve.log_y else 0.0, float(y.max()))
        fig.add_scatter(
            x=[curve.scenario_x, curve.scenario_x],
            y=[low, max(high, curve.mark)],
            name="this scenario",
            mode="lines",
            line=dict(dash="dot", color="#7f7f7f"),
        )
    fig.update_layout(title=title, showlegend=True)
    fig.update_xaxes(title_text=curve.x_title, type="log" if curve.log_x else "linear")
    fig.update_yaxes(
        title_text=curve.y_title, tickformat=".0%" if curve.y_percent else ",", type="log" if curve.log_y else "linear"
    )
    if curve.y_percent:  # a saving of -900 % says no more than -100 %
        fig.update_yaxes(range=[-1.0, 1.0])
    return fig


def goal_seek(g) -> go.Figure:
    """Goal-seek on an input's axis: the NPV of cost of every option that evaluates across the range
    searched, today's value dotted, and each value where the recommendation changes marked with
    what it changes to (:class:`costmodel.goalseek.GoalSeek`)."""
    from costmodel.goalseek import factor_value

    f = g.factor
    title = f"Where the decision changes: {f.name}"
    grid = g.grid
    columns = [c for c in grid.columns if c.startswith("npv_cost ") and grid[c].notna().any()]
    if not columns:
        return says(title, "no value in the range searched evaluates")
    fig = go.Figure(layout=LAYOUT)
    for i, c in enumerate(columns):
        fig.add_scatter(
            x=_list(grid["value"]),
            y=_list(grid[c]),
            name=c.removeprefix("npv_cost "),
            mode="lines+markers",
            marker=dict(size=4),
            line=dict(color=PALETTE[i % 8], width=1.8),
        )
    fig.add_vline(x=f.base, line_dash="dot", line_color="grey", annotation_text=f"now: {factor_value(f, f.base)}")
    for flip, position in ((g.below, "bottom left"), (g.above, "bottom right")):
        if flip is not None:
            fig.add_vline(
                x=flip.at,
                line_dash="dash",
                line_color="black",
                annotation_text=f"{factor_value(f, flip.at)}: {flip.to or 'none eligible'}",
                annotation_position=position,
            )
    unit = f" ({f.unit})" if f.unit and f.unit != "x" else ""
    values = grid["value"].to_numpy(dtype=float)
    if g.log:
        fig.update_xaxes(type="log", **_log_ticks(float(values.min()), float(values.max())))
    fig.update_xaxes(title=f"{f.name}{unit}")
    fig.update_yaxes(title="NPV of cost, USD", tickprefix="$")
    fig.update_layout(title=title)
    return fig
