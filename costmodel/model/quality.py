"""The quality-run format (``data/quality/<run-id>/``) and golden-set items, read and written
through these models by ``tco quality`` and the cost model.

A run folder holds:

* ``manifest.json``: :class:`QualityManifest` (endpoint without secrets, suites and their
  versions, seed, package versions, status);
* ``summary.csv``: one :class:`ClassSummary` row per suite and request class, and one per class
  over every suite (``suite`` = ``all``);
* ``items.jsonl``: one :class:`ItemRecord` per item, flushed as it ends.

``FORMAT`` names the version; readers refuse any other.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from costmodel.model.base import Strict
from costmodel.model.endpoint import Endpoint
from costmodel.model.probe_run import HostInfo, PlanPrices, RunStatus

FORMAT = "llm-tco-quality/1"
MatchKind = Literal["exact", "contains", "regex", "number", "json", "abstain"]


class QualityItem(Strict):
    """One item to score: a line of a golden set (``--dataset FILE.jsonl``) or of a bundled suite.

    ``exact`` and ``contains`` compare after trimming and case-folding; ``number`` reads the last
    number in the reply and allows ``tolerance`` (absolute); ``regex`` searches the reply; the
    suites also use ``json`` (every field of ``answer``, a JSON object, in a JSON reply) and
    ``abstain`` (the document does not hold the answer: the reply must say so).
    """

    id: str = Field(min_length=1, max_length=200, description="Item id, unique in the set.")
    prompt: str | None = Field(default=None, description="The prompt (give this or messages).")
    messages: list[dict[str, Any]] | None = Field(default=None, description="Chat messages (role, content).")
    answer: str = Field(description="The expected answer (for json: a JSON object; for abstain: ignored).")
    match: MatchKind = Field(default="contains", description="How a reply is judged against the answer.")
    tolerance: float = Field(default=0.0, ge=0, description="number: the absolute tolerance.")
    item_class: str = Field(default="all", alias="class", min_length=1, description="Request class, e.g. easy.")
    suite: str = Field(default="dataset", description="Suite the item comes from.")
    max_tokens: int = Field(default=256, ge=1, le=32768, description="Output tokens allowed for the reply.")

    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)

    @model_validator(mode="after")
    def _one_prompt(self) -> QualityItem:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give prompt or messages (one of them)")
        if self.match == "regex":
            try:
                re.compile(self.answer)
            except re.error as e:
                raise ValueError(f"answer is not a valid regular expression: {e}") from None
        if self.match == "number":
            try:
                float(self.answer)
            except ValueError:
                raise ValueError(f"answer {self.answer!r} is not a number (match: number)") from None
        return self


class ItemRecord(Strict):
    """One scored item, as ``items.jsonl`` holds it."""

    run_id: str = Field(description="Run id.")
    item_id: str = Field(description="Item id.")
    suite: str = Field(description="Suite.")
    item_class: str = Field(description="Request class.")
    expected: str = Field(description="Expected answer.")
    answer: str | None = Field(default=None, description="The reply (first 2,000 characters).")
    correct: bool = Field(default=False, description="The reply matches.")
    hallucinated: bool | None = Field(default=None, description="abstain items: answered where it should not.")
    schema_valid: bool | None = Field(default=None, description="json items: the reply is a JSON object.")
    field_accuracy: float | None = Field(
        default=None, ge=0, le=1, description="json items: share of the expected fields the reply got right."
    )
    input_tokens: int | None = Field(default=None, description="Prompt tokens (server usage).")
    output_tokens: int | None = Field(default=None, description="Output tokens.")
    ttft_ms: float | None = Field(default=None, description="Time to first token.")
    e2e_ms: float | None = Field(default=None, description="Time to the last token.")
    error_kind: str | None = Field(default=None, description="Class of failure (as probes classify them).")
    error: str | None = Field(default=None, description="Failure detail.")


class ClassSummary(Strict):
    """One row of ``summary.csv``: a suite's (or all suites') items of one class."""

    suite: str = Field(description="Suite, or all.")
    item_class: str = Field(description="Request class, or all.")
    n: int = Field(ge=0, description="Items scored (errors included: an error is not a correct answer).")
    correct: int = Field(ge=0, description="Items answered correctly.")
    accuracy: float | None = Field(description="correct / n.")
    ci_low: float | None = Field(description="Lower end of the 95 % Wilson score interval of the accuracy.")
    ci_high: float | None = Field(description="Upper end of the 95 % Wilson interval.")
    errors: int = Field(ge=0, description="Items whose request failed (counted as wrong).")
    hallucination_rate: float | None = Field(
        description="Share of items the document cannot answer that got an answer anyway (grounded-qa)."
    )
    schema_valid_rate: float | None = Field(description="Share of extraction replies that are JSON objects.")
    field_accuracy: float | None = Field(description="Mean share of expected fields right (extraction).")
    input_tokens: int = Field(ge=0, description="Prompt tokens billed.")
    output_tokens: int = Field(ge=0, description="Output tokens billed.")
    cost_usd: float | None = Field(description="What the items cost at the endpoint's price, if known.")

    @field_validator(
        "accuracy",
        "ci_low",
        "ci_high",
        "hallucination_rate",
        "schema_valid_rate",
        "field_accuracy",
        "cost_usd",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        if v == "" or (isinstance(v, float) and math.isnan(v)):
            return None
        return v


SUMMARY_COLUMNS = tuple(ClassSummary.model_fields)


class SuiteInfo(Strict):
    name: str = Field(description="Suite name (a bundled suite, or dataset).")
    version: str = Field(description="Suite version (bundled suites) or the dataset's sha256.")
    items: int = Field(ge=0, description="Items drawn from it.")


class QualityManifest(Strict):
    """``manifest.json`` of a quality run."""

    format: Literal["llm-tco-quality/1"] = Field(description="File format version; readers check it.")
    run_id: str = Field(min_length=1, description="Unique run id.")
    status: RunStatus = Field(
        description="running, complete, interrupted, budget-stopped, failed, or recovered (rebuilt by --finalize "
        "after the process was killed or its disk filled)."
    )
    started: datetime = Field(description="Start time (UTC).")
    ended: datetime | None = Field(default=None, description="End time; None while running.")
    endpoint: Endpoint = Field(description="The endpoint scored (no secret).")
    suites: list[SuiteInfo] = Field(description="Suites or dataset scored.")
    seed: int = Field(ge=0, description="Seed of the suites and of the item order.")
    concurrency: int = Field(ge=1, description="Items in flight at once.")
    prices: PlanPrices = Field(description="Prices for the cost column and the budget guard.")
    max_cost_usd: float | None = Field(default=None, ge=0, description="Budget, if any.")
    spent_usd: float | None = Field(default=None, ge=0, description="What the run cost so far.")
    stopped_by: Literal["SIGINT", "SIGTERM", "budget", "write-error", "internal-error"] | None = Field(
        default=None, description="Why the run stopped early."
    )
    failure: str | None = Field(default=None, description="What went wrong, when an internal error stopped it.")
    versions: dict[str, str] = Field(description="Python and package versions.")
    host: HostInfo = Field(description="The machine that ran it.")


def wilson_interval(correct: int, n: int, z: float = 1.959963984540054) -> tuple[float | None, float | None]:
    """95 % Wilson score interval of a proportion (Wilson, 1927): better behaved than the normal
    approximation near 0 and 1 and for small ``n``.

    ``(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    >>> wilson_interval(0, 0)
    (None, None)
    """
    if n == 0:
        return None, None
    p = correct / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)
