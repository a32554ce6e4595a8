"""Benchmark: how a probe ends against hostile servers, and how close the request timeout holds.

For each hostile route of the fault server (a server that never answers, a data line that never
ends, a flood of small events with an answer of ten million tokens asked for, a chunk-size line
that never ends) and ``--timeout`` 2 and 10 s: the error kinds, the longest request as a multiple
of the timeout (goal: within 1.1x) and the largest record line written.

``.venv/bin/python bench/hostile_servers.py``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the helpers live with the tests

from costmodel.model.endpoint import Endpoint
from tests.conftest import start_fault_server
from tests.probes.test_faults import run

ROUTES = (("hang", 8), ("endless", 8), ("flood", 10**7), ("chunkline", 8))


def main() -> None:
    proc, url = start_fault_server()
    try:
        for fault, tokens in ROUTES:
            for timeout in (2.0, 10.0):
                with tempfile.TemporaryDirectory() as folder:
                    run_dir, records, _, _ = run(
                        url,
                        Path(folder),
                        endpoint=Endpoint(base_url=f"{url}/f/{fault}/v1", model="fault-model"),
                        requests=2,
                        levels=(2,),
                        output_tokens=tokens,
                        timeout_s=timeout,
                    )
                    took = ((records["end_s"] - records["sent_s"]) / timeout).max()
                    size = max(len(line) for line in (run_dir / "requests.jsonl").read_text().splitlines())
                    kinds = ", ".join(sorted(set(records["error_kind"])))
                    print(
                        f"{fault:9s} --timeout {timeout:4g} s: {kinds}; longest {took:.2f}x the timeout; "
                        f"largest record {size:,} bytes"
                    )
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
