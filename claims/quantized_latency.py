"""Claim 1: a Q4 8B model cut latency by 60 % and beat a 70B cloud model.

Its text, the figures it claims and the catalog ids it is tested on: ``claims.yaml``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.base import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, Claim, Curve, Finding, text
from claims.common import (
    api_e2e_ms,
    api_rows,
    assumption_rows,
    cheapest_of,
    first_crossing,
    idle_latency,
    probe_hint,
    request_load,
    self_hosted,
    stack_rows,
    verdict_at,
    workload_rows,
)
from costmodel.engine import Evaluation
from costmodel.engine.capacity import make_stack
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, Scenario
from costmodel.text import count, latency, percent

TEXT = text("quantized_latency")
TARGET = TEXT.targets["latency_cut"]  # 60 %
CAT = TEXT.catalog  # the model, GPU and formats the claim names
Q4_FORMATS: list[str] = list(CAT["q4_formats"])


def claim_quantized_latency(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 1: a Q4 Llama-3-8B cut a RAG assistant's latency by 60 % against an A100 pipeline, and
    beat a 70B cloud model. Computed: the end-to-end latency of one request on an idle A100-80GB,
    Llama-3-8B in BF16 against the scenario's 4-bit format (INT4 AWQ unless it serves another 4-bit
    one), across answer lengths at the scenario's prompt; then the scenario's cheapest self-hosted
    option's p95 at the planned load against its APIs' p95 (measured by a probe run)."""
    quant = sc.serving.quantization if sc.serving and sc.serving.quantization in Q4_FORMATS else str(CAT["default_q4"])
    engines = catalog.quantizations[quant].engines  # GGUF runs on llama.cpp only
    engine = sc.serving.engine if sc.serving and sc.serving.engine in engines else engines[0]
    model, gpu = str(CAT["model"]), str(CAT["gpu"])
    base = make_stack(catalog, model, str(CAT["baseline_format"]), gpu, str(CAT["baseline_engine"]))
    new = make_stack(catalog, model, quant, gpu, engine)
    wl = sc.workload
    room = float(base.model.max_context) - wl.input_tokens_per_request

    def cut(out: float) -> float:
        b = idle_latency(base, 1, request_load(sc, out))["e2e_p95"]
        return 1.0 - idle_latency(new, 1, request_load(sc, out))["e2e_p95"] / b

    here = cut(wl.output_tokens_per_request)
    outs = np.unique(np.round(np.geomspace(1, max(room, 2), 40)))
    cuts = np.array([cut(float(x)) for x in outs])
    best = float(cuts.max())
    n = {"cut": here, "best_cut": best, "best_at_tokens": float(outs[cuts.argmax()])}
    prompt = f"{count(wl.input_tokens_per_request)}-token prompts"
    if best >= TARGET.value:
        threshold = first_crossing(cut, TARGET.value, 1.0, float(outs[cuts.argmax()]))
        n["threshold_tokens"] = threshold
        at_least = f"at least {count(np.ceil(threshold))} tokens at {prompt}"
        kind, condition = verdict_at(
            here >= TARGET.value,
            f"answers of {at_least}",
            f"answers are {at_least}",
            f"this scenario's {count(wl.output_tokens_per_request)}-token answers: {percent(here)} less",
        )
    else:
        kind = DOES_NOT_HOLD
        condition = f"at most {percent(best)} at {prompt} (answers of {count(n['best_at_tokens'])} tokens)"
    floor_b = idle_latency(base, 1, request_load(sc))
    floor_n = idle_latency(new, 1, request_load(sc))
    computed = (
        f"One request on an idle A100-80GB, {count(wl.input_tokens_per_request)} tokens in and "
        f"{count(wl.output_tokens_per_request)} out: Llama-3-8B BF16 {latency(floor_b['e2e_p95'])} "
        f"(first token {latency(floor_b['ttft_p95'])}), {new.quantization.name} on {new.engine.name} "
        f"{latency(floor_n['e2e_p95'])} (first token {latency(floor_n['ttft_p95'])}): {percent(here)} less.",
        "Four-bit weights shrink what each decode step reads, so the cut grows with the answer; the prompt's "
        "prefill is compute-bound and runs in 16-bit either way, so long retrieved contexts dilute it. "
        "Semantic chunking that sends fewer tokens cuts the prefill for both models alike.",
    )
    first = Finding("latency cut of 60 %", kind, condition, computed, n)
    second = _beats_cloud(sc, ev)
    curve = Curve(
        pd.DataFrame({"x": outs, "y": cuts, "series": f"{new.quantization.name} vs BF16, A100"}),
        "output tokens per request",
        "end-to-end latency cut",
        TARGET.value,
        TARGET.label,
        scenario_x=wl.output_tokens_per_request,
        y_percent=True,
    )
    rows = (
        stack_rows(base)
        + stack_rows(new)
        + workload_rows(sc, "input_tokens_per_request", "output_tokens_per_request", "cached_input_share")
        + api_rows(sc)
    )
    return Claim.of(
        "quantized_latency",
        (first, second),
        assumption_rows(*rows),
        curve,
    )


def _beats_cloud(sc: Scenario, ev: Evaluation) -> Finding:
    hosted = cheapest_of(ev, self_hosted(sc, ev))
    apis = [o for o in sc.options if isinstance(o, ApiOption)]
    big = [o for o in apis if "70b" in o.model.lower()] or apis
    if hosted is None or not big:
        return Finding(
            "beat a 70B cloud model",
            CANNOT_TELL,
            "a self-hosted option and a 70B cloud API in the scenario",
            ("The scenario lacks one side of the comparison.",),
            settle="add a rented or owned option and an API option",
        )
    cap = ev.option(hosted).capacity
    local = None if cap is None else cap.e2e_ms
    if local is None:
        return Finding(
            "beat a 70B cloud model",
            CANNOT_TELL,
            f"an end-to-end latency of {hosted} (its capacity figure gives none)",
            (f"{hosted}'s capacity is {'absent' if cap is None else cap.basis} with no end-to-end latency.",),
            settle=probe_hint([hosted]),
        )
    n = {"local_e2e_ms": float(local)}
    known = [(o, e2e) for o in big if (e2e := api_e2e_ms(o, sc)) is not None]
    computed = [f"{hosted} at its planned load: p95 end-to-end {latency(local)} (roofline with queueing)."]
    if not known:
        return Finding(
            "beat a 70B cloud model",
            CANNOT_TELL,
            f"a latency measurement of {big[0].name} (it holds if its p95 end-to-end exceeds {latency(local)})",
            (*computed, f"No p95 latency is known for {', '.join(o.name for o in big)}."),
            n,
            settle=probe_hint([big[0].name]),
        )
    o, cloud = min(known, key=lambda t: t[1])
    n["cloud_e2e_ms"] = float(cloud)
    computed.append(f"{o.name}: p95 end-to-end {latency(cloud)} ({o.latency_source}).")
    if local < cloud:
        return Finding(
            "beat a 70B cloud model", HOLDS, f"{latency(local)} against {latency(cloud)}", tuple(computed), n
        )
    return Finding(
        "beat a 70B cloud model",
        DOES_NOT_HOLD,
        f"{latency(local)} against {o.name}'s {latency(cloud)}",
        tuple(computed),
        n,
    )
