"""The one root-finder: known crossings, both directions, log scale, and its bracket invariant."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costmodel.core.roots import bracket


@pytest.mark.parametrize(
    ("holds", "x_fail", "x_hold", "log", "root"),
    [
        (lambda v: 1000.0 - 0.002 * v <= 0, 1e3, 1e9, True, 5e5),  # owning vs API break-even
        (lambda x: x * x >= 2.0, 0.0, 10.0, False, math.sqrt(2)),
        (lambda x: x * x <= 2.0, 10.0, 0.0, False, math.sqrt(2)),  # going down
        (lambda t: 60_000 / t < 10_000, 1.0, 1e6, True, 6.0),  # requests/minute falling below a target
    ],
)
def test_known_crossings(holds, x_fail, x_hold, log, root):
    a, b = bracket(holds, x_fail, x_hold, log=log)
    assert not holds(a) and holds(b)
    assert a == pytest.approx(root, rel=1e-8) and b == pytest.approx(root, rel=1e-8)


def test_log_scale_needs_positive_bounds():
    with pytest.raises(ValueError, match="positive"):
        bracket(lambda x: x > 1, 0.0, 10.0, log=True)


def test_steps_bound_the_work():
    calls = []
    bracket(lambda x: calls.append(x) or x > 0.3, 0.0, 1.0, steps=5, rel_tol=0)
    assert len(calls) == 5


@given(
    root=st.floats(1e-3, 1e9),
    lo=st.floats(1e-4, 1.0),
    hi=st.floats(1.0, 1e4),
    log=st.booleans(),
)
def test_the_bracket_always_straddles_the_root(root, lo, hi, log):
    x_fail, x_hold = root * lo * 0.99, root * hi * 1.01
    a, b = bracket(lambda x: x >= root, x_fail, x_hold, log=log)
    assert a < root <= b  # the last point that fails, the first that holds
    assert b - a <= 1e-9 * b * (1 + 1e-6)  # to the tolerance, within the steps
