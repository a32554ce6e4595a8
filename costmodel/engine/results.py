"""What an evaluation returns: frozen results per option and for the decision.

Money is USD; cost tables are positive (money paid); NPV follows numpy-financial's sign
convention (outflows negative), so the best option has the highest (least negative) NPV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from costmodel.core.roofline import ReplicaCapacity
from costmodel.model.scenario import Scenario

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
    routing: Any = None  # router: costmodel.engine.router.RouterChoice (routes, frontier)

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
class Evaluation:
    """Everything ``evaluate`` found for one scenario (and, with draws, its Monte Carlo)."""

    scenario: Scenario = field(repr=False)
    options: tuple[OptionResult, ...]
    break_evens: tuple[BreakEven, ...]
    paybacks: tuple[Payback, ...]
    recommendation: Recommendation
    simulation: Any = field(default=None, repr=False)  # costmodel.uncertainty.Simulation

    def option(self, name: str) -> OptionResult:
        return next(o for o in self.options if o.name == name)

    def chosen_layouts(self) -> dict[str, int]:
        """GPUs per replica each self-hosted option runs in (what re-costings of the plan keep)."""
        return {o.name: o.capacity.gpus_per_replica for o in self.options if o.layouts}
