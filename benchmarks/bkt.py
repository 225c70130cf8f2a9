"""BKT fit time and held-out AUC: plmresearch.mastery vs compiled pyBKT, and a 10M-response fit.

Protocol (Khajah, Lindsey & Mozer 2016; pyBKT-examples ``BasicForgets.py``): the
ASSISTments 2009-10 skill-builder split of Piech et al. (2015); one BKT model per
skill fitted on the train students (3,361 students, 407,967 responses), 20 EM
restarts per skill; pooled AUC over every response of the test students (856,
117,567 responses; the single test response on skill 64, which never occurs in
train, is dropped for both packages). Student ids are unique (the pyBKT-examples
``user_id`` = sequence-length bug is not reproduced). Wall times cover the fit only.

Usage::

    PLMRESEARCH_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/bkt.py [--pybkt-python PATH]
        [--threads 2] [--repeat 3] [--skip-10m]

pyBKT is driven in a subprocess through ``--pybkt-python`` or the environment
variable ``PYBKT_PYTHON``: the python of a separate, benchmark-only environment
with pyBKT's compiled C++/OpenMP extension. Its pure-Python wheel is ~35x slower
and is not a fair comparison. Build that environment once (needs g++; pyBKT 1.4.3
needs numpy < 2)::

    python3 -m venv /tmp/pybkt-venv
    /tmp/pybkt-venv/bin/pip install "numpy<2" "pandas<2.2" "scikit-learn<1.5" requests setuptools wheel
    /tmp/pybkt-venv/bin/pip download --no-deps --no-binary :all: pyBKT==1.4.3 -d /tmp/pybkt-src
    cd /tmp/pybkt-src && tar xzf pybkt-1.4.3.tar.gz && cd pybkt-1.4.3
    /tmp/pybkt-venv/bin/pip install --no-build-isolation .
    # check: /tmp/pybkt-venv/bin/python -c "import pyBKT.fit.E_step"  (a .so, not the .py fallback)

Published values (``../shared/references/reproduction_targets.md`` section 7):
BKT 0.73 (Khajah et al. 2016), 0.76 (pyBKT README); BKT+forgets 0.83 (both).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

PUBLISHED = {False: "0.73 (Khajah) / 0.76 (pyBKT README)", True: "0.83 (Khajah, pyBKT README)"}

PYBKT_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    import numpy as np, pandas as pd
    from sklearn.metrics import roc_auc_score
    from pyBKT.models import Model
    import pyBKT.fit.E_step as E
    train = pd.read_csv(sys.argv[1]); test = pd.read_csv(sys.argv[2])
    out = {"compiled": E.__file__.endswith(".so")}
    repeat = int(sys.argv[3])
    for forgets in (False, True):
        times = []
        for _ in range(repeat):
            m = Model(seed=0, num_fits=20, parallel=True)
            t = time.perf_counter(); m.fit(data=train, forgets=forgets); times.append(time.perf_counter() - t)
        el = min(times)
        pred = m.predict(data=test)
        y, p = pred["correct"].to_numpy(), pred["correct_predictions"].to_numpy()
        out[str(forgets)] = {"fit_s": el, "auc": roc_auc_score(y, p),
                             "rmse": float(np.sqrt(np.mean((y - p) ** 2))), "n": int(len(y))}
    print(json.dumps(out))
    """
)


def load_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    import plmresearch

    d = plmresearch.load_dataset("assistments_2009")
    train = d[d["split"] == "train"].reset_index(drop=True)
    test = d[d["split"] == "test"]
    test = test[test["skill"].isin(train["skill"])].reset_index(drop=True)
    return train, test


def run_ours(train, test, threads: int, repeat: int) -> dict:
    from plmresearch.mastery import fit_bkt

    fit_bkt(train[train["skill"] == train["skill"].iloc[0]], order="position", n_restarts=1)  # JIT warm-up
    rows = {}
    for forgets in (False, True):
        for conv in ("loglik", "pybkt"):
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                m = fit_bkt(train, order="position", forgets=forgets, n_restarts=20, random_seed=0,
                            n_jobs=threads, convergence=conv)
                times.append(time.perf_counter() - t)
            el = min(times)
            ev = m.evaluate(test, by_skill=False).loc["overall"]
            rows[(forgets, conv)] = {"fit_s": el, "auc": ev["auc"], "rmse": ev["rmse"], "n": int(ev["n"]),
                                     "mean_iter": float(m.params["n_iter"].mean())}
    return rows


def run_pybkt(python: str, train, test, threads: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        for name, d in (("train", train), ("test", test)):
            pd.DataFrame({"order_id": np.arange(len(d)), "user_id": d["student"], "skill_name": d["skill"],
                          "correct": d["correct"]}).to_csv(Path(tmp) / f"{name}.csv", index=False)
        script = Path(tmp) / "run_pybkt.py"
        script.write_text(PYBKT_SCRIPT)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        res = subprocess.run([python, str(script), str(Path(tmp) / "train.csv"), str(Path(tmp) / "test.csv"),
                              str(repeat)],
                             capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"pyBKT run failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_10m(threads: int) -> pd.DataFrame:
    from plmresearch.mastery import fit_bkt, simulate_responses

    rng = np.random.default_rng(0)
    k = 100
    truth = pd.DataFrame({"prior": rng.uniform(0.1, 0.5, k), "learn": rng.uniform(0.05, 0.3, k),
                          "guess": rng.uniform(0.1, 0.3, k), "slip": rng.uniform(0.05, 0.2, k)},
                         index=pd.Index([f"s{i:03d}" for i in range(k)], name="skill"))
    t = time.perf_counter()
    df = simulate_responses(truth, n_students=1000, n_opportunities=100, random_seed=1)
    sim_s = time.perf_counter() - t
    rows = []
    for restarts in (1, 5):
        t = time.perf_counter()
        m = fit_bkt(df, n_restarts=restarts, n_jobs=threads)
        el = time.perf_counter() - t
        err = (m.params[["prior", "learn", "guess", "slip"]] - truth).abs().max()
        rows.append({"responses": len(df), "skills": k, "restarts": restarts, "threads": threads,
                     "simulate_s": round(sim_s, 1), "fit_s": round(el, 1),
                     "max_abs_err_learn": round(err["learn"], 3), "max_abs_err_slip": round(err["slip"], 3)})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pybkt-python", default=os.environ.get("PYBKT_PYTHON"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-10m", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each fit this many times and report the fastest (the machine is shared)")
    args = ap.parse_args(argv)

    train, test = load_split()
    print(f"ASSISTments 2009 (Piech split): train {train.student.nunique()} students / {len(train)} responses, "
          f"{train.skill.nunique()} skills; test {test.student.nunique()} students / {len(test)} responses")
    ours = run_ours(train, test, args.threads, args.repeat)
    theirs = None
    if args.pybkt_python:
        theirs = run_pybkt(args.pybkt_python, train, test, args.threads, args.repeat)
        if not theirs.get("compiled"):
            print("WARNING: that pyBKT is the pure-Python build, not the compiled one.")
    rows = []
    for forgets in (False, True):
        model = "BKT+forgets" if forgets else "BKT"
        for conv in ("loglik", "pybkt"):
            r = ours[(forgets, conv)]
            rows.append({"model": model, "package": f"plmresearch (stop: {conv})", "fit_s": round(r["fit_s"], 2),
                         "test_auc": round(r["auc"], 4), "test_rmse": round(r["rmse"], 4),
                         "mean_em_iter": round(r["mean_iter"], 1), "published_auc": PUBLISHED[forgets]})
        if theirs is not None:
            r = theirs[str(forgets)]
            rows.append({"model": model, "package": "pyBKT 1.4.3 C++", "fit_s": round(r["fit_s"], 2),
                         "test_auc": round(r["auc"], 4), "test_rmse": round(r["rmse"], 4), "mean_em_iter": np.nan,
                         "published_auc": PUBLISHED[forgets]})
    table = pd.DataFrame(rows)
    if theirs is not None:
        for forgets in (False, True):
            base = theirs[str(forgets)]["fit_s"]
            sel = table["model"] == ("BKT+forgets" if forgets else "BKT")
            table.loc[sel, "speedup_vs_pybkt"] = (base / table.loc[sel, "fit_s"]).round(2)
    print(f"\nOne model per skill, 20 restarts, {args.threads} threads, pooled test AUC; "
          f"fit_s = fastest of {args.repeat} run(s)")
    print(table.to_string(index=False))
    if not args.skip_10m:
        print("\nFitting 10 million simulated responses (100 skills x 1,000 students x 100 opportunities)")
        print(run_10m(args.threads).to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
