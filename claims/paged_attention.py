"""Claim 2: vLLM with PagedAttention took p95 response time from 1.2 s to 80 ms.

Its text, the figures it claims and the catalog ids it is tested on: ``claims.yaml``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.base import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, HOLDS_WHEN, Claim, Curve, Finding, text
from claims.common import (
    assumption_rows,
    idle_latency,
    last_within,
    probe_hint,
    request_load,
    scenario_stack,
    stack_rows,
    workload_rows,
)
from costmodel.core.roofline import Load
from costmodel.engine import Evaluation
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import Scenario
from costmodel.text import count, latency

TEXT = text("paged_attention")
TARGET = TEXT.targets["p95_ms"]  # 80 ms


def claim_paged_p95(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 2: vLLM with PagedAttention took p95 response time from 1.2 s to 80 ms. Computed: the
    scenario's self-hosted p95 end-to-end latency at the planned load, its floor on an idle
    replica, and the longest answer (and prompt) an 80 ms response leaves room for."""
    found = scenario_stack(sc, catalog, ev)
    if found is None:
        f = Finding(
            "p95 of 80 ms", CANNOT_TELL, "a self-hosted option", ("Nothing self-hosted to test.",), settle="add one"
        )
        return Claim.of("paged_attention", (f,), assumption_rows())
    name, stack, gpus = found
    wl = sc.workload
    cap = ev.option(name).capacity
    known = None if cap is None or cap.e2e_ms is None else float(cap.e2e_ms)
    floor = idle_latency(stack, gpus, request_load(sc))
    one = idle_latency(stack, gpus, request_load(sc, 1.0))["e2e_p95"]
    # a measured throughput without latencies: the idle floor is a lower bound, not the planned p95
    planned = floor["e2e_p95"] if known is None else known
    n = {"planned_e2e_ms": planned, "idle_e2e_ms": floor["e2e_p95"], "one_token_ms": one}

    def e2e(out: float) -> float:
        return idle_latency(stack, gpus, request_load(sc, out))["e2e_p95"]

    def ttft(prompt: float) -> float:
        return idle_latency(stack, gpus, Load(prompt, 1.0, wl.cached_input_share))["e2e_p95"]

    at_load = "unknown (its capacity was measured without latencies)" if known is None else latency(planned)
    computed = [
        f"{name} ({stack.model.id} {stack.quantization.id} on {gpus} x {stack.gpu.id}): p95 end-to-end "
        f"{at_load} at the planned load; {latency(floor['e2e_p95'])} on an idle replica for "
        f"{count(wl.input_tokens_per_request)} tokens in and {count(wl.output_tokens_per_request)} out; "
        f"a one-token answer takes {latency(one)}."
    ]
    if known is None and floor["e2e_p95"] <= TARGET.value:
        f = Finding(
            "p95 response of 80 ms",
            CANNOT_TELL,
            f"a p95 latency of {name} at its planned load ({latency(floor['e2e_p95'])} idle)",
            tuple(computed),
            n,
            settle=probe_hint([name]),
        )
        return Claim.of("paged_attention", (f,), assumption_rows(*stack_rows(stack)))
    if planned <= TARGET.value:
        kind, cond = HOLDS, f"{latency(planned)} at the planned load"
    elif one <= TARGET.value:
        room = max(float(stack.model.max_context) - wl.input_tokens_per_request, 1.0)
        longest = last_within(e2e, TARGET.value, 1.0, room)
        n["max_output_tokens"] = np.floor(longest)
        kind = HOLDS_WHEN
        cond = (
            f"answers are at most {count(np.floor(longest))} tokens on a lightly loaded replica "
            f"(this scenario's {count(wl.output_tokens_per_request)}: {latency(floor['e2e_p95'])} idle, "
            f"{at_load} at the planned load)"
        )
    else:
        longest_prompt = (
            last_within(ttft, TARGET.value, 1.0, max(wl.input_tokens_per_request, 2.0))
            if ttft(1.0) <= TARGET.value
            else 0.0
        )
        n["max_prompt_tokens"] = np.floor(longest_prompt)
        kind = DOES_NOT_HOLD
        cond = (
            f"a one-token answer to a {count(wl.input_tokens_per_request)}-token prompt already takes {latency(one)}; "
            f"80 ms leaves room for prompts of at most {count(np.floor(longest_prompt))} tokens"
        )
    f = Finding("p95 response of 80 ms", kind, cond, tuple(computed), n)
    longest_answer = min(float(stack.model.max_context) - wl.input_tokens_per_request, 4096.0)
    outs = np.unique(np.round(np.geomspace(1, max(longest_answer, 2), 40)))
    curve = Curve(
        pd.DataFrame({"x": outs, "y": [e2e(float(o)) for o in outs], "series": f"{name}, idle replica"}),
        "output tokens per request",
        "p95 end-to-end latency (ms)",
        TARGET.value,
        TARGET.label,
        scenario_x=wl.output_tokens_per_request,
        log_y=True,
    )
    rows = stack_rows(stack) + workload_rows(
        sc, "input_tokens_per_request", "output_tokens_per_request", "cached_input_share"
    )
    return Claim.of("paged_attention", (f,), assumption_rows(*rows), curve)
