"""Why an option was recommended: the cheapest eligible option by NPV, the reasons in words
with their numbers, and the risk flags of self-hosted options.

Eligibility (not known to miss the SLO or the quality requirement) is
:attr:`~costmodel.engine.results.OptionResult.eligible`, judged in
:mod:`costmodel.engine.eligibility`; the Monte Carlo confidence is added by
:func:`costmodel.uncertainty.with_confidence`.
"""

from __future__ import annotations

import numpy as np

from costmodel.core.units import SECONDS_PER_MONTH
from costmodel.engine import api
from costmodel.engine.costing import Prepared
from costmodel.engine.results import BreakEven, OptionResult, Payback, Recommendation
from costmodel.engine.router import routes_label
from costmodel.model.scenario import ApiOption, OwnedOption, RouterOption, Scenario
from costmodel.text import count, percent, times, usd, usd_rate


def risks(
    r: OptionResult, scenario: Scenario, prepared: Prepared, paybacks: tuple[Payback, ...], results: list[OptionResult]
) -> tuple[str, ...]:
    """Risk flags of a self-hosted option, each with its numbers."""
    h = prepared.fleets.get(r.name)
    if h is None:
        return ()
    o = h.option
    flags = []
    replicas = r.gpus_at_peak / h.capacity.gpus_per_replica if r.gpus_at_peak else 0
    if o.spare_replicas == 0 and replicas <= 1:
        flags.append(
            f"{r.name} runs on a single replica ({count(r.gpus_at_peak, 'GPU')}) with no spare: one "
            "failure stops service"
        )
    apis = [x for x in results if x.kind == "api" and x.eligible]  # only APIs that may serve the workload
    if apis and r.mean_utilization is not None and r.gpus_at_peak:
        cheapest = max(apis, key=lambda x: x.npv_usd)
        # Utilisation at which the fleet's steady cost equals the API bill for the same requests:
        # at full SLO capacity the fleet serves C requests a month; the API would charge cost(C).
        fleet = np.array([float(r.gpus_at_peak)])
        full_rps = h.served_capacity(fleet)
        full = float(full_rps[0]) * SECONDS_PER_MONTH
        fleet_cost = float(h.fleet_steady_cost(fleet, full_rps)[0])
        api_option = scenario.option(cheapest.name)
        assert isinstance(api_option, ApiOption)  # the cheapest of the API options
        per_request = api.usd_per_request(api_option, prepared.prices[cheapest.name], scenario.workload)
        api_cost = full * float(per_request)
        breakeven = fleet_cost / api_cost if api_cost > 0 else float("inf")
        if breakeven > 1.0:  # no load can make it pay: say so, not a utilisation above 100 %
            flags.append(
                f"{r.name}'s fleet costs more than {cheapest.name} would charge for its full SLO capacity "
                f"({usd(fleet_cost)} against {usd(api_cost)} a month at the peak fleet): it cannot break even "
                "at any utilisation"
            )
        elif r.mean_utilization < breakeven:
            flags.append(
                f"{r.name}'s fleet averages {percent(r.mean_utilization)} utilisation, below the "
                f"{percent(breakeven)} at which it breaks even with {cheapest.name}"
            )
    if o.measured is not None and o.measured.caveat:
        flags.append(f"{r.name}'s measured capacity is {o.measured.caveat}")
    if isinstance(o, OwnedOption):
        life = o.depreciation_years * 12
        months = [p.month for p in paybacks if p.owned == r.name]
        best = min((m for m in months if m is not None), default=None)
        if best is None:
            flags.append(
                f"{r.name} does not pay back against any API within the {scenario.horizon_months}-month "
                "horizon" + (f" (hardware life {life:.0f} months)" if life > scenario.horizon_months else "")
            )
        elif best > life:
            flags.append(f"{r.name} pays back in month {best}, beyond its {life:.0f}-month hardware life")
    return tuple(flags)


TIE = 0.001
"""Two NPVs of cost within this share of the recommended option's are a tie: the recommendation names
the runner-up as tied rather than cheaper by a rounding error."""


def contends(r: OptionResult) -> bool:
    """Whether an option competes for the recommendation: eligible, and not a router whose traffic all
    reaches one member (that router is that member plus its own lines: not a rival)."""
    return r.eligible and not (r.routing is not None and r.routing.single)


def recommend(
    scenario: Scenario, results: list[OptionResult], break_evens: tuple[BreakEven, ...], paybacks: tuple[Payback, ...]
) -> Recommendation:
    """The cheapest eligible option by NPV, with the reasons in words."""
    eligible = [r for r in results if contends(r)]
    if not eligible:
        return Recommendation(
            None,
            (
                "No option meets both the latency SLO and the quality requirement; relax "
                "them or add larger GPUs or models.",
            ),
        )
    ranked = sorted(eligible, key=lambda r: -r.npv_usd)
    best = ranked[0]
    wl = scenario.workload
    claim = "meets the SLO" if best.slo.met else "is not known to miss the SLO"
    reasons = [
        f"{best.label} is the cheapest option that {claim}: NPV of cost {usd(-best.npv_usd, compact=True)} "
        f"over {scenario.horizon_months} months ({usd_rate(best.usd_per_million_tokens)} per 1M tokens)."
    ]
    if len(ranked) > 1:
        second = ranked[1]
        extra = best.npv_usd - second.npv_usd  # how much more the runner-up costs
        ratio = second.npv_usd / best.npv_usd if best.npv_usd else float("inf")  # both negative
        at = f"Next best is {second.label} at {usd(-second.npv_usd, compact=True)}"
        if abs(extra) <= TIE * abs(best.npv_usd):  # closer than the inputs are known: say so
            reasons.append(
                f"{at}: a tie (within {percent(TIE, 1)} of the NPV of cost; {usd_rate(extra, 2)} apart), so an "
                "input that moves either option by more than that decides between them."
            )
        elif ratio < 2:  # a share of the recommended option's cost reads well below doubling
            reasons.append(f"{at}, {usd(extra, compact=True)} ({percent(extra / -best.npv_usd)}) more.")
        else:
            reasons.append(f"{at}, {times(ratio)} as much ({usd(extra, compact=True)} more).")
    if best.routing is not None:
        router = scenario.option(best.name)
        e = router.escalation if isinstance(router, RouterOption) else None
        checks = (
            f"; a check re-asks {e.to} for {percent(best.routing.escalated_share, 1)} of requests"
            if e is not None and best.routing.checked_share > 0
            else ""
        )
        reasons.append(f"Routes: {routes_label(best.routing.routes, scenario)}{checks}.")
    if wl.request_classes:
        reasons.append(f"Quality: {best.quality.note}.")
    if best.slo.met is None:
        reasons.append(f"Its latency is unverified ({best.slo.note}).")
    elif best.capacity is not None:
        reasons.append(
            f"Latency {best.slo.basis}: TTFT {best.slo.ttft_ms:,.0f} ms, TPOT {best.slo.tpot_ms:,.1f} ms "
            f"vs SLO {wl.slo.ttft_p95_ms:g}/{wl.slo.tpot_p95_ms:g} ms; "
            f"{count(best.gpus_at_peak, 'GPUs')} at peak."
        )
    excluded = [r.label for r in results if r.slo.met is False]
    if excluded:
        reasons.append(f"Excluded for missing the SLO: {', '.join(excluded)}.")
    too_weak = [f"{r.label} ({r.quality.note})" for r in results if r.quality.met is False]
    if too_weak:
        reasons.append(f"Excluded for quality: {'; '.join(too_weak)}.")
    # the break-even that matters most: the lowest volume at which the recommendation meets a rival
    found = [b for b in break_evens if best.name in (b.self_hosted, b.api) and b.requests_per_month is not None]
    if found:
        b = min(found, key=lambda b: b.requests_per_month or 0.0)
        reasons.append(
            f"{b.self_hosted} breaks even with {b.api} at {count(b.requests_per_month)} "
            f"requests/month (first month: {count(wl.requests_per_month)})."
        )
    for p in paybacks:
        if p.owned == best.name and p.month is not None:
            reasons.append(f"Its hardware pays back against {p.api} in month {p.month}.")
            break
    return Recommendation(best.name, tuple(reasons), best.risks)
