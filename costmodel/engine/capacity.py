"""What one replica of a self-hosted option serves, in every layout it can run in.

A layout is a tensor-parallel size (1, 2, 4 or 8 GPUs per replica). A layout is feasible when
the GPUs' usable memory holds the weights and one full sequence, and the tensor-parallel size
divides the attention heads. Each feasible layout gets its capacity: a measured figure where
the option has one, else the roofline (:mod:`costmodel.core.roofline`) with the engine's
calibrated efficiencies (``data/catalog/engines.yaml``) and the scenario's overrides.
Which layout serves is decided by cost, in :func:`costmodel.engine.costing.prepare`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from costmodel.core import roofline
from costmodel.core.roofline import TENSOR_PARALLEL_SIZES, Load, Replica, ReplicaCapacity
from costmodel.core.units import HOURS_PER_MONTH
from costmodel.engine.errors import EngineError
from costmodel.engine.results import SloStatus
from costmodel.model.base import required
from costmodel.model.catalog import Catalog, Engine, Gpu, OpenModel, Quantization
from costmodel.model.scenario import Efficiency, MeasuredThroughput, OwnedOption, RentedOption, Scenario
from costmodel.text import percent, unknown_id, usd_rate


@dataclass(frozen=True)
class Stack:
    """An option's serving stack, resolved against the catalog."""

    model: OpenModel
    quantization: Quantization
    gpu: Gpu
    engine: Engine
    efficiency: Efficiency  # the scenario's overrides (fields may be Monte Carlo draws)
    kv_bytes_per_element: float

    def kv_bytes_per_token(self) -> float:
        m = self.model
        if m.attention == "mla":
            return float(
                roofline.mla_kv_bytes_per_token(
                    float(m.layers),
                    required(m.kv_lora_rank, f"{m.id}: kv_lora_rank"),
                    required(m.rope_head_dim, f"{m.id}: rope_head_dim"),
                    self.kv_bytes_per_element,
                )
            )
        return float(
            roofline.kv_bytes_per_token(
                float(m.layers), float(m.kv_heads), float(m.head_dim), self.kv_bytes_per_element
            )
        )

    def weight_bytes(self) -> float:
        """All weight bytes; a format that quantizes routed experts only leaves the rest as they are."""
        q, moe = self.quantization, self.model.moe
        if q.dense_bytes_per_weight is None or moe is None:
            return float(self.model.parameters) * float(q.bytes_per_weight)
        experts = float(moe.expert_parameters)
        return experts * float(q.bytes_per_weight) + (float(self.model.parameters) - experts) * float(
            q.dense_bytes_per_weight
        )

    def memory_utilization(self) -> float:
        return self.efficiency.memory_utilization or float(self.engine.memory_utilization)

    def replica(self, gpus: int) -> Replica:
        """The roofline's inputs for ``gpus`` GPUs of this stack."""
        m, q, g, e, over = self.model, self.quantization, self.gpu, self.engine, self.efficiency
        flops = tensor_tflops(g, q.compute)
        moe = m.moe
        bpw = float(q.bytes_per_weight)
        width = float(m.attention_heads) * (
            required(m.kv_lora_rank, f"{m.id}: kv_lora_rank") + required(m.rope_head_dim, f"{m.id}: rope_head_dim")
            if m.attention == "mla"
            else float(m.head_dim)
        )
        eff = e.efficiency_on(g.id)

        def pick(value, default):  # a scenario override (possibly Monte Carlo draws), else the engine's
            return float(default) if value is None else value

        return Replica(
            weight_bytes=self.weight_bytes(),
            expert_bytes=float(moe.expert_parameters) * bpw if moe else 0.0,
            experts=int(moe.experts.value) if moe else 0,
            experts_per_token=int(moe.experts_per_token.value) if moe else 0,
            active_parameters=m.active_parameters,
            expert_active_parameters=(float(moe.expert_parameters) * float(moe.experts_per_token) / float(moe.experts))
            if moe
            else 0.0,
            layers=int(m.layers.value),
            hidden=int(m.hidden_size.value),
            attention_width=width,
            kv_bytes_per_token=self.kv_bytes_per_token(),
            gpus=gpus,
            memory=float(g.memory) * 1e9,
            bandwidth=float(g.bandwidth) * 1e12,
            flops=float(flops) * 1e12,
            link_bandwidth=float(g.interconnect.bandwidth) * float(g.interconnect.allreduce_efficiency) * 1e9,
            allreduce_latency=float(g.interconnect.allreduce_latency) * 1e-6,
            memory_utilization=self.memory_utilization(),
            fraction_of_free=e.memory_fraction_of == "free",
            reserved_memory=pick(over.reserved_memory_gb, e.reserved_memory) * 1e9,
            max_num_seqs=over.max_num_seqs or int(e.max_num_seqs.value),
            max_batched_tokens=over.max_batched_tokens or int(e.max_batched_tokens.value),
            # each tensor-parallel rank beyond the first keeps the replica's GPUs in step
            step_overhead=np.divide(
                np.add(
                    pick(over.step_overhead_ms, eff.step_overhead),
                    np.multiply(gpus - 1, pick(over.step_overhead_per_rank_ms, eff.step_overhead_per_rank)),
                ),
                1e3,
            ),
            mbu=pick(over.mbu, eff.mbu),
            decode_mfu=pick(over.decode_mfu, eff.decode_mfu),
            prefill_mfu=pick(over.mfu, eff.prefill_mfu),
            expert_mfu=pick(over.expert_mfu, eff.expert_mfu),
            expert_mbu=pick(over.expert_mbu, eff.expert_mbu),
            moe_layers=int(moe.moe_layers.value) if moe else 0,
            windowed_layers=int(m.sliding_layers.value) if m.sliding_layers is not None else 0,
            window=float(m.sliding_window) if m.sliding_window is not None else float("inf"),
        )

    def why_not(self, gpus: int, sequence_tokens: float) -> str | None:
        """Why ``gpus`` GPUs per replica cannot serve this stack, or None if they can."""
        r = self.replica(gpus)
        usable = r.resident_bytes_per_gpu + float(r.kv_room_per_gpu())  # per GPU, for the weights and the KV cache
        kv = float(r.kv_bytes(sequence_tokens)) / (1 if r.expert_parallel else gpus)
        if usable < r.resident_bytes_per_gpu + kv:
            return (
                f"{gpus} x {self.gpu.id} hold {gpus * usable / 1e9:,.0f} GB usable, less than the "
                f"{self.weight_bytes() / 1e9:,.1f} GB of weights plus one {sequence_tokens:,.0f}-token sequence"
            )
        if int(self.model.attention_heads.value) % gpus:
            return (
                f"{gpus} GPUs do not divide {self.model.id}'s {int(self.model.attention_heads.value)} attention heads"
            )
        return None


@dataclass(frozen=True)
class CapacityBasis:
    """How sure a stack's modelled capacity is: the published runs of its engine on its GPU
    (``data/validation/serving_throughput.csv``) the efficiencies were fitted on (``fitted``) and
    held out from them (``ratios``: published / modelled output tokens/s on each held-out run)."""

    engine: str  # the engine's name
    gpu: str  # the GPU's name
    fitted: int
    ratios: tuple[float, ...]
    prior: str  # where the efficiencies come from when no run of the pair was fitted on
    fitted_what: str = ""  # what the pair's runs fitted, where not its own efficiencies

    @property
    def calibrated(self) -> bool:
        """The efficiencies were fitted on published runs of this engine on this GPU."""
        return self.fitted > 0

    @property
    def median_error(self) -> float | None:
        """Median |modelled / published - 1| over the held-out runs (None: none held out)."""
        if not self.ratios:
            return None
        return float(np.median(np.abs(1.0 / np.asarray(self.ratios) - 1.0)))

    @property
    def text(self) -> str:
        """``calibrated on 16 published runs of vLLM on AMD Instinct MI300X; 24 held out: median error 6.3 %``
        or ``uncalibrated: no published runs of vLLM on NVIDIA L40S; efficiencies: <prior>``."""
        pair = f"{self.engine} on {self.gpu}"
        held = (
            f"{len(self.ratios)} held out: median error {percent(self.median_error, 1)}"
            if self.median_error is not None
            else ""
        )
        if self.calibrated:
            what = f" ({self.fitted_what})" if self.fitted_what else ""
            return f"calibrated on {self.fitted} published runs of {pair}{what}" + (f"; {held}" if held else "")
        if held:
            return f"uncalibrated: {pair} is not fitted on its {len(self.ratios)} published runs ({held}); {self.prior}"
        return f"uncalibrated: no published runs of {pair}; {self.prior}"


def capacity_basis(stack: Stack, catalog: Catalog) -> CapacityBasis:
    """The :class:`CapacityBasis` of ``stack`` (kept per catalog: the held-out runs are costed once)."""
    engine, gpu = stack.engine, stack.gpu
    eff = engine.efficiency_on(gpu.id)
    key = ("capacity_basis", engine.id, gpu.id, eff.model_dump_json(), gpu.interconnect.model_dump_json())
    memo = catalog._memo
    if key not in memo:
        runs = [r for r in catalog.published_runs if r.engine == engine.id and r.gpu == gpu.id]
        ratios = tuple(
            r.output_tokens_per_s / published_run_throughput(r, catalog) for r in runs if r.role == "validation"
        )
        entry = engine.gpu_efficiency_entry(gpu.id)
        if entry is None:
            prior = f"efficiencies: {engine.name}'s prior, {eff.mbu.source.split(';')[0]}"
            if eff.step_overhead.basis == "derived" and eff.mbu.basis != "derived":  # latency runs only
                per_rank = float(eff.step_overhead_per_rank)
                prior += (
                    f"; its step overhead ({float(eff.step_overhead):g} ms"
                    + (f", {per_rank:g} ms more per extra GPU" if per_rank else "")
                    + f") {eff.step_overhead.source.split(' (')[0].removeprefix('derived: ')}"
                )
        else:  # another GPU of its family was fitted
            fitted = entry.fitted_on or entry.gpus
            prior = f"efficiencies: {engine.name}'s fit on {', '.join(fitted)}, the nearest GPU of its family"
        fitted_runs = sum(r.role == "calibration" for r in runs)
        what = ""  # what the pair's runs fitted where the efficiencies in use were not fitted on them
        if fitted_runs and entry is None and gpu.interconnect.allreduce_efficiency.basis == "derived":
            what = f"its all-reduce efficiency; {prior}"  # the prior held fixed (calibration.own_fit_gpus)
        elif fitted_runs and entry is not None and gpu.id not in (entry.fitted_on or entry.gpus):
            what = prior
        memo[key] = CapacityBasis(engine.name, gpu.name, fitted_runs, ratios, prior, what)
    return memo[key]


def scaled(cap: ReplicaCapacity, scale) -> ReplicaCapacity:
    """``cap`` serving ``scale`` times the requests and tokens (a Monte Carlo draw of how far the
    modelled figure is from what the engine delivers; latencies as modelled)."""
    return replace(
        cap,
        requests_per_s=np.multiply(cap.requests_per_s, scale),
        output_tokens_per_s=np.multiply(cap.output_tokens_per_s, scale),
    )


def tensor_tflops(gpu: Gpu, compute: str) -> float:
    """The dense tensor TFLOPS a weight format's matmuls run at on ``gpu``: FP4 where the format
    computes in FP4 and the GPU has FP4 tensor cores, FP8 likewise, else BF16 (the weights
    dequantized, as 4-bit formats run on GPUs without FP4).

    >>> from types import SimpleNamespace as G
    >>> b200 = G(bf16_tflops=2250, fp8_tflops=4500, fp4_tflops=9000)
    >>> h100 = G(bf16_tflops=989, fp8_tflops=1979, fp4_tflops=None)
    >>> tensor_tflops(b200, "fp4"), tensor_tflops(h100, "fp4"), tensor_tflops(h100, "fp8"), tensor_tflops(b200, "bf16")
    (9000.0, 989.0, 1979.0, 2250.0)
    """
    low = {"fp4": gpu.fp4_tflops, "fp8": gpu.fp8_tflops}.get(compute)
    return float(low if low is not None else gpu.bf16_tflops)


def make_stack(
    catalog: Catalog,
    model: str,
    quantization: str,
    gpu: str,
    engine: str = "vllm",
    kv_cache_dtype: str = "auto",
    efficiency: Efficiency | None = None,
) -> Stack:
    """A serving stack from catalog ids; ``kv_cache_dtype`` ``auto`` is the engine's default for
    the weight format (FP8 KV with FP8 weights where the engine quantizes it)."""
    eng, quant = catalog.engines[engine], catalog.quantizations[quantization]
    if kv_cache_dtype == "auto":
        low = quant.compute in ("fp8", "fp4")  # an engine's FP8 (and FP4) checkpoints quantize the KV cache to FP8
        kv_cache_dtype = "fp8" if eng.fp8_kv_cache == "with-fp8-weights" and low else "bf16"
    return Stack(
        catalog.models[model],
        quant,
        catalog.gpus[gpu],
        eng,
        efficiency or Efficiency(),
        1.0 if kv_cache_dtype == "fp8" else 2.0,
    )


def stack_of(option: RentedOption | OwnedOption, scenario: Scenario, catalog: Catalog) -> Stack:
    """The option's model, weight format, GPU and engine, with the KV-cache dtype the engine uses."""
    serving = scenario.serving
    model_id, quant_id = scenario.model_of(option)
    if serving is None:
        return make_stack(catalog, model_id, quant_id, option.gpu)
    return make_stack(
        catalog, model_id, quant_id, option.gpu, serving.engine, serving.kv_cache_dtype, serving.efficiency
    )


@dataclass(frozen=True)
class Layout:
    """One way to lay a replica out, and what it serves."""

    gpus_per_replica: int
    capacity: ReplicaCapacity
    replica: Replica | None  # None for a measured figure
    load: Load


def _measured(m: MeasuredThroughput, scenario: Scenario, gpus: int) -> ReplicaCapacity:
    wl = scenario.workload
    met = None
    if m.ttft_p95_ms is not None and m.tpot_p95_ms is not None:
        met = m.ttft_p95_ms <= wl.slo.ttft_p95_ms and m.tpot_p95_ms <= wl.slo.tpot_p95_ms
    return ReplicaCapacity(
        basis="measured",
        gpus_per_replica=gpus,
        requests_per_s=m.output_tokens_per_s_per_replica / wl.output_tokens_per_request,
        output_tokens_per_s=m.output_tokens_per_s_per_replica,
        batch=None,
        ttft_ms=m.ttft_p95_ms,
        tpot_ms=m.tpot_p95_ms,
        slo_met=met,
        limit="measured",
        source=f"{m.source} ({m.as_of.isoformat()})",
        as_of=m.as_of.isoformat(),
    )


@functools.lru_cache(maxsize=256)
def _cached_slo_capacity(rep: Replica, load: Load, ttft_s: float, tpot_s: float) -> ReplicaCapacity:
    return roofline.slo_capacity(rep, load, ttft_s, tpot_s)


def slo_capacity(rep: Replica, load: Load, ttft_s: float, tpot_s: float) -> ReplicaCapacity:
    """:func:`~costmodel.core.roofline.slo_capacity`, remembered where nothing in it is drawn: every
    Monte Carlo chunk asks again for the replica of the plan when no draw moves the roofline."""
    try:
        return _cached_slo_capacity(rep, load, ttft_s, tpot_s)
    except TypeError:  # drawn (draws, 1) columns are not hashable: compute
        return roofline.slo_capacity(rep, load, ttft_s, tpot_s)


def layouts(
    option: RentedOption | OwnedOption,
    scenario: Scenario,
    catalog: Catalog,
    forced: int | None = None,
    at_plan: bool = True,
) -> list[Layout]:
    """Every feasible layout of the option (the forced one only, if ``gpus_per_replica`` or
    ``forced`` says), each with its capacity; with ``at_plan`` the latencies are re-stated at the
    option's planned utilisation and the capacity says how sure it is (:func:`capacity_basis`);
    the option's ``capacity_scale`` (a derating, or Monte Carlo draws) multiplies a modelled
    capacity, and so does a spot fleet's share it can plan on (interruptions and spares). Raises
    :class:`EngineError` when none fits."""
    wl = scenario.workload
    stack = stack_of(option, scenario, catalog)
    seq = wl.input_tokens_per_request + wl.output_tokens_per_request
    if seq > float(stack.model.max_context):
        raise EngineError(
            "workload.input_tokens_per_request",
            wl.input_tokens_per_request,
            f"input + output = {seq:g} tokens exceeds {stack.model.id}'s context of {float(stack.model.max_context):g}",
        )
    wanted = forced or option.gpus_per_replica
    sizes = (wanted,) if wanted else TENSOR_PARALLEL_SIZES
    reasons = {g: stack.why_not(g, seq) for g in sizes}
    feasible = [g for g in sizes if reasons[g] is None]
    if not feasible:
        raise EngineError(
            f"options[{option.name}].gpu",
            option.gpu,
            f"{stack.model.id} in {stack.quantization.id} fits no layout: {reasons[sizes[-1]]}",
        )
    load = Load(wl.input_tokens_per_request, wl.output_tokens_per_request, wl.cached_input_share)
    spot = spot_capacity_factor(option)
    if option.measured is not None:  # a measured figure is one layout: the forced or the smallest
        return [Layout(feasible[0], _measured(option.measured, scenario, feasible[0]), None, load)]
    out = []
    # the point estimate says how sure it is
    said = capacity_basis(stack, catalog).text if at_plan else ""
    for g in feasible:
        rep = stack.replica(g)
        cap = slo_capacity(rep, load, wl.slo.ttft_p95_ms / 1e3, wl.slo.tpot_p95_ms / 1e3)
        cap = replace(roofline.at_load(rep, load, cap, option.max_utilization) if at_plan else cap, calibration=said)
        scale = option.capacity_scale * spot
        out.append(Layout(g, cap if np.all(np.equal(scale, 1.0)) else scaled(cap, scale), rep, load))
    return out


def spot_capacity_factor(option: RentedOption | OwnedOption) -> float:
    """The share of its modelled capacity a fleet can plan on: 1, or on spot its up-time (each
    interruption takes a replica down while a new instance loads the model) over ``1 + spare``
    (spare replicas keep the SLO meanwhile): ``(1 - interruptions x minutes / minutes a month) /
    (1 + spare_share)``.

    Four interruptions a month, 15 minutes down each, one spare replica per ten:

    >>> from costmodel.model.scenario import SpotTerms
    >>> terms = SpotTerms(interruptions_per_month=4, restart_minutes=15, spare_share=0.1, source="assumption")
    >>> from types import SimpleNamespace
    >>> round(spot_capacity_factor(SimpleNamespace(name="rent", spot=terms)), 4)  # (1 - 60 / 43,830 minutes) / 1.1
    0.9078

    Terms that keep it down all month leave nothing to plan on: an :class:`EngineError`.
    """
    terms = getattr(option, "spot", None)
    if terms is None:
        return 1.0
    down = terms.interruptions_per_month * terms.restart_minutes / (HOURS_PER_MONTH * 60.0)
    if down >= 1.0:
        raise EngineError(
            f"options[{option.name}].spot",
            f"{terms.interruptions_per_month:g} x {terms.restart_minutes:g} min",
            "interruptions take the fleet down for a whole month: it has no capacity to plan on",
        )
    return (1.0 - down) / (1.0 + terms.spare_share)


def capacity_slo(cap: ReplicaCapacity) -> SloStatus:
    """SLO status of a replica at its planned load."""
    if cap.limit == "measured":
        note = "" if cap.slo_met is not None else "measured throughput without latency figures"
    elif cap.limit.endswith("-unmet"):
        what = "TPOT" if cap.limit.startswith("tpot") else "TTFT"
        note = f"even one sequence at a time misses the {what} objective"
    else:
        note = "modelled p95 at the planned load (Poisson arrivals)"
    return SloStatus(cap.slo_met, cap.ttft_ms, cap.tpot_ms, cap.basis, note)


LIMIT_WORDS = {
    "tpot-slo": "the TPOT objective",
    "ttft-slo": "the TTFT objective",
    "kv-cache": "the KV cache",
    "max-num-seqs": "max_num_seqs",
    "token-budget": "the step token budget",
    "measured": "measurement",
}


def bound_by(limit: str) -> str:
    """What a capacity limit means in words: ``the KV cache``, ``the TPOT objective, missed even at one sequence``."""
    base = limit.removesuffix("-unmet")
    words = LIMIT_WORDS.get(base, base)
    return f"{words}, missed even at one sequence" if limit.endswith("-unmet") else words


def describe(c: ReplicaCapacity) -> str:
    """A layout in words: its GPUs per replica, throughput and what bounds it."""
    return (
        f"{c.gpus_per_replica} GPU{'s' * (c.gpus_per_replica > 1)} per replica: "
        f"{float(np.mean(c.output_tokens_per_s)):,.0f} output tok/s per replica, bound by {bound_by(c.limit)}"
    )


@dataclass(frozen=True)
class LayoutStudy:
    """One tensor-parallel size of a stack: its SLO capacity and frontier, or why it cannot run."""

    gpus_per_replica: int
    why_not: str | None  # None when feasible
    capacity: ReplicaCapacity | None = None  # at the SLO (p95 TTFT and TPOT)
    usd_per_million_output: float | None = None  # GPU cost per 1M output tokens at the SLO capacity
    frontier: dict[str, np.ndarray] | None = None  # roofline.frontier, plus usd_per_million along it


@dataclass(frozen=True)
class CapacityStudy:
    """Every layout of one model, weight format, GPU and engine at one request shape and SLO:
    what ``tco capacity`` prints and the explore notebook and report draw."""

    stack: Stack
    load: Load
    ttft_ms: float
    tpot_ms: float
    usd_per_gpu_hour: float | None
    price_source: str
    layouts: tuple[LayoutStudy, ...]
    calibration: str = ""  # how sure the modelled figures are (capacity_basis)

    @property
    def best(self) -> LayoutStudy | None:
        """The feasible layout meeting the SLO with the lowest cost per output token (no price:
        the most output tokens/s per GPU); ties go to fewer GPUs."""
        ok = [s for s in self.layouts if s.capacity is not None and s.capacity.slo_met]
        if not ok:
            return None
        if self.usd_per_gpu_hour is not None:
            return min(ok, key=lambda s: (s.usd_per_million_output, s.gpus_per_replica))
        return max(ok, key=lambda s: (_per_gpu(s), -s.gpus_per_replica))


def usd_per_million_output(usd_per_gpu_hour: float, gpus: int, output_tokens_per_s) -> np.ndarray:
    """GPU cost of 1M output tokens: ``gpus x price / (output tokens/s x 3,600) x 1e6``."""
    with np.errstate(divide="ignore"):
        return gpus * usd_per_gpu_hour / (np.asarray(output_tokens_per_s, float) * 3600.0) * 1e6


def capacity_study(
    catalog: Catalog,
    model: str,
    gpu: str,
    *,
    quantization: str = "bf16",
    engine: str = "vllm",
    input_tokens: float = 1000,
    output_tokens: float = 200,
    cached_input_share: float = 0.0,
    ttft_ms: float = 1000,
    tpot_ms: float = 50,
    usd_per_gpu_hour: float | None = None,
    kv_cache_dtype: str = "auto",
) -> CapacityStudy:
    """Every tensor-parallel layout of a stack at one request shape: SLO capacity, latencies,
    what bounds it, cost per output token at a GPU price (the catalog's cheapest on-demand rate
    when none is given) and the throughput-interactivity frontier. Raises :class:`EngineError`
    naming the argument for an unknown id or a format the engine does not serve."""
    for field, value, known, what in (
        ("model", model, catalog.models, "model"),
        ("gpu", gpu, catalog.gpus, "GPU"),
        ("quantization", quantization, catalog.quantizations, "quantization"),
        ("engine", engine, catalog.engines, "engine"),
    ):
        if value not in known:
            raise EngineError(field, value, unknown_id(value, known, what))
    quant = catalog.quantizations[quantization]
    if engine not in quant.engines:
        raise EngineError(
            "quantization",
            quantization,
            f"{quant.name} is not served by {catalog.engines[engine].name} "
            f"(served by: {', '.join(quant.engines)}; {quant.engines_source})",
        )
    if why := quant.why_not(catalog.models[model]):
        raise EngineError("quantization", quantization, f"{why}; pick another format")
    stack = make_stack(catalog, model, quantization, gpu, engine, kv_cache_dtype)
    if input_tokens + output_tokens > float(stack.model.max_context):
        raise EngineError(
            "input_tokens",
            input_tokens,
            f"input + output = {input_tokens + output_tokens:g} tokens "
            f"exceeds {model}'s context of {float(stack.model.max_context):g}",
        )
    source = "given"
    if usd_per_gpu_hour is None:
        rent = stack.gpu.rental_price(None, "on-demand")
        if rent is not None:
            usd_per_gpu_hour = float(rent.price.value)
            source = f"catalog: cheapest on-demand rate, {rent.provider} ({rent.price.as_of.isoformat()})"
        else:
            source = f"no rental price for {gpu} in the catalog"
    return study_of_stack(
        stack,
        Load(input_tokens, output_tokens, cached_input_share),
        ttft_ms,
        tpot_ms,
        usd_per_gpu_hour,
        source,
        catalog,
    )


def option_capacity_study(option: RentedOption | OwnedOption, scenario: Scenario, catalog: Catalog) -> CapacityStudy:
    """The capacity study of a scenario's self-hosted option: its stack and overrides, the
    scenario's request shape and SLO; priced at the option's hourly rate if it rents."""
    wl = scenario.workload
    price, source = None, "owned: no hourly price"
    if isinstance(option, RentedOption):
        rate = option.usd_per_gpu_hour
        rent = catalog.gpus[option.gpu].rental_price(option.provider, option.commitment, option.region)
        price, source = (
            (rate, "the option's rate")
            if rate is not None
            else ((float(rent.price.value), f"catalog: {rent.label}") if rent else (None, "no price"))
        )
    load = Load(wl.input_tokens_per_request, wl.output_tokens_per_request, wl.cached_input_share)
    return study_of_stack(
        stack_of(option, scenario, catalog), load, wl.slo.ttft_p95_ms, wl.slo.tpot_p95_ms, price, source, catalog
    )


def study_of_stack(
    stack: Stack,
    load: Load,
    ttft_ms: float,
    tpot_ms: float,
    usd_per_gpu_hour: float | None,
    price_source: str,
    catalog: Catalog,
) -> CapacityStudy:
    """Every tensor-parallel size of ``stack``: why it cannot run, or its SLO capacity, cost per
    output token and frontier."""
    rows = []
    said = capacity_basis(stack, catalog).text
    for g in TENSOR_PARALLEL_SIZES:
        reason = stack.why_not(g, load.input_tokens + load.output_tokens)
        if reason is not None:
            rows.append(LayoutStudy(g, reason))
            continue
        rep = stack.replica(g)
        cap = replace(slo_capacity(rep, load, ttft_ms / 1e3, tpot_ms / 1e3), calibration=said)
        curve = roofline.frontier(rep, load)
        price = None
        if usd_per_gpu_hour is not None:
            price = float(usd_per_million_output(usd_per_gpu_hour, g, cap.output_tokens_per_s))
            curve["usd_per_million"] = usd_per_million_output(usd_per_gpu_hour, 1, curve["per_gpu"])
        rows.append(LayoutStudy(g, None, cap, price, curve))
    return CapacityStudy(stack, load, ttft_ms, tpot_ms, usd_per_gpu_hour, price_source, tuple(rows), said)


def layout_sentence(option: str, layouts) -> str:
    """Why an option runs in its layout: the chosen layout, what bounds it, its cost per 1M tokens
    served, and the runner-up (``layouts`` are :class:`~costmodel.engine.results.LayoutCost`)."""
    chosen = next((lay for lay in layouts if lay.chosen), None)
    if chosen is None:
        return ""
    others = sorted(
        (lay for lay in layouts if not lay.chosen), key=lambda lay: (not lay.eligible, lay.usd_per_million_served)
    )
    text = f"{option} runs {chosen.description}, {usd_rate(chosen.usd_per_million_served)} per 1M tokens served"
    if not others:
        return text + "; the only feasible layout."
    runner = others[0]
    why = "" if runner.eligible else " and misses the SLO"
    return f"{text}; runner-up {runner.description}, {usd_rate(runner.usd_per_million_served)}{why}."


def _published_replica(run, catalog: Catalog, efficiency: Efficiency | None) -> tuple[Replica, Load]:
    """The replica a published run (any table of ``data/validation``) ran, under ``efficiency``
    where given, with the CUDA graphs it captured with padding where it names them, and its
    request shape."""
    stack = make_stack(
        catalog, run.model, run.quantization, run.gpu, run.engine, run.kv_cache_dtype or "auto", efficiency
    )
    replica = replace(stack.replica(run.gpus_per_replica), graph_batch_sizes=run.cuda_graph_batch_sizes)
    return replica, Load(run.input_tokens, run.output_tokens)


def published_run_throughput(run, catalog: Catalog, efficiency: Efficiency | None = None) -> float:
    """What the roofline says a published max-throughput run (:class:`~costmodel.model.validation.PublishedRun`)
    served under the run's engine: its finite run of queued requests where the count is published
    (:func:`~costmodel.core.roofline.offline_throughput`), else steady state at the most sequences
    the replica holds."""
    replica, load = _published_replica(run, catalog, efficiency)
    if run.requests:
        return float(roofline.offline_throughput(replica, load, run.requests))
    return float(roofline.max_throughput(replica, load)[0])


def published_latency_steps(run, catalog: Catalog, efficiency: Efficiency | None = None) -> tuple[float, float, float]:
    """What the roofline says a published latency run (:class:`~costmodel.model.validation.PublishedLatency`)
    spends: the one step prefilling the batch's prompts, each of its ``output - 1`` decode steps of
    the whole batch (the time per output token), and the part of a step outside the kernels (the
    replica's step overhead), s."""
    replica, load = _published_replica(run, catalog, efficiency)
    prefill = float(roofline.step_seconds(replica, 0, run.batch * run.input_tokens, load))
    step = float(roofline.decode_step_seconds(replica, run.batch, load))
    return prefill, step, float(np.asarray(replica.step_overhead))


def published_rate_step(run, catalog: Catalog, efficiency: Efficiency | None = None) -> float:
    """What the roofline says of a published fixed-rate point (:class:`~costmodel.model.validation.PublishedRate`):
    a decode step with the run's mean in flight (rate x mean end-to-end latency), s, the median
    inter-token gap (most steps carry no prompt: an arrival's prefill is one step in many)."""
    replica, load = _published_replica(run, catalog, efficiency)
    return float(roofline.decode_step_seconds(replica, run.in_flight, load))


def published_stream_latencies(
    run, catalog: Catalog, efficiency: Efficiency | None = None
) -> tuple[float, float, float]:
    """What the roofline says of a published fixed-concurrency point
    (:class:`~costmodel.model.validation.PublishedStreams`): the mean TTFT and time per output
    token, s, and the output tokens/s, with ``concurrency`` sequences in flight
    (:func:`~costmodel.core.roofline.latencies` at that mean). One stream alone is prefilled
    alone: its TTFT is its prompt's prefill step (nothing else is running when it arrives)."""
    replica, load = _published_replica(run, catalog, efficiency)
    lat = roofline.latencies(replica, load, run.concurrency)
    ttft = (
        float(roofline.step_seconds(replica, 0, run.input_tokens, load))
        if run.concurrency == 1
        else float(lat["ttft_mean"])
    )
    return ttft, float(lat["tpot_mean"]), float(lat["rate"]) * run.output_tokens


def _per_gpu(s: LayoutStudy) -> float:
    """Output tokens/s per GPU of a feasible layout (0 for one that cannot run)."""
    return 0.0 if s.capacity is None else float(s.capacity.output_tokens_per_s) / s.gpus_per_replica
