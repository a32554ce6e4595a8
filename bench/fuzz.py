"""Benchmark: hundreds of hostile inputs through ``tco evaluate --json`` as processes.

The same cases the fuzz test draws a few of (``tests/conftest.py``, ``fuzz_case``): hostile
``--set`` values, mutated scenario files and catalogs, bad option values. Prints how each kind
ended: a one-line error (exit 2), a sane result (exit 0, valid finite JSON), or what must never
happen (a traceback, a hang, an absurd result, any other exit), with the first few of those.

``.venv/bin/python bench/fuzz.py [--cases 555] [--seed 0] [--workers 2]``
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the cases live with the tests

from tests.conftest import fuzz_case
from tests.fuzz.test_cli_fuzz import judge, run_case


def outcome(case) -> tuple[str, str, str | None]:
    with tempfile.TemporaryDirectory() as folder:
        done = run_case(case, Path(folder))
    problem = judge(done)
    if problem is None:
        return case[0], "sane result" if done.returncode == 0 else "one-line error", None
    return case[0], problem.split(":")[0], problem


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=555)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cases = [fuzz_case(rng) for _ in range(args.cases)]
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(outcome, cases))
    by = Counter((kind, how) for kind, how, _ in results)
    print(f"{args.cases} cases (seed {args.seed}):")
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
