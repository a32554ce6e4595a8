"""Evaluate a scenario: cost every option, compare them, recommend one."""

from __future__ import annotations

from dataclasses import replace

from costmodel.engine.analyses import break_evens_and_paybacks
from costmodel.engine.costing import cost_option, option_result, prepare
from costmodel.engine.recommend import recommend, risks
from costmodel.engine.results import Evaluation
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import Scenario


def evaluate(scenario: Scenario, catalog: Catalog) -> Evaluation:
    """Evaluate every option of ``scenario`` over its horizon.

    Raises :class:`~costmodel.engine.errors.EngineError` when a scenario is valid but
    impossible (a model that fits no GPU count, a GPU with no price).
    """
    prepared = prepare(scenario, catalog)
    results = [option_result(o, scenario, prepared, cost_option(o, scenario, prepared)[0]) for o in scenario.options]
    break_evens, paybacks = break_evens_and_paybacks(scenario, prepared, results)
    results = [replace(r, risks=risks(r, scenario, prepared, paybacks, results)) for r in results]
    return Evaluation(
        scenario, tuple(results), break_evens, paybacks, recommend(scenario, results, break_evens, paybacks)
    )
