"""Hierarchical models: multilevel regression (statsmodels REML/ML and PyMC), multisite
trials, growth models, and their plots.

>>> from plmresearch import load_dataset
>>> from plmresearch.models import multilevel
>>> hsb = load_dataset("hsb")
>>> fit = multilevel("mathach ~ 1 + (1 | school)", hsb)   # the unconditional model, R&B Table 4.2
>>> round(fit.icc(), 3)
0.18
"""

from plmresearch.models.bayes import BayesMultilevelFit, default_sampler, fit_bayes
from plmresearch.models.centering import grand_mean_center, group_mean_center
from plmresearch.models.formula import MixedFormula, RandomTerm, parse_formula
from plmresearch.models.frequentist import MultilevelFit, fit_mixedlm, likelihood_ratio_test
from plmresearch.models.glmm import GlmmFit, fit_glmm
from plmresearch.models.growth import growth_formula, growth_model
from plmresearch.models.lmm_pls import fit_lmm, profile_ci
from plmresearch.models.multilevel import multilevel
from plmresearch.models.multisite import (
    MultisiteFit,
    exact_site_posterior,
    multisite_trial,
    pool_site_estimates,
)
from plmresearch.models.plots import caterpillar_plot, posterior_rope_plot, trace_rank_plot
from plmresearch.models.posterior import PosteriorEstimate, SamplingWarning, diagnostics

__all__ = [
    "BayesMultilevelFit",
    "GlmmFit",
    "MixedFormula",
    "MultilevelFit",
    "MultisiteFit",
    "PosteriorEstimate",
    "RandomTerm",
    "SamplingWarning",
    "caterpillar_plot",
    "default_sampler",
    "diagnostics",
    "exact_site_posterior",
    "fit_bayes",
    "fit_glmm",
    "fit_lmm",
    "fit_mixedlm",
    "grand_mean_center",
    "group_mean_center",
    "growth_formula",
    "growth_model",
    "likelihood_ratio_test",
    "multilevel",
    "multisite_trial",
    "parse_formula",
    "pool_site_estimates",
    "posterior_rope_plot",
    "profile_ci",
    "trace_rank_plot",
]
