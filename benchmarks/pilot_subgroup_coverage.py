"""Coverage of the pilot's subgroup intervals and size of its heterogeneity test, homogeneous effect.

Simulates districts whose program effect is the same for every student
(:func:`plmresearch.pilot.simulate_district`, ``effect_sd_across_schools=0``), fits the
report's subgroup model (treatment x subgroup interactions with the main effect's design,
:mod:`plmresearch.pilot.subgroups`) and prints, per design, the share of subgroup intervals
that cover the true effect and the share of joint heterogeneity tests that reject at 5 %.

    python benchmarks/pilot_subgroup_coverage.py [N_SEEDS]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from plmresearch.pilot import simulate_district
from plmresearch.pilot.subgroups import SubgroupDesign, subgroup_effects

DESIGNS = {
    "cluster_rct": (dict(n_schools=12, classes_per_school=2, students_per_class=20),
                    SubgroupDesign(("pretest",), True, "school", None)),
    "individual_rct": (dict(n_schools=6, classes_per_school=4, students_per_class=20),
                       SubgroupDesign(("pretest",), True, None, None)),
    "multisite": (dict(n_schools=8, classes_per_school=3, students_per_class=20),
                  SubgroupDesign(("pretest",), False, None, "school")),
}


def run(design: str, seeds: int, ci_level: float = 0.95) -> dict:
    sizes, sd = DESIGNS[design]
    covered = total = rejected = tests = 0
    for seed in range(seeds):
        dist = simulate_district(design=design, true_effect=0.2, random_seed=seed, **sizes)
        df = dist.data.dropna(subset=["posttest"])
        tab, het = subgroup_effects(df, "posttest", "treatment", ["frl", "gender", "sped"], sd,
                                    ci_level=ci_level, min_cell=10)
        ok = tab["estimate"].notna()
        covered += int(((tab.loc[ok, "ci_low"] <= dist.true_effect) & (dist.true_effect <= tab.loc[ok, "ci_high"])).sum())
        total += int(ok.sum())
        h = het["p_value"].dropna()
        rejected += int((h < 0.05).sum())
        tests += len(h)
    return {"design": design, "intervals": total, "coverage": covered / total, "tests": tests,
            "rejection_rate": rejected / tests}


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(f"{'design':<16}{'intervals':>10}{'coverage':>10}{'tests':>8}{'reject@5%':>11}{'seconds':>9}")
    for d in DESIGNS:
        t0 = time.perf_counter()
        r = run(d, n)
        print(f"{d:<16}{r['intervals']:>10}{r['coverage']:>10.3f}{r['tests']:>8}{r['rejection_rate']:>11.3f}"
              f"{time.perf_counter() - t0:>9.1f}")
    print(f"(nominal coverage 0.950, nominal rejection 0.050; {n} simulated districts per design)")
