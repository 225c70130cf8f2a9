"""Benchmark: multisite pooling with the site effects integrated out vs sampled as latent variables.

Prints, for ``pool_site_estimates`` (eight schools) and ``multisite_trial`` (a simulated
24-site trial, 60 students per site): wall time (compile + sampling + drawing the site
effects), minimum bulk ESS over mu, tau, the site effects and, for the trial, the intercept,
sigma and the SD of the site intercepts (median over runs, and in the worst run with the
parameter it came from), ESS per second, the marginal/latent ratio of ESS/s, divergences and
the largest r_hat. Runs alternate
(marginal, latent, marginal, latent) with the same seeds.

    PLMRESEARCH_DATA_DIR=../shared/datasets python benchmarks/multisite.py [--draws 1000 --chains 4 --repeats 2]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import arviz as az
import numpy as np
import pandas as pd

from plmresearch.models import multisite_trial, pool_site_estimates


def trial():
    rng = np.random.default_rng(2026)
    rows = []
    for j in range(24):
        t = rng.permutation(np.repeat([0, 1], 30))
        y = 50 + 8 * rng.normal() + (5 + 3 * rng.normal()) * t + 15 * rng.normal(size=60)
        rows.append(pd.DataFrame({"site": f"s{j:02d}", "treat": t, "score": y}))
    return pd.concat(rows, ignore_index=True)


def eight():
    from plmresearch.data import load_dataset

    return load_dataset("eight_schools")


# every sampled parameter and the site effects: the slowest-mixing one sets the ESS
PARAMETERS = ["mu", "tau", "theta", "a", "sigma", "sd_site_intercept"]


def measure(fn):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fn()
    wall = time.perf_counter() - t0
    idata = fit.average_effect.idata
    names = [v for v in PARAMETERS if v in idata["posterior"]]
    ess = az.ess(idata, var_names=names, method="bulk")
    rh = az.rhat(idata, var_names=names)
    worst = {v: float(np.min(ess[v].values)) for v in ess.data_vars}
    e = min(worst.values())
    r = max(float(np.max(rh[v].values)) for v in rh.data_vars)
    div = int(np.asarray(idata["sample_stats"]["diverging"].values).sum())
    return wall, e, r, div, min(worst, key=worst.get)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    print("load average (1, 5, 15 min) at start: {:.2f} {:.2f} {:.2f} on {} CPUs".format(*os.getloadavg(), os.cpu_count()))
    e8, tr = eight(), trial()
    kw = dict(draws=args.draws, tune=args.draws, chains=args.chains, random_seed=1, warn=False, sampler="pymc")
    cases = {
        "eight schools (pool_site_estimates)": lambda p: pool_site_estimates(
            e8["effect_rounded"], e8["std_error_rounded"], e8["school"], parameterization=p, **kw),
        "24-site trial (multisite_trial)": lambda p: multisite_trial(tr, "score", "treat", "site", parameterization=p, **kw),
    }
    rows = []
    for name, fn in cases.items():
        res = {"marginal": [], "noncentred": []}
        for _ in range(args.repeats):
            for p in res:
                res[p].append(measure(lambda: fn(p)))
        for p, runs in res.items():
            wall = float(np.median([r[0] for r in runs]))
            ess = float(np.median([r[1] for r in runs]))
            rows.append({"model": name, "parameterization": p, "wall_s": wall, "min_bulk_ess": ess,
                         "ess_per_s": ess / wall, "worst_run_min_ess": min(r[1] for r in runs),
                         "slowest": min(runs, key=lambda r: r[1])[4],
                         "divergences": max(r[3] for r in runs),
                         "max_r_hat": max(r[2] for r in runs)})
        m, n = rows[-2], rows[-1]
        m["x_latent"], n["x_latent"] = m["ess_per_s"] / n["ess_per_s"], 1.0
        print(pd.DataFrame(rows[-2:]).to_string(index=False, float_format=lambda x: f"{x:.3g}"), flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print("load average (1, 5, 15 min) at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"sampler: PyMC NUTS (C backend) for both; same draws ({args.draws}), tune, chains ({args.chains}) and seed; "
          f"medians of {args.repeats} alternated runs; wall time includes compiling the model.")


if __name__ == "__main__":
    main()
