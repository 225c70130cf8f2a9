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
    """
    from plmresearch.causal.clustered import cluster_means
    from plmresearch.causal.randomized import difference_in_means

    n = count(n_sims, "n_sims")
    seeds = np.random.SeedSequence(random_seed).generate_state(n)
    methods = {
        "CR2 (Bell-McCaffrey df)": lambda d: difference_in_means(d, "y", "treatment", cluster="cluster", ci_level=ci_level),
        "cluster means (J-2 df)": lambda d: cluster_means(d, "y", "treatment", cluster="cluster", ci_level=ci_level),
        "Welch, ignoring clusters": lambda d: difference_in_means(d, "y", "treatment", ci_level=ci_level),
    }
    if not include_naive:
        methods.pop("Welch, ignoring clusters")
    rec = {name: [] for name in methods}
    for s in seeds:
        d = simulate_cluster_trial(n_clusters, min_size, max_size, icc, effect, int(s))
        for name, fn in methods.items():
            e = fn(d)
            rec[name].append((e.ci_low <= effect <= e.ci_high, e.ci_high - e.ci_low, e.estimate))
    rows = []
    for name, r in rec.items():
        a = np.array(r, dtype=float)
        cov = a[:, 0].mean()
        rows.append({"method": name, "n_sims": n, "coverage": cov, "mc_se": np.sqrt(cov * (1 - cov) / n),
                     "mean_ci_width": a[:, 1].mean(), "mean_estimate": a[:, 2].mean(), "truth": effect})
    return pd.DataFrame(rows)
