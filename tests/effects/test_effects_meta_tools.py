"""metafor's everyday tools for the univariate model, against metafor 3.8.1.

Every number below was printed by tests/effects/r_reference/meta_tools_ref.R (R 4.2.2, metafor 3.8.1,
Debian bookworm) with ``ctl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)``; data
``dat.raudenbush1985`` (values in test_effects_meta.py) and ``dat.bcg`` (counts below; log risk ratios
as ``escalc(measure = "RR", ...)``).
"""

import numpy as np
import pandas as pd
import pytest

from plmresearch.effects import meta_analysis, meta_regression
from plmresearch.effects.meta_tools import (
    blup,
    heterogeneity_ci,
    influence_diagnostics,
    leave_one_out,
    predict_meta,
    rank_correlation_test,
    trim_and_fill,
)
from plmresearch.errors import InputError

# dat.raudenbush1985 (metadat), as in test_effects_meta.py
RAUD_YI = [0.03, 0.12, -0.14, 1.18, 0.26, -0.06, -0.02, -0.32, 0.27, 0.80, 0.54, 0.18, -0.02, 0.23, -0.18,
           -0.06, 0.30, 0.07, -0.07]
RAUD_VI = [0.0156, 0.0216, 0.0279, 0.1391, 0.1362, 0.0106, 0.0106, 0.0484, 0.0269, 0.0630, 0.0912, 0.0497,
           0.0835, 0.0841, 0.0253, 0.0279, 0.0193, 0.0088, 0.0303]

TPOS = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
TNEG = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
CPOS = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
CNEG = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])
ABLAT = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
YEAR = [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976]


@pytest.fixture(scope="module")
def bcg():
    yi = np.log(TPOS / (TPOS + TNEG)) - np.log(CPOS / (CPOS + CNEG))
    vi = 1 / TPOS - 1 / (TPOS + TNEG) + 1 / CPOS - 1 / (CPOS + CNEG)
    return pd.DataFrame({"yi": yi, "vi": vi, "ablat": ABLAT, "year": YEAR})


@pytest.fixture(scope="module")
def reml():
    return meta_analysis(RAUD_YI, RAUD_VI, method="REML")


# method: tau2, se.tau2, b, se, I2, H2  [RUN] rma(yi, vi, data = dat.raudenbush1985, method = M, control = ctl)
TAU2 = {
    "ML": (0.0125518948, 0.0122923051, 0.0777365259, 0.0474910485, 32.4311335273, 1.4799715493),
    "HE": (0.0803701754, 0.0448013531, 0.1143176927, 0.0792137556, 75.4497174259, 4.0732728716),
    "SJ": (0.0771409967, 0.0295672049, 0.1133411526, 0.0780643678, 74.6822136655, 3.9497923981),
    "HS": (0.0223816692, 0.0156894823, 0.0866523170, 0.0537883172, 46.1163933909, 1.8558520168),
    "EB": (0.0517733101, 0.0294650993, 0.1039569702, 0.0682083873, 66.4402293260, 2.9797581447),
    "REML": (0.0188182881, 0.0155240114, 0.0837012419, 0.0516406714, 41.8466702481, 1.7195919894),
    "DL": (0.0259036723, 0.0185479278, 0.0893220844, 0.0557939247, 49.7621184670, 1.9905297944),
}


@pytest.mark.parametrize("method", sorted(TAU2))
def test_tau2_estimators_and_their_se_equal_metafor(method):
    r = meta_analysis(RAUD_YI, RAUD_VI, method=method)
    got = (r.tau2, r.se_tau2, r.estimate, r.std_error, r.i2, r.h2)
    np.testing.assert_allclose(got, TAU2[method], rtol=0, atol=1e-9)


def test_q_profile_ci_equals_metafor_confint(reml):
    """[RUN] confint(rma(yi, vi, data = dat, method = "REML")): tau^2 [0.0058615266, 0.1977006663],
    tau [0.0765606075, 0.4446354308], I^2 [18.3099138694, 88.3175798654], H^2 [1.2241387509, 8.5598702022];
    the DL fit prints the same bounds (the Q-profile does not depend on the estimator)."""
    expect = [(0.0058615266, 0.1977006663), (0.0765606075, 0.4446354308), (18.3099138694, 88.3175798654),
              (1.2241387509, 8.5598702022)]
    for fit in (reml, meta_analysis(RAUD_YI, RAUD_VI, method="DL")):
        ci = heterogeneity_ci(fit)
        np.testing.assert_allclose(ci[["ci_low", "ci_high"]].to_numpy(), expect, rtol=0, atol=1e-8)
    assert list(ci["parameter"]) == ["tau2", "tau", "i2", "h2"]


def test_blup_equals_metafor(reml):
    """[RUN] blup(r): pred, se, pi.lb, pi.ub of studies 1, 2, 3 and 19."""
    b = blup(reml).iloc[[0, 1, 2, 18]][["pred", "std_error", "pi_low", "pi_high"]].to_numpy()
    np.testing.assert_allclose(b, [
        (0.0543399489, 0.0952742423, -0.1323941347, 0.2410740325),
        (0.1006015244, 0.1040111793, -0.1032566410, 0.3044596899),
        (-0.0064063925, 0.1104051600, -0.2227965297, 0.2099837447),
        (0.0248149418, 0.1123538882, -0.1953946327, 0.2450245162)], rtol=0, atol=1e-8)


def test_leave_one_out_and_influence_equal_metafor(reml):
    """[RUN] leave1out(r) (estimate, se, tau2, I2, Q) and influence(r)$inf (hat, cook.d, rstudent, dffits)
    for studies 1, 4 and 19. metafor's leave1out refits REML with its default threshold (1e-5), so tau2
    agrees to 1e-6 only (our REML runs to 1e-12)."""
    loo = leave_one_out(reml).iloc[[0, 3, 18]][["estimate", "std_error", "tau2", "i2", "q"]].to_numpy()
    np.testing.assert_allclose(loo, [
        (0.0952182633, 0.0588232695, 0.0273494538, 50.1066808163, 35.7649209232),
        (0.0577334798, 0.0443441601, 0.0079864965, 24.2267241747, 26.7304552778),
        (0.0967699805, 0.0560455697, 0.0235750171, 47.5559824895, 35.2428906447)], rtol=1e-5, atol=1e-6)
    inf = influence_diagnostics(reml).iloc[[0, 3, 18]][["hat", "cook_d", "rstudent", "dffits"]].to_numpy()
    np.testing.assert_allclose(inf, [
        (0.0774808709, 0.0497389472, -0.3027367698, -0.1996476050),
        (0.0168869545, 0.2528630001, 2.9068712095, 0.5210416677),
        (0.0542925871, 0.0640447569, -0.6984238099, -0.2416404809)], rtol=0, atol=1e-5)


def test_rank_correlation_equals_metafor_ranktest(reml):
    """[RUN] ranktest(r): Kendall's tau 0.3000051904, p 0.0740260892 (ties: normal approximation)."""
    rt = rank_correlation_test(reml).iloc[0]
    assert rt.kendall_tau == pytest.approx(0.3000051904, abs=1e-9)
    assert rt.p_value == pytest.approx(0.0740260892, abs=1e-9)


def test_trim_and_fill_equals_metafor():
    """[RUN] trimfill(rma(yi, vi, data = dat, method = "DL")): k0 3, left, b 0.0274924119, se 0.0652386719,
    tau2 0.0521049368; method = "FE": k0 3, left, b 0.0254745365, se 0.0356697054."""
    f, k0, side = trim_and_fill(meta_analysis(RAUD_YI, RAUD_VI, method="DL"))
    assert (k0, side, f.k) == (3, "left", 22)
    np.testing.assert_allclose([f.estimate, f.std_error, f.tau2], [0.0274924119, 0.0652386719, 0.0521049368],
                               atol=1e-9)
    f, k0, side = trim_and_fill(meta_analysis(RAUD_YI, RAUD_VI, method="FE"))
    np.testing.assert_allclose([k0, f.estimate, f.std_error], [3, 0.0254745365, 0.0356697054], atol=1e-9)


def test_predict_pseudo_r2_and_omnibus_equal_metafor(bcg):
    """[RUN] m <- rma(yi, vi, mods = ~ ablat, data = bcg): R2 75.6266218114, QM 16.3582321470,
    QMp 0.0000524279; predict(m, newmods = c(10, 30, 50)): pred, se, ci, pi. With ~ ablat + year and
    test = "knha": R2 64.6330147352, QM (F) 4.9649475559, p 0.0318035013; predict(newmods =
    cbind(c(10, 50), c(1950, 1970)))."""
    m = meta_regression("yi", "vi", ["ablat"], data=bcg)
    np.testing.assert_allclose([m.r2, m.qm, m.qm_p_value, m.tau2], [75.6266218114, 16.3582321470, 0.0000524279,
                                                                    0.0763479640], atol=1e-8)
    pr = predict_meta(m, [10, 30, 50]).to_numpy()
    np.testing.assert_allclose(pr, [
        (-0.0395490401, 0.1866066679, -0.4052913885, 0.3261933083, -0.6930435121, 0.6139454319),
        (-0.6215835403, 0.1069240505, -0.8311508284, -0.4120162522, -1.2022779590, -0.0408891217),
        (-1.2036180406, 0.1716439446, -1.5400339901, -0.8672020911, -1.8411627454, -0.5660733357)], atol=1e-8)
    m = meta_regression("yi", "vi", ["ablat", "year"], data=bcg, test="knha")
    np.testing.assert_allclose([m.r2, m.qm, m.qm_p_value, m.tau2], [64.6330147352, 4.9649475559, 0.0318035013,
                                                                    0.1107846969], atol=1e-8)
    pr = predict_meta(m, [[10, 1950], [50, 1970]]).to_numpy()
    np.testing.assert_allclose(pr, [
        (-0.1058794417, 0.5041476967, -1.2291905118, 1.0174316284, -1.4519217036, 1.2401628201),
        (-1.1881830105, 0.2625584189, -1.7731996245, -0.6031663966, -2.1327709890, -0.2435950321)], atol=1e-8)


def test_meta_tools_bad_input(reml, bcg):
    m = meta_regression("yi", "vi", ["ablat", "year"], data=bcg)
    with pytest.raises(InputError, match="2 column"):
        predict_meta(m, [10, 20, 30])
    with pytest.raises(InputError, match="meta_analysis"):
        blup(m)
    with pytest.raises(InputError, match="side"):
        trim_and_fill(reml, side="up")
    with pytest.raises(InputError, match="method"):
        meta_analysis(RAUD_YI, RAUD_VI, method="SJIT")
