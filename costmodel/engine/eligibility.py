"""Who may be recommended: an option must not be known to miss the SLO or the quality its
request classes need. SLO statuses come from :mod:`costmodel.engine.api` and
:mod:`costmodel.engine.capacity`; quality is judged here."""

from __future__ import annotations

from costmodel.engine.results import NO_QUALITY_REQUIREMENT, QualityStatus
from costmodel.model.scenario import HybridOption, Option, Scenario
from costmodel.text import percent


def quality_status(option: Option, scenario: Scenario) -> QualityStatus:
    """An option's quality against the workload's request classes (a hybrid: its overflow API's)."""
    if isinstance(option, HybridOption):
        return quality_status(scenario.option(option.overflow), scenario)
    need = [c for c in scenario.workload.request_classes if c.min_quality > 0]
    if not need:
        return NO_QUALITY_REQUIREMENT
    if option.quality is None:
        return QualityStatus(None, "quality unknown: set its quality score from your evaluation")
    short = [c for c in need if option.quality < c.min_quality]
    if short:
        return QualityStatus(
            False,
            f"quality {option.quality:g} is below what "
            + ", ".join(f"{c.name} ({c.min_quality:g}, {percent(c.share)} of requests)" for c in short)
            + " needs",
        )
    return QualityStatus(True, f"quality {option.quality:g} meets every class")
