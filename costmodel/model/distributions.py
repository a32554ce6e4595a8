"""Probability distributions for uncertain scenario inputs (the ``uncertainty:`` section).

Each distribution is a validated model that draws seeded samples and states the low and
high values a tornado chart moves its input between. Normal and lognormal inputs may be
bounded: draws outside ``[low, high]`` are redrawn (a truncated distribution), so a price
never goes negative because a tail says so.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from costmodel.model.base import Strict

Z90 = 1.2815515655446004  # standard normal 90th percentile: P10/P90 of an unbounded input
REDRAWS = 50  # rounds of redrawing out-of-bounds values before clipping the (vanishing) rest


class _Distribution(Strict):
    source: str = Field(min_length=3, description="Where the range comes from; say 'assumption: ...' if nowhere.")

    def sample(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:  # pragma: no cover - abstract
        raise NotImplementedError

    def low_high(self) -> tuple[float, float]:  # pragma: no cover - abstract
        """The values a tornado chart moves the input between."""
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        return self.low_high()


class Uniform(_Distribution):
    """Every value between ``low`` and ``high`` equally likely."""

    dist: Literal["uniform"] = Field(description="Distribution family.")
    low: float = Field(description="Smallest value.")
    high: float = Field(description="Largest value.")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        return rng.uniform(self.low, self.high, n) if self.high > self.low else np.full(n, self.low)

    def low_high(self) -> tuple[float, float]:
        return self.low, self.high


class Triangular(_Distribution):
    """Most likely at ``mode``, never below ``low`` or above ``high`` (a three-point estimate)."""

    dist: Literal["triangular"] = Field(description="Distribution family.")
    low: float = Field(description="Smallest value.")
    mode: float = Field(description="Most likely value.")
    high: float = Field(description="Largest value.")

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"need low <= mode <= high; got {self.low:g}, {self.mode:g}, {self.high:g}")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        if self.high == self.low:
            return np.full(n, self.low)
        return rng.triangular(self.low, self.mode, self.high, n)

    def low_high(self) -> tuple[float, float]:
        return self.low, self.high


class _Bounded(_Distribution):
    low: float | None = Field(default=None, description="Lower bound: draws below it are redrawn.")
    high: float | None = Field(default=None, description="Upper bound: draws above it are redrawn.")

    def _unbounded(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:  # pragma: no cover
        raise NotImplementedError

    def _p10_p90(self) -> tuple[float, float]:  # pragma: no cover
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        x = self._unbounded(rng, n)
        lo, hi = self.support()
        for _ in range(REDRAWS):
            out = np.flatnonzero((x < lo) | (x > hi))
            if out.size == 0:
                break
            x[out] = self._unbounded(rng, out.size)
        return np.clip(x, lo, hi)

    def support(self) -> tuple[float, float]:
        return (-np.inf if self.low is None else self.low, np.inf if self.high is None else self.high)

    def low_high(self) -> tuple[float, float]:
        p10, p90 = self._p10_p90()
        return (p10 if self.low is None else self.low, p90 if self.high is None else self.high)

    def _check_bounds(self, centre: float, name: str) -> None:
        lo, hi = self.support()
        if not lo <= centre <= hi:
            raise ValueError(f"{name} {centre:g} lies outside the bounds [{lo:g}, {hi:g}]")


class Normal(_Bounded):
    """Bell curve around ``mean``; give ``low``/``high`` to truncate it. Tornado: bounds, else P10/P90."""

    dist: Literal["normal"] = Field(description="Distribution family.")
    mean: float = Field(description="Mean (before truncation).")
    sd: float = Field(ge=0, description="Standard deviation (before truncation).")

    @model_validator(mode="after")
    def _inside(self) -> Normal:
        self._check_bounds(self.mean, "mean")
        return self

    def _unbounded(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        return self.mean + self.sd * rng.standard_normal(n)

    def _p10_p90(self) -> tuple[float, float]:
        return self.mean - Z90 * self.sd, self.mean + Z90 * self.sd


class Lognormal(_Bounded):
    """Right-skewed and positive: ``median x exp(sigma x Z)``; for prices and volumes that can surprise upward."""

    dist: Literal["lognormal"] = Field(description="Distribution family.")
    median: float = Field(gt=0, description="Median (before truncation).")
    sigma: float = Field(ge=0, description="Standard deviation of the natural log.")

    @model_validator(mode="after")
    def _inside(self) -> Lognormal:
        self._check_bounds(self.median, "median")
        return self

    def _unbounded(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        return self.median * np.exp(self.sigma * rng.standard_normal(n))

    def _p10_p90(self) -> tuple[float, float]:
        return self.median * np.exp(-Z90 * self.sigma), self.median * np.exp(Z90 * self.sigma)


Distribution = Annotated[Uniform | Triangular | Normal | Lognormal, Field(discriminator="dist")]
