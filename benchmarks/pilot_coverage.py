"""Coverage of the pilot report's design-based 95% CI over many simulated districts (prints a table).

Each design is simulated with a known true effect (plmresearch.pilot.simulate_district) and analysed with
the estimator the report uses for it (plmresearch.pilot.analysis._main_estimate). Nominal: 0.95; with
1000 trials the binomial SD of the coverage is 0.007. Trials are mapped with ``plmresearch.simulate.run``
(seeds from ``SeedSequence(0)``), here or over a Dask LocalCluster with ``--workers``.

    .venv/bin/python benchmarks/pilot_coverage.py [--trials 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from functools import partial

import pandas as pd

from plmresearch.pilot.analysis import _main_estimate
from plmresearch.pilot.config import PilotConfig
from plmresearch.pilot.demo import simulate_district
from plmresearch.simulate import run


def config_for(design: str, unit: str) -> PilotConfig:
    return PilotConfig.from_mapping({
        "data": {"file": "unused.csv"},
        "columns": {"student_id": "student_id", "school": "school", "class": "class", "treatment": "treatment",
                    "outcomes": ["posttest"], "pretests": ["pretest"], "subgroups": []},
        "design": {"type": design, "assigned_unit": unit},
    })


def trial(seed: int, *, design: str, unit: str, n_schools: int) -> dict:
    """One simulated district analysed as the report does: CI covers the truth (0/1) and its width."""
    d = simulate_district(n_schools=n_schools, classes_per_school=2, students_per_class=15, design=design,
                          true_effect=0.2, random_seed=seed)
    est, _ = _main_estimate(d.data.dropna(subset=["posttest"]), config_for(design, unit))
    return {"covered": float(est.ci_low <= d.true_effect <= est.ci_high), "width": est.ci_high - est.ci_low}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=0, help="Dask LocalCluster worker processes (0: run here)")
    args = ap.parse_args(argv)
    rows = []
    with contextlib.ExitStack() as stack:
        client = None
        if args.workers:
            from distributed import Client, LocalCluster

            cluster = stack.enter_context(LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                                       dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        for design, unit, n_schools in [("cluster_rct", "school", 6), ("cluster_rct", "school", 20),
                                        ("individual_rct", "student", 6), ("multisite", "student", 10)]:
            t0 = time.perf_counter()
            reps = run(partial(trial, design=design, unit=unit, n_schools=n_schools), args.trials, seed=0,
                       client=client, desc=f"{design}, {n_schools} schools")
            rows.append({"design": design, "schools": n_schools, "trials": args.trials,
                         "coverage": reps["covered"].mean(), "mean CI width (points)": reps["width"].mean(),
                         "seconds": time.perf_counter() - t0})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
