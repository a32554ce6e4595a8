"""Monthly cost tables: a fleet that is kept, the GPUs it buys, and a cost kept as terms.

Months are the last axis; Monte Carlo draws, when present, the first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = ["CostTerms", "at_least", "bought", "month_sums", "running_max"]


def month_sums(table: ArrayLike, keepdims: bool = False) -> Array:
    """Sum over the months (last axis): ``table @ ones``.

    A matrix-vector product runs at memory speed where ``np.sum(axis=-1)`` pays a per-row
    overhead on a short last axis: 0.03 ms against 0.15 ms on an (8192, 36) table
    (``bench/montecarlo.py``'s chunk). Only the order of the additions differs.

    Examples
    --------
    >>> month_sums([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).tolist()
    [6.0, 15.0]
    >>> month_sums([[1.0, 2.0], [3.0, 4.0]], keepdims=True).tolist()
    [[3.0], [7.0]]
    """
    t = np.asarray(table, float)
    if not t.ndim:  # a scalar: the same every month would need the months; callers pass tables
        raise ValueError("month_sums needs a table with months on the last axis")
    sums = t @ np.ones(t.shape[-1])
    return sums[..., np.newaxis] if keepdims else sums


def at_least(table: ArrayLike, floor: float, out: Array | None = None) -> Array:
    """``max(table, floor)`` element-wise (NaN stays NaN), into ``out`` if given.

    A clip with an infinite ceiling: numpy's ``maximum`` against a scalar is 3x slower on
    (draws, months) tables (0.13 against 0.045 ms on (8192, 36)).

    Examples
    --------
    >>> at_least([-1.0, 0.5, 2.0], 0.0).tolist()
    [0.0, 0.5, 2.0]
    """
    return np.clip(table, floor, np.inf, out=out)


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
        rises[out.shape[-1] - 1 :: out.shape[-1]] = True  # a row's first month follows the previous row's last
        if rises.all():
            return out
    out = out.copy()
    # Month by month over all draws at once: ufunc.accumulate along a short last axis pays a
    # per-row overhead that made it 4x slower on (draws, months) tables (bench/montecarlo.py).
    for m in range(1, out.shape[-1] if out.ndim else 0):
        np.maximum(out[..., m], out[..., m - 1], out=out[..., m])
    return out


def bought(fleet: ArrayLike) -> Array:
    """GPUs added each month to a never-shrinking fleet (the first month buys its whole fleet).

    Subtracts neighbours over the flat, contiguous table and then mends each row's first
    month: on (draws, months) tables that is ~5x faster than ``np.diff`` along the short axis.

    Examples
    --------
    >>> bought(np.array([[1.0, 2, 2, 5], [3, 3, 4, 4]])).tolist()
    [[1.0, 1.0, 0.0, 3.0], [3.0, 0.0, 1.0, 0.0]]
    """
    fleet = np.ascontiguousarray(fleet, dtype=float)
    out = np.empty(fleet.shape)  # C order, so that the flat view below writes into it
    flat, flat_out = fleet.reshape(-1), out.reshape(-1)
    np.subtract(flat[1:], flat[:-1], out=flat_out[1:])
    out[..., 0] = fleet[..., 0]
    return out


@dataclass(frozen=True)
class CostTerms:
    """A monthly cost table kept as a sum of ``factor x table`` terms.

    Factors are scalars or ``(draws, 1)`` columns, tables are by month (months on the last
    axis); a term may carry a third element, a ``(months,)`` vector the table is multiplied by
    month by month (a price that applies from some month on), which :meth:`reduce` folds into
    the weights instead of building a masked table. A Monte Carlo run needs only each draw's sum
    and NPV over the months, both linear in the table, so :meth:`reduce` applies the weights to
    each table once and scales the results, instead of building the ``(draws, months)`` total
    term by term; :meth:`dense` builds the total itself, for the point estimate. Same terms, same cost, either way.

    Examples
    --------
    >>> t = CostTerms(((2.0, np.array([1.0, 1.0, 0.0])), (np.array([[1.0], [3.0]]), np.array([0.0, 1.0, 1.0]))))
    >>> t.dense().tolist()
    [[2.0, 3.0, 1.0], [2.0, 5.0, 3.0]]
    >>> t.reduce(np.ones((3, 1))).tolist()  # the sum over months, per draw
    [[6.0], [10.0]]
    >>> from_second = CostTerms(((2.0, np.array([1.0, 1.0, 1.0]), np.array([0.0, 1.0, 1.0])),))
    >>> from_second.dense().tolist(), from_second.reduce(np.ones((3, 1))).tolist()
    ([0.0, 2.0, 2.0], [4.0])
    """

    terms: tuple[tuple[ArrayLike, ...], ...]  # (factor, table) or (factor, table, month weights)

    def __add__(self, other: CostTerms) -> CostTerms:
        return CostTerms(self.terms + other.terms)

    def dense(self) -> Array:
        """The cost by month: ``sum(factor x table [x month weights])``."""
        parts: list[Array] = [
            np.multiply(np.multiply(t[0], t[1], dtype=float), t[2] if len(t) > 2 else 1.0, dtype=float)
            for t in self.terms
        ]
        return functools.reduce(np.add, parts)

    def reduce(self, weights: Array, seen: dict[int, tuple[Any, Array]] | None = None) -> Array:
        """``dense() @ weights`` (for example the sum and the discounted sum), one pass per table.

        Terms on the same table (a request-priced line and the cache's lookups both ride the
        demand's rates) are applied the weights once. ``seen``, kept by the caller across several
        reductions with the same ``weights``, does the same across them (each option of a Monte
        Carlo chunk); it holds each table it saw, so the tables' ids stay theirs.
        """
        seen = {} if seen is None else seen
        fixed: Array = np.zeros(weights.shape[1:])  # terms the same in every draw: a few numbers
        drawn: Array | None = None  # the rest, one (draws, weights) sum added into in place
        for term in self.terms:
            table = term[1]
            key = id(table) if len(term) == 2 else None
            if key is not None and key in seen:
                weighed = seen[key][1]
            else:
                w = weights * np.asarray(term[2], float)[:, np.newaxis] if len(term) > 2 else weights
                t = np.asarray(table, float)
                if t.ndim > 1:  # one matrix-vector product per weight column, each into its row of
                    # the result: on an (8192, 36) table two take 0.064 ms where one (36, 2) product
                    # takes 0.098 ms, and stacking their results costs another 0.02 ms
                    rows = np.empty((w.shape[1], *t.shape[:-1]))
                    for j in range(w.shape[1]):
                        np.matmul(t, np.ascontiguousarray(w[:, j]), out=rows[j])
                    weighed = np.moveaxis(rows, 0, -1)
                else:
                    weighed = t @ w
                if key is not None:
                    seen[key] = (table, weighed)
            part = np.multiply(term[0], weighed)
            if part.shape == fixed.shape:
                fixed += part
            elif drawn is None:
                drawn = part  # made here: ours to add into
            elif np.broadcast_shapes(drawn.shape, part.shape) == drawn.shape:
                drawn += part
            else:
                drawn = drawn + part
        return fixed if drawn is None else np.add(drawn, fixed, out=drawn)
