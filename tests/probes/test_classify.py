"""``tco classify`` against real processes: the bundled rules classifier as a local command (its
confusion matrix recomputed here from the rules themselves), the fault server's oracle as an
endpoint (right with a known chance per class), commands that die, bad sets, and a measured
classifier changing the decision the way its numbers say."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from costmodel.engine import evaluate
from costmodel.io.classifier_run import measured_confusion, predicted_class, read_info, read_records
from costmodel.io.scenario import load
from costmodel.model.quality import wilson_interval
from probes.labelled_sets import SETS, render, set_path
from probes.rules_classifier import classify, load_rules
from tests.conftest import FINTECH, ROOT, assert_bad_input, start_fault_server, tco

SET = set_path("fintech-rag")
RULES = ROOT / "data" / "classifier" / "fintech-rag-rules.yaml"
RULES_COMMAND = f"{sys.executable} -m probes.rules_classifier {RULES}"


def run_dir_of(out: Path) -> Path:
    (run,) = out.iterdir()
    return run


def test_the_bundled_sets_are_current():
    for name in SETS:
        assert set_path(name).read_text(encoding="utf-8") == render(name), f"python -m probes.labelled_sets ({name})"


@pytest.fixture(scope="module")
def rules_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rules")
    result = tco("classify", str(SET), "--command", RULES_COMMAND, "--fallback", "routine", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "labelled complex" in result.stdout and "accuracy" in result.stdout
    return run_dir_of(out)


def test_a_local_command_gives_the_matrix_its_rules_imply(rules_run):
    default, rules = load_rules(RULES)
    items = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines()]
    expected: dict[str, dict[str, int]] = {
        "routine": {"routine": 0, "complex": 0},
        "complex": {"routine": 0, "complex": 0},
    }
    for it in items:
        expected[it["class"]][classify(it["prompt"], default, rules)] += 1
    m = measured_confusion(rules_run)
    assert m.n == {t: sum(row.values()) for t, row in expected.items()}
    for t, row in expected.items():
        for p, k in row.items():
            assert m.rows[t][p] == pytest.approx(k / m.n[t])
    right = expected["routine"]["routine"] + expected["complex"]["complex"]
    assert m.accuracy == pytest.approx(right / len(items))
    assert (m.ci_low, m.ci_high) == pytest.approx(wilson_interval(right, len(items)))
    assert read_info(rules_run).status == "complete" and m.caveat is None
    assert len(read_records(rules_run)) == len(items)


def _with_classifier(run: Path) -> list[str]:
    k = f"{{kind: rules, usd_per_request: 0, added_ttft_ms: 2, classifier_run: {run}, source: measured}}"
    return [f"options.router.classifier={k}"]


def test_a_measured_classifier_moves_the_decision_as_its_numbers_say(rules_run, tmp_path):
    """The rules keep complex work at 0.35 x 70 % + 0.65 x 80 % = 76.5 % >= 75 %: the router stays. A
    command that calls everything routine sends complex questions to GPT-4o-mini (70 % < 75 %), so
    no mixed assignment meets the bar and the Llama API alone is recommended."""
    sc, cat = load(FINTECH, _with_classifier(rules_run))
    ev = evaluate(sc, cat)
    assert ev.recommendation.option == "router"
    assert sc.option("router").classifier.confusion_measured is not None
    m = measured_confusion(rules_run)
    complex_accuracy = m.rows["complex"]["routine"] * 0.70 + m.rows["complex"]["complex"] * 0.80
    assert f"complex {round(complex_accuracy * 100)}% >= 75%" in ev.option("router").quality.note

    out = tmp_path / "lazy"
    lazy = f"{sys.executable} -c \"import sys\nfor _ in sys.stdin: print('routine', flush=True)\""
    result = tco("classify", str(SET), "--command", lazy, "--fallback", "routine", "--out", str(out))
    assert result.returncode == 0, result.stderr
    flipped = evaluate(*load(FINTECH, _with_classifier(run_dir_of(out))))
    assert flipped.recommendation.option == "api-llama-70b"


def test_an_endpoint_is_measured_through_the_quality_client(tmp_path):
    """The oracle answers each request right with a known chance per class (else "unknown", which
    counts as the fallback): the matrix is those draws, item by item."""
    items_file = tmp_path / "requests.jsonl"
    assert tco("classify", str(SET), "--limit", "60", "--write-items", str(items_file)).returncode == 0
    proc, url = start_fault_server(
        "--ttft-ms", "2", "--itl-ms", "1", "--oracle", str(items_file), "--oracle-accuracy", "routine=1,complex=0.5"
    )
    try:
        out = tmp_path / "runs"
        result = tco(
            "classify", str(SET), "--limit", "60", "--base-url", f"{url}/f/oracle/v1", "--model", "oracle",
            "--fallback", "routine", "--out", str(out),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    finally:
        proc.terminate()
        proc.wait()
    run = run_dir_of(out)
    from probes.faultserver import load_oracle

    draws = {item["id"]: right for item, right in load_oracle(str(items_file), "routine=1,complex=0.5", 0).values()}
    records = read_records(run)
    assert len(records) == 60 and read_info(run).kind == "endpoint"
    for r in records:
        want = r.item_class if draws[r.item_id] else "routine"
        assert predicted_class(r.answer, ["routine", "complex"], "routine") == want, r
    m = measured_confusion(run)
    complex_right = sum(1 for r in records if r.item_class == "complex" and draws[r.item_id])
    assert m.rows["complex"]["complex"] == pytest.approx(complex_right / m.n["complex"])
    assert m.rows["routine"]["routine"] == 1.0


def test_a_command_that_dies_keeps_what_it_answered(tmp_path):
    dies = (
        f'{sys.executable} -c "import sys\nfor i, _ in enumerate(sys.stdin):\n'
        f"    print('routine', flush=True)\n    if i == 2: sys.exit(3)\""
    )
    result = tco("classify", str(SET), "--command", dies, "--out", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the command exited" in result.stderr
    run = run_dir_of(tmp_path)
    assert read_info(run).status == "failed" and len(read_records(run)) >= 3


def test_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "x", "class": "routine"}\n{"id": "b", "prompt": "y"}\n', encoding="utf-8")
    assert_bad_input(tco("classify", str(bad), "--command", "cat"), "line 2", "class")
    one = tmp_path / "one.jsonl"
    one.write_text('{"id": "a", "prompt": "x", "class": "routine"}\n', encoding="utf-8")
    assert_bad_input(tco("classify", str(one), "--command", "cat"), "at least two classes")
    assert_bad_input(tco("classify", str(SET), "--command", "cat", "--fallback", "odd"), "--fallback")
    assert_bad_input(tco("classify", str(SET)), "give --command")


def test_a_run_of_other_classes_is_refused(rules_run, tmp_path):
    info = json.loads((rules_run / "classifier.json").read_text())
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "classifier.json").write_text(json.dumps({**info, "classes": ["routine", "hard"], "fallback": "routine"}))
    (odd / "items.jsonl").write_text((rules_run / "items.jsonl").read_text())
    result = tco("evaluate", str(FINTECH), "--draws", "0", *(f"--set={s}" for s in _with_classifier(odd)))
    assert_bad_input(result, "classifier")


def test_the_docs_quote_todays_measurement(rules_run):
    """docs/quality.md's figures for the bundled rules on the bundled set are recomputed here."""
    import re

    from costmodel.text import percent, usd

    docs = (ROOT / "docs" / "quality.md").read_text(encoding="utf-8")
    m = measured_confusion(rules_run)
    said = re.search(
        r"The bundled keyword rules score (?P<acc>[\d.]+) %\s+on it \(95 % interval (?P<lo>[\d.]+)-(?P<hi>[\d.]+) %\): "
        r"(?P<routine>[\d.]+) % of routine questions and (?P<complex>[\d.]+) % of complex ones labelled\s+right\. "
        r"With them \(no per-request cost, 2 ms\) the default router costs (?P<npv>\$[\d,]+)",
        docs,
    )
    assert said, "docs/quality.md states the rules' measurement"
    assert f"{said['acc']}%" == percent(m.accuracy, 1)
    assert (f"{said['lo']}%", f"{said['hi']}%") == (percent(m.ci_low, 1), percent(m.ci_high, 1))
    assert f"{said['routine']}%" == percent(m.rows["routine"]["routine"], 1)
    assert f"{said['complex']}%" == percent(m.rows["complex"]["complex"], 1)
    ev = evaluate(*load(FINTECH, _with_classifier(rules_run)))
    assert said["npv"] == usd(-ev.option("router").npv_usd)
