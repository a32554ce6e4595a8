"""A self-hosted option's fleet: its GPU price, how many GPUs the demand needs, how loaded they
are, and its monthly line items (rent; or capex, power, colocation, maintenance, staff, resale).

The formulas are in the core kernels (:mod:`costmodel.core.rented`, :mod:`costmodel.core.owned`);
this module decides what they are fed: fleet sizes from peak demand and replica capacity,
spare replicas that idle, and the loaded GPUs that draw load power.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costmodel.core.owned import colocation_monthly_cost, owned_monthly_costs, power_per_gpu
from costmodel.core.rented import rented_monthly_cost
from costmodel.core.roofline import ReplicaCapacity, replicas_needed
from costmodel.core.tables import CostTerms, at_least, running_max
from costmodel.core.units import SECONDS_PER_MONTH
from costmodel.engine.capacity import spot_capacity_factor
from costmodel.engine.errors import EngineError
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import OwnedOption, RentedOption
from costmodel.text import drawn, sourced

Array = NDArray[np.float64]


def in_place(ufunc: np.ufunc, table: Array, other: ArrayLike) -> Array:
    """``ufunc(table, other)`` written into ``table`` (a table this caller made and no one else
    holds) where the result has its shape: no fresh (draws, months) table per step."""
    fits = np.broadcast_shapes(np.shape(table), np.shape(other)) == np.shape(table)
    return ufunc(table, other, out=table if fits else None)


def stranded_gpus(fleet: ArrayLike, needed: Array) -> Array:
    """GPUs each month the fleet holds beyond what the demand needs, ``max(fleet - needed, 0)``,
    written over ``needed`` (a table the caller made and reads no more) where shapes allow."""
    mine = np.shape(needed) == np.broadcast_shapes(np.shape(fleet), np.shape(needed))
    stranded = np.subtract(fleet, needed, out=needed if mine and np.ndim(needed) else None)
    return at_least(stranded, 0.0, out=stranded)


@dataclass(frozen=True)
class SelfHostedFleet:
    """A self-hosted option's resolved prices and capacity, and the costing of its fleet."""

    option: RentedOption | OwnedOption
    capacity: ReplicaCapacity
    usd_per_gpu_hour: float | None  # rented
    capex_per_gpu: float | None  # owned: GPU plus server share
    tdp_watts: float
    notes: tuple[str, ...]

    @property
    def rate(self) -> float:
        """USD per GPU-hour of a rented fleet."""
        if self.usd_per_gpu_hour is None:
            raise ValueError(f"options[{self.option.name}]: a rented fleet has no hourly price")
        return self.usd_per_gpu_hour

    @property
    def capex(self) -> float:
        """USD per owned GPU, its server share included."""
        if self.capex_per_gpu is None:
            raise ValueError(f"options[{self.option.name}]: an owned fleet has no purchase price")
        return self.capex_per_gpu

    @property
    def staff_usd_per_month(self) -> Any:
        return self.option.ops_staff_fte * self.option.ops_staff_usd_per_year / 12.0

    def fleet(self, peak_rps: Array, max_utilization: ArrayLike | None = None, share: float = 1.0) -> Array:
        """GPUs needed to serve ``share`` of ``peak_rps`` at the planned utilisation, spares included
        (the share divides the replica's capacity instead of building a scaled table of the peak)."""
        u = self.option.max_utilization if max_utilization is None else max_utilization
        per_replica = self.capacity.requests_per_s
        if share != 1.0:
            with np.errstate(divide="ignore"):  # none of the load: infinite capacity, no replica
                per_replica = np.divide(per_replica, share)
        replicas = replicas_needed(peak_rps, per_replica, u)
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
            at_least(active, 0.0, out=active)
        return in_place(np.multiply, active, self.capacity.requests_per_s)

    def _active_gpus(self, fleet: Array) -> Array:
        """GPUs of the fleet that serve: all but the spare replicas' (which idle)."""
        spares = self.option.spare_replicas * self.capacity.gpus_per_replica
        if not spares:
            return fleet
        active = np.subtract(fleet, spares)
        return at_least(active, 0.0, out=active)

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
        # minimum, then the floor: a clip against a table of bounds is 2x slower on (draws, months)
        capped = np.minimum(loaded, active_gpus, out=loaded if loaded.shape == np.shape(active_gpus) else None)
        return at_least(capped, 0.0, out=capped)

    def monthly(
        self, fleet: Array, served_mean_rps: Array | None, rent_index: ArrayLike = 1.0, detail: bool = True
    ) -> dict[str, Any]:
        """Line items per month for a fleet (GPUs per month) serving a mean rate; on-demand rent
        is multiplied by ``rent_index`` (the rental price trend by month). ``total`` is
        :class:`CostTerms`; ``detail=False`` (Monte Carlo) returns only it and ``gpus``."""
        o = self.option
        staff = self.staff_usd_per_month
        if isinstance(o, RentedOption):
            if o.committed:  # committed capacity cannot shrink, nor its rate
                fleet, rent_index = running_max(fleet), 1.0
            trend = np.ndim(rent_index) and np.any(rent_index != 1.0)
            gpu_months = fleet * np.asarray(rent_index, float) if trend else fleet  # at today's rate
            rent = CostTerms(((rented_monthly_cost(1.0, self.rate), gpu_months),))
            total = rent + CostTerms(((staff, np.ones(np.shape(fleet)[-1])),))
            if not detail:
                return {"gpus": fleet, "total": total}
            return {
                "gpus": fleet,
                "rent": rent.dense(),
                "staff": np.broadcast_to(staff, np.shape(fleet)),
                "total": total,
            }
        held = running_max(fleet)  # GPUs bought are kept
        if served_mean_rps is None:  # an owned fleet's power follows the load it serves
            raise ValueError(f"options[{o.name}]: an owned fleet is costed with the load it serves")
        items = owned_monthly_costs(
            held,
            self.loaded_gpus(held, served_mean_rps),
            fleet_is_held=True,
            capex_per_gpu=self.capex,
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

    def steady_monthly_cost(
        self, requests_per_month: Array, shape_peak: float, max_utilization: ArrayLike | None = None
    ) -> Array:
        """Cost of one month at a constant volume, the fleet sized for its peak; a scalar volume
        gives a scalar (the fleet's arithmetic works in place on arrays)."""
        volume = np.asarray(requests_per_month, float)
        mean = np.atleast_1d(volume) / SECONDS_PER_MONTH
        cost = self.fleet_steady_cost(self.fleet(mean * shape_peak, max_utilization), mean)
        return cost.reshape(np.shape(cost)[:-1] + volume.shape) if volume.ndim == 0 else cost

    def fleet_steady_cost(self, fleet: Array, mean_rps: Array) -> Array:
        """Cost of one month of a given fleet serving ``mean_rps``, capex spread over its life net of resale."""
        o = self.option
        staff = self.staff_usd_per_month
        if isinstance(o, RentedOption):
            return rented_monthly_cost(fleet, self.rate) + staff
        capex = fleet * self.capex
        amortized = capex * (1.0 - o.residual_value) / (o.depreciation_years * 12.0)
        power_idle, power_load = power_per_gpu(
            self.tdp_watts, o.server_power_factor, o.idle_power_fraction, o.pue, o.usd_per_kwh
        )
        power = fleet * power_idle + self.loaded_gpus(fleet, mean_rps) * power_load
        colocation = colocation_monthly_cost(
            fleet, self.tdp_watts, o.server_power_factor, o.colocation_usd_per_kw_month
        )
        return amortized + power + colocation + capex * o.maintenance_per_year / 12.0 + staff


def self_hosted_fleet(option: RentedOption | OwnedOption, catalog: Catalog, cap: ReplicaCapacity) -> SelfHostedFleet:
    """A self-hosted option's fleet for one replica capacity, with its GPU price (the scenario's
    override, else the catalog's)."""
    gpu = catalog.gpus[option.gpu]
    notes: list[str] = []
    rate = capex = None
    if isinstance(option, RentedOption):
        if option.usd_per_gpu_hour is not None:
            rate = option.usd_per_gpu_hour
            notes.append(f"{gpu.id} at ${drawn(rate)}/GPU-hour, the scenario's own rate")
        else:
            offers = gpu.rentals(option.provider, option.commitment, option.region)
            if not offers:
                raise EngineError(
                    f"options[{option.name}].gpu",
                    option.gpu,
                    f"no {option.commitment} rental price for {gpu.id}"
                    + (f" at {option.provider}" if option.provider else "")
                    + (f" in {option.region}" if option.region else "")
                    + "; set usd_per_gpu_hour",
                )
            entry = min(offers, key=lambda r: r.price.value)
            rate = float(entry.price)
            picked = f", the cheapest of {len(offers)}" if len(offers) > 1 else ""
            what = f"{gpu.id} at ${rate:.4g}/GPU-hour, {entry.label}{picked}, as of {entry.price.as_of}"
            notes.append(sourced(what, entry.price.source))
        if option.spot is not None:
            t = option.spot
            what = (
                f"spot: plans on {spot_capacity_factor(option):.1%} of the modelled capacity, for "
                f"{t.interruptions_per_month:g} interruptions a month x {t.restart_minutes:g} min down and "
                f"{t.spare_share:.0%} spare replicas"
            )
            notes.append(sourced(what, t.source))
    else:
        if option.usd_per_gpu is not None:
            price = option.usd_per_gpu
            notes.append(f"{gpu.id} bought at ${drawn(price, ',.0f')}/GPU (scenario override)")
        elif gpu.purchase_price is not None:
            price = float(gpu.purchase_price)
            pp = gpu.purchase_price
            said = pp.source if pp.source.lower().startswith(pp.basis) else f"{pp.basis}: {pp.source}"
            notes.append(f"{gpu.id} bought at ${price:,.0f}/GPU ({said}; as of {pp.as_of})")
        else:
            raise EngineError(
                f"options[{option.name}].gpu", option.gpu, f"no purchase price for {gpu.id}; set usd_per_gpu"
            )
        capex = price + option.server_usd_per_gpu
    return SelfHostedFleet(option, cap, rate, capex, float(gpu.tdp), tuple(notes))
