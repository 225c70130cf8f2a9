"""Effect sizes, randomization inference, propensity methods, DiD warnings, plots and invariants."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from plmresearch import causal
from plmresearch.effects import hedges_g

FIXTURES = Path(__file__).parent / "fixtures"


# --- WWC effect size of an Estimate -------------------------------------------------------


def test_wwc_effect_size_baselinr_example():
    """baselinr vignette 'getting-started' (printed): treatment (5, 6, 7) vs comparison (4, 5, 6):
    effect_size 0.8000000 (d = 1, omega = 1 - 3/(4*6 - 9) = 0.8). balance_table's SMD (no omega) is 1."""
    d = pd.DataFrame({"y": [5, 6, 7, 4, 5, 6], "t": [1, 1, 1, 0, 0, 0]})
    e = causal.difference_in_means(d, "y", "t")
    assert e.effect_size == pytest.approx(0.8, abs=1e-12)
    assert (e.effect_size_ci_low, e.effect_size_ci_high) == pytest.approx((0.8 * e.ci_low, 0.8 * e.ci_high))
    assert causal.balance_table(d, "t", ["y"]).smd_before.iloc[0] == pytest.approx(1.0)


def test_effect_size_uses_unadjusted_sd_and_agrees_with_effects_module():
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"t": np.repeat([1, 0], 40), "x": rng.normal(size=80)})
    d["y"] = 0.5 * d.t + 2 * d.x + rng.normal(size=80)
    g = hedges_g(d.y[d.t == 1].mean(), d.y[d.t == 1].std(), 40, d.y[d.t == 0].mean(), d.y[d.t == 0].std(), 40, exact=False)
    dim = causal.difference_in_means(d, "y", "t")
    assert dim.effect_size == pytest.approx(g.estimate, rel=1e-12)
    lin = causal.lin_adjusted(d, "y", "t", ["x"])
    # same denominator (unadjusted pooled SD x omega), different numerator
    assert lin.effect_size / lin.estimate == pytest.approx(dim.effect_size / dim.estimate, rel=1e-12)
    assert "WWC" in lin.effect_size_type


# --- randomization inference ----------------------------------------------------------------


def _diff(a, b, axis):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def test_permutation_exact_matches_scipy():
    """scipy.stats.permutation_test (exact enumeration of the 3,432 splits) as the reference."""
    rng = np.random.default_rng(1)
    y = rng.normal(size=14) + np.r_[np.full(7, 0.8), np.zeros(7)]
    d = pd.DataFrame({"y": y, "t": np.r_[np.ones(7), np.zeros(7)].astype(int)})
    e = causal.permutation_test(d, "y", "t", alternative="greater")
    ref = stats.permutation_test((y[:7], y[7:]), _diff, permutation_type="independent", alternative="greater",
                                 n_resamples=np.inf, vectorized=True)
    assert e.extra["exact"] and e.extra["n_assignments"] == 3432
    assert e.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    assert np.isnan(e.ci_low)


def test_permutation_of_clusters_matches_scipy_on_cluster_means():
    """Equal cluster sizes: re-randomizing 10 clusters = permuting the 10 cluster means."""
    rng = np.random.default_rng(2)
    cl = np.repeat(np.arange(10), 6)
    treat = (cl < 5).astype(int)
    y = 0.7 * treat + rng.normal(size=10)[cl] + rng.normal(size=60)
    d = pd.DataFrame({"y": y, "t": treat, "c": cl})
    e = causal.permutation_test(d, "y", "t", cluster="c", alternative="less")
    m = d.groupby("c").y.mean().to_numpy()
    ref = stats.permutation_test((m[:5], m[5:]), _diff, permutation_type="independent", alternative="less",
                                 n_resamples=np.inf, vectorized=True)
    assert e.extra["n_assignments"] == 252
    assert e.p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_permutation_within_pairs_matches_scipy_sign_flips():
    """Blocks of two (one treated each): the blocked statistic is the mean paired difference and
    re-randomization flips signs, as scipy's permutation_type='samples' (2^8 = 256 assignments)."""
    rng = np.random.default_rng(4)
    pair_effect = rng.normal(size=8) * 3
    yt, yc = pair_effect + 0.5 + rng.normal(size=8), pair_effect + rng.normal(size=8)
    d = pd.DataFrame({"y": np.r_[yt, yc], "t": np.r_[np.ones(8), np.zeros(8)].astype(int),
                      "pair": np.r_[np.arange(8), np.arange(8)]})
    e = causal.permutation_test(d, "y", "t", block="pair", alternative="greater")
    ref = stats.permutation_test((yt, yc), _diff, permutation_type="samples", alternative="greater",
                                 n_resamples=np.inf, vectorized=True)
    assert e.extra["n_assignments"] == 256
    assert e.estimate == pytest.approx(np.mean(yt - yc))
    assert e.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    # matched-pair SE of the blocked difference in means (estimatr "Matched-pair" design)
    mp = causal.difference_in_means(d, "y", "t", block="pair")
    assert mp.std_error == pytest.approx(np.std(yt - yc, ddof=1) / np.sqrt(8))
    assert mp.df == 7


def test_permutation_monte_carlo_is_seeded_and_valid():
    rng = np.random.default_rng(8)
    d = pd.DataFrame({"y": rng.normal(size=60), "t": np.repeat([0, 1], 30)})
    a = causal.permutation_test(d, "y", "t", n_permutations=999, random_seed=3)
    b = causal.permutation_test(d, "y", "t", n_permutations=999, random_seed=3)
    assert not a.extra["exact"] and a.p_value == b.p_value
    assert 1 / 1000 <= a.p_value <= 1


# --- observational comparisons ---------------------------------------------------------------


@pytest.fixture(scope="module")
def confounded():
    """Selection on x1, x2; true effect 1.0 for everyone; naive difference is biased upwards."""
    rng = np.random.default_rng(12)
    n = 2000
    x1, x2 = rng.normal(size=n), rng.binomial(1, 0.4, size=n)
    ps = 1 / (1 + np.exp(-(-0.3 + 0.8 * x1 + 0.7 * x2)))
    t = rng.binomial(1, ps)
    y = 1.0 * t + 1.5 * x1 + 1.0 * x2 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "t": t, "x1": x1, "x2": x2})


def test_weighting_and_matching_remove_confounding(confounded):
    covs = ["x1", "x2"]
    naive = causal.difference_in_means(confounded, "y", "t")
    assert naive.estimate > 1.5  # confounded
    for e in (causal.ipw(confounded, "y", "t", covs), causal.aipw(confounded, "y", "t", covs),
              causal.ipw(confounded, "y", "t", covs, estimand="ATT"),
              causal.match(confounded, "y", "t", covs, random_seed=2)):
        assert abs(e.estimate - 1.0) < 3 * e.std_error + 0.05, e.method
    m = causal.match(confounded, "y", "t", covs, random_seed=2)
    bal = m.extra["balance"]
    assert (bal.smd_before.abs() > 0.2).all() and (bal.smd_after.abs() < 0.1).all()
    lps = np.log(m.extra["propensity_score"] / (1 - m.extra["propensity_score"]))
    assert m.extra["pairs"].distance.max() <= 0.2 * lps.std(ddof=1)
    assert m.n_treated == m.n_control == len(m.extra["pairs"])
    w = causal.ipw(confounded, "y", "t", covs).extra["balance"]
    assert (w.smd_after.abs() < 0.05).all()


def test_aipw_is_doubly_robust(confounded):
    """Propensity model missing x1 (wrong), outcome model right: AIPW still recovers 1.0; IPW does not."""
    wrong_ps = causal.ipw(confounded, "y", "t", ["x2"])
    dr = causal.aipw(confounded, "y", "t", ["x2"], outcome_covariates=["x1", "x2"])
    assert abs(wrong_ps.estimate - 1.0) > 0.5
    assert abs(dr.estimate - 1.0) < 3 * dr.std_error


def test_love_plot_png(confounded, tmp_path):
    bal = causal.ipw(confounded, "y", "t", ["x1", "x2"]).extra["balance"]
    f = tmp_path / "love.png"
    causal.love_plot(bal).savefig(f)
    assert f.exists() and f.stat().st_size > 5000


# --- difference in differences -------------------------------------------------------------


@pytest.fixture(scope="module")
def panel():
    return pd.read_csv(FIXTURES / "did_panel.csv")


def test_staggered_timing_warns(panel):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        causal.twfe(panel, "y", "D", "unit", "time")  # common timing: no warning
    stag = panel.copy()
    late = stag.unit.isin([f"u{i:02d}" for i in range(10)])
    stag.loc[late, "D"] = ((stag.time >= 7) & late).astype(int)[late]
    with pytest.warns(causal.StaggeredTimingWarning, match="Goodman-Bacon"):
        e = causal.twfe(stag, "y", "D", "unit", "time")
    assert any("Staggered" in n for n in e.notes)


def test_event_study_plot_png(panel, tmp_path):
    f = tmp_path / "event.png"
    causal.event_study_plot(causal.event_study(panel, "y", "unit", "time", "first")).savefig(f)
    assert f.exists() and f.stat().st_size > 5000


def test_rd_recovers_jump_and_plots(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.uniform(-1, 1, 3000)
    d = pd.DataFrame({"score": x, "y": 0.5 * x + 0.4 * (x >= 0) + rng.normal(0, 0.3, 3000)})
    e = causal.regression_discontinuity(d, "y", "score")
    assert e.ci_low < 0.4 < e.ci_high
    assert e.extra["table"].shape == (3, 6)
    f = tmp_path / "rd.png"
    causal.rd_plot(d, "y", "score").savefig(f)
    assert f.exists() and f.stat().st_size > 5000


# --- invariants (hypothesis) -----------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    y=st.lists(st.floats(-100, 100, allow_nan=False), min_size=6, max_size=30),
    a=st.floats(-50, 50),
    b=st.floats(0.1, 10),
    seed=st.integers(0, 10_000),
)
def test_difference_in_means_invariants(y, a, b, seed):
    y = np.asarray(y)
    t = np.zeros(len(y), dtype=int)
    t[np.random.default_rng(seed).permutation(len(y))[: len(y) // 2]] = 1
    if np.std(y[t == 1]) < 1e-3 or np.std(y[t == 0]) < 1e-3:
        return
    d = pd.DataFrame({"y": y, "t": t})
    e = causal.difference_in_means(d, "y", "t")
    flipped = causal.difference_in_means(d.assign(t=1 - t), "y", "t")
    assert flipped.estimate == pytest.approx(-e.estimate, abs=1e-9)
    assert flipped.std_error == pytest.approx(e.std_error, rel=1e-9)
    lin = causal.difference_in_means(d.assign(y=a + b * y), "y", "t")
    assert lin.estimate == pytest.approx(b * e.estimate, abs=1e-6 * max(1, b * abs(e.estimate)))
    assert lin.effect_size == pytest.approx(e.effect_size, abs=1e-7)
    assert e.ci_low <= e.estimate <= e.ci_high
    assert list(d.columns) == ["y", "t"]  # input untouched


def test_to_frame_and_html():
    d = pd.DataFrame({"y": [5, 6, 7, 4, 5, 6, 3], "t": [1, 1, 1, 0, 0, 0, 0]})
    e = causal.difference_in_means(d, "y", "t")
    row = e.to_frame()
    assert row.shape[0] == 1 and row.loc[0, "n_treated"] == 3
    assert "difference in means" in e._repr_html_()
