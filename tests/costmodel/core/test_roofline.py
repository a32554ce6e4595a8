"""The roofline: hand-checked anchor points from data-sheet figures, and invariants of the
operating point (the SLO capacity meets the objective, a little more load would not)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.core.roofline import (
    Load,
    Replica,
    concurrency_p95,
    kv_bytes_per_token,
    latencies,
    max_throughput,
    mla_kv_bytes_per_token,
    offline_throughput,
    padded_batch,
    prefill_wait,
    sequence_slots,
    slo_capacity,
    step_cost,
    step_seconds,
    weights_read_per_step,
)

FAST = settings(max_examples=40, deadline=None)


def llama_8b(gpu_memory=80e9, bandwidth=3.35e12, flops=989e12, **changes) -> Replica:
    """Llama-3.1-8B in BF16 on one GPU (H100 SXM figures unless given), perfect efficiency."""
    r = Replica(
        weight_bytes=16.06e9,
        expert_bytes=0,
        experts=0,
        experts_per_token=0,
        active_parameters=8.03e9,
        expert_active_parameters=0,
        layers=32,
        hidden=4096,
        attention_width=4096,
        kv_bytes_per_token=131072,
        gpus=1,
        memory=gpu_memory,
        bandwidth=bandwidth,
        flops=flops,
        link_bandwidth=0,
        allreduce_latency=0,
        memory_utilization=0.9,
        reserved_memory=0,
        max_num_seqs=256,
        max_batched_tokens=8192,
        step_overhead=0.0,
        mbu=1.0,
        decode_mfu=1.0,
        prefill_mfu=1.0,
    )
    return replace(r, **changes)


# batch-1 decode: weights / bandwidth + 2 x parameters / FLOP/s, by hand:
# H100 16.06e9/3.35e12 + 16.06e9/989e12 = 4.811 ms; A100 16.06e9/2.039e12 + 16.06e9/312e12 = 7.928 ms;
# A10G 16.06e9/0.6e12 + 16.06e9/125e12 = 26.895 ms.
@pytest.mark.parametrize(("gpu", "tokens_per_s"), [("h100-sxm", 208), ("a100-80gb-sxm", 126), ("a10g", 37)])
def test_batch_one_decode_ceiling(base_catalog, gpu, tokens_per_s):
    g = base_catalog.gpus[gpu]
    r = llama_8b(float(g.memory) * 1e9, float(g.bandwidth) * 1e12, float(g.bf16_tflops) * 1e12)
    assert round(1 / float(step_seconds(r, 1, 0, Load(0, 1)))) == tokens_per_s


@pytest.mark.parametrize(
    ("model", "dtype_bytes", "kib"),
    [("llama-3.1-8b", 2, 128), ("llama-3.1-70b", 2, 320), ("llama-3.1-70b", 1, 160), ("qwen2.5-7b", 2, 56)],
)
def test_kv_cache_per_token(base_catalog, model, dtype_bytes, kib):
    """2 x layers x KV heads x head dim x bytes: 32 x 8 x 128 x 4 = 128 KiB; 80 x 8 x 128 x 4 = 320 KiB;
    Qwen2.5-7B 28 x 4 x 128 x 4 = 56 KiB."""
    m = base_catalog.models[model]
    got = kv_bytes_per_token(float(m.layers), float(m.kv_heads), float(m.head_dim), dtype_bytes)
    assert got == kib * 1024


def test_mla_kv_cache_is_the_latent_and_rope_key(base_catalog):
    """DeepSeek-V3: 61 layers x (512 + 64) x 2 bytes = 68.6 KiB, a fraction of what GQA would keep."""
    m = base_catalog.models["deepseek-v3"]
    got = mla_kv_bytes_per_token(float(m.layers), float(m.kv_lora_rank), float(m.rope_head_dim), 2)
    assert got == 61 * 576 * 2


def test_moe_step_reads_only_the_touched_experts():
    """One token touches k of E experts; many tokens touch them all."""
    one = float(weights_read_per_step(671e9, 654e9, 256, 8, 1))
    assert one == pytest.approx(17e9 + 654e9 * 8 / 256)
    assert float(weights_read_per_step(671e9, 654e9, 256, 8, 100_000)) == pytest.approx(671e9)


def test_slots_kv_cache_by_hand():
    """72 GB usable - 16.06 GB of weights = 55.94 GB; a 1,200-token sequence keeps 157.3 MB: 355
    sequences, so max_num_seqs (256) binds; with 512 allowed the KV cache does."""
    r = llama_8b()
    assert [int(x) for x in sequence_slots(r, Load(1000, 200))] == [256, 3]
    assert [int(x) for x in sequence_slots(replace(r, max_num_seqs=512), Load(1000, 200))] == [355, 2]


def test_token_budget_bounds_slots():
    """Prompt 8,000, output 100: each decode brings 80 prefill tokens a step; 8,192 / 81 = 101."""
    r = replace(llama_8b(gpu_memory=1e15), max_num_seqs=10_000)
    assert [int(x) for x in sequence_slots(r, Load(8000, 100))] == [101, 4]


def poisson_ppf(q: float, mean: float) -> int:
    """Smallest k with P(X <= k) >= q for X ~ Poisson(mean), by summing the pmf in log space."""
    k = np.arange(int(mean * 3 + 50))
    log_pmf = k * np.log(mean) - mean - np.cumsum(np.log(np.maximum(k, 1)))
    return int(np.argmax(np.cumsum(np.exp(log_pmf)) >= q))


def test_concurrency_p95_is_poisson_quantile_for_large_means():
    """The normal approximation against the exact Poisson 95th percentile at large means."""
    for mean in (50, 200, 1000):
        assert float(concurrency_p95(mean)) == pytest.approx(poisson_ppf(0.95, mean), rel=0.02)


def test_fp8_kv_cache_doubles_the_slots():
    r = replace(llama_8b(), max_num_seqs=10_000)
    bf16, _ = sequence_slots(r, Load(1000, 1000))
    fp8, _ = sequence_slots(replace(r, kv_bytes_per_token=65536), Load(1000, 1000))
    assert int(fp8) == pytest.approx(2 * int(bf16), abs=1)


def test_tensor_parallel_pays_for_its_all_reduce():
    """Two GPUs without a link cost as much as a link at 1 byte/s; with NVLink a step is faster than one GPU's."""
    one = llama_8b()
    two = replace(one, gpus=2, link_bandwidth=450e9, allreduce_latency=10e-6)
    slow = replace(two, link_bandwidth=1.0)
    load = Load(1000, 200)
    assert float(step_seconds(two, 64, 64, load)) < float(step_seconds(one, 64, 64, load))
    assert float(step_seconds(slow, 64, 64, load)) > 100 * float(step_seconds(one, 64, 64, load))


@FAST
@given(
    requests=st.integers(1, 100_000),
    input_tokens=st.integers(1, 20_000),
    output_tokens=st.integers(1, 4_000),
)
def test_offline_run_never_beats_steady_state(requests, input_tokens, output_tokens):
    r = replace(llama_8b(), mbu=0.7, decode_mfu=0.5, prefill_mfu=0.5, max_num_seqs=1024)
    load = Load(input_tokens, output_tokens)
    steady = float(max_throughput(r, load)[0])
    assert float(offline_throughput(r, load, requests)) <= steady * (1 + 1e-9)


def qwen3_moe(gpus: int) -> Replica:
    """Qwen3-235B-A22B in FP8 on H200s: routed experts, attention data parallel over ``gpus``."""
    return Replica(
        weight_bytes=235e9,
        expert_bytes=227.1e9,
        experts=128,
        experts_per_token=8,
        active_parameters=22e9,
        expert_active_parameters=227.1e9 * 8 / 128,
        layers=94,
        hidden=4096,
        attention_width=8192,
        kv_bytes_per_token=96 * 1024,
        gpus=gpus,
        memory=141e9,
        bandwidth=4.8e12,
        flops=1979e12,
        link_bandwidth=450e9,
        allreduce_latency=8e-6,
        memory_utilization=0.9,
        reserved_memory=4e9,
        max_num_seqs=256,
        max_batched_tokens=8192,
        step_overhead=0.0,
        mbu=0.9,
        decode_mfu=0.5,
        prefill_mfu=0.5,
        expert_mfu=0.2,
        expert_mbu=0.5,
        moe_layers=94,
    )


REPLICAS = {  # a dense model solved in closed form; tensor parallel; MoE, which the search solves
    "8b-l40s": replace(llama_8b(gpu_memory=48e9, bandwidth=0.864e12, flops=362e12), weight_bytes=4.0e9),
    "8b-tp2": replace(llama_8b(), gpus=2, link_bandwidth=450e9, allreduce_latency=8e-6),
    "qwen3-ep8": qwen3_moe(8),
}


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(sorted(REPLICAS)),
    mbu=st.floats(0.2, 1.0),
    mfu=st.floats(0.1, 1.0),
    overhead=st.floats(0, 0.01),
    tpot_slo=st.floats(0.005, 0.3),
    ttft_slo=st.floats(0.05, 10.0),
    input_tokens=st.integers(1, 30_000),
    output_tokens=st.integers(1, 4_000),
    cached=st.sampled_from([0.0, 0.5, 0.9]),
    max_num_seqs=st.sampled_from([1, 64, 256, 1024]),
)
def test_slo_capacity_is_the_largest_load_meeting_the_objective(
    which, mbu, mfu, overhead, tpot_slo, ttft_slo, input_tokens, output_tokens, cached, max_num_seqs
):
    """At the capacity's mean concurrency the p95 TPOT and TTFT meet the objective; 2 % more
    concurrency misses one, or the slots or the step budget bind. If one sequence misses, ``slo_met`` says so."""
    r = replace(
        REPLICAS[which], mbu=mbu, decode_mfu=mfu, prefill_mfu=mfu, step_overhead=overhead, max_num_seqs=max_num_seqs
    )
    load = Load(input_tokens, output_tokens, cached)
    slots, _ = sequence_slots(r, load)
    if float(slots) < 1:
        return
    c = slo_capacity(r, load, ttft_slo, tpot_slo)
    if not c.slo_met:
        one = latencies(r, load, 1e-6)
        assert float(one["tpot_p95"]) > tpot_slo or float(one["ttft_p95"]) > ttft_slo or float(one["prefill_load"]) >= 1
        assert c.limit.endswith("-unmet")
        return
    at = latencies(r, load, c.batch)
    assert float(at["tpot_p95"]) <= tpot_slo * (1 + 1e-9)
    assert float(at["ttft_p95"]) <= ttft_slo * (1 + 1e-9)
    assert float(concurrency_p95(c.batch)) <= float(slots) * (1 + 1e-9)
    more = latencies(r, load, c.batch * 1.02)
    assert (
        float(more["tpot_p95"]) > tpot_slo
        or float(more["ttft_p95"]) > ttft_slo
        or float(concurrency_p95(c.batch * 1.02)) > float(slots)
        or float(more["prefill_load"]) >= 1.0
    )


@FAST
@given(mbu=st.lists(st.floats(0.1, 1.0), min_size=1, max_size=6), mfu=st.floats(0.1, 1.0))
def test_slo_capacity_broadcasts_over_draws(mbu, mfu):
    """Monte Carlo draws of MBU as an array: each element equals the scalar computation."""
    r = replace(llama_8b(), decode_mfu=mfu, prefill_mfu=mfu)
    load = Load(1000, 200)
    together = slo_capacity(replace(r, mbu=np.asarray(mbu)), load, 1.0, 0.05)
    for i, m in enumerate(mbu):
        alone = slo_capacity(replace(r, mbu=m), load, 1.0, 0.05)
        assert together.limit[i] == alone.limit
        np.testing.assert_allclose(together.batch[i], alone.batch, rtol=1e-12)
        np.testing.assert_allclose(together.requests_per_s[i], alone.requests_per_s, rtol=1e-12)


def test_idle_ttft_is_the_prompts_own_prefill():
    """Hand-checked: one 1,000-token prompt on an idle H100 (BF16 8B, perfect efficiency) takes
    its own linear FLOPs, 1,000 x 2 x 8.03e9 / 989e12 = 16.2 ms, plus weights read twice (the
    prefill step and the step under way, 2 x 16.06e9 / 3.35e12 = 9.6 ms) and attention; the
    old model gave the step under way alone (~5 ms)."""
    lat = latencies(llama_8b(), Load(1000, 200), 1e-6)
    linear = 1000 * 2 * 8.03e9 / 989e12
    weights = 16.06e9 / 3.35e12
    attention = 1000 * 4 * 32 * 4096 * 1000 / 2 / 989e12
    assert float(lat["ttft_p95"]) == pytest.approx(linear + 2 * weights + attention, rel=0.02)


@FAST
@given(
    prompt=st.floats(16, 30_000),
    answer=st.floats(1, 2000),
    cached=st.floats(0, 0.9),
    in_flight=st.floats(1e-3, 200),
)
def test_ttft_never_beats_the_prompts_compute(prompt, answer, cached, in_flight):
    """At any load, the first token waits at least for the uncached prompt's linear FLOPs."""
    r = llama_8b(prefill_mfu=0.6)
    load = Load(prompt, answer, cached)
    floor = float(load.prompt) * 2 * r.active_parameters / (r.flops * 0.6)
    assert float(latencies(r, load, in_flight)["ttft_p95"]) >= floor * (1 - 1e-9)


def test_prefill_wait_by_hand():
    """M/D/1, by hand: 1.25 prompts/s of 0.4 s each keep the prefill half busy, so the mean wait
    is 0.5 x 0.4 / (2 x 0.5) = 0.2 s; half of the prompts wait, about exponentially with mean
    0.4 s, so the p95 is 0.4 ln(0.5 / 0.05) = 0.921 s. Under 5 % busy the p95 prompt never waits;
    the wait grows without bound as the queue fills, and stays finite (rho is held below 1)."""
    mean, p95 = prefill_wait(1.25, 0.4)
    assert float(mean) == pytest.approx(0.2) and float(p95) == pytest.approx(0.4 * np.log(10.0))
    mean, p95 = prefill_wait(0.1, 0.4)
    assert float(mean) == pytest.approx(0.04 * 0.4 / (2 * 0.96)) and float(p95) == 0.0
    waits = prefill_wait(np.array([1.0, 2.0, 2.4, 2.5, 10.0]), 0.4)[1]
    assert np.all(np.diff(waits) >= 0) and np.all(np.isfinite(waits)) and waits[-1] > 100


def test_ttft_waits_for_the_prefill_queued_ahead():
    """Under load the p95 TTFT is the idle one plus the queue's p95 wait at the load's own rate and
    a prompt's marginal GPU time: more load, more wait (what NIM's TTFT at 5-50 streams shows)."""
    r, load = llama_8b(), Load(4000, 400)
    ttft = [float(latencies(r, load, m)["ttft_p95"]) for m in (1e-6, 4.0, 16.0, 64.0)]
    assert np.all(np.diff(ttft) > 0)
    lat = latencies(r, load, 16.0)
    assert float(lat["ttft_mean"]) < float(lat["ttft_p95"])


GRAPHS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192)  # TensorRT-LLM's perf overview


def test_padded_batch_by_hand():
    """Each scheduler's share rounded up to a captured size; a captured size stays; past the
    largest, no graph and no padding."""
    assert padded_batch([1500, 3000, 2048, 80_000], GRAPHS, 8).tolist() == [2048, 3072, 2048, 80_000]
    assert padded_batch([187, 256, 600, 9000], GRAPHS).tolist() == [256, 256, 1024, 9000]
    assert padded_batch(187, ()).tolist() == 187


def test_a_padded_decode_step_pays_communication_and_experts_for_the_padding():
    """Qwen3-235B over 8 attention data-parallel ranks, 1,500 sequences padded to 2,048: the step
    adds the per-token communication and routed-expert FLOPs of 548 tokens and the experts those
    tokens touch, by hand from its terms; attention and the dense GEMMs stay at 1,500."""
    r, load = qwen3_moe(8), Load(128, 4096)
    cost = step_cost(r, load)
    plain = float(cost.decode_only(1500))
    assert plain == float(step_seconds(r, 1500, 0, load))
    padded = float(step_cost(replace(r, graph_batch_sizes=GRAPHS), load).decode_only(1500))
    touched = weights_read_per_step(1.0, 1.0, 128, 8, np.array([1500.0, 2048.0]))
    by_hand = float(cost.per_token) * 548 + float(cost.experts_read) * float(touched[1] - touched[0])
    assert padded - plain == pytest.approx(by_hand, rel=1e-12)


@FAST
@given(batch=st.floats(1, 10_000), gpus=st.sampled_from([1, 2, 8]))
def test_padding_costs_at_least_nothing_and_at_most_the_padded_batch(batch, gpus):
    """A padded decode step is no faster than the batch unpadded, and no slower than the padded
    batch run as real sequences (those would attend to their context too)."""
    r = qwen3_moe(gpus) if gpus > 1 else replace(llama_8b(), mbu=0.7, decode_mfu=0.5)
    load = Load(1000, 500)
    padded = replace(r, graph_batch_sizes=GRAPHS)
    up = float(padded_batch(batch, GRAPHS, r.schedulers))
    plain = float(step_cost(r, load).decode_only(batch))
    with_padding = float(step_cost(padded, load).decode_only(batch))
    assert plain <= with_padding * (1 + 1e-12)
    assert with_padding <= float(step_cost(r, load).decode_only(up)) * (1 + 1e-12)
