"""Typed catalogs: GPUs, open models, quantizations and per-token API prices.

Every number a person may quote carries its provenance: value, unit, source, as-of date
and basis (published, measured, derived or an assumption). The YAML files in
``data/catalog`` are validated against these models; the JSON Schemas in ``data/schema``
are generated from them (``tco schema``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from costmodel.model.base import (
    GB,
    TFLOPS,
    BytesPerWeight,
    Commitment,
    Count,
    Fraction,
    GBps,
    MemoryGB,
    Microseconds,
    Milliseconds,
    Parameters,
    PositiveFraction,
    Sequences,
    Sourced,
    Strict,
    TBps,
    Tokens,
    UsdPerGpu,
    UsdPerGpuHour,
    UsdPerMTok,
    Watts,
    not_in_future,
)
from costmodel.model.distributions import Distribution
from costmodel.model.validation import PublishedRun

ALL_REGIONS = "all"  # a rental's region where the provider prices every region the same


class RentalPrice(Strict):
    """One provider's hourly price for one GPU under one commitment (in one region, on one
    instance type, where the source says)."""

    provider: str = Field(min_length=1, description="Cloud or GPU provider id, e.g. aws, gcp, lambda.")
    commitment: Commitment = Field(description="on-demand, 1-year or 3-year commitment, or spot (interruptible).")
    price: UsdPerGpuHour = Field(description="Price per GPU-hour in USD.")
    region: str | None = Field(
        default=None,
        description="Provider region the price holds in; 'all': the same in every region; absent: not stated.",
    )
    instance_type: str | None = Field(
        default=None, description="Instance type the price is for (8 x H100: p5.48xlarge)."
    )

    @property
    def label(self) -> str:
        """``aws p5.48xlarge us-east-1 on-demand``: which rental this is, in words."""
        region = "all regions" if self.region == ALL_REGIONS else self.region
        return " ".join(x for x in (self.provider, self.instance_type, region, self.commitment) if x)


class RentalOffer(Strict):
    """One row of the rental snapshot (``data/catalog/rentals.csv``, written by ``tco prices
    refresh``): an instance type's price per GPU-hour in one region, on demand and on spot."""

    provider: str = Field(min_length=1, description="Cloud provider id (aws, azure, gcp, oci).")
    instance_type: str = Field(min_length=1, description="The provider's instance type (p5.48xlarge).")
    gpus_per_instance: int = Field(ge=1, le=64, description="GPUs in one instance.")
    gpu: str = Field(min_length=1, description="GPU id (data/catalog/gpus.yaml).")
    region: str = Field(
        min_length=1, description="Region the prices hold in (us-east-1); 'all' where every region has the same."
    )
    on_demand_usd_per_gpu_hour: float = Field(gt=0, le=1e3, description="On-demand price per GPU-hour, USD.")
    spot_usd_per_gpu_hour: float | None = Field(
        default=None, gt=0, le=1e3, description="Spot price per GPU-hour, USD; empty where none is published."
    )
    as_of: date = Field(description="Date of the snapshot the prices were read from.")
    source: str = Field(min_length=3, description="The provider's price list and the catalog that carried it.")


class CatalogEntry(Strict):
    """An entry scenarios refer to by id."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$", description="Stable id used by scenarios.")
    name: str = Field(description="Human-readable name.")


class Interconnect(Strict):
    """How a GPU talks to the others of its tensor-parallel group."""

    kind: Literal["nvlink", "pcie", "infinity-fabric"] = Field(description="Link technology.")
    bandwidth: GBps = Field(description="Bandwidth per GPU in one direction, GB/s (half the bidirectional figure).")
    allreduce_latency: Microseconds = Field(description="Fixed time of one small all-reduce over this link, us.")
    allreduce_efficiency: PositiveFraction = Field(
        description="Share of the link's bandwidth a tensor-parallel all-reduce achieves (the rest lost to the "
        "host bridge, switches and the collective's own traffic)."
    )


class Gpu(CatalogEntry):
    """An accelerator: the specs the roofline needs and what it costs to buy or rent."""

    memory: MemoryGB = Field(description="High-bandwidth memory in GB (1e9 bytes).")
    bandwidth: TBps = Field(description="Memory bandwidth in TB/s (1e12 bytes/s).")
    bf16_tflops: TFLOPS = Field(description="Dense BF16 tensor throughput (no sparsity).")
    fp8_tflops: TFLOPS | None = Field(default=None, description="Dense FP8 tensor throughput; absent if unsupported.")
    fp4_tflops: TFLOPS | None = Field(default=None, description="Dense FP4 tensor throughput; absent if unsupported.")
    tdp: Watts = Field(description="Board power (TDP) in watts.")
    interconnect: Interconnect = Field(description="The link tensor parallelism runs over (NVLink, PCIe, ...).")
    purchase_price: UsdPerGpu | None = Field(
        default=None, description="Purchase price per GPU in USD; absent where none is published (say why in notes)."
    )
    notes: str = Field(default="", description="What is known about this GPU's availability or missing figures.")
    rental: tuple[RentalPrice, ...] = Field(default=(), description="Known rental prices by provider and commitment.")

    def rental_price(self, provider: str | None, commitment: str, region: str | None = None) -> RentalPrice | None:
        """The rental price for ``provider`` and ``region`` (any, the cheapest, where None) and
        ``commitment``."""
        matches = self.rentals(provider, commitment, region)
        return min(matches, key=lambda r: r.price.value) if matches else None

    def rentals(self, provider: str | None, commitment: str, region: str | None = None) -> list[RentalPrice]:
        """Every rental price of ``commitment`` at ``provider`` in ``region`` (any, where None)."""
        return [
            r
            for r in self.rental
            if r.commitment == commitment
            and (provider is None or r.provider == provider)
            and (region is None or r.region == region)
        ]


class MixtureOfExperts(Strict):
    """Routed experts of a mixture-of-experts model: what a decode step reads depends on how many
    experts its tokens touch."""

    experts: Count = Field(description="Routed experts per MoE layer.")
    moe_layers: Count = Field(description="Layers with routed experts (the rest are dense).")
    experts_per_token: Count = Field(description="Routed experts each token is sent to.")
    expert_parameters: Parameters = Field(description="Parameters in all routed experts (all layers).")
    active_parameters: Parameters = Field(description="Parameters one token's forward pass uses (FLOPs = 2 x this).")


class OpenModel(CatalogEntry):
    """An open-weight decoder-only transformer: the architecture numbers the roofline needs."""

    parameters: Parameters = Field(description="Total parameter count (all experts of an MoE model).")
    layers: Count = Field(description="Number of transformer layers.")
    hidden_size: Count = Field(description="Model (hidden) dimension.")
    attention_heads: Count = Field(description="Number of query heads.")
    kv_heads: Count = Field(description="Number of key/value heads (grouped-query attention).")
    head_dim: Count = Field(description="Dimension of one attention head.")
    max_context: Tokens = Field(description="Maximum context length in tokens.")
    attention: Literal["gqa", "mla"] = Field(
        default="gqa", description="gqa: grouped-query attention; mla: multi-head latent attention (DeepSeek)."
    )
    kv_lora_rank: Count | None = Field(default=None, description="MLA: width of the compressed KV latent per layer.")
    rope_head_dim: Count | None = Field(default=None, description="MLA: width of the decoupled RoPE key per layer.")
    moe: MixtureOfExperts | None = Field(default=None, description="Routed experts; absent for a dense model.")
    sliding_window: Tokens | None = Field(
        default=None,
        description="Tokens a sliding-window (banded) attention layer attends to and keeps in its KV cache; "
        "absent when every layer attends to the whole context.",
    )
    sliding_layers: Count | None = Field(
        default=None, description="How many of the layers use the sliding window (the rest attend to everything)."
    )

    @model_validator(mode="after")
    def _mla_fields(self) -> OpenModel:
        if self.attention == "mla" and (self.kv_lora_rank is None or self.rope_head_dim is None):
            raise ValueError("attention mla needs kv_lora_rank and rope_head_dim")
        if (self.sliding_window is None) != (self.sliding_layers is None):
            raise ValueError("sliding_window and sliding_layers go together: give both or neither")
        if self.sliding_layers is not None and float(self.sliding_layers) > float(self.layers):
            raise ValueError(
                f"sliding_layers {float(self.sliding_layers):g} exceeds the model's {float(self.layers):g} layers"
            )
        return self

    @property
    def active_parameters(self) -> float:
        return float(self.moe.active_parameters) if self.moe else float(self.parameters)


class Quantization(CatalogEntry):
    """A weight format: how many bytes each weight occupies, which tensor cores it uses, which
    engines run it."""

    bytes_per_weight: BytesPerWeight = Field(description="Bytes per weight including quantization scales.")
    dense_bytes_per_weight: BytesPerWeight | None = Field(
        default=None,
        description="For a format that quantizes routed-expert weights only (gpt-oss's MXFP4): bytes per weight of "
        "the rest (attention, router, embeddings), which it leaves as they are. Absent: every weight takes "
        "bytes_per_weight. A format with it serves mixture-of-experts models only.",
    )
    compute: Literal["bf16", "fp8", "fp4"] = Field(
        description="Tensor-core precision the matmuls run in (fp8 and fp4 use the GPU's FP8 or FP4 TFLOPS where "
        "it has them; a GPU without FP4 dequantizes to BF16)."
    )
    engines: tuple[str, ...] = Field(
        min_length=1, description="Engine ids (data/catalog/engines.yaml) that serve this format, with a source."
    )
    engines_source: str = Field(min_length=3, description="Where the engines' support is documented.")

    def why_not(self, model: OpenModel) -> str | None:
        """Why this format cannot hold ``model``'s weights, or None if it can."""
        if self.dense_bytes_per_weight is not None and model.moe is None:
            return f"{self.name} quantizes routed experts only, and {model.name} is a dense model (no experts)"
        return None


class EngineEfficiency(Strict):
    """How close an engine gets to the hardware roofline, fitted on published benchmark runs."""

    mbu: PositiveFraction = Field(description="Achieved share of memory bandwidth in a step.")
    decode_mfu: PositiveFraction = Field(description="Achieved share of tensor FLOPs on decode tokens.")
    prefill_mfu: PositiveFraction = Field(description="Achieved share of tensor FLOPs on prefill tokens.")
    expert_mfu: PositiveFraction = Field(
        description="Achieved share of tensor FLOPs in routed-expert GEMMs (MoE models)."
    )
    expert_mbu: PositiveFraction = Field(
        description="Achieved share of memory bandwidth reading routed-expert weights (MoE models)."
    )
    step_overhead: Milliseconds = Field(description="Time per step outside GPU kernels (scheduling, sampling), ms.")
    step_overhead_per_rank: Milliseconds = Field(
        description="Time per step outside the modelled kernels that each tensor-parallel rank beyond the first adds "
        "(keeping the GPUs of a replica in step), ms: a replica of g GPUs spends step_overhead + (g - 1) x this."
    )


class GpuEfficiency(Strict):
    """An engine's efficiencies on particular GPUs, fitted on published runs of the pair."""

    gpus: tuple[str, ...] = Field(min_length=1, description="GPU ids (data/catalog/gpus.yaml) these values hold on.")
    fitted_on: tuple[str, ...] = Field(
        default=(),
        description="The GPUs whose published runs the values were fitted on (default: all of gpus); the others "
        "take them as the nearest of their family and stay uncalibrated.",
    )
    efficiency: EngineEfficiency = Field(description="Roofline efficiencies of the engine on these GPUs.")


# a scenario's serving.efficiency field -> the engine catalog's efficiency it overrides
EFFICIENCY_FIELDS = {
    "mbu": "mbu",
    "decode_mfu": "decode_mfu",
    "mfu": "prefill_mfu",
    "expert_mfu": "expert_mfu",
    "expert_mbu": "expert_mbu",
    "step_overhead_ms": "step_overhead",
    "step_overhead_per_rank_ms": "step_overhead_per_rank",
}


class Engine(CatalogEntry):
    """A serving engine and the settings that shape its capacity."""

    version: str = Field(description="Engine version the efficiencies were fitted on.")
    max_num_seqs: Sequences = Field(description="Default cap on sequences in flight.")
    max_batched_tokens: Tokens = Field(description="Default token budget per step (decode plus prefill chunk).")
    memory_utilization: PositiveFraction = Field(description="Default share of GPU memory the engine may use.")
    memory_fraction_of: Literal["total", "free"] = Field(
        description="What memory_utilization is a share of: the GPU's whole memory (the weights and reserve come "
        "out of it: vLLM, SGLang) or the memory the weights and reserve leave free (TensorRT-LLM's KV cache)."
    )
    memory_fraction_of_source: str = Field(min_length=3, description="Where the engine documents it.")
    reserved_memory: GB = Field(
        description="GPU memory per GPU the engine keeps for activations at its token budget, CUDA graphs and "
        "communication buffers (not available to the KV cache), GB."
    )
    fp8_kv_cache: Literal["never", "with-fp8-weights"] = Field(
        description="KV-cache dtype by default: BF16 always (never), or FP8 when the weights are FP8 or FP4."
    )
    fp8_kv_cache_source: str = Field(min_length=3, description="Where the KV-cache default is documented.")
    efficiency: EngineEfficiency = Field(
        description="Roofline efficiencies of this engine on GPUs without their own (gpu_efficiency): its prior."
    )
    gpu_efficiency: tuple[GpuEfficiency, ...] = Field(
        default=(),
        description="Efficiencies fitted on published runs of this engine on particular GPUs (another vendor's "
        "software stack, another generation); they replace `efficiency` there.",
    )

    def efficiency_on(self, gpu: str) -> EngineEfficiency:
        """The efficiencies on ``gpu``: its (family's) fit where there is one, else the engine's prior."""
        entry = self.gpu_efficiency_entry(gpu)
        return self.efficiency if entry is None else entry.efficiency

    def gpu_efficiency_entry(self, gpu: str) -> GpuEfficiency | None:
        """The ``gpu_efficiency`` entry that holds on ``gpu``, if any."""
        return next((e for e in self.gpu_efficiency if gpu in e.gpus), None)

    def default_for(self, scenario_field: str, gpu: str | None = None) -> float:
        """The engine's value of a scenario's ``serving.efficiency`` field (what it means when unset),
        on ``gpu`` where given."""
        if scenario_field in EFFICIENCY_FIELDS:
            eff = self.efficiency if gpu is None else self.efficiency_on(gpu)
            return float(getattr(eff, EFFICIENCY_FIELDS[scenario_field]))
        if scenario_field == "reserved_memory_gb":
            return float(self.reserved_memory)
        return float(getattr(self, scenario_field))


class ApiPriceOverride(Strict):
    """A local price for a per-token API model: negotiated rates, batch discounts, missing models."""

    provider: str = Field(min_length=1, description="genai-prices provider id, e.g. openai, aws.")
    model: str = Field(min_length=1, description="Model id as the provider names it.")
    input: UsdPerMTok | None = Field(default=None, description="USD per 1M uncached input tokens.")
    output: UsdPerMTok | None = Field(default=None, description="USD per 1M output tokens.")
    cached_input: UsdPerMTok | None = Field(default=None, description="USD per 1M cached input tokens.")
    batch_discount: Fraction | None = Field(
        default=None, description="Fractional discount for batch (asynchronous) requests, 0-1."
    )

    @model_validator(mode="after")
    def _discount_is_fraction(self) -> ApiPriceOverride:
        if self.batch_discount is not None and self.batch_discount.value > 1:
            raise ValueError(f"batch_discount.value must be <= 1, got {self.batch_discount.value}")
        return self


class ApiRetirement(Strict):
    """When a provider shuts an API model down, and what it names to use instead."""

    provider: str = Field(min_length=1, description="genai-prices provider id, e.g. openai, aws.")
    model: str = Field(min_length=1, description="Model id as the provider names it.")
    retires: date = Field(description="Shutdown date: the model is no longer served from this day.")
    successor: str | None = Field(
        default=None, description="The model id the provider recommends instead (same provider); null if none named."
    )
    source: str = Field(min_length=3, description="Where the date and successor are published.")
    as_of: Annotated[date, AfterValidator(not_in_future)] = Field(
        description="Date the entry was checked against its source (not after today)."
    )


class GenaiPricesPin(Strict):
    """Which genai-prices release supplies API prices and when its snapshot was checked."""

    version: str = Field(description="genai-prices version whose bundled snapshot was checked.")
    checked_on: Annotated[date, AfterValidator(not_in_future)] = Field(
        description="Date the snapshot was checked; the as-of date of its prices (not after today)."
    )


class GpuCatalog(Strict):
    """File ``data/catalog/gpus.yaml``."""

    gpus: tuple[Gpu, ...] = Field(description="GPU entries.")


class ModelCatalog(Strict):
    """File ``data/catalog/models.yaml``."""

    models: tuple[OpenModel, ...] = Field(description="Open model entries.")


class QuantizationCatalog(Strict):
    """File ``data/catalog/quantizations.yaml``."""

    quantizations: tuple[Quantization, ...] = Field(description="Weight formats.")


class EngineCatalog(Strict):
    """File ``data/catalog/engines.yaml``."""

    engines: tuple[Engine, ...] = Field(description="Serving engines.")
    uncalibrated_capacity: Distribution | None = Field(
        default=None,
        description="Published / modelled capacity per replica for an engine on a GPU with no published runs to "
        "check it on: what Monte Carlo draws for such a pair (its source says why this range).",
    )


class ApiPriceCatalog(Strict):
    """File ``data/catalog/api_prices.yaml``."""

    genai_prices: GenaiPricesPin = Field(description="The genai-prices release and its check date.")
    overrides: tuple[ApiPriceOverride, ...] = Field(default=(), description="Local price overrides.")
    retirements: tuple[ApiRetirement, ...] = Field(
        default=(), description="API models' published shutdown dates and successors."
    )

    @model_validator(mode="after")
    def _one_entry_per_model(self) -> ApiPriceCatalog:
        for what, entries in (("overrides", self.overrides), ("retirements", self.retirements)):
            seen: set[tuple[str, str]] = set()
            for o in entries:
                if (o.provider, o.model) in seen:  # the second would be silently ignored
                    raise ValueError(f"{what}: {o.provider}/{o.model} is listed twice; keep one entry")
                seen.add((o.provider, o.model))
        return self


class ApiPrice(Strict):
    """A resolved per-token price: what the engine charges per 1M tokens, with provenance."""

    provider: str = Field(description="Provider id.")
    model: str = Field(description="Model id.")
    input: Sourced = Field(description="USD per 1M uncached input tokens.")
    output: Sourced = Field(description="USD per 1M output tokens.")
    cached_input: Sourced = Field(description="USD per 1M cached input tokens (= input if no cache price).")
    batch_discount: Sourced | None = Field(default=None, description="Batch discount fraction, if known.")
    retirement: ApiRetirement | None = Field(
        default=None, description="The model's published shutdown date and successor, if one is announced."
    )


class Catalog(Strict):
    """Everything the engine looks up, keyed by id, plus the resolved API prices."""

    gpus: dict[str, Gpu] = Field(description="GPUs by id.")
    models: dict[str, OpenModel] = Field(description="Open models by id.")
    quantizations: dict[str, Quantization] = Field(description="Weight formats by id.")
    engines: dict[str, Engine] = Field(default_factory=dict, description="Serving engines by id.")
    api_prices: dict[tuple[str, str], ApiPrice] = Field(
        default_factory=dict, description="Resolved API prices by (provider, model), for the scenario's APIs."
    )
    published_runs: tuple[PublishedRun, ...] = Field(
        default=(),
        description="Published serving runs (data/validation/serving_throughput.csv): what says how sure a "
        "modelled capacity is.",
    )
    uncalibrated_capacity: Distribution | None = Field(
        default=None, description="engines.yaml's uncalibrated_capacity: the prior for a pair with no published runs."
    )
    _memo: dict = PrivateAttr(default_factory=dict)  # the engine's per-catalog cache (capacity bases)
