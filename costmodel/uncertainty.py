"""Monte Carlo over a scenario's uncertain inputs, through the engine's own costing.

The ``uncertainty:`` section of a scenario gives some inputs as distributions. Each
draw replaces those inputs by a ``(draws, 1)`` array in a copy of the scenario, and the
copy goes through the same :func:`costmodel.engine.prepare` and
:func:`costmodel.engine.cost_option` that :func:`costmodel.engine.evaluate` uses, so months
become the last axis of ``(draws, months)`` tables: no second cost model to drift apart.

Draws run in fixed-size chunks (memory stays bounded, numpy releases the GIL, so two
threads overlap) with one seeded random stream per chunk: the same scenario, seed and
number of draws give the same numbers on any machine and thread count.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pydantic import BaseModel
from threadpoolctl import threadpool_limits

from costmodel.core import finance
from costmodel.core.tables import month_sums
from costmodel.core.units import SECONDS_PER_MONTH
from costmodel.engine import Evaluation, cost_option, evaluate, prepare
from costmodel.engine.capacity import capacity_basis, stack_of
from costmodel.engine.eligibility import quality_status
from costmodel.engine.results import Simulation
from costmodel.model.catalog import Catalog
from costmodel.model.distributions import Distribution
from costmodel.model.scenario import HybridOption, OwnedOption, RentedOption, RouterOption, Scenario
from costmodel.text import percent

__all__ = [
    "CHUNK",
    "CONFIDENT",
    "DEFAULT_DRAWS",
    "Simulation",
    "drawn_scenario",
    "evaluate_with_uncertainty",
    "point_value",
    "simulate",
    "with_confidence",
]

CHUNK = 8192
DEFAULT_DRAWS = 100_000
MAX_DRAWS = 10_000_000  # past this a run takes minutes and gigabytes: an error, not a hang
CONFIDENT = 0.6  # below this probability of being cheapest, the recommendation carries a risk flag


def _substitute(model: BaseModel, keys: list[str], value: Any) -> BaseModel:
    """Copy of ``model`` with the field at ``keys`` set to ``value``, unvalidated (arrays allowed)."""
    head, *rest = keys
    if isinstance(model, Scenario) and head == "options":
        name, *rest = rest
        options = tuple(_substitute(o, rest, value) if o.name == name else o for o in model.options)
        return model.model_copy(update={"options": options})
    if not rest:
        return model.model_copy(update={head: value})
    return model.model_copy(update={head: _substitute(getattr(model, head), rest, value)})


def drawn_scenario(scenario: Scenario, values: dict[str, Any]) -> Scenario:
    """``scenario`` with the inputs at the given paths replaced by (arrays of) drawn values.

    Values are not re-validated: the distributions were checked against the fields' ranges
    when the scenario was loaded (:func:`costmodel.loaders.load`).
    """
    for path, value in values.items():
        changed = _substitute(scenario, path.split("."), value)
        assert isinstance(changed, Scenario)
        scenario = changed
    return scenario


def point_value(scenario: Scenario, catalog: Catalog, path: str) -> float:
    """The point estimate of an uncertain input; the engine's efficiency or the catalog's price
    where the scenario sets none."""
    node = scenario.value_at(path)
    if node is not None:
        return float(node)
    section, _, field = path.rpartition(".")
    if section == "serving.efficiency" and scenario.serving is not None:
        return catalog.engines[scenario.serving.engine].default_for(field)
    h = prepare(scenario, catalog).fleets[path.split(".")[1]]
    if isinstance(h.option, RentedOption) and h.usd_per_gpu_hour is not None:
        return float(h.usd_per_gpu_hour)
    if isinstance(h.option, OwnedOption) and h.capex_per_gpu is not None:
        return float(h.capex_per_gpu - (h.option.server_usd_per_gpu or 0.0))
    raise ValueError(f"{path}: no point estimate to draw around")


@functools.cache
def _reuse_freed_memory() -> None:
    """Ask glibc to keep freed tables for reuse instead of returning them to the kernel.

    Each chunk allocates and frees dozens of megabyte-sized tables. By default glibc maps
    them fresh from the kernel and unmaps them on free, so every table costs thousands of
    page faults; on this project's VMs that doubled the Monte Carlo time
    (``bench/montecarlo.py``). Process-wide and harmless elsewhere; a no-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's maximum
    libc.mallopt(m_trim_threshold, 1024 * 1024 * 1024)


@dataclass(frozen=True)
class CapacityDraw:
    """How Monte Carlo draws one self-hosted option's ``capacity_scale`` (published / modelled
    output tokens/s): resampled from the held-out published runs of its engine on its GPU, or from
    the catalog's prior for a pair with too few; times the option's own ``capacity_scale``."""

    option: str
    text: str
    base: float = 1.0
    ratios: tuple[float, ...] = ()
    prior: Distribution | None = None

    @property
    def path(self) -> str:
        return f"options.{self.option}.capacity_scale"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.ratios:
            return self.base * rng.choice(np.asarray(self.ratios), n)
        assert self.prior is not None
        return self.base * self.prior.sample(rng, n)

    def low_high(self) -> tuple[float, float]:
        """The smallest and largest draw (the tornado's range)."""
        lo, hi = (min(self.ratios), max(self.ratios)) if self.ratios else self.prior.support()  # type: ignore[union-attr]
        return self.base * lo, self.base * hi


MIN_RUNS = 3  # held-out runs of a pair below which its prior is drawn instead


def capacity_draws(scenario: Scenario, catalog: Catalog) -> tuple[CapacityDraw, ...]:
    """Each self-hosted option whose capacity is modelled, with how its Monte Carlo draws scale it
    (``capacity_uncertainty: calibration``, the default); none where the scenario says ``none`` or
    its uncertainty states the engine's efficiencies (those draws move the same figure), nor for an
    option whose ``capacity_scale`` the uncertainty section states itself."""
    stated = any(path.startswith("serving.efficiency.") for path in scenario.uncertainty)
    if scenario.capacity_uncertainty == "none" or stated:
        return ()
    out = []
    for o in scenario.options:
        if not isinstance(o, RentedOption | OwnedOption) or o.measured is not None or o.probe_run is not None:
            continue
        if f"options.{o.name}.capacity_scale" in scenario.uncertainty:
            continue
        basis = capacity_basis(stack_of(o, scenario, catalog), catalog)
        if len(basis.ratios) >= MIN_RUNS:
            low, high = min(basis.ratios), max(basis.ratios)
            text = (
                f"options.{o.name}.capacity_scale: published/modelled capacity per replica, resampled from the "
                f"{len(basis.ratios)} held-out published runs of {basis.engine} on {basis.gpu} ({low:.2f}-{high:.2f})"
            )
            out.append(CapacityDraw(o.name, text, o.capacity_scale, ratios=basis.ratios))
        elif catalog.uncalibrated_capacity is not None:
            p = catalog.uncalibrated_capacity
            lo, hi = p.support()
            text = (
                f"options.{o.name}.capacity_scale: published/modelled capacity per replica, the uncalibrated prior "
                f"{p.dist} {lo:g}-{hi:g} (no published runs of {basis.engine} on {basis.gpu} to draw from; {p.source})"
            )
            out.append(CapacityDraw(o.name, text, o.capacity_scale, prior=p))
    return tuple(out)


def _chunk(
    scenario: Scenario,
    catalog: Catalog,
    seed: np.random.SeedSequence,
    n: int,
    layouts: dict[str, int],
    plans: dict[str, np.ndarray],
    routes: dict[str, Any],
    capacity: tuple[CapacityDraw, ...] = (),
) -> dict[str, tuple]:
    rng = np.random.default_rng(seed)
    values = {path: dist.sample(rng, n)[:, np.newaxis] for path, dist in scenario.uncertainty.items()}
    values |= {c.path: c.sample(rng, n)[:, np.newaxis] for c in capacity}  # after the stated inputs' draws
    drawn = drawn_scenario(scenario, values)
    # layouts, planned fleets and routers' routes are decided on the plan, before uncertainty resolves
    prepared = prepare(drawn, catalog, chosen=layouts, plans=plans, routes=routes)
    months = scenario.horizon_months
    # one pass over each cost table gives both the plain sum and the NPV (= finance.npv)
    weights = np.stack(
        [np.ones(months), finance.discount_factors(finance.monthly_rate(scenario.discount_rate), months)], axis=1
    )
    out = {}
    weighed: dict[int, Any] = {}  # each table shared by options' terms weighed once a chunk
    for o in drawn.options:
        items, met = cost_option(o, drawn, prepared, detail=False)
        sums = np.broadcast_to(items["total"].reduce(weights, weighed), (n, 2))
        fleet_shares = None
        prefix = "member_" if isinstance(o, RouterOption) else ""  # a router's: its member fleets'
        if f"{prefix}stranded_gpus" in items:  # a fleet that does not follow this draw's demand
            requests = prepared.demand.summed_rps[..., 0] * SECONDS_PER_MONTH  # asked for, per draw
            gpu_months = month_sums(items["gpus"])
            unserved = month_sums(items[f"{prefix}unserved"]) if f"{prefix}unserved" in items else 0.0
            fleet_shares = (
                np.broadcast_to(unserved / np.maximum(requests, 1e-300), (n,)),
                np.broadcast_to(month_sums(items[f"{prefix}stranded_gpus"]) / np.maximum(gpu_months, 1e-300), (n,)),
            )
        missed = items.get("member_missed")  # a router: draws where a member is known to miss the SLO
        missed = (
            None if missed is None else np.broadcast_to(np.reshape(missed, (-1,)) if np.ndim(missed) else missed, (n,))
        )
        out[o.name] = (sums[:, 0], sums[:, 1], met, fleet_shares, missed)
    return out


def simulate(
    scenario: Scenario,
    catalog: Catalog,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    threads: int | None = None,
    progress: Any = None,
) -> Simulation:
    """Draw the uncertain inputs ``draws`` times and cost every option for each draw.

    ``threads`` defaults to the machine's cores (at most 4); ``progress``, if given, is
    called with the number of draws done after each chunk. A scenario with no uncertainty
    gives ``draws`` identical copies of the point estimate.
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    point = prepare(scenario, catalog)  # point resolution first: a bad scenario fails with the engine's own error
    layouts, plans = point.chosen_layouts(), point.planned_fleets(scenario)
    capacity = capacity_draws(scenario, catalog)
    _reuse_freed_memory()
    sizes = [min(CHUNK, draws - start) for start in range(0, draws, CHUNK)]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    names = [o.name for o in scenario.options]
    total = {n: np.empty(draws) for n in names}
    npv = {n: np.empty(draws) for n in names}
    met: dict[str, Any] = {n: np.empty(draws, bool) for n in names}
    # options whose fleets are decided on the plan (a router's own through its members): filled per draw
    planned = {n.partition("/")[0] for n in plans} | {o.name for o in scenario.options if isinstance(o, HybridOption)}
    shortfall = {n: np.zeros(draws) for n in names if n in planned}
    stranded = {n: np.zeros(draws) for n in names if n in planned}
    unknown: set[str] = set()
    member_missed = {o.name: np.zeros(draws, bool) for o in scenario.options if isinstance(o, RouterOption)}

    def run(i: int) -> int:
        start = i * CHUNK
        rows = slice(start, start + sizes[i])
        for name, (t, v, m, shares, missed) in _chunk(
            scenario, catalog, seeds[i], sizes[i], layouts, plans, point.routes, capacity
        ).items():
            total[name][rows], npv[name][rows] = t, v
            if missed is not None and name in member_missed:
                member_missed[name][rows] = missed
            if shares is not None and name in shortfall:
                shortfall[name][rows], stranded[name][rows] = shares
            if m is None:
                unknown.add(name)
            else:
                met[name][rows] = np.broadcast_to(np.reshape(m, (-1,)) if np.ndim(m) else m, (sizes[i],))
        if progress is not None:
            progress(sizes[i])
        return i

    workers = threads or min(4, os.cpu_count() or 1)
    # One BLAS thread per worker: the weighing products are small ((8192, months) @ (months, 2)),
    # and OpenBLAS's own threads on top of the workers' oversubscribe the cores. On the 2-core
    # machine 1M draws took 2.54 s with them and 1.10 s without (bench/montecarlo.py).
    with threadpool_limits(limits=1, user_api="blas"):
        if workers > 1 and len(sizes) > 1:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(run, range(len(sizes))))
        else:
            for i in range(len(sizes)):
                run(i)
    slo = {n: (None if n in unknown else met[n]) for n in names}
    eligible = {n: np.ones(draws, bool) if (s := slo[n]) is None else s.copy() for n in names}
    for name, missed in member_missed.items():  # unverified overall, but known to miss in these draws
        eligible[name] &= ~missed
    for o in scenario.options:
        routes = point.routes[o.name].routes if o.name in point.routes else None
        if quality_status(o, scenario, routes).met is False:  # static: no draw makes a weak model good enough
            eligible[o.name][:] = False
    inputs = (*scenario.uncertainty, *(c.path for c in capacity))
    return Simulation(
        scenario.name,
        draws,
        seed,
        inputs,
        total,
        npv,
        slo,
        eligible,
        shortfall,
        stranded,
        capacity_draws=tuple(c.text for c in capacity),
    )


def with_confidence(evaluation: Evaluation, simulation: Simulation) -> Evaluation:
    """``evaluation`` with its Monte Carlo: the recommendation's confidence, and a risk flag below 60 %."""
    rec = evaluation.recommendation
    if rec.option is None:
        return replace(evaluation, simulation=simulation)
    p = float(simulation.cheapest()[rec.option])
    reason = (
        f"Confidence: it is the cheapest eligible option in {percent(p)} of {simulation.draws:,} Monte Carlo "
        f"draws of {len(simulation.inputs)} uncertain inputs (seed {simulation.seed})."
    )
    risks = rec.risks
    if p < CONFIDENT:
        rival = simulation.cheapest().drop(rec.option).idxmax()
        risks = (
            *risks,
            f"{rec.option} wins in only {percent(p)} of Monte Carlo draws (under "
            f"{percent(CONFIDENT)}); {rival} wins in {percent(float(simulation.cheapest()[rival]))}",
        )
    rec = replace(rec, reasons=(*rec.reasons, reason), risks=risks, confidence=p)
    return replace(evaluation, simulation=simulation, recommendation=rec)


def evaluate_with_uncertainty(
    scenario: Scenario, catalog: Catalog, draws: int = DEFAULT_DRAWS, seed: int = 0, progress: Any = None
) -> Evaluation:
    """The point evaluation, plus Monte Carlo and the recommendation's confidence when ``draws``
    is positive and the scenario has an uncertainty section."""
    ev = evaluate(scenario, catalog)
    if scenario.uncertainty and draws:
        ev = with_confidence(ev, simulate(scenario, catalog, draws, seed, progress=progress))
    return ev
