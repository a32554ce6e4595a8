"""The debate's claims, checked: one function per claim, each a verdict computed from the engine.

A claim heard in local-versus-cloud debates is tested with what the workbench computes
(capacity and latency from the roofline with queueing, cost from the costing engine, quality
where it is stated or measured, the Monte Carlo spread) at the scenario's workload. Every
verdict is one of four kinds, with its conditions as numbers:

* ``holds``: it holds for this scenario, and the condition says how far that reaches;
* ``holds when``: it fails for this scenario, but holds past a threshold the workbench found;
* ``does not hold``: nothing in the range searched makes it hold;
* ``cannot tell without``: it needs a measurement the scenario lacks (a ``tco probe`` or
  ``tco quality`` run, named in :attr:`Finding.settle`), or one the workbench cannot make.

Change an input (``--set``) and the verdicts move with it: they are functions of the engine's
results, not text. :func:`check_claims` runs all seven; the faces (``tco claims``, the
notebook ``notebooks/2.01-check-the-claims.ipynb``) only print and draw what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from costmodel.assumptions import quality_rows, register, scenario_row, sourced_row, stated_row
from costmodel.core import roofline
from costmodel.core.roofline import Load
from costmodel.core.units import HOURS_PER_MONTH
from costmodel.engine import Evaluation
from costmodel.engine.analyses import steady_cost_functions
from costmodel.engine.api import usd_per_request
from costmodel.engine.capacity import Stack, make_stack, stack_of, study_of_stack
from costmodel.engine.costing import prepare
from costmodel.engine.eligibility import class_scores
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, RouterOption, Scenario
from costmodel.text import count, latency, percent, usd, usd_rate

HOLDS, HOLDS_WHEN, DOES_NOT_HOLD, CANNOT_TELL = "holds", "holds when", "does not hold", "cannot tell without"
VERDICTS = (HOLDS, HOLDS_WHEN, DOES_NOT_HOLD, CANNOT_TELL)
IDLE = 0.01  # mean sequences in flight on an "idle" replica: one request at a time, no queue


@dataclass(frozen=True)
class Finding:
    """One testable part of a claim and its verdict."""

    question: str  # the part of the claim this tests, in a few words
    kind: str  # one of VERDICTS
    condition: str  # the conditions as numbers: "answers of at least 143 tokens"
    computed: tuple[str, ...]  # what the workbench computed, one sentence each
    numbers: dict[str, float] = field(default_factory=dict)  # the condition's figures, for tests
    settle: str | None = None  # the run that would settle a "cannot tell"

    @property
    def verdict(self) -> str:
        """The verdict in one line: kind, then its conditions."""
        joiner = " " if self.kind in (HOLDS_WHEN, CANNOT_TELL) else ": "
        return f"{self.kind}{joiner}{self.condition}" if self.condition else self.kind


@dataclass(frozen=True)
class Curve:
    """What a claim's figure draws: ``y`` against ``x`` per series, a line at ``mark``."""

    data: pd.DataFrame  # columns x, y, series
    x_title: str
    y_title: str
    mark: float  # the claim's figure (10,000 requests/minute, 80 % ...)
    mark_label: str
    log_x: bool = True
    log_y: bool = False
    scenario_x: float | None = None  # where the scenario sits on x
    y_percent: bool = False


@dataclass(frozen=True)
class Claim:
    """One claim, what was computed to test it, its verdicts and what they rest on."""

    number: int
    title: str
    claim: str
    method: str
    findings: tuple[Finding, ...]
    assumptions: pd.DataFrame = field(repr=False)
    curve: Curve | None = None

    @property
    def verdict(self) -> str:
        """Every finding's verdict, in order."""
        return "; ".join(f.verdict for f in self.findings)


# ---------------------------------------------------------------------------- shared helpers


def idle_latency(stack: Stack, gpus: int, load: Load) -> dict[str, float]:
    """p95 TTFT, TPOT and end-to-end latency (ms) of a request on an idle replica: the floor no
    serving engine beats on that hardware, from :func:`costmodel.core.roofline.latencies`."""
    lat = roofline.latencies(stack.replica(gpus), load, IDLE)
    return {k: float(lat[k]) * 1e3 for k in ("ttft_p95", "tpot_p95", "e2e_p95")}


def _first_crossing(f: Callable[[float], float], target: float, low: float, high: float, log: bool = True) -> float:
    """The ``x`` in [low, high] where increasing ``f`` reaches ``target`` (bisection, 40 steps)."""
    a, b = (np.log(low), np.log(high)) if log else (low, high)
    for _ in range(40):
        mid = (a + b) / 2
        if f(float(np.exp(mid) if log else mid)) >= target:
            b = mid
        else:
            a = mid
    return float(np.exp(b) if log else b)


def _last_within(f: Callable[[float], float], limit: float, low: float, high: float) -> float:
    """The largest ``x`` in [low, high] where increasing ``f`` stays at or below ``limit``
    (bisection on a log scale, 40 steps); ``low`` if none does, ``high`` if all do."""
    if f(high) <= limit:
        return high
    if f(low) > limit:
        return low
    a, b = np.log(low), np.log(high)
    for _ in range(40):
        mid = (a + b) / 2
        if f(float(np.exp(mid))) <= limit:
            a = mid
        else:
            b = mid
    return float(np.exp(a))


def _threshold(holds_here: bool, reaches: str, needs: str, here: str) -> tuple[str, str]:
    """The verdict on a claim with a threshold: ``holds``, saying how far it reaches, where this
    scenario is past it; else ``holds when``, saying what it needs; both with this scenario's figure."""
    return (HOLDS, f"{reaches} ({here})") if holds_here else (HOLDS_WHEN, f"{needs} ({here})")


def _rows(*rows: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    return df.drop_duplicates(subset=["input"]).reset_index(drop=True) if len(df) else df


def _stack_rows(stack: Stack) -> list[dict[str, Any]]:
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


def _workload_rows(sc: Scenario, *fields: str) -> list[dict[str, Any]]:
    units = {
        "input_tokens_per_request": "tokens",
        "output_tokens_per_request": "tokens",
        "cached_input_share": "fraction",
    }
    units |= {"requests_per_month": "requests/month", "peak_to_mean": "ratio"}
    return [scenario_row(sc, f"workload.{f}", getattr(sc.workload, f), units[f]) for f in fields]


def _load(sc: Scenario, output_tokens: float | None = None, input_tokens: float | None = None) -> Load:
    wl = sc.workload
    return Load(
        wl.input_tokens_per_request if input_tokens is None else input_tokens,
        wl.output_tokens_per_request if output_tokens is None else output_tokens,
        wl.cached_input_share,
    )


def _self_hosted(sc: Scenario, ev: Evaluation) -> list[str]:
    return [o.name for o in sc.options if isinstance(o, RentedOption | OwnedOption)]


def _cheapest(ev: Evaluation, names: list[str]) -> str | None:
    return min(names, key=lambda n: -ev.option(n).npv_usd) if names else None


def _api_e2e_ms(o: ApiOption, sc: Scenario) -> float | None:
    if o.ttft_p95_ms is None or o.tpot_p95_ms is None:
        return None
    return o.ttft_p95_ms + (sc.workload.output_tokens_per_request - 1) * o.tpot_p95_ms


def _api_rows(sc: Scenario) -> list[dict[str, Any]]:
    rows = []
    for o in sc.options:
        if isinstance(o, ApiOption) and o.ttft_p95_ms is not None:
            for what in ("ttft_p95_ms", "tpot_p95_ms"):
                rows.append(stated_row(f"{o.name}: {what}", getattr(o, what), "ms", o.latency_source or "", sc))
    return rows


def _probe_hint(names: list[str]) -> str:
    who = names[0] if names else "API"
    return (
        f"tco probe --base-url <the {who} endpoint> --model <its model>, then "
        f"tco claims --probe-run {who}=data/probes/<run-id>"
    )


# ---------------------------------------------------------------------------- claim 1


Q4_FORMATS = ("int4-awq", "int4-gptq", "q4-k-m")


def claim_quantized_latency(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 1: a Q4 Llama-3-8B cut a RAG assistant's latency by 60 % against an A100 pipeline, and
    beat a 70B cloud model. Computed: the end-to-end latency of one request on an idle A100-80GB,
    Llama-3-8B in BF16 against the scenario's 4-bit format (INT4 AWQ unless it serves another 4-bit
    one), across answer lengths at the scenario's prompt; then the scenario's cheapest self-hosted
    option's p95 at the planned load against its APIs' p95 (measured by a probe run)."""
    quant = sc.serving.quantization if sc.serving and sc.serving.quantization in Q4_FORMATS else "int4-awq"
    engine = sc.serving.engine if sc.serving and quant != "q4-k-m" else ("llama-cpp" if quant == "q4-k-m" else "vllm")
    base = make_stack(catalog, "llama-3-8b", "bf16", "a100-80gb-sxm", "vllm")
    new = make_stack(catalog, "llama-3-8b", quant, "a100-80gb-sxm", engine)
    wl = sc.workload
    room = float(base.model.max_context) - wl.input_tokens_per_request

    def cut(out: float) -> float:
        b = idle_latency(base, 1, _load(sc, out))["e2e_p95"]
        return 1.0 - idle_latency(new, 1, _load(sc, out))["e2e_p95"] / b

    here = cut(wl.output_tokens_per_request)
    outs = np.unique(np.round(np.geomspace(1, max(room, 2), 40)))
    cuts = np.array([cut(float(x)) for x in outs])
    best = float(cuts.max())
    n = {"cut": here, "best_cut": best, "best_at_tokens": float(outs[cuts.argmax()])}
    prompt = f"{count(wl.input_tokens_per_request)}-token prompts"
    if best >= 0.6:
        threshold = _first_crossing(cut, 0.6, 1.0, float(outs[cuts.argmax()]))
        n["threshold_tokens"] = threshold
        at_least = f"at least {count(np.ceil(threshold))} tokens at {prompt}"
        kind, condition = _threshold(
            here >= 0.6,
            f"answers of {at_least}",
            f"answers are {at_least}",
            f"this scenario's {count(wl.output_tokens_per_request)}-token answers: {percent(here)} less",
        )
    else:
        kind = DOES_NOT_HOLD
        condition = f"at most {percent(best)} at {prompt} (answers of {count(n['best_at_tokens'])} tokens)"
    floor_b = idle_latency(base, 1, _load(sc))
    floor_n = idle_latency(new, 1, _load(sc))
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
        0.6,
        "60 % claimed",
        scenario_x=wl.output_tokens_per_request,
        y_percent=True,
    )
    rows = (
        _stack_rows(base)
        + _stack_rows(new)
        + _workload_rows(sc, "input_tokens_per_request", "output_tokens_per_request", "cached_input_share")
        + _api_rows(sc)
    )
    return Claim(
        1,
        "A Q4 8B model cut latency by 60 % and beat a 70B cloud model",
        "A fintech team moved a RAG assistant from an A100-based pipeline to a Q4-quantized Llama-3-8B with "
        "semantic chunking, cut latency by 60 %, and the 8B-Q4 model beat a 70B cloud model on latency.",
        "The roofline's end-to-end latency of one request (prefill, then every decode step) for Llama-3-8B in "
        "BF16 and in 4 bits on the same A100, across answer lengths; then the p95 end-to-end latency of the "
        "scenario's cheapest self-hosted option at its planned load (queueing included) against its cloud "
        "APIs' p95 from a probe run.",
        (first, second),
        _rows(*rows),
        curve,
    )


def _beats_cloud(sc: Scenario, ev: Evaluation) -> Finding:
    hosted = _cheapest(ev, _self_hosted(sc, ev))
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
            settle=_probe_hint([hosted]),
        )
    n = {"local_e2e_ms": float(local)}
    known = [(o, _api_e2e_ms(o, sc)) for o in big if _api_e2e_ms(o, sc) is not None]
    computed = [f"{hosted} at its planned load: p95 end-to-end {latency(local)} (roofline with queueing)."]
    if not known:
        return Finding(
            "beat a 70B cloud model",
            CANNOT_TELL,
            f"a latency measurement of {big[0].name} (it holds if its p95 end-to-end exceeds {latency(local)})",
            (*computed, f"No p95 latency is known for {', '.join(o.name for o in big)}."),
            n,
            settle=_probe_hint([big[0].name]),
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


# ---------------------------------------------------------------------------- claim 2

PAGED_TARGET_MS = 80.0


def _scenario_stack(sc: Scenario, catalog: Catalog, ev: Evaluation) -> tuple[str, Stack, int] | None:
    """The scenario's cheapest self-hosted option, its stack and chosen GPUs per replica."""
    name = _cheapest(ev, _self_hosted(sc, ev))
    if name is None:
        return None
    option = next(o for o in sc.options if o.name == name)
    return name, stack_of(option, sc, catalog), ev.option(name).capacity.gpus_per_replica


def claim_paged_p95(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 2: vLLM with PagedAttention took p95 response time from 1.2 s to 80 ms. Computed: the
    scenario's self-hosted p95 end-to-end latency at the planned load, its floor on an idle
    replica, and the longest answer (and prompt) an 80 ms response leaves room for."""
    found = _scenario_stack(sc, catalog, ev)
    title = "vLLM took p95 response time from 1.2 s to 80 ms"
    claim = "vLLM with PagedAttention took p95 response time from 1.2 s to 80 ms locally."
    method = (
        "The p95 end-to-end latency of the scenario's cheapest self-hosted option at its planned load "
        "(roofline with queueing), its floor on an idle replica, and the longest answer and prompt that fit "
        "in 80 ms on that hardware. The 1.2 s starting point's setup is not stated, so it is not modelled; "
        "PagedAttention's gain is in how many sequences fit (the KV-cache limit), which the roofline counts."
    )
    if found is None:
        f = Finding(
            "p95 of 80 ms", CANNOT_TELL, "a self-hosted option", ("Nothing self-hosted to test.",), settle="add one"
        )
        return Claim(2, title, claim, method, (f,), _rows())
    name, stack, gpus = found
    wl = sc.workload
    cap = ev.option(name).capacity
    known = None if cap is None or cap.e2e_ms is None else float(cap.e2e_ms)
    floor = idle_latency(stack, gpus, _load(sc))
    one = idle_latency(stack, gpus, _load(sc, 1.0))["e2e_p95"]
    # a measured throughput without latencies: the idle floor is a lower bound, not the planned p95
    planned = floor["e2e_p95"] if known is None else known
    n = {"planned_e2e_ms": planned, "idle_e2e_ms": floor["e2e_p95"], "one_token_ms": one}

    def e2e(out: float) -> float:
        return idle_latency(stack, gpus, _load(sc, out))["e2e_p95"]

    def ttft(prompt: float) -> float:
        return idle_latency(stack, gpus, Load(prompt, 1.0, wl.cached_input_share))["e2e_p95"]

    at_load = "unknown (its capacity was measured without latencies)" if known is None else latency(planned)
    computed = [
        f"{name} ({stack.model.id} {stack.quantization.id} on {gpus} x {stack.gpu.id}): p95 end-to-end "
        f"{at_load} at the planned load; {latency(floor['e2e_p95'])} on an idle replica for "
        f"{count(wl.input_tokens_per_request)} tokens in and {count(wl.output_tokens_per_request)} out; "
        f"a one-token answer takes {latency(one)}."
    ]
    if known is None and floor["e2e_p95"] <= PAGED_TARGET_MS:
        f = Finding(
            "p95 response of 80 ms",
            CANNOT_TELL,
            f"a p95 latency of {name} at its planned load ({latency(floor['e2e_p95'])} idle)",
            tuple(computed),
            n,
            settle=_probe_hint([name]),
        )
        return Claim(2, title, claim, method, (f,), _rows(*_stack_rows(stack)))
    if planned <= PAGED_TARGET_MS:
        kind, cond = HOLDS, f"{latency(planned)} at the planned load"
    elif one <= PAGED_TARGET_MS:
        room = max(float(stack.model.max_context) - wl.input_tokens_per_request, 1.0)
        longest = _last_within(e2e, PAGED_TARGET_MS, 1.0, room)
        n["max_output_tokens"] = np.floor(longest)
        kind = HOLDS_WHEN
        cond = (
            f"answers are at most {count(np.floor(longest))} tokens on a lightly loaded replica "
            f"(this scenario's {count(wl.output_tokens_per_request)}: {latency(floor['e2e_p95'])} idle, "
            f"{at_load} at the planned load)"
        )
    else:
        longest_prompt = (
            _last_within(ttft, PAGED_TARGET_MS, 1.0, max(wl.input_tokens_per_request, 2.0))
            if ttft(1.0) <= PAGED_TARGET_MS
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
        PAGED_TARGET_MS,
        "80 ms claimed",
        scenario_x=wl.output_tokens_per_request,
        log_y=True,
    )
    rows = _stack_rows(stack) + _workload_rows(
        sc, "input_tokens_per_request", "output_tokens_per_request", "cached_input_share"
    )
    return Claim(2, title, claim, method, (f,), _rows(*rows), curve)


# ---------------------------------------------------------------------------- claim 3

A10G_TARGET_RPM = 10_000.0


def a10g_requests_per_minute(stack: Stack, sc: Scenario, tokens: float) -> float:
    """Requests per minute one GPU of ``stack`` serves within the scenario's SLO, at ``tokens``
    per request split as the scenario splits them between prompt and answer."""
    wl = sc.workload
    share = wl.input_tokens_per_request / (wl.input_tokens_per_request + wl.output_tokens_per_request)
    load = Load(tokens * share, max(tokens * (1 - share), 1.0), wl.cached_input_share)
    cap = roofline.slo_capacity(stack.replica(1), load, wl.slo.ttft_p95_ms / 1e3, wl.slo.tpot_p95_ms / 1e3)
    return float(cap.requests_per_s) * 60.0 if cap.slo_met else 0.0


def claim_a10g(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 3: local hardware is "pay once" and predictable, and one A10G serves up to 10,000
    requests a minute. Computed: the SLO capacity of one A10G serving the scenario's model against
    tokens per request; the owned option's recurring share of cost and its Monte Carlo spread
    against the cheapest API's."""
    wl = sc.workload
    model = sc.serving.model if sc.serving else "llama-3.1-8b"
    quant = sc.serving.quantization if sc.serving else "int4-awq"
    engine = sc.serving.engine if sc.serving else "vllm"
    stack = make_stack(catalog, model, quant, "a10g", engine, efficiency=sc.serving.efficiency if sc.serving else None)
    total = wl.input_tokens_per_request + wl.output_tokens_per_request
    fits = stack.why_not(1, total)
    n: dict[str, float] = {}
    if fits is not None:
        first = Finding(
            "10,000 requests/minute on one A10G", DOES_NOT_HOLD, fits, (f"One A10G cannot serve {model} {quant}.",)
        )
        curve = None
    else:
        rpm = a10g_requests_per_minute(stack, sc, total)
        n["rpm"] = rpm
        tokens = np.geomspace(8, float(stack.model.max_context), 36)
        rpms = np.array([a10g_requests_per_minute(stack, sc, float(t)) for t in tokens])
        computed = (
            f"One A10G serving {model} {quant} on {stack.engine.name} within the SLO (p95 TTFT "
            f"{count(wl.slo.ttft_p95_ms)} ms, TPOT {count(wl.slo.tpot_p95_ms)} ms): {count(rpm)} requests/minute "
            f"at this scenario's {count(total)} tokens per request.",
        )
        if rpms.max() < A10G_TARGET_RPM:
            first = Finding(
                "10,000 requests/minute on one A10G",
                DOES_NOT_HOLD,
                f"at most {count(rpms.max())} requests/minute, at {count(tokens[rpms.argmax()])} tokens per request",
                computed,
                n,
            )
        else:
            top = float(tokens[rpms.argmax()])
            limit = _last_within(  # requests/minute fall as requests grow
                lambda t: -a10g_requests_per_minute(stack, sc, t), -A10G_TARGET_RPM, top, float(stack.model.max_context)
            )
            n["max_tokens"] = limit
            kind, cond = _threshold(
                rpm >= A10G_TARGET_RPM,
                f"for requests of at most {count(limit)} tokens",
                f"requests are at most {count(limit)} tokens",
                f"this scenario's {count(total)}: {count(rpm)} requests/minute",
            )
            first = Finding(
                "10,000 requests/minute on one A10G",
                kind,
                cond,
                computed,
                n,
            )
        curve = Curve(
            pd.DataFrame({"x": tokens, "y": rpms, "series": f"one A10G, {model} {quant}"}),
            "tokens per request (prompt + answer)",
            "requests per minute within the SLO",
            A10G_TARGET_RPM,
            "10,000 claimed",
            scenario_x=total,
        )
    second = _pay_once(sc, ev)
    rows = (
        _stack_rows(stack)
        + _workload_rows(sc, "input_tokens_per_request", "output_tokens_per_request", "cached_input_share")
        + [
            stated_row(
                f"uncertainty.{k} ({d.dist}, {d.low_high()[0]:g} to {d.low_high()[1]:g})", "drawn", "", d.source, sc
            )
            for k, d in sc.uncertainty.items()
        ]
    )
    return Claim(
        3,
        "Local hardware is pay-once and predictable; one A10G serves 10,000 requests a minute",
        'Local hardware is "pay once" and predictable against variable per-token fees, and one A10G serves up '
        "to 10,000 requests per minute, which cloud APIs would throttle.",
        "The roofline's capacity of one A10G within the scenario's latency objective against tokens per request; "
        "the owned option's cash flow split into up-front and recurring cost; the Monte Carlo spread (P10-P90) of "
        "its total cost against the cheapest API's. Provider rate limits are not in the catalog and are not tested.",
        (first, second),
        _rows(*rows),
        curve,
    )


def _pay_once(sc: Scenario, ev: Evaluation) -> Finding:
    owned = [o.name for o in sc.options if isinstance(o, OwnedOption)]
    apis = [o.name for o in sc.options if isinstance(o, ApiOption)]
    q = "pay once, predictable"
    if not owned or not apis:
        return Finding(
            q,
            CANNOT_TELL,
            "an owned option and an API option in the scenario",
            ("One side is missing.",),
            settle="add them",
        )
    name = _cheapest(ev, owned)
    cf = ev.option(name).cashflow
    upfront = float(cf["capex"].sum())
    total = float(cf["total"].sum())
    recurring = 1.0 - upfront / total
    n = {"recurring_share": recurring}
    computed = [
        f"{name}: {usd(upfront)} bought up front, {usd(total - upfront)} ({percent(recurring)}) paid month by "
        f"month (power, colocation, maintenance, staff, other lines) over {sc.horizon_months} months."
    ]
    sim = ev.simulation
    if sim is None or not sim.draws:
        return Finding(
            q,
            CANNOT_TELL,
            "uncertain inputs (an uncertainty section) to compare the spread of costs",
            tuple(computed),
            n,
            settle="add an uncertainty section to the scenario",
        )
    api = _cheapest(ev, apis)

    def spread(x: np.ndarray) -> float:
        p10, p50, p90 = np.percentile(x, [10, 50, 90])
        return float((p90 - p10) / p50)

    s_own, s_api = spread(sim.total_cost[name]), spread(sim.total_cost[api])
    n |= {"owned_spread": s_own, "api_spread": s_api}
    computed.append(
        f"Over {count(sim.draws)} Monte Carlo draws the P10-P90 range of total cost is {percent(s_own)} of the "
        f"median for {name} and {percent(s_api)} for {api}."
    )
    met = sim.slo_met.get(name)
    if met is not None:  # a fleet bought on the plan keeps its cost steady by leaving demand unserved
        n["owned_slo_miss"] = float(1.0 - np.mean(met))
        computed.append(
            f"The steadiness has a price: in {percent(n['owned_slo_miss'])} of the draws the {name} fleet bought "
            "on the plan falls short (more demand or less efficiency than planned) and requests miss the SLO "
            "(counted there, not as cost)."
        )
    predictable = s_own < s_api
    if recurring <= 0.5 and predictable:
        return Finding(
            q,
            HOLDS,
            f"{percent(recurring)} of the cost recurs; spread {percent(s_own)} against {percent(s_api)}",
            tuple(computed),
            n,
        )
    why = []
    if recurring > 0.5:
        why.append(f"{percent(recurring)} of the owned cost recurs every month, not once")
    if not predictable:
        why.append(f"its cost spreads {percent(s_own)} against the API's {percent(s_api)}")
    else:
        why.append(f"though its cost is the more predictable ({percent(s_own)} spread against {percent(s_api)})")
    return Finding(q, DOES_NOT_HOLD, "; ".join(why), tuple(computed), n)


# ---------------------------------------------------------------------------- claim 4

SAVINGS_TARGET = 0.8
VOLUMES = np.geomspace(1e4, 1e10, 61)


def claim_savings(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 4: local open-weight models with RAG cut API costs by up to 80 %. Computed: the
    steady-state monthly cost of the cheapest self-hosted option against the API it would
    replace (the cheapest meeting the quality requirement) across monthly volumes."""
    hosted = _self_hosted(sc, ev)
    apis = [o.name for o in sc.options if isinstance(o, ApiOption)]
    title = "Local models with RAG cut API costs by up to 80 %"
    claim = "Local open-weight models with RAG cut API costs by up to 80 %."
    method = (
        "Steady-state monthly cost (capex spread over its life, every recurring line, RAG costs such as the "
        "vector database included on both sides) of the cheapest self-hosted option against the cheapest API "
        "that meets the quality requirement, across monthly volumes, each fleet sized for its peak."
    )
    if not hosted or not apis:
        f = Finding(
            "80 % savings", CANNOT_TELL, "a self-hosted and an API option", ("One side is missing.",), settle="add them"
        )
        return Claim(4, title, claim, method, (f,), _rows())
    ok = [a for a in apis if ev.option(a).quality.met is not False] or apis
    v_here = sc.workload.requests_per_month
    # steady monthly cost per option, in the evaluation's layouts: costed once, then read at any volume
    steady = steady_cost_functions(sc, prepare(sc, catalog, chosen=ev.chosen_layouts(), routes={}))

    def cheapest(names: list[str], v) -> np.ndarray:  # USD a month at each volume of ``v``
        return np.min([steady[name](v) for name in names], axis=0)

    def saving(v: float) -> float:
        return float(1.0 - cheapest(hosted, v) / cheapest(ok, v))

    volumes = VOLUMES
    savings = 1.0 - cheapest(hosted, volumes) / cheapest(ok, volumes)
    here = saving(v_here)
    best_i = int(np.argmax(savings))
    n = {"savings": here, "best_savings": float(savings[best_i]), "best_volume": float(volumes[best_i])}
    which_api = ", ".join(ok)
    computed = [
        f"At {count(v_here)} requests/month: self-hosting (cheapest of {', '.join(hosted)}) costs "
        f"{usd(float(cheapest(hosted, v_here)))}/month against {usd(float(cheapest(ok, v_here)))} for {which_api}: "
        + (f"{percent(here)} less." if here >= 0 else f"{percent(-here)} more.")
    ]
    misses = [h for h in hosted if ev.option(h).quality.met is False]
    if misses:
        computed.append(
            f"{', '.join(misses)} miss{'es' * (len(misses) == 1)} the quality requirement, so the saving buys a "
            "weaker answer on some classes (claim 5)."
        )
    above = np.flatnonzero(savings >= SAVINGS_TARGET)
    if above.size == 0:
        kind = DOES_NOT_HOLD
        cond = f"at most {percent(n['best_savings'])} (at {count(n['best_volume'])} requests/month)"
    else:
        i = int(above[0])
        v80 = (
            float(volumes[i])
            if i == 0
            else _first_crossing(saving, SAVINGS_TARGET, float(volumes[i - 1]), float(volumes[i]))
        )
        n["volume_80"] = v80
        kind, cond = _threshold(
            here >= SAVINGS_TARGET,
            f"from {count(v80)} requests/month",
            f"volume reaches {count(v80)} requests/month",
            f"this scenario's {count(v_here)}: {_saving_words(here)}",
        )
    f = Finding("savings of 80 %", kind, cond, tuple(computed), n)
    curve = Curve(
        pd.DataFrame({"x": volumes, "y": savings, "series": f"cheapest self-hosted vs {which_api}"}),
        "requests per month",
        "saving against the API",
        SAVINGS_TARGET,
        "80 % claimed",
        scenario_x=v_here,
        y_percent=True,
    )
    # the saving rests on every cost input of both sides: the whole assumptions register
    return Claim(4, title, claim, method, (f,), _rows(*register(ev, catalog).to_dict("records")), curve)


def _saving_words(x: float) -> str:
    return f"{percent(x)} saved" if x >= 0 else f"{percent(-x)} more than the API"


# ---------------------------------------------------------------------------- claim 5


def claim_quality_routing(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 5: quantized small models lose accuracy mostly on complex logic, and routing by
    difficulty balances cost, speed and accuracy. Computed: the served model's accuracy gap to the
    best option on each request class (stated, or measured by ``tco quality``), and the router's
    chosen routes against the cheapest single option that meets every class."""
    title = "Quantized small models fail on complex logic; routing by difficulty balances it"
    claim = (
        "Quantized small models lose accuracy, mostly on complex logic; routing by difficulty between local "
        "and cloud balances cost, speed and accuracy."
    )
    method = (
        "Per request class, the accuracy of the scenario's served (quantized) model against the best option's, "
        "measured by tco quality where a run is given, else as stated; then the router option's cheapest "
        "assignment of classes to options that meets every class, against the cheapest single option that does."
    )
    rows = quality_rows(sc)
    return Claim(5, title, claim, method, (_accuracy_gap(sc, ev), _routing(sc, ev)), _rows(*rows))


def _accuracy_gap(sc: Scenario, ev: Evaluation) -> Finding:
    q = "accuracy lost mostly on the hardest class"
    hosted = [o for o in sc.options if isinstance(o, RentedOption | OwnedOption)]
    classes = sc.workload.classes
    if not hosted or len(classes) < 2:
        return Finding(
            q,
            CANNOT_TELL,
            "a self-hosted option and at least two request classes",
            ("The scenario has one request class or nothing self-hosted.",),
            settle="add request_classes to the workload",
        )
    small = class_scores(hosted[0], sc)
    others = [
        o
        for o in sc.options
        if isinstance(o, ApiOption | RentedOption | OwnedOption) and sc.serves(o) != sc.serves(hosted[0])
    ]
    scores = {o.name: class_scores(o, sc) for o in others}
    best = {
        c.name: max((s[c.name].accuracy for s in scores.values() if s[c.name] is not None), default=None)
        for c in classes
    }
    if any(small[c.name] is None or best[c.name] is None for c in classes):
        return Finding(
            q,
            CANNOT_TELL,
            "accuracy figures for every class",
            ("Some class's accuracy is unknown.",),
            settle="tco quality",
        )
    hardest = min(classes, key=lambda c: best[c.name])
    easiest = max(classes, key=lambda c: best[c.name])
    gap = {c.name: best[c.name] - small[c.name].accuracy for c in classes}
    n = {"gap_hard": gap[hardest.name], "gap_easy": gap[easiest.name]}
    served = sc.serves(hosted[0])
    computed = (
        f"{served}: "
        + ", ".join(f"{c.name} {percent(small[c.name].accuracy, 1)} ({small[c.name].basis})" for c in classes)
        + "; best other option: "
        + ", ".join(f"{c.name} {percent(best[c.name], 1)}" for c in classes)
        + ".",
        f"Gap on {hardest.name} (the class every option finds hardest) {percent(gap[hardest.name], 1)}, on "
        f"{easiest.name} {percent(gap[easiest.name], 1)}.",
    )
    holds = gap[hardest.name] > gap[easiest.name] and gap[hardest.name] > 0
    shown = (
        f"a gap of {percent(gap[hardest.name], 1)} on {hardest.name} "
        f"against {percent(gap[easiest.name], 1)} on {easiest.name}"
    )
    if small[hardest.name].basis != "measured":
        return Finding(
            q,
            CANNOT_TELL,
            f"a quality run of {served} (the stated figures {'agree' if holds else 'disagree'}: {shown})",
            computed,
            n,
            settle=f"tco quality --base-url <the {served} endpoint> --model <its model>, "
            "then tco claims --quality-run serving=data/quality/<run-id>",
        )
    return Finding(q, HOLDS if holds else DOES_NOT_HOLD, shown + " (measured)", computed, n)


def _routing(sc: Scenario, ev: Evaluation) -> Finding:
    q = "routing by difficulty wins"
    routers = [o.name for o in sc.options if isinstance(o, RouterOption)]
    if not routers:
        return Finding(
            q,
            CANNOT_TELL,
            "a router option in the scenario",
            ("The scenario has no kind: router option.",),
            settle="add an option of kind router listing the members to route between",
        )
    name = routers[0]
    r = ev.option(name)
    choice = r.routing
    singles = [o for o in ev.options if o.kind != "router" and o.eligible]
    used = list(dict.fromkeys(choice.routes.values())) if choice is not None else []
    n = {"members_used": float(len(used)), "router_npv_cost": -r.npv_usd}
    routes = ", ".join(f"{c} -> {m}" for c, m in (choice.routes.items() if choice else ()))
    computed = [f"{name} routes {routes}: NPV of cost {usd(-r.npv_usd)}, quality {r.quality.note}."]
    if singles:
        best = min(singles, key=lambda o: -o.npv_usd)
        n["single_npv_cost"] = -best.npv_usd
        computed.append(f"Cheapest single option meeting the SLO and every class: {best.name}, {usd(-best.npv_usd)}.")
    if not r.eligible:
        return Finding(
            q, DOES_NOT_HOLD, f"no assignment of classes meets every requirement ({r.quality.note})", tuple(computed), n
        )
    if len(used) < 2:
        return Finding(
            q, DOES_NOT_HOLD, f"one option, {used[0]}, serves every class at the lowest cost", tuple(computed), n
        )
    if not singles:
        return Finding(q, HOLDS, f"only the router meets every class, at {usd(-r.npv_usd)}", tuple(computed), n)
    saved = 1.0 - (-r.npv_usd) / n["single_npv_cost"]
    n["saving"] = saved
    return Finding(
        q,
        HOLDS,
        f"{usd(-r.npv_usd)} against {usd(n['single_npv_cost'])} for the cheapest single option ({percent(saved)} less)",
        tuple(computed),
        n,
    )


# ---------------------------------------------------------------------------- claim 6


def claim_first_token(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 6: users feel time to first token more than intelligence, and caching plus a good
    serving engine make a local model feel faster than a laggy cloud API. Computed: the local p95
    TTFT at the planned load with and without the prefix cache, against the APIs' measured p95."""
    title = "Time to first token matters most; a cached local model feels faster than a cloud API"
    claim = (
        "Users feel time to first token more than model intelligence; caching and a good serving engine make "
        "a local model feel faster than a laggy cloud API."
    )
    method = (
        "The p95 time to first token of the scenario's cheapest self-hosted option at its planned load (roofline "
        "with queueing, the prefix cache serving the scenario's cached share of each prompt), the same without "
        "the cache on an idle replica, against each API's p95 TTFT from a probe run."
    )
    feel = Finding(
        "users weigh TTFT above intelligence",
        CANNOT_TELL,
        "a user study (the workbench measures latency and accuracy, not how users weigh them)",
        ("Not something a cost model can compute.",),
        settle="a user study",
    )
    found = _scenario_stack(sc, catalog, ev)
    if found is None:
        return Claim(6, title, claim, method, (feel,), _rows())
    name, stack, gpus = found
    cap = ev.option(name).capacity
    if cap is None or cap.ttft_ms is None:
        unknown = Finding(
            "local feels faster than the cloud API",
            CANNOT_TELL,
            f"a p95 TTFT of {name} at its planned load (its capacity was measured without latencies)",
            (f"No time to first token is known for {name}.",),
            settle=_probe_hint([name]),
        )
        return Claim(6, title, claim, method, (feel, unknown), _rows(*_stack_rows(stack)))
    local = float(cap.ttft_ms)
    cached = idle_latency(stack, gpus, _load(sc))["ttft_p95"]
    uncached = idle_latency(
        stack, gpus, Load(sc.workload.input_tokens_per_request, sc.workload.output_tokens_per_request, 0.0)
    )["ttft_p95"]
    n = {"local_ttft_ms": local, "idle_cached_ms": cached, "idle_uncached_ms": uncached}
    computed = [
        f"{name}: p95 TTFT {latency(local)} at the planned load; on an idle replica {latency(cached)} with "
        f"{percent(sc.workload.cached_input_share)} of the prompt cached, {latency(uncached)} without the cache."
    ]
    apis = [o for o in sc.options if isinstance(o, ApiOption)]
    known = [o for o in apis if o.ttft_p95_ms is not None]
    q = "local feels faster than the cloud API"
    if not known:
        faster = Finding(
            q,
            CANNOT_TELL,
            f"a probe run of {', '.join(o.name for o in apis) or 'a cloud API'} (it holds against any API whose "
            f"p95 TTFT exceeds {latency(local)})",
            tuple(computed),
            n,
            settle=_probe_hint([o.name for o in apis]),
        )
    else:
        fastest = min(known, key=lambda o: o.ttft_p95_ms)
        n["cloud_ttft_ms"] = fastest.ttft_p95_ms
        computed.append("Measured: " + ", ".join(f"{o.name} p95 TTFT {latency(o.ttft_p95_ms)}" for o in known) + ".")
        slower = [o.name for o in known if o.ttft_p95_ms > local]
        if len(slower) == len(known):
            faster = Finding(
                q,
                HOLDS,
                f"{latency(local)} against {latency(fastest.ttft_p95_ms)} for the fastest API",
                tuple(computed),
                n,
            )
        elif slower:
            faster = Finding(
                q, HOLDS_WHEN, f"the API is {', '.join(slower)} (p95 TTFT above {latency(local)})", tuple(computed), n
            )
        else:
            faster = Finding(
                q,
                DOES_NOT_HOLD,
                f"{fastest.name} answers first in {latency(fastest.ttft_p95_ms)} against {latency(local)}",
                tuple(computed),
                n,
            )
    rows = _stack_rows(stack) + _workload_rows(sc, "input_tokens_per_request", "cached_input_share") + _api_rows(sc)
    return Claim(6, title, claim, method, (feel, faster), _rows(*rows))


# ---------------------------------------------------------------------------- claim 7

OPEN_MODELS = ("qwen2.5-7b", "qwen2.5-32b", "qwen2.5-72b", "mistral-small-24b")
OPEN_GPUS = ("h100-sxm", "a100-80gb-sxm", "l40s", "l4", "a10g")


def cheapest_open_serving(sc: Scenario, catalog: Catalog, model: str) -> dict[str, Any] | None:
    """The cheapest way to rent a replica of ``model`` (GPU, weight format, layout) within the
    scenario's SLO: USD per request at full SLO capacity and the replica's hourly cost."""
    wl = sc.workload
    load = _load(sc)
    best = None
    for gpu in OPEN_GPUS:
        rent = catalog.gpus[gpu].rental_price(None, "on-demand") if gpu in catalog.gpus else None
        if rent is None:
            continue
        for quant in ("fp8", "bf16"):
            q = catalog.quantizations[quant]
            if quant == "fp8" and catalog.gpus[gpu].fp8_tflops is None:
                continue
            if "vllm" not in q.engines:
                continue
            stack = make_stack(
                catalog, model, quant, gpu, "vllm", efficiency=sc.serving.efficiency if sc.serving else None
            )
            study = study_of_stack(stack, load, wl.slo.ttft_p95_ms, wl.slo.tpot_p95_ms, float(rent.price.value), "")
            lay = study.best
            if lay is None:
                continue
            hourly = float(rent.price.value) * lay.gpus_per_replica
            per_request = hourly / 3600.0 / float(lay.capacity.requests_per_s)
            if best is None or per_request < best["usd_per_request"]:
                best = {
                    "model": model,
                    "gpu": gpu,
                    "quantization": quant,
                    "gpus": lay.gpus_per_replica,
                    "usd_per_hour": hourly,
                    "usd_per_request": per_request,
                    "price": rent,
                }
    return best


def _self_hosting_overhead(sc: Scenario) -> tuple[float, float, str | None]:
    """Monthly operations staff and planned peak utilisation of the scenario's first rented (else
    owned) option: what running any open model would add to its GPU-hours."""
    o = next((o for o in sc.options if isinstance(o, RentedOption)), None) or next(
        (o for o in sc.options if isinstance(o, OwnedOption)), None
    )
    if o is None:
        return 0.0, 0.85, None
    return float(o.ops_staff_fte or 0) * float(o.ops_staff_usd_per_year or 0) / 12.0, float(o.max_utilization), o.name


def claim_open_models(sc: Scenario, catalog: Catalog, ev: Evaluation, gpt4o: ApiPrice | None = None) -> Claim:
    """Claim 7: open models such as Qwen2.5 and Mistral Small change the economics, while GPT-4o
    stays ahead on nuanced writing. Computed: the cheapest rented layout of each open model within
    the SLO, its cost per request at the scenario's peak-to-mean load, against GPT-4o's price for
    the same request, and the monthly volume from which one replica pays for itself."""
    title = "Qwen2.5 and Mistral Small change the economics; GPT-4o leads on nuanced writing"
    claim = "Open models such as Qwen2.5 and Mistral Small change the economics; GPT-4o stays ahead on nuanced writing."
    method = (
        "For each open model, the cheapest on-demand GPU, weight format and layout (vLLM) that meets the "
        "scenario's SLO; its cost per request when a fleet sized for the peak runs at the scenario's mean load "
        "(peak-to-mean ratio, planned headroom); against GPT-4o's per-token price for the same request; and the "
        "monthly volume from which one replica rented around the clock costs less than GPT-4o."
    )
    writing = Finding(
        "GPT-4o ahead on nuanced writing",
        CANNOT_TELL,
        "a graded writing set: tco quality scores answers by exact, contains, regex or number matching, which "
        "cannot grade nuance",
        ("The bundled suites test grounded answers, reasoning and extraction, not writing.",),
        settle="a rubric-graded writing evaluation (for example inspect-ai with a model grader) on both endpoints",
    )
    rows: list[dict[str, Any]] = _workload_rows(
        sc, "requests_per_month", "input_tokens_per_request", "output_tokens_per_request", "peak_to_mean"
    )
    if gpt4o is None:
        econ = Finding(
            "open models change the economics",
            CANNOT_TELL,
            "GPT-4o's price in the catalog",
            ("No GPT-4o price.",),
            settle="add openai/gpt-4o to data/catalog/api_prices.yaml",
        )
        return Claim(7, title, claim, method, (econ, writing), _rows(*rows))
    wl = sc.workload
    api_option = ApiOption(name="gpt-4o", kind="api", provider="openai", model="gpt-4o")
    api_per_request = float(usd_per_request(api_option, gpt4o, wl))
    rows += [sourced_row("openai/gpt-4o: input", gpt4o.input), sourced_row("openai/gpt-4o: output", gpt4o.output)]
    staff, headroom, like = _self_hosting_overhead(sc)
    busy = headroom / float(wl.peak_to_mean or 1.0)  # mean load of a fleet planned for the peak
    found = [b for m in OPEN_MODELS if m in catalog.models and (b := cheapest_open_serving(sc, catalog, m))]
    computed = [
        f"GPT-4o: {usd_rate(api_per_request * 1000, 2)} per 1,000 requests of {count(wl.input_tokens_per_request)} "
        f"tokens in and {count(wl.output_tokens_per_request)} out.",
        f"Self-hosting carries {usd(staff)}/month of operations staff and plans for {percent(headroom)} of peak "
        f"capacity{f', as {like} does' if like else ' (no self-hosted option in the scenario: no staff, 85 %)'}; "
        "costs both sides share (vector database, integration) are left out.",
    ]
    table = []
    for b in found:
        at_load = b["usd_per_request"] / busy
        breakeven = (b["usd_per_hour"] * HOURS_PER_MONTH + staff) / api_per_request
        b |= {"usd_per_request_at_load": at_load, "breakeven_requests": breakeven}
        table.append(b)
        rows.append(sourced_row(f"{b['gpu']}: on-demand price ({b['price'].provider})", b["price"].price))
        computed.append(
            f"{b['model']}: {b['gpus']} x {b['gpu']} {b['quantization']} at {usd_rate(b['usd_per_hour'], 2)}/hour; "
            f"{usd_rate(at_load * 1000, 2)} per 1,000 requests at {percent(busy)} mean load "
            f"({percent(1 - at_load / api_per_request)} below GPT-4o); one replica and the staff pay for "
            f"themselves from {count(breakeven)} requests/month."
        )
    if not table:
        econ = Finding(
            "open models change the economics",
            DOES_NOT_HOLD,
            "no open model meets the SLO on a catalog GPU",
            tuple(computed),
        )
        return Claim(7, title, claim, method, (econ, writing), _rows(*rows))
    computed.append("Accuracy of these models on this workload is not measured here (claim 5).")
    winner = min(
        table, key=lambda b: b["breakeven_requests"] if b["usd_per_request_at_load"] < api_per_request else np.inf
    )
    n = {
        "saving_at_load": 1 - winner["usd_per_request_at_load"] / api_per_request,
        "breakeven_requests": winner["breakeven_requests"],
        "gpt4o_usd_per_request": api_per_request,
        "mean_load": busy,
    }
    v = wl.requests_per_month
    if winner["usd_per_request_at_load"] >= api_per_request:
        econ = Finding(
            "open models change the economics",
            DOES_NOT_HOLD,
            f"even at {percent(busy)} mean load the cheapest, {winner['model']}, costs "
            f"{usd_rate(winner['usd_per_request_at_load'] * 1000, 2)} per 1,000 requests against GPT-4o's "
            f"{usd_rate(api_per_request * 1000, 2)}",
            tuple(computed),
            n,
        )
    else:
        breakeven = f"{count(winner['breakeven_requests'])} requests/month"
        kind, cond = _threshold(
            v >= winner["breakeven_requests"],
            f"from {breakeven}",
            f"volume reaches {breakeven}",
            f"{winner['model']} on {winner['gpus']} x {winner['gpu']}, {percent(n['saving_at_load'])} below GPT-4o "
            f"per request; this scenario: {count(v)}",
        )
        econ = Finding("open models change the economics", kind, cond, tuple(computed), n)
    return Claim(7, title, claim, method, (econ, writing), _rows(*rows))


# ---------------------------------------------------------------------------- all of them


def check_claims(
    scenario: Scenario, catalog: Catalog, evaluation: Evaluation, gpt4o: ApiPrice | None = None
) -> list[Claim]:
    """The seven claims, checked against one evaluated scenario (with its Monte Carlo, if any)."""
    sc, ev = scenario, evaluation
    return [
        claim_quantized_latency(sc, catalog, ev),
        claim_paged_p95(sc, catalog, ev),
        claim_a10g(sc, catalog, ev),
        claim_savings(sc, catalog, ev),
        claim_quality_routing(sc, catalog, ev),
        claim_first_token(sc, catalog, ev),
        claim_open_models(sc, catalog, ev, gpt4o),
    ]
