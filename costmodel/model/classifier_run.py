"""The classifier-run format (``data/classifier/<run-id>/``), read and written through these models
by ``tco classify`` and the cost model (a router's ``classifier.classifier_run``).

A run folder holds:

* ``classifier.json``: :class:`ClassifierRunInfo` (what was measured, on which labelled set, the
  classes, the fallback class for answers that name none, status);
* ``items.jsonl``: one :class:`~costmodel.model.quality.ItemRecord` per labelled item, flushed as
  it ends: ``item_class`` is the true class, ``answer`` the classifier's reply;
* for an endpoint, the quality run's ``manifest.json`` and ``summary.csv`` as well (``tco classify``
  scores through ``tco quality``'s client).

``FORMAT`` names the version; readers refuse any other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from costmodel.model.base import Strict
from costmodel.model.probe_run import RunStatus

FORMAT = "llm-tco-classifier/1"
INFO = "classifier.json"


class LabelledItem(Strict):
    """One line of a labelled set: a request and the class it belongs to."""

    id: str = Field(min_length=1, max_length=200, description="Item id, unique in the set.")
    prompt: str = Field(min_length=1, max_length=200_000, description="The request as a user would send it.")
    item_class: str = Field(alias="class", min_length=1, max_length=200, description="Its true request class.")

    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)


class ClassifierRunInfo(Strict):
    """``classifier.json`` of a classifier run."""

    format: Literal["llm-tco-classifier/1"] = Field(description="File format version; readers check it.")
    run_id: str = Field(min_length=1, description="Unique run id.")
    status: RunStatus = Field(description="running, complete, interrupted, budget-stopped, failed or recovered.")
    started: datetime = Field(description="Start time (UTC).")
    ended: datetime | None = Field(default=None, description="End time; None while running.")
    kind: Literal["endpoint", "command"] = Field(description="What classified: an endpoint or a local command.")
    classifier: str = Field(min_length=1, description="The endpoint (URL without secrets, model) or the command.")
    labelled_set: str = Field(description="The labelled set's file name.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The labelled set's sha256.")
    items: int = Field(ge=0, description="Items in the set (after --limit).")
    classes: list[str] = Field(min_length=2, description="The request classes, in the set's order.")
    fallback: str = Field(description="Class an answer naming no class counts as (the router's default route).")
    instructions: str | None = Field(default=None, description="Instructions sent before each request (endpoint).")
    versions: dict[str, str] = Field(description="Python and package versions.")

    @model_validator(mode="after")
    def _fallback_is_a_class(self) -> ClassifierRunInfo:
        if self.fallback not in self.classes:
            raise ValueError(f"fallback {self.fallback!r} is not one of the classes ({', '.join(self.classes)})")
        return self
