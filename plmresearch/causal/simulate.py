"""Simulated cluster-randomized trials, for checking CI coverage of the cluster-robust estimator.

Data-generating model (two-level, Raudenbush 1997): y_ij = delta T_j + u_j + e_ij with
u_j ~ N(0, icc), e_ij ~ N(0, 1 - icc), so the total variance is 1 and delta is in SD units.
Cluster sizes vary (uniform between ``min_size`` and ``max_size``), half the clusters are
treated (complete randomization of clusters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plmresearch.validation import count, finite, probability


def simulate_cluster_trial(
    n_clusters: int = 20,
    min_size: int = 5,
    max_size: int = 30,
    icc: float = 0.2,
    effect: float = 0.25,
    random_seed: int | None = None,
) -> pd.DataFrame:
    """One simulated cluster-randomized trial: columns cluster, treatment, y."""
    j = count(n_clusters, "n_clusters", minimum=4)
    lo, hi = count(min_size, "min_size"), count(max_size, "max_size")
    icc = probability(icc, "icc", open_high=True)
    delta = finite(effect, "effect")
    rng = np.random.default_rng(random_seed)
    sizes = rng.integers(lo, max(lo, hi) + 1, size=j)
    treat = np.zeros(j)
    treat[rng.permutation(j)[: j // 2]] = 1
    u = rng.normal(0, np.sqrt(icc), size=j)
    cl = np.repeat(np.arange(j), sizes)
    y = delta * treat[cl] + u[cl] + rng.normal(0, np.sqrt(1 - icc), size=cl.size)
    return pd.DataFrame({"cluster": cl, "treatment": treat[cl].astype(int), "y": y})


def coverage_trial(
    seed: int,
    *,
    n_clusters: int = 20,
    min_size: int = 5,
    max_size: int = 30,
    icc: float = 0.2,
    effect: float = 0.25,
    ci_level: float = 0.95,
    include_naive: bool = False,
) -> pd.DataFrame:
    """One simulated trial analysed by each method: covered (0/1), CI width and estimate, one row per method.

    A replication for :func:`plmresearch.simulate.run` (which can map it over a Dask cluster);
    :func:`summarize_coverage` turns the stacked rows into the coverage table.
    """
    from plmresearch.causal.clustered import cluster_means
    from plmresearch.causal.randomized import difference_in_means

    methods = {
        "CR2 (Bell-McCaffrey df)": lambda d: difference_in_means(d, "y", "treatment", cluster="cluster", ci_level=ci_level),
        "cluster means (J-2 df)": lambda d: cluster_means(d, "y", "treatment", cluster="cluster", ci_level=ci_level),
        "Welch, ignoring clusters": lambda d: difference_in_means(d, "y", "treatment", ci_level=ci_level),
    }
    if not include_naive:
        methods.pop("Welch, ignoring clusters")
    d = simulate_cluster_trial(n_clusters, min_size, max_size, icc, effect, seed)
    rows = []
    for name, fn in methods.items():
        e = fn(d)
        rows.append({"method": name, "covered": float(e.ci_low <= effect <= e.ci_high),
                     "ci_width": e.ci_high - e.ci_low, "estimate": e.estimate})
    return pd.DataFrame(rows)


def summarize_coverage(trials: pd.DataFrame, effect: float) -> pd.DataFrame:
    """One row per method from stacked :func:`coverage_trial` rows: coverage, its Monte Carlo SE,
    mean CI width, mean estimate."""
    g = trials.groupby("method", sort=False)
    n = g.size()
    cov = g["covered"].mean()
    return pd.DataFrame({"method": cov.index, "n_sims": n.to_numpy(), "coverage": cov.to_numpy(),
                         "mc_se": np.sqrt(cov * (1 - cov) / n).to_numpy(),
                         "mean_ci_width": g["ci_width"].mean().to_numpy(), "mean_estimate": g["estimate"].mean().to_numpy(),
                         "truth": effect})


def cluster_coverage(
    n_sims: int = 500,
    *,
    n_clusters: int = 20,
    min_size: int = 5,
    max_size: int = 30,
    icc: float = 0.2,
    effect: float = 0.25,
    ci_level: float = 0.95,
    random_seed: int = 2024,
    include_naive: bool = False,
) -> pd.DataFrame:
    """Coverage of the CR2/Bell-McCaffrey CI of ``difference_in_means(cluster=...)`` and, for
    comparison, of the cluster-means analysis (and, with ``include_naive``, of the Welch CI
    that ignores clustering), over ``n_sims`` simulated trials.

    Returns one row per method: coverage, its Monte Carlo SE, mean CI width, mean estimate.
    Trial i uses seed i of ``SeedSequence(random_seed)``, as ``plmresearch.simulate.run`` does,
    so mapping :func:`coverage_trial` over a Dask cluster gives the same table.
    """
    n = count(n_sims, "n_sims")
    seeds = np.random.SeedSequence(random_seed).generate_state(n)
    trials = pd.concat([coverage_trial(int(s), n_clusters=n_clusters, min_size=min_size, max_size=max_size, icc=icc,
                                       effect=effect, ci_level=ci_level, include_naive=include_naive)
                        for s in seeds], ignore_index=True)
    return summarize_coverage(trials, effect)
