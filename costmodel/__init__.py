"""costmodel: build vs buy for LLM inference, as typed, vectorized, tested Python.

Layers, data flowing one way: ``core`` (numpy formulas) -> ``engine`` (costing, analyses,
recommendation) -> ``uncertainty`` and ``sensitivity``; ``model`` holds the on-disk
schemas and ``io`` reads them. Faces (CLI, report, dashboard, figures) live in ``tco``.

Typical use::

    from costmodel import load, evaluate
    scenario, catalog = load("data/scenarios/fintech-rag.yaml")
    result = evaluate(scenario, catalog)
    result.recommendation.sentence
"""

from costmodel.engine import EngineError, Evaluation, evaluate
from costmodel.io.files import InputError
from costmodel.io.scenario import load

__all__ = ["EngineError", "Evaluation", "InputError", "evaluate", "load"]
