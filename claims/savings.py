"""Claim 4: local open-weight models with RAG cut API costs by up to 80 %.

Its text, the figures it claims and the catalog ids it is tested on: ``claims.yaml``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.base import CANNOT_TELL, DOES_NOT_HOLD, Claim, Curve, Finding, text
from claims.common import (
    assumption_rows,
    first_crossing,
    self_hosted,
    verdict_at,
)
from costmodel.assumptions import register
from costmodel.engine import Evaluation
from costmodel.engine.analyses import steady_cost_functions
from costmodel.engine.costing import prepare
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import ApiOption, Scenario
from costmodel.text import count, percent, usd

TARGET = text("savings").targets["saving"]  # 80 %
VOLUMES = np.geomspace(1e4, 1e10, 61)


def claim_savings(sc: Scenario, catalog: Catalog, ev: Evaluation) -> Claim:
    """Claim 4: local open-weight models with RAG cut API costs by up to 80 %. Computed: the
    steady-state monthly cost of the cheapest self-hosted option against the API it would
    replace (the cheapest meeting the quality requirement) across monthly volumes."""
    hosted = self_hosted(sc, ev)
    apis = [o.name for o in sc.options if isinstance(o, ApiOption)]
    if not hosted or not apis:
        f = Finding(
            "80 % savings", CANNOT_TELL, "a self-hosted and an API option", ("One side is missing.",), settle="add them"
        )
        return Claim.of("savings", (f,), assumption_rows())
    ok = [a for a in apis if ev.option(a).quality.met is not False] or apis
    v_here = sc.workload.requests_per_month
    # steady monthly cost per option, in the evaluation's layouts: costed once, then read at any volume
    steady = steady_cost_functions(sc, prepare(sc, catalog, chosen=ev.chosen_layouts(), routes={}))

    def cheapest(names: list[str], v) -> np.ndarray:  # USD a month at each volume of ``v``
        return np.min([steady[name](v) for name in names], axis=0)

    def saving(v: float) -> float:
        return float(1.0 - cheapest(hosted, v) / cheapest(ok, v))

    volumes = VOLUMES
    savings = 1.0 - cheapest(hosted, volumes) / cheapest(ok, volumes)
    here = saving(v_here)
    best_i = int(np.argmax(savings))
    n = {"savings": here, "best_savings": float(savings[best_i]), "best_volume": float(volumes[best_i])}
    which_api = ", ".join(ok)
    computed = [
        f"At {count(v_here)} requests/month: self-hosting (cheapest of {', '.join(hosted)}) costs "
        f"{usd(float(cheapest(hosted, v_here)))}/month against {usd(float(cheapest(ok, v_here)))} for {which_api}: "
        + (f"{percent(here)} less." if here >= 0 else f"{percent(-here)} more.")
    ]
    misses = [h for h in hosted if ev.option(h).quality.met is False]
    if misses:
        computed.append(
            f"{', '.join(misses)} miss{'es' * (len(misses) == 1)} the quality requirement, so the saving buys a "
            "weaker answer on some classes (claim 5)."
        )
    above = np.flatnonzero(savings >= TARGET.value)
    if above.size == 0:
        kind = DOES_NOT_HOLD
        cond = f"at most {percent(n['best_savings'])} (at {count(n['best_volume'])} requests/month)"
    else:
        i = int(above[0])
        v80 = (
            float(volumes[i])
            if i == 0
            else first_crossing(saving, TARGET.value, float(volumes[i - 1]), float(volumes[i]))
        )
        n["volume_80"] = v80
        kind, cond = verdict_at(
            here >= TARGET.value,
            f"from {count(v80)} requests/month",
            f"volume reaches {count(v80)} requests/month",
            f"this scenario's {count(v_here)}: {_saving_words(here)}",
        )
    f = Finding("savings of 80 %", kind, cond, tuple(computed), n)
    curve = Curve(
        pd.DataFrame({"x": volumes, "y": savings, "series": f"cheapest self-hosted vs {which_api}"}),
        "requests per month",
        "saving against the API",
        TARGET.value,
        TARGET.label,
        scenario_x=v_here,
        y_percent=True,
    )
    # the saving rests on every cost input of both sides: the whole assumptions register
    return Claim.of("savings", (f,), assumption_rows(*register(ev, catalog).to_dict("records")), curve)


def _saving_words(x: float) -> str:
    return f"{percent(x)} saved" if x >= 0 else f"{percent(-x)} more than the API"
