"""What rented GPUs cost. USD; positive = paid."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costmodel.core.units import HOURS_PER_MONTH

__all__ = ["rented_monthly_cost"]


def rented_monthly_cost(gpus: ArrayLike, usd_per_gpu_hour: ArrayLike) -> NDArray[np.float64]:
    """Monthly rent of a GPU fleet, USD: ``gpus x price x 730.5 hours``.

    Examples
    --------
    >>> float(rented_monthly_cost(2, 2.0))
    2922.0
    >>> rented_monthly_cost([[1.0], [2.0]], [1.0, 2.0]).tolist()
    [[730.5, 1461.0], [1461.0, 2922.0]]
    """
    return np.asarray(gpus, float) * (np.asarray(usd_per_gpu_hour, float) * HOURS_PER_MONTH)
