"""Layouts and capacity against the real catalog: the layout chosen by cost is never beaten by
one the user could force, and no modelled figure exceeds the hardware's physical ceiling."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.core import roofline
from costmodel.core.roofline import TENSOR_PARALLEL_SIZES, Load
from costmodel.engine import EngineError, evaluate
from costmodel.engine.capacity import Stack
from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.model.scenario import Efficiency
from tests.conftest import NO_STAFF_NO_SPARES, scenario

FAST = settings(max_examples=30, deadline=None)
CATALOG = build_catalog(load_catalog_files())


def stacks():
    """(model, quantization, GPU, engine) of the catalog that the engine runs."""
    for m, q, g, e in itertools.product(CATALOG.models, CATALOG.quantizations, CATALOG.gpus, CATALOG.engines):
        if e in CATALOG.quantizations[q].engines and CATALOG.quantizations[q].why_not(CATALOG.models[m]) is None:
            yield m, q, g, e


STACKS = sorted(stacks())


def physical_ceiling(stack: Stack, gpus: int, load: Load) -> tuple[float, float]:
    """Output tokens/s no replica can exceed, from data-sheet figures alone.

    * compute: every prompt and output token costs at least 2 x active parameters FLOPs, so
      ``gpus x FLOP/s / (2 x active x (1 + prompt / output))``;
    * memory: every step reads the dense weights at least once, spread at best over all GPUs,
      and serves at most as many sequences as fit in all the GPUs' memory with no weights at all:
      ``sequences x gpus x bandwidth / dense bytes``.
    """
    m, g, q = stack.model, stack.gpu, stack.quantization
    # the fastest tensor cores the GPU has for the format: no figure may beat them
    fastest = {"fp4": [g.fp4_tflops, g.fp8_tflops], "fp8": [g.fp8_tflops]}.get(q.compute, [])
    flops = max(float(x) for x in [g.bf16_tflops, *fastest] if x is not None) * 1e12
    compute = gpus * flops / (2.0 * m.active_parameters * (1.0 + float(load.prompt) / load.output_tokens))
    dense_bytes = stack.weight_bytes() - (float(m.moe.expert_parameters) * float(q.bytes_per_weight) if m.moe else 0.0)
    # a sequence's KV cache: every layer keeps the whole sequence, a sliding-window layer its window at most
    seq = load.input_tokens + load.output_tokens
    windowed = float(m.sliding_layers) if m.sliding_layers is not None else 0.0
    window = float(m.sliding_window) if m.sliding_window is not None else seq
    per_layer = stack.kv_bytes_per_token() / float(m.layers)
    sequences = (
        gpus * float(g.memory) * 1e9 / (per_layer * ((float(m.layers) - windowed) * seq + windowed * min(seq, window)))
    )
    memory = sequences * gpus * float(g.bandwidth) * 1e12 / dense_bytes
    return compute, memory


def stack_of(which: tuple[str, str, str, str], efficiency: Efficiency) -> Stack:
    m, q, g, e = which
    engine, quant = CATALOG.engines[e], CATALOG.quantizations[q]
    fp8_kv = engine.fp8_kv_cache == "with-fp8-weights" and quant.compute in ("fp8", "fp4")
    return Stack(CATALOG.models[m], quant, CATALOG.gpus[g], engine, efficiency, 1.0 if fp8_kv else 2.0)


# every layout of every stack that holds a 4,096-token sequence (the lengths drawn below stay within it)
FEASIBLE = [
    (which, gpus)
    for which in STACKS
    for gpus in TENSOR_PARALLEL_SIZES
    if stack_of(which, Efficiency()).why_not(gpus, 4096) is None
]
PERFECT = Efficiency(mbu=1, decode_mfu=1, mfu=1, expert_mfu=1, expert_mbu=1, step_overhead_ms=0)


def test_the_ceiling_test_covers_the_catalog():
    assert {w[0] for w, _ in FEASIBLE} == set(CATALOG.models)
    assert {w[2] for w, _ in FEASIBLE} == set(CATALOG.gpus)
    assert {g for _, g in FEASIBLE} == set(TENSOR_PARALLEL_SIZES)


@settings(max_examples=300, deadline=None)
@given(
    layout=st.sampled_from(FEASIBLE),
    input_tokens=st.integers(1, 3_000),
    output_tokens=st.integers(1, 1_096),
    cached=st.sampled_from([0.0, 0.5]),
    perfect=st.booleans(),
)
def test_modelled_capacity_never_exceeds_the_physical_ceiling(layout, input_tokens, output_tokens, cached, perfect):
    """Every catalog model, format, GPU and engine, every layout, the engine's efficiencies or all at 100 %."""
    which, gpus = layout
    stack = stack_of(which, PERFECT if perfect else Efficiency())
    load = Load(input_tokens, output_tokens, cached)
    replica = stack.replica(gpus)
    compute, memory = physical_ceiling(stack, gpus, load)
    steady, _ = roofline.max_throughput(replica, load)
    loose = roofline.slo_capacity(replica, load, ttft_slo_s=1e6, tpot_slo_s=1e6)
    for figure in (float(steady), loose.output_tokens_per_s):
        assert 0 < figure <= compute * (1 + 1e-9), (layout, figure, compute)
        assert figure <= memory * (1 + 1e-9), (layout, figure, memory)


def layout_scenario(
    model: str,
    quantization: str,
    gpu: str,
    kind: str,
    input_tokens: int,
    output_tokens: int,
    requests: float,
    tpot_ms: float,
    forced: int | None = None,
):
    option = {
        "name": "self",
        "kind": kind,
        "gpu": gpu,
        "model": model,
        "quantization": quantization,
        **NO_STAFF_NO_SPARES,
    }
    if kind == "owned":
        option |= {
            "usd_per_gpu": 30000,
            "usd_per_kwh": 0.1,
            "colocation_usd_per_kw_month": 150,
            "server_usd_per_gpu": 3000,
            "maintenance_per_year": 0.05,
        }
    else:
        option |= {"usd_per_gpu_hour": 3.0}
    if forced:
        option["gpus_per_replica"] = forced
    return scenario(
        workload={
            "requests_per_month": requests,
            "input_tokens_per_request": input_tokens,
            "output_tokens_per_request": output_tokens,
            "slo": {"ttft_p95_ms": 5000, "tpot_p95_ms": tpot_ms},
        },
        options=[option],
    )


@FAST
@given(
    stack=st.sampled_from(
        [
            ("llama-3.1-8b", "bf16", "a10g"),
            ("llama-3.1-8b", "fp8", "h100-sxm"),
            ("llama-3.1-70b", "fp8", "h100-sxm"),
            ("llama-3.1-70b", "bf16", "a100-80gb-sxm"),
            ("qwen2.5-32b", "int4-awq", "l40s"),
            ("llama-3.1-70b", "int4-awq", "l4"),
        ]
    ),
    kind=st.sampled_from(["rented", "owned"]),
    input_tokens=st.integers(100, 6000),
    output_tokens=st.integers(10, 2000),
    requests=st.floats(1e5, 5e8),
    tpot_ms=st.sampled_from([20, 50, 100, 1000]),
)
def test_chosen_layout_is_never_beaten_by_a_forced_one(stack, kind, input_tokens, output_tokens, requests, tpot_ms):
    """The chosen layout's cost per served token is at most that of every feasible gpus_per_replica
    that meets the SLO, each forced in its own evaluation."""
    model, quantization, gpu = stack
    try:
        chosen = evaluate(
            layout_scenario(model, quantization, gpu, kind, input_tokens, output_tokens, requests, tpot_ms), CATALOG
        ).option("self")
    except EngineError:  # fits no layout at these lengths
        return
    pick = next(lay for lay in chosen.layouts if lay.chosen)
    assert pick.gpus_per_replica == chosen.capacity.gpus_per_replica
    for g in TENSOR_PARALLEL_SIZES:
        try:
            forced = evaluate(
                layout_scenario(
                    model, quantization, gpu, kind, input_tokens, output_tokens, requests, tpot_ms, forced=g
                ),
                CATALOG,
            ).option("self")
        except EngineError:  # infeasible: not a layout the user could force
            continue
        (only,) = forced.layouts
        if only.eligible:
            assert pick.eligible
            assert pick.usd_per_million_served <= only.usd_per_million_served * (1 + 1e-9), (g, pick, only)


def test_issue_example_picks_two_h100s_for_the_batch_workload():
    """1,000 in / 1,000 out on H100s: one GPU per replica holds 8B BF16 plus one sequence but
    almost no batch; the choice is a larger layout and it costs less than one GPU per replica."""
    sc = layout_scenario("llama-3.1-70b", "fp8", "h100-sxm", "owned", 1000, 1000, 3e6, 100)
    result = evaluate(sc, CATALOG).option("self")
    by_size = {lay.gpus_per_replica: lay for lay in result.layouts}
    pick = next(lay for lay in result.layouts if lay.chosen)
    assert pick.gpus_per_replica > 1
    assert all(pick.usd_per_million_served <= lay.usd_per_million_served for lay in by_size.values() if lay.eligible)


def test_forced_layout_is_the_only_one():
    sc = layout_scenario("llama-3.1-8b", "bf16", "h100-sxm", "rented", 1000, 200, 1e6, 50, forced=2)
    (only,) = evaluate(sc, CATALOG).option("self").layouts
    assert only.gpus_per_replica == 2 and only.chosen


def test_nvfp4_runs_on_fp4_tensor_cores_where_the_gpu_has_them():
    """NVFP4 (0.5625 bytes a weight: 4 bits and an FP8 scale per 16) computes at the B200's 9,000
    dense FP4 TFLOPS; on an H100, which has no FP4 tensor cores, it is dequantized to BF16; under
    TensorRT-LLM its KV cache is FP8, as for FP8 checkpoints."""
    from costmodel.engine.capacity import make_stack

    b200 = make_stack(CATALOG, "llama-3.1-70b", "nvfp4", "b200", "trt-llm")
    h100 = make_stack(CATALOG, "llama-3.1-70b", "nvfp4", "h100-sxm", "trt-llm")
    assert b200.weight_bytes() == pytest.approx(float(CATALOG.models["llama-3.1-70b"].parameters) * 0.5625)
    assert b200.replica(1).flops == pytest.approx(9000e12)
    assert h100.replica(1).flops == pytest.approx(float(CATALOG.gpus["h100-sxm"].bf16_tflops) * 1e12)
    fp8 = make_stack(CATALOG, "llama-3.1-70b", "fp8", "b200", "trt-llm")
    assert b200.kv_bytes_per_token() == pytest.approx(fp8.kv_bytes_per_token())


def test_gpt_oss_keeps_its_experts_in_mxfp4_and_its_sliding_layers_keep_a_window():
    """gpt-oss-120b's MXFP4 checkpoint: 114.66B expert weights at 4.25 bits and the rest in BF16
    come to ~65.2 GB, within 1 % of the published 60.8 GiB checkpoint. Half its layers attend to
    128 tokens, so a 4,096-token sequence caches 18 x 4,096 + 18 x 128 layer-positions, not 36 x 4,096."""
    from costmodel.engine.capacity import make_stack

    m = CATALOG.models["gpt-oss-120b"]
    stack = make_stack(CATALOG, "gpt-oss-120b", "mxfp4", "h100-sxm", "vllm")
    expected = 114.66e9 * 4.25 / 8 + (116.8e9 - 114.66e9) * 2.0
    assert stack.weight_bytes() == pytest.approx(expected)
    assert stack.weight_bytes() == pytest.approx(60.8 * 2**30, rel=0.01)
    r = stack.replica(1)
    per_layer = 2 * 8 * 64 * 2  # K and V, 8 KV heads of 64, BF16
    assert float(r.kv_bytes(4096)) == pytest.approx(per_layer * (18 * 4096 + 18 * 128))
    assert float(r.kv_bytes(100)) == pytest.approx(per_layer * 36 * 100)  # within the window: no saving
    unwindowed = Stack(
        m.model_copy(update={"sliding_window": None, "sliding_layers": None}),
        stack.quantization,
        stack.gpu,
        stack.engine,
        stack.efficiency,
        stack.kv_bytes_per_element,
    )
    load = Load(4000, 1000)
    with_window = roofline.slo_capacity(r, load, ttft_slo_s=10, tpot_slo_s=0.1)
    without = roofline.slo_capacity(unwindowed.replica(1), load, ttft_slo_s=10, tpot_slo_s=0.1)
    assert with_window.output_tokens_per_s > without.output_tokens_per_s  # more sequences fit, each reads less


def test_an_experts_only_format_refuses_a_dense_model(tmp_path):
    """MXFP4 here quantizes routed experts only: on a dense model it is a one-line error, in a
    scenario (naming the field) and in tco capacity."""
    from costmodel.engine.capacity import capacity_study
    from costmodel.io.catalog import check_references
    from costmodel.io.files import InputError

    with pytest.raises(EngineError, match=r"quantizes routed experts only.*dense model"):
        capacity_study(CATALOG, "llama-3.1-8b", "h100-sxm", quantization="mxfp4", engine="vllm")
    sc = layout_scenario("llama-3.1-8b", "mxfp4", "h100-sxm", "rented", 1000, 200, 1e6, 50)
    with pytest.raises(InputError, match=r"options\[self\]\.quantization.*dense model"):
        check_references(sc, CATALOG, "s.yaml")
