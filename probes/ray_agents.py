"""One probe run over several hosts, on a Ray cluster (``tco probe --ray-address ADDRESS``).

Ray is an optional extra (``pip install -e '.[ray]'``); nothing else imports this module. Each
node of the cluster gets one agent (a Ray actor pinned to the node) that runs the multi-process
probe of :mod:`probes.workers` there. Ray carries control, clock pings and file pulls only,
never a call per request:

* **One schedule.** With ``H`` hosts of ``W`` workers, worker ``w`` of host ``h`` is global
  worker ``g = h W + w`` of ``H W`` and sends requests ``i`` with ``i % (H W) == g``: the
  union over the cluster is the one-process schedule.
* **One clock.** Before the run and after it the driver pings each agent (20 round trips) and
  takes the one with the shortest round trip: the agent's ``perf_counter`` minus the midpoint of
  the ping is its clock offset, known to within half that round trip. Each host's records are
  stamped on its own clock from ``t0 + offset``, so all of them read on the driver's; the level
  starts at ``start + offset`` on each host. Offsets before and after are both recorded.
* **Nothing lost.** After each level the driver pulls every host's records files into the run
  folder; a host lost mid-level marks the run ``degraded`` and what it had pulled stays (its
  last level stays on that host's disk, where the manifest says). Nothing is restarted, so no
  slice of the schedule is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from probes.results import WORKER_RECORDS
from probes.workers import Pool, Workers, WorkerSetup, combined, worker_info

PINGS = 20


def tail(path: Path, start: int) -> bytes:
    """``path``'s bytes from ``start`` on (b"" if it does not exist)."""
    if not path.exists():
        return b""
    with path.open("rb") as f:
        f.seek(start)
        return f.read()


def connect(address: str) -> None:
    """Join the Ray cluster at ``address`` (``auto``: the one this host belongs to); a missing Ray
    or an unreachable cluster is one line saying so."""
    try:
        import ray
    except ImportError:
        raise RuntimeError(
            "--ray-address needs Ray: pip install -e '.[ray]' (an optional extra of the workbench)"
        ) from None
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="warning")
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise RuntimeError(f"--ray-address = {address!r}: cannot join the Ray cluster ({e})") from None


class ProbeAgent:
    """The agent on one node (a Ray actor): its workers, their files, its clock."""

    def __init__(self) -> None:
        self.pool: Workers | None = None
        self.done = 0
        self.run_dir: Path | None = None

    def clock(self) -> float:
        return time.perf_counter()

    def start(self, setups: list[WorkerSetup]) -> list[int | None]:
        """Start this host's workers (their run folder made here); their pids."""
        self.run_dir = setups[0].run_dir
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.pool = Workers(setups, self._count)
        self.pool.wait_ready()
        return [w.pid for w in self.pool.workers]

    def _count(self, event: tuple) -> None:
        self.done += 1

    def progress(self) -> int:
        return self.done

    def run_level(self, index: int, value: float, start_at: float) -> dict[str, Any]:
        assert self.pool is not None
        meta = asyncio.run(self.pool.run_level(index, value, start_at))
        return {
            **meta,
            "stop_reason": self.pool.stop_reason,
            "spent_usd": self.pool.spent_usd,
            "failure": self.pool.failure,
        }

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop("interrupted")

    def read(self, name: str, start: int = 0) -> bytes:
        """One of this host's files in its run folder from byte ``start`` on (b"" if none yet)."""
        assert self.run_dir is not None
        return tail(self.run_dir / name, start)

    def close(self) -> list[dict[str, Any]]:
        return [] if self.pool is None else self.pool.close()[0]


@dataclass
class Host:
    """The driver's view of one agent."""

    index: int
    node: str
    actor: Any
    run_dir: Path  # the run folder on that host
    offset_s: float = 0.0  # its clock minus the driver's
    rtt_s: float = 0.0
    offset_after_s: float | None = None
    rtt_after_s: float | None = None
    lost: bool = False
    spent_usd: float = 0.0  # USD its workers billed so far, as it last said


def clock_offset(actor: Any, pings: int = PINGS) -> tuple[float, float]:
    """The agent's clock minus ours, from the ping with the shortest round trip; (offset, rtt) in s.
    The offset is right to within rtt / 2."""
    import ray

    best: tuple[float, float] | None = None
    for _ in range(pings):
        sent = time.perf_counter()
        theirs = ray.get(actor.clock.remote())
        back = time.perf_counter()
        rtt = back - sent
        if best is None or rtt < best[1]:
            best = (theirs - (sent + back) / 2.0, rtt)
    assert best is not None
    return best


class RayHosts(Pool):
    """The driver's side: an agent on each node, each level across them, their files pulled."""

    def __init__(self, setup: WorkerSetup, workers_per_host: int, run_dir: Path, nodes: list[str] | None = None):
        super().__init__()
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        alive = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        self.nodes = nodes or alive
        agent = ray.remote(num_cpus=0, max_concurrency=4)(ProbeAgent)
        self.hosts: list[Host] = []
        for h, node in enumerate(self.nodes):
            actor = agent.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote()
            self.hosts.append(Host(h, node, actor, run_dir / "hosts" / f"host{h}"))
        self.workers_per_host = workers_per_host
        self.run_dir = run_dir
        self.plan, self.t0 = setup.plan, setup.t0
        self.pulled: dict[str, int] = {}  # bytes of each records file copied here so far
        for host in self.hosts:
            host.offset_s, host.rtt_s = clock_offset(host.actor)
        total = len(self.hosts) * workers_per_host
        self.pids: dict[int, list[int | None]] = {}
        for host in self.hosts:
            setups = [
                replace(
                    setup,
                    index=g,
                    count=total,
                    run_dir=host.run_dir,
                    t0=setup.t0 + host.offset_s,  # the driver's start, on this host's clock
                )
                for g in self.global_workers(host)
            ]
            self.pids[host.index] = ray.get(host.actor.start.remote(setups))

    @property
    def workers(self) -> int:
        return len(self.hosts) * self.workers_per_host

    def global_workers(self, host: Host) -> range:
        """The cluster-wide worker numbers of ``host``'s workers: worker ``w`` of host ``h`` is ``h W + w``."""
        return range(host.index * self.workers_per_host, (host.index + 1) * self.workers_per_host)

    def running(self) -> list[tuple[int, int | None]]:
        """(worker, pid) of every worker started, cluster-wide."""
        return [(g, pid) for h in self.hosts for g, pid in zip(self.global_workers(h), self.pids[h.index], strict=True)]

    def files(self, host: Host) -> list[str]:
        return [WORKER_RECORDS.format(g) for g in self.global_workers(host)]

    def stop(self, reason: str, cancel: bool = True) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        for host in self.hosts:
            if not host.lost:
                host.actor.stop.remote()

    def progress(self) -> int:
        import ray

        done = 0
        for host in self.hosts:
            if host.lost:
                continue
            with contextlib.suppress(Exception):
                done += ray.get(host.actor.progress.remote(), timeout=5)
        return done

    async def run_level(self, index: int, value: float) -> dict[str, Any]:
        """One level across the live hosts from one start instant; their files pulled; the merged meta."""
        import ray

        start_at = time.perf_counter() + 0.5
        asked = [h for h in self.hosts if not h.lost]
        futures = {h.index: h.actor.run_level.remote(index, value, start_at + h.offset_s) for h in asked}
        metas: dict[int, dict[str, Any]] = {}
        for h in asked:
            while True:
                ready, _ = ray.wait([futures[h.index]], timeout=0.05)
                if ready:
                    break
                await asyncio.sleep(0.05)
            try:
                metas[h.index] = ray.get(futures[h.index])
            except ray.exceptions.RayError:  # the agent or its node is gone
                h.lost = True
        for h in asked:
            if h.index in metas:
                meta = metas[h.index]  # the host's total billing so far, its failure and stop reason
                self.report(h, meta.pop("spent_usd", 0.0), meta.pop("failure", None), meta.pop("stop_reason", None))
        if any(h.lost for h in asked) and self.stop_reason is None:
            self.stop_reason = "worker-died"
        self.pull()
        answered = [metas[i] for i in sorted(metas)]
        workers = [w for m in answered for w in m["workers"]]
        return combined(self.plan.level_meta(value), answered, workers, time.perf_counter() - self.t0)

    def pull(self) -> None:
        """Copy every live host's records files into the run folder (a lost host's: from its folder,
        where this driver can see it, as on one machine or a shared disk)."""
        import ray

        for h in self.hosts:
            for name in self.files(h):
                start = self.pulled.get(name, 0)  # only what was written since the last pull
                data = b""
                if not h.lost:
                    try:
                        data = ray.get(h.actor.read.remote(name, start), timeout=60)
                    except ray.exceptions.RayError:
                        h.lost = True
                if h.lost:
                    data = tail(h.run_dir / name, start)
                if data:
                    with (self.run_dir / name).open("ab") as f:
                        f.write(data)
                    self.pulled[name] = start + len(data)

    def close(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Clock offsets again, the agents' workers ended, files pulled; (workers, hosts) for the manifest."""
        import ray

        for h in self.hosts:
            if not h.lost:
                try:
                    h.offset_after_s, h.rtt_after_s = clock_offset(h.actor)
                except ray.exceptions.RayError:
                    h.lost = True
        ended: list[dict[str, Any]] = []
        for h in self.hosts:
            infos: list[dict[str, Any]] = []
            if not h.lost:
                try:
                    infos = ray.get(h.actor.close.remote(), timeout=60)
                except ray.exceptions.RayError:
                    h.lost = True
            if h.lost:
                infos = [
                    worker_info(g, pid, "died")
                    for g, pid in zip(self.global_workers(h), self.pids[h.index], strict=True)
                ]
            ended += infos
        self.pull()
        for h in self.hosts:
            ray.kill(h.actor, no_restart=True)
        hosts = [
            {
                "host": h.index,
                "node": h.node,
                "offset_ms": h.offset_s * 1e3,
                "offset_error_ms": h.rtt_s * 1e3 / 2.0,
                "offset_after_ms": None if h.offset_after_s is None else h.offset_after_s * 1e3,
                "offset_after_error_ms": None if h.rtt_after_s is None else h.rtt_after_s * 1e3 / 2.0,
                "lost": h.lost,
            }
            for h in self.hosts
        ]
        return ended, hosts
