"""costmodel: build vs buy for LLM inference, as typed, vectorized, tested Python.

Typical use::

    from costmodel import load, evaluate
    scenario, catalog = load("data/scenarios/fintech-rag.yaml")
    result = evaluate(scenario, catalog)
    result.summary()
"""

from costmodel.engine import EngineError, Evaluation, evaluate
from costmodel.loaders import InputError, load

__all__ = ["load", "evaluate", "Evaluation", "InputError", "EngineError"]
