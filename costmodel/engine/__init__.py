"""The engine: costing per option kind, analyses and the recommendation, over the pure core.

========================  ===========================================================
module                    answers
========================  ===========================================================
``demand``                requests by month, daily shape, price trends of a scenario
``api``                   what an API option bills per request; its SLO status
``capacity``              what one replica serves (measured or roofline)
``fleet``                 self-hosted fleet size, utilisation, monthly line items
``hybrid``                how a hybrid (local fleet + API overflow) is costed
``router``                how a router is costed; its routes and cost-quality frontier
``costing``               the one costing of every option (point and Monte Carlo)
``analyses``              break-even, payback, cost curves, hybrid fleet sweep
``eligibility``           quality of what serves, against the request classes
``recommend``             why an option was recommended; risk flags
``evaluate``              all of the above for one scenario
========================  ===========================================================
"""

from costmodel.engine.analyses import cost_curves, hybrid_sweep, variant_costs
from costmodel.engine.costing import Prepared, cost_option, prepare
from costmodel.engine.errors import EngineError
from costmodel.engine.evaluate import evaluate
from costmodel.engine.results import Evaluation, OptionResult, Recommendation

__all__ = [
    "EngineError",
    "Evaluation",
    "OptionResult",
    "Prepared",
    "Recommendation",
    "cost_curves",
    "cost_option",
    "evaluate",
    "hybrid_sweep",
    "prepare",
    "variant_costs",
]
