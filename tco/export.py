"""The one JSON writer of an evaluation (``tco evaluate --json``; fields in docs/cli.md)."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from costmodel.engine import Evaluation, OptionResult
from costmodel.model.scenario import Scenario


def _finite(x: Any) -> Any:
    """JSON has no NaN or infinity: an unknown number is null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


def capacity_json(cap) -> dict[str, Any] | None:
    """A replica's capacity (:class:`~costmodel.core.roofline.ReplicaCapacity`); latencies p95 unless named mean."""
    if cap is None:
        return None
    return {
        "basis": cap.basis,
        "gpus_per_replica": cap.gpus_per_replica,
        "requests_per_s_per_replica": cap.requests_per_s,
        "output_tokens_per_s_per_replica": cap.output_tokens_per_s,
        "batch": cap.batch,
        "ttft_ms": cap.ttft_ms,
        "tpot_ms": cap.tpot_ms,
        "ttft_mean_ms": cap.ttft_mean_ms,
        "tpot_mean_ms": cap.tpot_mean_ms,
        "e2e_ms": cap.e2e_ms,
        "slo_met": cap.slo_met,
        "limit": cap.limit,
        "source": cap.source,
    }


def option_json(o: OptionResult, ev_scenario: Scenario) -> dict[str, Any]:
    return {
        "name": o.name,
        "label": o.label,
        "kind": o.kind,
        "total_cost_usd": round(o.total_cost_usd, 2),
        "npv_usd": round(o.npv_usd, 2),
        "usd_per_million_tokens": round(o.usd_per_million_tokens, 6),
        "gpus_at_peak": o.gpus_at_peak,
        "capacity": capacity_json(o.capacity),
        "layouts": [
            {
                "gpus_per_replica": lay.gpus_per_replica,
                "chosen": lay.chosen,
                "eligible": lay.eligible,
                "npv_cost_usd": round(lay.npv_cost_usd, 2),
                "usd_per_million_served": lay.usd_per_million_served,
                "description": lay.description,
                "capacity": capacity_json(lay.capacity),
            }
            for lay in o.layouts
        ],
        "slo": {
            "met": o.slo.met,
            "ttft_ms": o.slo.ttft_ms,
            "tpot_ms": o.slo.tpot_ms,
            "basis": o.slo.basis,
            "note": o.slo.note,
        },
        "quality": {"met": o.quality.met, "note": o.quality.note, "basis": o.quality.basis},
        "routing": routing_json(o.routing, ev_scenario) if o.routing is not None else None,
        "eligible": o.eligible,
        "price_notes": list(o.price_notes),
        "mean_utilization": o.mean_utilization,
        "risks": list(o.risks),
        "monthly": o.cashflow.round(2).to_dict(orient="list"),
    }


def routing_json(choice, scenario) -> dict[str, Any]:
    """A router's routes (class -> member), each member's share of requests, and the cost-quality
    frontier: every assignment costed, with the Pareto front and the choice marked."""
    frontier = choice.frontier.astype(object).where(choice.frontier.notna(), None)
    return {
        "routes": dict(choice.routes),
        "shares": {m: round(v, 6) for m, v in choice.shares(scenario).items()},
        "note": choice.note,
        "frontier": frontier.to_dict(orient="records"),
    }


def simulation_json(sim) -> dict[str, Any]:
    """Monte Carlo summary: percentiles of cost, P(cheapest), P(SLO holds)."""
    table = sim.summary()
    return {
        "draws": sim.draws,
        "seed": sim.seed,
        "inputs": list(sim.inputs),
        "options": [
            {
                "name": name,
                "total_cost_usd": {f"p{p}": round(float(row[f"total_cost_p{p}"]), 2) for p in (10, 50, 90)},
                "npv_cost_usd": {f"p{p}": round(float(row[f"npv_cost_p{p}"]), 2) for p in (10, 50, 90)},
                "p_cheapest": round(float(row["p_cheapest"]), 6),
                "p_slo": None if pd.isna(row["p_slo"]) else round(float(row["p_slo"]), 6),
            }
            for name, row in table.iterrows()
        ],
    }


def evaluation_json(ev: Evaluation, hybrid_sweeps: dict[str, pd.DataFrame] | None = None) -> dict[str, Any]:
    """JSON-ready results (no NaN or infinity)."""
    sc = ev.scenario
    rec = ev.recommendation
    doc = {
        "scenario": sc.name,
        "title": sc.title,
        "horizon_months": sc.horizon_months,
        "discount_rate": sc.discount_rate,
        "options": [option_json(o, sc) for o in ev.options],
        "break_even": [
            {"self_hosted": b.self_hosted, "api": b.api, "requests_per_month": b.requests_per_month, "note": b.note}
            for b in ev.break_evens
        ],
        "payback": [{"owned": p.owned, "api": p.api, "month": p.month} for p in ev.paybacks],
        "recommendation": {
            "option": rec.option,
            "reasons": list(rec.reasons),
            "risks": list(rec.risks),
            "confidence": rec.confidence,
            "sentence": rec.sentence,
        },
        "monte_carlo": None if ev.simulation is None else simulation_json(ev.simulation),
        "hybrid_sweeps": {name: df.to_dict(orient="records") for name, df in (hybrid_sweeps or {}).items()},
    }
    return _finite(doc)


def dumps(doc: dict[str, Any]) -> str:
    """Strict JSON text (raises on NaN rather than writing it)."""
    return json.dumps(doc, indent=2, default=str, allow_nan=False) + "\n"


def capacity_study_json(study) -> dict[str, Any]:
    """``tco capacity --json``: the stack, the request shape and every layout with its frontier."""
    st = study.stack
    return _finite(
        {
            "model": st.model.id,
            "quantization": st.quantization.id,
            "gpu": st.gpu.id,
            "engine": st.engine.id,
            "engine_version": st.engine.version,
            "kv_cache_bytes_per_element": st.kv_bytes_per_element,
            "input_tokens": study.load.input_tokens,
            "output_tokens": study.load.output_tokens,
            "cached_input_share": float(study.load.cached_input_share),
            "slo": {"ttft_p95_ms": study.ttft_ms, "tpot_p95_ms": study.tpot_ms},
            "usd_per_gpu_hour": study.usd_per_gpu_hour,
            "price_source": study.price_source,
            "best_gpus_per_replica": None if study.best is None else study.best.gpus_per_replica,
            "layouts": [
                {
                    "gpus_per_replica": s.gpus_per_replica,
                    "feasible": s.why_not is None,
                    "why_not": s.why_not,
                    "capacity": capacity_json(s.capacity),
                    "usd_per_million_output": s.usd_per_million_output,
                    "frontier": None
                    if s.frontier is None
                    else {k: [float(x) for x in v] for k, v in s.frontier.items()},
                }
                for s in study.layouts
            ],
        }
    )


def diff_json(d) -> dict[str, Any]:
    """``tco diff --json``: the changes (each with its effect alone), NPVs and recommendations."""
    return _finite(
        {
            "changes": [
                {
                    "path": c.path,
                    "old": c.old,
                    "new": c.new,
                    "source": c.source,
                    "npv_moves_alone": c.npv_moves,
                    "recommendation_alone": c.recommendation,
                }
                for c in d.changes
            ],
            "npv": [
                {"option": n, "old": a, "new": b, "change": None if a is None or b is None else b - a}
                for n, a, b in d.npv_table()
            ],
            "recommendation": {"old": d.old.recommendation.option, "new": d.new.recommendation.option},
            "moved_most": None if d.moved_most is None else d.moved_most.path,
            "sentences": d.sentences(),
        }
    )
