"""The debate's claims, checked: one module per claim, each a verdict computed from the engine.

A claim heard in local-versus-cloud debates is tested with what the workbench computes
(capacity and latency from the roofline with queueing, cost from the costing engine, quality
where it is stated or measured, the Monte Carlo spread) at the scenario's workload. What each
claim says, the figures it claims and the catalog entries it is tested on are data
(``claims.yaml``); the kinds of verdict are in :mod:`claims.base`.

Change an input (``--set``) and the verdicts move with it: they are functions of the engine's
results, not text. :func:`check_claims` runs all seven; the faces (``tco claims``, the
notebook ``notebooks/2.01-check-the-claims.ipynb``) only print and draw what it returns.

==================  ===================================================================
module              claim
==================  ===================================================================
quantized_latency   1. a Q4 8B model cut latency by 60 % and beat a 70B cloud model
paged_attention     2. vLLM took p95 response time from 1.2 s to 80 ms
a10g                3. pay-once hardware; one A10G serves 10,000 requests a minute
savings             4. local models with RAG cut API costs by up to 80 %
quality_routing     5. quantized models fail on complex logic; routing balances it
first_token         6. time to first token matters most
open_models         7. Qwen2.5 and Mistral Small change the economics
==================  ===================================================================
"""

from __future__ import annotations

from claims.a10g import claim_a10g
from claims.base import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, HOLDS_WHEN, VERDICTS, Claim, Curve, Finding
from claims.first_token import claim_first_token
from claims.open_models import claim_open_models
from claims.paged_attention import claim_paged_p95
from claims.quality_routing import claim_quality_routing
from claims.quantized_latency import claim_quantized_latency
from claims.savings import claim_savings
from costmodel.engine import Evaluation
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import Scenario

__all__ = [
    "CANNOT_TELL",
    "DOES_NOT_HOLD",
    "HOLDS",
    "HOLDS_WHEN",
    "VERDICTS",
    "Claim",
    "Curve",
    "Finding",
    "check_claims",
]


def check_claims(
    scenario: Scenario, catalog: Catalog, evaluation: Evaluation, gpt4o: ApiPrice | None = None
) -> list[Claim]:
    """The seven claims, checked against one evaluated scenario (with its Monte Carlo, if any)."""
    sc, ev = scenario, evaluation
    return [
        claim_quantized_latency(sc, catalog, ev),
        claim_paged_p95(sc, catalog, ev),
        claim_a10g(sc, catalog, ev),
        claim_savings(sc, catalog, ev),
        claim_quality_routing(sc, catalog, ev),
        claim_first_token(sc, catalog, ev),
        claim_open_models(sc, catalog, ev, gpt4o),
    ]
