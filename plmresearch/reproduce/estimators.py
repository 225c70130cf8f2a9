"""Generic estimators a study spec can call (a study's own constructions live in its module
under :mod:`plmresearch.reproduce.studies`).

Each takes the study's data frame, the :class:`~plmresearch.reproduce.Study` and its ``params``
(keyword-only, read from the signature by :mod:`~plmresearch.reproduce.registry`) and returns a
flat ``{value name: number}`` mapping that the spec's targets pick from. They are thin: the
statistics live in ``effects``, ``causal``, ``models`` and ``mastery``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plmresearch.errors import SpecError
from plmresearch.reproduce.registry import register

# --------------------------------------------------------------------------- generic regressions

@register(columns=("outcome", "treatment", "covariates"))
def ols_ancova(df, study, *, fast=False, outcome=None, treatment=None, covariates=(), reference=None):
    """ANCOVA by OLS (classical SEs, as R's ``lm``): outcome on a categorical treatment and
    covariates; returns each treatment contrast against ``reference`` and its SE."""
    import statsmodels.formula.api as smf

    outcome = outcome or study.outcome
    treatment = treatment or study.treatment
    d = df[[outcome, treatment, *covariates]].dropna()
    levels = list(d[treatment].cat.categories) if isinstance(d[treatment].dtype, pd.CategoricalDtype) else sorted(d[treatment].unique())
    reference = reference or levels[0]
    term = f"C({treatment}, Treatment(reference={reference!r}))"
    fit = smf.ols(f"{outcome} ~ {' + '.join([*covariates, term])}", d).fit()
    out = {"n": float(fit.nobs), "r2": fit.rsquared}
    for lvl in levels:
        if lvl == reference:
            continue
        name = f"{term}[T.{lvl}]"
        out[f"{lvl}"] = fit.params[name]
        out[f"{lvl}_se"] = fit.bse[name]
    for c in covariates:
        out[c] = fit.params[c]
        out[f"{c}_se"] = fit.bse[c]
    return out


# --------------------------------------------------------------------------- randomized experiments

@register(columns=("outcome", "treatment", "covariates"),
          values=("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size", "n_treated", "n_control"))
def causal_estimate(df, study, *, fast=False, method="difference_in_means", outcome=None, treatment=None, covariates=(),
                    imputer="rf", p_treated=0.5, random_seeds=(0,)):
    """One of :mod:`plmresearch.causal`'s randomized-experiment estimators on the study's data.

    For LOOP (random forests are random) the estimate and SE are averaged over ``random_seeds``
    (the first seed only with ``fast``)."""
    from plmresearch import causal

    outcome = outcome or study.outcome
    treatment = treatment or study.treatment
    d = df.copy()
    if d[treatment].dtype == bool:
        d[treatment] = d[treatment].astype(int)
    if method == "difference_in_means":
        fits = [causal.difference_in_means(d, outcome=outcome, treatment=treatment)]
    elif method == "lin_adjusted":
        fits = [causal.lin_adjusted(d, outcome=outcome, treatment=treatment, covariates=list(covariates))]
    elif method == "loop":
        seeds = list(random_seeds)[:1] if fast else list(random_seeds)
        fits = [causal.loop(d, outcome=outcome, treatment=treatment, covariates=list(covariates), p_treated=p_treated,
                            imputer=imputer, random_seed=s) for s in seeds]
    else:
        raise SpecError(f"causal_estimate: method must be difference_in_means, lin_adjusted or loop, got {method!r}.")
    keys = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size", "n_treated", "n_control")
    return {k: float(np.mean([getattr(f, k) for f in fits])) for k in keys}


# --------------------------------------------------------------------------- multilevel models

@register()
def multilevel_model(df, study, *, fast=False, formula, engine="statsmodels", draws=1000):
    """A multilevel model of :func:`plmresearch.models.multilevel` (REML by default).

    Values: ``b:<term>`` and ``se:<term>`` for fixed effects, ``var:<group>:<term>`` for a
    random-effect variance, ``cov:<group>:<term1>:<term2>`` for a covariance, ``sigma2``
    for the level-1 variance and ``icc`` for the intraclass correlation of the first group.
    """
    from plmresearch.models import multilevel

    kwargs = {}
    if engine == "bayes":
        kwargs = {"draws": min(draws, 300) if fast else draws, "random_seed": 1}
    fit = multilevel(formula, df, engine=engine, **kwargs)
    out: dict[str, float] = {}
    for r in fit.fixed_effects.itertuples():
        out[f"b:{r.term}"] = float(r.estimate)
        out[f"se:{r.term}"] = float(r.std_error)
    for r in fit.variance_components.itertuples():
        if r.group == "Residual":
            continue
        if pd.isna(r.term2):
            out[f"var:{r.group}:{r.term1}"] = float(r.variance)
        else:
            out[f"cov:{r.group}:{r.term1}:{r.term2}"] = float(r.variance)
    out["sigma2"] = float(fit.sigma2)
    first = next(k for k in out if k.startswith("var:") and k.endswith(":Intercept"))
    out["icc"] = out[first] / (out[first] + out["sigma2"])
    return out


