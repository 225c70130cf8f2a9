"""Benchmark: multilevel fits on High School and Beyond and Project STAR kindergarten.

Prints, per data set and engine: wall time to fit (compile + sampling + drawing the
group effects), minimum bulk ESS over the fixed effects, group SDs and sigma, bulk ESS
per second of wall time, that rate as a multiple of bambi's (``x_bambi``), and the
largest r_hat. Engines: plmresearch's Bayesian fit (nutpie when installed) with the
group effects integrated out (the default) and sampled non-centred, bambi with its
default settings (PyMC NUTS; note that bambi's default ``(cses | school)`` has no
intercept-slope correlation, ours has one), and statsmodels MixedLM via plmresearch (REML).

Target (issue 5): plmresearch's Bayesian fit >= 2x bambi's bulk ESS/s, all r_hat <= 1.01.

    PLMRESEARCH_DATA_DIR=../shared/datasets python benchmarks/multilevel.py [--draws 1000 --chains 4]
"""

from __future__ import annotations

import argparse
import time
import warnings

import arviz as az
import numpy as np
import pandas as pd

from plmresearch.models import default_sampler, multilevel


def load(name):
    import plmresearch

    loader = getattr(plmresearch, "load_dataset", None)
    if loader is None:
        from plmresearch.data import load_dataset as loader
    return loader(name)


def datasets():
    hsb = load("hsb")
    s = load("star_long")
    k = s[(s["grade"] == "K") & s["math"].notna()].copy()
    k["small"] = (k["class_type"] == "small").astype(int)
    k["aide"] = (k["class_type"] == "regular+aide").astype(int)
    k["school"] = k["school"].astype(str)
    k["teacher"] = k["teacher"].astype(str)
    k["klass"] = k["school"] + ":" + k["teacher"]
    return {
        "HSB (cses | school)": (hsb, "mathach ~ cses + (1 + cses | school)", "mathach ~ cses + (cses | school)",
                                ["Intercept", "cses"]),
        "STAR K (school/class)": (k[["math", "small", "aide", "school", "klass"]],
                                  "math ~ small + aide + (1 | school) + (1 | klass)",
                                  "math ~ small + aide + (1 | school) + (1 | klass)", ["Intercept", "small", "aide"]),
    }


def ess_rhat(idata, var_names):
    ess = az.ess(idata, var_names=var_names, method="bulk")
    rh = az.rhat(idata, var_names=var_names)
    e = min(float(np.min(ess[v].values)) for v in ess.data_vars)
    r = max(float(np.max(rh[v].values)) for v in rh.data_vars)
    return e, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--skip-bambi", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for label, (data, formula, bambi_formula, _fixed) in datasets().items():
        t = time.perf_counter()
        f = multilevel(formula, data)
        rows.append({"data": label, "engine": "statsmodels MixedLM (REML, guarded)", "seconds": time.perf_counter() - t,
                     "min_bulk_ess": np.nan, "ess_per_s": np.nan, "max_r_hat": np.nan, "note": f"optimizer {f.optimizer}"})
        for par in ("marginal", "noncentred"):
            t = time.perf_counter()
            b = multilevel(formula, data, engine="bayes", draws=args.draws, tune=args.tune, chains=args.chains,
                           random_seed=1, posterior_predictive=False, warn=False, parameterization=par)
            sec = time.perf_counter() - t
            sds = [v for v in b.idata["posterior"].data_vars if v.startswith("sd_")]
            e, r = ess_rhat(b.idata, ["fixed", "sigma", *sds])
            rows.append({"data": label, "engine": f"plmresearch bayes, {par} ({b.sampler})", "seconds": sec,
                         "min_bulk_ess": e, "ess_per_s": e / sec, "max_r_hat": r,
                         "note": f"divergences {b.n_divergences}"})
        if not args.skip_bambi:
            import bambi as bmb

            t = time.perf_counter()
            m = bmb.Model(bambi_formula, data)
            idata = m.fit(draws=args.draws, tune=args.tune, chains=args.chains, random_seed=1, progressbar=False)
            sec = time.perf_counter() - t
            post = idata["posterior"] if hasattr(idata, "children") else idata.posterior
            names = [v for v in post.data_vars if not v.endswith("_offset") and "|" not in v or v.endswith("_sigma")]
            names = [v for v in names if post[v].ndim <= 3 and "mu" != v]
            e, r = ess_rhat(idata, names)
            rows.append({"data": label, "engine": "bambi defaults (PyMC NUTS)", "seconds": sec, "min_bulk_ess": e,
                         "ess_per_s": e / sec, "max_r_hat": r, "note": ""})
    out = pd.DataFrame(rows)
    bambi_rate = out[out["engine"].str.startswith("bambi")].set_index("data")["ess_per_s"]
    out["x_bambi"] = out["ess_per_s"] / out["data"].map(bambi_rate)
    pd.set_option("display.width", 160)
    print(f"draws {args.draws}, tune {args.tune}, chains {args.chains}; nutpie installed: {default_sampler() == 'nutpie'}")
    print(out.to_string(index=False, formatters={"max_r_hat": "{:.4f}".format},
                        float_format=lambda x: f"{x:.3g}"))
    ok = out["engine"].str.contains("marginal")
    print("target (issue 5): marginal x_bambi >= 2 and max_r_hat <= 1.01 ->",
          "met" if bool((out.loc[ok, "x_bambi"] >= 2).all() and (out.loc[ok, "max_r_hat"] <= 1.01).all()) else "MISSED")


if __name__ == "__main__":
    main()
