"""The one costing of every option, shared by the point estimate and the Monte Carlo.

:func:`prepare` resolves what every option needs (demand by month, API prices, self-hosted
fleets); :func:`cost_option` gives one option's monthly line items and whether it meets the
SLO. Point inputs give arrays by month; ``(draws, 1)`` inputs give ``(draws, months)``
tables, so there is no second cost model to drift apart. :func:`option_result` turns the
point estimate's line items into an :class:`~costmodel.engine.results.OptionResult`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from costmodel.core import finance
from costmodel.core.demand import local_share
from costmodel.core.tables import CostTerms, month_sums
from costmodel.core.units import SECONDS_PER_MONTH
from costmodel.engine import api
from costmodel.engine.capacity import capacity_slo, describe, layouts
from costmodel.engine.demand import Demand, demand_of
from costmodel.engine.eligibility import quality_status
from costmodel.engine.errors import EngineError
from costmodel.engine.extras import extra_items
from costmodel.engine.fleet import SelfHostedFleet, in_place, self_hosted_fleet, stranded_gpus
from costmodel.engine.hybrid import hybrid_items, slo_and
from costmodel.engine.results import LayoutCost, OptionKind, OptionResult, QualityStatus, SloStatus
from costmodel.engine.router import MemberCost, RouterChoice, choose_routes, router_items, router_view
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import (
    ApiOption,
    HybridOption,
    Option,
    OwnedOption,
    Procurement,
    RentedOption,
    RouterOption,
    Scenario,
)
from costmodel.text import count, percent, slo_word


@dataclass(frozen=True)
class Prepared:
    """What every option's costing needs: demand by month, API prices, self-hosted fleets (in the
    layout chosen for each), and every layout considered."""

    demand: Demand
    prices: dict[str, ApiPrice]  # by API option name
    fleets: dict[str, SelfHostedFleet]  # by self-hosted option name, in the chosen layout
    layouts: dict[str, tuple[LayoutCost, ...]]  # by self-hosted option name
    plans: dict[str, np.ndarray] = field(default_factory=dict)  # GPUs by month decided on the plan
    routes: dict[str, RouterChoice] = field(default_factory=dict)  # by router name: its routes and frontier
    catalog: Catalog | None = None  # to size a router member's fleet for the classes it receives
    at_plan: bool = True  # layouts were chosen here (False: fixed from the point estimate, Monte Carlo)
    sized_for: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the fleets' input and output tokens, TTFT objective
    member_fleets: dict[tuple[str, float, float, float], SelfHostedFleet] = field(default_factory=dict)  # a cache
    successors: dict[str, api.Successor] = field(default_factory=dict)  # by API option name: retiring models

    def chosen_layouts(self) -> dict[str, int]:
        """GPUs per replica of each self-hosted option: fixed before uncertainty resolves."""
        return {name: fleet.capacity.gpus_per_replica for name, fleet in self.fleets.items()}

    def planned_fleets(self, scenario: Scenario) -> dict[str, np.ndarray]:
        """GPUs by month of each self-hosted option sized on the plan (``sizing: plan``), as this
        (point) demand needs them: what the Monte Carlo keeps while demand varies. A router's
        members are planned on their routes' share, as ``<router>/<member>``."""
        plans = {
            o.name: self.fleets[o.name].fleet(self.demand.peak_rps)
            for o in scenario.options
            if isinstance(o, RentedOption | OwnedOption) and o.policy == "plan" and o.gpus is None
        }
        for name, choice in self.routes.items():
            router = scenario.option(name)
            assert isinstance(router, RouterOption)
            for member, mix in choice.mixes.items():
                if member in plans:
                    view = member_view(router, mix, scenario, member) or scenario
                    fleet = self.member_fleet(member, view)
                    plans[f"{name}/{member}"] = fleet.fleet(self.demand.peak_rps * sum(mix.values()))
        return plans

    def member_fleet(self, name: str, view: Scenario) -> SelfHostedFleet:
        """Self-hosted option ``name``'s fleet in its chosen layout, sized for ``view`` (a router
        member's tokens and TTFT budget: :func:`member_view`)."""
        fleet = self.fleets[name]
        wl, slo = view.workload, view.workload.slo
        key = (name, float(wl.input_tokens_per_request), float(wl.output_tokens_per_request), float(slo.ttft_p95_ms))
        if key[1:] == self.sized_for or self.catalog is None:
            return fleet
        if key not in self.member_fleets:
            option = fleet.option
            (layout,) = layouts(option, view, self.catalog, fleet.capacity.gpus_per_replica, at_plan=self.at_plan)
            self.member_fleets[key] = self_hosted_fleet(option, self.catalog, layout.capacity)
        return self.member_fleets[key]


def member_view(
    router: RouterOption, mix: Mapping[str, float], scenario: Scenario, member: str | None = None
) -> Scenario | None:
    """The scenario a router's member is costed in: the mean tokens of the true classes it receives
    (``mix``: class -> share of all requests) and the TTFT objective less the classifier's latency
    (:func:`~costmodel.engine.router.router_view`; None: no TTFT budget is left). A self-hosted
    member is sized at the mix's mean tokens."""
    view = router_view(router, scenario, member)
    total = sum(mix.values())
    if view is None or total <= 0:
        return view
    wl = scenario.workload
    tokens = wl.class_tokens()
    tin = sum(w * tokens[c][0] for c, w in mix.items()) / total
    tout = sum(w * tokens[c][1] for c, w in mix.items()) / total
    if np.isclose(tin, wl.input_tokens_per_request, rtol=1e-9) and np.isclose(
        tout, wl.output_tokens_per_request, rtol=1e-9
    ):
        return view
    mean = view.workload.model_copy(update={"input_tokens_per_request": tin, "output_tokens_per_request": tout})
    return view.model_copy(update={"workload": mean})


def prepare(
    scenario: Scenario,
    catalog: Catalog,
    chosen: dict[str, int] | None = None,
    plans: dict[str, np.ndarray] | None = None,
    routes: dict[str, RouterChoice] | None = None,
) -> Prepared:
    """Resolve demand, prices and capacity once for all options.

    Each self-hosted option runs in the layout with the lowest cost per served token among
    those not known to miss the SLO (ties: fewer GPUs per replica); ``chosen`` fixes layouts
    instead (the Monte Carlo keeps the point estimate's), and ``plans`` the GPUs bought or
    committed on the plan (:meth:`Prepared.planned_fleets`), and ``routes`` each router's routes
    (else chosen here: :func:`costmodel.engine.router.choose_routes`). Raises
    :class:`~costmodel.engine.errors.EngineError` when the scenario is valid but impossible (a
    model that fits no GPU count, a GPU with no price).
    """
    demand = demand_of(scenario)
    prices = {o.name: api.api_price(o, catalog) for o in scenario.options if isinstance(o, ApiOption)}
    fleets: dict[str, SelfHostedFleet] = {}
    considered: dict[str, tuple[LayoutCost, ...]] = {}
    for o in scenario.options:
        if isinstance(o, RentedOption | OwnedOption):
            forced = (chosen or {}).get(o.name)
            # Monte Carlo draws (layouts chosen) read no latencies at the planned load: not re-stated
            options = [
                self_hosted_fleet(o, catalog, lay.capacity)
                for lay in layouts(o, scenario, catalog, forced, at_plan=chosen is None)
            ]
            if forced:  # the layout is settled (Monte Carlo draws): nothing to compare
                fleets[o.name], considered[o.name] = options[0], ()
            else:
                fleets[o.name], considered[o.name] = _cheapest_layout(o, scenario, demand, options)
    wl = scenario.workload
    prepared = Prepared(
        demand,
        prices,
        fleets,
        considered,
        plans or {},
        catalog=catalog,
        at_plan=chosen is None,
        sized_for=(float(wl.input_tokens_per_request), float(wl.output_tokens_per_request), float(wl.slo.ttft_p95_ms)),
        successors={
            name: moved for name, p in prices.items() if (moved := api.successor(p, scenario, catalog.api_prices))
        },
    )
    if routes is None:
        factors = finance.discount_factors(
            float(finance.monthly_rate(scenario.discount_rate)), demand.mean_rps.shape[-1]
        )
        routes = {
            o.name: choose_routes(o, scenario, demand, member_cost(o, scenario, prepared), factors, catalog.api_prices)
            for o in scenario.options
            if isinstance(o, RouterOption)
        }
    return replace(prepared, routes=routes)


def member_cost(router: RouterOption, scenario: Scenario, prepared: Prepared) -> MemberCost:
    """How a router's member is costed on the true classes it receives: as its own option would be
    on that traffic, at those classes' tokens and the TTFT budget the classifier leaves
    (:func:`member_view`; see :mod:`costmodel.engine.router`)."""
    demand = prepared.demand

    def cost(member: Option, mix: Mapping[str, float]) -> tuple[dict[str, Any], Any]:
        share = sum(mix.values())
        view = member_view(router, mix, scenario, member.name)
        met_budget = view is not None
        view = view or scenario  # no TTFT budget left: costed on the plain objective, the SLO missed
        if isinstance(member, ApiOption):
            items, met = {"total": _api_bill(member, view, prepared, share)}, api.api_slo(member, view).met
        elif isinstance(member, HybridOption):
            items, met = hybrid_items(
                member,
                view,
                demand,
                prepared.member_fleet(member.local, view),
                _hybrid_overflow(member, scenario, prepared),
                detail=False,
                mix=mix,
            )
        elif isinstance(member, RouterOption):
            raise EngineError(f"options[{router.name}].members", member.name, "a router cannot route to a router")
        else:
            items, met = self_hosted_items(
                member,
                prepared.member_fleet(member.name, view),
                demand.scaled(share),
                False,
                prepared.plans.get(f"{router.name}/{member.name}"),
                _overflow(member, scenario, prepared),
                view,
            )
        return items, met if met_budget else False

    return cost


def _api_bill(option: ApiOption, scenario: Scenario, prepared: Prepared, share: float = 1.0) -> CostTerms:
    """What an API bills a month for ``share`` of the requests at ``scenario``'s tokens, at the price
    trend (and its successor's price once its model retires), plus the move to the successor."""
    d = prepared.demand
    return api.bill_and_move(
        option,
        prepared.prices[option.name],
        scenario.workload,
        d.api_price_weighted_requests * share,
        prepared.successors.get(option.name),
        d.mean_rps.shape[-1],
    )


def _overflow(option: RentedOption | OwnedOption, scenario: Scenario, prepared: Prepared) -> api.Overflow | None:
    """The API a fixed or lagging fleet sends what it cannot serve to, with its price and successor."""
    return _hybrid_overflow(option, scenario, prepared) if option.overflow else None


def _hybrid_overflow(
    option: RentedOption | OwnedOption | HybridOption, scenario: Scenario, prepared: Prepared
) -> api.Overflow:
    """The API an option sends what it does not serve to (a hybrid's always), with price and successor."""
    assert option.overflow is not None  # a hybrid names one; a fleet's is checked by the caller
    return api.Overflow(
        scenario.api_option(option.overflow),
        prepared.prices[option.overflow],
        prepared.successors.get(option.overflow),
    )


def _cheapest_layout(
    option: RentedOption | OwnedOption, scenario: Scenario, demand: Demand, fleets: list[SelfHostedFleet]
) -> tuple[SelfHostedFleet, tuple[LayoutCost, ...]]:
    """Cost each layout over the horizon and keep the one with the lowest cost per served token."""
    rate = float(finance.monthly_rate(scenario.discount_rate))
    factors = finance.discount_factors(rate, demand.mean_rps.shape[-1])
    rows = []
    for fleet in fleets:
        items, met = self_hosted_items(option, fleet, demand, detail=False)
        total = items["total"].dense()
        served_rps = np.minimum(demand.mean_rps, fleet.served_capacity(items["gpus"]))
        served_tokens = float(np.sum(served_rps * SECONDS_PER_MONTH)) * (demand.input_tokens + demand.output_tokens)
        per_million = float(total.sum()) / served_tokens * 1e6 if served_tokens > 0 else float("inf")
        eligible = met is not False and not (np.ndim(met) and not np.all(met))
        rows.append((fleet, float(total @ factors), per_million, bool(eligible)))
    best = min(rows, key=lambda r: (not r[3], r[2], r[0].capacity.gpus_per_replica))
    costs = tuple(
        LayoutCost(f.capacity.gpus_per_replica, f.capacity, npv, per_million, ok, f is best[0], describe(f.capacity))
        for f, npv, per_million, ok in rows
    )
    return best[0], costs


def cost_option(
    option: Option, scenario: Scenario, prepared: Prepared, detail: bool = True
) -> tuple[dict[str, Any], Any]:
    """Monthly line items of one option and whether it meets the SLO.

    ``detail=False`` (Monte Carlo) skips what only the report shows and leaves ``total`` as
    :class:`~costmodel.core.tables.CostTerms`, which the simulation reduces without building
    the table; with ``detail`` every item is an array. The SLO flag is a bool or None
    (unknown), or a ``(draws, 1)`` bool array.
    """
    demand = prepared.demand
    if isinstance(option, RouterOption):  # its extra costs are its members' (see the router module)
        items, met = router_items(
            option,
            prepared.routes[option.name].routes,
            scenario,
            demand,
            member_cost(option, scenario, prepared),
            prepared.catalog.api_prices if prepared.catalog is not None else {},
        )
        if detail:  # the members' shortfalls are for the Monte Carlo's shares, not the cash flow
            items = {
                k: v.dense() if isinstance(v, CostTerms) else v for k, v in items.items() if not k.startswith("member_")
            }
        return items, met
    if isinstance(option, ApiOption):
        moved = prepared.successors.get(option.name)
        cost = api.monthly_bill(
            option, prepared.prices[option.name], scenario.workload, demand.api_price_weighted_requests, moved
        )
        items, met = {"api": cost, "total": cost}, api.api_slo(option, scenario).met
        move = api.migration(option, moved, demand.mean_rps.shape[-1])
        if move is not None:  # its own line: the one-off move to the successor
            items.update(migration=move, total=cost + move)
    elif isinstance(option, HybridOption):
        items, met = hybrid_items(
            option,
            scenario,
            demand,
            prepared.fleets[option.local],
            _hybrid_overflow(option, scenario, prepared),
            detail,
        )
    else:
        items, met = self_hosted_items(
            option,
            prepared.fleets[option.name],
            demand,
            detail,
            prepared.plans.get(option.name),
            _overflow(option, scenario, prepared),
            scenario,
        )
    extras = extra_items(option, scenario, demand)
    if extras:
        items["total"] = items["total"] + functools.reduce(CostTerms.__add__, extras.values())
        items.update(extras)
    if detail:
        items = {k: v.dense() if isinstance(v, CostTerms) else v for k, v in items.items()}
    return items, met


def with_recourse(plan: np.ndarray, h: SelfHostedFleet, demand: Demand, policy: Procurement) -> np.ndarray:
    """A planned fleet topped up by its procurement policy: at each review month ``r`` (0, N, 2N, ...),
    when this draw's peak at ``r`` needs more GPUs than the plan and the orders already placed give,
    the GPUs for that peak plus headroom are ordered and serve from ``r + lead time``; the fleet is
    the larger of the plan and every order delivered so far (it never shrinks). Demand at or under
    the plan orders nothing.
    Worked by hand in ``tests/costmodel/test_uncertainty.py``.
    """
    months = plan.shape[-1]
    reviews = np.arange(0, months, policy.review_months)
    reviews = reviews[reviews + policy.lead_time_months < months]
    if reviews.size == 0:
        return plan
    shape = np.broadcast_shapes(demand.peak_rps.shape, plan.shape)
    peaks = np.broadcast_to(demand.peak_rps, shape)[..., reviews]
    need = h.fleet(peaks)
    planned = np.broadcast_to(plan, shape)[..., reviews]
    if not np.any(need > planned):  # no review sees more than the plan: nothing is ordered
        return plan
    want = h.fleet(peaks * (1.0 + policy.headroom))
    # draws of the capacity per replica may widen the tables beyond demand's and the plan's
    orders_shape = np.broadcast_shapes(need.shape, want.shape, planned.shape)
    shape = np.broadcast_shapes(shape, (*orders_shape[:-1], months))
    # at review k the owners have the plan's GPUs and every order placed so far (delivered or on its
    # way): they order only when the peak seen needs more, and then the peak plus headroom; `placed`
    # is the largest order so far, which is what serves once delivered
    placed = np.zeros(orders_shape[:-1])
    largest = np.zeros((*orders_shape[:-1], reviews.size + 1))  # column 0: nothing ordered yet
    for k in range(reviews.size):
        have = np.maximum(planned[..., k], placed)
        np.maximum(placed, np.where(need[..., k] > have, want[..., k], 0.0), out=placed)
        largest[..., k + 1] = placed
    # review k's order serves from its delivery until the next one's (months before the first: the
    # plan): one gather of each month's latest delivered column, not a strided pass per review
    delivered = np.searchsorted(reviews + policy.lead_time_months, np.arange(months), side="right")
    fleet = np.empty(shape)  # C order: the month-by-month tables after it read rows
    np.maximum(plan, np.take(largest, delivered, axis=-1), out=fleet)  # take: 3x fancy indexing's speed
    return fleet


def self_hosted_items(
    option: RentedOption | OwnedOption,
    h: SelfHostedFleet,
    demand: Demand,
    detail: bool,
    plan: np.ndarray | None = None,
    overflow: api.Overflow | None = None,
    scenario: Scenario | None = None,
) -> tuple[dict[str, Any], Any]:
    """Monthly line items of a rented or owned fleet, and whether it meets the SLO.

    The fleet is, by the option's sizing: fixed at ``gpus``; the GPUs decided on the plan
    (``plan``, in Monte Carlo draws), topped up by its ``procurement`` policy if it has one
    (:func:`with_recourse`); re-sized to this demand ``resize_lag_months`` late; or
    sized for each month's peak (the plan itself, and on-demand rentals). A fleet that does
    not follow this demand serves each hour up to its SLO capacity: the rest goes to the
    ``overflow`` API (billed here) or misses the SLO. ``unserved`` (requests a month the fleet
    could not serve) and ``stranded_gpus`` (GPUs a month beyond what this demand needs) say
    how far plan and demand parted.
    """
    needed = h.fleet(demand.peak_rps)
    months = needed.shape[-1]
    lag = option.resize_lag_months if option.policy == "resize" else 0
    if option.gpus is not None:
        fleet = np.full(months, float(option.gpus))
    elif plan is not None:
        fleet = plan if option.procurement is None else with_recourse(plan, h, demand, option.procurement)
    elif lag:  # month m runs what month m - lag needed (the first months what the plan bought)
        fleet = np.concatenate([np.repeat(needed[..., :1], lag, axis=-1), needed[..., :-lag]], axis=-1)[..., :months]
    else:
        fleet = needed
    follows = fleet is needed
    if follows:
        served = (
            np.minimum(demand.mean_rps, h.served_capacity(fleet)) if detail or isinstance(option, OwnedOption) else None
        )
        share = None
    else:  # hour by hour, up to the fleet's SLO capacity
        share = local_share(demand.mean_rps, h.served_capacity(fleet), demand.shape)
        served = demand.mean_rps * share
    items = h.monthly(fleet, served, demand.rent_price_index, detail=detail)
    if detail and served is not None:
        items["utilization"] = h.utilization(items["gpus"], served)
    met = h.capacity.slo_met
    if option.gpus is not None:  # a fixed fleet must hold the planned headroom at every peak
        met = slo_and(met, np.all(needed <= fleet, axis=-1, keepdims=True))
    if share is not None:
        assert served is not None  # mean x share, above
        items["unserved"] = in_place(np.multiply, np.subtract(demand.mean_rps, served), SECONDS_PER_MONTH)
        items["stranded_gpus"] = stranded_gpus(fleet, needed)  # overwrites needed: read no more below
        if overflow is not None:
            assert scenario is not None  # an overflow API comes with its scenario
            api_option = overflow.option
            bill = overflow.bill(scenario.workload, demand.api_price_weighted_requests * (1.0 - share), months)
            items["overflow"] = bill
            items["total"] = items["total"] + bill
            met = slo_and(met, api.api_slo(api_option, scenario).met)
        elif option.gpus is None:  # no overflow: demand above the fleet's SLO capacity, past the tolerance, misses
            tolerance = scenario.workload.slo.max_unserved_share if scenario is not None else 0.0
            asked = demand.summed_rps  # requests/s summed over the months, per draw
            unserved = month_sums(items["unserved"], keepdims=True) / SECONDS_PER_MONTH  # likewise
            met = slo_and(met, unserved <= tolerance * asked + 1e-9 * np.maximum(asked, 1.0))
    return items, met


def cash_flow_table(items: dict[str, Any], demand: Demand) -> pd.DataFrame:
    """The monthly cash-flow table: month, requests, tokens, line items, total, cumulative."""
    df = pd.DataFrame({"month": np.arange(demand.requests.size), "requests": demand.requests, "tokens": demand.tokens})
    for k, v in items.items():
        df[k] = np.asarray(v, float)
    df["cumulative"] = df["total"].cumsum()
    return df


def _result(
    option: Option,
    kind: OptionKind,
    items: dict[str, Any],
    prepared: Prepared,
    scenario: Scenario,
    capacity,
    slo: SloStatus,
    notes: tuple[str, ...],
    gpus_at_peak: int | None,
    quality: QualityStatus | None = None,
) -> OptionResult:
    demand = prepared.demand
    df = cash_flow_table(items, demand)
    total = float(df["total"].sum())
    rate = float(finance.monthly_rate(scenario.discount_rate))
    tokens = float(demand.tokens.sum())
    if "unserved" in items and "overflow" not in items:  # per token served, not per token asked for
        tokens -= float(np.sum(items["unserved"])) * (demand.input_tokens + demand.output_tokens)
    return OptionResult(
        name=option.name,
        label=option.label or option.name,
        kind=kind,
        cashflow=df,
        total_cost_usd=total,
        npv_usd=float(finance.npv(rate, -df["total"].to_numpy())),
        usd_per_million_tokens=total / tokens * 1e6 if tokens > 0 else float("nan"),
        gpus_at_peak=gpus_at_peak,
        capacity=capacity,
        slo=slo,
        price_notes=notes,
        quality=quality_status(option, scenario) if quality is None else quality,
    )


def _hybrid_slo(option: HybridOption, scenario: Scenario, prepared: Prepared) -> SloStatus:
    """A hybrid meets the SLO when its local fleet and its overflow API both do."""
    cap = prepared.fleets[option.local].capacity
    api_status = api.api_slo(scenario.api_option(option.overflow), scenario)
    local_status = capacity_slo(cap) if option.local_gpus > 0 else SloStatus(True, None, None, "none", "no local fleet")
    met = slo_and(local_status.met, api_status.met)
    return SloStatus(
        None if met is None else bool(met),
        local_status.ttft_ms,
        local_status.tpot_ms,
        local_status.basis,
        "local part " + (local_status.note or "meets the SLO") + "; overflow part " + (api_status.note or "measured"),
    )


def _router_result(option: RouterOption, scenario: Scenario, prepared: Prepared, items: dict[str, Any]) -> OptionResult:
    """A router: its members' costs on their routes, their SLO statuses, the quality of each class's member."""
    choice = prepared.routes[option.name]
    chosen = choice.frontier[choice.frontier["chosen"]].iloc[0]
    notes: list[str] = []
    by_note: dict[str, list[str]] = {}  # members with the same SLO note are named together
    budget = router_view(option, scenario)
    for name, mix in choice.mixes.items():
        member = scenario.option(name)
        view = member_view(option, mix, scenario, name) or scenario
        if isinstance(member, ApiOption):
            status = api.api_slo(member, view)
            notes.append(api.price_note(member, prepared.prices[name], prepared.successors.get(name)))
        elif isinstance(member, HybridOption):
            status = _hybrid_slo(member, view, prepared)
            notes.extend(prepared.fleets[member.local].notes)
        else:
            status = capacity_slo(prepared.member_fleet(name, view).capacity)
            notes.extend(prepared.fleets[name].notes)
        text = slo_word(status.met) + (f": {status.note}" if status.note and status.met is not True else "")
        by_note.setdefault(text, []).append(name)
    met = chosen["slo_met"]
    note = "; ".join(f"{' and '.join(names)} {text}" for text, names in by_note.items())
    k = option.classifier
    if budget is None and k is not None:
        note = (
            f"the classifier's {k.added_ttft_ms:,.0f} ms takes the whole TTFT objective "
            f"({scenario.workload.slo.ttft_p95_ms:,.0f} ms)"
        )
    elif k is not None and k.added_ttft_ms:
        budget_ms = scenario.workload.slo.ttft_p95_ms - k.added_ttft_ms
        note += f"; the classifier adds {k.added_ttft_ms:,.0f} ms before the first token, leaving {budget_ms:,.0f} ms"
    e = option.escalation
    if e is not None and e.added_ttft_ms and budget is not None:
        note += f"; checking an answer for escalation adds {e.added_ttft_ms:,.0f} ms to members other than {e.to}"
    slo = SloStatus(None if met is None else bool(met), None, None, "members", note)
    gpus = np.asarray(items.get("gpus", 0.0))
    result = _result(
        option,
        "router",
        items,
        prepared,
        scenario,
        None,
        slo,
        tuple(dict.fromkeys(notes)),
        int(gpus.max()) if np.any(gpus > 0) else None,
        quality_status(option, scenario, choice.routes),
    )
    return replace(result, routing=choice)


def option_result(
    option: Option, scenario: Scenario, prepared: Prepared, items: dict[str, Any] | None = None
) -> OptionResult:
    """The point estimate of one option: cash flows, totals, SLO and quality status."""
    if items is None:
        items, _ = cost_option(option, scenario, prepared)
    demand = prepared.demand
    if isinstance(option, ApiOption):
        price = prepared.prices[option.name]
        return _result(
            option,
            "api",
            items,
            prepared,
            scenario,
            None,
            api.api_slo(option, scenario),
            (api.price_note(option, price, prepared.successors.get(option.name)),),
            None,
        )
    if isinstance(option, RouterOption):
        return _router_result(option, scenario, prepared, items)
    if isinstance(option, HybridOption):
        local = prepared.fleets[option.local]
        price = prepared.prices[option.overflow]
        notes = (*local.notes, f"overflow to {price.provider}/{price.model}")
        slo = _hybrid_slo(option, scenario, prepared)
        return _result(option, "hybrid", items, prepared, scenario, local.capacity, slo, notes, int(option.local_gpus))
    h = prepared.fleets[option.name]
    slo = capacity_slo(h.capacity)
    if option.gpus is not None:
        needed = h.fleet(demand.peak_rps)
        short = np.flatnonzero(needed > option.gpus)
        if short.size:
            slo = SloStatus(
                False,
                slo.ttft_ms,
                slo.tpot_ms,
                slo.basis,
                f"{count(option.gpus, 'GPUs')} cannot serve the peak from month {int(short[0])} "
                f"({count(needed[short[0]])} needed)",
            )
    unserved = np.asarray(items.get("unserved", 0.0))
    if np.any(unserved > 0):  # the fleet (on the plan, lagging or fixed) falls short of this demand
        first = int(np.flatnonzero(unserved > 0)[0])
        share = float(unserved.sum() / (demand.mean_rps.sum() * SECONDS_PER_MONTH))
        if option.overflow:
            api_status = api.api_slo(scenario.api_option(option.overflow), scenario)
            met = slo_and(slo.met, api_status.met)
            note = f"{percent(share, 1)} of requests exceed the fleet from month {first} and go to {option.overflow}"
            slo = SloStatus(None if met is None else bool(met), slo.ttft_ms, slo.tpot_ms, slo.basis, note)
        elif option.gpus is not None:  # the fixed fleet's note names the GPUs needed; add what goes unserved
            slo = replace(slo, met=False, note=f"{slo.note}; {percent(share, 1)} of requests above its SLO capacity")
        elif share <= scenario.workload.slo.max_unserved_share + 1e-12:
            slo = replace(
                slo,
                note=f"{percent(share, 1)} of requests above its SLO capacity from month {first}, within the "
                f"{percent(scenario.workload.slo.max_unserved_share, 1)} the SLO tolerates",
            )
        else:
            slo = SloStatus(
                False,
                slo.ttft_ms,
                slo.tpot_ms,
                slo.basis,
                f"the fleet cannot serve the demand from month {first} ({percent(share, 1)} of requests "
                "above its SLO capacity); set an overflow API or re-size sooner",
            )
    result = _result(
        option, option.kind, items, prepared, scenario, h.capacity, slo, h.notes, int(np.max(items["gpus"]))
    )
    return replace(
        result, mean_utilization=float(np.mean(items["utilization"])), layouts=prepared.layouts.get(option.name, ())
    )
