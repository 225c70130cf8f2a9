"""Bayesian generalized linear mixed models (Bernoulli/binomial-logit, Poisson-log) in PyMC.

The same formulas as :func:`~plmresearch.models.glmm.fit_glmm`, with the group effects
sampled non-centred (b = L z, z ~ N(0, I); a non-Gaussian likelihood cannot be integrated
over them in closed form). Default priors, on the link scale, follow rstanarm's
defaults for ``stan_glmer`` (Gabry & Goodrich 2020, *Prior distributions for rstanarm
models*; Gelman, Hill & Vehtari 2020, sec. 9.5):

* intercept at the predictors' means: Normal(0, 2.5);
* slope of predictor x: Normal(0, 2.5 / sd(x));
* group-level SD of an intercept: Exponential(1); of a slope on z: Exponential(rate = sd(z));
* correlations of a group's intercept and slopes: LKJ(eta = 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from plmresearch.errors import InputError
from plmresearch.models.bayes import (
    BayesMultilevelFit,
    ModelParts,
    _fixed_design,
    _fixed_effects_prior,
    _fixed_summary,
    _group_covariance_prior,
    _group_designs,
    _group_sd_summary,
    _noncentred_effects,
    _safe,
    check_sampling,
    default_sampler,
    sample_model,
)
from plmresearch.models.formula import MixedFormula, check_data, design, group_key, parse_formula
from plmresearch.models.glmm import FAMILIES, _response
from plmresearch.models.posterior import diagnostics, element_diagnostics, warn_notes
from plmresearch.validation import check_ci_level, check_flag, positive


@dataclass
class BayesGlmmFit(BayesMultilevelFit):
    """Posterior of a GLMM; fixed effects and group SDs are on the link (logit or log) scale."""

    family: str = "binomial"

    @property
    def method(self) -> str:
        fam = self.family
        link = "logit" if fam == "binomial" else "log"
        return f"Bayesian generalized linear mixed model ({fam}, {link} link; PyMC, non-centred, sampler {self.sampler})"

    @property
    def sigma2(self) -> float:
        return float("nan")

    def variance_decomposition(self) -> pd.DataFrame:
        """Posterior-mean intercept variances with the latent logistic residual pi^2/3 (binomial only)."""
        from plmresearch.errors import ModelError

        if self.family != "binomial":
            raise ModelError("A variance decomposition is defined here for the logistic model only.")
        vc = self.variance_components
        rows = vc[vc["term2"].isna() & (vc["term1"] == "Intercept")]
        out = pd.DataFrame({"level": list(rows["group"]) + ["Residual (latent logistic)"],
                            "variance": list(rows["variance"]) + [np.pi**2 / 3]})
        out["proportion"] = out["variance"] / out["variance"].sum()
        return out

    def estimate(self, term: str):
        from plmresearch.models.posterior import PosteriorEstimate

        terms = list(self.fixed_effects["term"])
        if term not in terms:
            raise InputError(f"No fixed effect named '{term}'. Terms: {terms}.")
        draws = self.idata["posterior"]["fixed"].sel(term=term).values.reshape(-1)
        diag = element_diagnostics(self.diagnostics, f"fixed[{term}]")
        return PosteriorEstimate.from_draws(draws, method=self.method, parameter=term, ci_level=self.ci_level,
                                            idata=self.idata, n_clusters=next(iter(self.n_groups.values())),
                                            notes=self.notes, **diag)


def build_glmm_model(mf: MixedFormula, used: pd.DataFrame, y: np.ndarray, trials: np.ndarray, family: str,
                     prior_scale: float = 2.5):
    import pymc as pm
    import pytensor.tensor as pt

    x = design(f"~ {mf.fixed_rhs}", used)
    has_int, slopes, xc, xmean, xsd = _fixed_design(x)
    coords = {"term": list(x.columns), "slope_term": slopes, "obs": np.arange(len(y))}
    priors = {"Intercept": f"Normal(0, {prior_scale}) at centred predictors (link scale)",
              "slopes": f"Normal(0, {prior_scale} / sd(x))",
              "group SDs": "Exponential(1) for intercepts, Exponential(rate = sd(z)) for slopes",
              "correlations": "LKJ(eta = 2)"}
    groups = _group_designs(mf, used, coords)
    with pm.Model(coords=coords) as model:
        _, _, eta = _fixed_effects_prior(has_int, slopes, xc, xmean, intercept_mean=0.0, intercept_sd=prior_scale,
                                         slope_sd=prior_scale / xsd)
        for t, g, z, codes, zsd in groups:
            chol = _group_covariance_prior(t, g, z.shape[1], pm.Exponential, lam=zsd)
            eta = eta + _noncentred_effects(g, z, codes, chol)
        if family == "binomial":
            pm.Binomial("y", n=trials.astype("int64"), logit_p=eta, observed=y.astype("int64"), dims="obs")
        else:
            pm.Poisson("y", mu=pt.exp(eta), observed=y.astype("int64"), dims="obs")
    mparts = ModelParts(parameterization="noncentred", x=x.to_numpy(), y=y,
                        levels={t.group: (codes, z) for t, _, z, codes, _ in groups},
                        level_labels={t.group: coords[f"{g}__level"] for t, g, _, _, _ in groups})
    return model, priors, [t.group for t in mf.random], mparts


def fit_bayes_glmm(formula: str | MixedFormula, data: pd.DataFrame, *, family: str = "binomial",
                   trials: str | None = None, draws: int = 1000, tune: int = 1000, chains: int = 4,
                   random_seed: int | None = None, target_accept: float = 0.9, sampler: str | None = None,
                   ci_level: float = 0.95, prior_scale: float = 2.5, warn: bool = True) -> BayesGlmmFit:
    """Fit a binomial-logit or Poisson-log mixed model by MCMC (priors in the module docstring)."""
    if family not in FAMILIES:
        raise InputError(f"`family` must be one of {FAMILIES}, got {family!r}.")
    mf = parse_formula(formula) if isinstance(formula, str) else formula
    check_ci_level(ci_level)
    check_sampling(draws=draws, tune=tune, chains=chains, random_seed=random_seed, target_accept=target_accept,
                   sampler=sampler)
    positive(prior_scale, "prior_scale")
    check_flag(warn, "warn")
    used = check_data(mf, data)
    y, m = _response(mf, used, data, family, trials)
    model, priors, groups, _parts = build_glmm_model(mf, used, y, m, family, prior_scale)
    sampler = sampler or default_sampler()
    idata = sample_model(model, draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                         target_accept=target_accept, sampler=sampler)
    sd_names = [f"sd_{_safe(g)}" for g in groups]
    diag, notes = diagnostics(idata, var_names=["fixed", *sd_names])
    if warn:
        warn_notes(notes)
    post = idata["posterior"]
    vc_rows = _group_sd_summary(post, groups)
    n_groups = {t.group: int(group_key(used, t).nunique()) for t in mf.random}
    all_notes = list(notes)
    if used.attrs.get("n_dropped"):
        all_notes.append(f"{used.attrs['n_dropped']} row(s) with missing values in the formula's columns were dropped.")
    return BayesGlmmFit(formula=mf.formula, fixed_effects=_fixed_summary(post, diag, ci_level), variance_components=pd.DataFrame(vc_rows),
                        idata=idata, diagnostics=diag, n_obs=len(used), n_groups=n_groups, priors=priors,
                        sampler=sampler, ci_level=ci_level, notes=tuple(all_notes), parameterization="noncentred",
                        groups=tuple(groups), n_divergences=int(np.asarray(idata["sample_stats"]["diverging"].values).sum()),
                        model=model, family=family)
