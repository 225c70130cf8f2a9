"""BKT at platform scale: the in-memory engine and the Dask engine on simulated Parquet logs (prints a table).

Logs are simulated with ``plmresearch.mastery.simulate_responses`` (BKT generative model; 250
skills, 100 opportunities per student and skill; parameters drawn once, seed 0) and written as
Parquet, one file per 5 skills (each file holds whole skills, so the Dask engine fits the files
as they come; ``--layout student`` writes files by student instead, which makes it shuffle by
skill). The simulation itself is mapped over the cluster with ``plmresearch.simulate.run``.

Each engine runs in its own child process, so each peak memory is that run's own:

* ``memory``: ``pandas.read_parquet`` of the four columns, then ``fit_bkt(df, n_jobs=2)``;
* ``dask``: ``fit_bkt(folder, client=Client(LocalCluster(n_workers=2, threads_per_worker=1)))``.

Wall time counts reading and fitting (not the cluster's start, shown apart). Peak memory is the
maximum resident set size (``getrusage``) of the client process and of each worker process.
Targets (issue 19): 100M responses fitted (5 restarts) in <= 10 min with <= 2 GB per process on
2 cores; 10M on Dask within 1.5x the in-memory engine. Usage::

    .venv/bin/python benchmarks/kt_scale.py --rows 10M [--rows 100M] [--repeat 1] [--dir /tmp/kt_scale]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

N_SKILLS = 250
N_OPP = 100
SKILLS_PER_FILE = 5
COLUMNS = ["skill", "student", "order", "correct"]


def truth(n_skills: int = N_SKILLS) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"prior": rng.uniform(0.1, 0.5, n_skills), "learn": rng.uniform(0.05, 0.3, n_skills),
                         "forget": 0.0, "guess": rng.uniform(0.1, 0.3, n_skills),
                         "slip": rng.uniform(0.05, 0.2, n_skills)}, index=pd.RangeIndex(n_skills, name="skill"))


def _write_group(seed: int, *, folder: str, group_of: dict, n_students: int, layout: str) -> dict:
    """Simulate the skills of one file (``seed`` picks the group) and write it; returns its row count."""
    from plmresearch.mastery import simulate_responses

    g = group_of[seed]
    params = truth().iloc[g * SKILLS_PER_FILE:(g + 1) * SKILLS_PER_FILE]
    df = simulate_responses(params, n_students=n_students, n_opportunities=N_OPP, random_seed=seed)
    df = pd.DataFrame({"skill": df["skill"].to_numpy(np.int32), "student": df["student"].to_numpy(np.int32),
                       "order": df["order"].to_numpy(np.int16), "correct": df["correct"].to_numpy(np.int8)})
    if layout == "skill":
        df.to_parquet(Path(folder) / f"skills-{g:03d}.parquet", index=False, row_group_size=1_000_000)
    else:  # by student: every file holds every skill of a range of students
        for part in range(4):
            sub = df[df["student"] % 4 == part]
            sub.to_parquet(Path(folder) / f"skills-{g:03d}-students-{part}.parquet", index=False,
                           row_group_size=1_000_000)
    return {"rows": len(df)}


def simulate_log(folder: Path, rows: int, layout: str, client) -> float:
    """Write the log (if not there) and return the seconds it took."""
    from plmresearch.simulate import run, seeds

    done = folder / "_done"
    if done.exists():
        return 0.0
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    n_students = rows // (N_SKILLS * N_OPP)
    n_files = N_SKILLS // SKILLS_PER_FILE
    group_of = {int(s): g for g, s in enumerate(seeds(n_files, 1))}
    t = time.perf_counter()
    out = run(partial(_write_group, folder=str(folder), group_of=group_of, n_students=n_students, layout=layout),
              n_files, seed=1, client=client, batch_size=1, desc="simulating")
    done.write_text(str(int(out["rows"].sum())))
    return time.perf_counter() - t


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(engine: str, folder: str, restarts: int) -> dict:
    """One timed fit in this (fresh) process; prints a JSON line."""
    from plmresearch.mastery import fit_bkt

    files = sorted(str(p) for p in Path(folder).glob("*.parquet"))
    rec = {"engine": engine}
    if engine == "memory":
        fit_bkt(pd.DataFrame({"skill": [0] * 4, "student": [0, 0, 1, 1], "order": [0, 1, 0, 1],
                              "correct": [0, 1, 1, 1]}), n_restarts=1, progress=False)  # numba cache load
        t = time.perf_counter()
        df = pd.read_parquet(files, columns=COLUMNS)
        rec["read_s"] = time.perf_counter() - t
        m = fit_bkt(df, n_restarts=restarts, n_jobs=2, random_seed=0, progress=False)
        rec["wall_s"] = time.perf_counter() - t
        rec["client_peak_mb"] = _peak_mb()
        rec["worker_peak_mb"] = []
    else:
        from distributed import Client, LocalCluster

        t = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            rec["cluster_start_s"] = time.perf_counter() - t
            t = time.perf_counter()
            m = fit_bkt(folder, n_restarts=restarts, random_seed=0, client=client, progress=False)
            rec["wall_s"] = time.perf_counter() - t
            rec["client_peak_mb"] = _peak_mb()
            rec["worker_peak_mb"] = sorted(client.run(_peak_mb).values())
    rec["rows"] = int(m.params["n_responses"].sum())
    rec["skills"] = len(m.params)
    err = (m.params[["prior", "learn", "guess", "slip"]] - truth().loc[m.params.index, ["prior", "learn", "guess",
                                                                                      "slip"]]).abs().max()
    rec["max_abs_err"] = float(err.max())
    rec["params"] = m.params[["prior", "learn", "guess", "slip"]].to_numpy().tolist()
    print("RESULT " + json.dumps(rec), flush=True)
    return rec


def run_child(engine: str, folder: Path, restarts: int, timeout: int) -> dict:
    env = dict(os.environ, PLMRESEARCH_PROGRESS="0")
    res = subprocess.run([sys.executable, __file__, "--child", engine, "--dir", str(folder),
                          "--restarts", str(restarts)], capture_output=True, text=True, env=env, timeout=timeout)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"{engine} run failed:\n{res.stderr[-3000:]}")
    return json.loads(lines[-1][7:])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", action="append", help="10M, 100M, ... (repeatable); default 10M")
    ap.add_argument("--restarts", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1, help="alternate the engines this many times")
    ap.add_argument("--layout", choices=["skill", "student"], default="skill")
    ap.add_argument("--dir", default="/tmp/kt_scale")
    ap.add_argument("--memory-max-rows", type=float, default=1e7, help="largest log run in memory")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--child")
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.dir, args.restarts)
        return 0
    rows_list = [int(float(r.upper().replace("M", "e6"))) for r in (args.rows or ["10M"])]
    from distributed import Client, LocalCluster

    table = []
    for rows in rows_list:
        folder = Path(args.dir) / f"{rows // 1_000_000}M-{args.layout}"
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            sim_s = simulate_log(folder, rows, args.layout, client)
        size_mb = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20
        print(f"log: {folder} ({size_mb:.0f} MiB Parquet, simulated in {sim_s:.0f} s)", flush=True)
        engines = ["memory", "dask"] if rows <= args.memory_max_rows else ["dask"]
        fits = {}
        for rep in range(args.repeat):
            for engine in (engines if rep % 2 == 0 else engines[::-1]):
                r = run_child(engine, folder, args.restarts, args.timeout)
                fits.setdefault(engine, []).append(r)
                table.append({
                    "responses": f"{r['rows'] / 1e6:.0f}M", "skills": r["skills"], "restarts": args.restarts,
                    "engine": "in-memory (2 threads)" if engine == "memory" else "Dask, 2-worker LocalCluster",
                    "wall_s": round(r["wall_s"], 1), "responses_per_s": f"{r['rows'] / r['wall_s']:.3g}",
                    "client_peak_GB": round(r["client_peak_mb"] / 1024, 2),
                    "worker_peak_GB": " / ".join(f"{w / 1024:.2f}" for w in r["worker_peak_mb"]) or "-",
                    "cluster_start_s": round(r.get("cluster_start_s", np.nan), 1),
                    "max_abs_err_vs_truth": round(r["max_abs_err"], 3),
                })
                print(table[-1], flush=True)
        if "memory" in fits and "dask" in fits:
            a = np.array(fits["memory"][0]["params"])
            b = np.array(fits["dask"][0]["params"])
            ratio = np.median([d["wall_s"] for d in fits["dask"]]) / np.median([m["wall_s"] for m in fits["memory"]])
            print(f"{rows / 1e6:.0f}M: Dask / in-memory wall time = {ratio:.2f} (target <= 1.5); "
                  f"max |param difference| = {np.abs(a - b).max():.1e}", flush=True)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(pd.DataFrame(table).to_string(index=False))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
