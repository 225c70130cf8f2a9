"""Acceptance 3 of issue 4 (small version): coverage of the CR2 / Bell-McCaffrey 95% CI.

The full check (>= 500 trials per scenario, band 93-97%) is benchmarks/cluster_coverage.py.
Here 150 simulated cluster-randomized trials (20 clusters of 5-30 units, ICC 0.2, effect 0.25 SD)
with a fixed seed; the band 0.90-0.99 is about +-3 Monte Carlo SEs (sqrt(.95 x .05 / 150) = 0.018)
around 95%. The Welch CI that ignores clustering must do clearly worse (design effect ~ 4).
"""

from plmresearch.causal.simulate import cluster_coverage, simulate_cluster_trial


def test_cr2_ci_covers_known_effect():
    tab = cluster_coverage(150, n_clusters=20, icc=0.2, effect=0.25, random_seed=11, include_naive=True).set_index("method")
    print(tab.to_string())
    cr2 = tab.loc["CR2 (Bell-McCaffrey df)"]
    assert 0.90 <= cr2.coverage <= 0.99
    assert abs(cr2.mean_estimate - 0.25) < 0.05  # unbiased within MC error (SD of estimate ~ 0.22 / sqrt(150))
    assert 0.90 <= tab.loc["cluster means (J-2 df)", "coverage"] <= 0.99
    assert tab.loc["Welch, ignoring clusters", "coverage"] < 0.85


def test_simulated_trial_shape():
    d = simulate_cluster_trial(n_clusters=10, min_size=3, max_size=4, icc=0.1, effect=0.0, random_seed=1)
    assert d.cluster.nunique() == 10
    assert d.groupby("cluster").treatment.nunique().max() == 1
    assert d.drop_duplicates("cluster").treatment.sum() == 5
