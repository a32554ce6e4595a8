"""Demand over time: requests by month, the daily load shape, price trends, and the share of
requests a fixed-capacity fleet serves when the load varies through the day.

Units: requests per month or per second, dimensionless weights and multipliers.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costmodel.core.tables import at_least

Array = NDArray[np.float64]

__all__ = ["daily_shape", "local_share", "monthly_requests", "price_index"]


def daily_shape(load_shape: tuple[float, ...] | None, peak_to_mean: float | None) -> Array:
    """24 hourly load weights with mean 1.

    A given ``load_shape`` is normalised. With only ``peak_to_mean`` the shape is
    ``(1 + cos(2 pi (h - 14) / 24)) ** k``, peaking at 14:00, with ``k`` chosen so that
    max / mean equals ``peak_to_mean`` (an assumption the report states); neither is flat.

    Examples
    --------
    >>> daily_shape(None, None).tolist() == [1.0] * 24
    True
    >>> round(float(daily_shape(None, 2.0).max()), 6)
    2.0
    >>> daily_shape((0.0,) * 12 + (2.0,) * 12, None)[[0, 23]].tolist()
    [0.0, 2.0]
    """
    return _shape(None if load_shape is None else tuple(load_shape), peak_to_mean).copy()


@functools.lru_cache(maxsize=64)
def _shape(load_shape: tuple[float, ...] | None, peak_to_mean_ratio: float | None) -> Array:
    # cached: a Monte Carlo run asks for the same shape once per chunk
    if load_shape is not None:
        w = np.asarray(load_shape, dtype=float)
        return w / w.mean()
    ratio = peak_to_mean_ratio or 1.0
    if ratio <= 1.0:
        return np.ones(24)
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


def price_index(decline_per_year: ArrayLike, months: int) -> Array:
    """Price multiplier of each month for a yearly decline ``d``: ``(1 - d) ** (m / 12)``.

    Examples
    --------
    >>> price_index(0.5, 13)[[0, 6, 12]].round(4).tolist()
    [1.0, 0.7071, 0.5]
    >>> price_index([[0.0], [0.5]], 13)[:, 12].tolist()
    [1.0, 0.5]
    """
    d = np.asarray(decline_per_year, float)
    return np.exp(np.arange(months, dtype=float) / 12.0 * np.log1p(-d))


@functools.lru_cache(maxsize=64)
def _share_knots(shape: tuple[float, ...]) -> tuple[Array, Array]:
    """The knots of :func:`local_share`'s piecewise-linear share: the sorted hourly weights, and the
    share served at each (the same daily shape is asked for by every option and draw chunk)."""
    weights = np.asarray(shape)
    knots = np.concatenate([[0.0], np.sort(weights)])
    return knots, np.array([np.minimum(weights, k).sum() for k in knots]) / np.sum(weights)


def local_share(mean_requests_per_s: ArrayLike, capacity_requests_per_s: ArrayLike, shape: ArrayLike) -> Array:
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
    knots, served_at_knots = _share_knots(tuple(np.asarray(shape, float).reshape(-1).tolist()))
    mean = np.asarray(mean_requests_per_s, float)
    with np.errstate(over="ignore"):  # no load: x is huge (or inf), so the share is 1, or 0 with no capacity
        x = np.asarray(capacity_requests_per_s, float) / at_least(mean, np.finfo(float).tiny)
    if x.size >= 4096:  # a Monte Carlo table: a fleet planned for its peak covers most months whole
        short = np.flatnonzero(~(x >= knots[-1]))  # below the busiest hour (NaN too): interpolated
        if short.size * 4 < x.size:  # 2.4 ns an entry in np.interp against ~0.5 for this pass
            share = np.ones(x.shape)  # at or past the busiest hour every request is served
            share.flat[short] = np.interp(x.flat[short], knots, served_at_knots)
            return share
    return np.interp(x, knots, served_at_knots)
