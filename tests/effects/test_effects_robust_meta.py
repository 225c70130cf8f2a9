"""RVE, three-level and CHE meta-analysis against robumeta, metafor and clubSandwich.

Every [RUN] number was printed by tests/effects/r_reference/robust_meta_ref.R with
R 4.2.2, robumeta 2.0, clubSandwich 0.5.8 and metafor 3.8.1 (Debian bookworm), on the
Dietrichson et al. (2021) effect sizes (../shared/datasets/dietrichson2021, MIT):
post-test rows (``Post == 1``), ``Effectsize_g`` with ``vi = SE_g^2``.
"""

import numpy as np
import pandas as pd
import pytest

from plmresearch.effects.multilevel_meta import multilevel_meta
from plmresearch.effects.robust_meta import robust_meta
from plmresearch.errors import InputError

from plmresearch.data import load_dataset

COMPONENTS = ["cai", "small_group", "peer_assisted", "progress_monitoring"]


@pytest.fixture(scope="module")
def post():
    d = load_dataset("dietrichson2021")
    d = d[d["post"] == 1].copy()
    d["vi"] = d["se_g"] ** 2
    return d


@pytest.fixture(scope="module")
def cai(post):
    return post[post["cai"] == 1]


def _check(table: pd.DataFrame, rows, tol=1e-8):
    """rows: (b, se, df, ci_low, ci_high, p) per coefficient, as robumeta's reg_table prints them."""
    got = table[["estimate", "std_error", "df", "ci_low", "ci_high", "p_value"]].to_numpy()
    np.testing.assert_allclose(got, np.array(rows), rtol=0, atol=tol)


def test_rve_ce_intercept_equals_robumeta(cai):
    """[RUN] robu(Effectsize_g ~ 1, cai, studynum = Study_ID, var.eff.size = vi, modelweights = "CORR",
    rho = 0.8, small = TRUE): b, SE, df, CI, p; tau.sq and I.2 from mod_info."""
    r = robust_meta(cai, "effectsize_g", "vi", "study_id")
    _check(r.coefficients, [(0.1500149421, 0.0315718045, 19.4113828884, 0.0840290537, 0.2160008305, 0.0001314736)])
    assert r.tau2 == pytest.approx(0.0145966368, abs=1e-9)
    assert r.i2 == pytest.approx(38.4095816299, abs=1e-7)
    assert (r.n_studies, r.n_effects) == (28, 174)


def test_rve_ce_regression_and_htz_equal_robumeta_and_clubsandwich(post):
    """[RUN] robu(Effectsize_g ~ CAI + Small_group + Peer_assisted + Progress_monitoring, post, CORR,
    rho = 0.8, small = TRUE); Wald_test(f, constrain_zero(2:5), vcov = "CR2", test = "HTZ") prints
    F 8.5980028611, df 4 and 42.7065876264, p 0.0000349953; constrain_zero(c(2, 4)):
    F 6.6195814690, df 2 and 45.1665284228, p 0.0030118907."""
    r = robust_meta(post, "effectsize_g", "vi", "study_id", COMPONENTS)
    _check(r.coefficients, [
        (0.0648790888, 0.0405237820, 28.6234902392, -0.0180487320, 0.1478069095, 0.1203546990),
        (0.0548649041, 0.0488990070, 37.1850376790, -0.0441972558, 0.1539270641, 0.2690536159),
        (0.2866834936, 0.0535094297, 49.0364507086, 0.1791542904, 0.3942126967, 0.0000022413),
        (0.3505163819, 0.0963315161, 40.7232659754, 0.1559307815, 0.5451019823, 0.0007638836),
        (-0.0992200663, 0.0525765250, 18.0087173664, -0.2096754140, 0.0112352814, 0.0753660371)])
    assert r.tau2 == pytest.approx(0.0415784334, abs=1e-9)
    assert r.i2 == pytest.approx(72.0869809074, abs=1e-7)
    w = r.wald_test(COMPONENTS).iloc[0]
    np.testing.assert_allclose([w.statistic, w.df1, w.df2, w.p_value], [8.5980028611, 4, 42.7065876264, 0.0000349953],
                               atol=1e-7)
    w = r.wald_test(["cai", "peer_assisted"]).iloc[0]
    np.testing.assert_allclose([w.statistic, w.df1, w.df2, w.p_value], [6.6195814690, 2, 45.1665284228, 0.0030118907],
                               atol=1e-7)


def test_rve_ce_large_sample_rho_equals_robumeta(post):
    """[RUN] the same robu() with rho = 0.5, small = FALSE (HTJ 2010: sqrt(N/(N-p)) and N - p df)."""
    r = robust_meta(post, "effectsize_g", "vi", "study_id", COMPONENTS, rho=0.5, small=False)
    _check(r.coefficients, [
        (0.0648566657, 0.0400491688, 184, -0.0141579632, 0.1438712946, 0.1070683257),
        (0.0548850086, 0.0481487829, 184, -0.0401096773, 0.1498796946, 0.2558078165),
        (0.2866753748, 0.0529545201, 184, 0.1821992552, 0.3911514943, 0.0000001910),
        (0.3505141360, 0.0947012417, 184, 0.1636742169, 0.5373540552, 0.0002833001),
        (-0.0992028921, 0.0506781135, 184, -0.1991877968, 0.0007820127, 0.0518000250)])
    assert r.tau2 == pytest.approx(0.0415082015, abs=1e-9)
    assert r.i2 == pytest.approx(71.9652155939, abs=1e-7)
    with pytest.raises(InputError, match="small-sample"):
        r.wald_test(["cai"])


def test_rve_hierarchical_equals_robumeta(post, cai):
    """[RUN] robu(Effectsize_g ~ CAI + Small_group, post, modelweights = "HIER", small = TRUE);
    Wald_test(f, constrain_zero(2:3), vcov = "CR2", test = "HTZ"): F 11.8505238595, df 2 and 29.6552613709,
    p 0.0001650853. robumeta puts omega.sq at its boundary 0 here; tau.sq 0.0488353808."""
    r = robust_meta(post, "effectsize_g", "vi", "study_id", ["cai", "small_group"], weights="HE")
    _check(r.coefficients, [
        (0.2065443902, 0.0336416985, 38.1704094867, 0.1384503154, 0.2746384650, 0.0000003601),
        (-0.0928627157, 0.0522800238, 18.1720093455, -0.2026244944, 0.0168990630, 0.0924370512),
        (0.1354944584, 0.0445014154, 51.0255703220, 0.0461552262, 0.2248336906, 0.0036782892)])
    assert r.tau2 == pytest.approx(0.0488353808, abs=1e-9)
    assert r.omega2 == 0.0
    w = r.wald_test(["cai", "small_group"]).iloc[0]
    np.testing.assert_allclose([w.statistic, w.df2, w.p_value], [11.8505238595, 29.6552613709, 0.0001650853], atol=1e-7)
    r = robust_meta(cai, "effectsize_g", "vi", "study_id", weights="HE")
    _check(r.coefficients, [(0.1466339223, 0.0416304238, 13.3023876554, 0.0569042413, 0.2363636033, 0.0036309909)])
    assert r.tau2 == pytest.approx(0.0143476606, abs=1e-9)


def test_rve_hierarchical_with_positive_omega2_equals_robumeta(post):
    """[RUN] robu(Effectsize_g ~ Incentives, post[post$Peer_assisted == 1 | post$Medium_group == 1, ],
    modelweights = "HIER", small = TRUE): tau.sq 0.0439324483, omega.sq 0.0067137122."""
    pm = post[(post["peer_assisted"] == 1) | (post["medium_group"] == 1)]
    r = robust_meta(pm, "effectsize_g", "vi", "study_id", ["incentives"], weights="HE")
    _check(r.coefficients, [
        (0.2470352904, 0.0381480892, 21.2711135239, 0.1677635197, 0.3263070611, 0.0000019175),
        (0.2604606983, 0.2227786833, 3.2988225783, -0.4135374370, 0.9344588336, 0.3198351438)])
    assert (r.tau2, r.omega2) == pytest.approx((0.0439324483, 0.0067137122), abs=1e-9)


def test_three_level_reml_equals_metafor(post, cai):
    """[RUN] rma.mv(Effectsize_g, vi, mods = ~ CAI + Small_group, random = ~ 1 | Study_ID/es_id, data = post,
    method = "REML"): b, se, ci; sigma2 0.0604448867 0.0114785549; QE 3017.1669124064; QM 22.0714059324;
    logLik -356.3481445878. Intercept-only on CAI: b 0.1614226070 se 0.0327536090, sigma2 0.0191500489
    0.0002975576, logLik 4.5874038704. metafor stops nlminb at ~1e-9, hence atol 1e-7."""
    m = multilevel_meta(post, "effectsize_g", "vi", "study_id", ["cai", "small_group"])
    c = m.coefficients
    np.testing.assert_allclose(c["estimate"], [0.2241379489, -0.1051176894, 0.1487471977], atol=1e-7)
    np.testing.assert_allclose(c["std_error"], [0.0362464019, 0.0468300403, 0.0431649814], atol=1e-7)
    np.testing.assert_allclose(c["ci_low"], [0.1530963065, -0.1969028819, 0.0641453887], atol=1e-7)
    np.testing.assert_allclose([m.sigma2_study, m.sigma2_es], [0.0604448867, 0.0114785549], atol=1e-7)
    assert m.qe == pytest.approx(3017.1669124064, abs=1e-6)
    assert m.qm == pytest.approx(22.0714059324, abs=1e-5)
    assert m.log_likelihood == pytest.approx(-356.3481445878, abs=1e-6)
    m = multilevel_meta(cai, "effectsize_g", "vi", "study_id")
    np.testing.assert_allclose([m.estimate, m.std_error, m.sigma2_study, m.sigma2_es],
                               [0.1614226070, 0.0327536090, 0.0191500489, 0.0002975576], atol=1e-7)
    assert m.log_likelihood == pytest.approx(4.5874038704, abs=1e-6)


def test_che_cr2_equals_metafor_and_clubsandwich(post):
    """[RUN] V <- impute_covariance_matrix(vi, cluster = Study_ID, r = 0.6);
    m <- rma.mv(Effectsize_g, V, mods = ~ CAI + Small_group, random = ~ 1 | Study_ID/es_id, data = post);
    coef_test(m, vcov = "CR2", cluster = Study_ID): SE, df_Satt, p_Satt; conf_int(); Wald_test(m,
    constrain_zero(2:3), vcov = "CR2", test = "HTZ"): F 13.4280055164, df 2 and 20.4077318653, p 0.0001898058."""
    m = multilevel_meta(post, "effectsize_g", "vi", "study_id", ["cai", "small_group"], rho=0.6)
    np.testing.assert_allclose(m.coefficients["estimate"], [0.2090118063, -0.0941818968, 0.1134734762], atol=1e-7)
    np.testing.assert_allclose(m.coefficients["std_error"], [0.0375833879, 0.0503810268, 0.0444991985], atol=1e-7)
    np.testing.assert_allclose([m.sigma2_study, m.sigma2_es], [0.0318202730, 0.0563017367], atol=1e-7)
    assert m.qe == pytest.approx(4015.0613065761, abs=1e-6)
    rob = m.robust()
    c = rob.coefficients
    np.testing.assert_allclose(c["std_error"], [0.0295367709, 0.0303018944, 0.0392296265], atol=1e-7)
    np.testing.assert_allclose(c["df"], [48.9269425963, 8.6297460325, 74.0371446923], atol=1e-4)
    np.testing.assert_allclose(c["p_value"], [0.0000000051, 0.0132065702, 0.0050149689], atol=1e-7)
    np.testing.assert_allclose(c["ci_low"], [0.1496532010, -0.1631804868, 0.0353073908], atol=1e-7)
    np.testing.assert_allclose(c["ci_high"], [0.2683704116, -0.0251833068, 0.1916395616], atol=1e-7)
    w = rob.wald_test(["cai", "small_group"]).iloc[0]
    np.testing.assert_allclose([w.statistic, w.df2, w.p_value], [13.4280055164, 20.4077318653, 0.0001898058],
                               atol=1e-5)


def test_dependent_meta_bad_input(post):
    with pytest.raises(InputError, match="Study_Id"):
        robust_meta(post, "effectsize_g", "vi", "Study_Id")
    with pytest.raises(InputError, match="weights"):
        robust_meta(post, "effectsize_g", "vi", "study_id", weights="CORR2")
    one = post[post["study_id"] == post["study_id"].iloc[0]]
    with pytest.raises(InputError, match="at least 2 studies"):
        robust_meta(one, "effectsize_g", "vi", "study_id")
    bad = post.assign(vi=-post["vi"])
    with pytest.raises(InputError, match="positive"):
        multilevel_meta(bad, "effectsize_g", "vi", "study_id")
    with pytest.raises(InputError, match="rho"):
        multilevel_meta(post, "effectsize_g", "vi", "study_id", rho=1.2)
    before = post.copy()
    robust_meta(post, "effectsize_g", "vi", "study_id", ["cai"])
    pd.testing.assert_frame_equal(post, before)
