"""Variance options (``se_type``) of the causal estimators against R, to 1e-8.

Reference numbers: tests/causal/fixtures/r_variance_reference.csv, written by
tests/causal/fixtures/r_reference_variance.R (the exact R calls are there; one per ``case``) with
R 4.2.2, estimatr 1.0.0, sandwich 3.0.2, plm 2.6.2 from CSV exports of
``plmresearch.load_dataset("assistments_mastery_ab")`` (video as 0/1), ``load_dataset("hsb")`` and
tests/causal/fixtures/did_panel.csv. Estimates, standard errors and df are compared to 1e-8
(absolute); the largest differences seen were about 1e-12 (SE) and 1e-10 (CR2 df).

Two independent R implementations are used where they exist: ``estimatr::lm_robust``/``lm_lin``
(``se_type = "HC0"/"HC1"/"HC2"/"HC3"/"classical"/"CR0"/"stata"/"CR2"``) and ``sandwich::vcovHC`` /
``vcovCL`` (``type = "HC0"``, ``cadjust = FALSE`` is CR0; ``type = "HC1"``, ``cadjust = TRUE`` is
Stata's G/(G-1) (N-1)/(N-K)).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import plmresearch
from plmresearch import causal
from plmresearch.causal._ols import CLUSTER_SE_TYPES, SE_TYPES, ols
from plmresearch.errors import InputError, PlmError

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-8
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


@pytest.fixture(scope="module")
def ref():
    r = pd.read_csv(FIXTURES / "r_variance_reference.csv")
    return {case: g.set_index("term") for case, g in r.groupby("case")}


@pytest.fixture(scope="module")
def ab():
    return plmresearch.load_dataset("assistments_mastery_ab")


@pytest.fixture(scope="module")
def hsb():
    return plmresearch.load_dataset("hsb")


@pytest.fixture(scope="module")
def panel():
    return pd.read_csv(FIXTURES / "did_panel.csv")


def check_terms(coefs: pd.DataFrame, r: pd.DataFrame) -> float:
    """Compare a coefficients table (term, estimate, std_error) with every R term; return max |SE diff|."""
    c = coefs.set_index("term").loc[r.index]
    np.testing.assert_allclose(c.estimate, r.estimate, rtol=0, atol=TOL)
    np.testing.assert_allclose(c.std_error, r.std_error, rtol=0, atol=TOL)
    return float(np.max(np.abs(c.std_error - r.std_error)))


def check_estimate(est, r: pd.DataFrame, term: str, df: bool = True) -> None:
    assert est.estimate == pytest.approx(r.loc[term, "estimate"], abs=TOL)
    assert est.std_error == pytest.approx(r.loc[term, "std_error"], abs=TOL)
    if df:
        assert est.df == pytest.approx(r.loc[term, "df"], abs=TOL)


# --- no clusters: ASSISTments mastery A/B test (683 students) ----------------------------


@pytest.mark.parametrize("se_type", ["classical", "HC0", "HC1", "HC2", "HC3", "stata"])
def test_ancova_se_types_match_lm_robust(ab, ref, se_type):
    """lm_robust(completion ~ video + <9 covariates>, se_type = se_type); e.g. video SE:
    classical 0.0320998865784317, HC0 0.0320817581908648, HC1 = stata 0.0323432662888949,
    HC2 0.0324551830753502, HC3 0.0328657645946997; df 672."""
    e = causal.ancova(ab, "completion", "video", COVS, se_type=se_type)
    r = ref[f"ab_ancova_lm_robust_{se_type}"]
    check_estimate(e, r, "video")
    check_terms(e.extra["coefficients"], r)


@pytest.mark.parametrize("se_type", ["HC0", "HC1", "HC2", "HC3"])
def test_ancova_hc_types_match_sandwich_vcovHC(ab, ref, se_type):
    """sandwich::vcovHC(lm(completion ~ video + <9 covariates>), type = se_type), every coefficient."""
    e = causal.ancova(ab, "completion", "video", COVS, se_type=se_type)
    check_terms(e.extra["coefficients"], ref[f"ab_ancova_vcovHC_{se_type}"])


@pytest.mark.parametrize("se_type", ["HC0", "HC1", "HC3"])
def test_lin_hc_types_match_lm_lin(ab, ref, se_type):
    """lm_lin(completion ~ video, covariates = ~ <9 covariates>, se_type = se_type): video SE
    HC0 0.0319544877710253, HC1 0.0324328749707103, HC3 0.0334210299860385 (df 663)."""
    e = causal.lin_adjusted(ab, "completion", "video", COVS, se_type=se_type)
    r = ref[f"ab_lin_lm_lin_{se_type}"]
    check_estimate(e, r, "video")
    check_terms(e.extra["coefficients"], r)


# --- clusters: HSB, 7,185 students in 160 schools -----------------------------------------


@pytest.mark.parametrize("se_type", ["CR0", "stata", "CR2"])
def test_cluster_se_types_match_lm_robust(hsb, ref, se_type):
    """lm_robust(mathach ~ catholic (+ ses), clusters = school, se_type) and lm_lin(..., covariates =
    ~ ses + female): catholic SE for the ANCOVA CR0 0.316139889388853, stata 0.317176635246572,
    CR2 0.318473701654596 (df 159, 159, 141.463665302769)."""
    check_estimate(causal.ancova(hsb, "mathach", "catholic", "ses", cluster="school", se_type=se_type),
                   ref[f"hsb_ancova_lm_robust_{se_type}"], "catholic")
    check_estimate(causal.difference_in_means(hsb, "mathach", "catholic", cluster="school", se_type=se_type),
                   ref[f"hsb_dim_lm_robust_{se_type}"], "catholic")
    e = causal.lin_adjusted(hsb, "mathach", "catholic", ["ses", "female"], cluster="school", se_type=se_type)
    r = ref[f"hsb_lin_lm_lin_{se_type}"]
    check_estimate(e, r, "catholic")
    check_terms(e.extra["coefficients"], r)


@pytest.mark.parametrize("se_type", ["CR0", "stata"])
def test_cluster_se_types_match_sandwich_vcovCL(hsb, ref, se_type):
    """sandwich::vcovCL(lm(mathach ~ catholic + ses), cluster = ~ school): CR0 = type "HC0",
    cadjust = FALSE; stata = type "HC1", cadjust = TRUE (catholic SE 0.317176635246598)."""
    e = causal.ancova(hsb, "mathach", "catholic", "ses", cluster="school", se_type=se_type)
    check_terms(e.extra["coefficients"], ref[f"hsb_ancova_vcovCL_{se_type}"])


@pytest.mark.parametrize("se_type", ["CR0", "stata", "HC0", "HC1", "HC2", "HC3"])
def test_weighted_least_squares_se_types_match_lm_robust(hsb, ref, se_type):
    """lm_robust(mathach ~ catholic + ses, weights = 1 + minority + female/2 [, clusters = school],
    se_type): catholic SE stata 0.339864521780105, HC1 0.1623342638252. Kernel-level check (no public
    estimator takes arbitrary weights).

    Not CR2: with weights the kernel applies CR2 to the sqrt(w)-scaled regression (as before this
    change), while estimatr and clubSandwich::vcovCR take the working model on the unweighted scale
    (catholic SE 0.34178222142458 in the fixture vs 0.34158450720 here, 0.06 % apart; clubSandwich
    with inverse_var = TRUE prints 0.341568393404232). Documented in plmresearch/causal/_ols.py."""
    w = 1 + hsb.minority + hsb.female / 2
    X = np.column_stack([np.ones(len(hsb)), hsb.catholic, hsb.ses])
    cl = hsb.school.to_numpy() if se_type in CLUSTER_SE_TYPES else None
    fit = ols(hsb.mathach.to_numpy(), X, se_type=se_type, cluster=cl, weights=w.to_numpy())
    r = ref[f"hsb_wls_lm_robust_{se_type}"]
    np.testing.assert_allclose(fit.coef, r.estimate, rtol=0, atol=TOL)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), r.std_error, rtol=0, atol=TOL)
    np.testing.assert_allclose(fit.df, r.df, rtol=0, atol=TOL)


@pytest.mark.parametrize("case,se_type", [("hsb_wls_vcovCL_stata", "stata"), ("hsb_wls_vcovHC_HC0", "HC0"),
                                          ("hsb_wls_vcovHC_HC1", "HC1"), ("hsb_wls_vcovHC_HC3", "HC3")])
def test_weighted_least_squares_match_sandwich(hsb, ref, case, se_type):
    """sandwich::vcovCL / vcovHC on lm(mathach ~ catholic + ses, weights = 1 + minority + female/2)."""
    w = 1 + hsb.minority + hsb.female / 2
    X = np.column_stack([np.ones(len(hsb)), hsb.catholic, hsb.ses])
    cl = hsb.school.to_numpy() if se_type == "stata" else None
    fit = ols(hsb.mathach.to_numpy(), X, se_type=se_type, cluster=cl, weights=w.to_numpy())
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), ref[case].std_error, rtol=0, atol=TOL)


# --- panel with unit and period fixed effects: areg versus xtreg conventions ---------------


@pytest.mark.parametrize("se_type", ["CR0", "stata"])
def test_twfe_se_types_match_lm_robust(panel, ref, se_type):
    """lm_robust(y ~ D + factor(unit) + factor(time), clusters = unit, se_type): D SE CR0
    0.207930567154289, stata 0.228048342377713 (df 39). estimatr's ``fixed_effects = ~ unit + time``
    gives the same stata SE (0.228048342377715): it counts the absorbed levels in K, as areg does."""
    e = causal.twfe(panel, "y", "D", "unit", "time", se_type=se_type)
    check_estimate(e, ref[f"panel_twfe_dummies_lm_robust_{se_type}"], "D")
    if se_type == "stata":
        check_estimate(e, ref["panel_twfe_fixed_effects_lm_robust_stata"], "D")


def test_small_sample_k_matches_plm_within_sss(panel, ref):
    """plm(y ~ D + factor(time), model = "within", index = c("unit", "time")) with
    vcovHC(type = "sss", cluster = "group"): D SE 0.212928637358201 = CR0 x G/(G-1) (N-1)/(N-K) with
    K = 8 (D and 7 period dummies; plm counts no constant). The kernel with small_sample_k = 8 on the
    dummy-variable design gives it; plm's HC0 (0.20793056715429) equals CR0."""
    U = pd.get_dummies(panel.unit, drop_first=True, dtype=float).to_numpy()
    T = pd.get_dummies(panel.time, drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([np.ones(len(panel)), panel.D, U, T])
    fit = ols(panel.y.to_numpy(), X, se_type="stata", cluster=panel.unit.to_numpy(), small_sample_k=8)
    assert fit.se(1) == pytest.approx(ref["panel_twfe_plm_within_vcovHC_sss"].loc["D", "std_error"], abs=TOL)
    e0 = causal.twfe(panel, "y", "D", "unit", "time", se_type="CR0")
    assert e0.std_error == pytest.approx(ref["panel_twfe_plm_within_vcovHC_HC0"].loc["D", "std_error"], abs=TOL)


def test_twfe_xtreg_convention(panel, ref):
    """stata_fe="xtreg": K = D + 7 period dummies + constant = 9, as ``xtreg y D i.time, fe
    vce(cluster unit)`` counts (Stata's printed nlswork output, ``xtreg ln_w age tenure, fe
    vce(cluster idcode)`` vs ``regress ... i.idcode``: SEs .0153029 / .0159834 = sqrt(88/96), i.e.
    K = 3 vs 11). So its variance is plm's "sss" (K = 8, previous test) times (N-8)/(N-9)."""
    e = causal.twfe(panel, "y", "D", "unit", "time", se_type="stata", stata_fe="xtreg")
    n = len(panel)
    plm_sss = ref["panel_twfe_plm_within_vcovHC_sss"].loc["D", "std_error"]
    assert e.std_error == pytest.approx(plm_sss * np.sqrt((n - 8) / (n - 9)), abs=TOL)
    assert e.df == 39
    assert "xtreg" in e.method


def test_the_nlswork_ratio_of_xtreg_to_regress():
    """The Stata output quoted above: (.0153029 / .0159834)^2 = 0.91666 and (.0157976 / .0165)^2 =
    0.91667, i.e. (99 - 11) / (99 - 3) with N = 99 (K = 11 for regress with 8 idcode dummies,
    K = 3 for xtreg, fe) -- the convention stata_fe="xtreg" implements."""
    for se_xt, se_reg in [(0.0153029, 0.0159834), (0.0157976, 0.0165)]:
        assert (se_xt / se_reg) ** 2 == pytest.approx((99 - 11) / (99 - 3), abs=2e-5)


# --- the other estimators accept se_type ----------------------------------------------------


def test_other_estimators_accept_se_types(hsb, ab):
    """block_fixed_effects, did_2x2, iv_late, cluster_means and difference_in_means without clusters
    take the same names; DIM with HC2 equals the Neyman SE (Samii & Aronow 2012)."""
    neyman = causal.difference_in_means(ab, "completion", "video")
    hc2 = causal.difference_in_means(ab, "completion", "video", se_type="HC2")
    assert hc2.std_error == pytest.approx(neyman.std_error, rel=1e-12)
    hc1 = causal.difference_in_means(ab, "completion", "video", se_type="stata")
    assert "HC1" in hc1.method and hc1.df == len(ab) - 2
    h = hsb.assign(sector_block=hsb.school.astype(int) % 5)
    b0 = causal.block_fixed_effects(h, "mathach", "catholic", "sector_block", se_type="HC0")
    b1 = causal.block_fixed_effects(h, "mathach", "catholic", "sector_block", se_type="HC1")
    k = 2 + 4  # intercept, catholic, 4 block dummies
    assert b1.std_error**2 == pytest.approx(b0.std_error**2 * len(h) / (len(h) - k), rel=1e-12)
    c = causal.cluster_means(hsb, "mathach", "catholic", "school", se_type="HC1")
    assert "HC1" in c.method


# --- bad input ---------------------------------------------------------------------------------


def test_unknown_se_type_lists_the_valid_names(ab, hsb):
    with pytest.raises(InputError, match=r"one of \['classical', 'HC0', 'HC1', 'HC2', 'HC3', 'stata'\]"):
        causal.ancova(ab, "completion", "video", COVS, se_type="HC4")
    with pytest.raises(InputError, match=r"one of \['CR0', 'CR2', 'stata'\].*drop `cluster`"):
        causal.ancova(hsb, "mathach", "catholic", "ses", cluster="school", se_type="HC1")
    with pytest.raises(InputError, match="need cluster labels"):
        causal.lin_adjusted(ab, "completion", "video", COVS, se_type="CR0")
    with pytest.raises(PlmError, match="not available with `block`"):
        causal.difference_in_means(hsb, "mathach", "catholic", block="school", se_type="HC1")
    with pytest.raises(InputError, match="one of"):
        causal.twfe(pd.read_csv(FIXTURES / "did_panel.csv"), "y", "D", "unit", "time", se_type="HC2")


def test_stata_fe_checks(panel):
    with pytest.raises(InputError, match="'areg' or 'xtreg'"):
        causal.twfe(panel, "y", "D", "unit", "time", se_type="stata", stata_fe="reghdfe")
    crossed = panel.assign(period_cluster=panel.time)
    with pytest.raises(InputError, match="nested"):
        causal.twfe(crossed, "y", "D", "unit", "time", cluster="period_cluster", se_type="stata", stata_fe="xtreg")


def test_single_cluster_and_bad_small_sample_k():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(20), rng.normal(size=20)])
    y = rng.normal(size=20)
    with pytest.raises(InputError, match="at least 2 clusters"):
        ols(y, X, se_type="stata", cluster=np.zeros(20))
    with pytest.raises(InputError, match="small_sample_k"):
        ols(y, X, se_type="HC1", small_sample_k=20)


def test_se_type_lists_are_estimatrs():
    """estimatr:::check_se_type: c("HC0", "HC1", "HC2", "HC3", "classical", "stata") and c("CR0", "CR2", "stata")."""
    assert set(SE_TYPES) == {"HC0", "HC1", "HC2", "HC3", "classical", "stata"}
    assert set(CLUSTER_SE_TYPES) == {"CR0", "CR2", "stata"}
