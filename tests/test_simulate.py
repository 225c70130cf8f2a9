"""plmresearch.simulate: seeded replications here or on Dask, and power by simulation.

Power reference: the analytic (noncentral-t) power of plmresearch.effects.power, which is checked
against PowerUpR (Dong & Maynard 2013) in tests/effects. With no attrition the simulated analyses
(cluster-means t-test with J - 2 df; t-test of site impacts with J - 1 df) have exactly that power,
so the simulated share of rejections must lie within 3 Monte Carlo SEs of it (fixed seeds).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

from plmresearch.effects import mdes_cluster_rct, mdes_multisite_rct
from plmresearch.errors import InputError
from plmresearch.simulate import power_by_simulation, run, seeds


def _draws(seed: int, k: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"draw": np.arange(k), "x": rng.normal(size=k)})


def _fails(seed: int) -> dict:
    if seed == seeds(5, 3)[2]:
        raise InputError("replication 2 was given bad data")
    return {"ok": 1}


def test_run_is_the_same_here_and_on_a_cluster(dask_client):
    here = run(partial(_draws, k=3), 25, seed=9, progress=False)
    there = run(partial(_draws, k=3), 25, seed=9, client=dask_client, batch_size=4, progress=False)
    pd.testing.assert_frame_equal(here, there)
    assert list(here.columns) == ["replication", "seed", "draw", "x"] and len(here) == 75
    assert (here.groupby("replication")["seed"].first().to_numpy() == seeds(25, 9)).all()
    # replication i's rows depend only on its seed
    pd.testing.assert_frame_equal(here[here.replication == 7].iloc[:, 2:].reset_index(drop=True),
                                  _draws(int(seeds(25, 9)[7]), 3))


def test_run_accepts_rows_and_numbers_and_rejects_the_rest():
    assert run(lambda s: {"a": s % 7}, 3, progress=False).shape == (3, 3)
    assert list(run(lambda s: 1.5, 2, progress=False)["value"]) == [1.5, 1.5]
    with pytest.raises(InputError, match="returned a list"):
        run(lambda s: [1, 2], 2, progress=False)
    with pytest.raises(InputError, match="`fn` must be a function"):
        run(3, 2)
    with pytest.raises(InputError, match="`n`"):
        run(lambda s: 1, 0)


def test_an_error_in_a_replication_reaches_the_caller(dask_client):
    with pytest.raises(InputError, match="replication 2 was given bad data"):
        run(_fails, 5, seed=3, client=dask_client, batch_size=1, progress=False)


def test_cluster_rct_power_at_the_analytic_mdes():
    """20 clusters of 20, icc 0.2: at PowerUp's MDES (0.649) the power is 0.80."""
    mdes = mdes_cluster_rct(20, 20, 0.2).mdes
    res = power_by_simulation("cluster_rct", mdes, 400, icc=0.2, n_clusters=20, n_per_cluster=20, random_seed=1,
                              progress=False).iloc[0]
    assert res.analytic_power == pytest.approx(0.80, abs=0.002)
    assert abs(res.power - res.analytic_power) < 3 * np.sqrt(0.8 * 0.2 / 400)
    assert res.mean_estimate == pytest.approx(mdes, abs=0.05)


def test_multisite_power_with_attrition_on_a_cluster(dask_client):
    """15 sites of 20, icc 0.2, omega 0.5, 20% of students lost at random: the simulated power is
    that of the analytic formula at the expected 16 students kept per site."""
    mdes = mdes_multisite_rct(16, 15, 0.2, 0.5).mdes
    res = power_by_simulation("multisite_rct", mdes, 400, icc=0.2, n_sites=15, n_per_site=20,
                              effect_heterogeneity=0.5, attrition=0.2, random_seed=2, client=dask_client,
                              progress=False).iloc[0]
    assert res.analytic_mdes == pytest.approx(mdes) and res.analytic_power == pytest.approx(0.80, abs=0.002)
    assert abs(res.power - res.analytic_power) < 3 * np.sqrt(0.8 * 0.2 / 400)
    assert res.mean_n == pytest.approx(15 * 20 * 0.8, rel=0.02)


def test_power_under_the_null_is_alpha():
    res = power_by_simulation("multisite_rct", 0.0, 600, icc=0.1, n_sites=10, n_per_site=10, random_seed=3,
                              progress=False).iloc[0]
    assert abs(res.power - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 600)


def test_power_by_simulation_bad_input():
    with pytest.raises(InputError, match="`design` must be one of"):
        power_by_simulation("crossover", 0.2, icc=0.1)
    with pytest.raises(InputError, match="needs `n_clusters` and `n_per_cluster`"):
        power_by_simulation("cluster_rct", 0.2, icc=0.1, n_sites=10)
    with pytest.raises(InputError, match="attrition"):
        power_by_simulation("cluster_rct", 0.2, icc=0.1, n_clusters=10, n_per_cluster=5, attrition=1.0)
    with pytest.raises(InputError, match="effect_heterogeneity"):
        power_by_simulation("multisite_rct", 0.2, icc=0.1, n_sites=10, n_per_site=5, effect_heterogeneity=-1)


def test_coverage_trials_through_run_give_cluster_coverage():
    """benchmarks/cluster_coverage.py maps coverage_trial with run: the same table as cluster_coverage."""
    from plmresearch.causal.simulate import cluster_coverage, coverage_trial, summarize_coverage

    reps = run(partial(coverage_trial, n_clusters=8, icc=0.1), 15, seed=4, progress=False)
    pd.testing.assert_frame_equal(summarize_coverage(reps, 0.25), cluster_coverage(15, n_clusters=8, icc=0.1,
                                                                                  random_seed=4))
