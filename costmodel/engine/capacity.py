"""What one replica of a self-hosted option serves: a measured figure, or the roofline's estimate
for the option's model, weight format and GPU; and the SLO status that follows from it."""

from __future__ import annotations

from costmodel.core.roofline import (
    ReplicaCapacity,
    kv_bytes_per_token,
    roofline_capacity,
    tensor_parallel_size,
    weight_bytes,
)
from costmodel.engine.errors import EngineError
from costmodel.engine.results import SloStatus
from costmodel.model.catalog import Catalog
from costmodel.model.scenario import Efficiency, OwnedOption, RentedOption, Scenario


def replica_capacity(option: RentedOption | OwnedOption, scenario: Scenario, catalog: Catalog) -> ReplicaCapacity:
    """Per-replica capacity of a self-hosted option; measured when the option has a figure."""
    serving = scenario.serving
    wl = scenario.workload
    model_id = option.model or (serving.model if serving else None)
    quant_id = option.quantization or (serving.quantization if serving else "bf16")
    eff = serving.efficiency if serving else Efficiency()
    model, quant, gpu = catalog.models[model_id], catalog.quantizations[quant_id], catalog.gpus[option.gpu]
    seq = wl.input_tokens_per_request + wl.output_tokens_per_request
    if seq > float(model.max_context):
        raise EngineError(
            "workload.input_tokens_per_request",
            wl.input_tokens_per_request,
            f"input + output = {seq:g} tokens exceeds {model.id}'s context of {float(model.max_context):g}",
        )
    weights = float(weight_bytes(float(model.parameters), float(quant.bytes_per_weight)))
    kv = float(
        kv_bytes_per_token(
            float(model.layers), float(model.kv_heads), float(model.head_dim), eff.kv_cache_bytes_per_element
        )
    )
    tp = option.gpus_per_replica or tensor_parallel_size(
        weights, float(gpu.memory) * 1e9, eff.memory_utilization, kv * seq
    )
    if tp is None or tp * float(gpu.memory) * 1e9 * eff.memory_utilization - weights < kv * seq:
        raise EngineError(
            f"options[{option.name}].gpu",
            option.gpu,
            f"{model.id} in {quant.id} ({weights / 1e9:.1f} GB of weights) plus one {seq:g}-token sequence "
            f"does not fit on {tp or 8} x {gpu.id} ({float(gpu.memory):g} GB each)",
        )
    if option.measured is not None:
        m = option.measured
        met = None
        if m.ttft_p95_ms is not None and m.tpot_p95_ms is not None:
            met = m.ttft_p95_ms <= wl.slo.ttft_p95_ms and m.tpot_p95_ms <= wl.slo.tpot_p95_ms
        return ReplicaCapacity(
            basis="measured",
            gpus_per_replica=tp,
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
    flops_spec = gpu.fp8_tflops if (quant.compute == "fp8" and gpu.fp8_tflops is not None) else gpu.bf16_tflops
    return roofline_capacity(
        parameters=float(model.parameters),
        bytes_per_weight=float(quant.bytes_per_weight),
        layers=float(model.layers),
        kv_heads=float(model.kv_heads),
        head_dim=float(model.head_dim),
        kv_bytes_per_element=eff.kv_cache_bytes_per_element,
        memory_per_gpu=float(gpu.memory) * 1e9,
        bandwidth_per_gpu=float(gpu.bandwidth) * 1e12,
        flops_per_gpu=float(flops_spec) * 1e12,
        gpus=tp,
        mbu=eff.mbu,
        mfu=eff.mfu,
        memory_utilization=eff.memory_utilization,
        max_num_seqs=eff.max_num_seqs,
        input_tokens=wl.input_tokens_per_request,
        cached_input_share=wl.cached_input_share,
        output_tokens=wl.output_tokens_per_request,
        ttft_slo_s=wl.slo.ttft_p95_ms / 1e3,
        tpot_slo_s=wl.slo.tpot_p95_ms / 1e3,
    )


def capacity_slo(cap: ReplicaCapacity) -> SloStatus:
    """SLO status of a replica at its operating point."""
    note = {
        "tpot-slo-unmet": "even one sequence at a time misses the TPOT objective",
        "measured": "" if cap.slo_met is not None else "measured throughput without latency figures",
    }.get(cap.limit, "modelled at the operating batch; queueing excluded")
    if cap.slo_met is False and cap.limit != "tpot-slo-unmet":
        note = "modelled TTFT exceeds the objective"
    return SloStatus(cap.slo_met, cap.ttft_ms, cap.tpot_ms, cap.basis, note)
