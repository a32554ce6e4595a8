"""The assumptions register: every input of an evaluation with value, unit, source, date, basis.

Scenario inputs are the scenario author's assumptions unless its ``sources`` map names a
source; catalog inputs carry their own provenance; capacity figures say whether they were
measured or modelled.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from costmodel.engine import Evaluation
from costmodel.model.base import Sourced
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, HybridOption, OwnedOption, RentedOption, Scenario

WORKLOAD_UNITS = {
    "requests_per_month": "requests/month",
    "input_tokens_per_request": "tokens",
    "output_tokens_per_request": "tokens",
    "cached_input_share": "fraction",
    "batch_share": "fraction",
    "monthly_growth": "fraction/month",
    "peak_to_mean": "ratio",
}
WORKBENCH_DEFAULTS = {
    "max_utilization": "workbench default (assumption): plan peaks at 80 % of a replica's SLO capacity, headroom "
    "for queueing",
    "depreciation_years": "workbench default (assumption): four-year straight-line life for servers",
    "residual_value": "workbench default (assumption): 10 % of capex back at the end of the depreciation life",
    "count_residual": "workbench default (assumption): the fleet's book value at the horizon's end counts as a "
    "cash inflow (1 = yes); on short horizons most of the capex comes back this way",
    "server_power_factor": "workbench default: whole-server power per GPU TDP of a DGX H100, 10.2 kW / (8 x 700 W) "
    "(NVIDIA DGX H100 datasheet)",
    "idle_power_fraction": "workbench default (assumption): an idle server draws 30 % of full power",
    "pue": "workbench default: 1.56, the Uptime Institute global data center survey average, 2024",
}
"""Optional fields that move money, and where the value the workbench takes when a scenario leaves
them out comes from: the register shows it as such (basis ``workbench default``), never as the
scenario's own."""

OWNED_UNITS = {
    "usd_per_gpu": "USD/GPU",
    "server_usd_per_gpu": "USD/GPU",
    "depreciation_years": "years",
    "residual_value": "fraction",
    "count_residual": "1 = yes",
    "server_power_factor": "ratio",
    "idle_power_fraction": "fraction",
    "pue": "ratio",
    "usd_per_kwh": "USD/kWh",
    "colocation_usd_per_kw_month": "USD/kW-month",
    "maintenance_per_year": "fraction/year",
    "ops_staff_fte": "FTE",
    "ops_staff_usd_per_year": "USD/year",
    "max_utilization": "fraction",
    "spare_replicas": "replicas",
    "gpus": "GPUs",
}
EFFICIENCY_UNITS = {
    "mbu": "fraction",
    "decode_mfu": "fraction",
    "mfu": "fraction",
    "expert_mfu": "fraction",
    "expert_mbu": "fraction",
    "step_overhead_ms": "ms",
    "step_overhead_per_rank_ms": "ms",
    "memory_utilization": "fraction",
    "reserved_memory_gb": "GB",
    "max_num_seqs": "sequences",
    "max_batched_tokens": "tokens",
}
RENTED_UNITS = {
    "usd_per_gpu_hour": "USD/GPU-hour",
    "ops_staff_fte": "FTE",
    "ops_staff_usd_per_year": "USD/year",
    "max_utilization": "fraction",
    "spare_replicas": "replicas",
    "gpus": "GPUs",
}


def input_source(scenario: Scenario, path: str) -> str:
    """Where a scenario input comes from: the scenario's ``sources`` (a section's source covers its
    fields), else, for an option field the scenario left out, the workbench default's, else the
    scenario's own assumption."""
    source = scenario.sources.get(path)
    if source is None:
        source = next((v for k, v in scenario.sources.items() if path.startswith(k + ".")), None)
    if source is not None:
        return source
    field = path.rpartition(".")[2]
    if path.startswith("options.") and field in WORKBENCH_DEFAULTS:
        option = scenario.option(path.split(".")[1])
        if field not in option.model_fields_set:
            return WORKBENCH_DEFAULTS[field]
    return f"scenario {scenario.name} (assumption)"


def scenario_row(scenario: Scenario, path: str, value: Any, unit: str) -> dict[str, Any]:
    source = scenario.sources.get(path)
    if source is None:  # a source for a whole section covers its fields
        source = next((v for k, v in scenario.sources.items() if path.startswith(k + ".")), None)
    basis = "assumption" if source is None or source.lower().startswith("assumption") else "published"
    return {
        "input": path,
        "value": value,
        "unit": unit,
        "source": source or f"scenario {scenario.name} (assumption)",
        "as_of": scenario.as_of.isoformat(),
        "basis": basis,
    }


def sourced_row(name: str, s: Sourced) -> dict[str, Any]:
    return {
        "input": name,
        "value": float(s.value),
        "unit": s.unit,
        "source": s.source,
        "as_of": s.as_of.isoformat(),
        "basis": s.basis,
    }


def stated_row(
    name: str,
    value: Any,
    unit: str,
    source: str,
    scenario: Scenario,
    basis: str | None = None,
    as_of: str | None = None,
) -> dict[str, Any]:
    """A figure stated in the scenario with its own source (``assumption: ...`` or a publication)."""
    if basis is None:
        basis = "assumption" if source.lower().startswith("assumption") else "published"
    return {
        "input": name,
        "value": value,
        "unit": unit,
        "source": source,
        "as_of": as_of or scenario.as_of.isoformat(),
        "basis": basis,
    }


def quality_rows(sc: Scenario) -> list[dict[str, Any]]:
    """Each class's requirement, and the accuracy of each thing served on each class."""
    rows = [
        scenario_row(sc, f"workload.request_classes.{c.name}.{field}", getattr(c, field), "fraction")
        for c in sc.workload.request_classes
        for field in ("share", "min_quality")
    ]
    seen = set()
    for o in sc.options:
        if not isinstance(o, ApiOption | RentedOption | OwnedOption) or sc.serves(o) in seen:
            continue
        seen.add(key := sc.serves(o))
        found = sc.quality_of(o)
        if found is None:
            continue
        _, q = found
        if q.quality_measured is not None:
            m = q.quality_measured
            for cls, a in m.classes.items():
                rows.append(
                    stated_row(
                        f"{key}: accuracy on {cls} (95 % interval {a.ci_low:.3f}-{a.ci_high:.3f}, n = {a.n})",
                        a.accuracy,
                        "fraction",
                        m.source,
                        sc,
                        "measured",
                        m.as_of.isoformat(),
                    )
                )
        else:
            stated = q.quality if isinstance(q.quality, dict) else {"all": q.quality}
            for cls, v in stated.items():
                rows.append(stated_row(f"{key}: accuracy on {cls}", v, "fraction", q.quality_source or "", sc))
    return rows


def register(evaluation: Evaluation, catalog: Catalog) -> pd.DataFrame:
    """One row per input: ``input``, ``value``, ``unit``, ``source``, ``as_of``, ``basis``."""
    sc = evaluation.scenario
    wl = sc.workload
    rows = [
        scenario_row(sc, "horizon_months", sc.horizon_months, "months"),
        scenario_row(sc, "discount_rate", sc.discount_rate, "fraction/year"),
    ]
    for field, unit in WORKLOAD_UNITS.items():
        v = getattr(wl, field)
        if v is not None:
            rows.append(scenario_row(sc, f"workload.{field}", v, unit))
    if wl.load_shape is not None:
        rows.append(
            scenario_row(sc, "workload.load_shape", ", ".join(f"{w:g}" for w in wl.load_shape), "hourly weights")
        )
    elif wl.peak_to_mean is not None:
        rows.append(
            {
                "input": "daily load shape",
                "value": f"cosine power shape, peak/mean {wl.peak_to_mean:g}",
                "unit": "-",
                "source": "model assumption (no 24-hour shape given)",
                "as_of": sc.as_of.isoformat(),
                "basis": "assumption",
            }
        )
    t = sc.trends
    for field in ("api_price_decline_per_year", "gpu_rent_decline_per_year"):
        basis = "assumption" if t.source.lower().startswith("assumption") else "published"
        rows.append(
            {
                "input": f"trends.{field}",
                "value": getattr(t, field),
                "unit": "fraction/year",
                "source": t.source,
                "as_of": sc.as_of.isoformat(),
                "basis": basis,
            }
        )
    rows += [
        scenario_row(sc, "workload.slo.ttft_p95_ms", wl.slo.ttft_p95_ms, "ms"),
        scenario_row(sc, "workload.slo.tpot_p95_ms", wl.slo.tpot_p95_ms, "ms"),
    ]
    models, quants, gpus = set(), set(), set()
    if sc.serving:
        models.add(sc.serving.model)
        quants.add(sc.serving.quantization)
        engine = catalog.engines[sc.serving.engine]
        for field, value in sc.serving.efficiency.model_dump().items():
            if value is not None:  # the scenario's override
                rows.append(scenario_row(sc, f"serving.efficiency.{field}", value, EFFICIENCY_UNITS[field]))
        for field in ("max_num_seqs", "max_batched_tokens", "memory_utilization", "reserved_memory"):
            rows.append(sourced_row(f"{engine.id}: {field}", getattr(engine, field)))
        for field, value in engine.efficiency:
            rows.append(sourced_row(f"{engine.id}: {field}", value))
    for o in sc.options:
        if isinstance(o, ApiOption):
            p = catalog.api_prices[(o.provider, o.model)]
            for name in ("input", "cached_input", "output"):
                rows.append(sourced_row(f"{o.name}: {o.provider}/{o.model} {name} price", getattr(p, name)))
            if p.batch_discount:
                rows.append(sourced_row(f"{o.name}: batch discount", p.batch_discount))
        elif isinstance(o, RentedOption | OwnedOption):
            gpus.add(o.gpu)
            model, quantization = sc.model_of(o)
            models.add(model)
            quants.add(quantization)
            units = OWNED_UNITS if isinstance(o, OwnedOption) else RENTED_UNITS
            for field, unit in units.items():
                v = getattr(o, field, None)
                path = f"options.{o.name}.{field}"
                if v is not None and field in o.model_fields_set:
                    rows.append(scenario_row(sc, path, float(v) if isinstance(v, bool) else v, unit))
                elif v is not None and field in WORKBENCH_DEFAULTS:  # left out: the workbench's value, said so
                    rows.append(
                        stated_row(
                            path,
                            float(v) if isinstance(v, bool) else v,
                            unit,
                            WORKBENCH_DEFAULTS[field],
                            sc,
                            "workbench default",
                        )
                    )
        elif isinstance(o, HybridOption):
            rows.append(scenario_row(sc, f"options.{o.name}.local_gpus", o.local_gpus, "GPUs"))
        if isinstance(o, ApiOption) and o.ttft_p95_ms is not None:
            for field in ("ttft_p95_ms", "tpot_p95_ms"):
                rows.append(
                    stated_row(
                        f"{o.name}: p95 {field[:4].upper()}",
                        getattr(o, field),
                        "ms",
                        o.latency_source or "",
                        sc,
                        "measured" if o.latency_measured else None,
                    )
                )
    rows += quality_rows(sc)
    for r in evaluation.options:
        if r.capacity is not None and r.kind != "hybrid":
            c = r.capacity
            rows.append(
                {
                    "input": f"{r.name}: capacity per replica",
                    "value": round(c.output_tokens_per_s, 1),
                    "unit": f"output tokens/s on {c.gpus_per_replica} GPU(s)",
                    "source": c.provenance,
                    "as_of": c.as_of or sc.as_of.isoformat(),
                    "basis": c.basis,
                }
            )
    for gid in sorted(gpus):
        g = catalog.gpus[gid]
        for field in ("memory", "bandwidth", "bf16_tflops", "fp8_tflops", "tdp", "purchase_price"):
            s = getattr(g, field)
            if s is not None:
                rows.append(sourced_row(f"{gid}: {field}", s))
        rows.append(sourced_row(f"{gid}: {g.interconnect.kind} bandwidth", g.interconnect.bandwidth))
        rows.append(sourced_row(f"{gid}: all-reduce latency", g.interconnect.allreduce_latency))
        for rent in g.rental:
            rows.append(sourced_row(f"{gid}: rent {rent.provider} {rent.commitment}", rent.price))
    for mid in sorted(models):
        m = catalog.models[mid]
        for field in ("parameters", "layers", "kv_heads", "head_dim", "max_context"):
            rows.append(sourced_row(f"{mid}: {field}", getattr(m, field)))
    for qid in sorted(quants):
        rows.append(sourced_row(f"{qid}: bytes per weight", catalog.quantizations[qid].bytes_per_weight))
    return pd.DataFrame(rows, columns=["input", "value", "unit", "source", "as_of", "basis"])
