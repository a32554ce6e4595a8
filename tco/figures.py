"""Plotly figures of an evaluation. Pure: results in, ``go.Figure`` out.

One trace per option in scenario order, with the same colour in every figure. Figures
carry no template: building one costs ~28 ms (plotly validates and copies it), so callers
set ``plotly.io.templates.default`` once (:data:`TEMPLATE`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from costmodel.engine import Evaluation, cost_curves
from costmodel.model.catalog import Catalog
from costmodel.text import count, percent, slo_word, usd_rate

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
SLO_COLOR = {True: "#2ca02c", False: "#d62728", None: "#bcbd22"}
TEMPLATE = "plotly_white"
LAYOUT = dict(
    margin=dict(l=60, r=20, t=60, b=50), height=420, legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0)
)


def _list(values) -> list:
    """Plain lists for trace data: the figure's JSON stays readable and free of binary buffers."""
    return np.asarray(values, dtype=float).tolist()


def volume_grid(ev: Evaluation, points: int = 160) -> np.ndarray:
    """Monthly volumes around the scenario's: 1/100 to 100x the first month, and every break-even."""
    v0 = max(ev.scenario.workload.requests_per_month, 1.0)
    lo, hi = v0 / 100, v0 * 100
    for b in ev.break_evens:
        if b.requests_per_month:
            lo, hi = min(lo, b.requests_per_month / 3), max(hi, b.requests_per_month * 3)
    return np.geomspace(lo, hi, points)


def cost_vs_volume(ev: Evaluation, catalog: Catalog, volumes: np.ndarray | None = None) -> go.Figure:
    """Steady-state monthly cost of each option against monthly volume, break-evens marked."""
    v = volume_grid(ev) if volumes is None else volumes
    be = [(b, b.requests_per_month) for b in ev.break_evens if b.requests_per_month]
    xs = [x for _, x in be]
    # one costing for the curves and the break-even points, in the evaluation's layouts
    both = cost_curves(ev.scenario, catalog, np.concatenate([v, xs]), ev.chosen_layouts())
    curves, at_break_even = both.iloc[: len(v)], both.iloc[len(v) :]
    fig = go.Figure(layout=LAYOUT)
    for i, name in enumerate(curves.columns):
        fig.add_scatter(
            x=_list(v),
            y=_list(curves[name]),
            name=name,
            mode="lines",
            line=dict(color=PALETTE[i % 8], width=2, shape="hv" if ev.option(name).kind != "api" else "linear"),
        )
    ys = [float(at_break_even[b.api].iloc[k]) for k, (b, _) in enumerate(be)]
    fig.add_scatter(
        x=xs,
        y=ys,
        name="break-even",
        mode="markers+text",
        marker=dict(size=11, symbol="x", color="black"),
        text=[f"{x:,.3g}" for x in xs],
        textposition="top center",
        hovertext=[f"{b.self_hosted} = {b.api} at {count(x)} req/month" for b, x in be],
    )
    fig.add_vline(
        x=ev.scenario.workload.requests_per_month,
        line_dash="dot",
        line_color="grey",
        annotation_text="first month",
        annotation_position="top left",
    )
    fig.update_xaxes(type="log", title="requests per month")
    fig.update_yaxes(type="log", title="USD per month (steady state)")
    fig.update_layout(title="Monthly cost vs volume (capex spread over its life)")
    return fig


def cumulative_cost(ev: Evaluation) -> go.Figure:
    """Cumulative cash cost of each option over the horizon."""
    fig = go.Figure(layout=LAYOUT)
    for i, o in enumerate(ev.options):
        df = o.cashflow
        fig.add_scatter(
            x=_list(df["month"]),
            y=_list(df["cumulative"]),
            name=o.name,
            mode="lines",
            line=dict(color=PALETTE[i % 8], width=2.5 if o.name == ev.recommendation.option else 1.5),
        )
    fig.update_xaxes(title="month")
    fig.update_yaxes(title="cumulative cost, USD")
    fig.update_layout(title="Cumulative cash cost")
    return fig


def cost_per_million(ev: Evaluation) -> go.Figure:
    """USD per 1M tokens (input + output) over the horizon, coloured by SLO status."""
    names = [o.name for o in ev.options]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=_list([o.usd_per_million_tokens for o in ev.options]),
            marker_color=[SLO_COLOR[o.slo.met] for o in ev.options],
            text=[usd_rate(o.usd_per_million_tokens) for o in ev.options],
            textposition="outside",
            hovertext=[f"SLO {slo_word(o.slo.met)}" for o in ev.options],
        ),
        layout=LAYOUT,
    )
    fig.update_yaxes(title="USD per 1M tokens")
    fig.update_layout(title="Cost per 1M tokens (green: SLO met, red: missed, olive: unverified)", showlegend=False)
    return fig


def gpus_and_slo(ev: Evaluation) -> go.Figure:
    """GPUs at peak per self-hosted option, with the SLO status and where capacity came from."""
    hosted = [o for o in ev.options if o.gpus_at_peak is not None]
    fig = go.Figure(
        go.Bar(
            x=[o.name for o in hosted],
            y=_list([o.gpus_at_peak for o in hosted]),
            marker_color=[SLO_COLOR[o.slo.met] for o in hosted],
            text=[f"{count(o.gpus_at_peak, 'GPUs')}, SLO {slo_word(o.slo.met)}, {o.capacity.basis}" for o in hosted],
            textposition="outside",
        ),
        layout=LAYOUT,
    )
    fig.update_yaxes(title="GPUs at peak")
    fig.update_layout(title="GPUs needed at peak and SLO status", showlegend=False)
    return fig


def monthly_cashflow(ev: Evaluation, option: str) -> go.Figure:
    """Stacked monthly line items of one option (residual value negative)."""
    o = ev.option(option)
    df = o.cashflow
    skip = {"month", "requests", "tokens", "gpus", "total", "cumulative", "depreciation", "local_share", "utilization"}
    fig = go.Figure(layout=LAYOUT)
    for i, col in enumerate(c for c in df.columns if c not in skip):
        if np.any(df[col].to_numpy() != 0):
            fig.add_bar(x=_list(df["month"]), y=_list(df[col]), name=col, marker_color=PALETTE[i % 8])
    fig.update_layout(barmode="relative", title=f"Monthly cash flow: {o.label}")
    fig.update_xaxes(title="month")
    fig.update_yaxes(title="USD")
    return fig


def tornado(sens: pd.DataFrame) -> go.Figure:
    """Tornado of the decision metric (NPV gap of the two best options) per input."""
    fig = go.Figure(layout={**LAYOUT, "height": max(300, 60 + 40 * len(sens))})
    if sens.empty:
        fig.update_layout(title="Sensitivity: fewer than two options meet the SLO")
        return fig
    a, b = sens.attrs.get("options", ("best", "runner-up"))
    base = sens.attrs.get("base_metric", 0.0)
    order = sens.iloc[::-1]
    for end, colour in (("low", "#1f77b4"), ("high", "#ff7f0e")):
        fig.add_bar(
            y=list(order["factor"]),
            x=_list(order[f"metric_{end}"] - base),
            base=base,
            orientation="h",
            name=f"{end} value",
            marker_color=colour,
            text=[f"{v:,.3g}" for v in order[end]],
            textposition="inside",
        )
    fig.add_vline(x=0, line_color="black")
    fig.update_layout(barmode="overlay", title=f"Sensitivity: NPV({a}) - NPV({b}); left of 0, {b} wins")
    fig.update_xaxes(title="USD")
    return fig


def hybrid_sweep(sweep: pd.DataFrame, name: str) -> go.Figure:
    """NPV of cost of a hybrid option against its local fleet size, the optimum marked."""
    fig = go.Figure(layout=LAYOUT)
    cost = _list(-sweep["npv_usd"])
    fig.add_scatter(
        x=_list(sweep["local_gpus"]),
        y=cost,
        mode="lines+markers",
        name="NPV of cost",
        customdata=_list(sweep["local_share"]),
        hovertemplate="%{x} GPUs: $%{y:,.0f}, %{customdata:.0%} served locally<extra></extra>",
    )
    best = sweep[sweep["optimal"]].iloc[0]
    fig.add_scatter(
        x=[float(best["local_gpus"])],
        y=[float(-best["npv_usd"])],
        mode="markers+text",
        marker=dict(size=14, symbol="star", color="#d62728"),
        name="optimum",
        text=[f"optimum: {count(best['local_gpus'], 'GPUs')}, {percent(best['local_share'])} local"],
        textposition="top center",
    )
    fig.update_xaxes(title="local GPUs (0 = all API; right end = all local)")
    fig.update_yaxes(title="NPV of cost, USD")
    fig.update_layout(title=f"Hybrid {name}: cost against local fleet size")
    return fig


def cost_distribution(sim, ev=None) -> go.Figure:
    """Monte Carlo NPV of cost per option: box from P25 to P75, whiskers P10 to P90, line at P50.

    Only the percentiles go into the figure (not the draws), so a million draws cost no more
    HTML than a thousand.
    """
    names = list(sim.npv_cost)
    labels = {o.name: o.label for o in ev.options} if ev is not None else {}
    q = {p: [float(np.percentile(sim.npv_cost[n], p)) for n in names] for p in (10, 25, 50, 75, 90)}
    p_cheapest = sim.cheapest()
    fig = go.Figure(layout={**LAYOUT, "height": max(320, 80 + 50 * len(names))})
    fig.add_trace(
        go.Box(
            y=[labels.get(n, n) for n in names],
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
        y=[labels.get(n, n) for n in names],
        mode="text",
        showlegend=False,
        text=[f"  P(cheapest) {percent(p_cheapest[n])}" for n in names],
        textposition="middle right",
    )
    fig.update_layout(
        title=f"NPV of cost over {sim.draws:,} Monte Carlo draws (box P25-P75, whiskers P10-P90)", showlegend=False
    )
    fig.update_xaxes(title="USD (present value of cost)")
    return fig


def frontier(study) -> go.Figure:
    """The throughput-interactivity frontier (InferenceMAX's view) of a
    :class:`~costmodel.engine.capacity.CapacityStudy`: output tokens/s per GPU against tokens/s
    per user, one curve per layout, the SLO's interactivity (1,000 / TPOT p95 ms) marked, the SLO
    capacity of each layout as a point and the GPU cost per 1M output tokens along each curve."""
    fig = go.Figure(layout=LAYOUT)
    priced = study.usd_per_gpu_hour is not None
    for i, lay in enumerate(s for s in study.layouts if s.frontier is not None):
        f, colour = lay.frontier, PALETTE[i % 8]
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
        if c.slo_met:
            fig.add_scatter(
                x=[1e3 / c.tpot_mean_ms],
                y=[c.output_tokens_per_s / lay.gpus_per_replica],
                mode="markers",
                marker=dict(color=colour, size=11, symbol="star"),
                name=f"{label}: SLO capacity",
                showlegend=False,
                hovertemplate=f"{label} at its SLO capacity: %{{y:,.0f}} tok/s per GPU<extra></extra>",
            )
    fig.add_vline(
        x=1e3 / study.tpot_ms,
        line=dict(color="#7f7f7f", dash="dash"),
        annotation_text=f"SLO: TPOT p95 {study.tpot_ms:g} ms",
        annotation_position="bottom right",
    )
    st = study.stack
    fig.update_layout(
        title=f"{st.model.name} ({st.quantization.id}) on {st.gpu.name}, {st.engine.name}: "
        f"{count(study.load.input_tokens)} in / {count(study.load.output_tokens)} out",
        xaxis_title="interactivity: output tokens/s per user (1 / mean TPOT)",
        yaxis_title="output tokens/s per GPU",
    )
    return fig


def cost_quality_frontier(choice, name: str) -> go.Figure:
    """A router's cost-quality frontier: every assignment of classes to members it costed, NPV of
    cost against traffic-weighted accuracy; assignments meeting every class's quality (and not
    known to miss the SLO) in green, the others grey; the Pareto front joined by a line; the
    router's choice starred. Assignments of unknown accuracy are left out (counted in the title)."""
    f = choice.frontier
    known = f[f["quality"].notna()]
    fig = go.Figure(layout=LAYOUT)
    ok = known["eligible"] & (known["quality_met"] == True)  # noqa: E712 (None: unknown)
    for mask, label, colour in ((ok, "meets every class", "#2ca02c"), (~ok, "misses a class or the SLO", "#9a9a9a")):
        part = known[mask]
        fig.add_scatter(
            x=_list(-part["npv_usd"]),
            y=_list(part["quality"]),
            mode="markers",
            name=label,
            marker=dict(color=colour, size=9),
            text=list(part["routes"]),
            hovertemplate="%{text}<br>NPV of cost $%{x:,.0f}, accuracy %{y:.1%}<extra></extra>",
        )
    front = known[known["pareto"]].sort_values("npv_usd", ascending=False)
    fig.add_scatter(
        x=_list(-front["npv_usd"]),
        y=_list(front["quality"]),
        mode="lines",
        name="Pareto front",
        line=dict(color="#1f77b4", dash="dot"),
        hoverinfo="skip",
    )
    best = f[f["chosen"]].iloc[0]
    if best["quality"] == best["quality"]:  # not NaN
        fig.add_scatter(
            x=[float(-best["npv_usd"])],
            y=[float(best["quality"])],
            mode="markers+text",
            marker=dict(size=16, symbol="star", color="#d62728"),
            name="chosen",
            text=[best["routes"]],
            textposition="bottom center",
        )
    unknown = len(f) - len(known)
    fig.update_layout(
        title=f"Router {name}: cost against quality, {len(f)} assignments"
        + (f" ({unknown} of unknown accuracy not shown)" if unknown else "")
    )
    fig.update_xaxes(title="NPV of cost, USD (left is cheaper)")
    fig.update_yaxes(title="traffic-weighted accuracy", tickformat=".0%")
    return fig


def claim_curve(curve, title: str = "") -> go.Figure:
    """A claim's curve (:class:`costmodel.claims.Curve`): each series against its x, the claimed
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
