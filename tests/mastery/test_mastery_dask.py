"""BKT on Dask (plmresearch.mastery._scale): the same parameters, predictions and scores as in memory.

Every test runs on the session's LocalCluster (two single-threaded worker processes). The
reference is the in-memory engine of this package, itself checked against compiled pyBKT 1.4.3
(test_mastery_assistments.py): with the same ``random_seed`` the starting values are drawn for
the same sorted skills, each skill's EM runs the same kernel on the same sequences in the same
order, so estimates agree to rounding (asserted to 1e-10).
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

import plmresearch
from plmresearch.errors import ColumnError, InputError, ModelError, PlmWarning
from plmresearch.mastery import fit_bkt, simulate_responses

dd = pytest.importorskip("dask.dataframe")
NUMERIC = ["prior", "learn", "forget", "guess", "slip", "log_likelihood", "n_students", "n_responses", "n_iter"]


@pytest.fixture(scope="module")
def log():
    """Six skills, responses interleaved across skills within each student (as a platform logs them)."""
    rng = np.random.default_rng(11)
    k = 6
    truth = pd.DataFrame({"prior": rng.uniform(0.1, 0.5, k), "learn": rng.uniform(0.05, 0.3, k),
                          "guess": rng.uniform(0.1, 0.3, k), "slip": rng.uniform(0.05, 0.2, k)},
                         index=pd.Index([f"s{i}" for i in range(k)], name="skill"))
    df = simulate_responses(truth, n_students=120, n_opportunities=12, random_seed=5).drop(columns="known")
    df["t"] = rng.permutation(len(df))  # a global clock: sort by student, then time
    df = df.sort_values(["student", "t"]).reset_index(drop=True)
    df["order"] = df.groupby(["student", "skill"]).cumcount()
    return df.drop(columns="t")


def _same_params(a, b):
    assert a.params.index.equals(b.params.index)
    np.testing.assert_allclose(a.params[NUMERIC].to_numpy(float), b.params[NUMERIC].to_numpy(float),
                               rtol=0, atol=1e-10)
    assert (a.params["converged"] == b.params["converged"]).all()
    np.testing.assert_allclose(a.restarts[["prior", "learn", "guess", "slip", "log_likelihood"]].to_numpy(float),
                               b.restarts[["prior", "learn", "guess", "slip", "log_likelihood"]].to_numpy(float),
                               rtol=0, atol=1e-10)


def _write_parquet(df, folder, groups):
    """One Parquet file per group of rows (a boolean mask each)."""
    folder.mkdir()
    for i, mask in enumerate(groups):
        df[mask].to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    return folder


def test_fit_simulated_equals_in_memory_from_pandas_parquet_and_dask(log, dask_client, tmp_path):
    """Pandas with a client, Parquet split by student (shuffled by skill on the cluster), Parquet with
    whole skills per file (fitted as they come, with an empty file among them) and a Dask DataFrame:
    all give the in-memory parameters, with forgetting and bounds too."""
    kw = dict(n_restarts=3, random_seed=7, forgets=True, bounds="nondegenerate", progress=False)
    ref = fit_bkt(log, **kw)
    _same_params(ref, fit_bkt(log, client=dask_client, **kw))
    by_student = _write_parquet(log, tmp_path / "by_student", [log.student % 3 == r for r in range(3)])
    _same_params(ref, fit_bkt(str(by_student / "*.parquet"), client=dask_client, **kw))
    by_skill = _write_parquet(log, tmp_path / "by_skill", [log.skill.isin(["s0", "s3"]), log.skill.isin(["s1"]),
                                                           log.skill.isin(["s2", "s4", "s5"]), log.skill == "none"])
    _same_params(ref, fit_bkt(by_skill, client=dask_client, **kw))
    _same_params(ref, fit_bkt(dd.from_pandas(log, npartitions=4, sort=False), client=dask_client, **kw))
    sub = fit_bkt(log, skills=["s4", "s1"], **kw)
    _same_params(sub, fit_bkt(str(by_student), skills=["s4", "s1"], client=dask_client, **kw))


@pytest.fixture(scope="module")
def assistments():
    """ASSISTments 2009-10 skill builders (Piech split): the 12 skills with the most train students."""
    d = plmresearch.load_dataset("assistments_2009")
    train = d[d["split"] == "train"]
    top = train.groupby("skill")["student"].nunique().nlargest(12).index
    train = train[train["skill"].isin(top)].reset_index(drop=True)
    test = d[(d["split"] == "test") & d["skill"].isin(top)].reset_index(drop=True)
    return train, test


def test_assistments_fit_predict_evaluate_equal_in_memory(assistments, dask_client, tmp_path):
    train, test = assistments
    kw = dict(order="position", n_restarts=3, random_seed=0, progress=False)
    ref = fit_bkt(train, **kw)
    ddf = dd.from_pandas(train, npartitions=3, sort=False)
    got = fit_bkt(ddf, client=dask_client, **kw)
    _same_params(ref, got)
    # predict: pandas with a client keeps the rows and their order
    p_ref = ref.predict(test)
    p_got = ref.predict(test, client=dask_client, progress=False)
    assert p_got.index.equals(p_ref.index) and list(p_got.columns) == list(p_ref.columns)
    np.testing.assert_allclose(p_got[["p_correct", "p_mastered"]], p_ref[["p_correct", "p_mastered"]], rtol=0,
                               atol=1e-10)
    # evaluate: per-skill rows exact; pooled AUC within the bound it reports
    e_ref = ref.evaluate(test)
    e_got = ref.evaluate(dd.from_pandas(test, npartitions=3, sort=False), client=dask_client, progress=False)
    _same_scores(e_ref, e_got)


def _same_scores(e_ref, e_got):
    assert e_got.index.equals(e_ref.index)
    cols = ["n", "accuracy", "rmse", "log_loss"]
    np.testing.assert_allclose(e_got[cols].to_numpy(float), e_ref[cols].to_numpy(float), rtol=0, atol=1e-10)
    skills = e_ref.index != "overall"
    np.testing.assert_allclose(e_got.loc[skills, "auc"], e_ref.loc[skills, "auc"], rtol=0, atol=1e-10)
    bound = e_got.attrs["auc_max_error"]
    assert bound < 1e-4
    assert abs(e_got.loc["overall", "auc"] - e_ref.loc["overall", "auc"]) <= bound + 1e-12


def test_predict_and_evaluate_from_parquet(log, dask_client, tmp_path):
    """A Parquet log gives a lazy Dask frame (rows by skill, log order inside) with the in-memory
    predictions; evaluate agrees, also with an unseen skill dropped or predicted from the prior."""
    model = fit_bkt(log[log.skill != "s5"], n_restarts=2, random_seed=0, progress=False)
    folder = _write_parquet(log, tmp_path / "log", [log.student < 60, log.student >= 60])
    with pytest.raises(InputError, match=r"1 skill\(s\).*\['s5'\].*unseen='drop'"):
        model.evaluate(folder, client=dask_client, progress=False)
    for unseen in ("drop", "prior"):
        ref = model.predict(log, unseen=unseen)
        with pytest.warns(PlmWarning, match="row"):
            lazy = model.predict(folder, unseen=unseen, client=dask_client, progress=False)
        assert isinstance(lazy, dd.DataFrame)
        got = lazy.compute()
        merged = ref.merge(got, on=["student", "skill", "order"], suffixes=("", "_dask"), validate="1:1")
        assert len(merged) == len(ref) == len(got)
        np.testing.assert_allclose(merged["p_correct_dask"], merged["p_correct"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(merged["p_mastered_dask"], merged["p_mastered"], rtol=0, atol=1e-10)
        e_ref = model.evaluate(log, unseen=unseen)
        e_got = model.evaluate(str(folder / "*.parquet"), unseen=unseen, client=dask_client, progress=False)
        _same_scores(e_ref, e_got)
        assert e_got.attrs["notes"][0] == e_ref.attrs["notes"][0]


def test_bad_parquet_input_names_the_file_column_or_skill(log, dask_client, tmp_path):
    folder = _write_parquet(log, tmp_path / "log", [log.student < 60, log.student >= 60])
    log[log.student < 10].drop(columns="correct").to_parquet(folder / "part-99.parquet", index=False)
    with pytest.raises(ColumnError, match=r"part-99\.parquet.*\['correct'\]"):
        fit_bkt(folder, client=dask_client, progress=False)
    (folder / "part-99.parquet").unlink()
    with pytest.raises(InputError, match=r"\['s9'\] given in `skills` have no rows"):
        fit_bkt(folder, skills=["s0", "s9"], client=dask_client, progress=False)
    with pytest.raises(InputError, match="No file or folder"):
        fit_bkt(tmp_path / "nowhere.parquet", client=dask_client, progress=False)
    with pytest.raises(InputError, match="must be a dask.distributed.Client"):
        fit_bkt(log, client="tcp://127.0.0.1:8786", progress=False)


def test_errors_found_on_a_worker_reach_the_caller(log, dask_client, tmp_path):
    """Checks that need the rows (0/1 responses, order within a sequence, single-response skills) run
    on the workers or from the skill counts, and raise the in-memory engine's errors."""
    bad = log.copy()
    bad.loc[bad.index[-1], "correct"] = 2
    folder = _write_parquet(bad, tmp_path / "bad", [bad.student < 60, bad.student >= 60])
    with pytest.raises(InputError, match="must hold 0/1"):
        fit_bkt(folder, client=dask_client, progress=False)
    swapped = log.copy()
    swapped.loc[[0, 1], "order"] = swapped.loc[[1, 0], "order"].to_numpy()
    swapped.loc[[0, 1], "skill"] = swapped.loc[0, "skill"]
    with pytest.raises(InputError, match="increasing 'order'"):
        fit_bkt(dd.from_pandas(swapped, npartitions=2, sort=False), client=dask_client, progress=False)
    one = pd.concat([log, pd.DataFrame({"student": [0], "skill": ["lonely"], "order": [0], "correct": [1]})])
    with pytest.raises(InputError, match=r"single response.*\['lonely'\]"):
        fit_bkt(one, client=dask_client, progress=False)


def test_a_worker_killed_mid_fit_is_replaced_and_the_fit_is_unchanged(dask_client):
    """distributed reruns the lost tasks on the surviving worker (its nanny restarts the dead one);
    the parameters are those of the in-memory engine."""
    truth = pd.DataFrame({"prior": [0.3, 0.4, 0.2, 0.5], "learn": [0.1, 0.2, 0.15, 0.05],
                          "guess": [0.2, 0.15, 0.25, 0.1], "slip": [0.1, 0.05, 0.08, 0.12]},
                         index=pd.Index(["a", "b", "c", "d"], name="skill"))
    df = simulate_responses(truth, n_students=400, n_opportunities=25, random_seed=2).drop(columns="known")
    kw = dict(n_restarts=3, random_seed=0, tol=1e-12, max_iter=400, progress=False)
    ref = fit_bkt(df, **kw)
    pids = dask_client.run(os.getpid)  # worker address -> process id (all on this machine)
    out = {}
    runner = threading.Thread(target=lambda: out.update(model=fit_bkt(df, client=dask_client, **kw)))
    runner.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        for worker, keys in dask_client.processing().items():
            if any("fit_part" in str(k) for k in keys):
                os.kill(pids[worker], signal.SIGKILL)
                killed = worker
                break
        time.sleep(0.05)
    runner.join(timeout=120)
    assert not runner.is_alive(), "the fit hung after a worker died"
    assert killed is not None, "no fit task was seen running"
    _same_params(ref, out["model"])
    dask_client.wait_for_workers(2, timeout=60)


_SCRIPT = """
import sys
import numpy as np
import pandas as pd
from plmresearch.errors import PlmError
from plmresearch.mastery import fit_bkt
from plmresearch.mastery.bkt import PARAM_NAMES

def main():
    try:
        m = fit_bkt(sys.argv[1], n_restarts=2, progress=False)  # no client, none running: a LocalCluster
    except PlmError as err:
        print("PlmError:", err)
        return
    ref = fit_bkt(pd.read_parquet(sys.argv[1]), n_restarts=2, progress=False)
    cols = list(PARAM_NAMES)
    print("MAXDIFF", float(np.abs(m.params[cols].to_numpy() - ref.params[cols].to_numpy()).max()))
{call}
"""


def _run_script(tmp_path, log, call: str, *, stdin: bool):
    import subprocess
    import sys

    path = tmp_path / "log.parquet"
    log[log["skill"].isin(sorted(log["skill"].unique())[:2])].to_parquet(path)
    code = _SCRIPT.format(call=call)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [str(plmresearch.__path__[0] + "/.."),
                                                                  os.environ.get("PYTHONPATH", "")] if p)}
    if stdin:
        cmd, kw = [sys.executable, "-", str(path)], {"input": code}
    else:
        (tmp_path / "fit.py").write_text(code)
        cmd, kw = [sys.executable, str(tmp_path / "fit.py"), str(path)], {}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path, env=env, **kw)


def test_parquet_without_a_client_starts_a_local_cluster_in_a_script(tmp_path, log):
    """The default for Parquet input (issue 19): no client given and none running starts a LocalCluster
    sized to the machine, in a script with the usual main guard, and gives the in-memory parameters."""
    out = _run_script(tmp_path, log, 'if __name__ == "__main__":\n    main()', stdin=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.split("MAXDIFF")[1]) <= 1e-10


def test_a_local_cluster_that_cannot_start_is_a_plm_error_not_a_hang(tmp_path, log):
    """Code piped to `python -` cannot be re-imported by spawned workers: distributed's bare
    RuntimeError("Nanny failed to start.") becomes a PlmError that says what to do."""
    out = _run_script(tmp_path, log, "main()", stdin=True)
    assert "PlmError: Could not start a local Dask cluster" in out.stdout, (out.stdout, out.stderr[-2000:])
    assert "__main__" in out.stdout and "client=" in out.stdout
