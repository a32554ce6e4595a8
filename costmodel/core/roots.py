"""The one root-finder: where a monotone condition starts to hold between two bounds.

Break-even volumes (:func:`costmodel.core.finance.break_even`), the sensitivity's flip points
(:mod:`costmodel.sensitivity`) and the claims' thresholds (``claims``) all ask the same question:
given ``x_fail`` where a condition does not hold and ``x_hold`` where it does, where does it start
to hold? :func:`bracket` bisects that interval (on a log scale for volumes and token counts) and
returns the last point known to fail and the first known to hold; the caller picks its side.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["bracket"]


def bracket(
    holds: Callable[[float], bool],
    x_fail: float,
    x_hold: float,
    *,
    log: bool = False,
    steps: int = 200,
    rel_tol: float = 1e-9,
) -> tuple[float, float]:
    """Bisect between ``x_fail`` (where ``holds`` is false) and ``x_hold`` (where it is true).

    Parameters
    ----------
    holds : callable
        ``holds(x) -> bool``, false at ``x_fail``, true at ``x_hold`` and changing once between
        them (monotone). Neither end is evaluated: the caller vouches for both.
    x_fail, x_hold : float
        The bounds, in either order (``x_fail > x_hold`` finds where a condition stops holding
        going up, e.g. the largest prompt a latency target allows).
    log : bool
        Bisect ``log(x)`` (both bounds positive): a relative precision for quantities that span
        decades, such as monthly volumes.
    steps : int
        At most this many evaluations of ``holds``.
    rel_tol : float
        Stop once the interval is at most ``rel_tol`` times ``|x_hold|`` wide.

    Returns
    -------
    (float, float)
        ``(last x that fails, first x that holds)``, at most ``rel_tol * |x_hold|`` apart unless
        ``steps`` ran out first. Units are those of ``x``.

    Examples
    --------
    Owning costs $1,000 a month flat, the API $0.002 a request: owning is cheaper from 500,000.

    >>> a, b = bracket(lambda v: 1000.0 - 0.002 * v <= 0, 1e3, 1e9, log=True)
    >>> round(b)
    500000
    >>> b - a <= 1e-9 * b
    True

    Going down: the largest x with x**2 <= 2 (it holds below, fails above).

    >>> a, b = bracket(lambda x: x * x <= 2.0, 10.0, 0.0, steps=60)
    >>> round(b, 6), a > b
    (1.414214, True)
    """
    if log and (x_fail <= 0 or x_hold <= 0):
        raise ValueError(f"a log-scale bracket needs positive bounds, got {x_fail} and {x_hold}")
    to = math.log if log else float
    back = math.exp if log else float
    a, b = to(x_fail), to(x_hold)
    for _ in range(steps):
        if abs(back(b) - back(a)) <= rel_tol * abs(back(b)):
            break
        mid = 0.5 * (a + b)
        if holds(back(mid)):
            b = mid
        else:
            a = mid
    return back(a), back(b)
