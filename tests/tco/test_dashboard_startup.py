"""The dashboard kernel's warm-up (``tco/jupyter/kernel_startup.py``, run as ``PYTHONSTARTUP``):
on a thread, so the kernel answers as ready at once, and not passed on to the processes the kernel
starts. The time it saves is measured in Chromium by ``bench/dashboard.py``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytest.importorskip("ipywidgets")

STARTUP = ROOT / "tco" / "jupyter" / "kernel_startup.py"


def test_the_warm_up_runs_on_a_thread_and_stops_with_the_kernel_environment():
    probe = (
        "import os, sys, threading\n"
        f"exec(open({str(STARTUP)!r}).read())\n"
        "(t,) = [t for t in threading.enumerate() if t.name == 'tco-warm-up']\n"
        "t.join()\n"
        "print('tco.dashboard' in sys.modules, 'PYTHONSTARTUP' in os.environ)\n"
    )
    env = {**os.environ, "PYTHONSTARTUP": str(STARTUP)}
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "False"]


def test_the_warm_up_leaves_a_scenario_that_does_not_load_to_the_page():
    from tco.dashboard import warm

    warm("no-such-scenario")  # the page's own run says what is wrong; the warm-up stays quiet
