"""Finance kernels: hand-checked values live in their doctests; these are invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from costmodel.core import finance

FAST = settings(max_examples=40, deadline=None)


@FAST
@given(values=hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(-1e6, 1e6)))
def test_npv_at_zero_rate_is_plain_sum(values):
    assert finance.npv(0.0, values) == pytest.approx(values.sum(), abs=1e-6)


@FAST
@given(cumulative=hnp.arrays(np.float64, st.integers(2, 48), elements=st.floats(0, 1e6)))
def test_payback_month_is_a_lasting_crossing(cumulative):
    a = np.cumsum(cumulative)
    b = np.cumsum(cumulative[::-1])
    m = finance.payback_month(a, b)
    if m is not None:
        assert (a[m:] <= b[m:] + 1e-9 * np.maximum(1.0, np.abs(b[m:]))).all()
        if m > 0:
            assert a[m - 1] > b[m - 1]
