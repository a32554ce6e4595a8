"""Servers that end with their parent: ``tco dashboard``, ``tco lab`` and ``tco serve-local``.

A server started by a command (Voila, JupyterLab, vLLM) starts processes of its own (kernels in
their own sessions, engine workers). Killing the command used to leave them running, reparented
to PID 1, the port still answering. :func:`supervise` makes the command a child subreaper (Linux),
so that whatever its server leaves behind is reparented to it instead; on SIGTERM, SIGINT or
SIGHUP it asks the server to stop (SIGTERM to its process group), gives it ``grace_s`` to shut its
kernels down, then ends every process still below it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from types import FrameType

import psutil

PR_SET_CHILD_SUBREAPER = 36
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Stopped(Exception):
    """The supervising command was asked to stop (the signal's number in ``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def become_subreaper() -> bool:
    """Orphaned descendants are reparented to this process instead of PID 1 (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return False


def stop_tree(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Ask ``proc`` (the leader of its own session) to stop, wait ``grace_s``, then end every
    process still below this one: the server's own and any orphan reparented here."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    left = psutil.Process().children(recursive=True)
    for p in left:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(left, timeout=5)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)


@contextlib.contextmanager
def supervised(cmd: Sequence[str], grace_s: float = 10.0, **popen: object) -> Iterator[subprocess.Popen]:
    """Start ``cmd`` in its own session; SIGTERM, SIGINT and SIGHUP raise :class:`Stopped` in the
    ``with`` block; on leaving it, nothing ``cmd`` started is left running."""
    become_subreaper()

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    proc = None
    try:
        proc = subprocess.Popen(list(cmd), start_new_session=True, **popen)  # type: ignore[call-overload]
        yield proc
    finally:
        for s in STOP_SIGNALS:  # a second signal while stopping must not cut the clean-up short
            signal.signal(s, signal.SIG_IGN)
        if proc is not None:
            stop_tree(proc, grace_s)
        for s, handler in previous.items():
            signal.signal(s, handler)


def supervise(cmd: Sequence[str], grace_s: float = 10.0, **popen: object) -> int:
    """Run ``cmd`` until it exits or this process is asked to stop; either way nothing it started
    outlives this call. Returns its exit status, or 128 + the signal that stopped this one."""
    try:
        with supervised(cmd, grace_s, **popen) as proc:
            return proc.wait()
    except Stopped as e:
        return 128 + e.signum
