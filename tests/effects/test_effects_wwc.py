"""WWC procedures against printed reference values (sources in each docstring)."""

import numpy as np
import pandas as pd
import pytest

import plmresearch
from plmresearch.effects import (
    WWC_DEFAULT_ICC,
    add_wwc_effect_size,
    attrition_boundary_table,
    attrition_check,
    attrition_rates,
    baseline_equivalence,
    benjamini_hochberg,
    classify_attrition,
    classify_baseline_difference,
    cluster_adjusted_df,
    clustering_corrected_test,
    improvement_index,
    wwc_cluster_adjusted_g,
    wwc_omega,
)
from plmresearch.errors import InputError


def baselinr_transcription() -> pd.DataFrame:
    """A THIRD-PARTY transcription of WWC Standards Handbook v4.1 Table II.1, copied from the
    R package baselinr (zl1212-ship-it/baselinr @ c4018eb, R/attrition_boundary.R,
    `.wwc_attrition_table()`). Used here to reproduce baselinr's printed examples and, in
    test_effects_attrition_table.py, as the check of the table plmresearch ships (status SECONDARY)."""
    cautious = [5.7, 5.8, 5.9, 5.9, 6.0, 6.1, 6.2, 6.3, 6.3, 6.3, 6.3, 6.2, 6.2, 6.1, 6.0,
                5.9, 5.9, 5.8, 5.7, 5.5, 5.4, 5.3, 5.2, 5.1, 4.9, 4.8, 4.7, 4.5, 4.4, 4.3,
                4.1, 4.0, 3.8, 3.6, 3.5, 3.3, 3.2, 3.1, 2.9, 2.8, 2.6, 2.5, 2.3, 2.1, 2.0,
                1.8, 1.6, 1.5, 1.3, 1.2, 1.0, 0.9, 0.7, 0.6, 0.4, 0.3, 0.2, 0.0] + [np.nan] * 8
    optimistic = [10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.7, 10.8, 10.9, 10.9, 10.9, 10.9,
                  10.9, 10.8, 10.8, 10.7, 10.6, 10.5, 10.3, 10.2, 10.0, 9.9, 9.7, 9.5, 9.4,
                  9.2, 9.0, 8.8, 8.6, 8.4, 8.2, 8.0, 7.8, 7.6, 7.4, 7.2, 7.0, 6.7, 6.5, 6.3,
                  6.0, 5.8, 5.6, 5.3, 5.1, 4.9, 4.6, 4.4, 4.2, 3.9, 3.7, 3.5, 3.2, 3.0, 2.8,
                  2.6, 2.3, 2.1, 1.9, 1.6, 1.4, 1.1, 0.9, 0.7, 0.5, 0.3]
    return pd.DataFrame({"overall": range(66), "cautious": cautious, "optimistic": optimistic})


def test_improvement_index_handbook_example():
    """WWC Procedures and Standards Handbook v2.0 (2008) App. F: ES 0.25 -> U3 60% -> index 10
    (reported in whole points); exact 100(Phi(0.25) - 0.5) = 9.8706325683 (sheet §1.5)."""
    assert round(improvement_index(0.25)) == 10
    assert improvement_index(0.25) == pytest.approx(9.8706325683, abs=1e-9)
    assert improvement_index([0.25, 0.2051871564]) == pytest.approx([9.8706325683, 8.1287048166], abs=1e-9)


def test_wwc_omega():
    """WWC omega 1 - 3/(4N - 9): N = 6 -> 0.8 (baselinr vignette, pretests (5,6,7) vs (4,5,6) -> 0.8);
    N = 100 -> 0.9923273657 (sheet §1.1)."""
    assert wwc_omega(6) == pytest.approx(0.8)
    assert wwc_omega(100) == pytest.approx(0.9923273657, abs=1e-10)


def test_cluster_adjusted_df_vivecampbell():
    """VIVECampbell df_h(N_total = 100, ICC = 0.1, avg_grp_size = 5) = 94.40 (WWC 2022 eq. E.21);
    unrounded 94.4028776978 (sheet §1.4)."""
    assert cluster_adjusted_df(100, 5, 0.1) == pytest.approx(94.4028776978, abs=1e-9)
    assert round(cluster_adjusted_df(100, 5, 0.1), 2) == 94.40


def test_clustering_correction_baselinr_printed():
    """baselinr reference/cluster_correction.md (WWC Procedures Handbook v4.1 App. F):
    cluster_correction(g = 0.30, n 200/200, m 10/10, outcome = "achievement") prints
    t 2.983266, t_corrected 1.348605, df 231.6576, p_value 0.1787808, significant FALSE."""
    r = clustering_corrected_test(0.30, 200, 200, 10, 10)
    assert r.t == pytest.approx(2.983266, abs=5e-7)
    assert r.t_corrected == pytest.approx(1.348605, abs=5e-7)
    assert r.df == pytest.approx(231.6576, abs=5e-5)
    assert r.p_value == pytest.approx(0.1787808, abs=5e-8)
    assert not r.significant and r.icc == WWC_DEFAULT_ICC["achievement"] == 0.20
    assert r.to_frame().shape == (1, 8)


def test_cluster_adjusted_g_hedges_2007_factor():
    """Hedges (2007) factor sqrt(1 - 2(n-1)rho/(N-2)) for N = 400, n = 20, rho = 0.2:
    0.9904062412, so g_T = 0.2971218724 for g = 0.30 (sheet §1.4 [PY]); df h = 231.6575875486."""
    r = wwc_cluster_adjusted_g(0.30, 200, 200, cluster_size=20, icc=0.2)
    assert r.correction == pytest.approx(0.9904062412, abs=1e-10)
    assert r.estimate == pytest.approx(0.2971218724, abs=1e-10)
    assert r.df == pytest.approx(231.6575875486, abs=1e-8)
    # default ICC for a non-achievement outcome is imputed and noted
    other = wwc_cluster_adjusted_g(0.30, 200, 200, cluster_size=20, outcome_type="other")
    assert other.extra["icc"] == 0.10 and other.notes


def test_baseline_equivalence_categories():
    """baselinr wwc_classify(c(0.03, 0.12, 0.80)) docs (WWC v5.0): satisfied,
    satisfied with adjustment, not satisfied; boundaries 0.05 and 0.25 inclusive."""
    assert classify_baseline_difference([0.03, 0.12, 0.80]) == [
        "satisfied", "satisfied with adjustment", "not satisfied"]
    assert classify_baseline_difference(0.05) == "satisfied"
    assert classify_baseline_difference(-0.25) == "satisfied with adjustment"
    assert classify_baseline_difference(0.2500001) == "not satisfied"


def test_baseline_equivalence_table_baselinr_vignette():
    """baselinr getting-started vignette: treatment pretest (5, 6, 7) vs comparison (4, 5, 6)
    -> effect_size 0.8000000 (d = 1, omega = 0.8)."""
    df = pd.DataFrame({"pre": [5, 6, 7, 4, 5, 6], "t": [1, 1, 1, 0, 0, 0]})
    tab = baseline_equivalence(df, "t", ["pre"])
    assert tab.loc[0, "effect_size"] == pytest.approx(0.8)
    assert tab.loc[0, "status"] == "not satisfied"


def test_baseline_equivalence_hsb():
    """hsb (nlme::MathAchieve), Catholic vs Public. R 4.2.2: ses escalc("SMD") = 0.3860549670
    (exact J; WWC omega differs by < 1e-8 at N = 7185); minority Cox index
    (qlogis(0.2972057578) - qlogis(0.2528830313))/1.65 = 0.1349425607."""
    hsb = plmresearch.load_dataset("hsb")
    tab = baseline_equivalence(hsb, "catholic", ["ses", "minority"]).set_index("covariate")
    assert tab.loc["ses", "effect_size"] == pytest.approx(0.3860549670, abs=1e-7)
    assert tab.loc["ses", "status"] == "not satisfied"
    assert tab.loc["minority", "effect_size_type"] == "Cox index"
    assert tab.loc["minority", "effect_size"] == pytest.approx(0.1349425607, abs=1e-9)
    assert tab.loc["minority", "status"] == "satisfied with adjustment"


def test_attrition_rates_and_baselinr_examples():
    """baselinr reference/attrition_boundary.md printed examples, with its transcription of
    WWC SH v4.1 Table II.1: (0.08, 0.03) cautious -> max 0.063, low; (0.30, 0.06) cautious ->
    0.041, high; optimistic -> 0.082, low."""
    tab = baselinr_transcription()
    assert classify_attrition(0.08, 0.03, tab, "cautious") == ("low", pytest.approx(0.063))
    assert classify_attrition(0.30, 0.06, tab, "cautious") == ("high", pytest.approx(0.041))
    assert classify_attrition(0.30, 0.06, tab, "optimistic") == ("low", pytest.approx(0.082))
    # beyond the cautious boundary's last row (NaN) -> high regardless of differential
    assert classify_attrition(0.60, 0.0, tab, "cautious")[0] == "high"


def test_attrition_check_counts(tmp_path):
    """Rates by definition (baselinr attrition(), WWC v5.0): 100/100 randomized, 70/80 analyzed ->
    overall 0.25, arms 0.30/0.20, differential 0.10. Boundary read from a user CSV."""
    path = tmp_path / "boundary.csv"
    baselinr_transcription().to_csv(path, index=False)
    r = attrition_check(100, 100, 70, 80, boundary=path, assumption="optimistic")
    assert (r.overall, r.attrition_treated, r.attrition_control) == pytest.approx((0.25, 0.30, 0.20))
    assert r.differential == pytest.approx(0.10)
    assert r.cautious == "high" and r.optimistic == "high" and r.rating == "high"
    ok = attrition_check(100, 100, 95, 97, boundary=path)
    assert ok.cautious == "low" and ok.rating is None
    assert ok.to_frame().shape[0] == 1
    assert attrition_rates(10, 10, 10, 10)["overall"] == 0


def test_attrition_boundary_table_validation():
    with pytest.raises(InputError, match="cautious"):
        attrition_boundary_table(pd.DataFrame({"overall": [0, 1], "optimistic": [1, 2]}))
    with pytest.raises(InputError, match="percentage"):
        attrition_boundary_table(pd.DataFrame({"overall": [0], "cautious": [570], "optimistic": [10]}))


def test_benjamini_hochberg_statsmodels_bky_example():
    """Benjamini, Krieger & Yekutieli (2006) p-values; BH rejects 4 (statsmodels
    stats/tests/test_multi.py::test_fdr_bky); adjusted p from statsmodels 0.15.0 multipletests(fdr_bh)."""
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
         0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]
    out = benjamini_hochberg(p, labels=[f"o{i}" for i in range(15)])
    assert out["reject"].sum() == 4
    expected = [0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.063857, 0.063857, 0.0645, 0.0765,
                0.486, 0.581182, 0.714875, 0.753231, 0.813214, 1.0]
    assert out["p_adjusted"].to_numpy() == pytest.approx(expected, abs=5e-7)
    assert list(out.columns) == ["outcome", "p_value", "p_adjusted", "reject"]


def test_add_wwc_effect_size_to_estimate():
    """WWC rule on an Estimate: a regression difference of 3 (CI 1 to 5) with SDs 15/14 and n 50/50
    gives g_WWC = 0.2051871564 (sheet §1.1 [PY]); the CI is rescaled by the same factor."""
    from plmresearch.results import Estimate

    est = Estimate(estimate=3.0, std_error=1.0, ci_low=1.0, ci_high=5.0, method="OLS")
    out = add_wwc_effect_size(est, 15, 50, 14, 50)
    assert out.effect_size == pytest.approx(0.2051871564, abs=1e-9)
    assert out.effect_size_ci_low == pytest.approx(0.2051871564 / 3, abs=1e-9)
    assert out.effect_size_type == "Hedges' g (WWC)" and est.effect_size is None


def test_add_wwc_effect_size_rescales_posterior_draws():
    """A posterior estimate's draws move to the g scale with the same factor (g_WWC = 0.2051871564
    per 3 points, sheet §1.1 [PY]), so probabilities on the effect-size scale use g, not points."""
    from plmresearch.models import PosteriorEstimate

    draws = np.random.default_rng(1).normal(3.0, 1.0, size=4000)
    est = PosteriorEstimate.from_draws(draws, parameter="effect", method="test draws")
    out = add_wwc_effect_size(est, 15, 50, 14, 50)
    k = 0.2051871564 / 3
    assert out.effect_size_draws == pytest.approx(draws * k, rel=1e-9)
    assert out.prob_greater(0.2, scale="effect_size") == pytest.approx(np.mean(draws * k > 0.2))
    assert est.effect_size_draws is None  # the input is not modified
