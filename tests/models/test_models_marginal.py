"""The integrated (marginal) Gaussian likelihood and the conditional draws of group effects.

References:

* log-likelihood: the multivariate normal density of y ~ N(X theta, V), V = sigma^2 I +
  Z G Z', evaluated densely by ``scipy.stats.multivariate_normal.logpdf`` (the definition
  the Woodbury algebra in ``plmresearch.models.marginal`` must reproduce to rounding);
* conditional posterior of the group effects: Henderson's (1975) BLUP, E(b | y) = G Z' V^-1 r
  and Cov(b | y) = G - G Z' V^-1 Z G, evaluated densely.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from plmresearch.errors import InputError, ModelError
from plmresearch.models import marginal, multilevel


def _nested_design(seed=1, n_outer=4, per=3, n=60):
    rng = np.random.default_rng(seed)
    n_inner = n_outer * per
    inner = rng.integers(0, n_inner, n)
    inner[:n_inner] = np.arange(n_inner)
    outer = np.repeat(np.arange(n_outer), per)[inner]
    X = np.c_[np.ones(n), rng.normal(size=(n, 2))]
    Z = np.c_[np.ones(n), rng.normal(size=n)]       # inner: intercept and a slope
    W = np.c_[np.ones(n), X[:, 1]]                  # outer: intercept and a slope on x1
    y = X @ [1.0, 2.0, 3.0] + 2 * rng.normal(size=n)
    return y, X, marginal.Level(inner, Z, n_inner), marginal.Level(outer, W, n_outer)


THETA = np.array([0.5, 1.5, 2.5])
SIGMA = 1.3
L_IN = np.array([[0.9, 0.0], [0.3, 0.5]])
L_OUT = np.array([[1.2, 0.0], [-0.4, 0.7]])


def _indicator(level: marginal.Level) -> np.ndarray:
    n, k = level.z.shape
    out = np.zeros((n, level.n_levels * k))
    for r in range(n):
        out[r, level.codes[r] * k:(level.codes[r] + 1) * k] = level.z[r]
    return out


def _dense(y, X, levels, Ls):
    Zs = [_indicator(lv) for lv in levels]
    Gs = [np.kron(np.eye(lv.n_levels), L @ L.T) for lv, L in zip(levels, Ls)]
    Z = np.hstack(Zs)
    G = np.zeros((Z.shape[1], Z.shape[1]))
    a = 0
    for g in Gs:
        G[a:a + len(g), a:a + len(g)] = g
        a += len(g)
    V = SIGMA**2 * np.eye(len(y)) + Z @ G @ Z.T
    return V, Z, G


def _compiled_loglik(cp, two_levels):
    import pytensor
    import pytensor.tensor as pt

    th, sg, li, lo = pt.dvector(), pt.dscalar(), pt.dmatrix(), pt.dmatrix()
    ll = marginal.loglik(cp, th, sg, li, lo if two_levels else None)
    return pytensor.function([th, sg, li, lo], [ll, *pt.grad(ll, [th, sg, li])], on_unused_input="ignore")


@pytest.mark.parametrize("two_levels", [False, True], ids=["one factor", "two nested factors"])
def test_integrated_loglik_equals_dense_multivariate_normal(two_levels):
    y, X, inner, outer = _nested_design()
    levels, Ls = ([inner, outer], [L_IN, L_OUT]) if two_levels else ([inner], [L_IN])
    cp = marginal.cross_products(y, X, inner, outer if two_levels else None)
    f = _compiled_loglik(cp, two_levels)
    V, _, _ = _dense(y, X, levels, Ls)
    want = multivariate_normal(X @ THETA, V).logpdf(y)
    got, grad_theta, *_ = f(THETA, SIGMA, L_IN, L_OUT)
    assert got == pytest.approx(want, abs=1e-9)
    # the gradient in theta is X' V^-1 (y - X theta)
    assert np.allclose(grad_theta, X.T @ np.linalg.solve(V, y - X @ THETA), atol=1e-8)


@pytest.mark.parametrize("two_levels", [False, True], ids=["one factor", "two nested factors"])
def test_conditional_draws_match_henderson_blup(two_levels):
    y, X, inner, outer = _nested_design()
    levels, Ls = ([inner, outer], [L_IN, L_OUT]) if two_levels else ([inner], [L_IN])
    cp = marginal.cross_products(y, X, inner, outer if two_levels else None)
    n = 20_000
    b_in, b_out = marginal.draw_group_effects(
        cp, np.tile(THETA, (n, 1)), np.full(n, SIGMA), np.tile(L_IN, (n, 1, 1)),
        np.tile(L_OUT, (n, 1, 1)) if two_levels else None, rng=np.random.default_rng(7))
    draws = b_in.reshape(n, -1) if not two_levels else np.c_[b_in.reshape(n, -1), b_out.reshape(n, -1)]
    V, Z, G = _dense(y, X, levels, Ls)
    mean = G @ Z.T @ np.linalg.solve(V, y - X @ THETA)
    sd = np.sqrt(np.diag(G - G @ Z.T @ np.linalg.solve(V, Z @ G)))
    mcse = sd / np.sqrt(n)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4.5 * mcse)
    assert np.allclose(draws.std(axis=0), sd, rtol=0.03)


@pytest.fixture(scope="session")
def small_two_level():
    """120 pupils in 24 classes in 8 schools, random intercepts at both levels and a class slope."""
    rng = np.random.default_rng(3)
    school = np.repeat(np.arange(8), 15)
    klass = np.repeat(np.arange(24), 5)
    x = rng.normal(size=120)
    y = (1.0 + 0.5 * x + rng.normal(0, 1.0, 8)[school] + rng.normal(0, 0.7, 24)[klass]
         + rng.normal(0, 0.4, 24)[klass] * x + rng.normal(0, 1.0, 120))
    return pd.DataFrame({"y": y, "x": x, "school": school.astype(str), "klass": klass.astype(str)})


FORMULA_2L = "y ~ x + (1 | school) + (1 + x | school:klass)"


@pytest.fixture(scope="session")
def two_level_fits(small_two_level):
    kw = dict(engine="bayes", draws=600, tune=600, chains=2, random_seed=11, sampler="pymc", warn=False)
    return {p: multilevel(FORMULA_2L, small_two_level, parameterization=p, **kw) for p in ("marginal", "noncentred")}


def test_marginal_and_noncentred_give_the_same_posterior(two_level_fits):
    """The same model sampled two ways: posterior means agree within Monte Carlo error."""
    m, nc = two_level_fits["marginal"], two_level_fits["noncentred"]
    assert "integrated out" in m.method and "non-centred" in nc.method
    for var in ("fixed", "sigma", "sd_school", "sd_school_klass"):
        a, b = m.idata["posterior"][var], nc.idata["posterior"][var]
        diff = (a.mean(("chain", "draw")) - b.mean(("chain", "draw"))).values
        mcse = np.hypot(az.mcse(m.idata, var_names=[var], method="mean")[var].values,
                        az.mcse(nc.idata, var_names=[var], method="mean")[var].values)
        print(var, diff, mcse)
        assert np.all(np.abs(diff) < 4 * mcse)
    # group effects drawn after sampling have the layout and the posterior of the latent ones
    ga, gb = m.group_effects("school:klass"), nc.group_effects("school:klass")
    assert list(ga.columns) == list(gb.columns) and len(ga) == 2 * 24
    assert np.corrcoef(ga["estimate"], gb["estimate"])[0, 1] > 0.95
    assert ga["std_error"].to_numpy() == pytest.approx(gb["std_error"].to_numpy(), rel=0.25)


def test_marginal_fit_keeps_the_result_interface(two_level_fits):
    m = two_level_fits["marginal"]
    assert set(m.idata.children) >= {"posterior", "sample_stats", "posterior_predictive", "observed_data"}
    assert m.idata["posterior_predictive"]["y"].shape == (2, 600, 120)
    assert m.posterior_predictive_check().set_index("statistic").loc["mean", "p_value"] > 0.05
    assert m.n_groups == {"school": 8, "school:klass": 24}
    assert len(m.group_effects("school")) == 8


def test_parameterization_choices_and_errors(small_two_level):
    with pytest.raises(InputError, match="parameterization"):
        multilevel(FORMULA_2L, small_two_level, engine="bayes", parameterization="centred")
    crossed = small_two_level.assign(rater=np.tile(np.arange(6), 20).astype(str))
    with pytest.raises(ModelError, match="Cannot integrate the group effects out.*noncentred"):
        multilevel("y ~ x + (1 | school) + (1 | rater)", crossed, engine="bayes", parameterization="marginal")
