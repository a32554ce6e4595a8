"""``tco quality`` against real processes: the fault server's oracle mode answers each item right
with a known chance per class, so the measured accuracy can be checked against the truth; the
judge and the suites against hand-made replies; durability, budget and secrets as for probes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from costmodel.io.files import InputError
from costmodel.io.quality import class_accuracy, read_golden_set, read_summary
from costmodel.model.quality import QualityItem, wilson_interval
from probes.quality import judge
from probes.suites import ABSTAIN, SUITES, generate
from tests.conftest import ROOT, assert_bad_input, start_fault_server, tco, throwaway_key

TRUTH = {"easy": 0.9, "hard": 0.6}


def stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def items_file(tmp_path_factory) -> Path:
    """The three bundled suites, 100 items each (seed 0), as a golden set the oracle answers."""
    path = tmp_path_factory.mktemp("suites") / "items.jsonl"
    result = tco("quality", "--limit", "100", "--write-items", str(path))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def oracle(items_file):
    """A fault server that answers those items right with probability 0.9 (easy) and 0.6 (hard)."""
    accuracy = ",".join(f"{k}={v}" for k, v in TRUTH.items())
    proc, url = start_fault_server(
        "--ttft-ms", "5", "--itl-ms", "1", "--oracle", str(items_file), "--oracle-accuracy", accuracy
    )
    yield url
    proc.terminate()
    proc.wait()


def quality(url: str, out: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return tco("quality", "--base-url", f"{url}/f/oracle/v1", "--model", "oracle", "--out", str(out), *args, env=env)


# ---------------------------------------------------------------------------- judge and suites


@pytest.mark.parametrize(
    ("reply", "answer", "match", "tolerance", "correct"),
    [
        ("  Paris. ", "paris.", "exact", 0, True),
        ("Paris, France", "paris", "exact", 0, False),
        ("The capital is PARIS.", "paris", "contains", 0, True),
        ("The capital is Lyon.", "paris", "contains", 0, False),
        ("order AB-1234 shipped", r"AB-\d{4}", "regex", 0, True),
        ("first 3, then 41.5", "41.5", "number", 0, True),  # the last number counts
        ("41.5 first, then 3", "41.5", "number", 0, False),
        ("about 1,002", "1000", "number", 2, True),
        ("about 1,003", "1000", "number", 2, False),
        ("no number here", "7", "number", 0, False),
    ],
)
def test_match_rules(reply, answer, match, tolerance, correct):
    item = QualityItem(id="x", prompt="p", answer=answer, match=match, tolerance=tolerance)
    assert judge(reply, item).correct is correct


def test_abstain_and_json_measures():
    abstain = QualityItem(id="a", prompt="p", answer=ABSTAIN, match="abstain")
    assert judge(f"{ABSTAIN}.", abstain).hallucinated is False
    assert judge("The fee is 25 dollars.", abstain).hallucinated is True
    want = QualityItem(id="j", prompt="p", answer='{"name": "Ana", "balance": 12.5}', match="json")
    fenced = judge('```json\n{"name": "ana", "balance": "12.50"}\n```', want)
    assert fenced.correct and fenced.schema_valid and fenced.field_accuracy == 1.0
    prose = judge("I could not find it.", want)
    assert not prose.correct and prose.schema_valid is False and prose.field_accuracy == 0.0


@pytest.mark.parametrize("suite", list(SUITES))
def test_suites_are_seeded_and_tagged(suite):
    """Same seed, same items; another seed, other items; both classes; long contexts longer."""
    items = generate(suite, 40, seed=3)
    assert [i.model_dump() for i in items] == [i.model_dump() for i in generate(suite, 40, seed=3)]
    assert [i.messages for i in items] != [i.messages for i in generate(suite, 40, seed=4)]
    assert {i.item_class for i in items} == {"easy", "hard"}
    length = {c: max(len(i.messages[-1]["content"]) for i in items if i.item_class == c) for c in ("easy", "hard")}
    assert length["hard"] > 2 * length["easy"]
    assert len({i.id for i in items}) == 40


def test_grounded_qa_mixes_answerable_and_unanswerable():
    items = generate("grounded-qa", 60, seed=0)
    unanswerable = [i for i in items if i.match == "abstain"]
    assert 0 < len(unanswerable) < len(items)
    for item in items:  # every answerable question's answer is in its document
        if item.match != "abstain":
            assert item.answer.casefold() in item.messages[-1]["content"].casefold()


def test_reasoning_answers_recomputed_from_their_text():
    """Every easy fee item of seed 0, worked from the document's rule and the question's amount."""
    checked = 0
    for item in generate("reasoning", 90, seed=0):
        text = item.messages[-1]["content"]
        rule = re.search(r"fee is ([\d.]+)% of the amount, at least (\d+) dollars and at most (\d+) dollars", text)
        amount = re.search(r"a transfer of ([\d,]+) dollars", text)
        if item.item_class == "easy" and rule and amount:
            pct, floor, cap = map(float, rule.groups())
            fee = min(max(float(amount.group(1).replace(",", "")) * pct / 100, floor), cap)
            assert float(item.answer) == pytest.approx(fee, abs=0.005)
            checked += 1
    assert checked >= 5


# ---------------------------------------------------------------------------- golden sets


def test_a_malformed_golden_set_fails_before_sending(oracle, tmp_path):
    good = {"id": "a", "prompt": "2+2?", "answer": "4", "match": "number"}
    bad = {"id": "b", "prompt": "3+3?", "answer": "6", "match": "numbr"}
    dataset = tmp_path / "gold.jsonl"
    dataset.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n")
    before = stats(oracle)["billed_prompt_tokens"]
    result = quality(oracle, tmp_path / "runs", "--dataset", str(dataset))
    assert_bad_input(result, str(dataset), "line 3, match", "numbr")
    assert stats(oracle)["billed_prompt_tokens"] == before  # nothing sent
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("line", "needles"),
    [
        ("not json", ("line 1", "not JSON")),
        ('{"id": "a", "answer": "4"}', ("line 1", "prompt or messages")),
        ('{"id": "a", "prompt": "p"}', ("line 1, answer",)),
        ('{"id": "a", "prompt": "p", "answer": "x", "match": "number"}', ("line 1", "not a number")),
        ('{"id": "a", "prompt": "p", "answer": "(", "match": "regex"}', ("line 1", "regular expression")),
        ('{"id": "a", "prompt": "p", "answer": "4", "colour": "red"}', ("line 1, colour",)),
    ],
)
def test_golden_set_errors_name_line_and_field(tmp_path, line, needles):
    dataset = tmp_path / "gold.jsonl"
    dataset.write_text(line + "\n")
    result = tco("quality", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--dataset", str(dataset))
    assert_bad_input(result, str(dataset), *needles)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--suite", "trivia"], ("--suite = 'trivia'", "known suites are grounded-qa, reasoning, extraction")),
        (["--suite", "reasoning", "--dataset", "x.jsonl"], ("give --suite or --dataset, not both",)),
        (["--suite", "reasoning"], ("give an endpoint file, or --base-url and --model",)),
        (["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--price-in", "1"], ("--price-in and --price-out",)),
        (["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--max-cost-usd", "1"], ("needs a per-token price",)),
    ],
)
def test_bad_options_are_one_line_errors(args, needles):
    assert_bad_input(tco("quality", *args), *needles)


def test_help_names_every_option():
    shown = " ".join(tco("quality", "--help").stdout.split())
    for option in ("--suite", "--dataset", "--limit", "--concurrency", "--max-cost-usd", "--seed", "--out"):
        assert option in shown


def test_golden_set_repeated_id_is_an_error(tmp_path):
    dataset = tmp_path / "gold.jsonl"
    dataset.write_text('{"id": "a", "prompt": "p", "answer": "4"}\n{"id": "a", "prompt": "q", "answer": "5"}\n')
    with pytest.raises(InputError, match="line 2, id"):
        read_golden_set(dataset)


# ---------------------------------------------------------------------------- against the oracle


def test_measured_accuracy_brackets_the_truth(oracle, items_file, tmp_path):
    """300 items (seeded): each class's 95 % Wilson interval contains the oracle's chance; the
    summary's counts agree with the records; hallucinations and schema validity counted."""
    result = quality(oracle, tmp_path, "--dataset", str(items_file), "--limit", "300", "--concurrency", "8")
    assert result.returncode == 0, result.stderr
    (run_dir,) = list(tmp_path.iterdir())
    manifest, by_class = class_accuracy(run_dir)
    assert manifest.status == "complete"
    for cls, truth in TRUTH.items():
        row = by_class[cls]
        assert row.n > 100
        assert row.ci_low < truth < row.ci_high, (cls, row)
    records = [json.loads(line) for line in (run_dir / "items.jsonl").read_text().splitlines()]
    assert len(records) == 300
    for cls in TRUTH:
        mine = [r for r in records if r["item_class"] == cls]
        assert by_class[cls].correct == sum(r["correct"] for r in mine)
        assert (by_class[cls].ci_low, by_class[cls].ci_high) == pytest.approx(
            wilson_interval(by_class[cls].correct, len(mine))
        )
    rows = {(r.suite, r.item_class): r for r in read_summary(run_dir)}
    for cls in TRUTH:  # grounded-qa's hallucination rate and extraction's schema-valid rate, recomputed
        qa = [
            r
            for r in records
            if r["suite"] == "grounded-qa" and r["item_class"] == cls and r["hallucinated"] is not None
        ]
        assert rows[("grounded-qa", cls)].hallucination_rate == pytest.approx(
            sum(r["hallucinated"] for r in qa) / len(qa)
        )
        ex = [r for r in records if r["suite"] == "extraction" and r["item_class"] == cls]
        assert rows[("extraction", cls)].schema_valid_rate == pytest.approx(
            sum(r["schema_valid"] for r in ex) / len(ex)
        )
    assert 0 < rows[("grounded-qa", "hard")].hallucination_rate < 1
    assert "95 % interval" in result.stdout and "easy" in result.stdout


@pytest.mark.parametrize("suite", list(SUITES))
def test_a_perfect_oracle_scores_every_suite_full(suite, tmp_path, items_file):
    """With every answer right, each suite scores 100 %: the suites, the oracle and the judge agree."""
    proc, url = start_fault_server("--ttft-ms", "1", "--itl-ms", "0", "--oracle", str(items_file))
    try:
        result = quality(url, tmp_path, "--suite", suite, "--limit", "30")
    finally:
        proc.terminate()
        proc.wait()
    assert result.returncode == 0, result.stderr
    (run_dir,) = list(tmp_path.iterdir())
    total = next(r for r in read_summary(run_dir) if r.suite == "all" and r.item_class == "all")
    assert (total.n, total.correct, total.errors) == (30, 30, 0)


@pytest.mark.parametrize("streams", [1, 16, 64, 256])
def test_budget_keeps_the_bill_under_the_limit(oracle, items_file, tmp_path, streams):
    """The bundled suites' long contexts (hard items run to thousands of tokens) at 1 to 256 items
    in flight: the bill the server counts stays under the limit."""
    limit = 0.05
    before = stats(oracle)
    result = quality(
        oracle,
        tmp_path,
        "--dataset",
        str(items_file),
        "--concurrency",
        str(streams),
        "--max-cost-usd",
        str(limit),
        "--price-in",
        "5",
        "--price-out",
        "15",
    )
    after = stats(oracle)
    billed = (
        (after["billed_prompt_tokens"] - before["billed_prompt_tokens"]) * 5
        + (after["billed_completion_tokens"] - before["billed_completion_tokens"]) * 15
    ) / 1e6
    assert result.returncode == 0, result.stderr
    (run_dir,) = list(tmp_path.iterdir())
    manifest, _ = class_accuracy(run_dir)
    assert manifest.status == "budget-stopped" and manifest.stopped_by == "budget"
    assert 0 < billed <= limit
    assert manifest.spent_usd == pytest.approx(billed, rel=1e-6)


def test_the_key_never_reaches_disk(oracle, items_file, tmp_path):
    secret = throwaway_key()
    result = quality(
        oracle,
        tmp_path,
        "--dataset",
        str(items_file),
        "--limit",
        "20",
        "--api-key-env",
        "TCO_Q_KEY",
        env={"TCO_Q_KEY": secret},
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(), path


def test_terminal_escapes_in_replies_are_kept_as_text(items_file, tmp_path):
    """Replies with ESC sequences, and 400s whose body holds them: every item recorded, none dropped."""
    proc, url = start_fault_server("--ttft-ms", "1", "--itl-ms", "0")
    try:
        result = tco(
            "quality",
            "--base-url",
            f"{url}/f/escape/v1",
            "--model",
            "m",
            "--dataset",
            str(items_file),
            "--limit",
            "12",
            "--out",
            str(tmp_path),
        )
    finally:
        proc.terminate()
        proc.wait()
    assert result.returncode == 0, result.stderr
    (run_dir,) = list(tmp_path.iterdir())
    records = [json.loads(line) for line in (run_dir / "items.jsonl").read_text().splitlines()]
    assert len(records) == 12
    assert any("\\x1b[2J" in (r["answer"] or "") for r in records)
    assert any("\\x1b[2J" in (r["error"] or "") for r in records)
    assert "\x1b" not in result.stdout + result.stderr


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_keeps_every_finished_item(items_file, tmp_path, sig, code, name):
    proc_server, url = start_fault_server("--ttft-ms", "20", "--itl-ms", "20", "--oracle", str(items_file))
    cmd = [
        sys.executable,
        "-m",
        "tco",
        "quality",
        "--base-url",
        f"{url}/f/oracle/v1",
        "--model",
        "oracle",
        "--dataset",
        str(items_file),
        "--limit",
        "300",
        "--concurrency",
        "2",
        "--out",
        str(tmp_path),
    ]
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            files = list(tmp_path.glob("*/items.jsonl"))
            if files and len(files[0].read_text().splitlines()) >= 6:
                break
            time.sleep(0.1)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc_server.terminate()
        proc_server.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    (run_dir,) = list(tmp_path.iterdir())
    manifest, by_class = class_accuracy(run_dir)
    assert manifest.status == "interrupted" and manifest.stopped_by == name and manifest.ended
    records = [json.loads(line) for line in (run_dir / "items.jsonl").read_text().splitlines()]
    finished = [r for r in records if r["error_kind"] != "interrupted"]
    assert 6 <= len(finished) < 300
    assert by_class["all"].n == len(finished)  # interrupted items are not measurements
