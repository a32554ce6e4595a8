"""Claim 7: Qwen2.5 and Mistral Small change the economics; GPT-4o leads on nuanced writing.

Its text, the figures it claims and the catalog ids it is tested on: ``claims.yaml``."""

from __future__ import annotations

from typing import Any

import numpy as np

from claims.base import CANNOT_TELL, DOES_NOT_HOLD, Claim, Finding, text
from claims.common import (
    assumption_rows,
    request_load,
    verdict_at,
    workload_rows,
)
from costmodel.assumptions import sourced_row
from costmodel.core.units import HOURS_PER_MONTH
from costmodel.engine import Evaluation
from costmodel.engine.api import usd_per_request
from costmodel.engine.capacity import make_stack, study_of_stack
from costmodel.model.catalog import ApiPrice, Catalog
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, Scenario
from costmodel.text import count, percent, usd, usd_rate

TEXT = text("open_models")
OPEN_MODELS: list[str] = list(TEXT.catalog["models"])
OPEN_GPUS: list[str] = list(TEXT.catalog["gpus"])
FORMATS: list[str] = list(TEXT.catalog["formats"])
ENGINE = str(TEXT.catalog["engine"])
API_PROVIDER, API_MODEL = str(TEXT.catalog["api_provider"]), str(TEXT.catalog["api_model"])


def cheapest_open_serving(sc: Scenario, catalog: Catalog, model: str) -> dict[str, Any] | None:
    """The cheapest way to rent a replica of ``model`` (GPU, weight format, layout) within the
    scenario's SLO: USD per request at full SLO capacity and the replica's hourly cost."""
    wl = sc.workload
    load = request_load(sc)
    best: dict[str, Any] | None = None
    for gpu in OPEN_GPUS:
        rent = catalog.gpus[gpu].rental_price(None, "on-demand") if gpu in catalog.gpus else None
        if rent is None:
            continue
        for quant in FORMATS:
            q = catalog.quantizations[quant]
            if quant == "fp8" and catalog.gpus[gpu].fp8_tflops is None:
                continue
            if ENGINE not in q.engines:
                continue
            stack = make_stack(
                catalog, model, quant, gpu, ENGINE, efficiency=sc.serving.efficiency if sc.serving else None
            )
            study = study_of_stack(
                stack, load, wl.slo.ttft_p95_ms, wl.slo.tpot_p95_ms, float(rent.price.value), "", catalog
            )
            lay = study.best
            if lay is None or lay.capacity is None:
                continue
            hourly = float(rent.price.value) * lay.gpus_per_replica
            per_request = hourly / 3600.0 / float(lay.capacity.requests_per_s)
            if best is None or per_request < best["usd_per_request"]:
                best = {
                    "model": model,
                    "gpu": gpu,
                    "quantization": quant,
                    "gpus": lay.gpus_per_replica,
                    "usd_per_hour": hourly,
                    "usd_per_request": per_request,
                    "price": rent,
                }
    return best


def _self_hosting_overhead(sc: Scenario) -> tuple[float, float, str | None]:
    """Monthly operations staff and planned peak utilisation of the scenario's first rented (else
    owned) option: what running any open model would add to its GPU-hours."""
    o = next((o for o in sc.options if isinstance(o, RentedOption)), None) or next(
        (o for o in sc.options if isinstance(o, OwnedOption)), None
    )
    if o is None:
        return 0.0, 0.85, None
    return float(o.ops_staff_fte or 0) * float(o.ops_staff_usd_per_year or 0) / 12.0, float(o.max_utilization), o.name


def claim_open_models(sc: Scenario, catalog: Catalog, ev: Evaluation, gpt4o: ApiPrice | None = None) -> Claim:
    """Claim 7: open models such as Qwen2.5 and Mistral Small change the economics, while GPT-4o
    stays ahead on nuanced writing. Computed: the cheapest rented layout of each open model within
    the SLO, its cost per request at the scenario's peak-to-mean load, against GPT-4o's price for
    the same request, and the monthly volume from which one replica pays for itself."""
    writing = Finding(
        "GPT-4o ahead on nuanced writing",
        CANNOT_TELL,
        "a graded writing set: tco quality scores answers by exact, contains, regex or number matching, which "
        "cannot grade nuance",
        ("The bundled suites test grounded answers, reasoning and extraction, not writing.",),
        settle="a rubric-graded writing evaluation (for example inspect-ai with a model grader) on both endpoints",
    )
    rows: list[dict[str, Any]] = workload_rows(
        sc, "requests_per_month", "input_tokens_per_request", "output_tokens_per_request", "peak_to_mean"
    )
    if gpt4o is None:
        econ = Finding(
            "open models change the economics",
            CANNOT_TELL,
            "GPT-4o's price in the catalog",
            ("No GPT-4o price.",),
            settle="add openai/gpt-4o to data/catalog/api_prices.yaml",
        )
        return Claim.of("open_models", (econ, writing), assumption_rows(*rows))
    wl = sc.workload
    api_option = ApiOption(name=API_MODEL, kind="api", provider=API_PROVIDER, model=API_MODEL)
    api_per_request = float(usd_per_request(api_option, gpt4o, wl))
    rows += [sourced_row("openai/gpt-4o: input", gpt4o.input), sourced_row("openai/gpt-4o: output", gpt4o.output)]
    staff, headroom, like = _self_hosting_overhead(sc)
    busy = headroom / float(wl.peak_to_mean or 1.0)  # mean load of a fleet planned for the peak
    found = [b for m in OPEN_MODELS if m in catalog.models and (b := cheapest_open_serving(sc, catalog, m))]
    computed = [
        f"GPT-4o: {usd_rate(api_per_request * 1000, 2)} per 1,000 requests of {count(wl.input_tokens_per_request)} "
        f"tokens in and {count(wl.output_tokens_per_request)} out.",
        f"Self-hosting carries {usd(staff)}/month of operations staff and plans for {percent(headroom)} of peak "
        f"capacity{f', as {like} does' if like else ' (no self-hosted option in the scenario: no staff, 85 %)'}; "
        "costs both sides share (vector database, integration) are left out.",
    ]
    table = []
    for b in found:
        at_load = b["usd_per_request"] / busy
        breakeven = (b["usd_per_hour"] * HOURS_PER_MONTH + staff) / api_per_request
        b |= {"usd_per_request_at_load": at_load, "breakeven_requests": breakeven}
        table.append(b)
        rows.append(sourced_row(f"{b['gpu']}: on-demand price ({b['price'].provider})", b["price"].price))
        computed.append(
            f"{b['model']}: {b['gpus']} x {b['gpu']} {b['quantization']} at {usd_rate(b['usd_per_hour'], 2)}/hour; "
            f"{usd_rate(at_load * 1000, 2)} per 1,000 requests at {percent(busy)} mean load "
            f"({percent(1 - at_load / api_per_request)} below GPT-4o); one replica and the staff pay for "
            f"themselves from {count(breakeven)} requests/month."
        )
    if not table:
        econ = Finding(
            "open models change the economics",
            DOES_NOT_HOLD,
            "no open model meets the SLO on a catalog GPU",
            tuple(computed),
        )
        return Claim.of("open_models", (econ, writing), assumption_rows(*rows))
    computed.append("Accuracy of these models on this workload is not measured here (claim 5).")
    winner = min(
        table, key=lambda b: b["breakeven_requests"] if b["usd_per_request_at_load"] < api_per_request else np.inf
    )
    n = {
        "saving_at_load": 1 - winner["usd_per_request_at_load"] / api_per_request,
        "breakeven_requests": winner["breakeven_requests"],
        "gpt4o_usd_per_request": api_per_request,
        "mean_load": busy,
    }
    v = wl.requests_per_month
    if winner["usd_per_request_at_load"] >= api_per_request:
        econ = Finding(
            "open models change the economics",
            DOES_NOT_HOLD,
            f"even at {percent(busy)} mean load the cheapest, {winner['model']}, costs "
            f"{usd_rate(winner['usd_per_request_at_load'] * 1000, 2)} per 1,000 requests against GPT-4o's "
            f"{usd_rate(api_per_request * 1000, 2)}",
            tuple(computed),
            n,
        )
    else:
        breakeven = f"{count(winner['breakeven_requests'])} requests/month"
        kind, cond = verdict_at(
            v >= winner["breakeven_requests"],
            f"from {breakeven}",
            f"volume reaches {breakeven}",
            f"{winner['model']} on {winner['gpus']} x {winner['gpu']}, {percent(n['saving_at_load'])} below GPT-4o "
            f"per request; this scenario: {count(v)}",
        )
        econ = Finding("open models change the economics", kind, cond, tuple(computed), n)
    return Claim.of("open_models", (econ, writing), assumption_rows(*rows))
