"""What owned GPUs cost each month: capex, electricity, colocation, maintenance, staff, resale.

This is where owned power cost is computed (:func:`power_monthly_cost`,
:func:`power_per_gpu`); :func:`owned_monthly_costs` puts every line item together. USD,
positive = paid; the resale (book) value returned at the horizon's end is negative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costmodel.core.tables import CostTerms, bought, running_max
from costmodel.core.units import HOURS_PER_MONTH

Array = NDArray[np.float64]

__all__ = ["colocation_monthly_cost", "owned_monthly_costs", "power_monthly_cost", "power_per_gpu"]


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
    with TDP in watts, utilisation clipped to [0, 1], $/kWh in USD. Every argument broadcasts.

    Examples
    --------
    One 1 kW server at full load, PUE 1.5, $0.10/kWh: 1.5 kW x 730.5 h x 0.10 = 109.575.

    >>> round(float(power_monthly_cost(1, 1000, 1.0, 1.0, 0.3, 1.5, 0.10)), 3)
    109.575
    >>> power_monthly_cost(np.ones((3, 1)), 1000, 1, [0.5, 1], 0.3, 1.5, 0.1).shape
    (3, 2)
    """
    idle = np.asarray(idle_power_fraction, float)
    # Fold the per-GPU constants first: with Monte Carlo draws they are (draws, 1), the
    # fleet and utilisation (draws, months), so only three operations touch the big tables.
    usd_per_gpu_at_full_load = (
        np.asarray(tdp_watts, float)
        * np.asarray(server_power_factor, float)
        / 1000.0
        * np.asarray(pue, float)
        * HOURS_PER_MONTH
        * np.asarray(usd_per_kwh, float)
    )
    draw = np.clip(np.asarray(utilization, float), 0.0, 1.0) * (1.0 - idle) + idle
    draw = _times(draw, gpus)
    return _times(draw, usd_per_gpu_at_full_load)


def _times(table: Array, factor: ArrayLike) -> Array:
    """``table * factor``, in place when the result has the table's shape (saves a big table)."""
    factor = np.asarray(factor, float)
    if isinstance(table, np.ndarray) and table.ndim and np.broadcast_shapes(table.shape, factor.shape) == table.shape:
        return np.multiply(table, factor, out=table)
    return table * factor


def colocation_monthly_cost(
    gpus: ArrayLike, tdp_watts: ArrayLike, server_power_factor: ArrayLike, usd_per_kw_month: ArrayLike
) -> Array:
    """Colocation rent on provisioned IT power, USD per month: ``gpus x TDP x server factor / 1000 x $/kW``.

    Examples
    --------
    >>> float(colocation_monthly_cost(8, 700, 1.8, 200))  # 10.08 kW at $200/kW-month
    2016.0
    """
    return np.asarray(gpus, float) * (
        np.asarray(tdp_watts, float)
        * np.asarray(server_power_factor, float)
        / 1000.0
        * np.asarray(usd_per_kw_month, float)
    )


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
    fleet: ArrayLike,
    loaded_gpus: ArrayLike,
    *,
    capex_per_gpu: ArrayLike,
    depreciation_months: float,
    residual_value: ArrayLike,
    count_residual: bool,
    tdp_watts: ArrayLike,
    server_power_factor: ArrayLike,
    idle_power_fraction: ArrayLike,
    pue: ArrayLike,
    usd_per_kwh: ArrayLike,
    colocation_usd_per_kw_month: ArrayLike,
    maintenance_per_year: ArrayLike,
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
    and ``total`` are returned, the total as :class:`~costmodel.core.tables.CostTerms`.

    The total is ``capex x bought + (idle power + colocation + maintenance) x GPUs +
    load power x loaded GPUs + staff - book value at the end`` (:func:`power_per_gpu`).

    Examples
    --------
    Two GPUs at $10,000 bought in month 0 and kept for 12 months of a 24-month life, no
    resale value: half the price comes back as book value in month 11.

    >>> c = owned_monthly_costs(np.full(12, 2.0), np.zeros(12), capex_per_gpu=10_000.0,
    ...     depreciation_months=24, residual_value=0.0, count_residual=True, tdp_watts=700,
    ...     server_power_factor=1.0, idle_power_fraction=0.0, pue=1.0, usd_per_kwh=0.0,
    ...     colocation_usd_per_kw_month=0.0, maintenance_per_year=0.0, staff_usd_per_month=0.0)
    >>> float(c["capex"][0]), float(c["residual"][11]), float(c["total"].sum())
    (20000.0, -10000.0, 10000.0)
    """
    fleet = np.asarray(fleet, float) if fleet_is_held else running_max(fleet)
    months = fleet.shape[-1]
    new_gpus = bought(fleet)
    power_idle, power_load = power_per_gpu(tdp_watts, server_power_factor, idle_power_fraction, pue, usd_per_kwh)
    colocation_per_gpu = colocation_monthly_cost(1.0, tdp_watts, server_power_factor, colocation_usd_per_kw_month)
    capex_per_gpu = np.asarray(capex_per_gpu, float)
    maintenance_per_gpu = capex_per_gpu * np.asarray(maintenance_per_year, float) / 12.0  # on cumulative capex
    staff = np.asarray(staff_usd_per_month, float)
    life = float(depreciation_months)  # policy, never drawn
    total = CostTerms(
        (
            (capex_per_gpu, new_gpus),
            (power_idle + colocation_per_gpu + maintenance_per_gpu, fleet),
            (power_load, loaded_gpus),
            (staff, np.ones(months)),
        )
    )
    age = np.arange(months, dtype=float)
    book_end = 0.0
    if count_residual:
        # Book value at the end of the last month; cohort k has aged min(months - k, life).
        # One matrix product for both sums (a sum along the short months axis is ~5x slower).
        counted = new_gpus @ np.stack([np.ones(months), np.minimum(months - age, life)], axis=1)
        book_end = capex_per_gpu * (
            counted[..., :1] - (1.0 - np.asarray(residual_value, float)) * counted[..., 1:] / life
        )
        total = total + CostTerms(((-book_end, age == months - 1),))
    if terms:
        return {"gpus": fleet, "total": total}
    capex = new_gpus * capex_per_gpu
    # Cohort k charges capex_k (1 - rv) / life in months k .. k + life - 1.
    in_life = (age[:, None] - age[None, :] >= 0) & (age[:, None] - age[None, :] < life)
    return {
        "gpus": fleet,
        "capex": capex,
        "power": fleet * power_idle + np.asarray(loaded_gpus, float) * power_load,
        "colocation": fleet * colocation_per_gpu,
        "maintenance": fleet * maintenance_per_gpu,
        "staff": np.broadcast_to(staff, fleet.shape),
        "residual": np.where(age == months - 1, -book_end, 0.0),
        "total": total.dense(),
        "depreciation": (capex @ in_life.T.astype(float)) * ((1.0 - np.asarray(residual_value, float)) / life),
    }
