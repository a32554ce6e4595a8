"""Typed scenarios: one workload, the horizon, the discount rate and the options to compare.

A scenario file (``data/scenarios/*.yaml``) is validated against :class:`Scenario`; its
JSON Schema is ``data/schema/scenario.schema.json``. Money is in USD, rates are fractions
(0.08 = 8 %), durations in months unless a field says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from costmodel.model.base import Commitment, Strict
from costmodel.model.distributions import Distribution

Fraction01 = Annotated[float, Field(ge=0, le=1)]
PositiveFraction = Annotated[float, Field(gt=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]


class Slo(Strict):
    """Latency service-level objective at the 95th percentile."""

    ttft_p95_ms: float = Field(gt=0, le=1e7, description="Time to first token, p95, milliseconds.")
    tpot_p95_ms: float = Field(gt=0, le=1e6, description="Time per output token after the first, p95, milliseconds.")
    max_unserved_share: Fraction01 = Field(
        default=0.0,
        description="Share of requests over the horizon a fleet sized on the plan (or fixed) may leave unserved "
        "(demand above its SLO capacity, with no overflow API) and still count as meeting the SLO; 0 (the default): "
        "none. Give its source in sources (workload.slo.max_unserved_share).",
    )


class RequestClass(Strict):
    """A kind of request with its share of traffic and the answer quality it needs."""

    name: str = Field(min_length=1, description="Class name, e.g. easy or hard.")
    share: float = Field(gt=0, le=1, description="Share of requests in this class; the shares sum to 1.")
    min_quality: Fraction01 = Field(
        default=0.0,
        description="Lowest accuracy (0-1) on this class that what serves it needs: measured by tco quality "
        "(quality_run) or stated with its source (quality, quality_source).",
    )
    input_tokens_factor: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="This class's mean prompt tokens as a multiple of the workload's mean (1.5: half as long "
        "again). Classes that do not say share what keeps the workload's mean; if every class says, the factors "
        "must average (share-weighted) to 1. A multiple, not a count, so the classes follow any change of the "
        "workload's tokens.",
    )
    output_tokens_factor: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="This class's mean generated tokens as a multiple of the workload's mean (as input_tokens_factor).",
    )


ENGINE_COLUMNS = frozenset(
    {
        "month",
        "requests",
        "tokens",
        "total",
        "cumulative",
        "gpus",
        "api",
        "rent",
        "staff",
        "capex",
        "power",
        "colocation",
        "maintenance",
        "residual",
        "depreciation",
        "utilization",
        "local_share",
        "overflow",
        "response_cache",
        "classifier",
        "escalation_check",
        "shortfall_share",
        "stranded_share",
    }
)
"""Cash-flow columns the engine writes itself: an extra cost may not take their names."""


class ResponseCache(Strict):
    """A response (semantic) cache: a share of requests is answered from it, each request pays a lookup."""

    hit_share: Fraction01 = Field(description="Share of requests answered by the cache (never reach the model).")
    usd_per_million_lookups: NonNeg = Field(
        le=1e6, description="Cost of a million cache lookups (every request looks up)."
    )
    source: str = Field(min_length=3, description="Where the hit rate and price come from ('assumption: ...').")


class ExtraCost(Strict):
    """A cost line beside serving: a vector database, embeddings, egress, licences, migration work."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", description="Line-item name, e.g. vector-db.")
    usd: NonNeg = Field(le=1e10, description="Amount in USD per unit of `per`.")
    per: Literal["one-off", "month", "request", "million-tokens"] = Field(
        description="one-off (paid in `month`), month (every month), request (each request the option serves, "
        "cache hits excluded), million-tokens (per 1M input + output tokens)."
    )
    month: int = Field(default=0, ge=0, description="Month a one-off cost is paid (0 = first).")
    scope: Literal["provider", "shared"] = Field(
        default="provider",
        description="In a router: provider (each distinct provider the router uses pays it: an integration, a "
        "contract minimum) or shared (paid once however many members carry it: one vector database).",
    )
    source: str = Field(min_length=3, description="Quote, price page or 'assumption: ...'.")

    @model_validator(mode="after")
    def _not_an_engine_column(self) -> ExtraCost:
        if self.name in ENGINE_COLUMNS or self.name.startswith("local_"):
            raise ValueError(f"name {self.name!r} is one of the engine's own line items; choose another")
        return self


class Workload(Strict):
    """What the application asks of the model, month by month."""

    requests_per_month: float = Field(ge=0, le=1e12, description="Requests in the first month (at most 1e12).")
    input_tokens_per_request: float = Field(ge=0, le=1e7, description="Mean prompt tokens per request.")
    output_tokens_per_request: float = Field(ge=1, le=1e6, description="Mean generated tokens per request.")
    cached_input_share: Fraction01 = Field(
        default=0.0, description="Share of input tokens served from a prompt cache (API cache price; prefix cache)."
    )
    batch_share: Fraction01 = Field(
        default=0.0, description="Share of requests that tolerate batch (asynchronous) APIs and their discount."
    )
    monthly_growth: float = Field(default=0.0, ge=-0.5, le=2.0, description="Compound growth of requests per month.")
    peak_to_mean: float | None = Field(
        default=None,
        ge=1,
        le=24,
        description="Ratio of the busiest hour's request rate to the mean; used when no load_shape is given.",
    )
    load_shape: tuple[Annotated[float, Field(ge=0, le=1e12)], ...] | None = Field(
        default=None,
        min_length=24,
        max_length=24,
        description="24 hourly weights of the daily load (any scale; normalised to mean 1).",
    )
    response_cache: ResponseCache | None = Field(
        default=None,
        description="A response (semantic) cache in front of every option: its hits never reach the model.",
    )
    slo: Slo = Field(description="Latency objective the self-hosted options must meet at peak.")
    request_classes: tuple[RequestClass, ...] = Field(
        default=(),
        description="Request classes with their shares and quality requirement; hybrids keep local only the "
        "classes the local model is good enough for, routers send each class where it is served cheapest. "
        "None: one class with no quality requirement.",
    )
    quality_bound: Literal["point", "lower"] = Field(
        default="point",
        description="What must clear a class's min_quality: the accuracy (point) or the lower end of its 95 % "
        "interval (lower; measured quality only, a stated figure has no interval).",
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Workload:
        if 0 < self.requests_per_month < 1:
            raise ValueError(f"requests_per_month = {self.requests_per_month:g}: give 0 or at least one request")
        if self.peak_to_mean is not None and self.load_shape is not None:
            raise ValueError("give either peak_to_mean or load_shape, not both")
        if self.load_shape is not None and sum(self.load_shape) <= 0:
            raise ValueError("load_shape must have at least one positive weight")
        if self.request_classes:
            names = [c.name for c in self.request_classes]
            if len(set(names)) < len(names):
                raise ValueError(f"request_classes: names must be unique; got {', '.join(names)}")
            total = sum(c.share for c in self.request_classes)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"request_classes: shares must sum to 1, got {total:g}")
            self.class_factors()  # raises if the classes' token multiples cannot average to 1
        return self

    @property
    def classes(self) -> tuple[RequestClass, ...]:
        """The request classes, or one class ``all`` holding every request."""
        return self.request_classes or (RequestClass(name="all", share=1.0),)

    def class_factors(self) -> dict[str, tuple[float, float]]:
        """Per class, its (input, output) tokens as multiples of the workload's means: its own, or
        for classes that do not say, the one multiple that keeps the means (share-weighted mean 1).

        Raises ValueError when the classes' multiples cannot average to 1."""
        out: dict[str, tuple[float, float]] = {c.name: (1.0, 1.0) for c in self.classes}
        for i, field in enumerate(("input_tokens_factor", "output_tokens_factor")):
            stated = {c.name: getattr(c, field) for c in self.classes if getattr(c, field) is not None}
            if not stated:
                continue
            free = [c for c in self.classes if c.name not in stated]
            given = sum(c.share * stated[c.name] for c in self.classes if c.name in stated)
            if free:
                rest = (1.0 - given) / sum(c.share for c in free)
                if rest <= 0:
                    raise ValueError(
                        f"request_classes: {field} ({', '.join(f'{k} {v:g}' for k, v in stated.items())}) takes "
                        f"{given:.4g} of the workload's mean, leaving {rest:.4g} for "
                        f"{', '.join(c.name for c in free)}; lower them"
                    )
                values = {**stated, **{c.name: rest for c in free}}
            elif abs(given - 1.0) > 1e-6:
                raise ValueError(
                    f"request_classes: {field} averages {given:.6g} (share-weighted) where it must average 1 (the "
                    "workload's mean); leave one class without its own to take the rest"
                )
            else:
                values = stated
            for c in self.classes:
                pair = out[c.name]
                out[c.name] = (values[c.name], pair[1]) if i == 0 else (pair[0], values[c.name])
        return out

    def class_tokens(self) -> dict[str, tuple[float, float]]:
        """Per class, its mean (input, output) tokens (:meth:`class_factors` x the workload's means)."""
        return {
            name: (fin * self.input_tokens_per_request, fout * self.output_tokens_per_request)
            for name, (fin, fout) in self.class_factors().items()
        }


class PriceTrends(Strict):
    """Yearly decline of market prices over the horizon (owned hardware keeps its capex)."""

    api_price_decline_per_year: float = Field(
        default=0.0, ge=0, lt=1, description="Yearly decline of per-token API prices (0.3 = 30 % cheaper a year)."
    )
    gpu_rent_decline_per_year: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Yearly decline of on-demand GPU rental prices; committed rentals keep their contracted rate.",
    )
    source: str = Field(default="assumption", description="Where the rates come from; 'assumption' if nowhere.")


class Efficiency(Strict):
    """Overrides of the engine's calibrated roofline settings (data/catalog/engines.yaml); each
    absent field keeps the engine's value."""

    mbu: PositiveFraction | None = Field(default=None, description="Achieved share of memory bandwidth in a step.")
    decode_mfu: PositiveFraction | None = Field(
        default=None, description="Achieved share of tensor FLOPs on decode tokens."
    )
    mfu: PositiveFraction | None = Field(default=None, description="Achieved share of tensor FLOPs in prefill.")
    expert_mfu: PositiveFraction | None = Field(
        default=None, description="Achieved share of tensor FLOPs in routed-expert GEMMs (MoE models)."
    )
    expert_mbu: PositiveFraction | None = Field(
        default=None, description="Achieved share of memory bandwidth reading routed-expert weights (MoE models)."
    )
    step_overhead_ms: NonNeg | None = Field(
        default=None, le=1e4, description="Engine time per step outside GPU kernels (scheduling, sampling), ms."
    )
    step_overhead_per_rank_ms: NonNeg | None = Field(
        default=None,
        le=1e4,
        description="Time per step each tensor-parallel rank beyond the first adds to the step overhead, ms.",
    )
    memory_utilization: PositiveFraction | None = Field(
        default=None,
        description="Share of GPU memory the engine may use: of the whole memory for vLLM (gpu_memory_utilization) "
        "and SGLang; for TensorRT-LLM, the KV cache's share of what the weights leave free (free_gpu_memory_fraction).",
    )
    reserved_memory_gb: NonNeg | None = Field(
        default=None, le=1e4, description="GPU memory per GPU kept for activations, CUDA graphs and buffers, GB."
    )
    max_num_seqs: int | None = Field(
        default=None, ge=1, le=10_000_000, description="Engine cap on concurrently running sequences."
    )
    max_batched_tokens: int | None = Field(
        default=None,
        ge=16,
        description="Engine token budget per step, decode plus prefill (vLLM max_num_batched_tokens).",
    )


class ClassAccuracy(Strict):
    """Accuracy on one request class, as a quality run measured it."""

    accuracy: Fraction01 = Field(description="Share of the class's items answered correctly.")
    ci_low: Fraction01 = Field(description="Lower end of the 95 % Wilson interval.")
    ci_high: Fraction01 = Field(description="Upper end of the 95 % Wilson interval.")
    n: int = Field(ge=1, description="Items scored.")


class MeasuredQuality(Strict):
    """Per-class accuracy from a ``tco quality`` run (``quality_run`` is read into this)."""

    classes: dict[str, ClassAccuracy] = Field(
        description="Request class -> accuracy; 'all' (every item) stands for any class the run did not tag."
    )
    source: str = Field(min_length=3, description="The run: id, endpoint, suites, items.")
    as_of: date = Field(description="Date of the run.")
    caveat: str | None = Field(default=None, description="Why the figure deserves care (an unfinished run).")


class _QualityFields(Strict):
    """How good the answers of what serves are: stated (quality, quality_source) or measured
    (quality_run, read into quality_measured). Quality belongs to what serves (an API's provider and
    model, or an open model in its weight format), not to an option's name: options serving the same
    thing share it."""

    quality: Fraction01 | dict[str, Fraction01] | None = Field(
        default=None,
        description="Accuracy (0-1) on your task: one figure for every request class, or one per class name "
        "('all' for the rest). Needs quality_source.",
    )
    quality_source: str | None = Field(
        default=None,
        min_length=3,
        description="Where quality comes from: your evaluation, a publication, or 'assumption: ...'.",
    )
    quality_run: str | None = Field(
        default=None,
        description="A tco quality run folder (data/quality/<run-id>); its per-class accuracy becomes the quality, "
        "tagged measured.",
    )
    quality_measured: MeasuredQuality | None = Field(
        default=None, description="Measured per-class accuracy; filled in from quality_run when the scenario loads."
    )

    @model_validator(mode="after")
    def _one_quality(self) -> _QualityFields:
        given = [f for f in ("quality", "quality_run", "quality_measured") if getattr(self, f) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of quality, quality_run (measured), not {' and '.join(given)}")
        if self.quality is not None and self.quality_source is None:
            raise ValueError(
                "quality needs quality_source: your evaluation, a publication, or 'assumption: ...' "
                "(or measure it: quality_run)"
            )
        if isinstance(self.quality, dict) and not self.quality:
            raise ValueError("quality: give at least one class")
        return self

    @property
    def declares_quality(self) -> bool:
        return self.quality is not None or self.quality_measured is not None or self.quality_run is not None


class Serving(_QualityFields):
    """Default serving stack for self-hosted options (each option may override model and format).
    Its quality is that of ``model`` in ``quantization``: every option serving them shares it."""

    model: str = Field(description="Open model id from data/catalog/models.yaml.")
    quantization: str = Field(default="bf16", description="Weight format id from data/catalog/quantizations.yaml.")
    engine: str = Field(default="vllm", description="Serving engine id from data/catalog/engines.yaml.")
    kv_cache_dtype: Literal["auto", "bf16", "fp8"] = Field(
        default="auto", description="KV-cache dtype: auto follows the engine's default for the weight format."
    )
    efficiency: Efficiency = Field(default_factory=Efficiency, description="Overrides of the engine's efficiencies.")


class MeasuredThroughput(Strict):
    """A measured serving figure that replaces the roofline estimate."""

    output_tokens_per_s_per_replica: float = Field(
        gt=0, le=1e8, description="Output tokens/s one replica sustains while meeting the SLO."
    )
    ttft_p95_ms: float | None = Field(default=None, gt=0, le=1e7, description="Measured p95 TTFT at that load.")
    tpot_p95_ms: float | None = Field(default=None, gt=0, le=1e6, description="Measured p95 TPOT at that load.")
    source: str = Field(min_length=3, description="Where the figure was measured (probe run id, benchmark, URL).")
    as_of: date = Field(description="Date of the measurement.")
    caveat: str | None = Field(
        default=None, description="Why the figure deserves care, e.g. it comes from an interrupted probe run."
    )


class _OptionBase(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", description="Unique name of the option.")
    label: str | None = Field(default=None, description="Display label; defaults to the name.")
    extra_costs: tuple[ExtraCost, ...] = Field(
        default=(), description="Cost lines beside serving (vector DB, embeddings, egress, licences, migration)."
    )


class _ServingOption(_OptionBase, _QualityFields):
    pass


class Migration(Strict):
    """What moving off a retiring API model to its successor costs, once, in the month it retires."""

    usd: float = Field(
        ge=0, le=1e9, description="One-off cost of the move (re-evaluation, prompt changes, testing), USD."
    )
    source: str = Field(min_length=3, description="Where the figure comes from; an estimate says so.")


class ApiOption(_ServingOption):
    """Pay a cloud API per token."""

    kind: Literal["api"] = Field(description="Option kind.")
    provider: str = Field(description="genai-prices provider id (openai, aws, groq, ...).")
    model: str = Field(description="Model id at that provider.")
    ttft_p95_ms: float | None = Field(
        default=None, gt=0, le=1e7, description="Known p95 TTFT of this API; unknown (unverified) if absent."
    )
    tpot_p95_ms: float | None = Field(
        default=None, gt=0, le=1e6, description="Known p95 TPOT of this API; unknown if absent."
    )
    latency_source: str | None = Field(
        default=None,
        min_length=3,
        description="Where ttft_p95_ms and tpot_p95_ms come from (a probe run, a published benchmark).",
    )
    latency_measured: bool = Field(
        default=False, description="The latencies come from a probe run (set when probe_run is read)."
    )
    probe_run: str | None = Field(
        default=None,
        description="A tco probe run of this API (data/probes/<run-id>); its p95 TTFT and TPOT at the most "
        "demanding valid level become the API's latency, so its SLO status is met or missed.",
    )
    free_tier_source: str | None = Field(
        default=None,
        min_length=3,
        description="Where the provider says this model is free to use; without it a zero price is an error.",
    )
    price_scale: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="Multiplier on the catalog's per-token prices: 0.8 for a negotiated 20 % discount; "
        "a distribution under uncertainty models price risk.",
    )
    migration: Migration | None = Field(
        default=None,
        description="What moving to the successor costs when the model retires inside the horizon (catalog "
        "retirements); without it the move is costed at $0 and every face says so.",
    )

    @model_validator(mode="after")
    def _latency_sourced(self) -> ApiOption:
        if self.probe_run is not None and (self.ttft_p95_ms is not None or self.tpot_p95_ms is not None):
            raise ValueError("give probe_run or ttft_p95_ms/tpot_p95_ms, not both")
        if (self.ttft_p95_ms is not None or self.tpot_p95_ms is not None) and self.latency_source is None:
            raise ValueError("ttft_p95_ms and tpot_p95_ms need latency_source (or measure them: probe_run)")
        return self


class Procurement(Strict):
    """How a fleet bought or committed on the plan reacts to the demand it sees (Monte Carlo draws):
    every ``review_months`` its owners look at the month's demand and order the GPUs that cover it
    plus ``headroom``; they serve ``lead_time_months`` later. The fleet never shrinks."""

    review_months: int = Field(ge=1, le=120, description="Months between capacity reviews (the first at month 0).")
    lead_time_months: int = Field(ge=0, le=60, description="Months from an order to the GPUs serving.")
    headroom: NonNeg = Field(
        le=10, description="Capacity ordered beyond the demand seen, as a share of it (0.1 = 10 %)."
    )
    source: str = Field(min_length=3, description="Where the review cycle, lead time and headroom come from.")


class _SelfHostedBase(_ServingOption):
    gpu: str = Field(description="GPU id from data/catalog/gpus.yaml.")
    model: str | None = Field(default=None, description="Open model id; defaults to serving.model.")
    quantization: str | None = Field(default=None, description="Weight format id; defaults to serving.quantization.")
    gpus_per_replica: Literal[1, 2, 4, 8] | None = Field(
        default=None,
        description="Tensor-parallel size; if absent, every layout that fits is costed and the cheapest per served "
        "token is chosen.",
    )
    max_utilization: PositiveFraction = Field(
        default=0.8, description="Share of a replica's SLO capacity planned for at peak (headroom for queueing)."
    )
    spare_replicas: int = Field(
        ge=0,
        le=10_000,
        description="Extra replicas kept for redundancy (N+1 = 1); required, 0 allowed: say so explicitly.",
    )
    sizing: Literal["plan", "resize"] | None = Field(
        default=None,
        description="plan: the fleet is sized on the scenario's point estimate and kept whatever demand turns out "
        "(default for owned and committed fleets); resize: re-sized to demand with resize_lag_months of delay "
        "(default for on-demand rentals, lag 0).",
    )
    resize_lag_months: int = Field(
        default=0, ge=0, le=24, description="With sizing resize: months between a change in demand and the fleet's."
    )
    procurement: Procurement | None = Field(
        default=None,
        description="With sizing plan: how the fleet is topped up when demand outruns the plan (Monte Carlo draws); "
        "absent: the plan's GPUs are all it ever has.",
    )
    overflow: str | None = Field(
        default=None,
        description="Name of an api option that serves what the fleet cannot (demand above its capacity); "
        "without one such demand misses the SLO.",
    )
    gpus: int | None = Field(
        default=None,
        ge=1,
        le=10_000_000,
        description="Fixed fleet size in GPUs; sized for each month's peak if absent. A fixed fleet too small "
        "for the peak misses the SLO.",
    )
    measured: MeasuredThroughput | None = Field(
        default=None, description="Measured per-replica throughput; replaces the roofline when given."
    )
    capacity_scale: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="Multiplies a modelled capacity per replica (not a measured one): a derating you know of. "
        "Monte Carlo draws it (capacity_uncertainty) from the published runs of the option's engine on its GPU "
        "unless the uncertainty section states it.",
    )
    probe_run: str | None = Field(
        default=None,
        description="Probe run directory (relative to the repository or absolute); its largest load level "
        "meeting the SLO becomes the measured throughput.",
    )
    ops_staff_fte: NonNeg = Field(le=1e5, description="Operations staff, full-time equivalents; required, 0 allowed.")
    ops_staff_usd_per_year: NonNeg = Field(
        le=1e8, description="Loaded yearly cost of one FTE, USD; required, 0 allowed."
    )

    @property
    def policy(self) -> Literal["plan", "resize"]:
        """The sizing policy in force (the kind's default when unset)."""
        if self.sizing is not None:
            return self.sizing
        return "resize" if isinstance(self, RentedOption) and not self.committed else "plan"


class SpotTerms(Strict):
    """What renting on spot costs in capacity: the provider takes instances back, and a replica is
    down until its replacement has loaded the model; spare replicas keep the SLO meanwhile."""

    interruptions_per_month: NonNeg = Field(
        le=10_000, description="Interruptions of one instance per month, on average (the provider's published rate)."
    )
    restart_minutes: NonNeg = Field(
        le=10_000, description="Minutes a replica is down per interruption: a new instance found, the model loaded."
    )
    spare_share: Fraction01 = Field(
        description="Extra replicas kept as a share of the fleet to ride out interruptions (0.1: one spare per 10)."
    )
    source: str = Field(min_length=3, description="Where the interruption rate and restart time come from.")


class RentedOption(_SelfHostedBase):
    """Rent GPUs by the hour and run vLLM on them."""

    kind: Literal["rented"] = Field(description="Option kind.")
    provider: str | None = Field(default=None, description="Rental provider; cheapest in the catalog if absent.")
    region: str | None = Field(
        default=None, description="Provider region (us-east-1); the cheapest region of the catalog's rentals if absent."
    )
    commitment: Commitment = Field(
        default="on-demand", description="on-demand, 1-year, 3-year, or spot (interruptible; needs spot terms)."
    )
    spot: SpotTerms | None = Field(
        default=None, description="With commitment spot: the interruptions it plans for, and their source."
    )
    usd_per_gpu_hour: float | None = Field(
        default=None, ge=0, le=1e4, description="Negotiated price per GPU-hour; overrides the catalog."
    )

    @model_validator(mode="after")
    def _spot_terms(self) -> RentedOption:
        if self.commitment == "spot" and self.spot is None:
            raise ValueError(
                "commitment spot needs spot: {interruptions_per_month, restart_minutes, spare_share, source} "
                "(the provider publishes interruption rates, e.g. AWS's Spot Instance Advisor)"
            )
        if self.spot is not None and self.commitment != "spot":
            raise ValueError(f"spot terms are for commitment spot, not {self.commitment}")
        return self

    @property
    def committed(self) -> bool:
        """A 1- or 3-year commitment: GPUs paid for whether used or not (on demand and spot are not)."""
        return self.commitment in ("1-year", "3-year")


class OwnedOption(_SelfHostedBase):
    """Buy GPUs, host them in a colocation facility and run vLLM on them."""

    kind: Literal["owned"] = Field(description="Option kind.")
    usd_per_gpu: float | None = Field(
        default=None, ge=0, le=1e7, description="Purchase price per GPU; overrides the catalog."
    )
    server_usd_per_gpu: NonNeg = Field(
        le=1e7, description="Host server, networking and storage capex per GPU, USD; required, 0 allowed."
    )
    depreciation_years: float = Field(default=4.0, gt=0, le=15, description="Straight-line depreciation life, years.")
    residual_value: Fraction01 = Field(
        default=0.1, description="Resale value at the end of the depreciation life, as a share of capex."
    )
    count_residual: bool = Field(
        default=True, description="Book value of the fleet at the horizon's end counts as a cash inflow."
    )
    server_power_factor: float = Field(
        default=1.8,
        ge=1,
        le=10,
        description="Whole-server power per GPU TDP (CPU, memory, NICs, fans). DGX H100: 10.2 kW / (8 x 700 W) = 1.8.",
    )
    idle_power_fraction: Fraction01 = Field(default=0.3, description="Power drawn when idle, share of full power.")
    pue: float = Field(default=1.56, ge=1, le=3, description="Power usage effectiveness of the facility.")
    usd_per_kwh: NonNeg = Field(le=10, description="Electricity price, USD per kWh.")
    colocation_usd_per_kw_month: NonNeg = Field(
        le=1e5,
        description="Colocation charge per kW of provisioned IT power per month; required, 0 allowed (own site).",
    )
    maintenance_per_year: Fraction01 = Field(
        description="Yearly maintenance and support contracts, share of cumulative capex; required, 0 allowed."
    )


class HybridOption(_OptionBase):
    """A fixed local fleet serves up to its SLO capacity; the overflow goes to an API."""

    kind: Literal["hybrid"] = Field(description="Option kind.")
    local: str = Field(description="Name of an owned or rented option that supplies the local fleet's costs.")
    overflow: str = Field(description="Name of an api option that takes what the local fleet cannot serve.")
    local_gpus: int = Field(
        ge=0, le=10_000_000, description="GPUs in the local fleet (spares of the local option included)."
    )


class MeasuredConfusion(Strict):
    """A classifier's confusion matrix as a ``tco classify`` run measured it (``classifier_run`` is
    read into this)."""

    rows: dict[str, dict[str, Fraction01]] = Field(
        description="True class -> predicted class -> share of that class's items (each row sums to 1)."
    )
    n: dict[str, int] = Field(description="Items scored per true class.")
    accuracy: Fraction01 = Field(description="Share of all items classified right.")
    ci_low: Fraction01 = Field(description="Lower end of the accuracy's 95 % Wilson interval.")
    ci_high: Fraction01 = Field(description="Upper end of the accuracy's 95 % Wilson interval.")
    source: str = Field(min_length=3, description="The run: id, classifier, labelled set, items.")
    as_of: date = Field(description="Date of the run.")
    caveat: str | None = Field(default=None, description="Why the figure deserves care (an unfinished run).")


ClassifierKind = Literal["labelled", "rules", "embedding", "self-hosted", "api"]


class Classifier(Strict):
    """How a router tells its request classes apart: what it costs, the latency it adds before the
    first token, and how often it is wrong (its confusion matrix over the classes), stated with a
    source or measured (``classifier_run``). ``labelled``: requests arrive labelled by the caller
    (a product surface per class), at no cost and never wrong; say why in ``source``."""

    kind: ClassifierKind = Field(
        description="labelled (the caller labels requests), rules (keywords, regexes), embedding (an embedding "
        "and a small model), self-hosted (a small model on our GPUs), api (an LLM API call)."
    )
    usd_per_request: NonNeg | None = Field(
        default=None,
        le=100,
        description="Cost of classifying one request, USD (rules, embedding, self-hosted: its share of the "
        "hardware). An api classifier is priced from the catalog instead (api_provider, api_model, tokens).",
    )
    usd_per_month: NonNeg = Field(
        default=0.0, le=1e9, description="Fixed cost a month, USD (a GPU kept for the classifier; 0 if none)."
    )
    api_provider: str | None = Field(default=None, description="api kind: genai-prices provider id.")
    api_model: str | None = Field(default=None, description="api kind: model id at that provider.")
    prompt_tokens: float | None = Field(
        default=None, ge=0, le=1e7, description="api kind: tokens sent per classification (instructions + request)."
    )
    answer_tokens: float | None = Field(
        default=None, ge=1, le=1e4, description="api kind: tokens the classifier answers with."
    )
    added_ttft_ms: NonNeg | None = Field(
        default=None,
        le=1e7,
        description="Latency the classifier adds before the first token, p95, ms; the members must meet the TTFT "
        "objective with it added.",
    )
    confusion: dict[str, dict[str, Fraction01]] | None = Field(
        default=None,
        description="True class -> predicted class -> share of that class's requests (each row sums to 1; an "
        "absent cell is 0). Stated with source, or measured: classifier_run.",
    )
    classifier_run: str | None = Field(
        default=None,
        description="A tco classify run folder (data/classifier/<run-id>); its confusion matrix becomes the "
        "classifier's, tagged measured.",
    )
    confusion_measured: MeasuredConfusion | None = Field(
        default=None, description="Measured confusion matrix; filled in from classifier_run when the scenario loads."
    )
    source: str = Field(
        min_length=3, description="Where the cost, latency and confusion come from ('assumption: ...' if nowhere)."
    )

    @model_validator(mode="after")
    def _complete(self) -> Classifier:
        confusion = [f for f in ("confusion", "classifier_run", "confusion_measured") if getattr(self, f) is not None]
        api_fields = ("api_provider", "api_model", "prompt_tokens", "answer_tokens")
        if self.kind == "labelled":
            given = [f for f in ("usd_per_request", "added_ttft_ms", *api_fields, *confusion) if getattr(self, f)]
            if given or self.usd_per_month:
                raise ValueError(f"a labelled classifier costs nothing and is never wrong: drop {', '.join(given)}")
            return self
        if len(confusion) != 1:
            raise ValueError(
                "give the classifier's confusion matrix: confusion (stated, with source) or classifier_run "
                "(measured by tco classify)"
                if not confusion
                else f"give one of confusion, classifier_run, not {' and '.join(confusion)}"
            )
        if self.added_ttft_ms is None:
            raise ValueError("added_ttft_ms is missing: the latency the classifier adds before the first token")
        if self.kind == "api":
            missing = [f for f in api_fields if getattr(self, f) is None]
            if missing:
                raise ValueError(f"an api classifier is priced from the catalog: give {', '.join(missing)}")
            if self.usd_per_request is not None:
                raise ValueError("an api classifier is priced from the catalog: drop usd_per_request")
        else:
            if self.usd_per_request is None:
                raise ValueError(f"usd_per_request is missing: what classifying one request costs ({self.kind})")
            given = [f for f in api_fields if getattr(self, f) is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: only for an api classifier (kind: api)")
        return self

    def matrix(self, classes: tuple[str, ...]) -> dict[str, dict[str, float]]:
        """True class -> predicted class -> share, every cell filled (labelled: the identity)."""
        rows = (
            self.confusion_measured.rows
            if self.confusion_measured is not None
            else self.confusion
            if self.confusion is not None
            else {c: {c: 1.0} for c in classes}
        )
        return {t: {p: float(rows.get(t, {}).get(p, 0.0)) for p in classes} for t in classes}

    @property
    def basis(self) -> str:
        """measured, stated or labelled."""
        return (
            "measured" if self.confusion_measured is not None else "labelled" if self.kind == "labelled" else "stated"
        )


class Escalation(Strict):
    """A second chance: answers from the router's other members are checked, and a flagged one is
    asked again of the strong member ``to`` (which bills it too)."""

    to: str = Field(description="The member a flagged request is sent to (usually the strongest).")
    catches: Fraction01 = Field(description="Share of wrong answers the check flags.")
    false_alarms: Fraction01 = Field(description="Share of right answers the check flags all the same.")
    check_usd_per_request: NonNeg = Field(le=100, description="What checking one answer costs, USD.")
    added_ttft_ms: NonNeg = Field(
        le=1e7,
        description="p95 latency added before the first token of a checked answer (it must be finished and "
        "checked before it is sent), ms; the other members are held to the TTFT objective less it.",
    )
    source: str = Field(min_length=3, description="Where the check's rates, cost and latency come from.")


class RouterOption(_OptionBase):
    """Send each request class to one of the scenario's options. Every assignment of classes to
    members is costed; the router takes the one with the lowest NPV that meets every class's
    quality and the SLO (see costmodel/engine/router.py)."""

    kind: Literal["router"] = Field(description="Option kind.")
    members: tuple[str, ...] = Field(
        min_length=2,
        max_length=12,
        description="Names of the api, rented, owned or hybrid options a class may be sent to. Each member is "
        "costed at its classes' share of traffic; its extra costs count once, if any class goes to it.",
    )
    routes: dict[str, str] = Field(
        default_factory=dict,
        description="Classes whose member is fixed: class name -> member; the router chooses for the others.",
    )
    classifier: Classifier | None = Field(
        default=None,
        description="How requests are told apart: required when the workload has request classes (kind: labelled "
        "if the caller labels them).",
    )
    escalation: Escalation | None = Field(
        default=None, description="Check the other members' answers and re-ask the strong one when a check fails."
    )


MAX_ROUTES = 4096
"""Assignments a router may have to cost (members ** classes it chooses for)."""

Option = Annotated[ApiOption | RentedOption | OwnedOption | HybridOption | RouterOption, Field(discriminator="kind")]
ServingOption = ApiOption | RentedOption | OwnedOption

_SELF_HOSTED_UNCERTAIN = ("max_utilization", "capacity_scale", "ops_staff_fte", "ops_staff_usd_per_year")
UNCERTAIN_FIELDS: dict[str, tuple[str, ...]] = {
    "workload": ("requests_per_month", "monthly_growth", "cached_input_share", "batch_share"),
    "trends": ("api_price_decline_per_year", "gpu_rent_decline_per_year"),
    "serving.efficiency": (
        "mbu",
        "decode_mfu",
        "mfu",
        "expert_mfu",
        "expert_mbu",
        "step_overhead_ms",
        "step_overhead_per_rank_ms",
    ),
    "api": ("price_scale",),
    "rented": ("usd_per_gpu_hour", *_SELF_HOSTED_UNCERTAIN),
    "owned": (
        "usd_per_gpu",
        "server_usd_per_gpu",
        "usd_per_kwh",
        "pue",
        "colocation_usd_per_kw_month",
        "maintenance_per_year",
        "residual_value",
        "idle_power_fraction",
        "server_power_factor",
        *_SELF_HOSTED_UNCERTAIN,
    ),
}
"""Inputs a scenario may give as a distribution: section -> fields (options by kind)."""


class Scenario(Strict):
    """One build-vs-buy question. Top-level keys starting with ``x-`` are ignored by the loader:
    they hold YAML anchors that options reuse (``extra_costs: [*vector-db]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"patternProperties": {"^x-": {}}})

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$", description="Short id (file stem).")
    title: str = Field(description="One-line description for reports.")
    description: str = Field(default="", description="Context: who asks, and why.")
    as_of: date = Field(description="Date the scenario's own assumptions were set.")
    horizon_months: int = Field(ge=1, le=120, description="Months to evaluate.")
    discount_rate: float = Field(ge=0, le=1, description="Yearly discount rate for NPV (0.08 = 8 %).")
    workload: Workload = Field(description="Demand and latency objective.")
    serving: Serving | None = Field(default=None, description="Default stack for self-hosted options.")
    options: tuple[Option, ...] = Field(min_length=1, description="Options to compare.")
    trends: PriceTrends = Field(default_factory=PriceTrends, description="Yearly price declines (none by default).")
    stale_price_days: int = Field(
        default=365,
        ge=1,
        le=36_500,
        description="A catalog price older than this many days at as_of is flagged stale in every face.",
    )
    sources: dict[str, str] = Field(
        default_factory=dict, description="Where scenario inputs come from: field path -> source text."
    )
    uncertainty: dict[str, Distribution] = Field(
        default_factory=dict,
        description="Uncertain inputs for Monte Carlo and the tornado: field path (as in sources, e.g. "
        "options.own-l40s.usd_per_kwh) -> distribution. The field's own value stays the point estimate.",
    )
    capacity_uncertainty: Literal["calibration", "none"] = Field(
        default="calibration",
        description="calibration: Monte Carlo draws each self-hosted option's capacity_scale (its modelled capacity "
        "per replica, published/modelled) from the published runs of its engine on its GPU (held-out ratios; the "
        "catalog's uncalibrated prior where the pair has too few), unless this scenario's uncertainty states that "
        "capacity_scale or the engine's efficiencies itself; none: every draw keeps the point estimate's capacity.",
    )

    @model_validator(mode="after")
    def _options_consistent(self) -> Scenario:
        names = [o.name for o in self.options]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"options: names must be unique; repeated: {', '.join(dupes)}")
        by_name = {o.name: o for o in self.options}
        for o in self.options:
            if isinstance(o, RentedOption | OwnedOption) and o.measured and o.probe_run:
                raise ValueError(f"options[{o.name}]: give measured or probe_run, not both")
            if isinstance(o, RentedOption | OwnedOption) and self.serving is None and (o.model is None):
                raise ValueError(f"options[{o.name}].model is missing: set it or add a serving section")
            if isinstance(o, OwnedOption) and o.depreciation_years * 12 < self.horizon_months - 1e-9:
                raise ValueError(
                    f"options[{o.name}].depreciation_years = {o.depreciation_years:g}: the {self.horizon_months}-month "
                    f"horizon runs past the hardware's {o.depreciation_years * 12:g}-month life, and the workbench "
                    "does not model a refresh; shorten the horizon or lengthen depreciation_years"
                )
            for e in o.extra_costs:
                if e.per == "one-off" and e.month >= self.horizon_months:
                    raise ValueError(
                        f"options[{o.name}].extra_costs[{e.name}].month = {e.month}: beyond the "
                        f"{self.horizon_months}-month horizon (months count from 0)"
                    )
            overflow = getattr(o, "overflow", None) if isinstance(o, RentedOption | OwnedOption) else None
            if overflow is not None and not isinstance(by_name.get(overflow), ApiOption):
                raise ValueError(f"options[{o.name}].overflow = {overflow!r}: must name an api option")
            if isinstance(o, HybridOption):
                local = by_name.get(o.local)
                if not isinstance(local, RentedOption | OwnedOption):
                    raise ValueError(f"options[{o.name}].local = {o.local!r}: must name an owned or rented option")
                if not isinstance(by_name.get(o.overflow), ApiOption):
                    raise ValueError(f"options[{o.name}].overflow = {overflow!r}: must name an api option")
            if isinstance(o, RouterOption):
                self._check_router(o, by_name)
        self._check_quality()
        for path in self.uncertainty:
            problem = self._uncertain_path_problem(path, by_name)
            if problem:
                raise ValueError(f"uncertainty.{path}: {problem}")
        return self

    def _check_router(self, o: RouterOption, by_name: dict) -> None:
        where = f"options[{o.name}]"
        if len(set(o.members)) < len(o.members):
            raise ValueError(f"{where}.members: each member once; got {', '.join(o.members)}")
        for m in o.members:
            member = by_name.get(m)
            if member is None:
                raise ValueError(f"{where}.members: no option named {m!r}; known: {', '.join(by_name)}")
            if isinstance(member, RouterOption):
                raise ValueError(f"{where}.members: {m!r} is a router; members are api, rented, owned or hybrid")
        lines: dict[tuple[str, str], tuple[str, ExtraCost]] = {}
        for m in o.members:  # a line counts once per provider (or once, shared): it must be one line
            for e in by_name[m].extra_costs:
                key = (e.name, "" if e.scope == "shared" else self.provider_key(m))
                first = lines.setdefault(key, (m, e))
                if first[1] != e:
                    raise ValueError(
                        f"{where}.members: {first[0]} and {m} both have an extra cost {e.name!r}"
                        + (f" for provider {key[1]}" if key[1] else " (shared)")
                        + ", with different terms; a router pays each such line once: give them different names"
                    )
        for e in o.extra_costs:
            first_member = next((m for (name, _), (m, _e) in lines.items() if name == e.name), None)
            if first_member is not None:
                raise ValueError(f"{where}.extra_costs.{e.name}: member {first_member} already has this line")
        names = [c.name for c in self.workload.classes]
        self._check_classifier(o, names)
        if o.escalation is not None and o.escalation.to not in o.members:
            raise ValueError(f"{where}.escalation.to = {o.escalation.to!r}: not a member ({', '.join(o.members)})")
        for cls, member in o.routes.items():
            if cls not in names:
                raise ValueError(f"{where}.routes: no request class {cls!r}; classes: {', '.join(names)}")
            if member not in o.members:
                raise ValueError(f"{where}.routes.{cls} = {member!r}: not a member ({', '.join(o.members)})")
        free = len(names) - len(o.routes)
        if len(o.members) ** free > MAX_ROUTES:
            raise ValueError(
                f"{where}: {len(o.members)} members and {free} classes to choose for make "
                f"{len(o.members) ** free:,} assignments (at most {MAX_ROUTES:,}); fix some in routes"
            )

    def _check_classifier(self, o: RouterOption, names: list[str]) -> None:
        where = f"options[{o.name}].classifier"
        k = o.classifier
        if k is None:
            if self.workload.request_classes:
                raise ValueError(
                    f"{where} is missing: a router must tell its request classes apart; state its classifier "
                    "(kind, usd_per_request, added_ttft_ms, confusion, source), or kind: labelled if requests "
                    "arrive labelled"
                )
            return
        rows = k.confusion_measured.rows if k.confusion_measured is not None else k.confusion
        if rows is None:
            return
        for true, row in rows.items():
            if true not in names:
                raise ValueError(f"{where}.confusion: no request class {true!r}; classes: {', '.join(names)}")
            for predicted in row:
                if predicted not in names:
                    raise ValueError(
                        f"{where}.confusion.{true}: no request class {predicted!r}; classes: {', '.join(names)}"
                    )
            if abs(sum(row.values()) - 1.0) > 1e-6:
                raise ValueError(f"{where}.confusion.{true}: the shares must sum to 1, got {sum(row.values()):g}")
        missing = [n for n in names if n not in rows]
        if missing:
            raise ValueError(f"{where}.confusion: no row for {', '.join(missing)} (every true class needs one)")

    def provider_key(self, name: str) -> str:
        """Who a member's provider-scoped lines are paid to (see ExtraCost.scope): an API's provider,
        a rental's provider, ``owned`` for our own hardware; a hybrid's are its local fleet's."""
        o = self.option(name)
        if isinstance(o, HybridOption):
            return self.provider_key(o.local)
        if isinstance(o, ApiOption):
            return o.provider
        if isinstance(o, RentedOption):
            return f"{o.provider or 'cheapest'} (rented)"
        return "owned"

    def serves(self, option: ServingOption) -> str:
        """What an option serves, which its quality belongs to: an API's provider/model, or an open
        model in its weight format."""
        if isinstance(option, ApiOption):
            return f"{option.provider}/{option.model}"
        model, quantization = self.model_of(option)
        return f"{model} ({quantization})"

    def model_of(self, option: RentedOption | OwnedOption) -> tuple[str, str]:
        """The open model and weight format a self-hosted option serves: its own, else the serving
        section's (validation makes sure one of them names a model)."""
        serving = self.serving
        model = option.model or (serving.model if serving else "")
        quantization = option.quantization or (serving.quantization if serving else "bf16")
        return model, quantization

    def _quality_declarations(self) -> dict[str, tuple[str, _QualityFields]]:
        """What serves -> (where its quality is stated, the statement)."""
        found: dict[str, tuple[str, _QualityFields]] = {}
        declared: list[tuple[str, str, _QualityFields]] = []
        if self.serving is not None and self.serving.declares_quality:
            key = f"{self.serving.model} ({self.serving.quantization})"
            declared.append((key, "serving", self.serving))
        for o in self.options:
            if isinstance(o, ApiOption | RentedOption | OwnedOption) and o.declares_quality:
                declared.append((self.serves(o), f"options[{o.name}]", o))
        fields = ("quality", "quality_source", "quality_run", "quality_measured")
        for key, where, q in declared:
            if key in found and any(getattr(found[key][1], f) != getattr(q, f) for f in fields):
                raise ValueError(
                    f"{where} and {found[key][0]} state different quality for {key}: quality belongs to what "
                    "serves, not to an option's name; state it once"
                )
            found.setdefault(key, (where, q))
        return found

    def _check_quality(self) -> None:
        names = {c.name for c in self.workload.classes} | {"all"}
        for key, (where, q) in self._quality_declarations().items():
            classes = q.quality if isinstance(q.quality, dict) else {}
            for cls in classes:
                if cls not in names:
                    raise ValueError(
                        f"{where}.quality: no request class {cls!r} (for {key}); classes: {', '.join(sorted(names))}"
                    )

    def quality_of(self, option: ServingOption) -> tuple[str, _QualityFields] | None:
        """Where the quality of what ``option`` serves is stated, and the statement (None: unknown)."""
        return self._quality_declarations().get(self.serves(option))

    def _uncertain_path_problem(self, path: str, by_name: dict) -> str | None:
        section, _, field = path.rpartition(".")
        if section.startswith("options."):
            name = section.removeprefix("options.")
            option = by_name.get(name)
            if option is None:
                return f"no option named {name!r}; known: {', '.join(by_name)}"
            allowed = UNCERTAIN_FIELDS.get(option.kind, ())
            where = f"a {option.kind} option"
        else:
            allowed, where = UNCERTAIN_FIELDS.get(section, ()), section or "the top level"
            if section == "serving.efficiency" and self.serving is None:
                return "the scenario has no serving section"
        if field not in allowed:
            return (
                f"{field!r} of {where} cannot be uncertain; choose from: {', '.join(allowed)}"
                if allowed
                else f"nothing in {where} can be uncertain; see UNCERTAIN_FIELDS in the README"
            )
        return None

    def api_option(self, name: str) -> ApiOption:
        """The API option ``name`` (an overflow, a router's member): validation made sure it is one."""
        o = self.option(name)
        if not isinstance(o, ApiOption):
            raise ValueError(f"options[{name}] is a {o.kind} option, not an api option")
        return o

    def serving_option(self, name: str) -> ApiOption | RentedOption | OwnedOption:
        """The option ``name`` that serves requests itself (a hybrid's local part, a router's member)."""
        o = self.option(name)
        if not isinstance(o, ApiOption | RentedOption | OwnedOption):
            raise ValueError(f"options[{name}] is a {o.kind} option: it does not serve requests itself")
        return o

    def option(self, name: str) -> ApiOption | RentedOption | OwnedOption | HybridOption | RouterOption:
        """The option called ``name``."""
        return next(o for o in self.options if o.name == name)

    def value_at(self, path: str) -> Any:
        """The value at a dotted field path (options by name), e.g. ``options.own.usd_per_kwh``."""
        node: Any = self
        keys = path.split(".")
        if keys[0] == "options":
            node, keys = self.option(keys[1]), keys[2:]
        for key in keys:
            node = getattr(node, key)
        return node


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (dotted; list items by ``name`` or index) in nested dict/list ``data``. Under
    ``uncertainty`` the rest of the path is one key (the uncertain input's own path)."""
    node: Any = data
    keys = path.split(".")
    if keys[0] == "uncertainty" and len(keys) > 1 and isinstance(data, dict):  # its keys are paths themselves
        data.setdefault("uncertainty", {})[".".join(keys[1:])] = value
        return
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            idx = next(
                (j for j, item in enumerate(node) if isinstance(item, dict) and item.get("name") == key),
                int(key) if key.isdigit() and int(key) < len(node) else None,
            )
            if idx is None:
                names = ", ".join(str(item.get("name")) for item in node if isinstance(item, dict))
                raise KeyError(f"no item named {key!r}; known: {names}")
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise KeyError(f"{'.'.join(keys[:i])} is not a section")


def with_values(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """A copy of ``scenario`` with the fields at the given paths replaced (and re-validated)."""
    data = scenario.model_dump(mode="json", exclude_none=True)  # lists, not tuples; re-validated below
    for path, value in values.items():
        set_path(data, path, value)
    return Scenario.model_validate(data)
