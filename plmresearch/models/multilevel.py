"""One entry point, two engines: :func:`multilevel`."""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd

from plmresearch.errors import InputError
from plmresearch.models.formula import parse_formula

ENGINES = ("statsmodels", "bayes")


def multilevel(formula: str, data: pd.DataFrame, engine: str = "statsmodels", **kwargs: Any):
    """Fit an lme4-style multilevel model.

    Parameters
    ----------
    formula : str
        ``"mathach ~ cses * meanses + (1 + cses | school)"``; nested levels as
        ``(1 | school/class)`` or ``(1 | school) + (1 | school:class)``; ``||`` for
        independent intercept and slopes.
    engine : {"statsmodels", "bayes"}
        REML/ML with guarded optimizers (:func:`~plmresearch.models.frequentist.fit_mixedlm`,
        keywords ``reml``, ``optimizers``, ``polish``) or MCMC in PyMC
        (:func:`~plmresearch.models.bayes.fit_bayes`, keywords ``draws``, ``tune``,
        ``chains``, ``random_seed``, ``target_accept``, ``sampler``).

    Returns
    -------
    MultilevelFit or BayesMultilevelFit
    """
    if engine not in ENGINES:
        raise InputError(f"`engine` must be one of {ENGINES}, got {engine!r}.")
    mf = parse_formula(formula)
    if engine == "statsmodels":
        from plmresearch.models.frequentist import fit_mixedlm as fit
    else:
        from plmresearch.models.bayes import fit_bayes as fit
    allowed = set(inspect.signature(fit).parameters) - {"formula", "data"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise InputError(f"engine={engine!r} does not take {unknown}; it accepts {sorted(allowed)}.")
    return fit(mf, data, **kwargs)
