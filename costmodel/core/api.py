"""What a per-token API bills. USD; positive = paid."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["api_usd_per_request"]


def api_usd_per_request(
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    cached_share: ArrayLike,
    batch_share: ArrayLike,
    usd_per_m_input: ArrayLike,
    usd_per_m_output: ArrayLike,
    usd_per_m_cached: ArrayLike,
    batch_discount: ArrayLike,
) -> NDArray[np.float64]:
    """What a per-token API bills for one request, USD (a month's bill is requests times this).

    ``(in x ((1-c) p_in + c p_cached) + out x p_out) / 1e6 x (1 - b x d)`` with ``c`` the
    cached input share, ``b`` the batch share and ``d`` the batch discount; prices in USD
    per 1M tokens. Every argument broadcasts.

    Examples
    --------
    1,000 in / 100 out at $2.50 / $10 per 1M tokens, no cache: 0.0025 + 0.001 USD.

    >>> float(api_usd_per_request(1000, 100, 0, 0, 2.5, 10, 1.25, 0))
    0.0035

    Half the requests in batch at a 50 % discount: a quarter off.

    >>> float(api_usd_per_request(1000, 100, 0, 0.5, 2.5, 10, 1.25, 0.5))
    0.002625
    """
    c = np.asarray(cached_share, float)
    per_request = (
        np.asarray(input_tokens, float)
        * ((1.0 - c) * np.asarray(usd_per_m_input, float) + c * np.asarray(usd_per_m_cached, float))
        + np.asarray(output_tokens, float) * np.asarray(usd_per_m_output, float)
    ) / 1e6
    return per_request * (1.0 - np.asarray(batch_share, float) * np.asarray(batch_discount, float))
