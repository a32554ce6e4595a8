"""The roofline against published serving throughputs: the error on every row of
``data/validation/serving_throughput.csv``, and the fit of an engine's efficiencies on the
rows marked ``calibration`` (never on the ``validation`` rows the error is reported for).

``bench/capacity.py`` prints the errors, ``bench/calibrate.py`` runs the fit; the README's
figures are recomputed from :func:`summary` by a test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from costmodel.engine.capacity import (
    published_latency_steps,
    published_rate_step,
    published_run_throughput,
    published_stream_latencies,
)
from costmodel.model.base import Sourced
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import Efficiency
from costmodel.model.validation import PublishedLatency, PublishedRate, PublishedRun, PublishedStreams

# Searched ranges. They stop short of the hardware: no engine streams weights at more than
# ~90 % of the data-sheet bandwidth. Reserved memory is not fitted (a fit trades it against the
# efficiencies and lands on values no engine reserves); it stays the catalog's stated assumption.
RANGES = {
    "mbu": (0.3, 0.9),
    "decode_mfu": (0.05, 0.9),
    "mfu": (0.05, 0.9),
    "expert_mfu": (0.02, 0.9),
    "expert_mbu": (0.05, 0.9),
    "step_overhead_ms": (0.0, 10.0),
    "step_overhead_per_rank_ms": (0.0, 5.0),
}
OVERSTATEMENT_WEIGHT = 4.0  # overstated capacity makes building look cheaper than it is


def fitted_pairs(rows: Iterable[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """The (engine, GPU) pairs among ``rows`` of (engine, GPU, role) with a row in the fit (role
    ``calibration``): the others run on their engine's prior, and their held-out rows say how far
    that prior is from them rather than how good the fit is."""
    return {(engine, gpu) for engine, gpu, role in rows if role == "calibration"}


def own_fit_gpus(engine: str, catalog: Catalog) -> set[str]:
    """The GPUs whose runs do not feed ``engine``'s prior: those with efficiencies of their own
    (``gpu_efficiency``), and those whose runs fitted the GPU's all-reduce efficiency instead
    (with the prior held as it was: fitting the prior on them too would chase its own tail)."""
    own = {g for entry in catalog.engines[engine].gpu_efficiency for g in entry.gpus}
    return own | {g.id for g in catalog.gpus.values() if g.interconnect.allreduce_efficiency.basis == "derived"}


def _point(r, **fields) -> dict:
    """A table row for published point ``r``: who ran it (id, role, engine, GPU), then ``fields``."""
    return {"id": r.id, "role": r.role, "engine": r.engine, "gpu": r.gpu, **fields}


def errors(runs: list[PublishedRun], catalog: Catalog, efficiency: Efficiency | None = None) -> pd.DataFrame:
    """One row per published run: ``id``, ``role``, ``engine``, ``gpu``, ``published``,
    ``modelled`` (output tokens/s), ``error`` (modelled / published - 1: positive overstates) and
    ``calibrated`` (its pair has maximum-throughput runs in the fit: :func:`fitted_pairs` of the
    catalog's published runs)."""
    fitted = fitted_pairs((r.engine, r.gpu, r.role) for r in catalog.published_runs)
    rows = []
    for r in runs:
        modelled = published_run_throughput(r, catalog, efficiency)
        rows.append(
            _point(
                r,
                published=r.output_tokens_per_s,
                modelled=modelled,
                error=modelled / r.output_tokens_per_s - 1.0,
                calibrated=(r.engine, r.gpu) in fitted,
            )
        )
    columns = ["id", "role", "engine", "gpu", "published", "modelled", "error", "calibrated"]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class ErrorSummary:
    rows: int
    median_abs: float  # fraction
    largest_overstatement: float  # fraction, positive overstates
    largest_understatement: float  # fraction, negative
    overstating_over_25: int  # rows overstating by more than 25 %


def summary(table: pd.DataFrame, role: str = "validation") -> ErrorSummary:
    """The error of the rows of one role (no rows: NaN figures)."""
    e = table.loc[table["role"] == role, "error"].to_numpy()
    if not e.size:
        return ErrorSummary(0, float("nan"), float("nan"), float("nan"), 0)
    return ErrorSummary(int(e.size), float(np.median(np.abs(e))), float(e.max()), float(e.min()), int(np.sum(e > 0.25)))


def loss(
    values: dict[str, float],
    runs: list[PublishedRun],
    catalog: Catalog,
    streams: Sequence[PublishedStreams] = (),
    latencies: Sequence[PublishedLatency] = (),
    rates: Sequence[PublishedRate] = (),
) -> float:
    """Mean squared log error of modelled against published throughput of ``runs`` and time per
    output token of ``streams``, ``latencies`` and ``rates`` (one term a point), overstatements weighed
    :data:`OVERSTATEMENT_WEIGHT` times: more throughput, or a shorter time per token, than published."""
    efficiency = Efficiency.model_validate(values)
    e = [np.log1p(errors(runs, catalog, efficiency)["error"].to_numpy())]
    if streams:
        e.append(-np.log1p(stream_errors(list(streams), catalog, efficiency)["tpot_error"].to_numpy()))
    if latencies:
        e.append(-np.log1p(latency_errors(list(latencies), catalog, efficiency)["tpot_error"].to_numpy()))
    if rates:
        e.append(-np.log1p(rate_errors(list(rates), catalog, efficiency)["tpot_error"].to_numpy()))
    terms = np.concatenate(e)
    return float(np.mean(terms * terms * np.where(terms > 0, OVERSTATEMENT_WEIGHT, 1.0)))


OVERHEAD_NAMES = ("step_overhead_ms", "step_overhead_per_rank_ms")


def fitted_names(
    runs: Sequence[PublishedRun],
    catalog: Catalog,
    streams: Sequence[PublishedStreams] = (),
    latencies: Sequence[PublishedLatency] = (),
    rates: Sequence[PublishedRate] = (),
) -> list[str]:
    """The efficiencies the published points inform: the routed-expert ones only where a run serves
    a mixture-of-experts model (else a fit would push them to the end of their range); the step
    overhead's growth per tensor-parallel rank only where the latency points span more than one
    tensor-parallel size; with latency points alone (no maximum-throughput runs), only the step
    overhead, its growth and the routed experts' bandwidth (a small batch's step is its weights read
    and its overhead; the dense bandwidth is left to maximum-throughput runs, since at one batch
    size a step cannot tell it from the overhead); with maximum-throughput runs alone, not the step
    overhead (a full batch's step hides it: a fit would set it anywhere, and the latency at low
    load read off it would be a guess)."""
    points = [*streams, *latencies, *rates]
    moe = any(catalog.models[r.model].moe is not None for r in [*runs, *points])
    sizes = {p.gpus_per_replica for p in points}
    names = [name for name in RANGES if (moe or not name.startswith("expert"))]
    if not runs:  # a small batch's step is its weights read and its overhead
        names = [name for name in names if name in OVERHEAD_NAMES or name == "expert_mbu"]
    if not points:  # a full batch's step hides the overhead
        names = [name for name in names if name not in OVERHEAD_NAMES]
    return [name for name in names if name != "step_overhead_per_rank_ms" or len(sizes) > 1]


def why_not_fitted(
    name: str,
    runs: Sequence[PublishedRun],
    streams: Sequence[PublishedStreams] = (),
    latencies: Sequence[PublishedLatency] = (),
    rates: Sequence[PublishedRate] = (),
) -> str:
    """Why :func:`fitted_names` leaves efficiency ``name`` out for these points: said beside the
    prior's value that the catalog keeps for it."""
    points = [*streams, *latencies, *rates]
    if name.startswith("expert"):
        return "no mixture-of-experts model among its runs"
    if name in OVERHEAD_NAMES and not points:
        return "no latency point at a few streams (a full batch's step hides the overhead)"
    if name == "step_overhead_per_rank_ms":
        return "its latency points are all at one tensor-parallel size"
    # what is left out otherwise is the bandwidth and the MFUs, with latency points alone
    return "no maximum-throughput run (at one batch size a step cannot tell the bandwidth from the overhead)"


def fit(
    runs: list[PublishedRun],
    catalog: Catalog,
    start: dict[str, float],
    sweeps: int = 8,
    streams: Sequence[PublishedStreams] = (),
    latencies: Sequence[PublishedLatency] = (),
    rates: Sequence[PublishedRate] = (),
) -> dict[str, float]:
    """Coordinate descent of :func:`loss` over :data:`RANGES` (the efficiencies :func:`fitted_names`
    says the runs inform; the others keep their ``start``): each sweep tries 41 values of each
    efficiency in a window around the current one, halving the window every sweep. ``streams``
    (fixed-concurrency points), ``latencies`` (batch latency runs) and ``rates`` (fixed-rate
    points) add their time per output token to the loss."""
    values = dict(start)
    names = fitted_names(runs, catalog, streams, latencies, rates)
    for sweep in range(sweeps):
        width = 0.5**sweep
        for name, (lo, hi) in RANGES.items():
            if name not in names:
                continue
            span = (hi - lo) * width
            grid = np.clip(np.linspace(values[name] - span, values[name] + span, 41), lo, hi)
            scores = [loss({**values, name: float(v)}, runs, catalog, streams, latencies, rates) for v in grid]
            values[name] = float(grid[int(np.argmin(scores))])
    return values


ALLREDUCE_GRID = np.round(np.arange(0.1, 1.0001, 0.01), 2)  # shares of the link's bandwidth tried


def with_allreduce_efficiency(catalog: Catalog, gpu: str, value: float) -> Catalog:
    """``catalog`` with ``gpu``'s all-reduce efficiency set to ``value`` (for a fit to try)."""
    g = catalog.gpus[gpu]
    share = Sourced(value=value, unit="fraction", source="trial value of a fit", as_of=g.interconnect.bandwidth.as_of)
    link = g.interconnect.model_copy(update={"allreduce_efficiency": share})
    return catalog.model_copy(update={"gpus": {**catalog.gpus, gpu: g.model_copy(update={"interconnect": link})}})


def fit_allreduce_efficiency(runs: Sequence[PublishedRun], catalog: Catalog, gpu: str) -> float:
    """The share of ``gpu``'s link bandwidth that best fits ``runs`` (its multi-GPU calibration runs),
    the engines' efficiencies as they are: the :func:`loss` over :data:`ALLREDUCE_GRID`. A
    tensor-parallel all-reduce over PCIe crosses host bridges and switches the link's own figure
    does not count; only runs at more than one GPU inform it (the others add the same to every try)."""
    mine = [r for r in runs if r.gpu == gpu]
    if not any(r.gpus_per_replica > 1 for r in mine):
        raise ValueError(f"no calibration run of {gpu} at more than one GPU informs its all-reduce")
    scores = [loss({}, mine, with_allreduce_efficiency(catalog, gpu, float(v))) for v in ALLREDUCE_GRID]
    return float(ALLREDUCE_GRID[int(np.argmin(scores))])


def latency_errors(
    runs: list[PublishedLatency], catalog: Catalog, efficiency: Efficiency | None = None
) -> pd.DataFrame:
    """One row per published latency run: ``id``, ``role``, ``engine``, ``gpu``, ``batch``, ``published_s``,
    ``modelled_s``, ``error`` (modelled / published - 1), and the time per output token:
    ``tpot_modelled_ms`` (the decode step) and ``tpot_published_ms`` (the published latency less
    the modelled prefill, over ``output - 1`` steps), ``tpot_error``. Positive errors mean the model
    is slower than published (it understates capacity under a TPOT objective)."""
    rows = []
    for r in runs:
        prefill, step, overhead = published_latency_steps(r, catalog, efficiency)
        modelled = prefill + (r.output_tokens - 1) * step
        published_step = (r.latency_s - prefill) / (r.output_tokens - 1)
        rows.append(
            _point(
                r,
                model=r.model,
                gpus_per_replica=r.gpus_per_replica,
                batch=r.batch,
                published_s=r.latency_s,
                modelled_s=modelled,
                error=modelled / r.latency_s - 1.0,
                tpot_published_ms=published_step * 1e3,
                tpot_modelled_ms=step * 1e3,
                tpot_error=step / published_step - 1.0,
                # the time per step outside the kernels that would make the modelled step the
                # published one: the published step less what the roofline spends in kernels
                implied_overhead_ms=(published_step - step + overhead) * 1e3,
            )
        )
    return pd.DataFrame(rows)


def implied_overhead_by_tp(latency: pd.DataFrame) -> pd.DataFrame:
    """Per engine, GPU, model and tensor-parallel size, the range of the per-step overhead the
    published batch latency runs imply (:func:`latency_errors`' ``implied_overhead_ms``): ``engine``,
    ``gpu``, ``model``, ``gpus_per_replica``, ``runs``, ``low_ms``, ``high_ms``. The engine catalog
    holds one overhead per engine and GPU; dense models of one engine on one GPU at several sizes
    show whether it grows (a mixture of experts also carries the error of its expert reads)."""
    return (
        latency.groupby(["engine", "gpu", "gpus_per_replica", "model"])["implied_overhead_ms"]
        .agg(runs="size", low_ms="min", high_ms="max")
        .reset_index()
    )


def stream_errors(runs: list[PublishedStreams], catalog: Catalog, efficiency: Efficiency | None = None) -> pd.DataFrame:
    """One row per published fixed-concurrency point: ``id``, ``role``, ``engine``, ``gpu``, ``concurrency``,
    ``input_tokens``, ``output_tokens``, and for TTFT, time per output token (against the published
    inter-token latency) and output tokens/s: ``*_published``, ``*_modelled`` and ``*_error``
    (modelled / published - 1). A positive TPOT or TTFT error means the model is slower than
    published; a positive throughput error means it overstates."""
    rows = []
    for r in runs:
        ttft, tpot, throughput = published_stream_latencies(r, catalog, efficiency)
        rows.append(
            _point(
                r,
                concurrency=r.concurrency,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                ttft_published_ms=r.ttft_ms,
                ttft_modelled_ms=ttft * 1e3,
                ttft_error=ttft * 1e3 / r.ttft_ms - 1.0,
                tpot_published_ms=r.itl_ms,
                tpot_modelled_ms=tpot * 1e3,
                tpot_error=tpot * 1e3 / r.itl_ms - 1.0,
                throughput_published=r.output_tokens_per_s,
                throughput_modelled=throughput,
                throughput_error=throughput / r.output_tokens_per_s - 1.0,
            )
        )
    return pd.DataFrame(rows)


def rate_errors(runs: list[PublishedRate], catalog: Catalog, efficiency: Efficiency | None = None) -> pd.DataFrame:
    """One row per published fixed-rate point: ``id``, ``role``, ``engine``, ``gpu``, ``model``,
    ``gpus_per_replica``, ``request_rate``, ``in_flight`` (rate x mean end-to-end latency), and the
    time per output token: ``tpot_published_ms`` (the median inter-token latency),
    ``tpot_modelled_ms`` (a decode step with ``in_flight`` sequences), ``tpot_error`` (positive:
    the model is slower than published)."""
    rows = []
    for r in runs:
        step = published_rate_step(r, catalog, efficiency)
        rows.append(
            _point(
                r,
                model=r.model,
                gpus_per_replica=r.gpus_per_replica,
                request_rate=r.request_rate,
                in_flight=r.in_flight,
                tpot_published_ms=r.median_itl_ms,
                tpot_modelled_ms=step * 1e3,
                tpot_error=step * 1e3 / r.median_itl_ms - 1.0,
            )
        )
    columns = ["id", "role", "engine", "gpu", "model", "gpus_per_replica", "request_rate", "in_flight"]
    return pd.DataFrame(rows, columns=[*columns, "tpot_published_ms", "tpot_modelled_ms", "tpot_error"])


LOW_LOAD_STREAMS = 8  # "at a few streams": where the per-step overhead weighs most


def low_load_tpot(
    latency: pd.DataFrame, streams: pd.DataFrame, role: str = "validation", rates: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The time-per-output-token errors at 1 to :data:`LOW_LOAD_STREAMS` streams of one role, from
    the latency tables (:func:`latency_errors`, :func:`stream_errors` and, where given,
    :func:`rate_errors`, whose streams are the mean in flight): ``id``, ``engine``, ``gpu``,
    ``streams``, ``tpot_error`` (positive: the model is slower than published) and ``calibrated``
    (the pair has latency points in the fit; otherwise it runs on the engine's prior, and its
    errors say how far that prior is from the pair)."""
    columns = ["id", "role", "engine", "gpu", "streams", "tpot_error"]
    parts = [
        latency.rename(columns={"batch": "streams"})[columns],
        streams.rename(columns={"concurrency": "streams"})[columns],
    ]
    if rates is not None and len(rates):
        parts.append(rates.rename(columns={"in_flight": "streams"})[columns])
    both = pd.concat(parts, ignore_index=True)
    fitted = fitted_pairs(both[["engine", "gpu", "role"]].itertuples(index=False, name=None))
    both["calibrated"] = [pair in fitted for pair in both[["engine", "gpu"]].itertuples(index=False, name=None)]
    keep = (both["role"] == role) & (both["streams"] <= LOW_LOAD_STREAMS)
    return both.loc[keep].drop(columns="role").reset_index(drop=True)
