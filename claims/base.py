"""What a checked claim is: its text and figures (``claims.yaml``), its findings, verdicts and curve.

Every verdict is one of four kinds, with its conditions as numbers:

* ``holds``: it holds for this scenario, and the condition says how far that reaches;
* ``holds when``: it fails for this scenario, but holds past a threshold the workbench found;
* ``does not hold``: nothing in the range searched makes it hold;
* ``cannot tell without``: it needs a measurement the scenario lacks (a ``tco probe`` or
  ``tco quality`` run, named in :attr:`Finding.settle`), or one the workbench cannot make.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from pydantic import Field

from costmodel.model.base import Strict

HOLDS, HOLDS_WHEN, DOES_NOT_HOLD, CANNOT_TELL = "holds", "holds when", "does not hold", "cannot tell without"
VERDICTS = (HOLDS, HOLDS_WHEN, DOES_NOT_HOLD, CANNOT_TELL)
TEXT_FILE = Path(__file__).with_name("claims.yaml")


class Target(Strict):
    value: float = Field(description="The figure the claim states, in `unit`.")
    unit: str = Field(description="Its unit: fraction, ms, requests/minute ...")
    label: str = Field(description="How a figure labels the claimed line: '80 ms claimed'.")


class ClaimText(Strict):
    """One claim as heard in the debate, what the workbench computes to test it, and on what."""

    number: int = Field(ge=1, description="Position in the report.")
    key: str = Field(pattern=r"^[a-z0-9_]+$", description="Module in claims/ that computes the verdicts.")
    title: str = Field(min_length=5, description="Heading.")
    quote: str = Field(min_length=5, description="The claim, as it is made.")
    method: str = Field(min_length=5, description="What the workbench computes to test it.")
    targets: dict[str, Target] = Field(default_factory=dict, description="The claim's own figures.")
    catalog: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Catalog ids (models, GPUs, formats, engines, APIs) the test uses."
    )


class ClaimsFile(Strict):
    claims: list[ClaimText] = Field(description="The claims, in report order.")


@functools.cache
def texts() -> dict[str, ClaimText]:
    """The claims' texts by key, read once from ``claims.yaml``."""
    data = ClaimsFile.model_validate(yaml.safe_load(TEXT_FILE.read_text(encoding="utf-8")))
    return {c.key: c for c in data.claims}


def text(key: str) -> ClaimText:
    return texts()[key]


@dataclass(frozen=True)
class Finding:
    """One testable part of a claim and its verdict."""

    question: str  # the part of the claim this tests, in a few words
    kind: str  # one of VERDICTS
    condition: str  # the conditions as numbers: "answers of at least 143 tokens"
    computed: tuple[str, ...]  # what the workbench computed, one sentence each
    numbers: dict[str, float] = field(default_factory=dict)  # the condition's figures, for tests
    settle: str | None = None  # the run that would settle a "cannot tell"

    @property
    def verdict(self) -> str:
        """The verdict in one line: kind, then its conditions."""
        joiner = " " if self.kind in (HOLDS_WHEN, CANNOT_TELL) else ": "
        return f"{self.kind}{joiner}{self.condition}" if self.condition else self.kind


@dataclass(frozen=True)
class Curve:
    """What a claim's figure draws: ``y`` against ``x`` per series, a line at ``mark``."""

    data: pd.DataFrame  # columns x, y, series
    x_title: str
    y_title: str
    mark: float  # the claim's figure (10,000 requests/minute, 80 % ...)
    mark_label: str
    log_x: bool = True
    log_y: bool = False
    scenario_x: float | None = None  # where the scenario sits on x
    y_percent: bool = False


@dataclass(frozen=True)
class Claim:
    """One claim, what was computed to test it, its verdicts and what they rest on."""

    number: int
    title: str
    claim: str
    method: str
    findings: tuple[Finding, ...]
    assumptions: pd.DataFrame = field(repr=False)
    curve: Curve | None = None

    @property
    def verdict(self) -> str:
        """Every finding's verdict, in order."""
        return "; ".join(f.verdict for f in self.findings)

    @classmethod
    def of(
        cls, key: str, findings: tuple[Finding, ...], assumptions: pd.DataFrame, curve: Curve | None = None
    ) -> Claim:
        """The claim ``key`` (of ``claims.yaml``) with what was found."""
        t = text(key)
        return cls(t.number, t.title, t.quote, t.method, findings, assumptions, curve)
