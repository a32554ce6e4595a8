"""The tco command line, run as a real process: bad input, JSON output, prices, schemas."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import FINTECH as SEED
from tests.conftest import ROOT, SCENARIOS, assert_bad_input, tco


def test_missing_file(tmp_path):
    assert_bad_input(tco("evaluate", str(tmp_path / "nope.yaml")), "nope.yaml", "file not found")


def test_malformed_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n  oops: [\n")
    assert_bad_input(tco("evaluate", str(bad)), "bad.yaml", "line 2", "malformed YAML")


def test_unknown_field_with_hint():
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "workload.requets_per_month=5"),
        "fintech-rag.yaml",
        "workload.requets_per_month",
        "= 5",
        "unknown field",
        "did you mean 'requests_per_month'",
    )


def test_negative_price_in_scenario():
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "options.rent-h100.usd_per_gpu_hour=-2"),
        "fintech-rag.yaml",
        "options[rent-h100].usd_per_gpu_hour",
        "= -2",
        "greater than or equal to 0",
    )


def test_negative_price_in_catalog(tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "data" / "catalog", catalog)
    gpus = catalog / "gpus.yaml"
    gpus.write_text(gpus.read_text().replace("value: 4.86,", "value: -4.86,"))  # the H100's GCP 3-year rate
    assert_bad_input(
        tco("evaluate", str(SEED), "--catalog", str(catalog)),
        "gpus.yaml",
        "gpus[h100-sxm].rental",
        "price.value",
        "-4.86",
        "greater than or equal to 0",
    )


def test_utilization_above_one():
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "options.own-l40s.max_utilization=1.3"),
        "options[own-l40s].max_utilization",
        "= 1.3",
        "less than or equal to 1",
    )


def test_unknown_gpu():
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "options.own-l40s.gpu=h200"),
        "fintech-rag.yaml",
        "options[own-l40s].gpu",
        "'h200'",
        "unknown GPU",
    )


def test_unknown_model():
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "serving.model=llama-9b"),
        "fintech-rag.yaml",
        "serving.model",
        "'llama-9b'",
        "unknown model",
    )


def test_unknown_api_model():
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "options.api-gpt-4o-mini.model=gpt-9"),
        "options[api-gpt-4o-mini].model",
        "'gpt-9'",
        "no price known",
    )


def test_model_that_fits_no_gpu_count():
    # 70B in BF16 is 141 GB; eight L40S at 30 % usable memory, less the engine's 4 GB each, give 83 GB
    assert_bad_input(
        tco(
            "evaluate",
            str(SEED),
            "--set",
            "serving.model=llama-3.1-70b",
            "--set",
            "serving.quantization=bf16",
            "--set",
            "serving.efficiency.memory_utilization=0.3",
        ),
        "fintech-rag.yaml",
        "options[own-l40s].gpu",
        "'l40s'",
        "fits no layout",
        "8 x l40s hold 83 GB usable",
    )


def test_unknown_set_target():
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "options.nobody.gpu=l4"),
        "--set options.nobody.gpu",
        "no item named 'nobody'",
    )


def test_hybrid_pointing_at_api():
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "options.hybrid-l40s-bedrock.local=api-llama-70b"),
        "fintech-rag.yaml",
        "options[hybrid-l40s-bedrock].local = 'api-llama-70b'",
        "must name an owned or rented option",
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_evaluate_json_for_every_bundled_scenario(path):
    result = tco("evaluate", str(path), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["scenario"] == path.stem
    names = {o["name"] for o in doc["options"]}
    assert doc["recommendation"]["option"] in names
    for o in doc["options"]:
        monthly = o["monthly"]
        assert len(monthly["total"]) == doc["horizon_months"]
        assert o["total_cost_usd"] == pytest.approx(sum(monthly["total"]), rel=1e-6, abs=0.05)
        if o["kind"] in ("owned", "rented", "hybrid"):
            assert o["capacity"]["basis"] in {"modelled", "measured"}
        if o["kind"] == "router":  # its routes, each member's share, and every assignment it costed
            r = o["routing"]
            assert r["routes"] and set(r["routes"].values()) <= names
            assert sum(r["shares"].values()) == pytest.approx(1.0)
            chosen = [row for row in r["frontier"] if row["chosen"]]
            assert len(chosen) == 1 and chosen[0]["npv_usd"] == pytest.approx(o["npv_usd"], abs=0.01)
    assert doc["break_even"], "every bundled scenario compares self-hosting with an API"


def test_set_changes_the_result():
    base = json.loads(tco("evaluate", str(SEED), "--json").stdout)
    more = json.loads(tco("evaluate", str(SEED), "--json", "--set", "workload.requests_per_month=4e6").stdout)
    bill = {o["name"]: sum(o["monthly"]["api"]) for o in base["options"] if o["kind"] == "api"}
    for o in more["options"]:
        if o["kind"] == "api":  # the API's bill is linear in volume (its fixed extra costs are not)
            assert sum(o["monthly"]["api"]) == pytest.approx(2 * bill[o["name"]], rel=1e-6)
            assert o["total_cost_usd"] < 2 * next(
                b["total_cost_usd"] for b in base["options"] if b["name"] == o["name"]
            )


def test_readable_output_names_the_recommendation():
    result = tco("evaluate", str(SEED))
    assert result.returncode == 0, result.stderr
    assert "Recommendation:" in result.stdout
    assert "Break-even" in result.stdout


def test_prices_lists_api_and_gpu_prices_with_dates():
    result = tco("prices", "--provider", "openai")
    assert result.returncode == 0, result.stderr
    assert "gpt-4o-mini" in result.stdout and "genai-prices 0.2.3" in result.stdout
    assert "h100-sxm" in result.stdout and "2025-03-01" in result.stdout


def test_help_lists_every_verb():
    result = tco("--help")
    for verb in ("evaluate", "prices", "schema", "validate", "probe", "serve-local"):
        assert verb in result.stdout


def test_evaluate_draws_gives_percentiles_that_repeat_with_the_seed():
    runs = [
        json.loads(tco("evaluate", str(SEED), "--json", "--draws", "2000", "--seed", str(s)).stdout) for s in (3, 3, 4)
    ]
    mc = runs[0]["monte_carlo"]
    assert mc["draws"] == 2000 and mc["seed"] == 3
    for row in mc["options"]:
        for metric in ("total_cost_usd", "npv_cost_usd"):
            assert row[metric]["p10"] <= row[metric]["p50"] <= row[metric]["p90"], (row["name"], metric)
    assert sum(row["p_cheapest"] for row in mc["options"]) == pytest.approx(1.0)
    assert runs[1]["monte_carlo"] == mc  # same scenario, seed and draws: same numbers
    assert runs[2]["monte_carlo"]["options"] != mc["options"]  # another seed draws other numbers
    assert runs[0]["recommendation"]["confidence"] is not None


def test_evaluate_without_draws_has_no_monte_carlo():
    doc = json.loads(tco("evaluate", str(SEED), "--json", "--draws", "0").stdout)
    assert doc["monte_carlo"] is None and doc["recommendation"]["confidence"] is None


def test_evaluate_help_documents_draws_and_seed():
    result = tco("evaluate", "--help")
    assert "--draws" in result.stdout and "--seed" in result.stdout


def test_tco_data_dir_moves_every_command(tmp_path, fault_server):
    """A private data folder: its catalog prices the scenario, schemas and probe runs land in it."""
    data = tmp_path / "mydata"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("probes"))
    gpus = data / "catalog" / "gpus.yaml"
    gpus.write_text(gpus.read_text().replace("value: 8000\n", "value: 16000\n"))  # the L40S purchase price
    (data / "schema" / "scenario.schema.json").unlink()
    env = {"TCO_DATA_DIR": str(data)}
    scenario = str(data / "scenarios" / "fintech-rag.yaml")
    doc = json.loads(tco("evaluate", scenario, "--json", "--draws", "0", env=env).stdout)
    own = next(o for o in doc["options"] if o["name"] == "own-l40s")
    assert any("$16,000/GPU" in n for n in own["price_notes"]), own["price_notes"]
    assert "16,000" in tco("prices", "--provider", "openai", env=env).stdout
    assert tco("validate", scenario, env=env).returncode == 0
    assert tco("schema", env=env).returncode == 0 and (data / "schema" / "scenario.schema.json").is_file()
    probe = tco(
        "probe",
        "--base-url",
        f"{fault_server}/v1",
        "--model",
        "fault-model",
        "--concurrency",
        "1",
        "--requests",
        "2",
        "--output-tokens",
        "4",
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    assert len(list((data / "probes").glob("*/summary.csv"))) == 1


def test_gguf_on_vllm_is_an_error():
    """A llama.cpp weight format under vLLM names the field, the format and who serves it."""
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "serving.quantization=q4-k-m"),
        "serving.quantization",
        "q4-k-m",
        "llama.cpp",
    )


def test_capacity_table_json_and_figure(tmp_path):
    """`tco capacity`: every layout, the infeasible one saying why, the JSON's figures those of
    the table, and an offline frontier page."""
    page = tmp_path / "frontier.html"
    args = (
        "capacity",
        "llama-3.1-70b",
        "h100-sxm",
        "--quantization",
        "fp8",
        "--input-tokens",
        "1000",
        "--output-tokens",
        "1000",
        "--tpot-ms",
        "100",
    )
    shown = tco(*args, "--figure", str(page))
    assert shown.returncode == 0, shown.stderr
    assert "1 x h100-sxm hold 68 GB usable" in shown.stdout  # 80 GB x 0.9 - 4 GB reserved < 70.6 GB of weights
    from costmodel.io.scenario import load

    cheapest = load(SEED)[1].gpus["h100-sxm"].rental_price(None, "on-demand")
    assert cheapest is not None and (cheapest.provider, float(cheapest.price.value)) == ("lambda", 3.99)
    rate = float(cheapest.price.value)
    assert "$3.99/GPU-hour (catalog: cheapest on-demand rate, lambda" in " ".join(shown.stdout.split())
    doc = json.loads(tco(*args, "--json").stdout)
    assert "less than the 70.6 GB of weights" in doc["layouts"][0]["why_not"]
    assert [lay["gpus_per_replica"] for lay in doc["layouts"]] == [1, 2, 4, 8]
    assert [lay["feasible"] for lay in doc["layouts"]] == [False, True, True, True]
    best = next(lay for lay in doc["layouts"] if lay["gpus_per_replica"] == doc["best_gpus_per_replica"])
    ok = [lay for lay in doc["layouts"] if lay["feasible"] and lay["capacity"]["slo_met"]]
    assert best["usd_per_million_output"] == min(lay["usd_per_million_output"] for lay in ok)
    for lay in ok:  # $/1M output = GPUs x $/GPU-hour / (output tok/s x 3,600) x 1e6
        c = lay["capacity"]
        assert lay["usd_per_million_output"] == pytest.approx(
            lay["gpus_per_replica"] * rate / (c["output_tokens_per_s_per_replica"] * 3600) * 1e6
        )
        assert f"{c['output_tokens_per_s_per_replica']:,.0f}" in shown.stdout
        assert c["tpot_ms"] <= 100 * (1 + 1e-9)
    html = page.read_text(encoding="utf-8")
    assert "interactivity: output tokens" in html and '<script src="http' not in html


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("capacity", "llama-3.1-70", "h100-sxm"), ("MODEL", "'llama-3.1-70'", "did you mean 'llama-3.1-70b'")),
        (("capacity", "llama-3.1-8b", "h100"), ("GPU", "'h100'", "did you mean")),
        (("capacity", "llama-3.1-8b", "l4", "--quantization", "q4-k-m"), ("--quantization", "q4-k-m", "llama.cpp")),
        (("capacity", "llama-3.1-8b", "l4", "--input-tokens", "200000"), ("--input-tokens", "context")),
        (("capacity", "llama-3.1-8b", "l4", "--kv-cache-dtype", "int2"), ("--kv-cache-dtype", "int2")),
    ],
)
def test_capacity_bad_input(args, needles):
    assert_bad_input(tco(*args), *needles)


@pytest.mark.parametrize(
    "field",
    ["ops_staff_fte", "spare_replicas", "server_usd_per_gpu", "colocation_usd_per_kw_month", "maintenance_per_year"],
)
def test_cost_inputs_of_a_self_hosted_option_must_be_stated(tmp_path, field):
    """No silent zeros: deleting a cost line of own-l40s is an error naming it, not a cheaper fleet."""
    lines = SEED.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "- name: own-l40s")
    gone = next(i for i in range(start, len(lines)) if lines[i].strip().startswith(f"{field}:"))
    scenario = tmp_path / "fintech-rag.yaml"
    scenario.write_text("".join(lines[:gone] + lines[gone + 1 :]), encoding="utf-8")
    assert_bad_input(
        tco("evaluate", str(scenario), "--draws", "0"), f"options[own-l40s].{field}", "missing", "required, 0 allowed"
    )


@pytest.mark.parametrize(
    ("provider", "model"), [("mistral", "mistral-small-24b-instruct-2501:free"), ("openai", "whisper-1")]
)
def test_a_price_that_bills_nothing_is_an_error(provider, model):
    sets = ["--set", f"options.api-gpt-4o-mini.provider={provider}", "--set", f"options.api-gpt-4o-mini.model={model}"]
    assert_bad_input(
        tco("evaluate", str(SEED), "--draws", "0", *sets),
        "options[api-gpt-4o-mini].model",
        f"{provider}/{model} is priced at $0 in and $0 out",
        "free_tier_source",
    )
    free = tco(
        "evaluate",
        str(SEED),
        "--draws",
        "0",
        *sets,
        "--set",
        "options.api-gpt-4o-mini.free_tier_source=provider's pricing page lists this tier as free",
        "--json",
    )
    assert free.returncode == 0, free.stderr
    assert json.loads(free.stdout)["options"][3]["total_cost_usd"] >= 0


def test_nothing_given_twice_is_silently_dropped(tmp_path):
    """A second --set of the same path, or a second price override of the same API model, would
    silently win or be ignored: both are refused in one line."""
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "discount_rate=0.1", "--set", "discount_rate=0.2"),
        "--set discount_rate",
        "set twice",
    )
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "data" / "catalog", catalog)
    prices = catalog / "api_prices.yaml"
    text = prices.read_text(encoding="utf-8")
    second = (  # the file already overrides Bedrock's Llama 3.3 70B
        "overrides:\n  - provider: aws\n    model: meta.llama3-3-70b-instruct-v1:0\n"
        "    input: {value: 0.1, unit: USD/1M tokens, source: test, as_of: 2026-01-01}\n"
    )
    prices.write_text(text.replace("overrides:\n", second, 1), encoding="utf-8")
    assert_bad_input(
        tco("evaluate", str(SEED), "--catalog", str(catalog)),
        "overrides: aws/meta.llama3-3-70b-instruct-v1:0 is listed twice",
    )


def test_the_workload_line_says_where_growth_takes_the_volume():
    shown = " ".join(tco("evaluate", str(SEED), "--draws", "0", "--set", "horizon_months=48").stdout.split())
    last = 2_000_000 * 1.04**47
    assert f"growing 4.0%/month ({last:,.0f} by month 47, {last / 2e6:.1f} times the first)" in shown


def test_a_horizon_past_the_hardware_life_is_refused():
    """No refresh is modelled: 120 months of GPUs depreciated over 48 would keep month-0 hardware for
    ten years without a word."""
    assert_bad_input(
        tco("evaluate", str(SEED), "--set", "horizon_months=120"),
        "options[own-l40s].depreciation_years",
        "48-month life",
    )


def test_a_fixed_fleets_unserved_requests_are_not_a_cost_line():
    """A fixed fleet's cash flow carries the requests it could not serve and its idle GPUs; neither is
    money paid, so neither is listed (or stacked in the cash-flow chart) as a line item."""
    done = tco("evaluate", str(SEED), "--draws", "0", "--set", "options.own-l40s.gpus=4", "--json")
    assert done.returncode == 0, done.stderr
    own = next(o for o in json.loads(done.stdout)["options"] if o["name"] == "own-l40s")
    assert "unserved" in own["monthly"] and "capex" in own["line_items"]
    assert not {"unserved", "stranded_gpus"} & set(own["line_items"])
