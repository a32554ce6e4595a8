"""A scenario's demand as the costing needs it: request rates by month, the daily shape and
the price trends, shared by every option (point estimate or ``(draws, months)`` tables)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costmodel.core.demand import daily_shape, monthly_requests, price_index
from costmodel.core.tables import month_sums
from costmodel.core.units import SECONDS_PER_MONTH
from costmodel.model.scenario import Scenario

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Demand:
    """Demand arrays shared by every option of a scenario. Rates and bills count the requests
    that reach a model (a response cache's hits do not); ``requests`` counts them all."""

    mean_rps: Array  # requests per second reaching the model, per month
    shape: Array  # 24 hourly weights, mean 1
    input_tokens: float
    output_tokens: float
    api_price_weighted_requests: Array  # requests per month x the API price index: the bill at today's prices
    rent_price_index: Array  # per month: on-demand GPU rental price trend
    requests_first_month: ArrayLike
    monthly_growth: ArrayLike
    model_share: float = 1.0  # share of requests not answered by the response cache

    @property
    def model_requests(self) -> tuple[float, Array]:
        """Requests per month that reach the model, as ``(scale, table)`` for a cost term: the
        rates' table times the seconds of a month, so no table is built for them."""
        return SECONDS_PER_MONTH, self.mean_rps

    @functools.cached_property
    def requests(self) -> Array:
        """Requests per month (only the report needs them: costing runs on rates)."""
        return monthly_requests(self.requests_first_month, self.monthly_growth, self.mean_rps.shape[-1])

    @functools.cached_property
    def summed_rps(self) -> Array:
        """The rates summed over the months, per draw (``(draws, 1)``, or ``(1,)``): a month's
        seconds times it is the requests asked for over the horizon."""
        return month_sums(self.mean_rps, keepdims=True)

    @functools.cached_property
    def peak_rps(self) -> Array:
        return self.mean_rps * float(self.shape.max())

    @property
    def tokens_per_request(self) -> float:
        return self.input_tokens + self.output_tokens

    @property
    def tokens(self) -> Array:
        return self.requests * (self.input_tokens + self.output_tokens)

    def scaled(self, share: float) -> Demand:
        """The demand of ``share`` of the requests (the classes a router sends to one member)."""
        return replace(
            self,
            mean_rps=self.mean_rps * share,
            api_price_weighted_requests=self.api_price_weighted_requests * share,
            requests_first_month=np.multiply(self.requests_first_month, share),
        )


def demand_of(scenario: Scenario) -> Demand:
    """Requests by month, the daily shape and the price trends of ``scenario``."""
    wl, trends, months = scenario.workload, scenario.trends, scenario.horizon_months
    model_share = 1.0 - (wl.response_cache.hit_share if wl.response_cache else 0.0)
    reaching = np.multiply(wl.requests_per_month, model_share)
    mean_rps = monthly_requests(np.divide(reaching, SECONDS_PER_MONTH), wl.monthly_growth, months)
    # R0 (1 + g)^m (1 - d)^(m / 12): requests and the API price trend in one table
    api_growth = np.expm1(
        np.log1p(np.asarray(wl.monthly_growth, float))
        + np.log1p(-np.asarray(trends.api_price_decline_per_year, float)) / 12.0
    )
    return Demand(
        mean_rps=mean_rps,
        shape=daily_shape(wl.load_shape, wl.peak_to_mean),
        input_tokens=wl.input_tokens_per_request,
        output_tokens=wl.output_tokens_per_request,
        api_price_weighted_requests=monthly_requests(reaching, api_growth, months),
        rent_price_index=price_index(trends.gpu_rent_decline_per_year, months),
        requests_first_month=wl.requests_per_month,
        monthly_growth=wl.monthly_growth,
        model_share=model_share,
    )
