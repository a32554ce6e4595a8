"""Serving capacity of one replica: the roofline estimate, or a measured figure.

The physics, after the standard LLM inference roofline (e.g. Pope et al., "Efficiently
Scaling Transformer Inference", MLSys 2023; vLLM's PagedAttention paper, Kwon et al., SOSP 2023):

* Decode is memory-bound. One step reads every weight once plus the KV cache of every
  running sequence: ``step = (W + B * ctx * kv) / (bandwidth * MBU)``, and it cannot be
  faster than the compute roofline ``B * 2 * P / (FLOPS * MFU)``.
* Prefill is compute-bound: ``tokens/s = FLOPS * MFU / (2 * P)``.
* KV cache per token: ``2 * layers * kv_heads * head_dim * bytes``.

A replica alternates prefill and decode, so serving ``r`` requests/s spends a share
``f = r * input / prefill_rate`` of its time in prefill, and the time per output token a
user sees is ``step / (1 - f)``. The operating point is the largest batch whose TPOT
meets the SLO and whose KV cache fits. Units: bytes, seconds, bytes/s, FLOP/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costmodel.text import drawn

TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)


def weight_bytes(parameters: ArrayLike, bytes_per_weight: ArrayLike) -> NDArray[np.float64]:
    """Bytes of model weights.

    Examples
    --------
    >>> float(weight_bytes(8.03e9, 2.0)) / 1e9  # Llama-3.1-8B in BF16, GB
    16.06
    """
    return np.asarray(parameters, dtype=float) * np.asarray(bytes_per_weight, dtype=float)


def kv_bytes_per_token(
    layers: ArrayLike, kv_heads: ArrayLike, head_dim: ArrayLike, bytes_per_element: ArrayLike = 2.0
) -> NDArray[np.float64]:
    """KV-cache bytes per token: ``2 (K and V) x layers x kv_heads x head_dim x bytes``.

    Examples
    --------
    >>> float(kv_bytes_per_token(32, 8, 128)) / 1024  # Llama-3.1-8B, BF16: KiB
    128.0
    >>> float(kv_bytes_per_token(80, 8, 128)) / 1024  # Llama-3.1-70B
    320.0
    """
    return (
        2.0
        * np.asarray(layers, float)
        * np.asarray(kv_heads, float)
        * np.asarray(head_dim, float)
        * np.asarray(bytes_per_element, float)
    )


def decode_step_seconds(
    batch: ArrayLike,
    weights: ArrayLike,
    kv_per_token: ArrayLike,
    context_tokens: ArrayLike,
    bandwidth: ArrayLike,
    mbu: ArrayLike,
    parameters: ArrayLike,
    flops: ArrayLike,
    mfu: ArrayLike,
) -> NDArray[np.float64]:
    """Seconds for one decode step of ``batch`` sequences (the slower of memory and compute).

    Examples
    --------
    Batch 1, Llama-3.1-8B BF16 on an H100 SXM at 100 % MBU: the bandwidth ceiling of
    3.35e12 / 16.06e9 = ~209 tokens/s.

    >>> s = decode_step_seconds(1, 16.06e9, 0, 0, 3.35e12, 1.0, 8.03e9, 989e12, 1.0)
    >>> round(1 / float(s))
    209
    """
    b = np.asarray(batch, dtype=float)
    fixed, per_sequence, compute_per_sequence = _decode_step_terms(
        weights, kv_per_token, context_tokens, bandwidth, mbu, parameters, flops, mfu
    )
    return np.maximum(fixed + b * per_sequence, b * compute_per_sequence)


def _decode_step_terms(weights, kv_per_token, context_tokens, bandwidth, mbu, parameters, flops, mfu):
    """A decode step is ``max(fixed + B x per_sequence, B x compute_per_sequence)`` seconds:
    reading the weights once, each sequence's KV cache, and each sequence's FLOPs."""
    memory_rate = np.asarray(bandwidth, float) * np.asarray(mbu, float)
    return (
        np.asarray(weights, float) / memory_rate,
        np.asarray(context_tokens, float) * np.asarray(kv_per_token, float) / memory_rate,
        2.0 * np.asarray(parameters, float) / (np.asarray(flops, float) * np.asarray(mfu, float)),
    )


def prefill_tokens_per_second(parameters: ArrayLike, flops: ArrayLike, mfu: ArrayLike) -> NDArray[np.float64]:
    """Prompt tokens per second: ``FLOPS x MFU / (2 x parameters)`` (attention FLOPs ignored).

    Examples
    --------
    >>> round(float(prefill_tokens_per_second(8.03e9, 989e12, 0.5)))
    30791
    """
    return np.asarray(flops, float) * np.asarray(mfu, float) / (2.0 * np.asarray(parameters, float))


def tensor_parallel_size(
    weights: float, memory_per_gpu: float, memory_utilization: float, kv_per_sequence: float
) -> int | None:
    """Smallest power-of-two GPU count whose usable memory holds the weights and one full sequence.

    Returns ``None`` when even 8 GPUs are not enough.

    Examples
    --------
    >>> tensor_parallel_size(16.06e9, 80e9, 0.9, 1e9)   # 8B BF16 on one H100
    1
    >>> tensor_parallel_size(141.2e9, 80e9, 0.9, 1e9)  # 70B BF16 needs two
    2
    >>> tensor_parallel_size(810e9, 80e9, 0.9, 1e9)  # 405B BF16: not even on eight
    """
    for tp in TENSOR_PARALLEL_SIZES:
        if tp * memory_per_gpu * memory_utilization - weights >= kv_per_sequence:
            return tp
    return None


@dataclass(frozen=True)
class ReplicaCapacity:
    """What one replica serves at its operating point, and how that figure was obtained."""

    basis: Literal["modelled", "measured"]
    gpus_per_replica: int
    requests_per_s: float
    output_tokens_per_s: float
    batch: float | None
    ttft_ms: float | None
    tpot_ms: float | None
    slo_met: bool | None
    limit: str
    source: str
    as_of: str | None = None  # date of a measured figure (ISO)


def roofline_capacity(
    *,
    parameters: float,
    bytes_per_weight: float,
    layers: float,
    kv_heads: float,
    head_dim: float,
    kv_bytes_per_element: float,
    memory_per_gpu: float,
    bandwidth_per_gpu: float,
    flops_per_gpu: float,
    gpus: int,
    mbu: ArrayLike,
    mfu: ArrayLike,
    memory_utilization: float,
    max_num_seqs: int,
    input_tokens: float,
    cached_input_share: ArrayLike,
    output_tokens: float,
    ttft_slo_s: float,
    tpot_slo_s: float,
) -> ReplicaCapacity:
    """Modelled capacity of a replica of ``gpus`` GPUs (tensor parallel, ideal scaling).

    KV memory is reserved for a full sequence (input + output); decode steps read the
    mean context (input + output / 2). Cached input skips prefill (prefix caching).

    Examples
    --------
    >>> c = roofline_capacity(parameters=8.03e9, bytes_per_weight=2, layers=32, kv_heads=8,
    ...     head_dim=128, kv_bytes_per_element=2, memory_per_gpu=80e9, bandwidth_per_gpu=3.35e12,
    ...     flops_per_gpu=989e12, gpus=1, mbu=0.6, mfu=0.4, memory_utilization=0.9,
    ...     max_num_seqs=256, input_tokens=1000, cached_input_share=0, output_tokens=200,
    ...     ttft_slo_s=1.0, tpot_slo_s=0.05)
    >>> c.limit, c.slo_met, c.batch, round(c.output_tokens_per_s)
    ('tpot-slo', True, 152.0, 3055)

    The TPOT objective binds at 152 sequences; prefill takes ~62 % of the replica's time.
    ``mbu``, ``mfu`` and ``cached_input_share`` may be arrays (Monte Carlo draws); the
    figures are then arrays of their shape.

    >>> roofline_capacity(parameters=8.03e9, bytes_per_weight=2, layers=32, kv_heads=8,
    ...     head_dim=128, kv_bytes_per_element=2, memory_per_gpu=80e9, bandwidth_per_gpu=3.35e12,
    ...     flops_per_gpu=989e12, gpus=1, mbu=[0.6, 0.3], mfu=0.4, memory_utilization=0.9,
    ...     max_num_seqs=256, input_tokens=1000, cached_input_share=0, output_tokens=200,
    ...     ttft_slo_s=1.0, tpot_slo_s=0.05).batch.tolist()
    [152.0, 98.0]
    """
    weights = float(weight_bytes(parameters, bytes_per_weight))
    kv = float(kv_bytes_per_token(layers, kv_heads, head_dim, kv_bytes_per_element))
    bandwidth, flops, memory = bandwidth_per_gpu * gpus, flops_per_gpu * gpus, memory_per_gpu * gpus
    seq_len = input_tokens + output_tokens
    kv_limit = int(max(0.0, (memory * memory_utilization - weights) // (kv * seq_len))) if kv > 0 else max_num_seqs
    cap = max(1, min(kv_limit, max_num_seqs))
    prefill = prefill_tokens_per_second(parameters, flops, mfu)
    prompt = input_tokens * (1.0 - np.asarray(cached_input_share, float))

    def operating_point(batch: NDArray[np.float64]):
        step = decode_step_seconds(
            batch, weights, kv, input_tokens + output_tokens / 2.0, bandwidth, mbu, parameters, flops, mfu
        )
        requests_per_s = 1.0 / (prompt / prefill + output_tokens * step / batch)
        tpot = step / (1.0 - requests_per_s * prompt / prefill)
        return step, requests_per_s, tpot

    # The largest batch meeting the TPOT objective, in closed form. With a = prompt / prefill
    # (prefill seconds per request), r = b / (a b + out step) and TPOT = step / (1 - r a)
    # simplify to TPOT(b) = a b / out + max(M0 + b M1, b C): increasing and piecewise linear
    # in b, so TPOT <= S holds up to b = min((S - M0) / (a / out + M1), S / (a / out + C)).
    # Element-wise, so one estimate and a million Monte Carlo draws of MBU and MFU share it.
    fixed_step, per_sequence_step, compute_step = _decode_step_terms(  # M0, M1, C
        weights, kv, input_tokens + output_tokens / 2.0, bandwidth, mbu, parameters, flops, mfu
    )
    prefill_per_token = prompt / prefill / output_tokens  # a / out
    with np.errstate(divide="ignore", invalid="ignore"):  # zero denominators: no bound from that side
        largest = np.fmin(
            (tpot_slo_s - fixed_step) / (prefill_per_token + per_sequence_step),
            tpot_slo_s / (prefill_per_token + compute_step),
        )
    ok_batch = np.floor(np.minimum(np.where(largest > 0, largest, 0.0), float(cap)))  # NaN: no batch
    # Rounding can put the closed form one off the TPOT test itself; let the test settle it
    # (both neighbours in one evaluation).
    meets_here, meets_next = operating_point(np.maximum(np.stack([ok_batch, ok_batch + 1.0]), 1.0))[2] <= tpot_slo_s
    ok_batch = ok_batch + ((ok_batch < cap) & meets_next) - ((ok_batch >= 1) & ~meets_here)
    met_tpot = ok_batch >= 1
    batch = np.maximum(ok_batch, 1.0)
    step, requests_per_s, tpot = operating_point(batch)
    ttft = prompt / prefill + step
    slo_met = met_tpot & (ttft <= ttft_slo_s)
    limits = np.array(["tpot-slo-unmet", "tpot-slo", "kv-cache" if kv_limit <= max_num_seqs else "max-num-seqs"])
    limit = limits[met_tpot * (1 + (batch >= cap))]
    scalar = batch.ndim == 0
    value = float if scalar else np.asarray
    return ReplicaCapacity(
        basis="modelled",
        gpus_per_replica=gpus,
        requests_per_s=value(requests_per_s),
        output_tokens_per_s=value(requests_per_s * output_tokens),
        batch=value(batch),
        ttft_ms=value(ttft * 1e3),
        tpot_ms=value(tpot * 1e3),
        slo_met=bool(slo_met) if scalar else slo_met,
        limit=str(limit) if scalar else limit,
        source=f"roofline: MBU {drawn(mbu)}, MFU {drawn(mfu)}, memory utilisation {memory_utilization:g}",
    )


def replicas_needed(peak_requests_per_s: ArrayLike, replica_requests_per_s: ArrayLike, max_utilization: ArrayLike):
    """Replicas to serve a peak rate while running each at most at ``max_utilization``.

    ``ceil(peak / (capacity x max_utilization))``; zero load needs zero replicas.

    Examples
    --------
    >>> replicas_needed([0, 1, 8, 8.01], 10, 0.8).tolist()
    [0.0, 1.0, 1.0, 2.0]
    """
    per_replica = np.asarray(replica_requests_per_s, float) * np.asarray(max_utilization, float)
    need = np.asarray(peak_requests_per_s, float) / per_replica
    if not (isinstance(need, np.ndarray) and need.ndim):  # a scalar: nothing to save by working in place
        return np.ceil(need - 1e-9)
    need -= 1e-9  # tolerate float noise so that exactly-full replicas do not round up
    return np.ceil(need, out=need)
