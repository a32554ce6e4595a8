"""What an evaluation returns: frozen results per option and for the decision.

Money is USD; cost tables are positive (money paid); NPV follows numpy-financial's sign
convention (outflows negative), so the best option has the highest (least negative) NPV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from costmodel.core.roofline import ReplicaCapacity
from costmodel.model.scenario import Scenario

PERCENTILES = (10, 50, 90)  # of the Monte Carlo's costs
OptionKind = Literal["api", "rented", "owned", "hybrid", "router"]


@dataclass(frozen=True)
class SloStatus:
    """Whether an option meets the latency SLO: True, False, or None when unverified."""

    met: bool | None
    ttft_ms: float | None
    tpot_ms: float | None
    basis: str
    note: str


@dataclass(frozen=True)
class QualityStatus:
    """Whether an option may serve every request class: True, False, or None when its quality is unknown."""

    met: bool | None
    note: str
    basis: str = "none"  # measured, stated, measured/stated, unknown; none without a requirement


NO_QUALITY_REQUIREMENT = QualityStatus(True, "no quality requirement")


@dataclass(frozen=True)
class LayoutCost:
    """One layout of a self-hosted option (GPUs per replica), its capacity and what it costs."""

    gpus_per_replica: int
    capacity: ReplicaCapacity
    npv_cost_usd: float  # present value of the option's cost in this layout, USD (positive)
    usd_per_million_served: float  # total cost / output + input tokens served, x 1e6
    eligible: bool  # not known to miss the SLO
    chosen: bool
    description: str  # GPUs per replica, throughput and what bounds it


@dataclass(frozen=True)
class ClassifierNeed:
    """A router's classifier: what it costs, how accurate it is, and how accurate it must be
    (:func:`costmodel.engine.classifier.classifier_need`)."""

    router: str
    kind: str  # labelled, rules, embedding, self-hosted, api
    basis: str  # measured, stated or labelled
    accuracy: float  # share of requests classified right (traffic-weighted diagonal)
    usd_per_request: float  # today's price, USD
    added_ttft_ms: float
    threshold: float | None  # accuracy at which the recommendation changes (None: not in the range searched)
    floor: float  # lowest accuracy searched: where the right class stops being the likeliest answer
    winner: str | None  # recommended at the classifier's accuracy
    other: str | None  # recommended on the other side of the threshold
    sentence: str


@dataclass(frozen=True)
class RouterChoice:
    """The routes a router takes, and every assignment it considered."""

    routes: dict[str, str]  # predicted class -> member
    frontier: pd.DataFrame  # one row per assignment (see choose_routes)
    note: str  # why these routes
    mixes: dict[str, dict[str, float]]  # member -> true class -> share of all requests (misrouting included)
    checked_share: float = 0.0  # share of all requests whose answers an escalation checks
    escalated_share: float = 0.0  # share of all requests asked again of the escalation's member

    @property
    def single(self) -> bool:
        """All its traffic reaches one member: the router is that member (plus its own lines), not a rival."""
        return len(self.mixes) == 1

    def shares(self) -> dict[str, float]:
        """Each member's share of requests under these routes and the classifier (members used only)."""
        return {member: sum(mix.values()) for member, mix in self.mixes.items()}


@dataclass(frozen=True)
class OptionResult:
    """One option over the horizon."""

    name: str
    label: str
    kind: OptionKind
    cashflow: pd.DataFrame = field(repr=False)
    total_cost_usd: float
    npv_usd: float
    usd_per_million_tokens: float  # total cost per 1M tokens served (by the option, its overflow or a cache)
    gpus_at_peak: int | None
    capacity: ReplicaCapacity | None
    slo: SloStatus
    price_notes: tuple[str, ...]
    mean_utilization: float | None = None  # self-hosted: mean load / SLO capacity of the active fleet
    risks: tuple[str, ...] = ()
    quality: QualityStatus = NO_QUALITY_REQUIREMENT
    layouts: tuple[LayoutCost, ...] = ()  # self-hosted: every feasible layout, the chosen one marked
    routing: RouterChoice | None = None  # router: its routes and cost-quality frontier
    classifier: ClassifierNeed | None = None  # router: its classifier and the accuracy it needs

    @property
    def eligible(self) -> bool:
        """Not known to miss the SLO or the quality requirement: a candidate for the recommendation."""
        return self.slo.met is not False and self.quality.met is not False


@dataclass(frozen=True)
class BreakEven:
    """Monthly volume at which a self-hosted option becomes cheaper than an API."""

    self_hosted: str
    api: str
    requests_per_month: float | None
    note: str


@dataclass(frozen=True)
class Payback:
    """First month from which an owned option's cumulative cost stays below an API's."""

    owned: str
    api: str
    month: int | None


@dataclass(frozen=True)
class Recommendation:
    """The cheapest option meeting the SLO, and why."""

    option: str | None
    reasons: tuple[str, ...]
    risks: tuple[str, ...] = ()
    confidence: float | None = None  # Monte Carlo probability that the option is the cheapest eligible one

    @property
    def sentence(self) -> str:
        flags = f" Risk flags: {'; '.join(self.risks)}." if self.risks else ""
        return " ".join(self.reasons) + flags


@dataclass(frozen=True)
class Simulation:
    """Monte Carlo results: per option and draw, the horizon's total cost and NPV of cost."""

    scenario: str
    draws: int
    seed: int
    inputs: tuple[str, ...]  # uncertain input paths
    total_cost: dict[str, NDArray[np.float64]] = field(repr=False)  # USD, positive = paid
    npv_cost: dict[str, NDArray[np.float64]] = field(repr=False)  # present value of cost, USD (= -NPV)
    slo_met: dict[str, NDArray[np.bool_] | None] = field(repr=False)  # None: SLO not verifiable
    eligible: dict[str, NDArray[np.bool_]] = field(repr=False)  # not known to miss the SLO or quality, per draw
    # fleets decided on the plan: per draw, the share of requests they could not serve and the
    # share of their GPU-months this draw's demand did not need
    shortfall: dict[str, NDArray[np.float64]] = field(default_factory=dict, repr=False)
    stranded: dict[str, NDArray[np.float64]] = field(default_factory=dict, repr=False)
    capacity_draws: tuple[str, ...] = ()  # how each modelled capacity per replica is drawn, in words

    def cheapest(self) -> pd.Series:
        """Share of draws in which each option is the cheapest (by NPV of cost) of those eligible."""
        names = list(self.npv_cost)
        cost = np.stack([np.where(self.eligible[n], self.npv_cost[n], np.inf) for n in names])
        winner = np.argmin(cost, axis=0)
        counted = np.isfinite(cost.min(axis=0))
        shares = np.bincount(winner[counted], minlength=len(names)) / self.draws
        return pd.Series(shares, index=pd.Index(names, name="option"), name="p_cheapest")

    def summary(self) -> pd.DataFrame:
        """One row per option: P10/P50/P90 of total cost and NPV of cost (USD), P(cheapest), P(SLO holds),
        and for fleets decided on the plan (a router's fleet members too) the P10/P50/P90 share of
        requests they could not serve (``shortfall_p10`` ...) and of GPU-months this draw's demand did
        not need (``stranded_p10`` ...).

        Costs are positive, so P90 is the expensive tail. ``p_slo`` is NaN where the SLO
        cannot be verified (an API with no measured latency); the fleet shares are NaN for options
        that follow demand.
        """
        p_cheapest = self.cheapest()
        rows = []
        for name in self.npv_cost:
            total = np.percentile(self.total_cost[name], PERCENTILES)
            npv = np.percentile(self.npv_cost[name], PERCENTILES)
            met = self.slo_met[name]
            rows.append(
                {
                    "option": name,
                    **{f"total_cost_p{p}": v for p, v in zip(PERCENTILES, total, strict=True)},
                    **{f"npv_cost_p{p}": v for p, v in zip(PERCENTILES, npv, strict=True)},
                    "npv_cost_mean": float(self.npv_cost[name].mean()),
                    "p_cheapest": float(p_cheapest[name]),
                    "p_slo": float("nan") if met is None else float(met.mean()),
                    **{
                        f"{what}_p{p}": float(np.percentile(shares[name], p)) if name in shares else float("nan")
                        for what, shares in (("shortfall", self.shortfall), ("stranded", self.stranded))
                        for p in PERCENTILES
                    },
                }
            )
        return pd.DataFrame(rows).set_index("option")


@dataclass(frozen=True)
class Evaluation:
    """Everything ``evaluate`` found for one scenario (and, with draws, its Monte Carlo)."""

    scenario: Scenario = field(repr=False)
    options: tuple[OptionResult, ...]
    break_evens: tuple[BreakEven, ...]
    paybacks: tuple[Payback, ...]
    recommendation: Recommendation
    simulation: Simulation | None = field(default=None, repr=False)  # costmodel.uncertainty draws it

    def option(self, name: str) -> OptionResult:
        return next(o for o in self.options if o.name == name)

    def chosen_layouts(self) -> dict[str, int]:
        """GPUs per replica each self-hosted option runs in (what re-costings of the plan keep)."""
        return {o.name: o.capacity.gpus_per_replica for o in self.options if o.layouts and o.capacity is not None}
