"""A probe run over several worker processes, against the real fault server on loopback: the
workers' union is the one-process schedule exactly, their records merge into one run that the
readers and the summary treat like any other, and a worker killed mid-run leaves a degraded run
with everything it flushed."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from costmodel.io.probe_run import read_manifest, read_summary
from costmodel.model.endpoint import Endpoint
from probes.load import LoadPlan
from probes.run import probe
from probes.workers import default_workers
from tests.conftest import written


@pytest.fixture(scope="module")
def server(fault_server):
    return fault_server


def endpoint(url: str) -> Endpoint:
    return Endpoint(base_url=f"{url}/v1", model="fault-model")


def one_process_schedule(plan: LoadPlan, index: int, value: float) -> np.ndarray:
    """The arrival offsets one process draws for level ``index`` (probes.load, rate levels)."""
    total = plan.warmup_for(value) + plan.requests
    rng = np.random.default_rng(plan.seed + index)
    gaps = rng.gamma(plan.burstiness, 1.0 / (value * plan.burstiness), size=total)
    return np.concatenate([[0.0], np.cumsum(gaps[1:])])


def test_two_workers_send_the_one_process_schedule_exactly(server, tmp_path):
    plan = LoadPlan(mode="rate", levels=(40.0, 80.0), requests=60, warmup=4, seed=3)
    run_dir = probe(endpoint(server), plan, out_dir=tmp_path, input_tokens=16, output_tokens=4, check=False, workers=2)
    manifest = read_manifest(run_dir)
    assert manifest.status == "complete" and manifest.plan.workers == 2
    assert [w.status for w in manifest.workers] == ["finished", "finished"]
    assert not list(run_dir.glob("requests.w*.jsonl"))  # merged into requests.jsonl
    records = pd.read_json(run_dir / "requests.jsonl", lines=True)
    assert records["ok"].all()
    for index, level in enumerate(manifest.levels):
        rows = records[records["level"] == level.name].sort_values("request_id")
        total = plan.warmup_for(level.rate) + plan.requests
        assert rows["request_id"].tolist() == list(range(total))  # every request once, none twice
        assert (rows["worker"] == rows["request_id"] % 2).all()  # request i from worker i % 2
        due = one_process_schedule(plan, index, level.rate)
        start = level.started_s
        assert np.allclose(rows["scheduled_s"].to_numpy() - start, due, atol=1e-9)
        assert [w.planned for w in level.workers] == [len(range(k, total, 2)) for k in (0, 1)]
        assert [w.issued for w in level.workers] == [len(range(k, total, 2)) for k in (0, 1)]
        assert all(w.loop_lag_p95_ms is not None for w in level.workers)
        assert level.loop_lag_p95_ms == max(w.loop_lag_p95_ms for w in level.workers)
    summary = {r.level: r for r in read_summary(run_dir)}
    assert summary["r40"].requests == 60 and summary["r80"].ok == 60  # warm-up left out, as with one process


def test_concurrency_levels_split_streams_and_requests(server, tmp_path):
    plan = LoadPlan(mode="concurrency", levels=(3,), requests=9, warmup=0)
    run_dir = probe(endpoint(server), plan, out_dir=tmp_path, input_tokens=16, output_tokens=4, check=False, workers=2)
    records = pd.read_json(run_dir / "requests.jsonl", lines=True)
    assert sorted(records["request_id"]) == list(range(9))
    assert (records["worker"] == records["request_id"] % 2).all()
    level = read_manifest(run_dir).levels[0]
    assert [(w.planned, w.issued) for w in level.workers] == [(5, 5), (4, 4)]


def test_a_worker_killed_mid_run_leaves_a_degraded_run_with_its_records(server, tmp_path):
    """Worker 1 is killed (SIGKILL) once it has written a few records: the run stops after that
    level as degraded, worker 1's flushed lines are in requests.jsonl, its planned and issued
    counts are in the level, and the manifest says it died."""
    plan = LoadPlan(mode="rate", levels=(20.0, 20.0), requests=200, warmup=0)
    out: dict = {}

    def run() -> None:
        out["dir"] = probe(
            endpoint(server), plan, out_dir=tmp_path, input_tokens=16, output_tokens=4, check=False, workers=2
        )

    thread = threading.Thread(target=run)
    thread.start()
    records = written(tmp_path, "*/requests.w1.jsonl", lines=5, within_s=60)
    manifest = json.loads((records.parent / "manifest.json").read_text())
    pid = next(w["pid"] for w in manifest["workers"] if w["worker"] == 1)
    os.kill(pid, signal.SIGKILL)
    thread.join(120)
    assert not thread.is_alive()
    run_dir: Path = out["dir"]
    manifest = read_manifest(run_dir)
    assert manifest.status == "degraded" and manifest.stopped_by == "worker-died"
    assert [w.status for w in manifest.workers] == ["finished", "died"]
    assert manifest.workers[1].exit_code == -signal.SIGKILL
    assert len(manifest.levels) == 1  # stopped after the level it died in
    records = pd.read_json(run_dir / "requests.jsonl", lines=True)
    kept = records[records["worker"] == 1]
    assert len(kept) >= 5 and (kept["request_id"] % 2 == 1).all()
    share = manifest.levels[0].workers[1]
    assert share.planned == 100 and share.issued == len(kept) < 100
    assert read_summary(run_dir)  # the summary covers what was measured
    from rich.console import Console

    from tco.probe_cli import print_summary

    console = Console(record=True, width=200)
    print_summary(run_dir, console)
    said = console.export_text()
    assert "(degraded)" in said and "degraded: worker 1 died" in said and f"1: {len(kept)}/100" in said


def test_the_default_is_one_process_until_a_level_needs_more():
    """One process holds 256 streams, or 12,000 token events a second (bench/probe_overhead.py)."""
    rate = LoadPlan(mode="rate", levels=(100.0, 2000.0))
    assert default_workers(rate, output_tokens=4, cores=8) == 1  # 10,000 events/s
    assert default_workers(rate, output_tokens=64, cores=8) == 7  # 130,000 events/s, capped at cores - 1
    assert default_workers(LoadPlan(mode="rate", levels=(300.0,)), output_tokens=64, cores=8) == 2
    assert default_workers(LoadPlan(mode="rate", levels=(3000.0,)), output_tokens=4, cores=2) == 1  # server's core
    assert default_workers(LoadPlan(mode="concurrency", levels=(1024,)), cores=16) == 4


def test_finalize_merges_worker_files_a_killed_parent_left(server, tmp_path):
    """A parent killed before merging leaves requests.w0/w1.jsonl (and perhaps part of a merge):
    ``tco probe --finalize`` merges them, each request once, and rebuilds the summary."""
    from probes.finalize import finalize

    plan = LoadPlan(mode="rate", levels=(50.0,), requests=20, warmup=0)
    run_dir = probe(endpoint(server), plan, out_dir=tmp_path, input_tokens=16, output_tokens=4, check=False, workers=2)
    lines = (run_dir / "requests.jsonl").read_text().splitlines()
    for k in (0, 1):
        mine = [ln for ln in lines if json.loads(ln)["worker"] == k]
        (run_dir / f"requests.w{k}.jsonl").write_text("\n".join(mine) + "\n")
    (run_dir / "requests.jsonl").write_text(lines[0] + "\n")  # a merge cut short: one line in both
    host = run_dir / "hosts" / "host1"  # a Ray host's folder on this disk, with a line not pulled yet
    host.mkdir(parents=True)
    (host / "requests.w1.jsonl").write_text(next(ln for ln in lines if json.loads(ln)["worker"] == 1) + "\n")
    done = finalize(run_dir)
    assert done.records == 20 and not list(run_dir.glob("requests.w*.jsonl")) and not (run_dir / "hosts").exists()
    records = pd.read_json(run_dir / "requests.jsonl", lines=True)
    assert sorted(records["request_id"]) == list(range(20))
    assert read_summary(run_dir)[0].requests == 20


def test_tco_probe_workers_from_the_command_line(server, tmp_path):
    """``tco probe --workers 2`` says how many processes and ends with one merged run."""
    from tests.conftest import tco

    r = tco(
        "probe",
        "--base-url",
        f"{server}/v1",
        "--model",
        "fault-model",
        "--rate",
        "30",
        "--requests",
        "12",
        "--warmup",
        "0",
        "--input-tokens",
        "8",
        "--output-tokens",
        "2",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    assert "probe processes: 2" in r.stderr
    assert "r30 workers, sent/planned: 0: 6/6" in r.stdout and "1: 6/6" in r.stdout
    (run_dir,) = tmp_path.iterdir()
    assert read_manifest(run_dir).plan.workers == 2 and len(pd.read_json(run_dir / "requests.jsonl", lines=True)) == 12


def test_ray_address_without_ray_is_one_line(monkeypatch):
    """Ray is an optional extra: asking for it without it says how to get it."""
    import sys

    from probes.ray_agents import connect

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(RuntimeError, match=r"needs Ray: pip install -e '\.\[ray\]'"):
        connect("auto")
