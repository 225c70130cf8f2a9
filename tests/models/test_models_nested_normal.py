"""The sufficient-statistics posterior of the nested random-intercept model
(plmresearch.models.nested_normal) equals the full-data Gaussian computation.

Reference: with every row kept, y ~ N(X m0, V + X S0 X') with V = sigma^2 I + tau_c^2 Z_c Z_c' +
omega Z_s Z_s' formed densely (n x n), and theta | y ~ N(S (X'V^-1 y), S), S = (X'V^-1 X + S0^-1)^-1
(BDA3, Gelman et al. 2013, sec. 14.2; Searle, Casella & McCulloch 1992, sec. 3.3). The collapsed
formulas must reproduce both to 1e-10.
"""

import numpy as np
import pytest
from scipy import stats

from plmresearch.models.nested_normal import conditional, fit_nested_normal, nested_stats


def _district(seed, with_classes=True):
    """4 schools, 2-4 classes each of unequal sizes (1 to 9 students), a school-level treatment."""
    rng = np.random.default_rng(seed)
    school, cls = [], []
    for s in range(4):
        for c in range(rng.integers(2, 5)):
            k = int(rng.integers(1, 10))
            school += [s] * k
            cls += [c] * k
    school, cls = np.array(school), np.array(cls)
    n = len(school)
    t = (school % 2).astype(float)
    pre = rng.normal(size=n)
    y = 0.3 * t + 0.6 * pre + rng.normal(size=4)[school] + rng.normal(size=n)
    return y, np.column_stack([t, pre]), school, (cls if with_classes else None)


def _dense(y, X, school, cls, prior_sd, sig2, tc2, omega):
    n = len(y)
    R = np.column_stack([np.ones(n), X - X.mean(axis=0)])
    V = sig2 * np.eye(n) + omega * (school[:, None] == school[None, :])
    if cls is not None:
        V = V + tc2 * ((school[:, None] == school[None, :]) & (cls[:, None] == cls[None, :]))
    S0 = np.diag(prior_sd**2)
    C = V + R @ S0 @ R.T
    logml = -0.5 * (n * np.log(2 * np.pi) + np.linalg.slogdet(C)[1] + y @ np.linalg.solve(C, y))
    Vi = np.linalg.inv(V)
    S = np.linalg.inv(R.T @ Vi @ R + np.linalg.inv(S0))
    return logml, S @ (R.T @ Vi @ y), S


@pytest.mark.parametrize("seed, with_classes", [(0, True), (1, True), (2, False)])
@pytest.mark.parametrize("sig2, tc2, omega", [(0.8, 0.15, 0.3), (1.3, 0.02, 6.25 + 0.1), (0.5, 0.6, 0.0)])
def test_collapsed_likelihood_and_conditional_posterior_equal_the_dense_computation(seed, with_classes, sig2, tc2,
                                                                                   omega):
    """log p(y | phi), E(theta | phi, y) and Cov(theta | phi, y) from class/school sums equal the n x n
    computation to 1e-10 (unequal classes, a 1-student class, blocks in omega = 6.25 + tau_s^2)."""
    y, X, school, cls = _district(seed, with_classes)
    tc2 = tc2 if cls is not None else 0.0
    y = (y - y.mean()) / y.std(ddof=1)
    prior_sd = np.r_[2.5, 2.5 / X.std(axis=0, ddof=1)]
    R = np.column_stack([np.ones(len(y)), X - X.mean(axis=0), y])
    ll, mean, cov = conditional(nested_stats(R, school, cls), prior_sd, sig2, tc2, omega)
    ref_ll, ref_mean, ref_cov = _dense(y, X, school, cls, prior_sd, sig2, tc2, omega)
    assert ll[0] == pytest.approx(ref_ll, rel=1e-10, abs=1e-10)
    n = len(y)
    Rx = R[:, :-1]
    V = sig2 * np.eye(n) + omega * (school[:, None] == school[None, :])
    if cls is not None:
        V = V + tc2 * ((school[:, None] == school[None, :]) & (cls[:, None] == cls[None, :]))
    assert ll[0] == pytest.approx(stats.multivariate_normal(np.zeros(n), V + Rx @ np.diag(prior_sd**2) @ Rx.T)
                                  .logpdf(y), rel=1e-10)
    np.testing.assert_allclose(mean[0], ref_mean, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(cov[0], ref_cov, rtol=1e-10, atol=1e-12)


def test_grid_posterior_equals_a_dense_brute_force_quadrature():
    """The posterior of the treatment effect (mean, SD, P(> 0)) equals brute force: the dense n x n
    likelihood times the priors on a fine, wide (log sigma, log tau_s) grid, no Laplace step,
    no sufficient statistics. Agreement to 1e-5 (the quadrature error of both grids)."""
    y, X, school, _ = _district(5, with_classes=False)
    post = fit_nested_normal(y, X, ["t", "pre"], school)
    my, sy = y.mean(), y.std(ddof=1)
    ys = (y - my) / sy
    prior_sd = np.r_[2.5, 2.5 / X.std(axis=0, ddof=1)]
    ls, lt = np.meshgrid(np.linspace(-1.5, 0.8, 81), np.linspace(-7, 1.5, 121), indexing="ij")
    lp, means, sds = [], [], []
    for a, b in zip(ls.ravel(), lt.ravel()):
        ll, m, S = _dense(ys, X, school, None, prior_sd, np.exp(2 * a), 0.0, np.exp(2 * b))
        lp.append(ll - np.exp(a) - 0.5 * np.exp(2 * b) + a + b)
        means.append(m[1] * sy)
        sds.append(np.sqrt(S[1, 1]) * sy)
    lp, means, sds = np.array(lp), np.array(means), np.array(sds)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mu = w @ means
    assert post.posterior_mean("t") == pytest.approx(mu, rel=1e-5)
    assert post.posterior_sd("t") == pytest.approx(np.sqrt(w @ (sds**2 + (means - mu) ** 2)), rel=1e-5)
    assert post.prob_greater("t", 0.0) == pytest.approx(w @ stats.norm.sf(0, means, sds), abs=1e-5)


@pytest.mark.slow
def test_grid_posterior_matches_pymc_nuts_on_the_same_model():
    """Against the full-data model sampled by PyMC (models.fit_bayes, the same priors: intercept at
    centred predictors N(mean y, (2.5 sd y)^2), slopes N(0, (2.5 sd y / sd x)^2), sigma
    Exponential(1 / sd y), group SDs HalfNormal(sd y)) on a simulated cluster RCT with classes in
    schools: the treatment effect's posterior mean and SD agree within Monte Carlo error
    (4 x MCSE for the mean, 10% for the SD)."""
    import pandas as pd

    from plmresearch import models

    rng = np.random.default_rng(42)
    school = np.repeat(np.arange(10), 24)
    cls = np.tile(np.repeat(np.arange(3), 8), 10)
    t = (school % 2).astype(float)
    pre = rng.normal(size=len(school))
    y = 0.4 * t + 0.5 * pre + 0.5 * rng.normal(size=10)[school] + 0.3 * rng.normal(size=30)[school * 3 + cls] \
        + rng.normal(size=len(school))
    d = pd.DataFrame({"y": y, "t": t, "pre_c": pre - pre.mean(), "_school": school.astype(str),
                      "_class": cls.astype(str)})
    fit = models.fit_bayes("y ~ t + pre_c + (1 | _school/_class)", d, draws=800, tune=600, chains=2,
                           random_seed=3, posterior_predictive=False, warn=False, progress=False)
    ref = fit.estimate("t")
    draws = np.asarray(ref.draws)
    import arviz as az

    mcse = float(az.mcse(draws.reshape(2, -1)))
    post = fit_nested_normal(y, np.column_stack([t, pre]), ["t", "pre"], school, cls)
    assert abs(post.posterior_mean("t") - draws.mean()) < 4 * mcse
    assert post.posterior_sd("t") == pytest.approx(draws.std(ddof=1), rel=0.1)
