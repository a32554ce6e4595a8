"""Serving capacity of one replica (a tensor-parallel group of GPUs): the roofline of a modern
continuous-batching engine, and its latency under Poisson arrivals.

The physics, after the standard LLM inference roofline (Pope et al., "Efficiently Scaling
Transformer Inference", MLSys 2023) as engines with chunked prefill run it (vLLM; Agrawal et
al., "Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve", OSDI 2024):

* A **step** serves ``B`` decode tokens and a chunk of prefill tokens together, within the
  engine's token budget. Its time is the larger of its memory time (weights read once, plus
  each decoding sequence's KV cache) and its compute time (2 x active parameters FLOPs per
  token plus attention), plus the tensor-parallel all-reduces and the engine's per-step
  overhead: :func:`step_seconds`.
* In steady state every output token of a decoding sequence costs one step, so TPOT is the
  step time, and a request's prompt is prefilled in the budget the decodes leave.
* The **SLO capacity** is the largest Poisson arrival rate at which the p95 TPOT and p95
  TTFT meet the objective (:func:`slo_capacity`). The number of sequences in flight is
  Poisson (an M/G/infinity system: Takacs, 1962), so its 95th percentile is taken with the
  normal approximation ``m + 1.645 sqrt(m)``; prefill shares the leftover budget like a
  processor-sharing queue, whose mean response is ``service / (1 - rho)`` (Kleinrock, 1967).

Units: bytes, seconds, bytes/s, FLOP/s, tokens. Every function broadcasts its array
arguments, so one estimate and a million Monte Carlo draws of the efficiencies share it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from costmodel.text import drawn, provenance

Array = NDArray[np.float64]
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
Z95 = 1.6448536269514722  # standard normal 95th percentile
LIMITS = ("tpot-slo", "ttft-slo", "kv-cache", "max-num-seqs", "token-budget")

__all__ = [
    "TENSOR_PARALLEL_SIZES",
    "Load",
    "Replica",
    "ReplicaCapacity",
    "all_to_all_seconds",
    "allreduce_seconds",
    "closed_form_bound",
    "concurrency_p95",
    "decode_step_seconds",
    "frontier",
    "kv_bytes_per_token",
    "latencies",
    "max_throughput",
    "mla_kv_bytes_per_token",
    "offline_throughput",
    "padded_batch",
    "prefill_wait",
    "replicas_needed",
    "sequence_slots",
    "slo_capacity",
    "step_seconds",
    "weight_bytes",
    "weights_read_per_step",
]


def weight_bytes(parameters: ArrayLike, bytes_per_weight: ArrayLike) -> Array:
    """Bytes of model weights: ``parameters x bytes per weight``.

    Examples
    --------
    >>> float(weight_bytes(8.03e9, 2.0)) / 1e9  # Llama-3.1-8B in BF16, GB
    16.06
    """
    return np.asarray(parameters, dtype=float) * np.asarray(bytes_per_weight, dtype=float)


def kv_bytes_per_token(
    layers: ArrayLike, kv_heads: ArrayLike, head_dim: ArrayLike, bytes_per_element: ArrayLike = 2.0
) -> Array:
    """KV-cache bytes per token of grouped-query attention: ``2 (K, V) x layers x kv_heads x head_dim x bytes``.

    Examples
    --------
    >>> float(kv_bytes_per_token(32, 8, 128)) / 1024  # Llama-3.1-8B, BF16: KiB
    128.0
    >>> float(kv_bytes_per_token(80, 8, 128, 1.0)) / 1024  # Llama-3.1-70B, FP8 KV cache
    160.0
    """
    return (
        2.0
        * np.asarray(layers, float)
        * np.asarray(kv_heads, float)
        * np.asarray(head_dim, float)
        * np.asarray(bytes_per_element, float)
    )


def mla_kv_bytes_per_token(
    layers: ArrayLike, kv_lora_rank: ArrayLike, rope_head_dim: ArrayLike, bytes_per_element: ArrayLike = 2.0
) -> Array:
    """KV-cache bytes per token of multi-head latent attention (DeepSeek-V2/V3): one compressed
    latent and one decoupled RoPE key per layer, ``layers x (kv_lora_rank + rope_head_dim) x bytes``.

    Examples
    --------
    >>> float(mla_kv_bytes_per_token(61, 512, 64)) / 1024  # DeepSeek-V3, BF16: KiB
    68.625
    """
    return (
        np.asarray(layers, float)
        * (np.asarray(kv_lora_rank, float) + np.asarray(rope_head_dim, float))
        * np.asarray(bytes_per_element, float)
    )


def weights_read_per_step(
    weight_bytes: ArrayLike,
    expert_bytes: ArrayLike,
    experts: ArrayLike,
    experts_per_token: ArrayLike,
    tokens: ArrayLike,
) -> Array:
    """Weight bytes one step reads: the dense part always, each routed expert only if a token
    of the step was routed to it.

    With ``E`` experts of which each token picks ``k``, an expert is untouched by ``n`` tokens
    with probability ``(1 - k/E)^n`` (routing taken as uniform), so the step reads
    ``dense + experts x (1 - (1 - k/E)^n)``. Dense models (``E = 0``) read every weight.

    Examples
    --------
    >>> float(weights_read_per_step(16e9, 0, 0, 0, 1)) / 1e9  # dense: all of it
    16.0
    >>> [round(float(x) / 1e9, 1) for x in weights_read_per_step(671e9, 654e9, 256, 8, [1, 64, 4096])]
    [37.4, 585.3, 671.0]
    """
    e = np.asarray(experts, float)
    share = np.divide(
        experts_per_token, e, out=np.zeros(np.broadcast_shapes(np.shape(experts_per_token), e.shape)), where=e > 0
    )
    touched = np.where(e > 0, 1.0 - np.power(1.0 - share, np.asarray(tokens, float)), 1.0)
    dense = np.asarray(weight_bytes, float) - np.asarray(expert_bytes, float)
    return dense + np.asarray(expert_bytes, float) * touched


def allreduce_seconds(
    tokens: ArrayLike,
    hidden: ArrayLike,
    activation_bytes: ArrayLike,
    layers: ArrayLike,
    gpus: ArrayLike,
    link_bandwidth: ArrayLike,
    latency: ArrayLike,
) -> Array:
    """Tensor-parallel communication of one step: two all-reduces per layer (after attention and
    after the MLP) of ``tokens x hidden x activation_bytes`` each. A ring all-reduce over ``g``
    GPUs sends ``2 (g - 1) / g`` of the payload per GPU over its link (one direction, bytes/s),
    plus a fixed latency per all-reduce. One GPU communicates nothing.

    ``2 x layers x (2 (g - 1) / g x payload / link_bandwidth + latency)``

    Examples
    --------
    Llama-3.1-70B (80 layers, hidden 8,192), 256 tokens in BF16 over NVLink (450 GB/s a
    direction, 10 us per all-reduce) on 2 GPUs: 3.1 ms; one GPU: none.

    >>> [round(float(s) * 1e3, 2) for s in allreduce_seconds(256, 8192, 2, 80, [2, 1], 450e9, 10e-6)]
    [3.09, 0.0]
    """
    g = np.asarray(gpus, float)
    if not np.any(g > 1):  # one GPU per replica: no communication (the common case; skip the tables)
        return np.zeros(np.broadcast_shapes(g.shape, np.shape(tokens)))
    payload = np.asarray(tokens, float) * np.asarray(hidden, float) * np.asarray(activation_bytes, float)
    link = np.asarray(link_bandwidth, float)
    with np.errstate(divide="ignore"):  # no link at all: infinitely slow, never chosen
        transfer = 2.0 * (g - 1.0) / g * payload / link
    per_reduce = transfer + np.asarray(latency, float)
    return np.where(g > 1, 2.0 * np.asarray(layers, float) * per_reduce, 0.0)


def all_to_all_seconds(
    tokens: ArrayLike,
    experts_per_token: ArrayLike,
    hidden: ArrayLike,
    activation_bytes: ArrayLike,
    moe_layers: ArrayLike,
    gpus: ArrayLike,
    link_bandwidth: ArrayLike,
    latency: ArrayLike,
) -> Array:
    """Expert-parallel communication of one step: per MoE layer, each token's hidden state is sent
    to the ``k`` experts it is routed to and their outputs come back (dispatch and combine). With
    experts spread over ``g`` GPUs, each GPU sends ``(tokens / g) x k x hidden x bytes x (g - 1) / g``
    each way over its link.

    ``2 x moe_layers x (tokens / g x k x hidden x bytes x (g - 1) / g / link_bandwidth + latency)``

    Examples
    --------
    Qwen3-235B-A22B (94 MoE layers, hidden 4,096, 8 experts a token), 2,048 tokens on 8 GPUs
    over NVLink (450 GB/s a direction, 8 us): 256 x 8 x 4,096 x 2 x 7/8 = 14.7 MB a GPU each way, 33 us
    + 8 us, twice in each of 94 layers: 7.6 ms.

    >>> round(float(all_to_all_seconds(2048, 8, 4096, 2, 94, 8, 450e9, 8e-6)) * 1e3, 1)
    7.6
    """
    g = np.asarray(gpus, float)
    if not np.any(g > 1):
        return np.zeros(np.broadcast_shapes(g.shape, np.shape(tokens)))
    per_gpu = (
        np.asarray(tokens, float)
        / g
        * np.asarray(experts_per_token, float)
        * np.asarray(hidden, float)
        * np.asarray(activation_bytes, float)
        * (g - 1.0)
        / g
    )
    with np.errstate(divide="ignore"):
        transfer = per_gpu / np.asarray(link_bandwidth, float)
    return np.where(g > 1, 2.0 * np.asarray(moe_layers, float) * (transfer + np.asarray(latency, float)), 0.0)


def padded_batch(batch: ArrayLike, sizes: tuple[int, ...], schedulers: int = 1) -> Array:
    """Sequences a decode-only step computes when it runs a CUDA graph captured with padding
    (TensorRT-LLM's ``cuda_graph_config`` with ``enable_padding: true``): each scheduler's share
    of ``batch`` rounded up to the smallest captured size that holds it; a share above the
    largest runs without a graph, as it is. No ``sizes``: no padding.

    What the padded sequences cost: :meth:`StepCost.padding`.

    Examples
    --------
    1,500 sequences over 8 attention data-parallel ranks: 187.5 a rank, padded to 256 a rank.

    >>> sizes = (1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048)
    >>> padded_batch([1500, 3000, 20000], sizes, 8).tolist()
    [2048.0, 3072.0, 20000.0]
    >>> padded_batch(100, ()).tolist()
    100.0
    """
    b = np.asarray(batch, float)
    if not sizes:
        return b
    captured = np.asarray(sorted(sizes), float)
    share = b / schedulers
    up = captured[np.minimum(np.searchsorted(captured, share), captured.size - 1)]
    return np.where(share <= captured[-1], up, share) * schedulers


@dataclass(frozen=True)
class Replica:
    """One replica: a model in its weight format on ``gpus`` GPUs under one serving engine.

    Byte counts are for the whole model; the efficiencies may be arrays of Monte Carlo draws.
    A dense model is split by tensor parallelism: weights and KV cache divided over the GPUs,
    two all-reduces a layer. A mixture-of-experts model on several GPUs runs as engines run
    large MoE models (TensorRT-LLM's attention data parallelism with expert parallelism; vLLM
    and SGLang offer the same): the experts are divided over the GPUs, the dense part is copied
    on each, every GPU holds the full KV cache of its own sequences, and tokens reach their
    experts by all-to-all (:attr:`expert_parallel`).
    """

    weight_bytes: float  # all weights, bytes
    expert_bytes: float  # routed-expert share of weight_bytes (0 for a dense model)
    experts: int  # routed experts (0 for a dense model)
    experts_per_token: int
    active_parameters: float  # parameters a token's forward pass uses (FLOPs = 2 x this)
    expert_active_parameters: float  # of which in routed experts (0 for a dense model)
    layers: int
    hidden: int  # residual width: the all-reduce payload per token
    attention_width: float  # query heads x head dim: attention FLOPs per token of context
    kv_bytes_per_token: float  # all layers, in the KV-cache dtype
    gpus: int
    memory: float  # bytes per GPU
    bandwidth: float  # bytes/s per GPU
    flops: float  # FLOP/s per GPU at the weights' compute precision
    link_bandwidth: float  # bytes/s per GPU per direction (tensor-parallel interconnect)
    allreduce_latency: float  # seconds per all-reduce
    memory_utilization: float  # share of GPU memory the engine may use
    reserved_memory: float  # bytes per GPU the engine keeps for activations, CUDA graphs, buffers
    max_num_seqs: int  # engine cap on sequences in flight
    max_batched_tokens: int  # engine token budget per step (decode + prefill)
    step_overhead: ArrayLike  # seconds per step the engine spends outside GPU kernels
    mbu: ArrayLike  # achieved share of memory bandwidth
    decode_mfu: ArrayLike  # achieved share of FLOPs on decode tokens
    prefill_mfu: ArrayLike  # achieved share of FLOPs on prefill tokens
    expert_mfu: ArrayLike = 1.0  # achieved share of FLOPs in routed-expert GEMMs (MoE)
    expert_mbu: ArrayLike = 1.0  # achieved share of bandwidth reading routed-expert weights (MoE)
    moe_layers: int = 0  # layers with routed experts
    activation_bytes: float = 2.0  # BF16 activations
    windowed_layers: int = 0  # layers with sliding-window attention (they attend to and cache `window` tokens)
    window: float = float("inf")  # tokens a sliding-window layer attends to
    fraction_of_free: bool = False  # memory_utilization is of the memory left after weights and reserve (TensorRT-LLM)
    graph_batch_sizes: tuple[int, ...] = ()  # CUDA graphs captured with padding, per scheduler: padded_batch

    def attended(self, context: ArrayLike) -> Array:
        """Layer-positions a token attends to at ``context`` tokens: every layer the whole context,
        a sliding-window layer at most its window.

        >>> r = Replica(0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1,
        ...             windowed_layers=2, window=128)
        >>> r.attended([100, 1000]).tolist()  # 4 x 100; 2 x 1000 + 2 x 128
        [400.0, 2256.0]
        """
        c = np.asarray(context, float)
        return (self.layers - self.windowed_layers) * c + self.windowed_layers * np.minimum(c, self.window)

    def kv_bytes(self, context: ArrayLike) -> Array:
        """KV-cache bytes of one sequence at ``context`` tokens (a sliding-window layer keeps its window only)."""
        return self.kv_bytes_per_token / self.layers * self.attended(context)

    @property
    def expert_parallel(self) -> bool:
        """MoE on several GPUs: experts divided, dense part and attention copied (data parallel)."""
        return self.experts > 0 and self.gpus > 1

    @property
    def schedulers(self) -> int:
        """Independent schedulers: one per GPU under attention data parallelism (each with its own
        ``max_num_seqs`` and token budget), else one for the replica."""
        return self.gpus if self.expert_parallel else 1

    @property
    def sequence_cap(self) -> int:
        """The engine's cap on sequences in flight in the whole replica."""
        return self.max_num_seqs * self.schedulers

    @property
    def token_budget(self) -> int:
        """Tokens one step of the whole replica may carry (decode + prefill)."""
        return self.max_batched_tokens * self.schedulers

    def kv_room_per_gpu(self) -> float:
        """Bytes per GPU the KV cache may take: ``memory_utilization`` of the whole memory less the
        reserve and the weights (vLLM's ``gpu_memory_utilization``, SGLang's ``mem_fraction_static``),
        or of what the weights and reserve leave free (TensorRT-LLM's ``free_gpu_memory_fraction``)."""
        left = self.memory - self.reserved_memory - self.resident_bytes_per_gpu
        if self.fraction_of_free:
            return left * self.memory_utilization
        return self.memory * self.memory_utilization - self.reserved_memory - self.resident_bytes_per_gpu

    @property
    def resident_bytes_per_gpu(self) -> float:
        """Weight bytes each GPU holds."""
        if self.expert_parallel:
            return (self.weight_bytes - self.expert_bytes) + self.expert_bytes / self.gpus
        return self.weight_bytes / self.gpus


@dataclass(frozen=True)
class Load:
    """What each request asks: prompt tokens (a share of them served from the prefix cache) and
    output tokens."""

    input_tokens: float
    output_tokens: float
    cached_input_share: ArrayLike = 0.0

    @property
    def prompt(self) -> Array:
        """Prompt tokens that must be prefilled (not in the prefix cache)."""
        return self.input_tokens * (1.0 - np.asarray(self.cached_input_share, float))

    @property
    def decode_context(self) -> float:
        """Mean context a decode step attends to: the prompt and half the output."""
        return self.input_tokens + self.output_tokens / 2.0


def step_seconds(r: Replica, decode_tokens: ArrayLike, prefill_tokens: ArrayLike, load: Load) -> Array:
    """Seconds of one mixed step serving ``decode_tokens`` sequences and ``prefill_tokens``
    prompt tokens, summed kernel class by kernel class as a GPU runs them one after another:

    ``weights read + linear FLOPs + decode attention + prefill attention + communication + overhead``

    * linear layers: the weights the step reads (:func:`weights_read_per_step`) at
      ``bandwidth x mbu``, plus ``2 x active parameters`` FLOPs a token at ``decode_mfu``
      (decode tokens) or ``prefill_mfu`` (prefill tokens) of the GPU's FLOP/s, a routed
      expert's share at ``expert_mfu`` (small grouped GEMMs). Memory and compute time are
      added, not overlapped: at the batch sizes of serving the GEMMs sit near the ridge point,
      where neither roofline is reached (refitted each way on the published runs of
      ``data/validation/serving_throughput.csv``, the larger of the two overstates 5 of the 61
      held-out rows by more than 25 %, the worst by 53 %; the sum none, the worst by 24 %);
    * decode attention reads each sequence's KV cache at the mean context, or computes
      ``4 x layers x attention width x context`` FLOPs, whichever is longer (a sliding-window
      layer reads and attends to at most its window: :meth:`Replica.attended`);
    * prefill attention computes the same FLOPs against half the prompt on average and writes
      the prompt's KV cache;
    * communication: :func:`allreduce_seconds` (tensor parallel) or :func:`all_to_all_seconds`
      (experts spread over the GPUs).

    Tensor parallelism divides every term over the replica's GPUs. Under attention data
    parallelism (:attr:`Replica.expert_parallel`) each GPU runs its own sequences through its
    own copy of the dense layers and the step waits for the busiest GPU: decode tokens spread
    evenly, but a prompt is prefilled on one GPU, in chunks of at most its token budget, so the
    busiest GPU carries ``max(p / g, min(prompt, budget, p))`` prefill tokens.

    Examples
    --------
    Llama-3.1-8B BF16 on one H100 at 100 % efficiency, batch 1: the bandwidth ceiling of
    3.35e12 / 16.06e9 = ~209 tokens/s.

    >>> r = Replica(16.06e9, 0, 0, 0, 8.03e9, 0, 32, 4096, 4096, 131072, 1, 80e9, 3.35e12, 989e12, 0, 0,
    ...             0.9, 0, 256, 8192, 0.0, 1.0, 1.0, 1.0)
    >>> round(1 / float(step_seconds(r, 1, 0, Load(0, 1))))
    208
    """
    return step_cost(r, load).seconds(decode_tokens, prefill_tokens)


@dataclass(frozen=True)
class StepCost:
    """:func:`step_seconds` with everything that does not depend on the step's tokens worked out
    once (arrays over Monte Carlo draws): a step is then a handful of operations, which the SLO
    search evaluates dozens of times. Each term is seconds (per token where named)."""

    fixed: Array  # dense weights read, overhead, the communication's latency
    per_decode: Array  # per decode token on the busiest GPU: linear FLOPs, KV read or attention FLOPs
    per_prefill: Array  # per prefill token on the busiest GPU: linear and attention FLOPs, KV write
    per_token: Array  # per token of the step: communication payload, routed-expert FLOPs
    experts_read: Array  # reading every routed expert once (0 for a dense model)
    experts: int
    experts_per_token: int
    gpus: int
    prefill_cap: Array | None  # attention data parallel: a prompt's prefill stays on one GPU, up to this chunk
    graph_batch_sizes: tuple[int, ...] = ()  # Replica.graph_batch_sizes
    schedulers: int = 1  # Replica.schedulers

    def seconds(self, decode_tokens: ArrayLike, prefill_tokens: ArrayLike) -> Array:
        """A step run as it comes (a mixed step: no CUDA graph)."""
        b = np.asarray(decode_tokens, float)
        p = np.asarray(prefill_tokens, float)
        g = float(self.gpus)
        p_gpu = p / g if self.prefill_cap is None else np.maximum(p / g, np.minimum(self.prefill_cap, p))
        return self.fixed + self.per_decode * (b / g) + self.per_prefill * p_gpu + self._tokens(b + p)

    def decode_only(self, decode_tokens: ArrayLike) -> Array:
        """A step of decode tokens alone, which a CUDA graph runs: :meth:`seconds` plus what
        padding adds (:meth:`padding`)."""
        b = np.asarray(decode_tokens, float)
        return self.seconds(b, 0.0) + self.padding(b)

    def padding(self, decode_tokens: ArrayLike) -> Array | float:
        """What padding ``decode_tokens`` up to a captured CUDA graph adds to a decode-only step
        (:func:`padded_batch`; 0 without graphs captured with padding). The padded sequences cost
        what scales with the step's tokens beyond its linear layers: communication and routed-expert
        work. They attend to nothing, and the dense GEMMs are charged for the real sequences only:
        at decode batch sizes those are bound by reading the weights, and the padded rows mostly
        fill tiles the kernels compute anyway (docs/benchmarks.md)."""
        if not self.graph_batch_sizes:
            return 0.0
        b = np.asarray(decode_tokens, float)
        return self._tokens(padded_batch(b, self.graph_batch_sizes, self.schedulers)) - self._tokens(b)

    def _tokens(self, tokens: Array) -> Array:
        """What scales with every token the step carries: the communication payload, routed-expert
        FLOPs, and the share of routed experts the tokens touch."""
        if not self.experts:
            return self.per_token * tokens
        touched = weights_read_per_step(1.0, 1.0, self.experts, self.experts_per_token, tokens)
        return self.per_token * tokens + self.experts_read * touched


def step_cost(r: Replica, load: Load) -> StepCost:
    """The terms of :func:`step_seconds` for replica ``r`` at request shape ``load``."""
    g = float(r.gpus)
    bandwidth = r.bandwidth * np.asarray(r.mbu, float)  # per GPU
    decode_mfu, prefill_mfu = np.asarray(r.decode_mfu, float), np.asarray(r.prefill_mfu, float)
    dense_bytes = r.weight_bytes - r.expert_bytes
    dense_read = dense_bytes if r.expert_parallel else dense_bytes / g  # attention DP: each GPU its own copy
    dense = 2.0 * (r.active_parameters - r.expert_active_parameters)
    per_position = 4.0 * r.attention_width  # FLOPs a token spends on one position of context in one layer
    if r.expert_parallel:

        def comm(tokens):
            return all_to_all_seconds(
                tokens,
                r.experts_per_token,
                r.hidden,
                r.activation_bytes,
                r.moe_layers,
                r.gpus,
                r.link_bandwidth,
                r.allreduce_latency,
            )
    else:

        def comm(tokens):
            return allreduce_seconds(
                tokens, r.hidden, r.activation_bytes, r.layers, r.gpus, r.link_bandwidth, r.allreduce_latency
            )

    comm0 = comm(0.0)  # both are linear in the tokens: a fixed latency and a per-token payload
    per_decode = dense / (decode_mfu * r.flops) + np.maximum(
        r.kv_bytes(load.decode_context) / bandwidth,
        per_position * r.attended(load.decode_context) / (decode_mfu * r.flops),
    )
    per_prefill = (
        dense / (prefill_mfu * r.flops)
        + per_position * r.attended(load.input_tokens / 2.0) / (prefill_mfu * r.flops)
        + r.kv_bytes_per_token / bandwidth
    )
    per_token = (comm(1.0) - comm0) + 2.0 * r.expert_active_parameters / (g * r.flops * np.asarray(r.expert_mfu, float))
    experts_read = r.expert_bytes / (g * r.bandwidth * np.asarray(r.expert_mbu, float))
    fixed = dense_read / bandwidth + comm0 + np.asarray(r.step_overhead, float)
    cap = np.minimum(load.prompt, r.max_batched_tokens) if r.expert_parallel else None
    return StepCost(
        fixed,
        per_decode,
        per_prefill,
        per_token,
        experts_read,
        r.experts,
        r.experts_per_token,
        r.gpus,
        cap,
        r.graph_batch_sizes,
        r.schedulers,
    )


def decode_step_seconds(r: Replica, batch: ArrayLike, load: Load) -> Array:
    """A pure decode step of ``batch`` sequences (no prefill in it), padded where the replica
    runs CUDA graphs with padding (:meth:`StepCost.decode_only`)."""
    return step_cost(r, load).decode_only(batch)


def sequence_slots(r: Replica, load: Load) -> tuple[Array, Array]:
    """Sequences a replica can hold at once, and which limit binds (index into ``LIMITS``).

    The least of: the KV cache (usable memory after the weights and the engine's reserve, a full
    sequence reserved per request), the engine's ``max_num_seqs``, and the token budget (each step must fit every
    decode token plus the prefill the arrivals bring, ``B (1 + prompt / output)``).

    Examples
    --------
    >>> r = Replica(16.06e9, 0, 0, 0, 8.03e9, 0, 32, 4096, 4096, 131072, 1, 80e9, 3.35e12, 989e12, 0, 0,
    ...             0.9, 0, 256, 8192, 0.0, 1.0, 1.0, 1.0)
    >>> [int(x) for x in sequence_slots(r, Load(1000, 200))]  # 355 fit the KV cache; max_num_seqs binds
    [256, 3]
    """
    usable = r.kv_room_per_gpu()
    seq = load.input_tokens + load.output_tokens
    if r.kv_bytes_per_token <= 0:
        kv_limit = np.inf
    elif r.expert_parallel:  # each GPU holds whole sequences
        kv_limit = r.gpus * np.floor(np.maximum(usable, 0.0) / r.kv_bytes(seq))
    else:
        kv_limit = np.floor(np.maximum(usable * r.gpus, 0.0) / r.kv_bytes(seq))
    budget_limit = np.floor(r.token_budget / (1.0 + load.prompt / load.output_tokens))
    limits = np.stack(
        np.broadcast_arrays(np.float64(kv_limit), np.float64(r.sequence_cap), np.asarray(budget_limit, float))
    )
    which = np.argmin(limits, axis=0)
    return limits.min(axis=0), np.asarray(which + 2)  # LIMITS[2:] are kv-cache, max-num-seqs, token-budget


def concurrency_p95(mean: ArrayLike) -> Array:
    """95th percentile of the sequences in flight when their mean is ``mean``: Poisson (M/G/inf),
    normal approximation ``m + 1.645 sqrt(m)``.

    Examples
    --------
    >>> [round(float(x), 1) for x in concurrency_p95([4, 100])]
    [7.3, 116.4]
    """
    m = np.asarray(mean, float)
    return m + Z95 * np.sqrt(m)


def prefill_wait(rate: ArrayLike, service_s: ArrayLike) -> tuple[Array, Array]:
    """Mean and p95 wait (s) of a prompt for the prefill work queued ahead of it: prompts arrive
    at ``rate`` per second (Poisson) and each takes ``service_s`` of GPU time to prefill, served
    first come first served.

    The prefill queue is M/D/1 with utilisation ``rho = rate x service``: mean wait
    ``W = rho S / (2 (1 - rho))``; a prompt waits at all with probability ``rho`` and then about
    exponentially (the heavy-traffic approximation), so the p95 is
    ``(W / rho) ln(rho / 0.05)`` where ``rho > 0.05``, else 0. ``rho`` is held below 1
    (at 1 the queue grows without bound and the wait is 1e3 times the service).

    Examples
    --------
    Half the GPU's time on prefill, 0.4 s a prompt: 0.2 s mean wait, 0.92 s at p95.

    >>> [round(float(x), 2) for x in prefill_wait(1.25, 0.4)]
    [0.2, 0.92]
    >>> [round(float(x), 4) for x in prefill_wait(0.1, 0.4)]  # 4 % busy: a p95 prompt does not wait
    [0.0083, 0.0]
    """
    service = np.asarray(service_s, float)
    rho = np.clip(np.asarray(rate, float) * service, 0.0, 1.0 - 5e-4)
    mean = rho * service / (2.0 * (1.0 - rho))
    with np.errstate(divide="ignore"):
        p95 = np.where(rho > 0.05, service / (2.0 * (1.0 - rho)) * np.log(np.maximum(rho, 0.05) / 0.05), 0.0)
    return mean, p95


def latencies(r: Replica, load: Load, mean_in_flight: ArrayLike, cost: StepCost | None = None) -> dict[str, Array]:
    """Mean and p95 TPOT, TTFT and end-to-end latency (seconds) with ``mean_in_flight`` sequences
    decoding on average, and the request rate that gives it.

    * rate: Little's law, ``m = rate x output tokens x step(m)``;
    * TPOT: the step time at the mean and at the p95 concurrency (:func:`concurrency_p95`),
      the step's prefill being the arrivals' mean ``rate x prompt`` per second;
    * TTFT: the prompt first waits, first come first served, for the prefill work of the
      prompts that arrived before it (:func:`prefill_wait`, each taking the GPU time its tokens
      add to a step); it is then prefilled in the budget the decodes leave,
      ``share = budget - n`` tokens a step, so in ``max(prompt / share, 1)`` steps, each
      carrying its own chunk ``min(prompt, share)`` beside the decodes and the arrivals' mean
      prefill; plus one step of waiting for the step under way. (A step's own chunk is what
      makes an idle replica's TTFT the prompt's prefill time, not a decode step's.)
    * e2e: TTFT plus ``output - 1`` steps.

    ``cost`` is ``step_cost(r, load)`` when the caller has it already.

    Examples
    --------
    >>> r = Replica(16.06e9, 0, 0, 0, 8.03e9, 0, 32, 4096, 4096, 131072, 1, 80e9, 3.35e12, 989e12, 0, 0,
    ...             0.9, 0, 256, 8192, 0.0, 0.7, 0.5, 0.5)
    >>> lat = latencies(r, Load(1000, 200), 64)
    >>> round(float(lat["rate"]), 1), round(float(lat["tpot_p95"]) * 1e3, 1), round(float(lat["ttft_p95"]) * 1e3)
    (13.7, 24.7, 149)
    """
    cost = cost or step_cost(r, load)
    m = np.maximum(np.asarray(mean_in_flight, float), 1e-9)
    p95 = _p95(r, load, cost, m)
    step_mean, rate = p95["step_mean"], p95["rate"]
    share_mean = np.maximum(r.token_budget - m, 1e-9)
    own_mean = cost.seconds(m, p95["prefill"] + np.minimum(load.prompt, share_mean))
    ttft_mean = p95["wait_mean"] + own_mean * np.maximum(load.prompt / share_mean, 1.0) + step_mean
    step_p95, ttft_p95 = p95["step"], p95["ttft"]
    return {
        "rate": rate,
        "tpot_mean": step_mean,
        "tpot_p95": step_p95,
        "ttft_mean": ttft_mean,
        "ttft_p95": ttft_p95,
        "e2e_p95": ttft_p95 + (load.output_tokens - 1.0) * step_p95,
        "prefill_load": p95["prefill_load"],
    }


def _p95(r: Replica, load: Load, cost: StepCost, m: Array) -> dict[str, Array]:
    """The p95 side of :func:`latencies` at mean concurrency ``m``: what the SLO search tests."""
    n95 = concurrency_p95(m)
    prefill = m * (load.prompt / load.output_tokens)  # prefill tokens per step, on average
    step = cost.seconds(n95, prefill)
    step_mean = cost.seconds(m, prefill)
    rate = m / (load.output_tokens * step_mean)  # Little's law
    # the GPU time one prompt's tokens add to the steps it rides in: its place in the prefill queue
    service = cost.seconds(m, prefill + load.prompt) - step_mean
    wait_mean, wait95 = prefill_wait(rate, service)
    share = np.maximum(r.token_budget - n95, 1e-9)  # prompt tokens a step has room for beside the decodes
    own = cost.seconds(n95, prefill + np.minimum(load.prompt, share))  # a step carrying this prompt's chunk
    return {
        "n95": n95,
        "prefill": prefill,
        "step": step,
        "ttft": wait95 + own * np.maximum(load.prompt / share, 1.0) + step,
        "prefill_load": prefill / np.maximum(r.token_budget - m, 1e-9),
        "step_mean": step_mean,
        "rate": rate,
        "wait_mean": wait_mean,
    }


@dataclass(frozen=True)
class ReplicaCapacity:
    """What one replica serves at its operating point, and how that figure was obtained.

    ``ttft_ms``/``tpot_ms`` are p95 at the capacity point (measured: at the probe's level);
    the engine re-states them at the planned load.
    """

    basis: Literal["modelled", "measured"]
    gpus_per_replica: int
    requests_per_s: float
    output_tokens_per_s: float
    batch: float | None  # mean sequences in flight
    ttft_ms: float | None
    tpot_ms: float | None
    slo_met: bool | None
    limit: str
    source: str
    as_of: str | None = None  # date of a measured figure (ISO)
    ttft_mean_ms: float | None = None
    tpot_mean_ms: float | None = None
    e2e_ms: float | None = None  # p95
    calibration: str = ""  # how sure a modelled figure is (the engine's published runs on this GPU)

    @property
    def provenance(self) -> str:
        """Where the figure comes from, and how sure it is: ``source; calibration``."""
        return provenance(self.source, self.calibration)


def max_throughput(r: Replica, load: Load) -> tuple[Array, Array]:
    """Output tokens/s at the most sequences the replica can hold (no latency objective), and the
    limit that binds: what a max-throughput benchmark reports.

    Examples
    --------
    >>> r = Replica(16.06e9, 0, 0, 0, 8.03e9, 0, 32, 4096, 4096, 131072, 1, 80e9, 3.35e12, 989e12, 0, 0,
    ...             0.9, 0, 256, 8192, 0.0, 0.7, 0.5, 0.5)
    >>> round(float(max_throughput(r, Load(1000, 1000))[0]))  # 213 sequences fill the KV cache
    5509

    213 sequences, each step 213 decode and 213 prefill tokens: weights 16.06 GB at 2.35 TB/s
    (6.9 ms) + linear FLOPs 426 x 16.06 GFLOP at 494 TFLOP/s (13.8 ms) + KV reads 213 x 1,500 x
    128 KiB at 2.35 TB/s (17.9 ms) + prefill attention (0.1 ms) = 38.7 ms; 213 / 38.7 ms = 5,509.
    """
    slots, which = sequence_slots(r, load)
    m = np.maximum(slots, 1.0)
    return m / step_seconds(r, m, m * load.prompt / load.output_tokens, load), which


def offline_throughput(r: Replica, load: Load, requests: ArrayLike) -> Array:
    """Output tokens/s of an offline benchmark run (``trtllm-bench throughput``, vLLM's
    ``benchmark_throughput``): ``requests`` identical requests queued at once.

    The replica serves them in waves of its slots ``S`` (:func:`sequence_slots`); the last wave
    holds the ``k`` left over and runs at its own batch, whose steps cost nearly as much (the
    weights are read all the same). ``time = floor(N / S) x output x step(S) + output x step(k)``.
    With many waves it tends to :func:`max_throughput`; with two or three it is well below.
    A wave's step carries its decode tokens and its prompts' prefill spread over its steps, plus
    what padding its decode batch to a CUDA graph adds (:meth:`StepCost.padding`, where the
    replica runs graphs captured with padding).

    Examples
    --------
    >>> r = Replica(16.06e9, 0, 0, 0, 8.03e9, 0, 32, 4096, 4096, 131072, 1, 80e9, 3.35e12, 989e12, 0, 0,
    ...             0.9, 0, 256, 8192, 0.0, 0.7, 0.5, 0.5)
    >>> steady = float(max_throughput(r, Load(1000, 1000))[0])
    >>> [round(float(offline_throughput(r, Load(1000, 1000), n)) / steady, 2) for n in (213, 300, 100_000)]
    [1.0, 0.93, 1.0]
    """
    slots, _ = sequence_slots(r, load)
    s = np.maximum(slots, 1.0)
    n = np.asarray(requests, float)
    full = np.floor(n / s)
    left = n - full * s
    a = load.prompt / load.output_tokens
    cost = step_cost(r, load)

    def wave(k: Array) -> Array:
        return load.output_tokens * (cost.seconds(k, k * a) + cost.padding(k))

    last = np.where(left > 0, wave(np.maximum(left, 1.0)), 0.0)
    return n * load.output_tokens / (full * wave(s) + last)


def closed_form_bound(r: Replica, load: Load, cost: StepCost, slots: ArrayLike, tpot_slo_s: float) -> Array:
    """The largest mean concurrency that meets the TPOT objective, fits the slots and leaves step
    budget, in closed form when the step is linear in its tokens (no routed experts, no attention
    data parallelism); else the slots (an upper bound for the search).

    With ``n95 = m + z sqrt(m)`` and ``a m`` prefill tokens a step, ``step = c0 + kb n95 + kp a m``
    is a quadratic in ``x = sqrt(m)``: ``(kb + kp a) x^2 + kb z x + c0 - S <= 0``; the slots give
    ``x^2 + z x <= slots``; the budget ``a m / (budget - m) < 1``.

    Examples
    --------
    >>> r = Replica(16.06e9, 0, 0, 0, 8.03e9, 0, 32, 4096, 4096, 131072, 1, 80e9, 3.35e12, 989e12, 0, 0,
    ...             0.9, 0, 256, 8192, 0.002, 0.7, 0.5, 0.5)
    >>> load = Load(1000, 200)
    >>> round(float(closed_form_bound(r, load, step_cost(r, load), 256, 0.05)), 1)
    151.4
    """
    slots = np.asarray(slots, float)
    x_slots = 0.5 * (-Z95 + np.sqrt(Z95 * Z95 + 4.0 * np.maximum(slots, 1.0)))
    if cost.experts or cost.prefill_cap is not None:
        return np.maximum(slots, 1.0) + 0.0 * x_slots
    a = np.asarray(load.prompt / load.output_tokens, float)
    g = float(cost.gpus)
    kb, kp = cost.per_decode / g + cost.per_token, cost.per_prefill / g + cost.per_token
    a2, a1, a0 = kb + kp * a, kb * Z95, cost.fixed - tpot_slo_s
    with np.errstate(invalid="ignore"):
        x_tpot = np.where(a0 <= 0, (-a1 + np.sqrt(a1 * a1 - 4.0 * a2 * a0)) / (2.0 * a2), 0.0)
    room = 1.0 - 1e-9
    with np.errstate(divide="ignore"):
        m_budget = np.where(a > 0, room * r.token_budget / (a + room), np.inf)
    return np.minimum(np.minimum(x_tpot, x_slots) ** 2, m_budget)


def slo_capacity(r: Replica, load: Load, ttft_slo_s: float, tpot_slo_s: float, iterations: int = 24) -> ReplicaCapacity:
    """Modelled SLO capacity: the largest Poisson request rate at which p95 TPOT and p95 TTFT meet
    the objective and the p95 concurrency fits the replica's slots (:func:`sequence_slots`).

    Every constraint tightens as the mean concurrency grows. The bound is found in closed form
    where the step is linear in its tokens (:func:`closed_form_bound`), else (and where the TTFT
    objective binds tighter) by false position with bisection steps on the mean concurrency,
    element-wise over Monte Carlo draws: 24 evaluations reach float precision. If even one
    sequence misses an objective, the figures are those of one sequence and ``slo_met`` is False.

    Examples
    --------
    >>> r = Replica(16.06e9, 0, 0, 0, 8.03e9, 0, 32, 4096, 4096, 131072, 1, 80e9, 3.35e12, 989e12, 0, 0,
    ...             0.9, 0, 256, 8192, 0.002, 0.7, 0.5, 0.5)
    >>> c = slo_capacity(r, Load(1000, 200), ttft_slo_s=1.0, tpot_slo_s=0.05)
    >>> c.limit, c.slo_met, round(c.batch), round(c.output_tokens_per_s)
    ('tpot-slo', True, 151, 3147)
    """
    slots, slot_limit = sequence_slots(r, load)
    cost = step_cost(r, load)
    room = 1.0 - 1e-9  # the arrivals' prefill must leave some of the step budget (prefill_load < 1)

    def excess(m: Array) -> Array:
        """How far the tightest constraint is over its limit at mean concurrency ``m`` (<= 0: all met).
        Continuous and increasing in ``m``: what the search finds the root of."""
        at = _p95(r, load, cost, m)
        return (
            np.maximum(
                np.maximum(at["step"] / tpot_slo_s, at["ttft"] / ttft_slo_s),
                np.maximum(at["n95"] / np.maximum(slots, 1.0), at["prefill_load"] / room),
            )
            - 1.0
        )

    shape = np.broadcast_shapes(
        np.shape(r.mbu),
        np.shape(r.decode_mfu),
        np.shape(r.prefill_mfu),
        np.shape(r.step_overhead),
        np.shape(load.cached_input_share),
        np.shape(slots),
        np.shape(r.expert_mfu),
        np.shape(r.expert_mbu),
    )
    floor = np.full(shape, 1e-6)  # the smallest load: one sequence now and then
    # Where the step is linear in its tokens (a dense model under tensor parallelism), TPOT, the
    # slots and the step budget bound the load in closed form; only draws the TTFT objective binds
    # tighter are left to the search below (none, in most scenarios).
    bound = np.broadcast_to(closed_form_bound(r, load, cost, slots, tpot_slo_s), shape) * (1.0 - 1e-12)
    f_bound = np.broadcast_to(excess(bound), shape)
    solved = (f_bound <= 0.0) & (bound > floor)
    f_floor = f_bound if np.all(solved) else np.broadcast_to(excess(floor), shape)
    feasible = solved | (f_floor <= 0.0)
    lo, f_lo = np.where(solved, bound, floor), np.where(solved, f_bound, f_floor)
    hi = np.where(solved | (f_bound > 0.0), bound, np.broadcast_to(np.maximum(slots, 1.0), shape))
    f_hi = np.where(solved | (f_bound > 0.0), f_bound, np.broadcast_to(excess(hi), shape))
    kept = np.zeros(shape)  # +1: the high end was kept last time, -1: the low end (Illinois rule)
    for i in range(0 if np.all(solved | ~feasible) else iterations):
        # false position (Illinois: an end kept twice has its value halved) with a bisection every
        # third step, so the bracket halves at least every three evaluations
        if i % 3 == 2:
            mid = 0.5 * (lo + hi)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                mid = lo - f_lo * (hi - lo) / (f_hi - f_lo)
            inside = (mid > lo) & (mid < hi)
            mid = np.where(inside, mid, 0.5 * (lo + hi))
        f_mid = excess(mid)
        good = f_mid <= 0.0
        f_hi = np.where(good & (kept > 0), 0.5 * f_hi, f_hi)
        f_lo = np.where(~good & (kept < 0), 0.5 * f_lo, f_lo)
        lo, f_lo = np.where(good, mid, lo), np.where(good, f_mid, f_lo)
        hi, f_hi = np.where(good, hi, mid), np.where(good, f_hi, f_mid)
        kept = np.where(good, 1.0, -1.0)
    m = np.where(feasible, lo, 1.0)
    lat = latencies(r, load, m, cost)
    tpot_binds = lat["tpot_p95"] >= tpot_slo_s * (1 - 1e-6)
    ttft_binds = lat["ttft_p95"] >= ttft_slo_s * (1 - 1e-6)
    which = np.where(tpot_binds, 0, np.where(ttft_binds, 1, np.broadcast_to(slot_limit, shape)))
    names = np.array(LIMITS)
    if np.all(feasible):
        limit = names[which]
    else:  # which objective even one sequence misses
        one = latencies(r, load, 1.0, cost)
        which = np.where(feasible, which, np.where(one["tpot_p95"] > tpot_slo_s, 0, 1))
        limit = np.where(feasible, names[which], np.char.add(names[which], "-unmet"))
    scalar = np.ndim(m) == 0

    def value(x: ArrayLike) -> Any:
        return _one_or_draws(x, scalar)

    return ReplicaCapacity(
        basis="modelled",
        gpus_per_replica=int(r.gpus),
        requests_per_s=value(lat["rate"]),
        output_tokens_per_s=value(lat["rate"] * load.output_tokens),
        batch=value(m),
        ttft_ms=value(lat["ttft_p95"] * 1e3),
        tpot_ms=value(lat["tpot_p95"] * 1e3),
        slo_met=value(feasible) if not scalar else bool(feasible),
        limit=str(limit) if scalar else value(limit),
        source=f"roofline: MBU {drawn(r.mbu)}, decode MFU {drawn(r.decode_mfu)}, prefill MFU {drawn(r.prefill_mfu)}, "
        f"memory utilisation {r.memory_utilization:g}",
        ttft_mean_ms=value(lat["ttft_mean"] * 1e3),
        tpot_mean_ms=value(lat["tpot_mean"] * 1e3),
        e2e_ms=value(lat["e2e_p95"] * 1e3),
    )


def _one_or_draws(x: ArrayLike, scalar: bool) -> Any:
    """A :class:`ReplicaCapacity` field: a float for one scenario, an array of Monte Carlo draws
    otherwise (its fields are typed for the first, the common case)."""
    return float(np.asarray(x)) if scalar else np.asarray(x)


def at_load(r: Replica, load: Load, capacity: ReplicaCapacity, utilization: ArrayLike) -> ReplicaCapacity:
    """The capacity's latencies re-stated at a planned share of its SLO capacity (modelled only)."""
    if capacity.basis != "modelled" or capacity.batch is None:
        return capacity
    lat = latencies(r, load, np.asarray(capacity.batch, float) * np.asarray(utilization, float))
    scalar = np.ndim(lat["ttft_p95"]) == 0

    def value(x: ArrayLike) -> Any:
        return _one_or_draws(x, scalar)

    return replace(
        capacity,
        ttft_ms=value(lat["ttft_p95"] * 1e3),
        tpot_ms=value(lat["tpot_p95"] * 1e3),
        ttft_mean_ms=value(lat["ttft_mean"] * 1e3),
        tpot_mean_ms=value(lat["tpot_mean"] * 1e3),
        e2e_ms=value(lat["e2e_p95"] * 1e3),
    )


def frontier(r: Replica, load: Load, points: int = 48) -> dict[str, Array]:
    """The throughput-interactivity frontier (as SemiAnalysis's InferenceMAX draws it): for mean
    concurrencies from one sequence to the replica's slots, output tokens/s per GPU against
    tokens/s per user (``1 / TPOT``), with p95 TPOT and TTFT along it.

    Examples
    --------
    >>> r = Replica(16.06e9, 0, 0, 0, 8.03e9, 0, 32, 4096, 4096, 131072, 1, 80e9, 3.35e12, 989e12, 0, 0,
    ...             0.9, 0, 256, 8192, 0.0, 0.7, 0.5, 0.5)
    >>> f = frontier(r, Load(1000, 200), points=3)
    >>> [round(float(x)) for x in f["per_user"]], [round(float(x)) for x in f["per_gpu"]]
    ([141, 91, 14], [141, 1455, 3496])
    """
    slots, _ = sequence_slots(r, load)
    m = np.geomspace(1.0, max(float(np.max(slots)), 1.0), points)
    lat = latencies(r, load, m)
    return {
        "concurrency": m,
        "per_user": 1.0 / lat["tpot_mean"],
        "per_gpu": lat["rate"] * load.output_tokens / r.gpus,
        "tpot_p95_ms": lat["tpot_p95"] * 1e3,
        "ttft_p95_ms": lat["ttft_p95"] * 1e3,
    }


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
        return np.ceil(need - 1e-9) + 0.0  # + 0.0: no load is 0, not -0
    need -= 1e-9  # tolerate float noise so that exactly-full replicas do not round up
    np.ceil(need, out=need)
    need += 0.0
    return need
