"""Simulation studies: seeded replications, in this process or mapped over a Dask cluster.

:func:`run` calls ``fn(seed)`` for ``n`` replications with seeds drawn once from
``numpy.random.SeedSequence(seed)``, so replication ``i`` gets the same seed (and the same
result) in a loop here or on any number of Dask workers, and returns one tidy frame.
:func:`power_by_simulation` uses it for the power of a cluster-randomized or multisite trial
with attrition, next to the analytic power of :mod:`plmresearch.effects.power`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import numpy as np
import pandas as pd

from plmresearch.errors import InputError
from plmresearch.validation import check_flag, check_seed, count, finite, probability

__all__ = ["power_by_simulation", "run", "seeds"]


def seeds(n: int, seed: int | None = 0) -> np.ndarray:
    """The ``n`` replication seeds of :func:`run` (32-bit states of ``SeedSequence(seed)``)."""
    return np.random.SeedSequence(check_seed(seed, "seed")).generate_state(count(n, "n"))


def _rows(result, replication: int, seed: int) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        out = result.reset_index(drop=True)
    elif isinstance(result, (Mapping, pd.Series)):
        out = pd.DataFrame([dict(result)])
    elif np.isscalar(result):
        out = pd.DataFrame({"value": [result]})
    else:
        raise InputError(
            f"The replication function returned a {type(result).__name__}; return a dict, a Series, a DataFrame "
            "or a number (one row, several rows, or a column 'value')."
        )
    out.insert(0, "seed", np.int64(seed))
    out.insert(0, "replication", replication)
    return out


def _one(fn: Callable, replication: int, seed: int) -> pd.DataFrame:
    """One replication's rows; an error inside ``fn`` keeps its type and gains a note naming the replication."""
    try:
        result = fn(seed)
    except Exception as err:
        err.add_note(f"(in replication {replication} of plmresearch.simulate.run, seed {seed}: "
                     f"rerun it alone with fn({seed}))")
        raise
    return _rows(result, replication, seed)


def _batch(fn: Callable, first: int, batch_seeds: np.ndarray) -> pd.DataFrame:
    return pd.concat([_one(fn, first + i, int(s)) for i, s in enumerate(batch_seeds)], ignore_index=True)


def run(fn: Callable[[int], object], n: int, seed: int | None = 0, *, client=None, batch_size: int | None = None,
        progress: bool = True, desc: str = "replications") -> pd.DataFrame:
    """Run ``fn(seed_i)`` for i = 0..n-1 and stack the results in a tidy frame.

    Parameters
    ----------
    fn : callable
        One replication: takes an integer seed, returns a dict or Series (one row), a DataFrame
        (several rows) or a number (column ``value``). With a client it must be picklable (a
        module-level function or a ``functools.partial`` of one).
    n : int
        Number of replications.
    seed : int
        Seeds the replications' seeds (:func:`seeds`); the result does not depend on ``client``.
    client : dask.distributed.Client, optional
        Map batches of replications over this cluster (e.g. a ``LocalCluster``, a
        ``dask_jobqueue.SLURMCluster`` or a ``dask_kubernetes`` cluster). None runs here.
    batch_size : int, optional
        Replications per Dask task (default: about 4 tasks per worker, at most 100 replications).
    progress : bool
        A progress bar over replications (here) or tasks (on a cluster).

    Returns
    -------
    DataFrame
        Columns ``replication``, ``seed``, then ``fn``'s; in replication order.
    """
    if not callable(fn):
        raise InputError(f"`fn` must be a function of one integer seed, got {type(fn).__name__}.")
    states = seeds(n, seed)
    check_flag(progress, "progress")
    if batch_size is not None:
        batch_size = count(batch_size, "batch_size")
    if client is None:
        from plmresearch.progress import progress_bar

        parts = [_one(fn, i, int(s)) for i, s in enumerate(progress_bar(states, desc=desc, unit="rep",
                                                                                  progress=progress))]
        return pd.concat(parts, ignore_index=True)
    from plmresearch._dask import gather, n_workers, session

    with session(client) as c:
        size = batch_size if batch_size is not None else \
            int(min(100, max(1, -(-len(states) // (4 * n_workers(c))))))
        starts = range(0, len(states), size)
        futures = [c.submit(_batch, fn, a, states[a:a + size], pure=False) for a in starts]
        parts = gather(futures, desc, progress)
    return pd.concat(parts, ignore_index=True)


# ---- power by simulation ----

DESIGNS = ("cluster_rct", "multisite_rct")


def _attrit(rng, n: int, attrition: float) -> np.ndarray:
    """Which of ``n`` students stay (missing completely at random with probability ``attrition``)."""
    return rng.random(n) >= attrition


def cluster_rct_trial(seed: int, *, effect_size: float, n_clusters: int, n_per_cluster: int, icc: float,
                      p_treated: float, attrition: float, alpha: float) -> dict:
    """One two-level cluster-randomized trial and its cluster-means t-test.

    y_ij = delta T_j + u_j + e_ij, u_j ~ N(0, icc), e_ij ~ N(0, 1 - icc) (Raudenbush 1997); a share
    ``attrition`` of students is lost at random; the analysis is the difference of the arms'
    average cluster means with the classical (pooled) SE and J - 2 df, whose power with equal
    clusters is the noncentral-t power of PowerUp's CRA2 (Dong & Maynard 2013).
    """
    from plmresearch.causal.clustered import cluster_means

    rng = np.random.default_rng(seed)
    treat = np.zeros(n_clusters)
    treat[rng.permutation(n_clusters)[: int(round(p_treated * n_clusters))]] = 1
    u = rng.normal(0, np.sqrt(icc), n_clusters)
    cl = np.repeat(np.arange(n_clusters), n_per_cluster)
    y = effect_size * treat[cl] + u[cl] + rng.normal(0, np.sqrt(1 - icc), cl.size)
    keep = _attrit(rng, cl.size, attrition)
    d = pd.DataFrame({"cluster": cl[keep], "treatment": treat[cl][keep].astype(int), "y": y[keep]})
    est = cluster_means(d, "y", "treatment", cluster="cluster", se_type="classical", ci_level=1 - alpha)
    return {"estimate": est.estimate, "std_error": est.std_error, "p_value": est.p_value, "n": int(keep.sum()),
            "reject": bool(est.p_value < alpha)}


def multisite_rct_trial(seed: int, *, effect_size: float, n_sites: int, n_per_site: int, icc: float,
                        effect_heterogeneity: float, p_treated: float, attrition: float, alpha: float) -> dict:
    """One multisite trial (students randomized within sites) and its test on the site impacts.

    y_ij = u_j + (delta + v_j) T_ij + e_ij, u_j ~ N(0, icc), v_j ~ N(0, icc * omega), e_ij ~ N(0, 1 - icc),
    omega = ``effect_heterogeneity`` (PowerUp's BIRA2 random-effects model; Dong & Maynard 2013).
    The analysis is the one-sample t-test (J - 1 df) of the sites' treatment-control mean
    differences, whose variance is icc*omega + (1-icc)/(P(1-P)n): PowerUp's SSE² times J.
    """
    from scipy import stats

    rng = np.random.default_rng(seed)
    n_t = int(round(p_treated * n_per_site))
    diffs = np.empty(n_sites)
    n_kept = 0
    for j in range(n_sites):
        t = np.zeros(n_per_site, dtype=bool)
        t[rng.permutation(n_per_site)[:n_t]] = True
        y = rng.normal(0, np.sqrt(icc)) + (effect_size + rng.normal(0, np.sqrt(icc * effect_heterogeneity))) * t \
            + rng.normal(0, np.sqrt(1 - icc), n_per_site)
        keep = _attrit(rng, n_per_site, attrition)
        if not (keep & t).any() or not (keep & ~t).any():  # every student of an arm lost: redraw the survivors
            keep = np.ones(n_per_site, dtype=bool)
        diffs[j] = y[keep & t].mean() - y[keep & ~t].mean()
        n_kept += int(keep.sum())
    test = stats.ttest_1samp(diffs, 0.0)
    return {"estimate": float(diffs.mean()), "std_error": float(diffs.std(ddof=1) / np.sqrt(n_sites)),
            "p_value": float(test.pvalue), "n": n_kept, "reject": bool(test.pvalue < alpha)}


def power_by_simulation(design: str, effect_size: float, n_sims: int = 1000, *, icc: float,
                        n_clusters: int | None = None, n_per_cluster: int | None = None,
                        n_sites: int | None = None, n_per_site: int | None = None,
                        effect_heterogeneity: float = 0.0, p_treated: float = 0.5, attrition: float = 0.0,
                        alpha: float = 0.05, random_seed: int = 0, client=None,
                        progress: bool = True) -> pd.DataFrame:
    """Power of a two-level cluster-randomized or multisite trial by simulation, next to the analytic power.

    ``design`` is ``"cluster_rct"`` (give ``n_clusters``, ``n_per_cluster``) or ``"multisite_rct"``
    (``n_sites``, ``n_per_site``, ``effect_heterogeneity``); ``attrition`` is the share of students
    lost completely at random. The analytic power (:func:`plmresearch.effects.power_cluster_rct`,
    :func:`~plmresearch.effects.power_multisite_rct`, Dong & Maynard 2013) uses the expected
    number of students kept, n (1 - attrition), and is exact for these analyses when nobody is lost.
    Replications run through :func:`run` (``client=`` maps them over a Dask cluster).

    Returns a one-row DataFrame: design, effect_size, n_sims, power (share of rejections at
    ``alpha``), mc_se, analytic_power, analytic_mdes, mean_estimate, mean_n.
    """
    from plmresearch.effects import power as pw

    if design not in DESIGNS:
        raise InputError(f"`design` must be one of {list(DESIGNS)}, got {design!r}.")
    check_seed(random_seed)
    check_flag(progress, "progress")
    common = dict(effect_size=finite(effect_size, "effect_size"), icc=probability(icc, "icc", open_high=True),
                  p_treated=probability(p_treated, "p_treated", True, True),
                  attrition=probability(attrition, "attrition", open_high=True),
                  alpha=probability(alpha, "alpha", True, True))
    if design == "cluster_rct":
        if n_clusters is None or n_per_cluster is None:
            raise InputError("design='cluster_rct' needs `n_clusters` and `n_per_cluster`.")
        sizes = dict(n_clusters=count(n_clusters, "n_clusters", minimum=4),
                     n_per_cluster=count(n_per_cluster, "n_per_cluster"))
        fn = partial(cluster_rct_trial, **sizes, **common)
        n_eff = sizes["n_per_cluster"] * (1 - common["attrition"])
        args = dict(n_per_cluster=n_eff, n_clusters=sizes["n_clusters"], icc=common["icc"],
                    p_treated=common["p_treated"], alpha=common["alpha"])
        analytic = pw.power_cluster_rct(common["effect_size"], **args)
        mdes = pw.mdes_cluster_rct(**args)
    else:
        if n_sites is None or n_per_site is None:
            raise InputError("design='multisite_rct' needs `n_sites` and `n_per_site`.")
        omega = finite(effect_heterogeneity, "effect_heterogeneity")
        if omega < 0:
            raise InputError(f"`effect_heterogeneity` must be >= 0, got {effect_heterogeneity!r}.")
        sizes = dict(n_sites=count(n_sites, "n_sites", minimum=2), n_per_site=count(n_per_site, "n_per_site",
                                                                                      minimum=4))
        fn = partial(multisite_rct_trial, **sizes, effect_heterogeneity=omega, **common)
        n_eff = sizes["n_per_site"] * (1 - common["attrition"])
        args = dict(n_per_site=n_eff, n_sites=sizes["n_sites"], icc=common["icc"], effect_heterogeneity=omega,
                    p_treated=common["p_treated"], alpha=common["alpha"])
        analytic = pw.power_multisite_rct(common["effect_size"], **args)
        mdes = pw.mdes_multisite_rct(**args)
    reps = run(fn, n_sims, random_seed, client=client, progress=progress, desc=f"{design} power")
    power = float(reps["reject"].mean())
    return pd.DataFrame([{
        "design": design, "effect_size": common["effect_size"], "n_sims": len(reps), **sizes,
        "attrition": common["attrition"], "power": power, "mc_se": float(np.sqrt(power * (1 - power) / len(reps))),
        "analytic_power": float(analytic.power), "analytic_mdes": float(mdes.mdes),
        "mean_estimate": float(reps["estimate"].mean()), "mean_n": float(reps["n"].mean()),
    }])
