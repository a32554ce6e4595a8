"""A probe run over a Ray cluster of two nodes on this machine (``ray.cluster_utils.Cluster``,
each node labelled by a custom resource, one agent pinned to each), against the real fault server:
the merged schedule is the one-process schedule, each clock offset measured is within its own error
bound (the true offset is 0; ``bench/probe_overhead.py --only ray`` prints them, under 0.1 ms when
idle), the latencies read as one process's do, and an agent killed mid-run leaves a degraded run with what it
flushed. Skipped with the reason where Ray is not installed (an optional extra); CI installs it and
sets ``TCO_REQUIRE_RAY=1``, which makes a missing Ray a failure."""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.request

import numpy as np
import pandas as pd
import psutil
import pytest

from costmodel.io.probe_run import read_manifest, read_summary
from costmodel.model.endpoint import Endpoint
from probes.load import LoadPlan
from probes.run import probe
from tests.conftest import written

TRANSPORT_MS = 3.0  # as in test_faults: loopback, HTTP and SSE parsing once timer lag is counted

if os.environ.get("TCO_REQUIRE_RAY") != "1":
    pytest.importorskip("ray", reason="the Ray probe test needs Ray: pip install -e '.[ray]' (CI installs it)")


@pytest.fixture(scope="module")
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"probe_node_0": 1}})
    c.add_node(num_cpus=1, resources={"probe_node_1": 1})
    c.wait_for_nodes()
    ray.init(address=c.address, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def server(fault_server):
    return fault_server


def run(server: str, tmp_path, plan: LoadPlan):
    return probe(
        Endpoint(base_url=f"{server}/v1", model="fault-model"),
        plan,
        out_dir=tmp_path,
        input_tokens=16,
        output_tokens=4,
        check=False,
        workers=1,
        ray_address="auto",
    )


def test_two_nodes_send_the_one_process_schedule_on_one_clock(cluster, server, tmp_path):
    plan = LoadPlan(mode="rate", levels=(40.0,), requests=80, warmup=0, seed=5)
    run_dir = run(server, tmp_path, plan)
    manifest = read_manifest(run_dir)
    assert manifest.status == "complete" and len(manifest.hosts) == 2
    for host in manifest.hosts:  # one machine, one clock: each offset measured is within its own error bound
        assert abs(host.offset_ms) <= host.offset_error_ms + 1e-6
        assert host.offset_after_ms is not None and host.offset_after_error_ms is not None
        assert abs(host.offset_after_ms) <= host.offset_after_error_ms + 1e-6
    assert [w.status for w in manifest.workers] == ["finished", "finished"]
    records = pd.read_json(run_dir / "requests.jsonl", lines=True).sort_values("request_id")
    assert records["request_id"].tolist() == list(range(80)) and records["ok"].all()
    assert (records["worker"] == records["request_id"] % 2).all()  # host h's worker is global worker h
    rng = np.random.default_rng(plan.seed)
    gaps = rng.gamma(1.0, 1.0 / 40.0, size=80)
    due = np.concatenate([[0.0], np.cumsum(gaps[1:])])
    level = manifest.levels[0]
    # each host stamps on its own clock from t0 + offset: within the offsets' error of the schedule
    bound = max(h.offset_error_ms for h in manifest.hosts) / 1e3
    assert np.allclose(records["scheduled_s"].to_numpy() - level.started_s, due, atol=bound + 1e-9)
    assert not (run_dir / "hosts").exists()  # every host's files pulled and merged


def test_latencies_over_ray_read_as_one_process(cluster, server, tmp_path):
    """At a rate one process holds the median TTFT over two nodes is the server's own figure plus
    the probe's measured lag and loopback transit, the bound test_faults holds one process to."""
    with urllib.request.urlopen(f"{server}/stats?reset=1", timeout=5):
        pass
    run_dir = run(server, tmp_path, LoadPlan(mode="rate", levels=(30.0,), requests=60, warmup=0))
    with urllib.request.urlopen(f"{server}/stats?reset=1", timeout=5) as r:
        seen = json.loads(r.read())
    (row,) = read_summary(run_dir)
    assert seen["count"] == 60 and row.ok == 60
    assert (
        50 <= seen["ttft_median_ms"] <= row.ttft_p50_ms <= seen["ttft_median_ms"] + row.loop_lag_p95_ms + TRANSPORT_MS
    )


def test_an_agent_killed_mid_run_leaves_a_degraded_run_with_what_it_flushed(cluster, server, tmp_path):
    plan = LoadPlan(mode="rate", levels=(20.0, 20.0), requests=300, warmup=0)
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("dir", run(server, tmp_path, plan)))
    thread.start()
    records = written(tmp_path, "*/hosts/host1/requests.w1.jsonl", lines=5, within_s=90)
    manifest = json.loads((records.parents[2] / "manifest.json").read_text())
    worker_pid = next(w["pid"] for w in manifest["workers"] if w["worker"] == 1)
    agent = psutil.Process(worker_pid).parent()  # the Ray actor on node 1 that runs the worker
    os.kill(agent.pid, signal.SIGKILL)
    thread.join(180)
    assert not thread.is_alive()
    run_dir = out["dir"]
    manifest = read_manifest(run_dir)
    assert manifest.status == "degraded" and manifest.stopped_by == "worker-died"
    assert [h.lost for h in manifest.hosts] == [False, True]
    assert manifest.workers[1].status == "died"
    records = pd.read_json(run_dir / "requests.jsonl", lines=True)
    kept = records[records["worker"] == 1]
    assert len(kept) >= 5 and (kept["request_id"] % 2 == 1).all()  # what it flushed is kept
    assert len(manifest.levels) == 1 and read_summary(run_dir)
