"""One entry point, three engines: :func:`multilevel`."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.errors import InputError, PlmWarning
from plmresearch.models.formula import parse_formula

ENGINES = ("statsmodels", "pls", "bayes")
FAMILIES = ("gaussian", "binomial", "poisson")


class BinaryOutcomeWarning(PlmWarning):
    """A 0/1 outcome is being fitted with a Gaussian (linear probability) model."""


def multilevel(formula: str, data: pd.DataFrame, engine: str = "statsmodels", family: str = "gaussian",
               **kwargs: Any):
    """Fit an lme4-style multilevel model.

    Parameters
    ----------
    formula : str
        ``"mathach ~ cses * meanses + (1 + cses | school)"``; nested levels as
        ``(1 | school/class)`` or ``(1 | school) + (1 | school:class)``; ``||`` for
        independent intercept and slopes; crossed factors as ``(1 | student) + (1 | item)``.
    engine : {"statsmodels", "pls", "bayes"}
        ``"statsmodels"``: REML/ML with guarded optimizers
        (:func:`~plmresearch.models.frequentist.fit_mixedlm`, keywords ``reml``, ``optimizers``,
        ``polish``); formulas MixedLM cannot express go to the sparse ``"pls"`` engine
        (:func:`~plmresearch.models.lmm_pls.fit_lmm`, lme4's algorithm), which can also be
        asked for directly. ``"bayes"``: MCMC in PyMC (:func:`~plmresearch.models.bayes.fit_bayes`,
        keywords ``draws``, ``tune``, ``chains``, ``random_seed``, ``target_accept``, ``sampler``).
    family : {"gaussian", "binomial", "poisson"}
        ``"binomial"`` (logit link; 0/1 outcomes, or successes with ``trials=`` naming the
        column of trials) and ``"poisson"`` (log link) fit a generalized linear mixed model,
        frequentist by the Laplace approximation or adaptive Gauss-Hermite quadrature
        (:func:`~plmresearch.models.glmm.fit_glmm`, keywords ``nAGQ``, ``trials``), or by MCMC
        with ``engine="bayes"`` (:func:`~plmresearch.models.bayes_glmm.fit_bayes_glmm`).

    Returns
    -------
    MultilevelFit, GlmmFit, BayesMultilevelFit or BayesGlmmFit

    Warns
    -----
    BinaryOutcomeWarning
        A Gaussian model of an outcome that only takes the values 0 and 1.
    """
    if engine not in ENGINES:
        raise InputError(f"`engine` must be one of {ENGINES}, got {engine!r}.")
    if family not in FAMILIES:
        raise InputError(f"`family` must be one of {FAMILIES}, got {family!r}.")
    mf = parse_formula(formula)
    if family != "gaussian":
        if engine == "bayes":
            from plmresearch.models.bayes_glmm import fit_bayes_glmm as fit

            kwargs["family"] = family
        else:
            from plmresearch.models.glmm import fit_glmm as fit

            kwargs["family"] = family
    elif engine == "statsmodels":
        from plmresearch.models.frequentist import fit_mixedlm as fit
    elif engine == "pls":
        from plmresearch.models.lmm_pls import fit_lmm as fit
    else:
        from plmresearch.models.bayes import fit_bayes as fit
    allowed = set(inspect.signature(fit).parameters) - {"formula", "data"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise InputError(f"engine={engine!r}, family={family!r} does not take {unknown}; it accepts {sorted(allowed)}.")
    if family == "gaussian":
        warn_if_binary(data, mf.outcome)
    return fit(mf, data, **kwargs)


def warn_if_binary(data: pd.DataFrame, outcome: str) -> None:
    """Warn when a Gaussian model is asked of an outcome coded only 0/1 (a linear probability model)."""
    if not isinstance(data, pd.DataFrame) or outcome not in data.columns:
        return
    col = data[outcome]
    if pd.api.types.is_bool_dtype(col):
        vals = {0, 1}
    elif pd.api.types.is_numeric_dtype(col):
        vals = set(np.unique(col.dropna().to_numpy()).tolist())
    else:
        return
    if vals and vals <= {0, 1}:
        warnings.warn(
            f"The outcome '{outcome}' only takes the values 0 and 1, and is being fitted with a Gaussian "
            "(linear probability) model. For a binary outcome pass family=\"binomial\" (a logistic mixed model).",
            BinaryOutcomeWarning, stacklevel=3)
