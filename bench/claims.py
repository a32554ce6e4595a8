"""How long `tco claims` takes to check and render the seven claims (target: under 30 s, offline).

Prints the time to check the claims in process (the engine's share) and the time of the whole
command (papermill kernel, nbconvert) on the bundled scenario.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tco.claims import CLAIMS_DRAWS, prepare

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "data" / "scenarios" / "fintech-rag.yaml"


def main() -> None:
    t0 = time.perf_counter()
    ctx = prepare(SCENARIO, draws=CLAIMS_DRAWS)
    check_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "claims.html"
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tco", "claims", "--scenario", str(SCENARIO), "-o", str(out)],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        render_s = time.perf_counter() - t0
        size_mb = out.stat().st_size / 1e6
    print(f"claims checked: {len(ctx.claims)} claims, {sum(len(c.findings) for c in ctx.claims)} findings")
    print(f"check in process ({CLAIMS_DRAWS:,} Monte Carlo draws): {check_s:.2f} s")
    print(f"tco claims, whole command (kernel start, notebook, nbconvert): {render_s:.1f} s (target < 30 s)")
    print(f"HTML size: {size_mb:.1f} MB (plotly.js embedded)")


if __name__ == "__main__":
    main()
