"""Coverage of the pilot report's design-based 95% CI over many simulated districts (prints a table).

Each design is simulated with a known true effect (plmresearch.pilot.simulate_district) and analysed with
the estimator the report uses for it (plmresearch.pilot.analysis._main_estimate). Nominal: 0.95; with
1000 trials the binomial SD of the coverage is 0.007.

    .venv/bin/python benchmarks/pilot_coverage.py [--trials 1000]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from plmresearch.pilot.analysis import _main_estimate
from plmresearch.pilot.config import PilotConfig
from plmresearch.pilot.demo import simulate_district
from plmresearch.progress import progress_bar


def config_for(design: str, unit: str) -> PilotConfig:
    return PilotConfig.from_mapping({
        "data": {"file": "unused.csv"},
        "columns": {"student_id": "student_id", "school": "school", "class": "class", "treatment": "treatment",
                    "outcomes": ["posttest"], "pretests": ["pretest"], "subgroups": []},
        "design": {"type": design, "assigned_unit": unit},
    })


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    args = ap.parse_args(argv)
    rows = []
    for design, unit, n_schools in [("cluster_rct", "school", 6), ("cluster_rct", "school", 20),
                                    ("individual_rct", "student", 6), ("multisite", "student", 10)]:
        cfg = config_for(design, unit)
        t0, hits, widths = time.perf_counter(), 0, []
        for seed in progress_bar(range(args.trials), desc=f"{design}, {n_schools} schools", unit="trial"):
            d = simulate_district(n_schools=n_schools, classes_per_school=2, students_per_class=15, design=design,
                                  true_effect=0.2, random_seed=seed)
            est, _ = _main_estimate(d.data.dropna(subset=["posttest"]), cfg)
            hits += est.ci_low <= d.true_effect <= est.ci_high
            widths.append(est.ci_high - est.ci_low)
        rows.append({"design": design, "schools": n_schools, "trials": args.trials, "coverage": hits / args.trials,
                     "mean CI width (points)": sum(widths) / len(widths), "seconds": time.perf_counter() - t0})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
