"""Claim 6: time to first token matters most; a cached local model feels faster than a cloud API.

Its text, the figures it claims and the catalog ids it is tested on: ``claims.yaml``."""

from __future__ import annotations

from claims.base import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, HOLDS_WHEN, Claim, Finding
from claims.common import (
    api_rows,
    assumption_rows,
    idle_latency,
    probe_hint,
    request_load,
    scenario_stack,
    stack_rows,
    workload_rows,
)
from costmodel.core.roofline import Load
from costmodel.engine import Evaluation
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, Scenario
from costmodel.text import latency, percent


def claim_first_token(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 6: users feel time to first token more than intelligence, and caching plus a good
    serving engine make a local model feel faster than a laggy cloud API. Computed: the local p95
    TTFT at the planned load with and without the prefix cache, against the APIs' measured p95."""
    feel = Finding(
        "users weigh TTFT above intelligence",
        CANNOT_TELL,
        "a user study (the workbench measures latency and accuracy, not how users weigh them)",
        ("Not something a cost model can compute.",),
        settle="a user study",
    )
    found = scenario_stack(sc, catalog, ev)
    if found is None:
        return Claim.of("first_token", (feel,), assumption_rows())
    name, stack, gpus = found
    cap = ev.option(name).capacity
    if cap is None or cap.ttft_ms is None:
        unknown = Finding(
            "local feels faster than the cloud API",
            CANNOT_TELL,
            f"a p95 TTFT of {name} at its planned load (its capacity was measured without latencies)",
            (f"No time to first token is known for {name}.",),
            settle=probe_hint([name]),
        )
        return Claim.of("first_token", (feel, unknown), assumption_rows(*stack_rows(stack)))
    local = float(cap.ttft_ms)
    cached = idle_latency(stack, gpus, request_load(sc))["ttft_p95"]
    uncached = idle_latency(
        stack, gpus, Load(sc.workload.input_tokens_per_request, sc.workload.output_tokens_per_request, 0.0)
    )["ttft_p95"]
    n = {"local_ttft_ms": local, "idle_cached_ms": cached, "idle_uncached_ms": uncached}
    computed = [
        f"{name}: p95 TTFT {latency(local)} at the planned load; on an idle replica {latency(cached)} with "
        f"{percent(sc.workload.cached_input_share)} of the prompt cached, {latency(uncached)} without the cache."
    ]
    apis = [o for o in sc.options if isinstance(o, ApiOption)]
    ttft = {o.name: o.ttft_p95_ms for o in apis if o.ttft_p95_ms is not None}
    known = [o for o in apis if o.name in ttft]
    q = "local feels faster than the cloud API"
    if not known:
        faster = Finding(
            q,
            CANNOT_TELL,
            f"a probe run of {', '.join(o.name for o in apis) or 'a cloud API'} (it holds against any API whose "
            f"p95 TTFT exceeds {latency(local)})",
            tuple(computed),
            n,
            settle=probe_hint([o.name for o in apis]),
        )
    else:
        fastest = min(known, key=lambda o: ttft[o.name])
        n["cloud_ttft_ms"] = ttft[fastest.name]
        computed.append("Measured: " + ", ".join(f"{o.name} p95 TTFT {latency(ttft[o.name])}" for o in known) + ".")
        slower = [o.name for o in known if ttft[o.name] > local]
        if len(slower) == len(known):
            faster = Finding(
                q,
                HOLDS,
                f"{latency(local)} against {latency(ttft[fastest.name])} for the fastest API",
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
                f"{fastest.name} answers first in {latency(ttft[fastest.name])} against {latency(local)}",
                tuple(computed),
                n,
            )
    rows = stack_rows(stack) + workload_rows(sc, "input_tokens_per_request", "cached_input_share") + api_rows(sc)
    return Claim.of("first_token", (feel, faster), assumption_rows(*rows))
