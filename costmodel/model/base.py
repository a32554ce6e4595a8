"""The base of every on-disk model: strict, frozen, and numbers with their provenance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Basis = Literal["published", "measured", "derived", "assumption"]
Commitment = Literal["on-demand", "1-year", "3-year"]


class Strict(BaseModel):
    """Base for everything read from disk: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(Strict):
    """A number with its provenance."""

    value: Decimal = Field(ge=0, description="The number, in `unit`. Never negative.")
    unit: str = Field(min_length=1, description="Unit of `value`, e.g. GB, TB/s, USD/GPU-hour.")
    source: str = Field(min_length=3, description="Where the number comes from: document, URL or measurement.")
    as_of: date = Field(description="Date the number was published, measured or recorded.")
    basis: Basis = Field(
        default="published",
        description="published (vendor or provider figure), measured, derived (computed from "
        "published figures) or assumption (no published figure; replace with your own).",
    )

    def __float__(self) -> float:
        return float(self.value)


def _unit(expected: str):
    """Validator: the Sourced value must be given in exactly ``expected`` units."""

    def check(v: Sourced) -> Sourced:
        if v.unit != expected:
            raise ValueError(f"unit must be {expected!r}, got {v.unit!r}")
        return v

    return AfterValidator(check)


def _in_unit(expected: str) -> type[Sourced]:
    return Annotated[Sourced, _unit(expected)]  # type: ignore[return-value]


GB = _in_unit("GB")
TBps = _in_unit("TB/s")
TFLOPS = _in_unit("TFLOPS")
Watts = _in_unit("W")
UsdPerGpu = _in_unit("USD/GPU")
UsdPerGpuHour = _in_unit("USD/GPU-hour")
UsdPerMTok = _in_unit("USD/1M tokens")
Count = _in_unit("count")
GBps = _in_unit("GB/s")
Microseconds = _in_unit("us")
Milliseconds = _in_unit("ms")
Sequences = _in_unit("sequences")
Tokens = _in_unit("tokens")
Parameters = _in_unit("parameters")
BytesPerWeight = _in_unit("bytes/weight")
Fraction = _in_unit("fraction")
