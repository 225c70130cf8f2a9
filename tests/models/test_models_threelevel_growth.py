"""Three-level models (students in classes in schools) and growth models, against lme4.

R 4.2.2, lme4 1.1.31, mlmRev 1.0.8:

    data(star); s <- star[star$gr == "K" & !is.na(star$math), ]
    s$small <- as.integer(s$cltype == "small"); s$aide <- as.integer(s$cltype == "reg+A")
    lmer(math ~ small + aide + (1|sch) + (1|sch:tch), s, REML = TRUE)
      # (Intercept) 483.16442761 (2.9326157); small 8.02683795 (2.5948736); aide -0.14319523 (2.6792863)
      # sch:tch 270.14081; sch 391.18711; Residual 1611.07642; logLik -30291.47792; n 5871, 79 sch, 337 classes

    data(egsingle)
    lmer(math ~ year + (year|schoolid) + (1|schoolid:childid) + (0+year|schoolid:childid), egsingle, REML = TRUE)
      # (Intercept) -0.77433943 (0.058305763); year 0.76352852 (0.015371805)
      # child: year 0.013269856, (Intercept) 0.667957336; school: (Intercept) 0.167621873, year 0.011145651,
      # cov 0.019140009; Residual 0.297800143; logLik -8211.372825

    # correlated intercept and slope at both levels (what engine="bayes" fits):
    lmer(math ~ year + (year|schoolid) + (year|schoolid:childid), egsingle, REML = TRUE)
      # (Intercept) -0.7791596380 (0.05830352680); year 0.7631243477 (0.01539910192)
      # child: (Intercept) 0.64047117416, year 0.01125764710, cov 0.04678622906 (cor 0.5509909092)
      # school: (Intercept) 0.16857070627, year 0.01126368610, cov 0.01734149078 (cor 0.3979743726)
      # Residual 0.30143332352; logLik -8168.36970079 (df = 9)
"""

from __future__ import annotations

import numpy as np
import pytest

from plmresearch.errors import InputError, ModelError
from plmresearch.models import growth_formula, growth_model, multilevel


def test_star_kindergarten_three_level_matches_lme4(star_k):
    fit = multilevel("math ~ small + aide + (1 | school/teacher)", star_k)
    print(fit.fixed_effects, fit.variance_components, fit.optimizer, sep="\n")
    assert fit.n_obs == 5871
    assert fit.n_groups == {"school": 79, "school:teacher": 337}
    for term, (est, se) in {"Intercept": (483.16442761, 2.9326157), "small": (8.02683795, 2.5948736),
                            "aide": (-0.14319523, 2.6792863)}.items():
        assert fit.params[term] == pytest.approx(est, abs=2e-3)
        assert fit.bse[term] == pytest.approx(se, rel=2e-3)
    assert fit.variance("school:teacher") == pytest.approx(270.14081, rel=2e-3)
    assert fit.variance("school") == pytest.approx(391.18711, rel=2e-3)
    assert fit.variance("Residual") == pytest.approx(1611.07642, rel=2e-4)
    assert fit.llf == pytest.approx(-30291.47792, abs=1e-3)
    dec = fit.variance_decomposition()
    assert list(dec["level"]) == ["school:teacher", "school", "Residual"]
    # icc(level=...): each level's share of 391.18711 + 270.14081 + 1611.07642 (lme4 VarCorr above;
    # Raudenbush & Bryk 2002 ch. 8 proportions of variance); the default is the outermost level
    total = 391.18711 + 270.14081 + 1611.07642
    assert fit.icc("school") == pytest.approx(391.18711 / total, abs=5e-4)
    assert fit.icc("school:teacher") == pytest.approx(270.14081 / total, abs=5e-4)
    assert fit.icc() == fit.icc("school")
    with pytest.raises(InputError, match="Levels"):
        fit.icc("teacher")
    # class-level reliability uses the class intercept variance and class sizes
    assert set(fit.reliability().index.get_level_values(0)) == {"school", "school:teacher"}


def test_growth_model_sustaining_effects_matches_lme4(sustaining_effects):
    # L-BFGS alone reaches lme4's optimum here in ~3 s (Powell takes ~15 s, more on a loaded
    # machine); the optimizer-trap guard itself is tested on HSB in test_models_frequentist_hsb.py.
    fit = growth_model(sustaining_effects, "math", "year", student="student", school="school",
                       optimizers=("lbfgs",))
    print(fit.formula, fit.fixed_effects, fit.variance_components, fit.optimizer, sep="\n")
    assert fit.params["Intercept"] == pytest.approx(-0.77433943, abs=2e-4)
    assert fit.params["year"] == pytest.approx(0.76352852, abs=2e-4)
    assert fit.bse["Intercept"] == pytest.approx(0.058305763, rel=2e-3)
    assert fit.bse["year"] == pytest.approx(0.015371805, rel=2e-3)
    v = fit.variance
    assert v("school:student", "Intercept") == pytest.approx(0.667957336, rel=2e-3)
    assert v("school:student", "year") == pytest.approx(0.013269856, rel=5e-3)
    assert v("school", "Intercept") == pytest.approx(0.167621873, rel=5e-3)
    assert v("school", "year") == pytest.approx(0.011145651, rel=5e-3)
    assert v("school", "Intercept", "year") == pytest.approx(0.019140009, rel=5e-3)
    assert v("Residual") == pytest.approx(0.297800143, rel=2e-3)
    assert fit.llf == pytest.approx(-8211.372825, abs=2e-3)


def test_correlated_slope_at_nested_level_needs_bayes(sustaining_effects):
    with pytest.raises(ModelError, match="engine='bayes'"):
        multilevel("math ~ year + (year | school) + (1 + year | school:student)", sustaining_effects)


def test_growth_formula_engines():
    assert growth_formula("y", "t", "id", "sch") == "y ~ t + (1 + t | sch) + (1 + t || sch:id)"
    assert growth_formula("y", "t", "id", "sch", engine="bayes") == "y ~ t + (1 + t | sch) + (1 + t | sch:id)"
    assert growth_formula("y", "t", "id", covariates=["x"]) == "y ~ t + x * t + (1 + t | id)"


def _agrees_with_reml(fit, reml: dict[str, tuple[float, float]]):
    fe = fit.fixed_effects.set_index("term")
    print(fe[["estimate", "std_error", "r_hat", "ess_bulk"]], fit.variance_components, sep="\n")
    for term, (est, se) in reml.items():
        assert abs(fe.loc[term, "estimate"] - est) < 2 * fe.loc[term, "std_error"], term
        assert fe.loc[term, "std_error"] == pytest.approx(se, rel=0.25), term


def _vc(fit, group, term1=None, term2=None):
    vc = fit.variance_components
    vc = vc[vc["group"] == group]
    if group != "Residual":
        vc = vc[(vc["term1"] == term1) & (vc["term2"].isna() if term2 is None else vc["term2"] == term2)]
    return vc.iloc[0]


def test_star_kindergarten_three_level_bayes_agrees_with_lme4(star_k_bayes):
    """Bayesian three-level fit vs lmer(math ~ small + aide + (1|sch) + (1|sch:tch)) above."""
    fit = star_k_bayes
    assert "integrated out" in fit.method
    _agrees_with_reml(fit, {"Intercept": (483.16442761, 2.9326157), "small": (8.02683795, 2.5948736),
                            "aide": (-0.14319523, 2.6792863)})
    assert _vc(fit, "Residual")["variance"] == pytest.approx(1611.07642, rel=0.03)
    # 337 classes and 79 schools: posterior means of the level variances near REML's
    assert _vc(fit, "school:teacher", "Intercept")["variance"] == pytest.approx(270.14081, rel=0.3)
    assert _vc(fit, "school", "Intercept")["variance"] == pytest.approx(391.18711, rel=0.3)
    assert (fit.diagnostics["r_hat"] < 1.05).all()
    assert len(fit.group_effects("school:teacher")) == 337
    # icc(level=...) keyed by grouping name, as on the frequentist engine (same lme4 shares)
    total = 391.18711 + 270.14081 + 1611.07642
    print("icc", fit.icc("school"), fit.icc("school:teacher"))
    assert list(fit.variance_decomposition()["level"]) == ["school:teacher", "school", "Residual"]
    assert fit.icc("school") == pytest.approx(391.18711 / total, abs=0.05)
    assert fit.icc("school:teacher") == pytest.approx(270.14081 / total, abs=0.05)
    assert fit.icc() == fit.icc("school")
    with pytest.raises(InputError, match="Levels"):
        fit.icc("teacher")


def test_growth_model_bayes_correlated_at_both_levels_agrees_with_lme4(growth_bayes):
    """Bayesian growth fit (correlated at the student level, which MixedLM cannot fit) vs lme4."""
    fit = growth_bayes
    assert fit.formula == "math ~ year + (1 + year | school) + (1 + year | school:student)"
    assert "integrated out" in fit.method
    _agrees_with_reml(fit, {"Intercept": (-0.7791596380, 0.05830352680), "year": (0.7631243477, 0.01539910192)})
    assert _vc(fit, "Residual")["variance"] == pytest.approx(0.30143332352, rel=0.03)
    assert _vc(fit, "school:student", "Intercept")["variance"] == pytest.approx(0.64047117416, rel=0.1)
    assert _vc(fit, "school:student", "year")["variance"] == pytest.approx(0.01125764710, rel=0.3)
    assert _vc(fit, "school:student", "Intercept", "year")["sd_cor"] == pytest.approx(0.5509909092, abs=0.15)
    assert _vc(fit, "school", "Intercept")["variance"] == pytest.approx(0.16857070627, rel=0.35)
    assert _vc(fit, "school", "year")["variance"] == pytest.approx(0.01126368610, rel=0.35)
    assert (fit.diagnostics["r_hat"] < 1.05).all()
    eff = fit.group_effects("school:student")
    assert len(eff) == 2 * 1721 and np.isfinite(eff["estimate"]).all()
