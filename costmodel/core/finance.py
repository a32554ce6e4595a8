"""Finance functions, vectorized in the style of numpy-financial.

Sign convention (as numpy-financial): money paid out is negative, money received is
positive. The engine keeps its cost tables positive for readability and negates them
when it calls :func:`npv`.

Timing convention: ``values[..., m]`` is the cash of month ``m`` and is discounted by
``m`` months, so month 0 is today (``numpy_financial.npv`` does the same).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costmodel.core.roots import bracket

__all__ = ["break_even", "discount_factors", "monthly_rate", "npv", "payback_month"]


def monthly_rate(annual_rate: ArrayLike) -> NDArray[np.float64]:
    """Monthly rate equivalent to a yearly effective rate.

    ``r_m = (1 + r_a) ** (1 / 12) - 1``, so twelve months of ``r_m`` compound to ``r_a``.

    Parameters
    ----------
    annual_rate : array_like
        Yearly effective rate as a fraction (0.08 for 8 %).

    Returns
    -------
    ndarray
        Monthly rate as a fraction.

    Examples
    --------
    >>> round(float(monthly_rate(0.12)), 6)
    0.009489
    >>> float((1 + monthly_rate(0.12)) ** 12 - 1)
    0.12
    """
    return np.power(1.0 + np.asarray(annual_rate, dtype=float), 1.0 / 12.0) - 1.0


def discount_factors(rate: ArrayLike, periods: int) -> NDArray[np.float64]:
    """Discount factors ``1 / (1 + rate) ** t`` for ``t = 0 .. periods-1``.

    ``rate`` may be an array; the periods are the last axis of the result.

    Examples
    --------
    >>> discount_factors(0.1, 3).round(4).tolist()
    [1.0, 0.9091, 0.8264]
    >>> discount_factors([0.0, 1.0], 2).tolist()
    [[1.0, 1.0], [1.0, 0.5]]
    """
    r = np.asarray(rate, dtype=float)[..., np.newaxis]
    return 1.0 / np.power(1.0 + r, np.arange(periods, dtype=float))


def npv(rate: ArrayLike, values: ArrayLike) -> NDArray[np.float64]:
    """Net present value of a series of cash flows.

    ``NPV = sum_t values[t] / (1 + rate) ** t`` over the last axis, ``t = 0 .. n-1``.
    Units are those of ``values`` (USD here); ``rate`` is per period of ``values``.

    Parameters
    ----------
    rate : array_like
        Discount rate per period; broadcasts against the leading axes of ``values``.
    values : array_like
        Cash flows, periods on the last axis. Outflows negative.

    Examples
    --------
    Pay 100 today and receive 110 in one period at 10 %: worth nothing today.

    >>> float(npv(0.10, [-100, 110]))
    0.0

    The same as ``numpy_financial.npv(0.281, [-100, 39, 59, 55, 20])``:

    >>> round(float(npv(0.281, [-100, 39, 59, 55, 20])), 6)
    -0.008479

    Vectorized over rates:

    >>> npv([0.0, 0.5], [-1.0, 3.0]).tolist()
    [2.0, 1.0]
    """
    v = np.asarray(values, dtype=float)
    factors = discount_factors(rate, v.shape[-1])
    if factors.ndim == 1:  # one rate: a matrix-vector product, fast for many rows of cash flows
        return v @ factors
    return np.sum(v * factors, axis=-1)


def payback_month(cumulative_cost: ArrayLike, cumulative_alternative: ArrayLike) -> int | None:
    """First month from which an investment's cumulative cost stays at or below the alternative's.

    Both arguments are cumulative costs (positive numbers) by month. Returns the 0-based
    month index, or ``None`` if the investment never catches up within the series.

    Examples
    --------
    Buying costs 100 up front then 1 a month; renting costs 30 a month.

    >>> buy = np.cumsum([101, 1, 1, 1, 1, 1])
    >>> rent = np.cumsum([30, 30, 30, 30, 30, 30])
    >>> payback_month(buy, rent)
    3
    >>> payback_month(rent, buy) is None  # renting never catches up with buying
    True
    >>> payback_month([5, 10], [1, 2]) is None
    True
    """
    a = np.asarray(cumulative_cost, dtype=float)
    b = np.asarray(cumulative_alternative, dtype=float)
    ahead = a <= b + 1e-9 * np.maximum(1.0, np.abs(b))
    if not ahead[-1]:
        return None
    behind = np.flatnonzero(~ahead)
    return 0 if behind.size == 0 else int(behind[-1] + 1)


def break_even(
    cost_difference: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    lo: float,
    hi: float,
    *,
    points: int = 2049,
    rel_tol: float = 1e-9,
) -> float | None:
    """Smallest ``x`` in ``[lo, hi]`` where ``cost_difference`` turns from positive to ``<= 0``.

    ``cost_difference(x)`` is typically *cost of building minus cost of buying* at monthly
    volume ``x``: positive while buying is cheaper. It must accept an array. The search
    scans a log-spaced grid of ``points`` values, then bisects the first bracket where the
    sign turns, to a relative width of ``rel_tol``. Returns ``None`` if the difference is
    never ``<= 0`` on the grid, and ``lo`` if it already is at ``lo``.

    Examples
    --------
    Owning costs 1,000 a month flat; the API costs 0.002 per request; they cross at 500,000.

    >>> round(break_even(lambda v: 1000.0 - 0.002 * v, 1e3, 1e9))
    500000
    >>> break_even(lambda v: 1.0 + 0 * v, 1.0, 10.0) is None
    True
    """
    grid = np.geomspace(lo, hi, points)
    diff = np.asarray(cost_difference(grid), dtype=float)
    cheaper = np.flatnonzero(diff <= 0)
    if cheaper.size == 0:
        return None
    first = int(cheaper[0])
    if first == 0:
        return float(lo)
    _, b = bracket(
        lambda x: float(np.asarray(cost_difference(np.array([x])))[0]) <= 0,
        float(grid[first - 1]),
        float(grid[first]),
        rel_tol=rel_tol,
    )
    return b
