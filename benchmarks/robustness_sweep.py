"""The large robustness sweep (issue 18): tests/robustness with many hypothesis draws per function.

Runs pytest on ``tests/robustness`` with ``PLM_SWEEP_EXAMPLES`` draws per public function (the
suite's default is small, so it runs in seconds) and prints the outcome classes per sweep and
per function (error / result / result+note); any raw exception, silent non-finite result,
message that names nothing, or modified input fails the run and is listed by pytest.

``--grid`` instead runs the effects/causal sweep deterministically: every public function x every
argument x every listed bad value of its kind (tests/robustness/test_sweep_effects_causal.py), plus
the hand-written cases, and prints the failures by class (raw exception, silent non-finite result,
message naming nothing) -- the before/after table of issue 18 (run it with PYTHONPATH pointing at
an older checkout to count what that version gets wrong).

Run: .venv/bin/python benchmarks/robustness_sweep.py [--examples 200] [-k EXPR] [--grid]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def grid() -> int:
    """The deterministic grid of the effects/causal sweep; prints counts by outcome and failure class."""
    import collections
    import tempfile
    import warnings

    sys.path.insert(0, str(ROOT / "tests"))
    import pandas as pd
    from robustness import harness
    from robustness import test_sweep_effects_causal as m

    lists = {m.N: m.BAD_NUMBERS, m.CNT: m.BAD_NUMBERS, m.P: m.BAD_NUMBERS, m.COST: m.BAD_NUMBERS,
             m.LEVEL: [0.0, 1.0, 95, "0.95", None], m.C: m.BAD_CHOICES, m.SEED: m.BAD_SEEDS, m.BOOL: m.BAD_BOOLS,
             m.ARR: m.BAD_ARRAYS, m.RES: m.BAD_RESULTS}
    failures: list[tuple[str, str]] = []

    def run(name, fn, kwargs, names, allow_nan=()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return harness.outcome(m.SWEEP, fn, names=names, allow_nan=allow_nan, **kwargs)
            except AssertionError as err:
                failures.append((name, str(err).splitlines()[0]))
            finally:
                m.plt.close("all")

    for name, entry in sorted(m.ENTRIES.items()):
        frame_arg = next((a for a in ("df", "data") if a in entry.base()), None)
        for arg, kind in entry.kinds.items():
            if kind in lists:
                plan = [("value", v) for v in lists[kind]]
            elif kind == m.DF:
                plan = [("frame", how) for how in m.FRAMES]
            else:
                plan = [("value", v) for v in m.COLUMN_NAMES] + [("content", how) for how in m.CONTENT]
            for what, v in plan:
                kw, names = entry.base(), [arg]
                if what == "frame":
                    kw[arg] = m._mutate_frame(kw[arg], v) if isinstance(kw.get(arg), pd.DataFrame) else v
                    names += ["data", "frame", "rows", "row"] + [x for k, x in kw.items()
                                                                  if entry.kinds.get(k) in (m.COL, m.COLS)
                                                                  and isinstance(x, str)]
                    names += [c for k, x in kw.items() if entry.kinds.get(k) == m.COLS and isinstance(x, list)
                              for c in x]
                elif what == "content":
                    cols = [kw[arg]] if isinstance(kw.get(arg), str) else list(kw.get(arg) or [])
                    if frame_arg is None or not cols:
                        continue
                    kw[frame_arg] = m._mutate_content(kw[frame_arg], cols[0], v)
                    names.append(cols[0])
                else:
                    kw[arg] = v
                    if isinstance(v, str) and v == "nope":
                        names.append("nope")
                run(name, entry.fn, kw, names, entry.allow_nan)
    n_grid = sum(harness.COUNTS.get(m.SWEEP, {}).values()) + len(failures)
    wrong_class = 0
    for name, case in sorted(m.CASES.items()):
        kind = run(name, case.fn, case.kwargs(Path(tempfile.mkdtemp())), case.names, case.allow_nan)
        if kind is not None and kind != case.expect:
            failures.append((name, f"silent: expected {case.expect}, got {kind}"))
            wrong_class += 1
    classes = collections.Counter(
        "raw exception" if "raised raw" in msg else "silent (non-finite, no note)" if "non-finite" in msg
        else "silent (wrong outcome class)" if msg.startswith("silent") else "unclear message" if "does not name" in msg
        else "input modified" if "modified" in msg else "other" for _, msg in failures)
    print(f"grid: {n_grid} cases over {len(m.ENTRIES)} functions; hand-written: {len(m.CASES)} cases")
    print(f"outcome classes: {dict(harness.COUNTS.get(m.SWEEP, {}))}")
    print(f"failures: {len(failures)} {dict(classes)}")
    print(f"functions with a failure: {len({n for n, _ in failures})}")
    for name, msg in failures[:40]:
        print(f"  {name}: {msg[:160]}")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=200, help="hypothesis draws per function (default 200)")
    ap.add_argument("-k", default=None, help="pytest -k expression, e.g. 'effects_causal'")
    ap.add_argument("--grid", action="store_true", help="the deterministic effects/causal grid with failure classes")
    args = ap.parse_args()
    if args.grid:
        os.environ.setdefault("MPLBACKEND", "Agg")
        return grid()
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
