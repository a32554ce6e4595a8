"""Probe runs feed the cost model: the measured capacity replaces the roofline."""

from __future__ import annotations

import pandas as pd
import pytest

from costmodel.engine import evaluate
from costmodel.loaders import InputError, build_catalog, load_scenario
from costmodel.probe_data import ProbeDataError, measured_from_probe
from costmodel.scenario import Slo
from tests.conftest import ROOT

EXAMPLE = ROOT / "data" / "probes" / "example-tiny-llama-cpu"
SEED = ROOT / "data" / "scenarios" / "fintech-rag.yaml"


def test_largest_level_meeting_the_slo_is_used():
    summary = pd.read_csv(EXAMPLE / "summary.csv")
    slo = Slo(ttft_p95_ms=60, tpot_p95_ms=10)
    m = measured_from_probe(EXAMPLE, slo)
    passing = summary[(summary.ttft_p95_ms <= 60) & (summary.tpot_p95_ms <= 10) & summary.valid]
    top = passing.loc[passing.concurrency.idxmax()]
    assert m.output_tokens_per_s_per_replica == pytest.approx(top.output_tokens_per_s)
    assert m.ttft_p95_ms == pytest.approx(top.ttft_p95_ms)
    assert top.level in m.source and "tiny-llama" in m.source
    # a stricter SLO picks a lower level with less throughput
    strict = measured_from_probe(EXAMPLE, Slo(ttft_p95_ms=float(summary.ttft_p95_ms.min()) + 0.01,
                                              tpot_p95_ms=10))
    assert strict.output_tokens_per_s_per_replica < m.output_tokens_per_s_per_replica


def test_no_level_meets_the_slo():
    with pytest.raises(ProbeDataError, match="no valid level meets"):
        measured_from_probe(EXAMPLE, Slo(ttft_p95_ms=0.001, tpot_p95_ms=0.001))


def test_scenario_option_points_at_a_probe_run(catalog_files):
    overrides = ["options.own-l40s.probe_run=data/probes/example-tiny-llama-cpu",
                 "workload.slo.ttft_p95_ms=60", "workload.slo.tpot_p95_ms=10"]
    sc = load_scenario(SEED, overrides)
    ev = evaluate(sc, build_catalog(catalog_files, sc, str(SEED)))
    cap = ev.option("own-l40s").capacity
    assert cap.basis == "measured" and "probe run" in cap.source
    expected = measured_from_probe(EXAMPLE, sc.workload.slo).output_tokens_per_s_per_replica
    # requests/s per replica = measured output tokens/s / the scenario's output tokens per request
    assert cap.requests_per_s == pytest.approx(expected / sc.workload.output_tokens_per_request)
    assert ev.option("own-l40s").slo.met is True
    assert ev.option("rent-h100").capacity.basis == "modelled"


def test_bad_probe_run_is_a_clear_input_error():
    with pytest.raises(InputError) as e:
        load_scenario(SEED, ["options.own-l40s.probe_run=data/probes/nope"])
    assert e.value.field == "options[own-l40s].probe_run" and "not a probe run" in e.value.message
