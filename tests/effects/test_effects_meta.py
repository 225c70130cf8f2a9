"""Meta-analysis against metafor.

All [RUN] values below are metafor 3.8.1 (packageVersion("metafor"); R 4.2.2, Debian bookworm):
  dat <- dat.raudenbush1985
  rma(yi, vi, data = dat, method = M, test = T, control = list(threshold = 1e-12))
and predict() for the prediction interval. `threshold = 1e-12` makes metafor's REML converge
to the exact maximizer; its default (1e-5) prints tau^2 = 0.0188263481 instead of 0.0188182881,
equal to 4 decimals (checked below against the printed documentation too).
"""

import numpy as np
import pandas as pd
import pytest

from plmresearch.effects import egger_test, meta_analysis, meta_regression

RAUD_YI = [0.03, 0.12, -0.14, 1.18, 0.26, -0.06, -0.02, -0.32, 0.27, 0.80, 0.54, 0.18, -0.02, 0.23, -0.18,
           -0.06, 0.30, 0.07, -0.07]
RAUD_VI = [0.0156, 0.0216, 0.0279, 0.1391, 0.1362, 0.0106, 0.0106, 0.0484, 0.0269, 0.0630, 0.0912, 0.0497,
           0.0835, 0.0841, 0.0253, 0.0279, 0.0193, 0.0088, 0.0303]
RAUD_WEEKS = [2, 21, 19, 0, 0, 3, 17, 24, 0, 1, 0, 0, 1, 2, 17, 5, 1, 2, 7]

# method, test: estimate, se, ci_low, ci_high, tau2, I2, H2, pi_low, pi_high, statistic  (metafor 3.8.1)
METAFOR = {
    ("FE", "z"): (0.0603655663, 0.0364678501, -0.0111101065, 0.1318412392, 0.0, 49.7621184670, 1.9905297944,
                  np.nan, np.nan, 1.6553091599),
    ("FE", "knha"): (0.0603655663, 0.0514510808, -0.0477291434, 0.1684602760, 0.0, 49.7621184670, 1.9905297944,
                     np.nan, np.nan, 1.1732613846),
    ("DL", "z"): (0.0893220844, 0.0557939247, -0.0200319986, 0.1986761674, 0.0259036723, 49.7621184670,
                  1.9905297944, -0.2445434662, 0.4231876351, 1.6009285040),
    ("DL", "knha"): (0.0893220844, 0.0635755551, -0.0442452005, 0.2228893693, 0.0259036723, 49.7621184670,
                     1.9905297944, -0.2742377459, 0.4528819147, 1.4049752978),
    ("REML", "z"): (0.0837012419, 0.0516406714, -0.0175126141, 0.1849150979, 0.0188182881, 41.8466702481,
                    1.7195919894, -0.2035859378, 0.3709884216, 1.6208395374),
    ("REML", "knha"): (0.0837012419, 0.0615793195, -0.0456721076, 0.2130745914, 0.0188182881, 41.8466702481,
                       1.7195919894, -0.2322085639, 0.3996110477, 1.3592427231),
    # PM with control = list(tol = 1e-12) (its uniroot tolerance; default tol ~1.2e-4 gives tau2 0.0517582)
    ("PM", "z"): (0.1039569702, 0.0682083873, -0.0297290124, 0.2376429528, 0.0517733101, 66.4402293259,
                  np.nan, np.nan, np.nan, np.nan),
    ("PM", "knha"): (0.1039569702, 0.0682083873, -0.0393435340, 0.2472574745, 0.0517733101, 66.4402293259,
                     np.nan, np.nan, np.nan, np.nan),
}


@pytest.mark.parametrize("method,test", list(METAFOR))
def test_raudenbush1985_matches_metafor(method, test):
    """Acceptance 2: teacher-expectancy data (Raudenbush 1984/1985; k = 19) equals metafor."""
    exp = METAFOR[(method, test)]
    r = meta_analysis(RAUD_YI, RAUD_VI, method=method, test=test)
    got = (r.estimate, r.std_error, r.ci_low, r.ci_high, r.tau2, r.i2, r.h2, r.pi_low, r.pi_high, r.statistic)
    for name, g, e in zip(("estimate", "se", "ci_low", "ci_high", "tau2", "I2", "H2", "pi_low", "pi_high", "stat"),
                          got, exp):
        if np.isnan(e):
            continue
        assert g == pytest.approx(e, abs=1e-8), name
        assert round(g, 4) == round(e, 4), name
    assert r.q == pytest.approx(35.8295362996, abs=1e-8) and r.q_df == 18
    assert r.q_p_value == pytest.approx(0.007419313255, abs=1e-11)
    if method == "FE":
        assert np.isnan(r.pi_low)


def test_raudenbush_printed_metafor_docs_rounded():
    """metadat docs/reference/dat.raudenbush1985.html, rma(yi, vi) (default REML), as printed:
    tau^2 = 0.0188 (tau 0.1372), I^2 = 41.86%, H^2 = 1.72; estimate 0.0837, se 0.0516, z 1.6208,
    p 0.1051, CI [-0.0175, 0.1849]. Our exact REML I^2 is 41.85 (metafor's default
    threshold stops at tau^2 = 0.0188263, I^2 41.857): 0.01 apart in the second decimal."""
    r = meta_analysis(RAUD_YI, RAUD_VI)
    assert round(r.tau2, 4) == 0.0188 and round(r.tau, 4) == 0.1372
    assert round(r.h2, 2) == 1.72 and abs(r.i2 - 41.86) < 0.015
    assert (round(r.estimate, 4), round(r.std_error, 4), round(r.statistic, 4), round(r.p_value, 4)) == (
        0.0837, 0.0516, 1.6208, 0.1051)
    assert (round(r.ci_low, 4), round(r.ci_high, 4)) == (-0.0175, 0.1849)


def test_meta_regression_weeks_metafor():
    """metadat docs (printed): rma(yi, vi, mods = ~ weeks.c), weeks.c = min(weeks, 3): tau^2 0, QE(17) = 16.571
    (p 0.484), QM(1) = 19.258; intercept 0.407 (se 0.087), slope -0.157 (se 0.036).
    metafor 3.8.1 [RUN]: b = 0.4071853430, -0.1572444310; se 0.0870378944, 0.0358312257;
    QE 16.5708252969; QM 19.2587110027; knha: se 0.0859322107, 0.0353760447, F 19.7575003767, p 0.0003552470571."""
    data = pd.DataFrame({"yi": RAUD_YI, "vi": RAUD_VI, "weeks_c": np.minimum(RAUD_WEEKS, 3)})
    r = meta_regression("yi", "vi", "weeks_c", data=data)
    c = r.coefficients
    assert c["estimate"].to_numpy() == pytest.approx([0.4071853430, -0.1572444310], abs=1e-8)
    assert c["std_error"].to_numpy() == pytest.approx([0.0870378944, 0.0358312257], abs=1e-8)
    assert r.tau2 == pytest.approx(0.0, abs=1e-8)
    assert r.qe == pytest.approx(16.5708252969, abs=1e-8) and r.qe_df == 17
    assert round(r.qe_p_value, 3) == 0.484
    assert r.qm == pytest.approx(19.2587110027, abs=1e-7)
    assert list(c["term"]) == ["intercept", "weeks_c"]
    k = meta_regression("yi", "vi", "weeks_c", data=data, test="knha")
    assert k.coefficients["std_error"].to_numpy() == pytest.approx([0.0859322107, 0.0353760447], abs=1e-8)
    assert (k.qm, k.qm_p_value) == pytest.approx((19.7575003767, 0.0003552470571), abs=1e-8)
    dl = meta_regression(RAUD_YI, RAUD_VI, np.minimum(RAUD_WEEKS, 3), method="DL")
    assert dl.coefficients["estimate"].to_numpy() == pytest.approx([0.4071853430, -0.1572444310], abs=1e-8)


def bcg_log_rr():
    """metadat dat.bcg; yi/vi = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg) (8 dp, sheet §4.2)."""
    t = pd.DataFrame({
        "yi": [-0.88931133, -1.58538866, -1.34807315, -1.44155119, -0.21754732, -0.78611559, -1.62089822,
               0.01195233, -0.46941765, -1.37134480, -0.33935883, 0.44591340, -0.01731395],
        "vi": [0.32558477, 0.19458112, 0.41536797, 0.02001003, 0.05121017, 0.00690562, 0.22301725, 0.00396158,
               0.05643421, 0.07302479, 0.01241221, 0.53250585, 0.07140466],
        "ablat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]})
    return t


def test_bcg_random_effects_metafor():
    """metafor 3.8.1 [RUN] on dat.bcg log RR: DL mu -0.7141172221 se 0.1787420895 tau2 0.3087602629
    I2 92.1173468546 (metafor test file, Table: DL mu -0.7141, tau2 0.3088, I2 92.1173);
    REML mu -0.7145323422, tau2 0.3132432581; PM (tol 1e-12) tau2 0.3180684522, mu -0.7149681535;
    mods = ~ ablat (REML): b 0.2514682100, -0.0291017250; tau2 0.0763479640; QM 16.3582321470.
    Inputs are rounded to 8 dp, hence tolerance 1e-7."""
    t = bcg_log_rr()
    dl = meta_analysis(t.yi, t.vi, method="DL")
    assert (dl.estimate, dl.std_error, dl.tau2, dl.i2) == pytest.approx(
        (-0.7141172221, 0.1787420895, 0.3087602629, 92.1173468546), abs=1e-6)
    reml = meta_analysis(t.yi, t.vi, method="REML")
    assert (reml.estimate, reml.tau2) == pytest.approx((-0.7145323422, 0.3132432581), abs=1e-7)
    pm = meta_analysis(t.yi, t.vi, method="PM")
    assert (pm.estimate, pm.tau2) == pytest.approx((-0.7149681535, 0.3180684522), abs=1e-7)
    mr = meta_regression(t.yi, t.vi, t[["ablat"]])
    assert mr.coefficients["estimate"].to_numpy() == pytest.approx([0.2514682100, -0.0291017250], abs=1e-7)
    assert mr.tau2 == pytest.approx(0.0763479640, abs=1e-7)
    assert mr.qm == pytest.approx(16.3582321470, abs=1e-5)


def test_egger_regtest_metafor():
    """metafor 3.8.1 regtest() on raudenbush1985: model "rma" (REML, threshold 1e-12):
    z = 2.5261738251, p = 0.0115312411, limit estimate -0.2169092736; model "lm": t = 2.0379546685,
    df 17, p = 0.0574255743, limit estimate -0.1790311231."""
    r = egger_test(RAUD_YI, RAUD_VI).iloc[0]
    assert (r["statistic"], r["p_value"], r["limit_estimate"]) == pytest.approx(
        (2.5261738251, 0.0115312411, -0.2169092736), abs=1e-7)
    lm = meta_analysis(RAUD_YI, RAUD_VI).egger_test(model="lm").iloc[0]
    assert (lm["statistic"], lm["p_value"], lm["limit_estimate"]) == pytest.approx(
        (2.0379546685, 0.0574255743, -0.1790311231), abs=1e-8)
    assert lm["df"] == 17


def test_meta_result_frames_and_labels():
    data = pd.DataFrame({"g": RAUD_YI, "v": RAUD_VI, "study": [f"S{i}" for i in range(19)]})
    r = meta_analysis("g", "v", data=data, labels="study", method="DL")
    f = r.to_frame()
    assert f.shape[0] == 1 and {"estimate", "tau2", "i2", "q", "pi_low", "pi_high"} <= set(f.columns)
    s = r.studies()
    assert list(s["study"])[:2] == ["S0", "S1"] and s["weight_pct"].sum() == pytest.approx(100)
    assert "Random-effects" in str(r)
