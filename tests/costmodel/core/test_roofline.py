"""The roofline: physics anchor points from vendor figures, and the operating batch's invariant."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from costmodel.core.roofline import (
    decode_step_seconds,
    kv_bytes_per_token,
    prefill_tokens_per_second,
    roofline_capacity,
    weight_bytes,
)

FAST = settings(max_examples=40, deadline=None)


@pytest.mark.parametrize(("gpu", "tokens_per_s"), [("h100-sxm", 209), ("a100-80gb-sxm", 127), ("a10g", 37)])
def test_batch_one_decode_ceiling(base_catalog, gpu, tokens_per_s):
    """Llama-3.1-8B in BF16 (16.1 GB) at batch 1 decodes at most bandwidth / weight bytes tokens/s."""
    m, g = base_catalog.models["llama-3.1-8b"], base_catalog.gpus[gpu]
    weights = weight_bytes(float(m.parameters), 2.0)
    step = decode_step_seconds(
        1, weights, 0, 0, float(g.bandwidth) * 1e12, 1.0, float(m.parameters), float(g.bf16_tflops) * 1e12, 1.0
    )
    assert round(1 / float(step)) == tokens_per_s


@pytest.mark.parametrize(("model", "kib"), [("llama-3.1-8b", 128), ("llama-3.1-70b", 320)])
def test_kv_cache_per_token(base_catalog, model, kib):
    m = base_catalog.models[model]
    assert kv_bytes_per_token(float(m.layers), float(m.kv_heads), float(m.head_dim), 2.0) == kib * 1024


def _tpot(batch, *, weights, kv, context, bandwidth, mbu, parameters, flops, mfu, prompt, output_tokens):
    """TPOT from its definition: decode step stretched by the share of time spent in prefill."""
    step = decode_step_seconds(batch, weights, kv, context, bandwidth, mbu, parameters, flops, mfu)
    prefill = prefill_tokens_per_second(parameters, flops, mfu)
    requests_per_s = 1.0 / (prompt / prefill + output_tokens * step / batch)
    return step / (1.0 - requests_per_s * prompt / prefill)


@FAST
@given(
    mbu=hnp.arrays(np.float64, 16, elements=st.floats(0.05, 1.0)),
    mfu=hnp.arrays(np.float64, 16, elements=st.floats(0.05, 1.0)),
    tpot_slo=st.floats(0.005, 0.3),
    input_tokens=st.integers(1, 30_000),
    output_tokens=st.integers(1, 4_000),
    cached=st.sampled_from([0.0, 0.5, 1.0]),
    max_num_seqs=st.sampled_from([1, 64, 256, 1024]),
)
def test_operating_batch_is_the_largest_meeting_tpot(
    mbu, mfu, tpot_slo, input_tokens, output_tokens, cached, max_num_seqs
):
    """The roofline's batch meets the TPOT objective and one more sequence would not (or the cap binds)."""
    c = roofline_capacity(
        parameters=8.03e9,
        bytes_per_weight=0.5,
        layers=32,
        kv_heads=8,
        head_dim=128,
        kv_bytes_per_element=2,
        memory_per_gpu=48e9,
        bandwidth_per_gpu=0.864e12,
        flops_per_gpu=362e12,
        gpus=1,
        mbu=mbu,
        mfu=mfu,
        memory_utilization=0.9,
        max_num_seqs=max_num_seqs,
        input_tokens=input_tokens,
        cached_input_share=cached,
        output_tokens=output_tokens,
        ttft_slo_s=10.0,
        tpot_slo_s=tpot_slo,
    )
    kv_limit = (48e9 * 0.9 - 8.03e9 * 0.5) // (float(kv_bytes_per_token(32, 8, 128)) * (input_tokens + output_tokens))
    cap = max(1, min(kv_limit, max_num_seqs))
    model = dict(
        weights=8.03e9 * 0.5,
        kv=float(kv_bytes_per_token(32, 8, 128)),
        context=input_tokens + output_tokens / 2,
        bandwidth=0.864e12,
        mbu=mbu,
        parameters=8.03e9,
        flops=362e12,
        mfu=mfu,
        prompt=input_tokens * (1 - cached),
        output_tokens=output_tokens,
    )
    met = c.limit != "tpot-slo-unmet"
    assert np.all(_tpot(c.batch, **model)[met] <= tpot_slo)
    assert np.all(_tpot(np.ones(16), **model)[~met] > tpot_slo)
    assert np.all((c.batch >= cap) | (_tpot(c.batch + 1, **model) > tpot_slo))
