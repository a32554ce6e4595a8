"""Claim 3: local hardware is pay-once and predictable; one A10G serves 10,000 requests a minute.

Its text, the figures it claims and the catalog ids it is tested on: ``claims.yaml``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.base import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, Claim, Curve, Finding, text
from claims.common import (
    assumption_rows,
    cheapest_of,
    last_within,
    stack_rows,
    verdict_at,
    workload_rows,
)
from costmodel.assumptions import stated_row
from costmodel.core import roofline
from costmodel.core.roofline import Load
from costmodel.engine import Evaluation
from costmodel.engine.capacity import Stack, make_stack
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, Scenario
from costmodel.text import count, percent, usd

TEXT = text("a10g")
TARGET = TEXT.targets["requests_per_minute"]  # 10,000


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
    model = sc.serving.model if sc.serving else str(TEXT.catalog["model"])
    quant = sc.serving.quantization if sc.serving else str(TEXT.catalog["quantization"])
    engine = sc.serving.engine if sc.serving else str(TEXT.catalog["engine"])
    stack = make_stack(
        catalog,
        model,
        quant,
        str(TEXT.catalog["gpu"]),
        engine,
        efficiency=sc.serving.efficiency if sc.serving else None,
    )
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
        if rpms.max() < TARGET.value:
            first = Finding(
                "10,000 requests/minute on one A10G",
                DOES_NOT_HOLD,
                f"at most {count(rpms.max())} requests/minute, at {count(tokens[rpms.argmax()])} tokens per request",
                computed,
                n,
            )
        else:
            top = float(tokens[rpms.argmax()])
            limit = last_within(  # requests/minute fall as requests grow
                lambda t: -a10g_requests_per_minute(stack, sc, t), -TARGET.value, top, float(stack.model.max_context)
            )
            n["max_tokens"] = limit
            kind, cond = verdict_at(
                rpm >= TARGET.value,
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
            TARGET.value,
            TARGET.label,
            scenario_x=total,
        )
    second = _pay_once(sc, ev)
    rows = (
        stack_rows(stack)
        + workload_rows(sc, "input_tokens_per_request", "output_tokens_per_request", "cached_input_share")
        + [
            stated_row(
                f"uncertainty.{k} ({d.dist}, {d.low_high()[0]:g} to {d.low_high()[1]:g})", "drawn", "", d.source, sc
            )
            for k, d in sc.uncertainty.items()
        ]
    )
    return Claim.of(
        "a10g",
        (first, second),
        assumption_rows(*rows),
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
    name = cheapest_of(ev, owned) or owned[0]
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
    api = cheapest_of(ev, apis) or apis[0]

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
        option = sc.option(name)
        policy = getattr(option, "procurement", None)
        if policy is not None:  # it buys more when demand outruns the plan: steadiness costs GPUs, not SLO
            computed.append(
                f"Its procurement policy (a review every {policy.review_months} months, "
                f"{policy.lead_time_months} months' lead time) buys more GPUs when a draw's demand outruns the "
                f"plan: that is what spreads its cost; it misses the SLO in {percent(n['owned_slo_miss'])} of "
                "the draws."
            )
        else:
            computed.append(
                f"The steadiness has a price: in {percent(n['owned_slo_miss'])} of the draws the {name} fleet "
                "bought on the plan falls short (more demand or less efficiency than planned) and requests miss "
                "the SLO (counted there, not as cost)."
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
