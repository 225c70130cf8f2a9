"""Coverage of the cluster-robust (CR2, Bell-McCaffrey df) 95% CI in simulated cluster-randomized trials.

Acceptance item 3 of issue 4: over >= 500 simulated trials with a known effect, the CI must
cover the truth between 93% and 97% of the time. The trials are mapped with
``plmresearch.simulate.run`` (here, or over a Dask LocalCluster with ``--workers``; the table is
the same either way, and equals ``causal.simulate.cluster_coverage``). Prints one table; run with

    .venv/bin/python benchmarks/cluster_coverage.py [n_sims] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from functools import partial

import pandas as pd

from plmresearch.causal.simulate import coverage_trial, summarize_coverage
from plmresearch.simulate import run

SCENARIOS = [
    # (clusters, min size, max size, icc)
    (10, 5, 30, 0.20),
    (20, 5, 30, 0.20),
    (20, 5, 30, 0.05),
    (40, 5, 30, 0.20),
    (20, 2, 60, 0.30),
]


def main(n_sims: int = 1000, workers: int = 0) -> pd.DataFrame:
    with contextlib.ExitStack() as stack:
        client = None
        if workers:
            from distributed import Client, LocalCluster

            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        rows = []
        for j, lo, hi, icc in SCENARIOS:
            t0 = time.perf_counter()
            trial = partial(coverage_trial, n_clusters=j, min_size=lo, max_size=hi, icc=icc, effect=0.25,
                            include_naive=True)
            reps = run(trial, n_sims, seed=1000 + j, client=client, desc=f"J={j}, icc={icc}")
            tab = summarize_coverage(reps, 0.25)
            tab.insert(0, "scenario", f"J={j}, n_j~U[{lo},{hi}], icc={icc}")
            tab["seconds"] = time.perf_counter() - t0
            rows.append(tab)
    out = pd.concat(rows, ignore_index=True)
    out["in_93_97"] = out.coverage.between(0.93, 0.97)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(out.round(4).to_string(index=False))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_sims", nargs="?", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=0, help="Dask LocalCluster worker processes (0: run here)")
    args = ap.parse_args()
    main(args.n_sims, args.workers)
