"""How numbers read: the one money formatter, counts, percents, and the SLO wording.

Also the one wording of an unknown catalog id. The engine's recommendation sentences and every
face (CLI, report, workbook labels, dashboard) format through these functions, so a figure reads
the same everywhere.
Pure: no I/O, no third-party imports beyond numpy.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from typing_extensions import TypeIs

__all__ = [
    "MISSING",
    "count",
    "drawn",
    "percent",
    "slo_word",
    "times",
    "unit_value",
    "unknown_id",
    "usd",
    "usd_rate",
    "yes_no",
]

MISSING = "–"
"""What a table shows where there is no value."""


def _blank(x: object) -> TypeIs[None]:
    """No value: None or NaN (for the type checker, what is not blank is a number)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def usd(x: float | None, *, compact: bool = False) -> str:
    """Money in whole US dollars: ``$1,234``, ``-$1,234``; ``compact`` gives ``$1.23M`` from a million.

    Examples
    --------
    >>> usd(1234.5), usd(-1234.4), usd(-0.2), usd(2_500_000, compact=True), usd(None)
    ('$1,234', '-$1,234', '$0', '$2.50M', '–')
    """
    if _blank(x):
        return MISSING
    x = float(x)
    if compact and abs(x) >= 1e6:
        text = f"${abs(x) / 1e6:,.2f}M"
    else:
        text = f"${abs(x):,.0f}"
    return text if text in ("$0", "$0.00M") or x >= 0 else "-" + text


def usd_rate(x: float | None, digits: int = 3) -> str:
    """A unit price with cents and beyond: ``$0.125`` (USD per 1M tokens, per GPU-hour ...).

    Examples
    --------
    >>> usd_rate(0.12549), usd_rate(2.5, 2)
    ('$0.125', '$2.50')
    """
    if _blank(x):
        return MISSING
    text = f"${abs(float(x)):,.{digits}f}"
    return text if float(x) >= 0 or text.strip("$0.,") == "" else "-" + text  # no "-$0.000"


def compact(x: float | None) -> str:
    """A large count in readable units: ``2.5M``, ``840k``, ``1.2B``, ``12`` (volumes on charts).

    Examples
    --------
    >>> compact(2_510_000), compact(840_000), compact(1.2e9), compact(12), compact(None)
    ('2.5M', '840k', '1.2B', '12', '–')
    """
    if _blank(x):
        return MISSING
    v = float(x)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:.2g}{suffix}" if abs(v) < 10 * size else f"{v / size:,.0f}{suffix}"
    return f"{v:,.0f}" if abs(v) >= 1 or v == 0 else f"{v:.2g}"


def spread(p10: float | None, p50: float | None, p90: float | None) -> str:
    """A share's median with its P10-P90 range: ``4.0% (0.0-21.0%)``; a dash when there is none.

    Examples
    --------
    >>> spread(0.0, 0.04, 0.21), spread(None, None, None)
    ('4.0% (0.0-21.0%)', '–')
    """
    if _blank(p50):
        return MISSING
    return f"{percent(p50, 1)} ({percent(p10, 1).rstrip('%')}-{percent(p90, 1)})"


def count(x: float | None, unit: str = "") -> str:
    """A whole number with thousands separators: ``1,234``, ``8 GPUs``.

    Examples
    --------
    >>> count(1234.4), count(8, "GPUs"), count(None)
    ('1,234', '8 GPUs', '–')
    """
    if _blank(x):
        return MISSING
    text = f"{round(float(x)):,}"
    return f"{text} {unit}" if unit else text


def percent(x: float | None, digits: int = 0) -> str:
    """A fraction as a percent: ``0.63`` -> ``63%``.

    Examples
    --------
    >>> percent(0.634), percent(0.6351, 1), percent(None)
    ('63%', '63.5%', '–')
    """
    if _blank(x):
        return MISSING
    return f"{float(x) * 100:,.{digits}f}%"


def latency(ms: float | None) -> str:
    """A latency for reading: milliseconds below a second, seconds from there.

    Examples
    --------
    >>> latency(8.04), latency(80.4), latency(1234), latency(17418), latency(None)
    ('8.0 ms', '80 ms', '1.23 s', '17.4 s', '–')
    """
    if _blank(ms):
        return MISSING
    ms = float(ms)
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:,.0f} ms"
    return f"{ms / 1e3:.2f} s" if ms < 10_000 else f"{ms / 1e3:,.1f} s"


def times(ratio: float) -> str:
    """How many times as much, for ratios a percent would make hard to read: ``2.7 times``.

    Examples
    --------
    >>> times(2.7049), times(12.4)
    ('2.7 times', '12 times')
    """
    return f"{ratio:.1f} times" if ratio < 10 else f"{ratio:,.0f} times"


def slo_word(met: bool | None) -> Literal["met", "missed", "unverified"]:
    """The one wording of an SLO status: met, missed, or unverified (no latency figure).

    Examples
    --------
    >>> [slo_word(v) for v in (True, False, None)]
    ['met', 'missed', 'unverified']
    """
    if met is None:
        return "unverified"
    return "met" if bool(met) else "missed"


def quality_word(met: bool | None, basis: str) -> str:
    """The one wording of a quality status: met, missed or unknown, and on what basis; a dash
    where nothing is required.

    Examples
    --------
    >>> quality_word(True, "measured"), quality_word(False, "stated"), quality_word(None, "unknown")
    ('met (measured)', 'missed (stated)', 'unknown')
    >>> quality_word(True, "none")
    '–'
    """
    if basis == "none":
        return MISSING
    word = {True: "met", False: "missed", None: "unknown"}[met]
    return word if basis == "unknown" else f"{word} ({basis})"


def yes_no(flag: bool | None) -> str:
    """``yes``, ``no``, or a dash where unknown."""
    return MISSING if flag is None else ("yes" if flag else "no")


def drawn(x: ArrayLike, spec: str = "g") -> str:
    """A scalar as ``format(x, spec)``; an array of Monte Carlo draws reads as its range.

    Examples
    --------
    >>> drawn(0.6), drawn([0.5, 0.7])
    ('0.6', '0.5-0.7 (drawn)')
    """
    a = np.asarray(x, float)
    if a.size == 1:
        return format(float(a.reshape(())), spec)
    return f"{format(float(a.min()), spec)}-{format(float(a.max()), spec)} (drawn)"


def unknown_id(value: str, known: Iterable[str], what: str) -> str:
    """``unknown GPU; did you mean 'h100-sxm'?`` (or the known ids when none is close)."""
    known = sorted(known)
    close = difflib.get_close_matches(value, known, n=1)
    return f"unknown {what}; " + (f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}")


def unit_value(value: object, unit: str) -> str:
    """A value read as its unit says: money, shares, counts (the assumptions register's cells).

    Examples
    --------
    >>> unit_value(2.5, "USD/GPU-hour"), unit_value(30000, "USD/GPU"), unit_value(0.04, "fraction/month")
    ('$2.50', '$30,000', '4.0%')
    >>> unit_value(36, "months"), unit_value(1.25, "ratio"), unit_value("text", "-"), unit_value(None, "-")
    ('36', '1.25', 'text', '–')
    """
    if isinstance(value, str):
        return value
    if _blank(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    if unit.startswith("USD/1M") or unit in ("USD/GPU-hour", "USD/kWh", "USD/kW-month"):
        return usd_rate(v, 3 if unit.startswith("USD/1M") else 2)
    if unit.startswith("USD"):
        return usd(v)
    if unit.startswith("fraction"):
        return percent(v, 1)
    if v == int(v):
        return count(v)
    return f"{v:,.4g}"


def capacity_basis_word(basis: str, calibration: str) -> str:
    """``measured``, ``modelled`` (calibrated on published runs of its engine on its GPU) or
    ``uncalibrated`` (modelled without them): how sure a capacity is, in one word.

    >>> capacity_basis_word("modelled", "uncalibrated: no published runs of vLLM on NVIDIA L40S 48GB")
    'uncalibrated'
    """
    return "uncalibrated" if basis == "modelled" and calibration.startswith("uncalibrated") else basis


def provenance(source: str, calibration: str) -> str:
    """Where a capacity comes from and how sure it is: ``source; calibration`` (either may be empty)."""
    return "; ".join(part for part in (source, calibration) if part)


def sourced(what: str, source: str) -> str:
    """A note that says what, then its source in parentheses: ``what`` must hold no `` (`` of its own,
    so that :func:`gist` gives it back."""
    return f"{what} ({source})"


def gist(note: str) -> str:
    """What a :func:`sourced` note says, without its source (a note without one, whole).

    >>> gist(sourced("h100-sxm at $6.88/GPU-hour, aws p5.48xlarge us-east-1 on-demand", "AWS EC2 pricing (us-east-1)"))
    'h100-sxm at $6.88/GPU-hour, aws p5.48xlarge us-east-1 on-demand'
    """
    return note.split(" (", 1)[0]
