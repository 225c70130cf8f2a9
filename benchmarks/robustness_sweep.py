"""The large robustness sweep (issue 18): tests/robustness with many hypothesis draws per function.

Runs pytest on ``tests/robustness`` with ``PLM_SWEEP_EXAMPLES`` draws per public function (the
suite's default is small, so it runs in seconds) and prints the outcome classes per sweep and
per function (error / result / result+note); any raw exception, silent non-finite result,
message that names nothing, or modified input fails the run and is listed by pytest.

Run: .venv/bin/python benchmarks/robustness_sweep.py [--examples 200] [-k EXPR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=200, help="hypothesis draws per function (default 200)")
    ap.add_argument("-k", default=None, help="pytest -k expression, e.g. 'effects_causal'")
    args = ap.parse_args()
    env = os.environ | {"PLM_SWEEP_EXAMPLES": str(args.examples), "PLM_SWEEP_TABLE": "1", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=line", "tests/robustness"]
    if args.k:
        cmd += ["-k", args.k]
    load = os.getloadavg()
    print(f"PLM_SWEEP_EXAMPLES={args.examples}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    out = done.stdout.splitlines()
    start = next((i for i, line in enumerate(out) if "robustness sweep outcomes" in line), None)
    failures = [line for line in out if line.startswith(("FAILED", "ERROR")) or ": AssertionError" in line]
    print("\n".join(out[start:] if start is not None else out[-40:]))
    if failures:
        print(f"\n{len(failures)} failure line(s):")
        print("\n".join(failures[:60]))
    print(f"\npytest exit status {done.returncode}; {secs:.0f} s wall")
    if done.returncode not in (0, 1):
        print(done.stderr[-3000:], file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
