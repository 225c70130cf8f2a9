"""Standardized mean differences against reference-package output.

Reference values were computed with R 4.2.2 (Debian bookworm) and
  metafor 3.8.1     (packageVersion("metafor"))
  effectsize 0.8.3  (packageVersion("effectsize"))
unless the test names another source. Tolerances: 1e-8 for closed forms, 1e-6 for
noncentral-t limits (effectsize finds them with optim, abstol ~1e-9).
"""

import numpy as np
import pytest

import plmresearch
from plmresearch.effects import (
    cohens_d,
    cohens_d_from_data,
    d_from_t,
    g_from_adjusted_difference,
    g_from_regression,
    glass_delta,
    glass_delta_from_data,
    hedges_correction,
    hedges_g,
    hedges_g_from_data,
    paired_d,
    pooled_sd,
    prepost_smcc,
    prepost_smcr,
)

# R datasets::sleep, `extra` by group (x = group 1, y = group 2)
SLEEP_X = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_Y = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
# "data set B" of the reference sheet (made-up, unequal n)
B_X = [5.1, 4.8, 6.0, 5.5, 6.2, 5.9, 4.7]
B_Y = [4.2, 4.9, 5.0, 4.1, 4.6, 5.3, 4.4, 3.9, 4.8]


def _summ(x, y):
    x, y = np.asarray(x), np.asarray(y)
    return dict(mean_t=x.mean(), sd_t=x.std(ddof=1), n_t=len(x), mean_c=y.mean(), sd_c=y.std(ddof=1), n_c=len(y))


def test_hedges_correction_exact_and_wwc():
    """Exact J: metafor 3.8.1 .cmicalc (J(8) = 0.9027033337, J(18) = 0.9576464270,
    J(98) = 0.9923240874); WWC omega 1 - 3/(4N - 9) for N = 20 (df 18) = 0.9577464789."""
    assert hedges_correction(8) == pytest.approx(0.9027033337, abs=1e-10)
    assert hedges_correction(18) == pytest.approx(0.9576464270, abs=1e-10)
    assert hedges_correction(98) == pytest.approx(0.9923240874, abs=1e-10)
    assert hedges_correction(18, exact=False) == pytest.approx(0.9577464789, abs=1e-10)


def test_pooled_sd_reference():
    """Reference sheet §1.1 [PY]: S_p for sd 15/14, n 50/50 = 14.5086181285."""
    assert pooled_sd(15, 50, 14, 50) == pytest.approx(14.5086181285, abs=1e-9)


def test_hedges_g_metafor_escalc_smd():
    """metafor: escalc("SMD", m1i=103, sd1i=15, n1i=50, m2i=100, sd2i=14, n2i=50)
    -> yi = 0.2051864785, vi = 0.0402105075; and (5, 2, 8; 4, 2.5, 10) -> 0.4149805738, 0.2297835799."""
    g = hedges_g(103, 15, 50, 100, 14, 50)
    assert g.estimate == pytest.approx(0.2051864785, abs=1e-9)
    assert g.variance == pytest.approx(0.0402105075, abs=1e-9)
    assert g.std_error == pytest.approx(np.sqrt(0.0402105075), abs=1e-9)
    g2 = hedges_g(5, 2, 8, 4, 2.5, 10)
    assert g2.estimate == pytest.approx(0.4149805738, abs=1e-9)
    assert g2.variance == pytest.approx(0.2297835799, abs=1e-9)
    # normal CI = g ± 1.959964 se
    assert g2.ci_low == pytest.approx(0.4149805738 - 1.959963985 * np.sqrt(0.2297835799), abs=1e-8)


def test_hedges_g_wwc_omega():
    """Reference sheet §1.1 [PY], WWC omega: g_WWC = 0.2051871564 (vs exact-J 0.2051864785)."""
    g = hedges_g(103, 15, 50, 100, 14, 50, exact=False)
    assert g.estimate == pytest.approx(0.2051871564, abs=1e-9)
    assert g.correction == pytest.approx(0.9923273657, abs=1e-9)


def test_cohens_d_noncentral_ci_sleep():
    """effectsize 0.8.3: cohens_d(x, y) on sleep = -0.8321810813, 95% CI [-1.738816769, 0.09545043566];
    ci = .90 -> [-1.59097715, -0.05161093878]."""
    d = cohens_d(**_summ(SLEEP_X, SLEEP_Y), ci_method="noncentral_t")
    assert d.estimate == pytest.approx(-0.8321810813, abs=1e-9)
    assert d.ci_low == pytest.approx(-1.738816769, abs=1e-6)
    assert d.ci_high == pytest.approx(0.09545043566, abs=1e-6)
    d90 = cohens_d(**_summ(SLEEP_X, SLEEP_Y), ci_method="noncentral_t", ci_level=0.90)
    assert (d90.ci_low, d90.ci_high) == pytest.approx((-1.59097715, -0.05161093878), abs=1e-6)


def test_hedges_g_noncentral_ci_sleep():
    """effectsize 0.8.3: hedges_g(x, y) on sleep = -0.7969352392, CI [-1.665171666, 0.09140776867]."""
    g = hedges_g(**_summ(SLEEP_X, SLEEP_Y), ci_method="noncentral_t")
    assert g.estimate == pytest.approx(-0.7969352392, abs=1e-9)
    assert (g.ci_low, g.ci_high) == pytest.approx((-1.665171666, 0.09140776867), abs=1e-6)


def test_hedges_g_approx_matches_pingouin():
    """pingouin 0.7.0 compute_effsize(x, y, eftype='hedges') (approximate J) = -0.7970185004."""
    g = hedges_g(**_summ(SLEEP_X, SLEEP_Y), exact=False)
    assert g.estimate == pytest.approx(-0.7970185004, abs=1e-9)


def test_data_set_b_d_g_glass():
    """effectsize 0.8.3 on data set B: d = 1.6676613136 [0.4844044655, 2.8081739212];
    90% CI [0.6679344726, 2.6181762620]; g = 1.5764197764 [0.4579015973, 2.6545323495];
    glass_delta = 1.8989425044 [0.3831712098, 3.3439318223]; metafor SMD vi = 0.3316276074."""
    s = _summ(B_X, B_Y)
    d = cohens_d(**s, ci_method="noncentral_t")
    assert d.estimate == pytest.approx(1.6676613136, abs=1e-9)
    assert (d.ci_low, d.ci_high) == pytest.approx((0.4844044655, 2.8081739212), abs=1e-6)
    d90 = cohens_d(**s, ci_method="noncentral_t", ci_level=0.9)
    assert (d90.ci_low, d90.ci_high) == pytest.approx((0.6679344726, 2.6181762620), abs=1e-6)
    g = hedges_g(**s, ci_method="noncentral_t")
    assert g.estimate == pytest.approx(1.5764197764, abs=1e-9)
    assert g.variance == pytest.approx(0.3316276074, abs=1e-9)
    assert (g.ci_low, g.ci_high) == pytest.approx((0.4579015973, 2.6545323495), abs=1e-6)
    gd = glass_delta(**s, ci_method="noncentral_t")
    assert gd.estimate == pytest.approx(1.8989425044, abs=1e-9)
    assert (gd.ci_low, gd.ci_high) == pytest.approx((0.3831712098, 3.3439318223), abs=1e-6)


def test_glass_delta_sleep_and_smd1():
    """effectsize glass_delta(sleep) = -0.789112747 [-1.676428032, 0.1344555047];
    metafor escalc("SMD1", 103, 15, 50, 100, 14, 50) -> yi 0.2109861808, vi 0.0404451517."""
    gd = glass_delta(**_summ(SLEEP_X, SLEEP_Y), ci_method="noncentral_t")
    assert gd.estimate == pytest.approx(-0.789112747, abs=1e-9)
    assert (gd.ci_low, gd.ci_high) == pytest.approx((-1.676428032, 0.1344555047), abs=1e-6)
    smd1 = glass_delta(103, 15, 50, 100, 14, 50, correct=True)
    assert smd1.estimate == pytest.approx(0.2109861808, abs=1e-9)
    assert smd1.variance == pytest.approx(0.0404451517, abs=1e-9)


def test_d_from_t_metafor():
    """metafor: escalc("SMD", ti=3.309163, n1i=7, n2i=9) -> yi 1.5764198573, vi 0.3316276154."""
    g = d_from_t(3.309163, 7, 9, hedges=True)
    assert g.estimate == pytest.approx(1.5764198573, abs=1e-9)
    assert g.variance == pytest.approx(0.3316276154, abs=1e-9)
    # without J it is d = t sqrt(1/n1 + 1/n2); on sleep t = -1.860813467 gives Cohen's d -0.8321810813
    assert d_from_t(-1.860813467, 10, 10).estimate == pytest.approx(-0.8321810813, abs=1e-8)


def test_g_from_adjusted_difference_uses_unadjusted_sd():
    """WWC rule (Handbook v4.1 App. E): adjusted difference / unadjusted pooled SD, times omega.
    A difference of 3 with SDs 15/14, n 50/50 reproduces g_WWC = 0.2051871564 (sheet §1.1 [PY])."""
    g = g_from_adjusted_difference(3, 15, 50, 14, 50)
    assert g.estimate == pytest.approx(0.2051871564, abs=1e-9)
    assert g_from_regression(3, 15, 50, 14, 50).estimate == pytest.approx(0.2051871564, abs=1e-9)
    # covariate-adjusted variance (WWC 2021 supplement via VIVECampbell Table 1):
    # (1 - R2)(1/nT + 1/nC) + g^2 / (2 (N - 2 - q))
    ga = g_from_adjusted_difference(3, 15, 50, 14, 50, r2=0.5, n_covariates=1)
    assert ga.variance == pytest.approx(0.5 * 0.04 + 0.2051871564**2 / (2 * 97), abs=1e-10)


def test_prepost_metafor_smcr_smcc():
    """metafor: escalc("SMCR", m1i=105, m2i=100, sd1i=15, ni=40, ri=0.6) -> 0.3268747462, 0.0213355887;
    escalc("SMCC", m1i=105, m2i=100, sd1i=15, sd2i=14, ni=40, ri=0.6) -> 0.3771631687, 0.0267781507."""
    r = prepost_smcr(105, 100, 15, 40, 0.6)
    assert (r.estimate, r.variance) == pytest.approx((0.3268747462, 0.0213355887), abs=1e-9)
    c = prepost_smcc(105, 100, 15, 14, 40, 0.6)
    assert (c.estimate, c.variance) == pytest.approx((0.3771631687, 0.0267781507), abs=1e-9)


def test_paired_d_sleep():
    """effectsize 0.8.3 cohens_d(extra ~ group, paired = TRUE) on sleep: d_z = -1.2845575626,
    CI [-2.118016595, -0.4146276621]; d_rm = -0.8221766384; d_av (mean-SD) = -0.8334963413 (sheet §5.4)."""
    dz = paired_d(SLEEP_Y, SLEEP_X)  # post - pre = x - y
    assert dz.estimate == pytest.approx(-1.2845575626, abs=1e-9)
    assert (dz.ci_low, dz.ci_high) == pytest.approx((-2.118016595, -0.4146276621), abs=1e-6)
    assert paired_d(SLEEP_Y, SLEEP_X, kind="d_rm").estimate == pytest.approx(-0.8221766384, abs=1e-9)
    assert paired_d(SLEEP_Y, SLEEP_X, kind="d_av").estimate == pytest.approx(-0.8334963413, abs=1e-9)


def test_hedges_g_from_data_hsb():
    """High School and Beyond (nlme::MathAchieve + MathAchSchool), mathach Catholic vs Public.
    R: escalc("SMD", ...) -> yi 0.4166757848, vi 0.0005689031;
    effectsize::hedges_g(y1, y0) -> CI [0.3699177832, 0.4634053673] (noncentral t)."""
    hsb = plmresearch.load_dataset("hsb")
    before = hsb.copy()
    g = hedges_g_from_data(hsb, outcome="mathach", treatment="catholic")
    assert g.estimate == pytest.approx(0.4166757848, abs=1e-8)
    assert g.variance == pytest.approx(0.0005689031, abs=1e-9)
    assert g.n_treated == 3543 and g.n_control == 3642
    gn = hedges_g_from_data(hsb, outcome="mathach", treatment="catholic", ci_method="noncentral_t")
    assert (gn.ci_low, gn.ci_high) == pytest.approx((0.3699177832, 0.4634053673), abs=1e-6)
    frame = g.to_frame()
    assert list(frame["estimate"]) == [g.estimate] and frame.shape[0] == 1
    assert hsb.equals(before)  # input untouched
    d = cohens_d_from_data(hsb, outcome="mathach", treatment="catholic")
    assert d.estimate > g.estimate > 0
    assert glass_delta_from_data(hsb, outcome="mathach", treatment="catholic").estimate == pytest.approx(
        (14.1702980525 - 11.3640733114) / 7.0799196328, abs=1e-8)


def test_from_data_drops_missing_outcome_with_note():
    import pandas as pd

    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, np.nan, 2.0, 3.0, 4.0, 5.0], "t": [0, 0, 0, 0, 1, 1, 1, 1]})
    g = hedges_g_from_data(df, outcome="y", treatment="t")
    assert g.n_control == 3 and any("dropped" in n for n in g.notes)


def test_pooled_sd_allows_one_constant_arm():
    """One arm at a ceiling (SD 0) still has a pooled SD: sqrt(9 * 4 / 18) = sqrt(2) (eq. E.1)."""
    assert pooled_sd(0, 10, 2, 10) == pytest.approx(np.sqrt(2))
    assert hedges_g(1, 0, 10, 0, 2, 10).estimate == pytest.approx(hedges_correction(18) / np.sqrt(2))
