"""Quality feeds the decision: measured per-class accuracy from a quality run, the interval's lower
bound, quality belonging to what serves (not to an option's name), and an API's latency measured
by a probe of it."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from costmodel.engine import evaluate
from costmodel.engine.eligibility import class_scores, quality_status
from costmodel.io.files import InputError
from costmodel.io.scenario import load_scenario
from costmodel.model.quality import wilson_interval
from tests.conftest import BASE, EXAMPLE_RUN, price, rented, scenario, with_prices, write_quality_run

CLASSES = [{"name": "easy", "share": 0.7, "min_quality": 0.8}, {"name": "hard", "share": 0.3, "min_quality": 0.7}]


def scenario_file(tmp_path, **changes) -> str:
    data = {**BASE, **changes}
    data["workload"] = {**BASE["workload"], "request_classes": CLASSES, **changes.get("workload", {})}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_quality_run_becomes_measured_per_class_accuracy(tmp_path, base_catalog):
    run = write_quality_run(tmp_path / "run-1", {"easy": (90, 100), "hard": (60, 100)})
    path = scenario_file(
        tmp_path, options=[{"name": "api", "kind": "api", "provider": "test", "model": "m", "quality_run": str(run)}]
    )
    sc = load_scenario(path)
    scores = class_scores(sc.option("api"), sc)
    assert scores["easy"].accuracy == 0.9 and scores["easy"].basis == "measured"
    assert (scores["hard"].ci_low, 0.6) == (pytest.approx(wilson_interval(60, 100)[0]), scores["hard"].accuracy)
    assert "quality run run-1" in scores["easy"].source
    ev = evaluate(sc, with_prices(base_catalog, price(1, 1)))
    q = ev.option("api").quality
    assert q.met is False and q.basis == "measured" and q.note == "hard 60% < 70% (measured)"


def test_the_lower_bound_can_be_required(tmp_path):
    """88/100 easy: accuracy 88 % clears 80 %, its interval's low end (80.2 %) just does; 84/100 does
    not (75.6 %)."""
    for correct, point_met, lower_met in ((88, True, True), (84, True, False)):
        run = write_quality_run(tmp_path / f"run-{correct}", {"easy": (correct, 100), "hard": (95, 100)})
        option = {"name": "api", "kind": "api", "provider": "test", "model": "m", "quality_run": str(run)}
        for bound, met in (("point", point_met), ("lower", lower_met)):
            sc = load_scenario(scenario_file(tmp_path, options=[option], workload={"quality_bound": bound}))
            status = quality_status(sc.option("api"), sc)
            assert status.met is met, (correct, bound, status.note)
            if bound == "lower":
                assert "95 % interval's low end" in status.note


def test_quality_belongs_to_what_serves(base_catalog):
    """Stated once for Llama-3.1-8B in bf16 (on serving), it applies to every option serving it;
    stated differently on two options serving the same thing, it is an error naming both."""
    quality = {"quality": {"easy": 0.9, "hard": 0.5}, "quality_source": "assumption: test"}
    serving = {**BASE["serving"], **quality}
    sc = scenario(
        serving=serving, options=[rented(), rented(name="rent-2", gpu="l40s")], workload={"request_classes": CLASSES}
    )
    for name in ("rent", "rent-2"):
        assert class_scores(sc.option(name), sc)["hard"].accuracy == 0.5
    other = {"quality": 0.95, "quality_source": "assumption: other"}
    with pytest.raises(
        ValidationError,
        match=r"options\[rent-2\] and serving state different quality for "
        r"llama-3.1-8b \(bf16\)",
    ):
        scenario(serving=serving, options=[rented(), rented(name="rent-2", **other)])
    # another weight format is another thing served: its own quality
    sc = scenario(
        serving=serving,
        options=[rented(), rented(name="rent-fp8", quantization="fp8", **other)],
        workload={"request_classes": CLASSES},
    )
    assert class_scores(sc.option("rent-fp8"), sc)["hard"].accuracy == 0.95


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        ({"quality": 0.9}, "quality needs quality_source"),
        ({"quality": {"medium": 0.9}, "quality_source": "test"}, "no request class 'medium'"),
        ({"quality": 0.9, "quality_source": "test", "quality_run": "x"}, "give one of quality, quality_run"),
        ({"ttft_p95_ms": 200, "tpot_p95_ms": 20}, "need latency_source"),
    ],
)
def test_quality_and_latency_statements_need_sources(option, needle):
    with pytest.raises(ValidationError, match=needle):
        scenario(
            options=[{"name": "api", "kind": "api", "provider": "test", "model": "m", **option}],
            workload={"request_classes": CLASSES},
        )


def test_bad_quality_run_is_a_clear_input_error(tmp_path):
    path = scenario_file(
        tmp_path,
        options=[
            {"name": "api", "kind": "api", "provider": "test", "model": "m", "quality_run": str(tmp_path / "nope")}
        ],
    )
    with pytest.raises(InputError) as e:
        load_scenario(path)
    assert e.value.field == "options[api].quality_run" and "missing" in e.value.message


def test_a_quality_run_of_another_model_is_an_error(tmp_path):
    run = write_quality_run(tmp_path / "run-x", {"easy": (9, 10), "hard": (9, 10)}, model="other-model")
    path = scenario_file(
        tmp_path, options=[{"name": "api", "kind": "api", "provider": "test", "model": "m", "quality_run": str(run)}]
    )
    with pytest.raises(InputError, match="measured 'other-model', but the option serves 'm'"):
        load_scenario(path)


@pytest.mark.parametrize(("slo_ttft", "met"), [(1000, True), (1, False)])
def test_an_api_probe_run_gives_its_latency(tmp_path, base_catalog, slo_ttft, met):
    """The example run (model tiny-llama) as a probe of an API serving tiny-llama: its heaviest valid
    level's p95 TTFT and TPOT, so the SLO is met or missed, not unverified."""
    import pandas as pd

    option = {"name": "api", "kind": "api", "provider": "test", "model": "tiny-llama", "probe_run": str(EXAMPLE_RUN)}
    path = scenario_file(tmp_path, options=[option], workload={"slo": {"ttft_p95_ms": slo_ttft, "tpot_p95_ms": 50}})
    sc = load_scenario(path)
    o = sc.option("api")
    summary = pd.read_csv(EXAMPLE_RUN / "summary.csv")
    heaviest = summary[summary["valid"]].sort_values("concurrency").iloc[-1]
    assert o.ttft_p95_ms == pytest.approx(heaviest["ttft_p95_ms"]) and o.latency_measured
    assert f"level {heaviest['level']}" in o.latency_source
    cat = base_catalog.model_copy(
        update={"api_prices": {("test", "tiny-llama"): price(1, 1).model_copy(update={"model": "tiny-llama"})}}
    )
    slo = evaluate(sc, cat).option("api").slo
    assert slo.met is met and slo.basis == "measured"


def test_an_api_probe_run_of_another_model_is_an_error(tmp_path):
    option = {"name": "api", "kind": "api", "provider": "test", "model": "gpt-x", "probe_run": str(EXAMPLE_RUN)}
    with pytest.raises(InputError, match="the probe run measured 'tiny-llama', but the option serves 'gpt-x'"):
        load_scenario(scenario_file(tmp_path, options=[option]))
