"""The cost engine: typed scenario + catalog in, frozen results out. Pure: no I/O.

The kernels (``api_usd_per_request``, ``rented_monthly_cost``, ``owned_monthly_costs``,
``local_share``) are vectorized: every argument broadcasts, months on the last axis, so
the same code serves one scenario, a what-if grid (``bench/engine.py``) and, later,
Monte Carlo draws. :func:`evaluate` wires a scenario through them.

Money is USD; cost tables are positive (money paid); NPV follows numpy-financial's sign
convention (outflows negative), so the best option has the highest (least negative) NPV.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from costmodel import finance
from costmodel.capacity import (
    HOURS_PER_MONTH,
    SECONDS_PER_MONTH,
    ReplicaCapacity,
    kv_bytes_per_token,
    number,
    replicas_needed,
    roofline_capacity,
    tensor_parallel_size,
    weight_bytes,
)
from costmodel.catalog import ApiPrice, Catalog
from costmodel.scenario import (
    ApiOption,
    Efficiency,
    HybridOption,
    OwnedOption,
    RentedOption,
    Scenario,
    Workload,
)

__all__ = [
    "EngineError",
    "daily_shape",
    "monthly_requests",
    "api_usd_per_request",
    "rented_monthly_cost",
    "owned_monthly_costs",
    "power_per_gpu",
    "CostTerms",
    "local_share",
    "price_index",
    "evaluate",
    "hybrid_sweep",
    "cost_curves",
    "variant_costs",
    "Evaluation",
    "OptionResult",
]

Array = NDArray[np.float64]
BREAK_EVEN_RANGE = (1e2, 1e12)  # requests per month searched for a break-even


class EngineError(ValueError):
    """A scenario that validates but cannot be evaluated; ``field`` names the culprit."""

    def __init__(self, field: str, value: Any, message: str):
        super().__init__(message)
        self.field, self.value, self.message = field, value, message


# ---------------------------------------------------------------------------- demand


def daily_shape(workload: Workload) -> Array:
    """24 hourly load weights with mean 1.

    A given ``load_shape`` is normalised. With only ``peak_to_mean`` (an assumption the
    report states) the shape is ``(1 + cos(2 pi (h - 14) / 24)) ** k``, peaking at 14:00,
    with ``k`` chosen so that max / mean equals ``peak_to_mean``; no shape means flat.
    """
    return _shape(workload.load_shape, workload.peak_to_mean).copy()


@functools.lru_cache(maxsize=64)
def _shape(load_shape: tuple[float, ...] | None, peak_to_mean_ratio: float | None) -> Array:
    # cached: a Monte Carlo run asks for the same shape once per chunk
    if load_shape is not None:
        w = np.asarray(load_shape, dtype=float)
        return w / w.mean()
    ratio = peak_to_mean_ratio or 1.0
    base = 1.0 + np.cos(2.0 * np.pi * (np.arange(24) - 14) / 24.0)

    def peak_to_mean(k: float) -> float:
        w = base**k
        return float(w.max() / w.mean())

    lo, hi = 0.0, 1.0
    while peak_to_mean(hi) < ratio and hi < 512:
        hi *= 2.0
    for _ in range(60):  # bisection: peak/mean grows with k
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if peak_to_mean(mid) < ratio else (lo, mid)
    w = base**hi
    return w / w.mean()


def monthly_requests(requests_first_month: ArrayLike, growth: ArrayLike, months: int) -> Array:
    """Requests in each month: ``R0 * (1 + g) ** m``, months on the last axis.

    ``R0`` and ``g`` broadcast against the months, so Monte Carlo draws of shape
    ``(draws, 1)`` give a ``(draws, months)`` table.

    Examples
    --------
    >>> monthly_requests(1000, 0.1, 3).round(1).tolist()
    [1000.0, 1100.0, 1210.0]
    >>> monthly_requests([[1000], [2000]], 0.0, 2).tolist()
    [[1000.0, 1000.0], [2000.0, 2000.0]]
    """
    table = np.multiply(np.arange(months, dtype=float), np.log1p(np.asarray(growth, float)))
    np.exp(table, out=table)  # in place: one (draws, months) table, not three
    fits = np.broadcast_shapes(np.shape(requests_first_month), table.shape) == table.shape
    return np.multiply(table, requests_first_month, out=table if fits else None)


# ---------------------------------------------------------------------------- kernels


def price_index(decline_per_year: ArrayLike, months: int) -> Array:
    """Price multiplier of each month for a yearly decline ``d``: ``(1 - d) ** (m / 12)``.

    Examples
    --------
    >>> price_index(0.5, 13)[[0, 6, 12]].round(4).tolist()
    [1.0, 0.7071, 0.5]
    """
    d = np.asarray(decline_per_year, float)
    return np.exp(np.arange(months, dtype=float) / 12.0 * np.log1p(-d))


def running_max(values: ArrayLike) -> Array:
    """Running maximum along the months (last) axis: a fleet that is bought or committed is kept.

    Returns ``values`` itself (as floats) when they never fall; do not write into the result.

    Examples
    --------
    >>> running_max([[1, 3, 2, 4], [2, 1, 1, 0]]).tolist()
    [[1.0, 3.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]]
    """
    out = np.asarray(values, dtype=float)
    if out.ndim and out.size:  # already held (growing demand)? One contiguous comparison tells
        rises = out.reshape(-1)[1:] >= out.reshape(-1)[:-1]
        rises[out.shape[-1] - 1::out.shape[-1]] = True  # a row's first month follows the previous row's last
        if rises.all():
            return out
    out = out.copy()
    # Month by month over all draws at once: ufunc.accumulate along a short last axis pays a
    # per-row overhead that made it 4x slower on (draws, months) tables (bench/montecarlo.py).
    for m in range(1, out.shape[-1] if out.ndim else 0):
        np.maximum(out[..., m], out[..., m - 1], out=out[..., m])
    return out


def _bought(fleet: Array) -> Array:
    """GPUs added each month to a never-shrinking fleet (the first month buys its whole fleet).

    Subtracts neighbours over the flat, contiguous table and then mends each row's first
    month: on (draws, months) tables that is ~5x faster than ``np.diff`` along the short axis.

    >>> _bought(np.array([[1.0, 2, 2, 5], [3, 3, 4, 4]])).tolist()
    [[1.0, 1.0, 0.0, 3.0], [3.0, 0.0, 1.0, 0.0]]
    """
    fleet = np.ascontiguousarray(fleet)
    bought = np.empty(fleet.shape)  # C order, so that the flat view below writes into it
    flat, out = fleet.reshape(-1), bought.reshape(-1)
    np.subtract(flat[1:], flat[:-1], out=out[1:])
    bought[..., 0] = fleet[..., 0]
    return bought


@dataclass(frozen=True)
class CostTerms:
    """A monthly cost table kept as a sum of ``factor x table`` terms.

    Factors are scalars or ``(draws, 1)`` columns, tables are by month (months on the last
    axis). A Monte Carlo run needs only each draw's sum and NPV over the months, both linear
    in the table, so :meth:`weighed` applies the weights to each table once and scales the
    results, instead of building the ``(draws, months)`` total term by term; :meth:`dense`
    builds the total itself, for the point estimate. Same terms, same cost, either way.

    Examples
    --------
    >>> t = CostTerms(((2.0, np.array([1.0, 1.0, 0.0])), (np.array([[1.0], [3.0]]), np.array([0.0, 1.0, 1.0]))))
    >>> t.dense().tolist()
    [[2.0, 3.0, 1.0], [2.0, 5.0, 3.0]]
    >>> t.weighed(np.ones((3, 1))).tolist()  # the sum over months, per draw
    [[6.0], [10.0]]
    """

    terms: tuple[tuple[ArrayLike, ArrayLike], ...]

    def __add__(self, other: CostTerms) -> CostTerms:
        return CostTerms(self.terms + other.terms)

    def dense(self) -> Array:
        """The cost by month: ``sum(factor x table)``."""
        parts = [np.multiply(factor, table, dtype=float) for factor, table in self.terms]
        return functools.reduce(np.add, parts)

    def weighed(self, weights: Array) -> Array:
        """``dense() @ weights`` (for example the sum and the discounted sum), one pass per table."""
        total = None
        for factor, table in self.terms:
            part = np.multiply(factor, np.asarray(table, float) @ weights)
            total = part if total is None else total + part
        return total


def api_usd_per_request(
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    cached_share: ArrayLike,
    batch_share: ArrayLike,
    usd_per_m_input: ArrayLike,
    usd_per_m_output: ArrayLike,
    usd_per_m_cached: ArrayLike,
    batch_discount: ArrayLike,
) -> Array:
    """What a per-token API bills for one request, USD (a month's bill is requests times this).

    ``(in x ((1-c) p_in + c p_cached) + out x p_out) / 1e6 x (1 - b x d)`` with ``c`` the
    cached input share, ``b`` the batch share and ``d`` the batch discount.

    Examples
    --------
    1,000 in / 100 out at $2.50 / $10 per 1M tokens, no cache: 0.0025 + 0.001 USD.

    >>> float(api_usd_per_request(1000, 100, 0, 0, 2.5, 10, 1.25, 0))
    0.0035
    """
    c = np.asarray(cached_share, float)
    per_request = (
        np.asarray(input_tokens, float)
        * ((1.0 - c) * np.asarray(usd_per_m_input, float) + c * np.asarray(usd_per_m_cached, float))
        + np.asarray(output_tokens, float) * np.asarray(usd_per_m_output, float)
    ) / 1e6
    return per_request * (1.0 - np.asarray(batch_share, float) * np.asarray(batch_discount, float))


def rented_monthly_cost(gpus: ArrayLike, usd_per_gpu_hour: ArrayLike) -> Array:
    """Monthly rent of a GPU fleet, USD: ``gpus x price x 730.5 hours``.

    Examples
    --------
    >>> float(rented_monthly_cost(2, 2.0))
    2922.0
    """
    return np.asarray(gpus, float) * (np.asarray(usd_per_gpu_hour, float) * HOURS_PER_MONTH)


def power_monthly_cost(
    gpus: ArrayLike,
    tdp_watts: ArrayLike,
    server_power_factor: ArrayLike,
    utilization: ArrayLike,
    idle_power_fraction: ArrayLike,
    pue: ArrayLike,
    usd_per_kwh: ArrayLike,
) -> Array:
    """Electricity for a fleet, USD per month.

    ``gpus x TDP x server factor x (idle + (1 - idle) x utilization) / 1000 x PUE x 730.5 h x $/kWh``

    Examples
    --------
    One 1 kW server at full load, PUE 1.5, $0.10/kWh: 1.5 kW x 730.5 h x 0.10 = 109.575.

    >>> round(float(power_monthly_cost(1, 1000, 1.0, 1.0, 0.3, 1.5, 0.10)), 3)
    109.575
    """
    idle = np.asarray(idle_power_fraction, float)
    # Fold the per-GPU constants first: with Monte Carlo draws they are (draws, 1), the
    # fleet and utilisation (draws, months), so only three operations touch the big tables.
    usd_per_gpu_at_full_load = (np.asarray(tdp_watts, float) * np.asarray(server_power_factor, float) / 1000.0
                                * np.asarray(pue, float) * HOURS_PER_MONTH * np.asarray(usd_per_kwh, float))
    draw = np.clip(np.asarray(utilization, float), 0.0, 1.0) * (1.0 - idle) + idle
    draw *= np.asarray(gpus, float)
    draw *= usd_per_gpu_at_full_load
    return draw


def colocation_monthly_cost(
    gpus: ArrayLike, tdp_watts: ArrayLike, server_power_factor: ArrayLike, usd_per_kw_month: ArrayLike
) -> Array:
    """Colocation rent on provisioned IT power, USD per month: ``gpus x TDP x server factor / 1000 x $/kW``.

    Examples
    --------
    >>> float(colocation_monthly_cost(8, 700, 1.8, 200))  # 10.08 kW at $200/kW-month
    2016.0
    """
    return np.asarray(gpus, float) * (np.asarray(tdp_watts, float) * np.asarray(server_power_factor, float)
                                      / 1000.0 * np.asarray(usd_per_kw_month, float))


def power_per_gpu(
    tdp_watts: ArrayLike,
    server_power_factor: ArrayLike,
    idle_power_fraction: ArrayLike,
    pue: ArrayLike,
    usd_per_kwh: ArrayLike,
) -> tuple[Array, Array]:
    """Electricity of one GPU's server share, USD per month: ``(idle, load)``.

    Power is linear in the load, so a fleet pays ``idle x GPUs + load x loaded GPUs`` (loaded
    GPUs: the mean load in GPUs at full load); both come from :func:`power_monthly_cost`.

    Examples
    --------
    >>> [round(float(x), 4) for x in power_per_gpu(1000, 1.0, 0.3, 1.5, 0.10)]  # 109.575 at full load
    [32.8725, 76.7025]
    """
    idle = power_monthly_cost(1.0, tdp_watts, server_power_factor, 0.0, idle_power_fraction, pue, usd_per_kwh)
    full = power_monthly_cost(1.0, tdp_watts, server_power_factor, 1.0, idle_power_fraction, pue, usd_per_kwh)
    return idle, full - idle


def owned_monthly_costs(
    fleet: Array,
    loaded_gpus: Array,
    *,
    capex_per_gpu: float,
    depreciation_months: float,
    residual_value: ArrayLike,
    count_residual: bool,
    tdp_watts: float,
    server_power_factor: float,
    idle_power_fraction: float,
    pue: float,
    usd_per_kwh: float,
    colocation_usd_per_kw_month: float,
    maintenance_per_year: float,
    staff_usd_per_month: ArrayLike,
    fleet_is_held: bool = False,
    terms: bool = False,
) -> dict[str, Any]:
    """Monthly cash flows of an owned fleet, by line item (USD, positive = paid).

    ``fleet`` is the GPU count each month (months on the last axis) and ``loaded_gpus`` its
    mean load in GPUs at full load (at most the active GPUs: spares idle); GPUs are bought when
    the fleet first needs them and kept. Each cohort loses ``(1 - residual) / life`` of its
    price a month until its life ends; the book value left at the horizon's end comes back
    as ``residual`` (negative cost) in the last month. ``depreciation`` is the accounting
    charge, shown for reference and not part of ``total`` (which is cash). Scalar prices
    may be ``(draws, 1)`` arrays. ``fleet_is_held`` says the fleet already never shrinks
    (the caller took the running maximum). With ``terms=True`` (Monte Carlo) only ``gpus``
    and ``total`` are returned, the total as :class:`CostTerms`.

    The total is ``capex x bought + (idle power + colocation + maintenance) x GPUs +
    load power x loaded GPUs + staff - book value at the end`` (:func:`power_per_gpu`).
    """
    fleet = np.asarray(fleet, float) if fleet_is_held else running_max(fleet)
    months = fleet.shape[-1]
    bought = _bought(fleet)
    power_idle, power_load = power_per_gpu(tdp_watts, server_power_factor, idle_power_fraction, pue, usd_per_kwh)
    colocation_per_gpu = colocation_monthly_cost(1.0, tdp_watts, server_power_factor, colocation_usd_per_kw_month)
    maintenance_per_gpu = np.asarray(capex_per_gpu, float) * maintenance_per_year / 12.0  # on cumulative capex
    staff = np.asarray(staff_usd_per_month, float)
    total = CostTerms((
        (capex_per_gpu, bought),
        (power_idle + colocation_per_gpu + maintenance_per_gpu, fleet),
        (power_load, loaded_gpus),
        (staff, np.ones(months)),
    ))
    age = np.arange(months, dtype=float)
    book_end = 0.0
    if count_residual:
        # Book value at the end of the last month; cohort k has aged min(months - k, life).
        # One matrix product for both sums (a sum along the short months axis is ~5x slower).
        counted = bought @ np.stack([np.ones(months), np.minimum(months - age, depreciation_months)], axis=1)
        book_end = np.asarray(capex_per_gpu, float) * (
            counted[..., :1] - (1.0 - np.asarray(residual_value, float)) * counted[..., 1:] / depreciation_months)
        total = total + CostTerms(((-book_end, age == months - 1),))
    if terms:
        return {"gpus": fleet, "total": total}
    capex = bought * capex_per_gpu
    # Cohort k charges capex_k (1 - rv) / life in months k .. k + life - 1.
    in_life = (age[:, None] - age[None, :] >= 0) & (age[:, None] - age[None, :] < depreciation_months)
    return {
        "gpus": fleet,
        "capex": capex,
        "power": fleet * power_idle + loaded_gpus * power_load,
        "colocation": fleet * colocation_per_gpu,
        "maintenance": fleet * maintenance_per_gpu,
        "staff": np.broadcast_to(staff, fleet.shape),
        "residual": np.where(age == months - 1, -book_end, 0.0),
        "total": total.dense(),
        "depreciation": (capex @ in_life.T.astype(float))
        * ((1.0 - np.asarray(residual_value, float)) / depreciation_months),
    }


def local_share(mean_requests_per_s: ArrayLike, capacity_requests_per_s: ArrayLike, shape: Array) -> Array:
    """Share of requests a fleet of fixed capacity serves when the load follows ``shape``.

    Each hour the fleet serves ``min(load_h, capacity)``; the rest overflows.
    ``shape`` has 24 weights with mean 1. With ``x = capacity / mean`` the share is
    ``sum_h min(s_h, x) / sum_h s_h``, piecewise linear in ``x`` with knots at the sorted
    weights, so interpolating between the knots is exact and needs no hourly axis.

    Examples
    --------
    Flat load of 10 req/s, capacity 4: 40 % stays local. Half the day at 0, half at 20:
    capacity 10 serves half of the busy hours' requests.

    >>> float(local_share(10.0, 4.0, np.ones(24)))
    0.4
    >>> float(local_share(10.0, 10.0, np.repeat([0.0, 2.0], 12)))
    0.5

    With no load, all of it (none) is local if there is a fleet: the share is 1, else 0.

    >>> local_share(0.0, [1e6, 0.0], np.ones(24)).tolist()
    [1.0, 0.0]
    """
    mean = np.asarray(mean_requests_per_s, float)
    knots = np.concatenate([[0.0], np.sort(np.asarray(shape, float))])
    served_at_knots = np.array([np.minimum(shape, k).sum() for k in knots]) / np.sum(shape)
    with np.errstate(over="ignore"):  # no load: x is huge (or inf), so the share is 1, or 0 with no capacity
        x = np.asarray(capacity_requests_per_s, float) / np.maximum(mean, np.finfo(float).tiny)
    return np.interp(x, knots, served_at_knots)


# ---------------------------------------------------------------------------- results


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


def quality_status(option, scenario: Scenario) -> QualityStatus:
    """An option's quality against the workload's request classes (a hybrid: its overflow API's)."""
    if isinstance(option, HybridOption):
        return quality_status(scenario.option(option.overflow), scenario)
    wl = scenario.workload
    need = [c for c in wl.request_classes if c.min_quality > 0]
    if not need:
        return QualityStatus(True, "no quality requirement")
    if option.quality is None:
        return QualityStatus(None, "quality unknown: set its quality score from your evaluation")
    short = [c for c in need if option.quality < c.min_quality]
    if short:
        return QualityStatus(False, f"quality {option.quality:g} is below what "
                             + ", ".join(f"{c.name} ({c.min_quality:g}, {c.share:.0%} of requests)" for c in short)
                             + " needs")
    return QualityStatus(True, f"quality {option.quality:g} meets every class")


@dataclass(frozen=True)
class OptionResult:
    """One option over the horizon."""

    name: str
    label: str
    kind: Literal["api", "rented", "owned", "hybrid"]
    cashflow: pd.DataFrame = field(repr=False)
    total_cost_usd: float
    npv_usd: float
    usd_per_million_tokens: float
    gpus_at_peak: int | None
    capacity: ReplicaCapacity | None
    slo: SloStatus
    price_notes: tuple[str, ...]
    mean_utilization: float | None = None  # self-hosted: mean load / SLO capacity of the active fleet
    risks: tuple[str, ...] = ()
    quality: QualityStatus = field(default_factory=lambda: QualityStatus(True, "no quality requirement"))

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

    def summary(self) -> pd.DataFrame:
        """One row per option: the headline figures."""
        rows = [
            {
                "option": o.name,
                "kind": o.kind,
                "total_cost_usd": o.total_cost_usd,
                "npv_usd": o.npv_usd,
                "usd_per_million_tokens": o.usd_per_million_tokens,
                "gpus_at_peak": o.gpus_at_peak,
                "capacity_basis": o.capacity.basis if o.capacity else None,
                "slo_met": o.slo.met,
            }
            for o in self.options
        ]
        return pd.DataFrame(rows).set_index("option")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results; the fields are documented in the README."""
        sc = self.scenario
        return {
            "scenario": sc.name,
            "title": sc.title,
            "horizon_months": sc.horizon_months,
            "discount_rate": sc.discount_rate,
            "options": [_option_dict(o) for o in self.options],
            "break_even": [
                {
                    "self_hosted": b.self_hosted,
                    "api": b.api,
                    "requests_per_month": b.requests_per_month,
                    "note": b.note,
                }
                for b in self.break_evens
            ],
            "payback": [{"owned": p.owned, "api": p.api, "month": p.month} for p in self.paybacks],
            "recommendation": {
                "option": self.recommendation.option,
                "reasons": list(self.recommendation.reasons),
                "risks": list(self.recommendation.risks),
                "confidence": self.recommendation.confidence,
                "sentence": self.recommendation.sentence,
            },
            "monte_carlo": None if self.simulation is None else self.simulation.to_dict(),
        }


def _option_dict(o: OptionResult) -> dict[str, Any]:
    cap = o.capacity
    return {
        "name": o.name,
        "label": o.label,
        "kind": o.kind,
        "total_cost_usd": round(o.total_cost_usd, 2),
        "npv_usd": round(o.npv_usd, 2),
        "usd_per_million_tokens": round(o.usd_per_million_tokens, 6),
        "gpus_at_peak": o.gpus_at_peak,
        "capacity": None
        if cap is None
        else {
            "basis": cap.basis,
            "gpus_per_replica": cap.gpus_per_replica,
            "requests_per_s_per_replica": cap.requests_per_s,
            "output_tokens_per_s_per_replica": cap.output_tokens_per_s,
            "batch": cap.batch,
            "ttft_ms": cap.ttft_ms,
            "tpot_ms": cap.tpot_ms,
            "limit": cap.limit,
            "source": cap.source,
        },
        "slo": {
            "met": o.slo.met,
            "ttft_ms": o.slo.ttft_ms,
            "tpot_ms": o.slo.tpot_ms,
            "basis": o.slo.basis,
            "note": o.slo.note,
        },
        "quality": {"met": o.quality.met, "note": o.quality.note},
        "eligible": o.eligible,
        "price_notes": list(o.price_notes),
        "mean_utilization": o.mean_utilization,
        "risks": list(o.risks),
        "monthly": o.cashflow.round(2).to_dict(orient="list"),
    }


# ---------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class _Demand:
    """Demand arrays shared by every option of a scenario."""

    mean_rps: Array  # requests per second, per month
    shape: Array  # 24 hourly weights, mean 1
    input_tokens: float
    output_tokens: float
    api_requests: Array  # per month, weighted by the per-token API price trend: what an API bills at today's prices
    rent_price_index: Array  # per month: on-demand GPU rental price trend

    requests_first_month: ArrayLike
    monthly_growth: ArrayLike

    @functools.cached_property
    def requests(self) -> Array:
        """Requests per month (only the report needs them: costing runs on rates)."""
        return monthly_requests(self.requests_first_month, self.monthly_growth, self.mean_rps.shape[-1])

    @functools.cached_property
    def peak_rps(self) -> Array:
        return self.mean_rps * float(self.shape.max())

    @property
    def tokens(self) -> Array:
        return self.requests * (self.input_tokens + self.output_tokens)


def _api_rate(option: ApiOption, price: ApiPrice, workload: Workload) -> Array:
    """USD an API bills per request at today's catalog price times the option's price scale;
    multiply by requests weighted by the price trend (:attr:`_Demand.api_requests`)."""
    scale = option.price_scale  # folded into the prices: (draws, 1) at most, never a months-wide pass
    return api_usd_per_request(
        workload.input_tokens_per_request,
        workload.output_tokens_per_request,
        workload.cached_input_share,
        workload.batch_share,
        float(price.input) * scale,
        float(price.output) * scale,
        float(price.cached_input) * scale,
        float(price.batch_discount) if price.batch_discount else 0.0,
    )


def _api_price(option: ApiOption, catalog: Catalog) -> ApiPrice:
    try:
        return catalog.api_prices[(option.provider, option.model)]
    except KeyError:
        raise EngineError(
            f"options[{option.name}].model", option.model, f"no price for {option.provider}/{option.model}"
        ) from None


def _capacity(option: RentedOption | OwnedOption, scenario: Scenario, catalog: Catalog) -> ReplicaCapacity:
    serving = scenario.serving
    wl = scenario.workload
    model_id = option.model or (serving.model if serving else None)
    quant_id = option.quantization or (serving.quantization if serving else "bf16")
    eff = serving.efficiency if serving else Efficiency()
    model, quant, gpu = catalog.models[model_id], catalog.quantizations[quant_id], catalog.gpus[option.gpu]
    seq = wl.input_tokens_per_request + wl.output_tokens_per_request
    if seq > float(model.max_context):
        raise EngineError(
            "workload.input_tokens_per_request",
            wl.input_tokens_per_request,
            f"input + output = {seq:g} tokens exceeds {model.id}'s context of {float(model.max_context):g}",
        )
    weights = float(weight_bytes(float(model.parameters), float(quant.bytes_per_weight)))
    kv = float(kv_bytes_per_token(float(model.layers), float(model.kv_heads), float(model.head_dim),
                                  eff.kv_cache_bytes_per_element))
    tp = option.gpus_per_replica or tensor_parallel_size(
        weights, float(gpu.memory) * 1e9, eff.memory_utilization, kv * seq
    )
    if tp is None or tp * float(gpu.memory) * 1e9 * eff.memory_utilization - weights < kv * seq:
        raise EngineError(
            f"options[{option.name}].gpu",
            option.gpu,
            f"{model.id} in {quant.id} ({weights / 1e9:.1f} GB of weights) plus one {seq:g}-token sequence "
            f"does not fit on {tp or 8} x {gpu.id} ({float(gpu.memory):g} GB each)",
        )
    if option.measured is not None:
        m = option.measured
        met = None
        if m.ttft_p95_ms is not None and m.tpot_p95_ms is not None:
            met = m.ttft_p95_ms <= wl.slo.ttft_p95_ms and m.tpot_p95_ms <= wl.slo.tpot_p95_ms
        return ReplicaCapacity(
            basis="measured",
            gpus_per_replica=tp,
            requests_per_s=m.output_tokens_per_s_per_replica / wl.output_tokens_per_request,
            output_tokens_per_s=m.output_tokens_per_s_per_replica,
            batch=None,
            ttft_ms=m.ttft_p95_ms,
            tpot_ms=m.tpot_p95_ms,
            slo_met=met,
            limit="measured",
            source=f"{m.source} ({m.as_of.isoformat()})",
            as_of=m.as_of.isoformat(),
        )
    flops_spec = gpu.fp8_tflops if (quant.compute == "fp8" and gpu.fp8_tflops is not None) else gpu.bf16_tflops
    return roofline_capacity(
        parameters=float(model.parameters),
        bytes_per_weight=float(quant.bytes_per_weight),
        layers=float(model.layers),
        kv_heads=float(model.kv_heads),
        head_dim=float(model.head_dim),
        kv_bytes_per_element=eff.kv_cache_bytes_per_element,
        memory_per_gpu=float(gpu.memory) * 1e9,
        bandwidth_per_gpu=float(gpu.bandwidth) * 1e12,
        flops_per_gpu=float(flops_spec) * 1e12,
        gpus=tp,
        mbu=eff.mbu,
        mfu=eff.mfu,
        memory_utilization=eff.memory_utilization,
        max_num_seqs=eff.max_num_seqs,
        input_tokens=wl.input_tokens_per_request,
        cached_input_share=wl.cached_input_share,
        output_tokens=wl.output_tokens_per_request,
        ttft_slo_s=wl.slo.ttft_p95_ms / 1e3,
        tpot_slo_s=wl.slo.tpot_p95_ms / 1e3,
    )


@dataclass(frozen=True)
class _SelfHosted:
    """A self-hosted option's resolved prices and capacity."""

    option: RentedOption | OwnedOption
    capacity: ReplicaCapacity
    usd_per_gpu_hour: float | None  # rented
    capex_per_gpu: float | None  # owned
    tdp_watts: float
    notes: tuple[str, ...]

    def fleet(self, peak_rps: Array, max_utilization: ArrayLike | None = None) -> Array:
        u = self.option.max_utilization if max_utilization is None else max_utilization
        replicas = replicas_needed(peak_rps, self.capacity.requests_per_s, u)
        if self.option.spare_replicas:  # spares only where there is load
            np.add(replicas, float(self.option.spare_replicas), out=replicas, where=replicas > 0)
        if self.capacity.gpus_per_replica != 1:
            replicas *= self.capacity.gpus_per_replica
        return replicas

    def served_capacity(self, fleet: Array) -> Array:
        """Requests/s a fleet serves at full SLO capacity (spares idle)."""
        tp = self.capacity.gpus_per_replica
        active = np.floor(np.asarray(fleet, float) / tp if tp != 1 else np.asarray(fleet, float))  # whole replicas
        if self.option.spare_replicas:
            active -= self.option.spare_replicas
            np.maximum(active, 0.0, out=active)
        return active * self.capacity.requests_per_s

    def _active_gpus(self, fleet: Array) -> Array:
        """GPUs of the fleet that serve: all but the spare replicas' (which idle)."""
        spares = self.option.spare_replicas * self.capacity.gpus_per_replica
        return np.maximum(fleet - spares, 0.0) if spares else fleet

    def utilization(self, fleet: Array, served_mean_rps: Array) -> Array:
        """Mean load over SLO capacity of the active (non-spare) replicas, at most 1.

        No load is 0 even with no active replica; load on none counts as full.
        """
        tp = self.capacity.gpus_per_replica
        fleet = np.asarray(fleet, float)
        if fleet.ndim == 1 and fleet.size and fleet.min() == fleet.max():  # the same every month (fixed, hybrid)
            fleet = fleet[:1]  # so the capacity varies by draw only: no (draws, months) capacity table
        active_gpus = self._active_gpus(fleet)
        capacity = active_gpus * (self.capacity.requests_per_s / tp)
        with np.errstate(over="ignore"):  # load on no capacity: inf, clipped to 1 below
            u = np.divide(served_mean_rps, np.clip(capacity, np.finfo(float).tiny, np.inf, out=capacity))
        return np.clip(u, 0.0, 1.0, out=u)  # two-sided clip: twice as fast as minimum on these tables

    def loaded_gpus(self, fleet: Array, served_mean_rps: Array) -> Array:
        """The fleet's mean load in GPUs at full SLO load, at most its active GPUs: what load power is paid on.

        Spares idle, so three GPUs with one spare serving two GPUs' worth carry 2 loaded GPUs
        (where :meth:`utilization`, over the active replicas, says 1).
        """
        tp = self.capacity.gpus_per_replica
        fleet = np.asarray(fleet, float)
        active_gpus = self._active_gpus(fleet)
        loaded = np.multiply(served_mean_rps, tp / self.capacity.requests_per_s)
        return np.clip(loaded, 0.0, active_gpus, out=loaded if loaded.shape == np.shape(active_gpus) else None)

    def monthly(self, fleet: Array, served_mean_rps: Array, rent_index: ArrayLike = 1.0,
                detail: bool = True) -> dict[str, Any]:
        """Line items per month for a fleet (GPUs per month) serving a mean rate; on-demand rent
        is multiplied by ``rent_index`` (the rental price trend by month, :func:`price_index`).
        ``total`` is :class:`CostTerms`; ``detail=False`` (Monte Carlo) returns only it and ``gpus``."""
        o = self.option
        staff = o.ops_staff_fte * o.ops_staff_usd_per_year / 12.0
        if isinstance(o, RentedOption):
            if o.commitment != "on-demand":  # committed capacity cannot shrink, nor its rate
                fleet, rent_index = running_max(fleet), 1.0
            trend = np.ndim(rent_index) and np.any(rent_index != 1.0)
            gpu_months = fleet * rent_index if trend else fleet  # at today's rate
            rent = CostTerms(((rented_monthly_cost(1.0, self.usd_per_gpu_hour), gpu_months),))
            total = rent + CostTerms(((staff, np.ones(np.shape(fleet)[-1])),))
            if not detail:
                return {"gpus": fleet, "total": total}
            return {"gpus": fleet, "rent": rent.dense(), "staff": np.broadcast_to(staff, np.shape(fleet)),
                    "total": total}
        held = running_max(fleet)  # GPUs bought are kept
        items = owned_monthly_costs(
            held,
            self.loaded_gpus(held, served_mean_rps),
            fleet_is_held=True,
            capex_per_gpu=self.capex_per_gpu,
            depreciation_months=o.depreciation_years * 12.0,
            residual_value=o.residual_value,
            count_residual=o.count_residual,
            tdp_watts=self.tdp_watts,
            server_power_factor=o.server_power_factor,
            idle_power_fraction=o.idle_power_fraction,
            pue=o.pue,
            usd_per_kwh=o.usd_per_kwh,
            colocation_usd_per_kw_month=o.colocation_usd_per_kw_month,
            maintenance_per_year=o.maintenance_per_year,
            staff_usd_per_month=staff,
            terms=not detail,
        )
        if detail:  # the line items and their total, which came from the same terms
            items["total"] = CostTerms(((1.0, items["total"]),))
        return items

    def steady_monthly_cost(self, requests_per_month: Array, shape_peak: float,
                            max_utilization: ArrayLike | None = None) -> Array:
        """Cost of one month at a constant volume, the fleet sized for its peak."""
        mean = np.asarray(requests_per_month, float) / SECONDS_PER_MONTH
        return self.fleet_steady_cost(self.fleet(mean * shape_peak, max_utilization), mean)

    def fleet_steady_cost(self, fleet: Array, mean_rps: Array) -> Array:
        """Cost of one month of a given fleet serving ``mean_rps``, capex spread over its life net of resale."""
        o = self.option
        staff = o.ops_staff_fte * o.ops_staff_usd_per_year / 12.0
        if isinstance(o, RentedOption):
            return rented_monthly_cost(fleet, self.usd_per_gpu_hour) + staff
        capex = fleet * self.capex_per_gpu
        amortized = capex * (1.0 - o.residual_value) / (o.depreciation_years * 12.0)
        power_idle, power_load = power_per_gpu(self.tdp_watts, o.server_power_factor, o.idle_power_fraction,
                                               o.pue, o.usd_per_kwh)
        power = fleet * power_idle + self.loaded_gpus(fleet, mean_rps) * power_load
        colocation = colocation_monthly_cost(fleet, self.tdp_watts, o.server_power_factor,
                                             o.colocation_usd_per_kw_month)
        return amortized + power + colocation + capex * o.maintenance_per_year / 12.0 + staff


def _self_hosted(option: RentedOption | OwnedOption, scenario: Scenario, catalog: Catalog) -> _SelfHosted:
    gpu = catalog.gpus[option.gpu]
    cap = _capacity(option, scenario, catalog)
    notes: list[str] = []
    rate = capex = None
    if isinstance(option, RentedOption):
        if option.usd_per_gpu_hour is not None:
            rate = option.usd_per_gpu_hour
            notes.append(f"{gpu.id} at ${number(rate)}/GPU-hour (scenario override)")
        else:
            entry = gpu.rental_price(option.provider, option.commitment)
            if entry is None:
                raise EngineError(
                    f"options[{option.name}].gpu",
                    option.gpu,
                    f"no {option.commitment} rental price for {gpu.id}"
                    + (f" at {option.provider}" if option.provider else "")
                    + "; set usd_per_gpu_hour",
                )
            rate = float(entry.price)
            notes.append(
                f"{gpu.id} at ${rate:g}/GPU-hour, {entry.provider} {entry.commitment} "
                f"({entry.price.source}; as of {entry.price.as_of})"
            )
    else:
        if option.usd_per_gpu is not None:
            price = option.usd_per_gpu
            notes.append(f"{gpu.id} bought at ${number(price, ',.0f')}/GPU (scenario override)")
        elif gpu.purchase_price is not None:
            price = float(gpu.purchase_price)
            notes.append(
                f"{gpu.id} bought at ${price:,.0f}/GPU ({gpu.purchase_price.basis}: "
                f"{gpu.purchase_price.source}; as of {gpu.purchase_price.as_of})"
            )
        else:
            raise EngineError(
                f"options[{option.name}].gpu", option.gpu, f"no purchase price for {gpu.id}; set usd_per_gpu"
            )
        capex = price + option.server_usd_per_gpu
    return _SelfHosted(option, cap, rate, capex, float(gpu.tdp), tuple(notes))


def _frame(items: dict[str, Array], demand: _Demand) -> pd.DataFrame:
    df = pd.DataFrame({"month": np.arange(demand.requests.size), "requests": demand.requests,
                       "tokens": demand.tokens})
    for k, v in items.items():
        df[k] = np.asarray(v, float)
    df["cumulative"] = df["total"].cumsum()
    return df


def _result(option, kind, items, demand, scenario, capacity, slo, notes, gpus_at_peak) -> OptionResult:
    df = _frame(items, demand)
    total = float(df["total"].sum())
    rate = float(finance.monthly_rate(scenario.discount_rate))
    tokens = float(demand.tokens.sum())
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
        quality=quality_status(option, scenario),
    )


def _api_slo(option: ApiOption, scenario: Scenario) -> SloStatus:
    slo = scenario.workload.slo
    if option.ttft_p95_ms is None or option.tpot_p95_ms is None:
        return SloStatus(None, option.ttft_p95_ms, option.tpot_p95_ms, "unknown",
                         "no latency figure for this API; probe it to verify")
    met = option.ttft_p95_ms <= slo.ttft_p95_ms and option.tpot_p95_ms <= slo.tpot_p95_ms
    return SloStatus(met, option.ttft_p95_ms, option.tpot_p95_ms, "measured", "")


def _capacity_slo(cap: ReplicaCapacity) -> SloStatus:
    note = {
        "tpot-slo-unmet": "even one sequence at a time misses the TPOT objective",
        "measured": "" if cap.slo_met is not None else "measured throughput without latency figures",
    }.get(cap.limit, "modelled at the operating batch; queueing excluded")
    if cap.slo_met is False and cap.limit != "tpot-slo-unmet":
        note = "modelled TTFT exceeds the objective"
    return SloStatus(cap.slo_met, cap.ttft_ms, cap.tpot_ms, cap.basis, note)


def evaluate(scenario: Scenario, catalog: Catalog) -> Evaluation:
    """Evaluate every option of ``scenario`` over its horizon.

    Raises :class:`EngineError` when a scenario is valid but impossible (a model that fits
    no GPU count, a GPU with no price).
    """
    demand, prices, hosted = _prepare(scenario, catalog)

    results: list[OptionResult] = []
    for o in scenario.options:
        items, _ = _costed(o, scenario, demand, prices, hosted)
        if isinstance(o, ApiOption):
            p = prices[o.name]
            notes = (f"{p.provider}/{p.model}: ${float(p.input):g} in, ${float(p.cached_input):g} cached in, "
                     f"${float(p.output):g} out per 1M tokens ({p.input.source}; as of {p.input.as_of})"
                     + (f"; x {o.price_scale:g} (scenario price_scale)" if o.price_scale != 1 else ""),)
            results.append(_result(o, "api", items, demand, scenario, None, _api_slo(o, scenario), notes, None))
        elif isinstance(o, RentedOption | OwnedOption):
            h = hosted[o.name]
            slo = _capacity_slo(h.capacity)
            if o.gpus is not None:
                needed = h.fleet(demand.peak_rps)
                short = np.flatnonzero(needed > o.gpus)
                if short.size:
                    slo = SloStatus(False, slo.ttft_ms, slo.tpot_ms, slo.basis,
                                    f"{o.gpus} GPUs cannot serve the peak from month {int(short[0])} "
                                    f"({int(needed[short[0]])} needed)")
            result = _result(o, o.kind, items, demand, scenario, h.capacity, slo, h.notes, int(np.max(items["gpus"])))
            results.append(replace(result, mean_utilization=float(np.mean(items["utilization"]))))
        else:
            results.append(_hybrid(o, scenario, demand, hosted[o.local], prices[o.overflow], items))

    break_evens, paybacks = _break_evens(scenario, catalog, hosted, prices, results)
    results = [replace(r, risks=_risks(r, scenario, hosted, prices, paybacks, results)) for r in results]
    return Evaluation(scenario, tuple(results), break_evens, paybacks,
                      _recommend(scenario, results, break_evens, paybacks))


def _risks(r: OptionResult, scenario: Scenario, hosted: dict, prices: dict, paybacks, results) -> tuple[str, ...]:
    """Risk flags of a self-hosted option, each with its numbers."""
    h = hosted.get(r.name)
    if h is None:
        return ()
    o = h.option
    flags = []
    replicas = r.gpus_at_peak / h.capacity.gpus_per_replica if r.gpus_at_peak else 0
    if o.spare_replicas == 0 and replicas <= 1:
        flags.append(f"{r.name} runs on a single replica ({r.gpus_at_peak} GPU) with no spare: one failure stops "
                     "service")
    apis = [x for x in results if x.kind == "api"]
    if apis and r.mean_utilization is not None and r.gpus_at_peak:
        cheapest = max(apis, key=lambda x: x.npv_usd)
        # Utilisation at which the fleet's steady cost equals the API bill for the same requests:
        # at full SLO capacity the fleet serves C requests a month; the API would charge cost(C).
        fleet = np.array([float(r.gpus_at_peak)])
        full_rps = h.served_capacity(fleet)
        full = float(full_rps[0]) * SECONDS_PER_MONTH
        fleet_cost = float(h.fleet_steady_cost(fleet, full_rps)[0])
        api_cost = full * float(_api_rate(scenario.option(cheapest.name), prices[cheapest.name], scenario.workload))
        breakeven = fleet_cost / api_cost if api_cost > 0 else float("inf")
        if r.mean_utilization < breakeven:
            flags.append(f"{r.name}'s fleet averages {r.mean_utilization:.0%} utilisation, below the "
                         f"{min(breakeven, 9.99):.0%} at which it breaks even with {cheapest.name}")
    if isinstance(o, OwnedOption):
        life = o.depreciation_years * 12
        months = [p.month for p in paybacks if p.owned == r.name]
        best = min((m for m in months if m is not None), default=None)
        if best is None:
            flags.append(f"{r.name} does not pay back against any API within the {scenario.horizon_months}-month "
                         "horizon" + (f" (hardware life {life:.0f} months)" if life > scenario.horizon_months else ""))
        elif best > life:
            flags.append(f"{r.name} pays back in month {best}, beyond its {life:.0f}-month hardware life")
    return tuple(flags)


def _prepare(scenario: Scenario, catalog: Catalog) -> tuple[_Demand, dict[str, ApiPrice], dict[str, _SelfHosted]]:
    """Demand by month, API prices and self-hosted capacity: what every option's costing needs."""
    wl = scenario.workload
    months, trends = scenario.horizon_months, scenario.trends
    mean_rps = monthly_requests(np.divide(wl.requests_per_month, SECONDS_PER_MONTH), wl.monthly_growth, months)
    # R0 (1 + g)^m (1 - d)^(m / 12): requests and the API price trend in one table
    api_growth = np.expm1(np.log1p(np.asarray(wl.monthly_growth, float))
                          + np.log1p(-np.asarray(trends.api_price_decline_per_year, float)) / 12.0)
    demand = _Demand(mean_rps, daily_shape(wl), wl.input_tokens_per_request, wl.output_tokens_per_request,
                     monthly_requests(wl.requests_per_month, api_growth, months),
                     price_index(trends.gpu_rent_decline_per_year, months),
                     wl.requests_per_month, wl.monthly_growth)
    prices = {o.name: _api_price(o, catalog) for o in scenario.options if isinstance(o, ApiOption)}
    hosted = {o.name: _self_hosted(o, scenario, catalog) for o in scenario.options
              if isinstance(o, RentedOption | OwnedOption)}
    return demand, prices, hosted


def hybrid_sweep(scenario: Scenario, catalog: Catalog, name: str, sizes: ArrayLike | None = None) -> pd.DataFrame:
    """Cost of hybrid option ``name`` for each local fleet size, from zero to all-local.

    Sizes default to every multiple of the local replica's GPU count (plus spares) up to the
    fleet the local option alone would need at its busiest month. Columns: ``local_gpus``,
    ``npv_usd``, ``total_cost_usd``, ``local_share`` (mean over the horizon), ``optimal``
    (the highest NPV, i.e. the cheapest; ties go to the smaller fleet).
    """
    demand, prices, hosted = _prepare(scenario, catalog)
    o = scenario.option(name)
    if not isinstance(o, HybridOption):
        raise EngineError(f"options[{name}]", name, "not a hybrid option")
    local = hosted[o.local]
    if sizes is None:
        tp = local.capacity.gpus_per_replica
        spare = local.option.spare_replicas * tp
        all_local = int(np.max(local.fleet(demand.peak_rps)))
        sizes = [0] + list(range(tp + spare, max(all_local, tp + spare) + 1, tp))
    rows = []
    for size in sizes:
        r = _hybrid(o.model_copy(update={"local_gpus": int(size)}), scenario, demand, local, prices[o.overflow])
        rows.append({"local_gpus": int(size), "npv_usd": r.npv_usd, "total_cost_usd": r.total_cost_usd,
                     "local_share": float(r.cashflow["local_share"].mean())})
    df = pd.DataFrame(rows)
    df["optimal"] = False
    df.loc[df["npv_usd"].idxmax(), "optimal"] = True
    return df


def _both(a: Any, b: Any) -> Any:
    """Three-valued AND of SLO flags (None: unknown), element-wise over Monte Carlo draws."""
    if a is None or b is None:
        known = b if a is None else a
        return False if known is not None and not np.any(known) else None
    return np.logical_and(a, b)


def _costed(o, scenario: Scenario, demand: _Demand, prices: dict[str, ApiPrice], hosted: dict[str, _SelfHosted],
            detail: bool = True) -> tuple[dict[str, Any], Any]:
    """Monthly line items of one option and whether it meets the SLO.

    The single costing of every option: :func:`evaluate` calls it with point inputs
    (arrays by month) and :func:`costmodel.uncertainty.simulate` with ``(draws, 1)``
    inputs (arrays of draws by month). ``detail=False`` skips what only the report shows
    and leaves ``total`` as :class:`CostTerms` (Monte Carlo weighs them without building
    the table); with ``detail`` every item is an array. The SLO flag is a bool or None
    (unknown), or a ``(draws, 1)`` bool array.
    """
    if isinstance(o, ApiOption):
        cost = CostTerms(((_api_rate(o, prices[o.name], scenario.workload), demand.api_requests),))
        items, met = {"api": cost, "total": cost}, _api_slo(o, scenario).met
    elif isinstance(o, HybridOption):
        items, met = _hybrid_items(o, scenario, demand, hosted[o.local], prices[o.overflow], detail)
    else:
        h = hosted[o.name]
        needed = h.fleet(demand.peak_rps)
        fleet = needed if o.gpus is None else np.full(needed.shape[-1], float(o.gpus))
        served = np.minimum(demand.mean_rps, h.served_capacity(fleet)) \
            if detail or isinstance(o, OwnedOption) else None
        items = h.monthly(fleet, served, demand.rent_price_index, detail=detail)
        if detail:
            items["utilization"] = h.utilization(items["gpus"], served)
        met = h.capacity.slo_met
        if o.gpus is not None:
            met = _both(met, np.all(needed <= fleet, axis=-1, keepdims=True))
    if detail:
        items = {k: v.dense() if isinstance(v, CostTerms) else v for k, v in items.items()}
    return items, met


def _hybrid_items(o: HybridOption, scenario: Scenario, demand: _Demand, local: _SelfHosted, price: ApiPrice,
                  detail: bool) -> tuple[dict[str, Any], Any]:
    cap = local.capacity
    months = demand.mean_rps.shape[-1]
    fleet = np.full(months, float(o.local_gpus))  # the same every month and draw
    active = max(o.local_gpus // cap.gpus_per_replica - local.option.spare_replicas, 0)
    capacity_rps = active * cap.requests_per_s * local.option.max_utilization
    servable = scenario.workload.servable_share(local.option.quality)  # classes the local model may serve
    if servable == 1.0:
        share = local_share(demand.mean_rps, capacity_rps, demand.shape)
    else:  # the fleet sees only the servable classes' load; the share is of all requests
        share = local_share(demand.mean_rps * servable, capacity_rps, demand.shape) * servable
    local_rps = demand.mean_rps * share
    items = local.monthly(fleet, local_rps, demand.rent_price_index, detail=detail) \
        if o.local_gpus > 0 else {"gpus": np.zeros(months), "total": CostTerms(())}
    rate = _api_rate(scenario.option(o.overflow), price, scenario.workload)
    overflow = CostTerms(((rate, demand.api_requests * (1.0 - share)),))
    local_total = items.pop("total")
    items = {f"local_{k}" if k != "gpus" else k: v for k, v in items.items()}
    items.update({"local_share": share, "api": overflow, "total": local_total + overflow})
    met = _both(cap.slo_met if o.local_gpus > 0 else True, _api_slo(scenario.option(o.overflow), scenario).met)
    return items, met


def _hybrid(o: HybridOption, scenario: Scenario, demand: _Demand, local: _SelfHosted, price: ApiPrice,
            items: dict[str, Array] | None = None) -> OptionResult:
    if items is None:
        items, _ = _costed(o, scenario, demand, {o.overflow: price}, {o.local: local})
    cap = local.capacity
    api_slo = _api_slo(scenario.option(o.overflow), scenario)
    local_slo = _capacity_slo(cap) if o.local_gpus > 0 else SloStatus(True, None, None, "none", "no local fleet")
    met = _both(local_slo.met, api_slo.met)
    slo = SloStatus(None if met is None else bool(met), local_slo.ttft_ms, local_slo.tpot_ms, local_slo.basis,
                    "local part " + (local_slo.note or "meets the SLO") + "; overflow part "
                    + (api_slo.note or "measured"))
    notes = local.notes + (f"overflow to {price.provider}/{price.model}",)
    return _result(o, "hybrid", items, demand, scenario, cap, slo, notes, int(o.local_gpus))


def _steady_cost_functions(scenario: Scenario, catalog: Catalog, hosted=None, prices=None):
    """Per option (not hybrid): f(requests/month, api_price_scale, max_utilization) -> USD/month."""
    wl = scenario.workload
    peak = float(daily_shape(wl).max())
    hosted = hosted if hosted is not None else {
        o.name: _self_hosted(o, scenario, catalog) for o in scenario.options
        if isinstance(o, RentedOption | OwnedOption)}
    prices = prices if prices is not None else {
        o.name: _api_price(o, catalog) for o in scenario.options if isinstance(o, ApiOption)}
    fns = {}
    for o in scenario.options:
        if o.name in hosted:
            fns[o.name] = lambda v, scale=1.0, u=None, h=hosted[o.name]: h.steady_monthly_cost(v, peak, u)
        elif o.name in prices:
            fns[o.name] = lambda v, scale=1.0, u=None, o=o, p=prices[o.name]: np.asarray(v, float) * _api_rate(o, p, wl) * scale
    return fns


def variant_costs(
    scenario: Scenario,
    catalog: Catalog,
    requests_per_month: ArrayLike,
    *,
    api_price_scale: ArrayLike = 1.0,
    max_utilization: ArrayLike | None = None,
) -> dict[str, Array]:
    """Steady-state monthly cost of each option (not hybrids) for many what-if variants at once.

    The three arguments broadcast against each other: a monthly volume, a multiplier on
    every API price, and the planned peak utilisation of self-hosted fleets (``None``: each
    option's own). Self-hosted fleets are sized for the volume's peak; owned capex is spread
    over its depreciation life net of residual value. USD per month, one array per option.
    """
    v = np.asarray(requests_per_month, dtype=float)
    fns = _steady_cost_functions(scenario, catalog)
    return {name: np.broadcast_to(fn(v, api_price_scale, max_utilization),
                                  np.broadcast_shapes(v.shape, np.shape(api_price_scale),
                                                      np.shape(max_utilization) if max_utilization is not None
                                                      else ()))
            for name, fn in fns.items()}


def cost_curves(scenario: Scenario, catalog: Catalog, requests_per_month: ArrayLike) -> pd.DataFrame:
    """Steady-state monthly cost of each option (not hybrids) at each monthly volume.

    The curves cross at the break-even volumes (see :func:`variant_costs` for the model).
    Index: requests per month; one column per option, USD per month.
    """
    v = np.asarray(requests_per_month, dtype=float)
    return pd.DataFrame(variant_costs(scenario, catalog, v), index=pd.Index(v, name="requests_per_month"))


def _break_evens(scenario, catalog, hosted, prices, results):
    by_name = {r.name: r for r in results}
    fns = _steady_cost_functions(scenario, catalog, hosted, prices)
    evens, paybacks = [], []
    for h_name, h in hosted.items():
        for a_name in prices:
            v = finance.break_even(lambda x, a=fns[h_name], b=fns[a_name]: a(x) - b(x), *BREAK_EVEN_RANGE)
            if v is None:
                note = f"{a_name} is cheaper at every volume up to {BREAK_EVEN_RANGE[1]:.0e} requests/month"
            elif v == BREAK_EVEN_RANGE[0]:
                note = f"{h_name} is cheaper at every volume from {BREAK_EVEN_RANGE[0]:.0e} requests/month"
            else:
                note = f"{h_name} is cheaper above {v:,.0f} requests/month (steady state, capex amortized)"
            evens.append(BreakEven(h_name, a_name, v, note))
            if isinstance(h.option, OwnedOption):
                paybacks.append(Payback(h_name, a_name, finance.payback_month(
                    by_name[h_name].cashflow["cumulative"], by_name[a_name].cashflow["cumulative"])))
    return tuple(evens), tuple(paybacks)


def _money(x: float) -> str:
    return f"${x / 1e6:,.2f}M" if abs(x) >= 1e6 else f"${x:,.0f}"


def _recommend(scenario, results, break_evens, paybacks) -> Recommendation:
    eligible = [r for r in results if r.eligible]
    if not eligible:
        return Recommendation(None, ("No option meets both the latency SLO and the quality requirement; relax "
                                     "them or add larger GPUs or models.",))
    ranked = sorted(eligible, key=lambda r: -r.npv_usd)
    best = ranked[0]
    claim = "meets the SLO" if best.slo.met else "is not known to miss the SLO"
    reasons = [f"{best.label} is the cheapest option that {claim}: NPV of cost {_money(-best.npv_usd)} "
               f"over {scenario.horizon_months} months ({best.usd_per_million_tokens:,.3f} USD per 1M tokens)."]
    if len(ranked) > 1:
        second = ranked[1]
        saving = second.npv_usd - best.npv_usd
        reasons.append(f"Next best is {second.label} at {_money(-second.npv_usd)}, "
                       f"{_money(-saving)} ({-saving / -second.npv_usd:.0%}) more.")
    if scenario.workload.request_classes:
        reasons.append(f"Quality: {best.quality.note}.")
    if best.slo.met is None:
        reasons.append(f"Its latency is unverified ({best.slo.note}).")
    elif best.capacity is not None:
        reasons.append(f"Latency {best.slo.basis}: TTFT {best.slo.ttft_ms:,.0f} ms, TPOT {best.slo.tpot_ms:,.1f} ms "
                       f"vs SLO {scenario.workload.slo.ttft_p95_ms:g}/{scenario.workload.slo.tpot_p95_ms:g} ms; "
                       f"{best.gpus_at_peak} GPUs at peak.")
    excluded = [r.label for r in results if r.slo.met is False]
    if excluded:
        reasons.append(f"Excluded for missing the SLO: {', '.join(excluded)}.")
    too_weak = [f"{r.label} ({r.quality.note})" for r in results if r.quality.met is False]
    if too_weak:
        reasons.append(f"Excluded for quality: {'; '.join(too_weak)}.")
    for b in break_evens:
        if best.name in (b.self_hosted, b.api) and b.requests_per_month is not None:
            reasons.append(f"{b.self_hosted} breaks even with {b.api} at {b.requests_per_month:,.0f} requests/month "
                           f"(first month: {scenario.workload.requests_per_month:,.0f}).")
            break
    for p in paybacks:
        if p.owned == best.name and p.month is not None:
            reasons.append(f"Its hardware pays back against {p.api} in month {p.month}.")
            break
    return Recommendation(best.name, tuple(reasons), best.risks)
