"""Power / MDES / required sample size against PowerUpR.

[RUN] values: PowerUpR 1.1.0 (github metinbulus/PowerUpR @5580f7ea8430, loaded with source(),
R 4.2.2), as listed in the project's reference sheet §3.3 (P1-P13), corroborated by the
rounded asserts of pypowerup (sophiamyang/pypowerup tests/test_pypowerup.py).
[CORE] values: R 4.2.2 running PowerUpR's own `.mdes.fun`/`.power.fun` (R/utils.R) with the
`df`/`SSE` lines and `mrss` loop of `mdes.bira2r1`, `power.bira2r1`, `mrss.bira2r1`
(R/bira2.R) and `mdes.cra3r3`/`power.cra3r3` (R/cra3.R) copied verbatim, e.g.
  mdes.bira2r1(rho2=.35, omega2=.10, n=83, J=480)  # the Rd example
"""

import pytest

from plmresearch.effects import (
    mdes_cluster_rct,
    mdes_cluster_rct3,
    mdes_individual_rct,
    mdes_multisite_rct,
    multiplier,
    power_cluster_rct,
    power_cluster_rct3,
    power_curve,
    power_individual_rct,
    power_multisite_rct,
    required_clusters_cluster_rct,
    required_n_individual_rct,
    required_sites_cluster_rct3,
    required_sites_multisite_rct,
)


def test_bloom_large_df_multiplier():
    """Bloom (1995, 2006): M ~ 2.8 two-tailed, 2.5 one-tailed; z.975 + z.80 = 2.8015852181,
    z.95 + z.80 = 2.4864748605 (sheet §3.1)."""
    assert multiplier(1e9) == pytest.approx(2.8015852181, abs=1e-8)
    assert multiplier(1e9, two_tailed=False) == pytest.approx(2.4864748605, abs=1e-8)


def test_mdes_individual_rct_powerupr():
    """P1 mdes.ira(n=400): df 398, M 2.808468, MDES 0.280847 [0.084253, 0.477441] (pypowerup 0.28);
    P2 r21=.5 -> 0.198589 (pypowerup 0.20); P3 one-tailed -> 0.249122."""
    r = mdes_individual_rct(n=400)
    assert r.df == 398
    assert r.multiplier == pytest.approx(2.808468, abs=5e-7)
    assert (r.mdes, r.mdes_ci_low, r.mdes_ci_high) == pytest.approx((0.280847, 0.084253, 0.477441), abs=5e-7)
    assert mdes_individual_rct(n=400, r2=0.5).mdes == pytest.approx(0.198589, abs=5e-7)
    assert mdes_individual_rct(n=400, two_tailed=False).mdes == pytest.approx(0.249122, abs=5e-7)


def test_power_and_mrss_individual_rct_powerupr():
    """P4 power.ira(es=.25, n=400) = 0.703333; P5 mrss.ira(es=.20) = 787 (pypowerup 787); P6 es=.25 -> 504."""
    assert power_individual_rct(0.25, n=400).power == pytest.approx(0.703333, abs=5e-7)
    assert required_n_individual_rct(0.20).n == 787
    assert required_n_individual_rct(0.25).n == 504


def test_mdes_cluster_rct_powerupr():
    """P7 mdes.cra2(rho2=.20, n=4, J=20, alpha=.01) = 1.057970094545 (Rd example);
    P8 alpha .05 -> 0.838055; P9 mdes.cra2(rho2=.15, g2=1, r21=.40, r22=.53, n=100, J=40):
    df 37, M 2.877636, MDES 0.250205 [0.074032, 0.426379] (pypowerup cra2_2r 0.250);
    P12 mdes.cra2(rho2=.20, n=25, J=40) = 0.437995."""
    assert mdes_cluster_rct(4, 20, 0.20, alpha=0.01).mdes == pytest.approx(1.057970094545, abs=1e-10)
    assert mdes_cluster_rct(4, 20, 0.20).mdes == pytest.approx(0.838055, abs=5e-7)
    r = mdes_cluster_rct(100, 40, 0.15, r2_level1=0.40, r2_level2=0.53, n_covariates=1)
    assert r.df == 37 and r.multiplier == pytest.approx(2.877636, abs=5e-7)
    assert (r.mdes, r.mdes_ci_low, r.mdes_ci_high) == pytest.approx((0.250205, 0.074032, 0.426379), abs=5e-7)
    assert mdes_cluster_rct(25, 40, 0.20).mdes == pytest.approx(0.437995, abs=5e-7)


def test_power_and_mrss_cluster_rct_powerupr():
    """P10 power.cra2(es=.25, P9 design) = 0.7995366637; P11 mrss.cra2(es=.25, same) J = 40;
    P13 mrss.cra2(es=.20, rho2=.20, n=25) J = 184."""
    kw = dict(n_per_cluster=100, icc=0.15, r2_level1=0.40, r2_level2=0.53, n_covariates=1)
    assert power_cluster_rct(0.25, n_clusters=40, **kw).power == pytest.approx(0.7995366637, abs=1e-9)
    assert required_clusters_cluster_rct(0.25, **kw).n_clusters == 40
    assert required_clusters_cluster_rct(0.20, n_per_cluster=25, icc=0.20).n_clusters == 184
    # the "ceiling" rule returns the smallest J that reaches 80% power: 41, since J = 40 gives 0.7995
    ceil = required_clusters_cluster_rct(0.25, method="ceiling", **kw)
    assert ceil.n_clusters == 41 and ceil.power >= 0.8


def test_multisite_random_effects_powerupr_core():
    """[CORE] mdes.bira2r1(rho2=.35, omega2=.10, n=83, J=480) = 0.03299954851 [0.009902003185, 0.05609709383];
    mdes.bira2r1(rho2=.20, omega2=.30, g2=1, r21=.5, r2t2=.2, p=.4, n=30, J=25) = 0.1883296928;
    power.bira2r1(es=.20, same) = 0.8450688732; mrss.bira2r1(es=.20, rho2=.20, omega2=.30, r21=.5, n=30) = 24."""
    r = mdes_multisite_rct(83, 480, icc=0.35, effect_heterogeneity=0.10)
    assert (r.mdes, r.mdes_ci_low, r.mdes_ci_high) == pytest.approx((0.03299954851, 0.009902003185, 0.05609709383),
                                                                    abs=1e-10)
    kw = dict(icc=0.20, effect_heterogeneity=0.30, p_treated=0.4, r2_level1=0.5, r2_level2=0.2, n_covariates=1)
    assert mdes_multisite_rct(30, 25, **kw).mdes == pytest.approx(0.1883296928, abs=1e-9)
    assert power_multisite_rct(0.20, 30, 25, **kw).power == pytest.approx(0.8450688732, abs=1e-9)
    assert required_sites_multisite_rct(0.20, 30, icc=0.20, effect_heterogeneity=0.30, r2_level1=0.5).n_sites == 24


def test_multisite_constant_and_fixed_effects_df():
    """Dong & Maynard (2013) / PowerUpR bira2c1: df = J(n-1) - g - 1; bira2f1: df = J(n-2) - g;
    SSE^2 = (1-R2_1)/(P(1-P)Jn). With J = 20, n = 30: df 579 and 560, MDES = M * sqrt(4/600)."""
    c = mdes_multisite_rct(30, 20, icc=0.2, effect_heterogeneity=0.0, site_effects="constant")
    f = mdes_multisite_rct(30, 20, icc=0.2, effect_heterogeneity=0.0, site_effects="fixed")
    assert (c.df, f.df) == (579, 560)
    assert c.mdes == pytest.approx(multiplier(579) * (4 / 600) ** 0.5, abs=1e-12)
    # with omega = 0 and no covariates, the random-effects SSE equals sqrt((1-rho)/(P(1-P)Jn)) + rho*0
    r = mdes_multisite_rct(30, 20, icc=0.2, effect_heterogeneity=0.0)
    assert r.standard_error == pytest.approx((0.8 * 4 / 600) ** 0.5, abs=1e-12)


def test_three_level_cluster_rct_powerupr_core():
    """[CORE] mdes.cra3r3(rho2=.10, rho3=.15, n=20, J=3, K=40, g3=1, r21=.4, r22=.3, r23=.5) = 0.2960378013
    [0.08759258488, 0.5044830177]; power.cra3r3(es=.30, same) = 0.8105018107."""
    kw = dict(n_per_cluster=20, n_clusters_per_site=3, icc_level2=0.10, icc_level3=0.15, r2_level1=0.4,
              r2_level2=0.3, r2_level3=0.5, n_covariates=1)
    r = mdes_cluster_rct3(n_sites=40, **kw)
    assert (r.mdes, r.mdes_ci_low, r.mdes_ci_high) == pytest.approx((0.2960378013, 0.08759258488, 0.5044830177),
                                                                    abs=1e-9)
    assert r.df == 37
    assert power_cluster_rct3(0.30, n_sites=40, **kw).power == pytest.approx(0.8105018107, abs=1e-9)
    # the same design through the two-level entry point with the level-3 count and ICC added
    via2 = mdes_cluster_rct(20, 3, 0.10, r2_level1=0.4, r2_level2=0.3, n_covariates=1, n_sites=40,
                            icc_level3=0.15, r2_level3=0.5)
    assert via2.mdes == pytest.approx(0.2960378013, abs=1e-9)
    assert power_cluster_rct(0.30, 20, 3, 0.10, r2_level1=0.4, r2_level2=0.3, n_covariates=1, n_sites=40,
                             icc_level3=0.15, r2_level3=0.5).power == pytest.approx(0.8105018107, abs=1e-9)
    need = required_sites_cluster_rct3(0.30, method="ceiling", **kw)
    assert need.power >= 0.8 and power_cluster_rct3(0.30, n_sites=need.n_sites - 1, **kw).power < 0.8


def test_power_mdes_roundtrip_and_curve():
    """At ES = MDES the noncentral-t power is close to, not exactly, 0.80: the MDES formula
    (Bloom 1995) approximates the noncentral t by a shifted central t."""
    r = mdes_cluster_rct(25, 40, 0.2)
    p = power_cluster_rct(r.mdes, 25, 40, 0.2).power
    assert 0.80 <= p < 0.801
    tab = power_curve("cluster", "n_clusters", [10, 20, 40], effect_size=0.25, n_per_cluster=25, icc=0.2)
    assert list(tab.columns) == ["n_clusters", "power", "mdes", "df"]
    assert tab["power"].is_monotonic_increasing
    assert tab["mdes"].iloc[-1] == pytest.approx(0.437995, abs=5e-7)  # P12
    assert r.to_frame().shape[0] == 1
