"""Evaluate a scenario: cost every option, compare them, recommend one."""

from __future__ import annotations

from dataclasses import replace

from costmodel.engine.analyses import break_evens_and_paybacks
from costmodel.engine.classifier import classifier_need
from costmodel.engine.costing import cost_option, option_result, prepare
from costmodel.engine.recommend import recommend, risks
from costmodel.engine.results import Evaluation
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import RouterOption, Scenario


def evaluate(scenario: Scenario, catalog: Catalog, classifier_needs: bool = True) -> Evaluation:
    """Evaluate every option of ``scenario`` over its horizon.

    ``classifier_needs=False`` skips searching the classifier accuracy each router needs (a few
    dozen re-costings of its routes): for callers that only compare costs and winners many times
    over (sensitivity, diff).

    Raises :class:`~costmodel.engine.errors.EngineError` when a scenario is valid but
    impossible (a model that fits no GPU count, a GPU with no price).
    """
    prepared = prepare(scenario, catalog)
    results = [option_result(o, scenario, prepared, cost_option(o, scenario, prepared)[0]) for o in scenario.options]
    break_evens, paybacks = break_evens_and_paybacks(scenario, prepared, results)
    results = [replace(r, risks=risks(r, scenario, prepared, paybacks, results)) for r in results]
    results = [
        replace(r, classifier=classifier_need(o, scenario, prepared, results))
        if isinstance(o, RouterOption) and classifier_needs
        else r
        for o, r in zip(scenario.options, results, strict=True)
    ]
    recommendation = recommend(scenario, results, break_evens, paybacks)
    needs = [r.classifier for r in results if r.classifier is not None]
    said = [n.sentence for n in needs if n.router == recommendation.option or n.other == n.router]
    if said:  # how good the router's classifier must be: part of why it was (or was not) recommended
        recommendation = replace(recommendation, reasons=(*recommendation.reasons, *said))
    return Evaluation(scenario, tuple(results), break_evens, paybacks, recommendation)
