"""Benchmark: hundreds of hostile inputs through ``tco evaluate --json`` as processes, then
``tco probe`` against every hostile route of the fault server.

The same cases the fuzz test draws a few of (``tests/conftest.py``, ``fuzz_case``): hostile
``--set`` values, mutated scenario files and catalogs, YAML alias bombs (in a scenario, under an
``x-`` key, in a catalog, an alias inside itself, inside ``--set``), bad option values; then
hostile servers (429s, 500s, hangs, cut streams, floods, endless lines, echoed keys). Prints how each kind
ended: a one-line error (exit 2), a sane result (exit 0, valid finite JSON), or what must never
happen (a traceback, a hang, an absurd result, any other exit), with the first few of those.

``.venv/bin/python bench/fuzz.py [--cases 555] [--server-cases 52] [--seed 0] [--workers 2]``
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the cases live with the tests

from tests.conftest import ROOT, fuzz_case, start_fault_server
from tests.fuzz.test_cli_fuzz import judge, run_case


def outcome(case) -> tuple[str, str, str | None]:
    with tempfile.TemporaryDirectory() as folder:
        done = run_case(case, Path(folder))
    problem = judge(done)
    if problem is None:
        return case[0], "sane result" if done.returncode == 0 else "one-line error", None
    return case[0], problem.split(":")[0], problem


SERVER_FAULTS = (
    "http429",
    "http500",
    "hang",
    "cut:3",
    "sse_error:2",
    "malformed:2",
    "reasoning:2",
    "endless",
    "flood",
    "chunkline",
    "escape",
    "echo-key",
    "models-html",
)


def server_outcome(url: str, fault: str, rng: random.Random, folder: Path) -> tuple[str, str, str | None]:
    """``tco probe`` against one hostile route: it must end (exit 0, 1 or 2), within a minute, with
    no traceback."""
    args = [
        sys.executable,
        "-m",
        "tco",
        "probe",
        "--base-url",
        f"{url}/f/{fault}/v1",
        "--model",
        "fault-model",
        "--requests",
        str(rng.choice([1, 3, 6])),
        "--concurrency",
        str(rng.choice([1, 2, 8])),
        "--output-tokens",
        str(rng.choice([1, 8, 64, 100000])),
        "--timeout",
        str(rng.choice([0.5, 2])),
        "--out",
        str(folder),
    ]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return "server", "hang", f"{fault}: no end within 60 s"
    if "Traceback" in done.stderr:
        return "server", "traceback", f"{fault}: {done.stderr[-300:]}"
    if done.returncode not in (0, 1, 2):
        return "server", f"exit {done.returncode}", f"{fault}: {done.stderr[-300:]}"
    return "server", "ended cleanly", None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=555)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--server-cases", type=int, default=52, help="tco probe runs against hostile server routes")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cases = [fuzz_case(rng) for _ in range(args.cases)]
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(outcome, cases))
    proc, url = start_fault_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            for i in range(args.server_cases):
                fault = SERVER_FAULTS[i % len(SERVER_FAULTS)]
                results.append(server_outcome(url, fault, rng, Path(folder) / str(i)))
                cases.append(("server", [fault], {}))
    finally:
        proc.terminate()
        proc.wait()
    by = Counter((kind, how) for kind, how, _ in results)
    print(f"{len(results)} cases (seed {args.seed}): {args.cases} through tco evaluate, {args.server_cases} tco probe")
    for (kind, how), n in sorted(by.items()):
        print(f"  {kind:8s} {how:16s} {n:5d}")
    totals = Counter(how for _, how, _ in results)
    print("totals: " + ", ".join(f"{how} {n}" for how, n in sorted(totals.items())))
    bad = [(c, p) for c, (_, _, p) in zip(cases, results, strict=True) if p]
    for case, problem in bad[:10]:
        print(f"  {case[0]} {case[1]}: {problem[:300]}")
    print(
        f"tracebacks {totals['traceback']}, hangs {totals['hang']}, absurd {totals['absurd']}, "
        f"other {sum(n for how, n in totals.items() if how.startswith(('exit', 'not JSON')))}"
    )


if __name__ == "__main__":
    main()
