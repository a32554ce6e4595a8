"""Servers end with their parent: SIGTERM to ``tco dashboard`` or ``tco lab`` (as a service manager
or a container stop sends it, to that process alone) leaves no process behind, kernels included,
and the port stops answering. ``tco serve-local``'s own check is in tests/integration (real vLLM)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, free_port, start_dashboard


def _wait(predicate, what: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc is None or proc.poll() is None, f"exited before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.3)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _kernels(pid: int) -> list[psutil.Process]:
    out = []
    for p in psutil.Process(pid).children(recursive=True):
        try:
            if "ipykernel" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


def _stop_and_count(proc: subprocess.Popen, port: int) -> tuple[int, list[int]]:
    """SIGTERM to the command alone; (processes below it before, pids still alive after)."""
    below = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    _, alive = psutil.wait_procs(below, timeout=20)
    assert not _listening(port)
    return len(below), [p.pid for p in alive]


def test_supervise_ends_orphans_in_their_own_session(tmp_path):
    """A server that starts a worker in a session of its own (as jupyter starts kernels) and is
    killed: the worker is reparented to the supervisor, which ends it."""
    server = tmp_path / "server.py"
    server.write_text(
        textwrap.dedent(
            """
            import subprocess, sys, time
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
            print("up", flush=True)
            time.sleep(600)
            """
        )
    )
    runner = (
        f"from probes.processes import supervise; import sys; sys.exit(supervise([sys.executable, {str(server)!r}]))"
    )
    with subprocess.Popen([sys.executable, "-c", runner], cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout.readline().strip() == "up"
        _wait(lambda: len(psutil.Process(proc.pid).children(recursive=True)) >= 2, "worker")
        below = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 128 + signal.SIGTERM
    _, alive = psutil.wait_procs(below, timeout=10)
    assert not alive, [p.pid for p in alive]


def test_sigterm_to_the_dashboard_leaves_no_process(tmp_path):
    proc, port = start_dashboard(tmp_path / "voila.log")
    try:
        _wait(lambda: _listening(port), "port", proc=proc)
        # a page load starts a kernel (Voila streams the page while the kernel runs the notebook)
        reader = subprocess.Popen(
            [sys.executable, "-c", f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/').read()"],
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _kernels(proc.pid), "kernel", proc=proc)
        count, alive = _stop_and_count(proc, port)
        reader.kill()
        reader.wait()
        print(f"dashboard: {count} processes below tco before SIGTERM, {len(alive)} after")
        assert count >= 2 and not alive, (count, alive, (tmp_path / "voila.log").read_text()[-2000:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_closed_pages_kernel_is_culled(tmp_path):
    proc, port = start_dashboard(tmp_path / "voila.log", "--cull-idle-s", "3")
    try:
        _wait(lambda: _listening(port), "port", proc=proc)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=120).read().decode()  # whole page
        assert "voila_finish" in page  # the notebook ran to the end
        assert _kernels(proc.pid)
        _wait(lambda: not _kernels(proc.pid), "culling of the closed page's kernel", timeout=60, proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def test_sigterm_to_lab_leaves_no_process_and_no_checkpoints_in_the_checkout(tmp_path):
    port = free_port()
    cache = tmp_path / "cache"
    log_path = tmp_path / "lab.log"
    checkpoints = ROOT / "notebooks" / ".ipynb_checkpoints"
    existed = checkpoints.exists()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tco", "lab", "--port", str(port), "--no-browser"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "XDG_CACHE_HOME": str(cache)},
        )
    try:
        token: list[str] = []

        def have_token() -> bool:
            found = re.search(rf"127\.0\.0\.1:{port}/lab\?token=(\w+)", log_path.read_text(errors="replace"))
            if found:
                token.append(found.group(1))
            return bool(found)

        _wait(have_token, "JupyterLab's URL with its token", proc=proc)
        # the URL is logged before the server binds its port (jupyter_server binds on the loop's first turn)
        _wait(lambda: _listening(port), "port", proc=proc)
        headers = {"Authorization": f"token {token[0]}"}
        base = f"http://127.0.0.1:{port}/api"
        urllib.request.urlopen(urllib.request.Request(f"{base}/kernels", data=b"{}", headers=headers), timeout=30)
        name = "1.01-explore-build-vs-buy.ipynb"
        made = urllib.request.urlopen(
            urllib.request.Request(f"{base}/contents/{name}/checkpoints", data=b"", headers=headers), timeout=30
        )
        assert json.loads(made.read())["id"]
        _wait(lambda: _kernels(proc.pid), "kernel", proc=proc)
        count, alive = _stop_and_count(proc, port)
        print(f"lab: {count} processes below tco before SIGTERM, {len(alive)} after")
        assert count >= 2 and not alive, (count, alive, log_path.read_text()[-2000:])
        assert list(cache.rglob(f"{Path(name).stem}-checkpoint.ipynb"))  # kept outside the checkout
        assert checkpoints.exists() == existed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="runs as root only")
def test_lab_as_root_passes_allow_root():
    from tco.cli import _root_flags

    assert _root_flags() == ["--allow-root"]
