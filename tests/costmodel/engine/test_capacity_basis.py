"""How sure a modelled capacity is: the published runs of its engine on its GPU, stated in every
face, and drawn in Monte Carlo (an uncalibrated pair widens the cost range)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from costmodel.calibration import errors, summary
from costmodel.engine.capacity import capacity_basis, make_stack
from costmodel.io.scenario import load
from costmodel.text import percent
from costmodel.uncertainty import capacity_draws, simulate
from tests.conftest import FINTECH, ROOT, tco


def test_a_calibrated_pair_says_on_how_many_runs_and_its_held_out_error(base_catalog):
    basis = capacity_basis(make_stack(base_catalog, "llama-3.1-70b", "fp8", "mi300x", "vllm"), base_catalog)
    runs = [r for r in base_catalog.published_runs if (r.engine, r.gpu) == ("vllm", "mi300x")]
    held = errors([r for r in runs if r.role == "validation"], base_catalog)
    assert basis.calibrated and basis.fitted == sum(r.role == "calibration" for r in runs) == 16
    assert basis.ratios == pytest.approx(tuple(1.0 / (1.0 + held["error"])))
    assert basis.text == (
        f"calibrated on 16 published runs of vLLM on AMD Instinct MI300X; {len(held)} held out: "
        f"median error {percent(summary(held).median_abs, 1)}"
    )


def test_a_pair_without_runs_says_it_is_uncalibrated_and_whose_values_it_uses(base_catalog):
    basis = capacity_basis(make_stack(base_catalog, "llama-3.1-8b", "bf16", "l40s", "vllm"), base_catalog)
    assert not basis.calibrated and basis.ratios == () and basis.median_error is None
    assert basis.text.startswith(
        "uncalibrated: no published runs of vLLM on NVIDIA L40S 48GB; efficiencies: vLLM's prior"
    )
    # the engine's own prior on a GPU with no fit of its own: TensorRT-LLM on an L4
    trt = capacity_basis(make_stack(base_catalog, "llama-3.1-8b", "fp8", "l4", "trt-llm"), base_catalog)
    assert trt.text.startswith("uncalibrated: no published runs of TensorRT-LLM on NVIDIA L4")


def test_a_pair_whose_runs_fitted_its_link_says_what_they_fitted(base_catalog):
    """TensorRT-LLM on the L40S: its calibration runs fitted the GPU's all-reduce efficiency, the
    efficiencies staying the engine's prior; the basis says both, and the held-out error."""
    basis = capacity_basis(make_stack(base_catalog, "llama-3.1-70b", "fp8", "l40s", "trt-llm"), base_catalog)
    assert basis.calibrated and basis.fitted == 6 and len(basis.ratios) == 21
    assert basis.text.startswith(
        "calibrated on 6 published runs of TensorRT-LLM on NVIDIA L40S 48GB (its all-reduce efficiency; "
        "efficiencies: TensorRT-LLM's prior"
    )
    # where the runs fed the efficiencies in use (TensorRT-LLM's prior on the H100), nothing more is said
    h100 = capacity_basis(make_stack(base_catalog, "llama-3.1-70b", "fp8", "h100-sxm", "trt-llm"), base_catalog)
    assert h100.text.startswith("calibrated on 8 published runs of TensorRT-LLM on NVIDIA H100 SXM5 80GB; ")


def test_efficiencies_fitted_on_a_gpu_replace_the_engines_prior_there_only(base_catalog):
    vllm = base_catalog.engines["vllm"]
    assert vllm.efficiency_on("mi300x") != vllm.efficiency
    assert vllm.efficiency_on("h100-sxm") == vllm.efficiency
    fitted = make_stack(base_catalog, "llama-3.1-70b", "fp8", "mi300x", "vllm").replica(8)
    prior = make_stack(base_catalog, "llama-3.1-70b", "fp8", "h100-sxm", "vllm").replica(8)
    assert (fitted.mbu, prior.mbu) == (float(vllm.efficiency_on("mi300x").mbu), float(vllm.efficiency.mbu))


def test_sglang_is_fitted_on_its_h200_runs_and_lends_the_fit_to_the_h100(base_catalog):
    """SGLang on H200: fitted on 4 of DataCrunch's published runs (two model sizes), the other 4 held
    out and drawn from. The H100 (the same Hopper die) runs on that fit and says whose it is."""
    runs = [r for r in base_catalog.published_runs if r.engine == "sglang"]
    held = errors([r for r in runs if r.role == "validation"], base_catalog)
    basis = capacity_basis(make_stack(base_catalog, "llama-3.3-70b", "bf16", "h200-sxm", "sglang"), base_catalog)
    assert basis.calibrated and basis.fitted == sum(r.role == "calibration" for r in runs) == 4
    assert basis.ratios == pytest.approx(tuple(1.0 / (1.0 + held["error"]))) and len(basis.ratios) == 4
    assert basis.text.startswith("calibrated on 4 published runs of SGLang on NVIDIA H200")
    h100 = capacity_basis(make_stack(base_catalog, "llama-3.3-70b", "bf16", "h100-sxm", "sglang"), base_catalog)
    assert not h100.calibrated and "efficiencies: SGLang's fit on h200-sxm, the nearest GPU of its family" in h100.text


def test_an_uncalibrated_pair_with_published_runs_says_it_is_not_fitted_on_them():
    from costmodel.engine.capacity import CapacityBasis

    basis = CapacityBasis("SGLang", "NVIDIA H200", 0, (0.8, 0.7, 0.75), "efficiencies: SGLang's prior")
    assert not basis.calibrated
    assert basis.text == (
        "uncalibrated: SGLang on NVIDIA H200 is not fitted on its 3 published runs (3 held out: median error "
        f"{percent(float(np.median([1 / 0.8 - 1, 1 / 0.7 - 1, 1 / 0.75 - 1])), 1)}); efficiencies: SGLang's prior"
    )


def test_the_step_overhead_grows_with_each_tensor_parallel_rank(base_catalog):
    """A replica of g GPUs spends step_overhead + (g - 1) x step_overhead_per_rank a step outside its
    kernels: by hand from vLLM's prior, a scenario's override of either, and 0 per rank for an
    engine whose latency points are at one size (TensorRT-LLM)."""
    from costmodel.model.scenario import Efficiency

    vllm = base_catalog.engines["vllm"].efficiency
    o, per_rank = float(vllm.step_overhead), float(vllm.step_overhead_per_rank)
    assert per_rank > 0
    for g in (1, 2, 4, 8):
        replica = make_stack(base_catalog, "llama-3.1-70b", "fp8", "h100-sxm", "vllm").replica(g)
        assert float(replica.step_overhead) == pytest.approx((o + (g - 1) * per_rank) / 1e3)
    stated = Efficiency(step_overhead_ms=1.0, step_overhead_per_rank_ms=0.5)
    replica = make_stack(base_catalog, "llama-3.1-70b", "fp8", "h100-sxm", "vllm", efficiency=stated).replica(4)
    assert float(replica.step_overhead) == pytest.approx(2.5e-3)
    # the basis says the overhead is fitted where the rest of the prior is not
    said = capacity_basis(make_stack(base_catalog, "llama-3.1-8b", "fp8", "l40s", "vllm"), base_catalog).text
    assert f"its step overhead ({o:g} ms, {per_rank:g} ms more per extra GPU) fitted by bench/calibrate.py" in said
    trt = base_catalog.engines["trt-llm"].efficiency
    replica = make_stack(base_catalog, "llama-3.1-70b", "fp8", "h100-sxm", "trt-llm").replica(8)
    assert float(trt.step_overhead_per_rank) == 0.0
    assert float(replica.step_overhead) == pytest.approx(float(trt.step_overhead) / 1e3)


def test_every_face_says_how_sure_the_capacity_is(tmp_path):
    done = tco("evaluate", str(FINTECH), "--draws", "0")
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    doc = json.loads(tco("evaluate", str(FINTECH), "--draws", "0", "--json").stdout)
    own = next(o for o in doc["options"] if o["name"] == "own-l40s")
    assert f"{own['capacity']['output_tokens_per_s_per_replica']:,.0f} tok/s x1 (uncalibrated)" in out
    assert "capacity: own-l40s's is uncalibrated: no published runs of vLLM on NVIDIA L40S 48GB" in out
    assert own["capacity"]["calibration"].startswith("uncalibrated: no published runs of vLLM on NVIDIA L40S")
    study = tco("capacity", "llama-3.1-70b", "mi300x", "--quantization", "fp8")
    assert "How sure: calibrated on 16 published runs of vLLM on AMD Instinct MI300X" in " ".join(study.stdout.split())


def test_monte_carlo_draws_an_uncalibrated_capacity_from_the_prior_and_widens_its_range(base_catalog):
    sc, cat = load(FINTECH)
    draws = {d.option: d for d in capacity_draws(sc, cat)}
    assert set(draws) == {"own-l40s", "rent-h100"}  # the self-hosted options with a modelled capacity
    prior = cat.uncalibrated_capacity
    sample = draws["own-l40s"].sample(np.random.default_rng(0), 10_000)
    assert prior.support()[0] <= sample.min() and sample.max() <= prior.support()[1]
    assert f"the uncalibrated prior triangular {prior.low:g}-{prior.high:g}" in draws["own-l40s"].text
    fixed = simulate(sc.model_copy(update={"capacity_uncertainty": "none"}), cat, draws=20_000, seed=4)
    drawn = simulate(sc, cat, draws=20_000, seed=4)
    spread = {
        s: np.percentile(x.npv_cost["rent-h100"], 90) - np.percentile(x.npv_cost["rent-h100"], 10)
        for s, x in (("fixed", fixed), ("drawn", drawn))
    }
    assert spread["drawn"] > spread["fixed"]  # on demand: fewer tok/s per GPU in a draw means more GPUs
    assert drawn.inputs[-2:] == ("options.own-l40s.capacity_scale", "options.rent-h100.capacity_scale")
    assert fixed.capacity_draws == ()


def test_a_calibrated_pair_resamples_its_held_out_runs(base_catalog):
    sc, cat = load(FINTECH, ["options.rent-h100.gpu=mi300x", "options.rent-h100.usd_per_gpu_hour=2.5"])
    (draw,) = [d for d in capacity_draws(sc, cat) if d.option == "rent-h100"]
    basis = capacity_basis(make_stack(cat, sc.serving.model, sc.serving.quantization, "mi300x", "vllm"), cat)
    assert draw.ratios == basis.ratios and len(draw.ratios) == 24
    assert set(draw.sample(np.random.default_rng(1), 1_000)) <= set(basis.ratios)
    assert "resampled from the 24 held-out published runs of vLLM on AMD Instinct MI300X" in draw.text


def test_a_scenario_stating_the_engines_efficiencies_keeps_its_own_draws():
    sc, cat = load(
        FINTECH, ["uncertainty.serving.efficiency.mbu={dist: uniform, low: 0.6, high: 0.9, source: 'assumption: test'}"]
    )
    assert capacity_draws(sc, cat) == ()


def test_capacity_scale_derates_a_modelled_capacity_and_a_stated_draw_replaces_the_automatic_one():
    from costmodel.engine import evaluate

    sc, cat = load(FINTECH)
    derated, _ = load(FINTECH, ["options.rent-h100.capacity_scale=0.8"])
    full, less = evaluate(sc, cat).option("rent-h100"), evaluate(derated, cat).option("rent-h100")
    assert less.capacity.requests_per_s == pytest.approx(0.8 * full.capacity.requests_per_s)
    assert less.gpus_at_peak >= full.gpus_at_peak and less.total_cost_usd > full.total_cost_usd
    stated, _ = load(
        FINTECH,
        ["uncertainty.options.rent-h100.capacity_scale={dist: uniform, low: 0.9, high: 1.0, source: 'assumption: t'}"],
    )
    assert [d.option for d in capacity_draws(stated, cat)] == ["own-l40s"]  # rent-h100's is the scenario's own
    # a derated option's draws are its derating times the ratio
    (draw,) = [d for d in capacity_draws(derated, cat) if d.option == "rent-h100"]
    prior = cat.uncalibrated_capacity
    assert draw.low_high() == pytest.approx((0.8 * prior.low, 0.8 * prior.high))


def test_the_tornado_moves_each_modelled_capacity_over_its_draws_range():
    from costmodel.sensitivity import one_at_a_time

    sc, cat = load(ROOT / "data" / "scenarios" / "support-chatbot.yaml")
    table = one_at_a_time(sc, cat).set_index("factor")
    row = table.loc["rent-h100-ondemand: capacity per replica"]
    assert (row["low"], row["high"]) == pytest.approx(cat.uncalibrated_capacity.support())
    assert row["swing"] > 0  # the rental re-sizes to it: fewer tok/s per GPU, more GPUs


def test_a_gpu_of_a_fitted_family_takes_its_fit_and_stays_uncalibrated(base_catalog):
    vllm = base_catalog.engines["vllm"]
    assert vllm.efficiency_on("mi325x") == vllm.efficiency_on("mi300x") != vllm.efficiency
    basis = capacity_basis(make_stack(base_catalog, "llama-3.1-70b", "fp8", "mi325x", "vllm"), base_catalog)
    assert not basis.calibrated
    assert basis.text == (
        "uncalibrated: no published runs of vLLM on AMD Instinct MI325X; efficiencies: vLLM's fit on mi300x, "
        "the nearest GPU of its family"
    )


@pytest.mark.parametrize(
    ("model", "gpu", "quantization"),
    [("llama-3-70b", "a100-40gb-sxm", "bf16"), ("mixtral-8x7b", "h100-sxm", "fp8"), ("mixtral-8x7b", "mi325x", "bf16")],
)
def test_the_catalogs_newer_entries_size_a_replica(base_catalog, model, gpu, quantization):
    from costmodel.engine.capacity import capacity_study

    study = capacity_study(base_catalog, model, gpu, quantization=quantization)
    feasible = [s for s in study.layouts if s.capacity is not None]
    assert feasible and all(float(s.capacity.output_tokens_per_s) > 0 for s in feasible)
    assert study.calibration.startswith(("calibrated on", "uncalibrated:"))


@pytest.mark.parametrize("engine", ["sglang", "tgi"])
def test_sglang_and_tgi_serve_their_formats_uncalibrated_and_within_their_caps(base_catalog, engine):
    """SGLang and TGI have no published runs on the H100: their capacity is uncalibrated and says
    so; each serves the formats its docs name (not GGUF); TGI admits at most its 128 requests."""
    from costmodel.core import roofline
    from costmodel.core.roofline import Load

    e = base_catalog.engines[engine]
    served = {q for q, fmt in base_catalog.quantizations.items() if engine in fmt.engines}
    assert served == {"bf16", "fp8", "int4-awq", "int4-gptq", *(["nvfp4", "mxfp4"] if engine == "sglang" else [])}
    stack = make_stack(base_catalog, "llama-3.1-8b", "fp8", "h100-sxm", engine)
    basis = capacity_basis(stack, base_catalog)
    assert not basis.fitted and basis.text.startswith(f"uncalibrated: no published runs of {e.name} on")
    assert all(str(getattr(e.efficiency, f).basis) == "assumption" for f in ("mbu", "step_overhead"))
    slots, _ = roofline.sequence_slots(stack.replica(1), Load(500, 200))
    assert float(slots) <= float(e.max_num_seqs)
    from costmodel.io.files import InputError

    with pytest.raises(InputError, match="q4-k-m"):
        load(FINTECH, [f"serving.engine={engine}", "serving.quantization=q4-k-m"])
