"""The per-level summary, on synthetic records whose every figure is known by construction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from probes.results import summarize, summarize_level

LEVEL = {"name": "c2", "mode": "concurrency", "concurrency": 2, "rate": None, "loop_lag_p95_ms": 0.5}


def record(
    i: int,
    *,
    ok: bool = True,
    warmup: bool = False,
    sent: float = 0.0,
    ttft: float = 100.0,
    itl: float = 10.0,
    out: int = 11,
    inp: int = 50,
    kind: str | None = None,
    attempts: int = 1,
    throttled: int = 0,
) -> dict:
    """A request sent at ``sent`` seconds: first token after ``ttft`` ms, then ``out - 1`` gaps of ``itl``."""
    e2e = ttft + itl * (out - 1)
    return {
        "run_id": "r",
        "level": "c2",
        "request_id": i,
        "warmup": warmup,
        "scheduled_s": sent,
        "sent_s": sent,
        "end_s": sent + e2e / 1e3,
        "schedule_lag_ms": 0.0,
        "ttft_ms": ttft if ok else None,
        "ttft_content_ms": ttft if ok else None,
        "e2e_ms": e2e if ok else None,
        "tpot_ms": (e2e - ttft) / (out - 1) if ok else None,
        "itl_ms": [itl] * (out - 1) if ok else [],
        "input_tokens": inp if ok else None,
        "output_tokens": out if ok else None,
        "token_source": "usage" if ok else None,
        "token_events": out if ok else 0,
        "status": 200 if ok else 500,
        "ok": ok,
        "error_kind": kind,
        "error": None,
        "retry_after_s": None,
        "attempts": attempts,
        "throttled": throttled,
    }


def frame(*records: dict) -> pd.DataFrame:
    return pd.DataFrame(list(records))


def test_known_figures():
    # ten requests one second apart, TTFT 100..190 ms, 10 ms between tokens, 11 output tokens each
    rows = [record(i, sent=float(i), ttft=100.0 + 10 * i) for i in range(10)]
    s = summarize_level(frame(*rows), LEVEL, {"ttft_p95": 500})
    assert (s.requests, s.ok, s.errors, s.error_rate) == (10, 10, 0, 0.0)
    # the level runs from the first send (0 s) to the last end (9 s + 190 ms + 100 ms)
    assert s.duration_s == pytest.approx(9.29)
    assert s.requests_per_s == pytest.approx(10 / 9.29)
    assert s.output_tokens_per_s == pytest.approx(110 / 9.29)
    assert s.input_tokens_per_s == pytest.approx(500 / 9.29)
    assert s.ttft_p50_ms == pytest.approx(np.percentile(100 + 10 * np.arange(10), 50))  # 145
    assert s.ttft_p95_ms == pytest.approx(185.5)
    assert s.tpot_p50_ms == pytest.approx(10.0) and s.itl_p99_ms == pytest.approx(10.0)
    assert s.mean_output_tokens == 11 and s.mean_input_tokens == 50
    assert s.goodput_rps == s.requests_per_s and s.slo_met is True and s.valid


def test_warmup_left_out_and_failures_kept_in_denominators():
    rows = [
        record(0, warmup=True, ttft=5000.0),  # a slow warm-up: recorded, not summarized
        record(1, sent=0.0),
        record(2, sent=1.0),
        record(3, ok=False, sent=1.5, kind="http_5xx"),
        record(4, ok=False, sent=2.0, kind="timeout"),
        record(5, ok=False, sent=2.5, kind="interrupted"),
    ]  # cut short by Ctrl-C: not a measurement
    s = summarize_level(frame(*rows), LEVEL, {"ttft_p95": 150})
    assert (s.requests, s.ok, s.errors) == (4, 2, 2)
    assert s.error_rate == 0.5 and s.errors_by_kind == {"http_5xx": 1, "timeout": 1}
    assert s.ttft_p95_ms == pytest.approx(100.0)  # the warm-up's 5 s is not in it
    assert s.requests_per_s == pytest.approx(4 / s.duration_s)
    assert s.goodput_rps == pytest.approx(2 / s.duration_s)
    assert s.slo_met is False  # 50 % errors, whatever the latency


def test_goodput_counts_only_requests_within_every_bound():
    rows = [record(i, sent=float(i), ttft=ttft) for i, ttft in enumerate([100, 200, 300, 400])]
    s = summarize_level(frame(*rows), LEVEL, {"ttft_p95": 250})
    assert s.goodput_rps == pytest.approx(2 / s.duration_s)
    assert s.goodput_output_tokens_per_s == pytest.approx(22 / s.duration_s)
    assert s.slo_met is False  # p95 of 100..400 is 385 ms


def test_throttling_rate_is_per_attempt():
    rows = [record(0, attempts=3, throttled=2), record(1, sent=1.0)]
    s = summarize_level(frame(*rows), LEVEL, {})
    assert s.throttle_rate == pytest.approx(2 / 4)
    assert s.slo_met is None and s.slo is None  # no SLO given


def test_a_lagging_probe_makes_the_level_invalid():
    rows = [record(i, sent=float(i)) for i in range(3)]
    s = summarize_level(frame(*rows), {**LEVEL, "loop_lag_p95_ms": 12.0}, {"ttft_p95": 500})
    assert not s.valid and "event loop lagged (p95 12.0 ms)" in s.invalid_reason
    assert s.slo_met is False  # an invalid level cannot vouch for the SLO


def test_rate_level_behind_schedule_is_invalid():
    level = {"name": "r10", "mode": "rate", "concurrency": None, "rate": 10.0, "loop_lag_p95_ms": 0.1}
    rows = [
        {**record(i, sent=i * 0.3), "level": "r10", "scheduled_s": i * 0.1, "schedule_lag_ms": i * 200.0}
        for i in range(5)
    ]
    s = summarize_level(frame(*rows), level, {})
    assert not s.valid
    assert (
        "fell behind its schedule" in s.invalid_reason
        and "achieved 3.33 req/s of the 10.00 scheduled" in s.invalid_reason
    )


def test_no_successful_request():
    s = summarize_level(frame(record(0, ok=False, kind="timeout")), LEVEL, {})
    assert not s.valid and s.invalid_reason == "no successful request"
    assert s.ttft_p50_ms is None and s.output_tokens_per_s == 0.0


def test_summarize_skips_levels_without_records_and_round_trips_json():
    rows = [record(i, sent=float(i)) for i in range(3)]
    out = summarize(frame(*rows), [LEVEL, {**LEVEL, "name": "c4"}], {})
    assert [r.level for r in out] == ["c2"]
    assert json.loads(out[0].model_dump_json())["errors_by_kind"] == {}
