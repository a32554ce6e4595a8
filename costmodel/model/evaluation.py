"""The evaluation document: every figure a face shows, built once from the engine's results.

``tco evaluate --json`` prints it; the console, the report, the workbook's summary sheets, the
dashboard and the figures read only it. Where a figure has no value the field is ``null`` and a
``*_note`` field beside it says why ("none: this option's traffic all goes to an API"), so a face
never has to guess. Money is USD; ``npv_usd`` follows numpy-financial's sign convention (costs
are outflows, negative), every ``*_cost_usd`` is positive (money paid). Units are in the names.

The schema is written to ``data/schema/evaluation.schema.json`` (``tco schema``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from costmodel.model.base import Strict

DOCUMENT_VERSION = "1"

Kind = Literal["api", "rented", "owned", "hybrid", "router"]


class _Explained(Strict):
    """A model with optional figures, each of which needs its note when absent."""

    @model_validator(mode="after")
    def _absent_is_explained(self) -> _Explained:
        for name in type(self).model_fields:
            note = f"{name}_note"
            if note in type(self).model_fields and getattr(self, name) is None and not getattr(self, note):
                raise ValueError(f"{name} is absent and {note} does not say why")
        return self


class Workload(Strict):
    requests_per_month: float = Field(ge=0, description="Requests in the first month.")
    monthly_growth: float = Field(description="Growth of the volume per month, a fraction (0.04 = 4 %).")
    input_tokens_per_request: float = Field(ge=0, description="Mean prompt tokens per request.")
    output_tokens_per_request: float = Field(ge=0, description="Mean output tokens per request.")
    slo_ttft_p95_ms: float = Field(ge=0, description="Latency objective: p95 time to first token, ms.")
    slo_tpot_p95_ms: float = Field(ge=0, description="Latency objective: p95 time per output token, ms.")
    slo_text: str = Field(description="The objective in words, as every face states it.")
    summary: str = Field(description="One line: volume, growth, tokens, objective, horizon and rate.")


class Capacity(Strict):
    """One replica's capacity at the SLO (measured by a probe run, or modelled by the roofline)."""

    basis: str = Field(description="measured or modelled.")
    gpus_per_replica: int = Field(ge=1, description="GPUs in one replica (tensor-parallel size).")
    requests_per_s_per_replica: float = Field(ge=0, description="Requests per second one replica serves at the SLO.")
    output_tokens_per_s_per_replica: float = Field(ge=0, description="Output tokens per second of one replica.")
    batch: float | None = Field(description="Mean sequences in flight at that load.")
    ttft_ms: float | None = Field(description="p95 time to first token at that load, ms.")
    tpot_ms: float | None = Field(description="p95 time per output token at that load, ms.")
    ttft_mean_ms: float | None = Field(default=None, description="Mean time to first token, ms.")
    tpot_mean_ms: float | None = Field(default=None, description="Mean time per output token, ms.")
    e2e_ms: float | None = Field(default=None, description="Mean end-to-end latency of a request, ms.")
    slo_met: bool | None = Field(description="Whether the replica meets the SLO at its capacity.")
    limit: str = Field(description="What bounds the capacity (memory, compute, the SLO ...).")
    bound_by: str = Field(description="`limit` in words.")
    source: str = Field(description="Probe run, or the roofline and its calibration.")
    calibration: str = Field(
        default="",
        description="How sure a modelled figure is: 'calibrated on N published runs of <engine> on <GPU>; M held "
        "out: median error X %' or 'uncalibrated: ...' (empty for a measured figure).",
    )
    text: str = Field(
        description="Compact form every face shows: '783 tok/s x1 (modelled)'; "
        "'(uncalibrated)' where the engine has no published runs on the GPU, '(measured)' for a probe's figure."
    )


class Layout(Strict):
    """One layout (GPUs per replica) of a self-hosted option, with what it would cost."""

    gpus_per_replica: int = Field(ge=1, description="GPUs per replica.")
    chosen: bool = Field(description="The layout the option runs in (cheapest per served token meeting the SLO).")
    eligible: bool = Field(description="Not known to miss the SLO.")
    npv_cost_usd: float = Field(description="Present value of the option's cost in this layout, USD (positive).")
    usd_per_million_served: float | None = Field(description="Total cost per 1M tokens served in this layout, USD.")
    description: str = Field(description="GPUs per replica, throughput and what bounds it.")
    capacity: Capacity = Field(description="The replica's capacity in this layout.")


class Slo(Strict):
    met: bool | None = Field(description="Latency SLO met (true), missed (false) or unverified (null).")
    word: Literal["met", "missed", "unverified"] = Field(description="`met` in the one SLO wording.")
    ttft_ms: float | None = Field(description="p95 time to first token the option is known to give, ms.")
    tpot_ms: float | None = Field(description="p95 time per output token the option is known to give, ms.")
    basis: str = Field(description="Where the latency comes from (measured, modelled, stated, none).")
    note: str = Field(description="Why the status is what it is.")


class Quality(Strict):
    met: bool | None = Field(description="Every request class's accuracy requirement met, missed, or unknown (null).")
    word: str = Field(description="`met` in words, with its basis: 'met (stated)'.")
    basis: str = Field(description="measured, stated, measured/stated, unknown, or none (no requirement).")
    note: str = Field(description="Why.")


class FrontierRow(Strict):
    """One assignment of request classes to a router's members, costed."""

    routes: str = Field(description="The assignment in words: 'routine (80%) -> api-gpt-4o-mini, ...'.")
    classes: dict[str, str] = Field(description="Member each request class goes to.")
    npv_usd: float = Field(description="NPV of the assignment's cost, USD (negative: cost).")
    total_cost_usd: float = Field(description="Total cash cost over the horizon, USD.")
    quality: float | None = Field(description="Traffic-weighted accuracy; null when a member's accuracy is unknown.")
    quality_met: bool | None = Field(description="Every class's requirement met (null: unknown).")
    slo_met: bool | None = Field(description="Latency SLO of every member used (null: unverified).")
    eligible: bool = Field(description="Not known to miss the SLO or a class's requirement.")
    pareto: bool = Field(description="On the cost-quality Pareto front.")
    chosen: bool = Field(description="The router's choice.")


class Classifier(Strict):
    """How a router tells its request classes apart, what that costs, and how accurate it must be."""

    kind: str = Field(description="labelled, rules, embedding, self-hosted or api.")
    basis: str = Field(description="measured, stated or labelled.")
    source: str = Field(description="Where its cost, latency and confusion come from.")
    accuracy: float = Field(description="Share of requests classified right (traffic-weighted diagonal).")
    usd_per_request: float = Field(description="What classifying one request costs today, USD.")
    usd_per_month: float = Field(description="Fixed cost a month, USD.")
    added_ttft_ms: float = Field(description="Latency it adds before the first token, ms.")
    confusion: dict[str, dict[str, float]] = Field(description="True class -> predicted class -> share.")
    threshold: float | None = Field(description="Accuracy at which the recommendation changes (fraction).")
    threshold_note: str = Field(default="", description="Why there is no threshold.")
    floor: float = Field(
        description="Lowest accuracy searched: where the right class stops being its likeliest answer."
    )
    winner: str | None = Field(description="Recommended at its accuracy.")
    other: str | None = Field(description="Recommended on the other side of the threshold.")
    sentence: str = Field(description="The classifier and the accuracy it needs, in words.")


class Routing(Strict):
    routes: dict[str, str] = Field(description="Predicted request class -> member option.")
    shares: dict[str, float] = Field(
        description="Member option -> share of requests it serves (fraction), misrouted ones included."
    )
    mixes: dict[str, dict[str, float]] = Field(
        description="Member option -> true request class -> share of all requests it receives."
    )
    checked_share: float = Field(description="Share of requests whose answers an escalation checks (0: none).")
    escalated_share: float = Field(description="Share of requests asked again of the escalation's member (0: none).")
    classifier: Classifier | None = Field(description="The router's classifier.")
    classifier_note: str = Field(default="", description="Why there is no classifier.")
    note: str = Field(description="How the routes were chosen.")
    sentence: str = Field(description="The routes and why, in words.")
    frontier: list[FrontierRow] = Field(description="Every assignment costed.")


class Option(_Explained):
    """One option over the horizon."""

    name: str = Field(description="Option id in the scenario.")
    label: str = Field(description="Readable name.")
    kind: Kind = Field(description="api, rented, owned, hybrid or router.")
    total_cost_usd: float = Field(description="Sum of monthly cash costs over the horizon, USD (positive).")
    npv_usd: float = Field(description="Net present value of the cash flows, USD (costs negative).")
    npv_cost_usd: float = Field(description="Present value of the cost, USD (positive): -npv_usd.")
    usd_per_million_tokens: float | None = Field(description="Total cost per 1M tokens served, USD.")
    usd_per_million_tokens_note: str = Field(default="", description="Why there is no cost per token.")
    gpus_at_peak: int | None = Field(description="GPUs at the busiest month (self-hosted or a self-hosted member).")
    gpus_at_peak_note: str = Field(default="", description="Why there is no GPU count.")
    capacity: Capacity | None = Field(description="Per-replica capacity of the option's own fleet.")
    capacity_note: str = Field(default="", description="Why there is no capacity figure.")
    layouts: list[Layout] = Field(description="Self-hosted: every feasible layout, the chosen one marked.")
    layout_sentence: str = Field(description="Why the chosen layout, and the runner-up; empty without layouts.")
    slo: Slo = Field(description="Latency SLO status.")
    quality: Quality = Field(description="Quality status against every request class.")
    eligible: bool = Field(description="Not known to miss the SLO or the quality requirement.")
    recommended: bool = Field(description="The recommended option.")
    routing: Routing | None = Field(description="A router's routes and frontier.")
    routing_note: str = Field(default="", description="Why there is no routing.")
    price_notes: list[str] = Field(description="Which prices were used, with dates and sources.")
    mean_utilization: float | None = Field(description="Self-hosted: mean load / SLO capacity of the active fleet.")
    mean_utilization_note: str = Field(default="", description="Why there is no utilisation.")
    risks: list[str] = Field(description="Risk flags of this option.")
    monthly: dict[str, list[float]] = Field(description="Monthly cash flow, one list per column; month is 1-based.")
    line_items: list[str] = Field(description="Columns of `monthly` that are cost line items (USD), non-zero.")


class BreakEven(Strict):
    self_hosted: str = Field(description="Self-hosted option.")
    self_hosted_label: str = Field(description="Its readable name.")
    api: str = Field(description="API option it is compared with.")
    api_label: str = Field(description="Its readable name.")
    requests_per_month: float | None = Field(description="Steady monthly volume at which both cost the same.")
    note: str = Field(description="Why there is none, or what qualifies it.")
    payback_month: int | None = Field(description="Owned: first month from which its cumulative cost stays lower.")
    payback_note: str = Field(description="'month 7', 'not within the horizon', or 'not owned'.")


class Recommendation(Strict):
    option: str | None = Field(description="The recommended option, or null when no option is eligible.")
    label: str = Field(description="Its readable name, or 'none'.")
    reasons: list[str] = Field(description="Why, one sentence each.")
    risks: list[str] = Field(description="Risk flags.")
    confidence: float | None = Field(description="P(cheapest eligible) over the Monte Carlo draws.")
    sentence: str = Field(description="Reasons and risks as one paragraph.")


class Percentiles(Strict):
    p10: float = Field(description="10th percentile.")
    p25: float = Field(description="25th percentile.")
    p50: float = Field(description="Median.")
    p75: float = Field(description="75th percentile.")
    p90: float = Field(description="90th percentile.")


class SimulatedOption(Strict):
    name: str = Field(description="Option id.")
    label: str = Field(description="Readable name.")
    total_cost_usd: Percentiles = Field(description="Total cash cost over the draws, USD.")
    npv_cost_usd: Percentiles = Field(description="Present value of cost over the draws, USD (positive).")
    p_cheapest: float = Field(ge=0, le=1, description="Share of draws in which it is the cheapest eligible option.")
    p_slo: float | None = Field(description="Share of draws in which the SLO holds; null when unverified.")
    unserved_p10: float | None = Field(description="P10 of the share of requests beyond a planned fleet's capacity.")
    unserved_p50: float | None = Field(description="P50 of the share of requests beyond a planned fleet's capacity.")
    unserved_p90: float | None = Field(description="P90 of the share of requests beyond a planned fleet's capacity.")
    stranded_p10: float | None = Field(description="P10 of the share of GPU-months the draw's demand did not need.")
    stranded_p50: float | None = Field(description="P50 of the share of GPU-months the draw's demand did not need.")
    stranded_p90: float | None = Field(description="P90 of the share of GPU-months the draw's demand did not need.")


class MonteCarlo(Strict):
    draws: int = Field(ge=1, description="Number of draws.")
    seed: int = Field(ge=0, description="Random seed.")
    inputs: list[str] = Field(description="Uncertain inputs (scenario paths).")
    input_descriptions: list[str] = Field(description="Each input's distribution and source, in words.")
    planned_fleets: list[str] = Field(
        description="Options whose fleets do not follow each draw's demand: bought or committed on the plan (topped "
        "up by a procurement policy), a router with such members, a hybrid's fixed local fleet."
    )
    options: list[SimulatedOption] = Field(description="Per option.")


class SweepRow(Strict):
    local_gpus: int = Field(ge=0, description="Local fleet size.")
    local_share: float = Field(description="Share of requests served locally.")
    npv_usd: float = Field(description="NPV, USD (negative: cost).")
    total_cost_usd: float = Field(description="Total cash cost, USD.")
    slo_met: bool | None = Field(description="Whether this size meets the latency SLO (null: unverified).")
    optimal: bool = Field(description="The cheapest fleet size not known to miss the SLO.")


class HybridSweep(Strict):
    option: str = Field(description="Hybrid option.")
    label: str = Field(description="Readable name.")
    sentence: str = Field(description="The cheapest fleet, all-API and all-local, in words.")
    rows: list[SweepRow] = Field(description="Cost at each local fleet size, from 0 (all API) to all-local.")


class BreakEvenPoint(Strict):
    self_hosted: str = Field(description="Self-hosted option.")
    api: str = Field(description="API option.")
    requests_per_month: float = Field(description="Break-even volume.")
    monthly_cost_usd: float = Field(description="Steady monthly cost of both there, USD.")


class VolumeCurves(Strict):
    volumes_per_month: list[float] = Field(description="Monthly volumes (requests), ascending.")
    first_month_requests: float = Field(description="The scenario's first-month volume.")
    monthly_cost_usd: dict[str, list[float]] = Field(description="Option -> steady monthly cost at each volume, USD.")
    step: dict[str, bool] = Field(description="Option -> cost moves in steps (whole GPUs).")
    break_evens: list[BreakEvenPoint] = Field(description="Break-even points on the curves.")


class SensitivityRow(Strict):
    factor: str = Field(description="The input moved.")
    unit: str = Field(description="Its unit.")
    low: float = Field(description="Low value.")
    high: float = Field(description="High value.")
    metric_low: float = Field(description="Decision metric at the low value, USD.")
    metric_high: float = Field(description="Decision metric at the high value, USD.")
    break_even: float | None = Field(description="Value at which the decision metric crosses zero, within the range.")
    winner_low: str | None = Field(description="The option recommended at the low value.")
    winner_high: str | None = Field(description="The option recommended at the high value.")
    flips_at: float | None = Field(description="Value at which the recommended option changes, within the range.")
    flips_to: str | None = Field(description="The option recommended past flips_at.")


class Sensitivity(_Explained):
    ranges: str = Field(description="Between which values each input moves, in words.")
    options: list[str] | None = Field(description="The two options compared (best, runner-up).")
    options_note: str = Field(default="", description="Why there is no comparison.")
    base_metric_usd: float | None = Field(description="NPV(best) - NPV(runner-up) at the base case, USD.")
    base_metric_usd_note: str = Field(default="", description="Why there is none.")
    rows: list[SensitivityRow] = Field(description="One per input, largest swing first.")
    break_even_sentences: list[str] = Field(description="Where inputs flip the decision, in words.")


class ClassScore(Strict):
    accuracy: float | None = Field(description="Accuracy on the class; null when unknown.")
    ci_low: float | None = Field(description="Lower end of the 95 % interval (measured only).")
    ci_high: float | None = Field(description="Upper end of the 95 % interval (measured only).")
    n: int | None = Field(description="Items scored (measured only).")
    basis: Literal["measured", "stated", "unknown"] = Field(description="Where the accuracy comes from.")


class ServedQuality(Strict):
    what_serves: str = Field(description="The model in its weight format, or the API's model.")
    options: list[str] = Field(description="Options served by it.")
    classes: dict[str, ClassScore] = Field(description="Request class -> accuracy.")
    source: str = Field(description="Where the accuracies come from.")


class RequestClass(Strict):
    name: str = Field(description="Class name.")
    share: float = Field(description="Share of requests.")
    min_quality: float | None = Field(description="Accuracy the class needs; null: none.")


class StalePrice(Strict):
    """A catalog price older than the scenario's threshold at its date."""

    name: str = Field(description="What the price is: 'rent-h100: h100-sxm lambda on-demand rate'.")
    value: str = Field(description="The price with its unit.")
    as_of: str = Field(description="The price's date.")
    age_days: int = Field(description="Its age in days at the scenario's as_of.")
    source: str = Field(description="Where it comes from.")


class RetiringApiModel(Strict):
    """An API model the scenario uses that its provider shuts down before the horizon ends."""

    used_by: list[str] = Field(description="The options (or '<router> classifier') that call it.")
    model: str = Field(description="provider/model.")
    retires: str = Field(description="The shutdown date.")
    month: int = Field(ge=0, description="Month of the horizon it retires in (1 = the first; 0 = before as_of).")
    successor: str | None = Field(description="provider/model the provider names instead; null if none.")
    source: str = Field(description="Where the date and successor are published.")


class Assumption(Strict):
    input: str = Field(description="The input (scenario path or catalog entry).")
    value: str = Field(description="Its value, formatted in its unit.")
    unit: str = Field(description="Unit.")
    source: str = Field(description="Where it comes from.")
    as_of: str = Field(description="Date of the figure.")
    basis: str = Field(description="published, measured, derived, modelled, assumption or workbench default.")


class CapacityFrontier(Strict):
    """The throughput-interactivity frontier of one layout."""

    gpus_per_replica: int = Field(ge=1, description="GPUs per replica.")
    feasible: bool = Field(description="The layout can run.")
    why_not: str | None = Field(description="Why it cannot run.")
    capacity: Capacity | None = Field(description="SLO capacity.")
    usd_per_million_output: float | None = Field(description="GPU cost per 1M output tokens at the SLO capacity.")
    frontier: dict[str, list[float]] | None = Field(description="per_user, per_gpu, concurrency, latencies, cost.")


class CapacityStudy(Strict):
    """Every layout of one model on one GPU and engine: what ``tco capacity`` prints."""

    option: str | None = Field(default=None, description="The scenario option studied, if any.")
    title: str = Field(description="Model, format, GPU and engine in words.")
    model: str = Field(description="Model id.")
    quantization: str = Field(description="Weight format id.")
    gpu: str = Field(description="GPU id.")
    engine: str = Field(description="Engine id.")
    engine_version: str = Field(description="Engine version.")
    kv_cache_bytes_per_element: float = Field(description="KV cache bytes per element (1: FP8, 2: BF16).")
    input_tokens: float = Field(description="Prompt tokens per request.")
    output_tokens: float = Field(description="Output tokens per request.")
    cached_input_share: float = Field(description="Share of the prompt from the prefix cache.")
    slo: dict[str, float] = Field(description="ttft_p95_ms and tpot_p95_ms.")
    usd_per_gpu_hour: float | None = Field(description="GPU price used for cost per token.")
    price_source: str = Field(description="Where the price comes from.")
    calibration: str = Field(default="", description="How sure the modelled figures are (see Capacity.calibration).")
    best_gpus_per_replica: int | None = Field(description="Cheapest layout per output token meeting the SLO.")
    layouts: list[CapacityFrontier] = Field(description="Every layout.")


class Document(_Explained):
    """Everything a face shows of one evaluation."""

    format_version: Literal["1"] = Field(default="1", description="Version of this format.")
    scenario: str = Field(description="Scenario name.")
    title: str = Field(description="Scenario title.")
    description: str = Field(description="Scenario description.")
    as_of: str = Field(description="Date of the scenario's assumptions.")
    horizon_months: int = Field(ge=1, description="Months evaluated.")
    discount_rate: float = Field(description="Discount rate per year, a fraction.")
    workload: Workload = Field(description="What is served.")
    classes: list[RequestClass] = Field(description="Request classes (empty: one class, 'all').")
    options: list[Option] = Field(description="Every option, in scenario order.")
    break_even: list[BreakEven] = Field(description="Self-hosted option against each API option.")
    payback: list[dict[str, str | int | None]] = Field(description="owned, api, month (null: not in the horizon).")
    recommendation: Recommendation = Field(description="The recommendation and why.")
    capacity_summary: str = Field(description="Which capacities are measured and which modelled, in words.")
    stale_price_days: int = Field(default=365, description="The scenario's threshold for a stale price, days.")
    stale_prices: list[StalePrice] = Field(
        default_factory=list, description="Catalog prices past that threshold at the scenario's as_of, oldest first."
    )
    stale_prices_note: str = Field(default="", description="The stale prices in one sentence ('' when none).")
    retiring_models: list[RetiringApiModel] = Field(
        default_factory=list, description="API models used that retire before the horizon ends, soonest first."
    )
    retiring_models_note: str = Field(
        default="", description="The retiring models and how they are costed, in words ('' when none)."
    )
    monte_carlo: MonteCarlo | None = Field(description="Monte Carlo summary.")
    monte_carlo_note: str = Field(default="", description="Why there is no Monte Carlo.")
    hybrid_sweeps: list[HybridSweep] = Field(description="Cost against local fleet size, per hybrid option.")
    volume_curves: VolumeCurves | None = Field(description="Steady monthly cost against volume.")
    volume_curves_note: str = Field(default="", description="Why there are no curves.")
    sensitivity: Sensitivity | None = Field(description="Tornado of the decision.")
    sensitivity_note: str = Field(default="", description="Why there is no sensitivity.")
    served_quality: list[ServedQuality] = Field(description="Accuracy per class of what serves each option.")
    capacity_studies: list[CapacityStudy] = Field(description="Frontiers of each modelled self-hosted option.")
    assumptions: list[Assumption] = Field(description="The assumptions register.")

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    def labels(self) -> dict[str, str]:
        return {o.name: o.label for o in self.options}
