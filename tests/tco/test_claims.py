"""The claims' verdicts are computed: each finding's stated threshold is where the verdict flips."""

from __future__ import annotations

import re
from html import unescape

import numpy as np
import pytest

from claims import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, HOLDS_WHEN, VERDICTS
from claims.common import idle_latency
from costmodel.core.units import HOURS_PER_MONTH
from costmodel.engine.capacity import make_stack
from costmodel.io.scenario import load
from costmodel.text import count, latency, percent, usd
from tco.claims import CLAIMS_DRAWS as DRAWS
from tco.claims import prepare
from tco.report import run_overrides
from tests.conftest import EXAMPLE_RUN, EXTERNAL, FINTECH, assert_bad_input, tco, write_quality_run


def check(overrides=()):
    return prepare(FINTECH, list(overrides), draws=DRAWS).claims


@pytest.fixture(scope="module")
def fintech():
    return check()


def finding(claims, claim: int, question: str):
    return next(f for f in claims[claim - 1].findings if f.question.startswith(question))


def test_seven_claims_each_with_verdicts(fintech):
    assert [c.number for c in fintech] == list(range(1, 8))
    for c in fintech:
        assert c.findings and c.claim and c.method
        for f in c.findings:
            assert f.kind in VERDICTS and f.verdict.startswith(f.kind)
            assert f.computed, f"{c.number}: {f.question} says nothing of what was computed"
            if f.kind == CANNOT_TELL:
                assert f.settle, f"{c.number}: {f.question} does not say what would settle it"
        assert {"input", "value", "unit", "source", "as_of"} <= set(c.assumptions.columns) or c.assumptions.empty


def test_assumptions_have_sources(fintech):
    for c in fintech:
        for row in c.assumptions.itertuples():
            assert len(str(row.source)) > 3 and re.fullmatch(r"\d{4}-\d\d-\d\d", row.as_of), (c.number, row)


def test_claim1_latency_cut_is_capped_by_the_step_overhead(fintech):
    """With the engine's per-step overhead (fitted on published latencies at a few streams), four-bit
    weights cannot cut an 8B model's latency by 60 % at any answer length: the verdict says so and
    names the most it reaches, which is the largest cut over the answer lengths."""
    f = finding(fintech, 1, "latency cut")
    assert f.kind == DOES_NOT_HOLD and f.numbers["best_cut"] < 0.6
    assert f"at most {percent(f.numbers['best_cut'])}" in f.verdict
    assert f.numbers["cut"] <= f.numbers["best_cut"]


def _claim1_without_overhead(overrides=()):
    """Claim 1 on a catalog whose vLLM takes no time per step outside its kernels (as fitted on
    maximum-throughput runs alone): the cut then grows past 60 % with the answer."""
    from claims.quantized_latency import claim_quantized_latency

    ctx = prepare(FINTECH, list(overrides), draws=0)
    cat = ctx.catalog
    vllm = cat.engines["vllm"]
    none = vllm.efficiency.model_copy(
        update={"step_overhead": vllm.efficiency.step_overhead.model_copy(update={"value": 0.0})}
    )
    bare = cat.model_copy(update={"engines": {**cat.engines, "vllm": vllm.model_copy(update={"efficiency": none})}})
    return finding([claim_quantized_latency(ctx.scenario, bare, ctx.evaluation)], 1, "latency cut")


def test_claim1_latency_cut_flips_at_its_threshold():
    f = _claim1_without_overhead()
    assert f.kind == HOLDS  # 350-token answers
    threshold = f.numbers["threshold_tokens"]
    assert f"at least {count(np.ceil(threshold))} tokens" in f.verdict
    assert f"{percent(f.numbers['cut'])} less)" in f.verdict
    below = _claim1_without_overhead([f"workload.output_tokens_per_request={np.floor(threshold) - 5:g}"])
    assert below.kind == HOLDS_WHEN and below.numbers["cut"] < 0.6
    above = _claim1_without_overhead([f"workload.output_tokens_per_request={np.ceil(threshold) + 5:g}"])
    assert above.kind == HOLDS and above.numbers["cut"] >= 0.6


def test_claim1_cut_recomputed_by_hand(fintech, base_catalog):
    """The cut is the two stacks' idle end-to-end latencies, as the sentence says."""
    f = finding(fintech, 1, "latency cut")
    sc = prepare(FINTECH, draws=0).scenario
    from claims.common import request_load as _load

    bf16 = idle_latency(make_stack(base_catalog, "llama-3-8b", "bf16", "a100-80gb-sxm"), 1, _load(sc))["e2e_p95"]
    q4 = idle_latency(make_stack(base_catalog, "llama-3-8b", "int4-awq", "a100-80gb-sxm"), 1, _load(sc))["e2e_p95"]
    assert f.numbers["cut"] == pytest.approx(1 - q4 / bf16)
    assert latency(bf16) in f.computed[0] and latency(q4) in f.computed[0]


def test_claim2_does_not_hold_for_rag_prompts_and_holds_for_short_ones(fintech):
    f = finding(fintech, 2, "p95 response")
    assert f.kind == DOES_NOT_HOLD and f.numbers["one_token_ms"] > 80
    prompt = f.numbers["max_prompt_tokens"]
    assert f"at most {count(prompt)} tokens" in f.verdict
    short = finding(check([f"workload.input_tokens_per_request={prompt * 0.5:g}"]), 2, "p95 response")
    assert short.kind in (HOLDS_WHEN, HOLDS) and short.numbers["one_token_ms"] <= 80
    if short.kind == HOLDS_WHEN:  # answers up to the stated length fit in 80 ms on an idle replica
        assert short.numbers["max_output_tokens"] >= 1


def test_claim3_a10g_flips_at_its_request_size(fintech):
    f = finding(fintech, 3, "10,000")
    assert f.kind == HOLDS_WHEN
    tokens = f.numbers["max_tokens"]
    assert f"at most {count(tokens)} tokens" in f.verdict and f"{count(f.numbers['rpm'])} requests/minute" in f.verdict
    k = 0.8 * tokens / 3350  # the scenario's prompt:answer split, scaled below the threshold
    small = check(
        [f"workload.input_tokens_per_request={3000 * k:g}", f"workload.output_tokens_per_request={350 * k:g}"]
    )
    assert finding(small, 3, "10,000").kind == HOLDS and finding(small, 3, "10,000").numbers["rpm"] >= 10_000


def test_claim3_pay_once_reads_the_cash_flow(fintech):
    f = finding(fintech, 3, "pay once")
    assert f.kind == DOES_NOT_HOLD and f.numbers["recurring_share"] > 0.5
    assert f.numbers["owned_spread"] < f.numbers["api_spread"]  # the owned fleet is bought on the plan
    assert percent(f.numbers["recurring_share"]) in f.verdict
    # with its procurement policy it tops up (its cost spreads) and never misses the SLO in these draws
    assert f.numbers["owned_slo_miss"] == 0 and "procurement policy" in " ".join(f.computed)
    # without one, its steady cost is paid for in unserved requests
    fixed = finding(check(["options.own-l40s.procurement=null"]), 3, "pay once")
    assert 0 < fixed.numbers["owned_slo_miss"] < 1 and fixed.numbers["owned_spread"] < f.numbers["owned_spread"]
    assert f"in {percent(fixed.numbers['owned_slo_miss'])} of the draws" in " ".join(fixed.computed)


def test_claim4_savings_flip_at_the_stated_volume(fintech):
    f = finding(fintech, 4, "savings")
    assert f.kind == HOLDS_WHEN
    v80 = f.numbers["volume_80"]
    assert f"volume reaches {count(v80)} requests/month" in f.verdict
    above = finding(check([f"workload.requests_per_month={v80 * 1.05:.0f}"]), 4, "savings")
    assert above.kind == HOLDS and above.numbers["savings"] >= 0.8
    below = finding(check([f"workload.requests_per_month={v80 * 0.95:.0f}"]), 4, "savings")
    assert below.kind == HOLDS_WHEN and below.numbers["savings"] < 0.8


def test_claim5_uses_a_quality_run_when_given(fintech, tmp_path):
    stated = finding(fintech, 5, "accuracy lost")
    assert stated.kind == CANNOT_TELL and "tco quality" in stated.settle
    decays = write_quality_run(tmp_path / "decays", {"routine": (92, 100), "complex": (50, 100)}, model="llama-3.1-8b")
    steady = write_quality_run(tmp_path / "steady", {"routine": (85, 100), "complex": (82, 100)}, model="llama-3.1-8b")
    got = {}
    for name, run in (("decays", decays), ("steady", steady)):
        lines = run_overrides(FINTECH, None, [f"serving={run}"])
        got[name] = finding(check(lines), 5, "accuracy lost")
    assert got["decays"].kind == HOLDS and got["decays"].numbers["gap_hard"] == pytest.approx(0.30)
    assert got["steady"].kind == DOES_NOT_HOLD  # a 10-point gap on routine, none on complex


def test_claim5_routing_holds_only_when_it_mixes_members(fintech):
    f = finding(fintech, 5, "routing")
    assert f.kind == HOLDS and f.numbers["members_used"] == 2
    assert f.numbers["router_npv_cost"] < f.numbers["single_npv_cost"]
    # the cheapest API good enough on complex work too: one member serves every class
    same = check(["options.api-gpt-4o-mini.quality.complex=0.8"])
    assert finding(same, 5, "routing").kind == DOES_NOT_HOLD


def test_claim5_states_the_classifier_it_rests_on(fintech):
    """The verdict names the classifier's accuracy. With complex work needing 78 %, the stated
    classifier holds (0.1 x 70 % + 0.9 x 80 % = 79 %); one that labels a quarter of complex questions
    routine does not (0.25 x 70 % + 0.75 x 80 % = 77.5 %), and no other assignment is cheaper than the
    Llama API alone."""
    f = finding(fintech, 5, "routing")
    need = f"its classifier is {percent(f.numbers['classifier_accuracy'], 1)} accurate (stated)"
    assert need in f.verdict and any("'s classifier (api, " in line for line in f.computed)
    bar = "workload.request_classes.complex.min_quality=0.78"
    assert finding(check([bar]), 5, "routing").kind == HOLDS
    poor = check([bar, "options.router.classifier.confusion.complex={routine: 0.25, complex: 0.75}"])
    assert finding(poor, 5, "routing").kind == DOES_NOT_HOLD


def test_claim6_compares_a_measured_api_first_token(fintech):
    f = finding(fintech, 6, "local feels faster")
    assert f.kind == CANNOT_TELL and latency(f.numbers["local_ttft_ms"]) in f.verdict
    local = f.numbers["local_ttft_ms"]
    for ttft, kind in ((local * 1.5, HOLDS), (local * 0.5, DOES_NOT_HOLD)):
        lines = [
            f"options.{o}.{k}={v}"
            for o in ("api-llama-70b", "api-gpt-4o-mini")
            for k, v in (("ttft_p95_ms", ttft), ("tpot_p95_ms", 20), ("latency_source", "test"))
        ]
        assert finding(check(lines), 6, "local feels faster").kind == kind
    assert finding(fintech, 6, "users weigh").kind == CANNOT_TELL


def test_claim7_flips_below_one_replicas_volume(fintech):
    f = finding(fintech, 7, "open models")
    assert f.kind == HOLDS
    v = f.numbers["breakeven_requests"]
    assert f"from {count(v)} requests/month" in f.verdict
    # one replica rented around the clock plus rent-h100's operations staff, at GPT-4o's price per request
    sc = prepare(FINTECH, draws=0).scenario
    staff = 0.25 * 200_000 / 12
    assert f"{usd(staff)}/month of operations staff" in " ".join(f.computed)
    rate = load(FINTECH)[1].gpus["h100-sxm"].rental_price("lambda", "on-demand")
    assert rate is not None and float(rate.price.value) == 3.99  # Lambda's 8 x H100 rate, the curated snapshot row
    assert v == pytest.approx((3.99 * HOURS_PER_MONTH + staff) / (f.numbers["gpt4o_usd_per_request"]))
    assert sc.workload.requests_per_month >= v
    below = finding(check([f"workload.requests_per_month={v * 0.9:.0f}"]), 7, "open models")
    assert below.kind == HOLDS_WHEN and f"volume reaches {count(below.numbers['breakeven_requests'])}" in below.verdict
    assert finding(fintech, 7, "GPT-4o ahead").kind == CANNOT_TELL


def test_run_overrides_need_option_and_folder():
    from costmodel.io.files import InputError

    with pytest.raises(InputError, match="expected OPTION=DIR"):
        run_overrides(FINTECH, ["just-a-folder"], None)
    assert run_overrides(FINTECH, ["own-l40s=d"], None) == [
        "options.own-l40s.probe_run=d",
        "options.own-l40s.measured=null",
    ]
    assert run_overrides(FINTECH, ["api-llama-70b=d"], None)[0] == "options.api-llama-70b.probe_run=d"
    assert run_overrides(FINTECH, None, ["serving=q"]) == ["serving.quality_run=q", "serving.quality=null"]


# ---------------------------------------------------------------------------- tco claims, rendered


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    # outside the checkout, with the default scenario (fintech-rag) and the default draws, as the docs
    where = tmp_path_factory.mktemp("claims")
    out = where / "claims.html"
    result = tco("claims", "-o", out.name, cwd=where, timeout=300)
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8"), result


def test_rendered_claims_have_a_section_and_verdict_each(rendered, fintech):
    html, result = rendered
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    for c in fintech:
        assert f"{c.number}. {c.title}" in " ".join(text.split()), c.title
        for f in c.findings:
            assert f"Verdict ({f.question}): {f.verdict}." in " ".join(text.split()), f.verdict
            assert f"{f.question}: {f.verdict}" in " ".join(result.stdout.split())  # the console's summary
    assert len(re.findall(r"<h2[^>]*>\s*\d\.", html)) == 7
    assert (
        "Traceback" not in html and 'data-mime-type="application/vnd.jupyter.stderr"' not in html
    )  # no warning printed


def test_rendered_claims_open_offline(rendered):
    html, _ = rendered
    assert not EXTERNAL.search(html), "the claims report must open offline"
    assert html.count("plotly") > 0 and "What these verdicts rest on" in html


def test_claims_bad_input_is_one_line(tmp_path):
    assert_bad_input(
        tco("claims", "--scenario", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "x.html")), "missing.yaml"
    )
    assert_bad_input(
        tco("claims", "--scenario", str(FINTECH), "--probe-run", "no-equals", "-o", str(tmp_path / "x.html")),
        "--probe-run",
        "expected OPTION=DIR",
    )
    assert_bad_input(
        tco(
            "claims",
            "--scenario",
            str(FINTECH),
            "--set",
            "workload.requests_per_month=-1",
            "-o",
            str(tmp_path / "x.html"),
        ),
        "workload.requests_per_month",
    )
    assert not (tmp_path / "x.html").exists()


def test_claims_use_a_probe_run_of_an_api(fintech, tmp_path):
    """A probe of the 70B API settles claims 1 and 6: its p95 latencies replace 'cannot tell'."""
    import json
    import shutil

    from costmodel.io.probe_run import api_latency_from_probe

    run = tmp_path / "bedrock-probe"
    shutil.copytree(EXAMPLE_RUN, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["endpoint"]["model"] = "meta.llama3-3-70b-instruct-v1:0"  # as if it had probed Bedrock
    (run / "manifest.json").write_text(json.dumps(manifest))
    probe = api_latency_from_probe(run)
    claims = check(run_overrides(FINTECH, [f"api-llama-70b={run}"], None))
    six, one = finding(claims, 6, "local feels faster"), finding(claims, 1, "beat a 70B")
    assert six.numbers["cloud_ttft_ms"] == pytest.approx(probe["ttft_p95_ms"])
    assert six.kind == (HOLDS if probe["ttft_p95_ms"] > six.numbers["local_ttft_ms"] else DOES_NOT_HOLD)
    cloud = probe["ttft_p95_ms"] + (350 - 1) * probe["tpot_p95_ms"]
    assert one.numbers["cloud_e2e_ms"] == pytest.approx(cloud)
    assert one.kind == (HOLDS if one.numbers["local_e2e_ms"] < cloud else DOES_NOT_HOLD)


def test_docs_show_what_the_command_prints(rendered):
    """docs/claims.md quotes the console's verdicts for the bundled scenario: they must be today's."""
    from tests.conftest import ROOT

    docs = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    block = re.search(r"```text\n\$ tco claims\n(.*?)```", docs, re.S)
    assert block, "docs/claims.md shows the verdicts tco claims prints"
    printed = " ".join(rendered[1].stdout.split())
    for line in block.group(1).splitlines():
        assert " ".join(line.split()) in printed, f"docs/claims.md line not in today's output: {line}"
