"""Reference checks of plmresearch.causal against R implementations and published output.

Numbers below were printed by R 4.x with estimatr 1.0.0, clubSandwich 0.5.8, AER 1.2.10,
metafor 3.8.1 (``packageVersion(...)``), from CSV exports of ``plmresearch.load_dataset``
frames built exactly as in the fixtures here. Each test quotes its R call. Estimates are
checked to 1e-6 and standard errors to 1e-4 (they agree to ~1e-10).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import plmresearch
from plmresearch import causal

FIXTURES = Path(__file__).parent / "fixtures"
COVS = [
    "student_prior_started_skill_builder_count",
    "student_prior_completed_skill_builder_count",
    "student_prior_started_problem_set_count",
    "student_prior_completed_problem_set_count",
    "student_prior_completed_problem_count",
    "student_prior_median_first_response_time",
    "student_prior_median_time_on_task",
    "student_prior_average_correctness",
    "student_prior_average_attempt_count",
]


def close(est, ref_est, ref_se, ref_df=None):
    assert est.estimate == pytest.approx(ref_est, abs=1e-6)
    assert est.std_error == pytest.approx(ref_se, abs=1e-4)
    if ref_df is not None:
        assert est.df == pytest.approx(ref_df, abs=1e-4)


@pytest.fixture(scope="module")
def ab():
    return plmresearch.load_dataset("assistments_mastery_ab")


@pytest.fixture(scope="module")
def hsb():
    return plmresearch.load_dataset("hsb")


@pytest.fixture(scope="module")
def star_k():
    """AER::STAR kindergarten, small vs regular, score = read_k + math_k, block = school_k.

    School 14 (no regular-class student with a score) is dropped: 3,730 students, 78 schools.
    """
    s = plmresearch.load_dataset("star")
    k = s[s.class_type_k.isin(["small", "regular"])].copy()
    k["small"] = (k.class_type_k == "small").astype(int)
    k["score"] = k.read_k + k.math_k
    k = k.dropna(subset=["score"])
    k["school_k"] = k.school_k.astype(int)
    k = k[k.school_k != 14]
    assert len(k) == 3730
    return k[["student", "school_k", "small", "score"]]


@pytest.fixture(scope="module")
def star_1():
    """AER::STAR: kindergarten small/regular assignment vs grade-1 class received (2,795 students)."""
    s = plmresearch.load_dataset("star")
    g = s[s.class_type_k.isin(["small", "regular"]) & s.class_type_1.notna()].copy()
    g["assigned"] = (g.class_type_k == "small").astype(int)
    g["received"] = (g.class_type_1 == "small").astype(int)
    g["score"] = g.read_1 + g.math_1
    g = g.dropna(subset=["score"])
    g["school_1"] = g.school_1.astype(int)
    assert len(g) == 2795
    return g


# --- randomized, individual level (ASSISTments mastery A/B test) -------------------------


def test_dim_welch_matches_estimatr_and_t_test(ab):
    """estimatr::difference_in_means(completion ~ video): 0.0505051371 (0.0377370850), df 680.943226.
    Also the drct-tutorial's printed t.test: diff 0.05050514, SE 0.03773709, t 1.3383, p 0.1812."""
    e = causal.difference_in_means(ab, "completion", "video")
    close(e, 0.0505051371, 0.0377370850, 680.943226)
    assert e.statistic == pytest.approx(1.3383, abs=5e-5)
    assert e.p_value == pytest.approx(0.1812, abs=5e-5)
    assert (e.n_treated, e.n_control) == (337, 346)


def test_lin_matches_estimatr_lm_lin(ab):
    """estimatr::lm_lin(completion ~ video, covariates = ~ <9 student_prior_*>): 0.0591824190 (0.0326256624), df 663."""
    e = causal.lin_adjusted(ab, "completion", "video", COVS)
    close(e, 0.0591824190, 0.0326256624, 663)


def test_ancova_matches_lm_robust_hc2(ab):
    """estimatr::lm_robust(completion ~ video + <9 covariates>, se_type = "HC2"): 0.0599592524 (0.0324551831), df 672."""
    e = causal.ancova(ab, "completion", "video", COVS)
    close(e, 0.0599592524, 0.0324551831, 672)


# --- cluster-randomized: HSB, Catholic vs public schools (clusters = schools) -------------


def test_dim_cr2_matches_estimatr(hsb):
    """estimatr::difference_in_means(mathach ~ catholic, clusters = school): 2.8062247411 (0.4230679291), df 146.699124."""
    e = causal.difference_in_means(hsb, "mathach", "catholic", cluster="school")
    close(e, 2.8062247411, 0.4230679291, 146.699124)
    assert e.n_clusters == 160


def test_lin_cr2_matches_estimatr(hsb):
    """estimatr::lm_lin(mathach ~ catholic, covariates = ~ ses + female, clusters = school): 1.9777169254 (0.3129531871), df 140.225261."""
    e = causal.lin_adjusted(hsb, "mathach", "catholic", ["ses", "female"], cluster="school")
    close(e, 1.9777169254, 0.3129531871, 140.225261)


def test_ancova_cr2_matches_estimatr_and_clubsandwich(hsb):
    """estimatr::lm_robust(mathach ~ catholic + ses, clusters = school, se_type = "CR2"): 1.9350129633 (0.3184737017),
    df 141.463665; clubSandwich::coef_test(lm(...), vcov = "CR2", cluster = school, test = "Satterthwaite")
    prints SE 0.318, d.f. 141.5 (and 0.128 / 132.9 for ses)."""
    e = causal.ancova(hsb, "mathach", "catholic", "ses", cluster="school")
    close(e, 1.9350129633, 0.3184737017, 141.463665)
    ses = e.extra["coefficients"].set_index("term").loc["ses"]
    assert ses.estimate == pytest.approx(2.9485577165, abs=1e-6)
    assert ses.std_error == pytest.approx(0.1284743589, abs=1e-4)


def test_cluster_means_matches_lm_robust(hsb):
    """agg <- aggregate(cbind(mathach, catholic) ~ school, h, mean);
    estimatr::lm_robust(mathach ~ catholic, data = agg, se_type = "HC2"): 2.8143295289 (0.4436220207), df 158."""
    e = causal.cluster_means(hsb, "mathach", "catholic", "school")
    close(e, 2.8143295289, 0.4436220207, 158)


# --- blocked / multisite: STAR kindergarten, blocks = schools ----------------------------


def test_blocked_dim_matches_estimatr(star_k):
    """estimatr::difference_in_means(score ~ small, blocks = school_k): 16.1991768795 (2.1824103137), df 3574."""
    e = causal.difference_in_means(star_k, "score", "small", block="school_k")
    close(e, 16.1991768795, 2.1824103137, 3574)
    assert len(e.extra["blocks"]) == 78


def test_block_fixed_effects_match_lm_robust(star_k):
    """lm_robust(score ~ small + factor(school_k), se_type = "HC2"): 15.9977766114 (2.2486918103), df 3651;
    with clusters = school_k, se_type = "CR2": 15.9977766114 (4.3624452789), df 68.883289."""
    close(causal.block_fixed_effects(star_k, "score", "small", "school_k"), 15.9977766114, 2.2486918103, 3651)
    e = causal.block_fixed_effects(star_k, "score", "small", "school_k", cluster="school_k")
    close(e, 15.9977766114, 4.3624452789, 68.883289)


def test_precision_weighted_block_effects_match_metafor(star_k):
    """Per-school Welch differences yi, vi; metafor::rma(yi, vi, method = "FE"): 14.3180341015 (1.9559505541).
    Equal weights: mean(yi) = 15.3295305873, sqrt(sum(vi))/78 = 2.2215459388."""
    close(causal.block_effects(star_k, "score", "small", "school_k"), 14.3180341015, 1.9559505541)
    close(causal.block_effects(star_k, "score", "small", "school_k", weighting="equal"), 15.3295305873, 2.2215459388)
    units = causal.block_effects(star_k, "score", "small", "school_k", weighting="units")
    close(units, 16.1991768795, 2.1824103137)


# --- noncompliance: STAR, K assignment as instrument for grade-1 small class ---------------


def test_iv_late_matches_ivreg_and_iv_robust(star_1):
    """AER::ivreg(score ~ received | assigned): 23.4883733819; estimatr::iv_robust(..., se_type = "HC2"):
    SE 4.1904713245, df 2793; with clusters = school_1 (CR2): SE 5.6033564674, df 64.782730.
    ITT lm_robust(score ~ assigned, HC2): 19.7822135389 (3.5351168481); first stage 0.8422130054 (0.0101989147)."""
    e = causal.iv_late(star_1, "score", "received", "assigned")
    close(e, 23.4883733819, 4.1904713245, 2793)
    close(e.extra["itt_estimate"], 19.7822135389, 3.5351168481)
    assert e.extra["itt"] == pytest.approx(19.7822135389, abs=1e-6)
    assert e.extra["first_stage"] == pytest.approx(0.8422130054, abs=1e-8)
    assert e.extra["first_stage_se"] == pytest.approx(0.0101989147, abs=1e-6)
    assert e.extra["compliance"] == pytest.approx(0.8422130054, abs=1e-8)  # no covariates: same as first stage
    c = causal.iv_late(star_1, "score", "received", "assigned", cluster="school_1")
    close(c, 23.4883733819, 5.6033564674, 64.782730)


# --- propensity weighting: HSB Catholic vs public as an observational comparison ----------


def test_ipw_matches_glm_plus_weighted_lm_robust(hsb):
    """ps <- fitted(glm(catholic ~ ses + minority + female, binomial)); w = 1/ps or 1/(1-ps) (ATE), 1 or ps/(1-ps) (ATT);
    lm_robust(mathach ~ catholic, weights = w, se_type = "HC2"): ATE 2.2832737181 (0.1657275179), ATT 2.1742136397 (0.1694871363).
    ps[1:3] = 0.2617671044 0.3823263547 0.3709057670."""
    covs = ["ses", "minority", "female"]
    e = causal.ipw(hsb, "mathach", "catholic", covs)
    close(e, 2.2832737181, 0.1657275179, 7183)
    assert e.extra["propensity_score"].iloc[:3].to_numpy() == pytest.approx([0.2617671044, 0.3823263547, 0.3709057670], abs=1e-8)
    close(causal.ipw(hsb, "mathach", "catholic", covs, estimand="ATT"), 2.1742136397, 0.1694871363, 7183)


# --- difference in differences: simulated panel (tests/causal/fixtures/did_panel.csv) -----


@pytest.fixture(scope="module")
def panel():
    return pd.read_csv(FIXTURES / "did_panel.csv")


def test_did_2x2_matches_lm_robust(panel):
    """two <- panel[time %in% c(4, 5)]; lm_robust(y ~ treated_group * post, clusters = unit, se_type = "CR2"):
    0.7434915910 (0.4314665895), df 38; se_type = "HC2": SE 0.5542179447, df 76."""
    two = panel[panel.time.isin([4, 5])]
    close(causal.did_2x2(two, "y", "treated_group", "post", cluster="unit"), 0.7434915910, 0.4314665895, 38)
    close(causal.did_2x2(two, "y", "treated_group", "post"), 0.7434915910, 0.5542179447, 76)


def test_twfe_matches_lm_robust(panel):
    """lm_robust(y ~ D + factor(unit) + factor(time), clusters = unit, se_type = "CR2") and
    lm_robust(y ~ D, fixed_effects = ~ unit + time, ...): 1.2089795022 (0.2133322606), df 38."""
    close(causal.twfe(panel, "y", "D", "unit", "time"), 1.2089795022, 0.2133322606, 38)


def test_event_study_matches_lm_robust(panel):
    """lm_robust(y ~ em4 + em3 + em2 + e0 + e1 + e2 + e3 + factor(unit) + factor(time), clusters = unit, se_type = "CR2")."""
    ref = {-4: (-0.4952390112, 0.3713926599), -3: (0.4047000869, 0.4300309879), -2: (-0.3008543872, 0.4790732101),
           0: (0.7434915910, 0.4314665895), 1: (1.1578790622, 0.4476370494), 2: (1.1217782156, 0.4787067855),
           3: (1.4213758285, 0.4132163096)}
    tab = causal.event_study(panel, "y", "unit", "time", "first").set_index("relative_time")
    for k, (b, se) in ref.items():
        assert tab.loc[k, "estimate"] == pytest.approx(b, abs=1e-6)
        assert tab.loc[k, "std_error"] == pytest.approx(se, abs=1e-4)
    assert tab.loc[-1, "estimate"] == 0


# --- regression discontinuity: rdrobust's U.S. Senate data --------------------------------


def test_rd_matches_published_rdrobust_output():
    """rdrobust(vote, margin) on the Senate data (Cattaneo, Frandsen & Titiunik 2015), R output printed in
    the rdrobust tutorials: Conventional 7.414 (1.459), robust 95% CI [4.094, 10.919], BW est. (h) 17.754,
    Eff. Number of Obs 360 (left) / 323 (right). 93 elections without an outcome are dropped as attrition."""
    from rdrobust import rdrobust_RDsenate

    d = rdrobust_RDsenate()
    e = causal.regression_discontinuity(d, "vote", "margin", missing="drop")
    assert e.estimate == pytest.approx(7.414, abs=5e-4)
    assert e.std_error == pytest.approx(1.459, abs=5e-4)
    assert (e.ci_low, e.ci_high) == pytest.approx((4.094, 10.919), abs=5e-4)
    assert e.extra["bandwidth"] == pytest.approx(17.754, abs=5e-4)
    assert (e.n_control, e.n_treated) == (360, 323)
    assert any("attrition" in n for n in e.notes)


def test_block_clustered_and_paired_cluster_designs_match_estimatr():
    """Simulated fixtures (tests/causal/fixtures). estimatr 1.0.0:
    difference_in_means(y ~ treat, blocks = block, clusters = cluster, data = block_cluster.csv):
    "Block-clustered" 0.3316922515 (0.2789402072), df 20;
    difference_in_means(y ~ treat, blocks = pair, clusters = cluster, data = paired_clusters.csv):
    "Matched-pair clustered" 0.2728074679 (0.3938947612), df 6."""
    d = pd.read_csv(FIXTURES / "block_cluster.csv")
    close(causal.difference_in_means(d, "y", "treat", cluster="cluster", block="block"), 0.3316922515, 0.2789402072, 20)
    p = pd.read_csv(FIXTURES / "paired_clusters.csv")
    close(causal.difference_in_means(p, "y", "treat", cluster="cluster", block="pair"), 0.2728074679, 0.3938947612, 6)


def test_aipw_matches_r_transcription_of_the_formula(hsb):
    """No AIPW package is installed in R here, so this is the Glynn & Quinn (2010) formula computed
    independently in R 4.x with base glm/lm (not a package's printed output):
    ps <- fitted(glm(catholic ~ ses + minority + female, binomial)); m1/m0 <- predict(lm(mathach ~ ses +
    minority + female, subset = arm), newdata = h); psi <- m1 - m0 + t (y - m1)/ps - (1 - t)(y - m0)/(1 - ps);
    mean(psi) = 2.2888164231, sd(psi)/sqrt(n) = 0.1518416392."""
    e = causal.aipw(hsb, "mathach", "catholic", ["ses", "minority", "female"])
    close(e, 2.2888164231, 0.1518416392)
