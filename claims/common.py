"""What the claims share: idle latency on a stack, thresholds, the rows a verdict rests on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from claims.base import HOLDS, HOLDS_WHEN
from costmodel.assumptions import scenario_row, sourced_row, stated_row
from costmodel.core import roofline
from costmodel.core.roofline import Load
from costmodel.core.roots import bracket
from costmodel.engine import Evaluation
from costmodel.engine.capacity import Stack, stack_of
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, Scenario

IDLE = 1e-6  # mean sequences in flight on an "idle" replica: one request now and then, no queue


def idle_latency(stack: Stack, gpus: int, load: Load) -> dict[str, float]:
    """p95 TTFT, TPOT and end-to-end latency (ms) of a request on an idle replica: the floor no
    serving engine beats on that hardware, from :func:`costmodel.core.roofline.latencies`."""
    lat = roofline.latencies(stack.replica(gpus), load, IDLE)
    return {k: float(lat[k]) * 1e3 for k in ("ttft_p95", "tpot_p95", "e2e_p95")}


def first_crossing(f: Callable[[float], float], target: float, low: float, high: float) -> float:
    """The ``x`` in [low, high] where increasing ``f`` reaches ``target`` (on a log scale): the
    first point known to reach it."""
    return bracket(lambda x: f(x) >= target, low, high, log=True, steps=40)[1]


def last_within(f: Callable[[float], float], limit: float, low: float, high: float) -> float:
    """The largest ``x`` in [low, high] where increasing ``f`` stays at or below ``limit`` (on a
    log scale); ``low`` if none does, ``high`` if all do."""
    if f(high) <= limit:
        return high
    if f(low) > limit:
        return low
    return bracket(lambda x: f(x) > limit, low, high, log=True, steps=40)[0]


def verdict_at(holds_here: bool, reaches: str, needs: str, here: str) -> tuple[str, str]:
    """The verdict on a claim with a threshold: ``holds``, saying how far it reaches, where this
    scenario is past it; else ``holds when``, saying what it needs; both with this scenario's figure."""
    return (HOLDS, f"{reaches} ({here})") if holds_here else (HOLDS_WHEN, f"{needs} ({here})")


def assumption_rows(*rows: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    return df.drop_duplicates(subset=["input"]).reset_index(drop=True) if len(df) else df


def stack_rows(stack: Stack) -> list[dict[str, Any]]:
    """The catalog figures a roofline latency or capacity rests on."""
    g, q, e, m = stack.gpu, stack.quantization, stack.engine, stack.model
    return [
        sourced_row(f"{g.id}: memory bandwidth", g.bandwidth),
        sourced_row(f"{g.id}: BF16 tensor TFLOPS", g.bf16_tflops),
        sourced_row(f"{g.id}: memory", g.memory),
        sourced_row(f"{m.id}: parameters", m.parameters),
        sourced_row(f"{q.id}: bytes per weight", q.bytes_per_weight),
        sourced_row(f"{e.id}: memory-bandwidth efficiency (MBU)", e.efficiency.mbu),
        sourced_row(f"{e.id}: prefill compute efficiency (MFU)", e.efficiency.prefill_mfu),
        sourced_row(f"{e.id}: max sequences", e.max_num_seqs),
    ]


def workload_rows(sc: Scenario, *fields: str) -> list[dict[str, Any]]:
    units = {
        "input_tokens_per_request": "tokens",
        "output_tokens_per_request": "tokens",
        "cached_input_share": "fraction",
    }
    units |= {"requests_per_month": "requests/month", "peak_to_mean": "ratio"}
    return [scenario_row(sc, f"workload.{f}", getattr(sc.workload, f), units[f]) for f in fields]


def request_load(sc: Scenario, output_tokens: float | None = None, input_tokens: float | None = None) -> Load:
    wl = sc.workload
    return Load(
        wl.input_tokens_per_request if input_tokens is None else input_tokens,
        wl.output_tokens_per_request if output_tokens is None else output_tokens,
        wl.cached_input_share,
    )


def self_hosted(sc: Scenario, ev: Evaluation) -> list[str]:
    return [o.name for o in sc.options if isinstance(o, RentedOption | OwnedOption)]


def cheapest_of(ev: Evaluation, names: list[str]) -> str | None:
    return min(names, key=lambda n: -ev.option(n).npv_usd) if names else None


def api_e2e_ms(o: ApiOption, sc: Scenario) -> float | None:
    if o.ttft_p95_ms is None or o.tpot_p95_ms is None:
        return None
    return o.ttft_p95_ms + (sc.workload.output_tokens_per_request - 1) * o.tpot_p95_ms


def api_rows(sc: Scenario) -> list[dict[str, Any]]:
    rows = []
    for o in sc.options:
        if isinstance(o, ApiOption) and o.ttft_p95_ms is not None:
            for what in ("ttft_p95_ms", "tpot_p95_ms"):
                rows.append(stated_row(f"{o.name}: {what}", getattr(o, what), "ms", o.latency_source or "", sc))
    return rows


def probe_hint(names: list[str]) -> str:
    who = names[0] if names else "API"
    return (
        f"tco probe --base-url <the {who} endpoint> --model <its model>, then "
        f"tco claims --probe-run {who}=data/probes/<run-id>"
    )


def scenario_stack(sc: Scenario, catalog: Catalog, ev: Evaluation) -> tuple[str, Stack, int] | None:
    """The scenario's cheapest self-hosted option, its stack and chosen GPUs per replica."""
    name = cheapest_of(ev, self_hosted(sc, ev))
    if name is None:
        return None
    option = sc.option(name)
    capacity = ev.option(name).capacity
    if not isinstance(option, RentedOption | OwnedOption) or capacity is None:
        return None
    return name, stack_of(option, sc, catalog), capacity.gpus_per_replica
