"""The base of every on-disk model: strict, frozen, and numbers with their provenance."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Basis = Literal["published", "measured", "derived", "assumption"]
Commitment = Literal["on-demand", "1-year", "3-year", "spot"]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(text: str) -> str:
    r"""Text a server or a model sent, with control characters written as escapes, so that a record
    can hold it (Strict models refuse control characters); newlines and tabs stay.

    >>> printable("ok\x1b[31m red\n")
    'ok\\x1b[31m red\n'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _has_control(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_CONTROL.search(value))
    if isinstance(value, dict):
        return any(_has_control(k) or _has_control(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_control(v) for v in value)
    return False


def not_in_future(d: date) -> date:
    """A date a figure was published or checked: today at the latest (a typo otherwise)."""
    if d > date.today():
        raise ValueError(f"{d.isoformat()} is in the future; a figure is dated when it was published or checked")
    return d


class Strict(BaseModel):
    """Base for everything read from disk: unknown fields are errors, values are frozen, numbers
    finite (no infinity or NaN), text free of control characters (no terminal escapes)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if _has_control(value) or _has_control(key):
                    raise ValueError(f"{key}: contains control characters (a terminal escape is not text)")
        return data


class Sourced(Strict):
    """A number with its provenance."""

    value: Decimal = Field(ge=0, description="The number, in `unit`. Never negative.")
    unit: str = Field(min_length=1, description="Unit of `value`, e.g. GB, TB/s, USD/GPU-hour.")
    source: str = Field(min_length=3, description="Where the number comes from: document, URL or measurement.")
    as_of: Annotated[date, AfterValidator(not_in_future)] = Field(
        description="Date the number was published, measured or recorded (not after today)."
    )
    basis: Basis = Field(
        default="published",
        description="published (vendor or provider figure), measured, derived (computed from "
        "published figures) or assumption (no published figure; replace with your own).",
    )

    def __float__(self) -> float:
        return float(self.value)


def required(x: Sourced | None, what: str) -> float:
    """An optional catalog number that this use needs (validation makes sure it is there)."""
    if x is None:
        raise ValueError(f"{what} is missing")
    return float(x)


def _unit(expected: str, low: float, high: float, low_open: bool):
    """Validator: the Sourced value is given in exactly ``expected`` units and lies in its physical range."""

    def check(v: Sourced) -> Sourced:
        if v.unit != expected:
            raise ValueError(f"unit must be {expected!r}, got {v.unit!r}")
        x = float(v.value)
        if expected == "count" and x != int(x):
            raise ValueError(f"{x:g} is not a whole number of {expected}")
        if x > high or x < low or (low_open and x == low):
            bound = f"above {low:g}" if low_open else f"at least {low:g}"
            raise ValueError(f"{x:g} {expected} is outside the physical range: {bound} and at most {high:g}")
        return v

    return AfterValidator(check)


# Each unit with the range a real value can take (unit, low, high, low end open): an input
# outside it is a typo, not a scenario.
GB = Annotated[Sourced, _unit("GB", 0, 1e4, False)]
MemoryGB = Annotated[Sourced, _unit("GB", 1, 1e4, False)]  # a device's memory: never zero
TBps = Annotated[Sourced, _unit("TB/s", 0.001, 1e3, False)]
TFLOPS = Annotated[Sourced, _unit("TFLOPS", 0.01, 1e6, False)]
Watts = Annotated[Sourced, _unit("W", 1, 1e5, False)]
UsdPerGpu = Annotated[Sourced, _unit("USD/GPU", 0, 1e7, False)]
UsdPerGpuHour = Annotated[Sourced, _unit("USD/GPU-hour", 0, 1e4, False)]
UsdPerMTok = Annotated[Sourced, _unit("USD/1M tokens", 0, 1e4, False)]
Count = Annotated[Sourced, _unit("count", 1, 1e8, False)]
GBps = Annotated[Sourced, _unit("GB/s", 0.1, 1e5, False)]
Microseconds = Annotated[Sourced, _unit("us", 0, 1e6, False)]
Milliseconds = Annotated[Sourced, _unit("ms", 0, 1e5, False)]
Sequences = Annotated[Sourced, _unit("sequences", 1, 1e7, False)]
Tokens = Annotated[Sourced, _unit("tokens", 1, 1e9, False)]
Parameters = Annotated[Sourced, _unit("parameters", 1e5, 1e15, False)]
BytesPerWeight = Annotated[Sourced, _unit("bytes/weight", 0.05, 8, False)]
Fraction = Annotated[Sourced, _unit("fraction", 0, 1, False)]
PositiveFraction = Annotated[Sourced, _unit("fraction", 0, 1, True)]
