"""Estimators for individually and cluster-randomized experiments.

* :func:`difference_in_means` -- Neyman/Welch (unclustered), CR2 with Bell-McCaffrey df
  (clustered), block-size-weighted (blocked); the estimators of R ``estimatr::difference_in_means``
  (Gerber & Green 2012, ch. 3-4; Blair et al. 2024 estimatr docs, "Mathematical notes").
* :func:`lin_adjusted` -- Lin (2013, Ann. Appl. Stat. 7(1)) fully interacted regression on
  mean-centred covariates, HC2 (or CR2) standard errors, as ``estimatr::lm_lin``.
* :func:`ancova` -- additive covariate (pretest) adjustment, HC2 (or CR2), as ``estimatr::lm_robust``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._ols import check_se_type, ols, se_label
from plmresearch.causal._prepare import as_list, check_ci_level, covariate_matrix, prepare
from plmresearch.errors import InputError
from plmresearch.results import Estimate


def _require_cluster_level_treatment(data: pd.DataFrame, treatment: str, cluster: str) -> None:
    labels, codes = np.unique(data[cluster].to_numpy().astype(str), return_inverse=True)
    t = data[treatment].to_numpy(dtype=float)
    lo = np.full(len(labels), np.inf)
    hi = np.full(len(labels), -np.inf)
    np.minimum.at(lo, codes, t)
    np.maximum.at(hi, codes, t)
    bad = labels[lo != hi]
    if len(bad):
        raise InputError(
            f"Treatment '{treatment}' varies within {len(bad)} cluster(s) of '{cluster}' "
            f"(e.g. {bad[0]!r}). In a cluster-randomized design every unit of a cluster has the "
            "same arm; check the cluster column, or use cluster=None for individual randomization."
        )


def _extra(p) -> dict:
    out = {}
    if p.attrition is not None:
        out["attrition"] = p.attrition
    return out


def difference_in_means(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    cluster: str | None = None,
    block: str | None = None,
    *,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
    se_type: str | None = None,
) -> Estimate:
    """Difference in mean outcomes, treated minus control, with a design-based SE.

    Parameters
    ----------
    df : DataFrame, one row per unit.
    outcome, treatment : column names; treatment coded 0/1 or False/True.
    cluster : column of the unit of randomization for cluster-randomized trials.
        The SE is CR2 with Bell-McCaffrey degrees of freedom (Pustejovsky & Tipton 2018).
    block : column of randomization blocks (strata / sites). The estimate is the
        block-size-weighted average of within-block differences; see
        :func:`plmresearch.causal.blocked_difference_in_means`.
    unit : optional ID column; duplicated IDs raise an error.
    missing : "raise" (default) or "drop" -- missing outcomes are attrition; "drop"
        analyses the units with outcomes and records per-arm attrition in ``notes``
        and ``extra['attrition']``.
    se_type : None (default: Neyman/Welch, or CR2 with ``cluster``) or an ``estimatr`` name.
        With ``cluster``: "CR0", "stata" (CR1, Stata's G/(G-1) (N-1)/(N-K); G - 1 df) or "CR2".
        Without: "HC0", "HC1"/"stata" (Stata's ``regress y t, vce(robust)``), "HC2" (equals the
        Neyman SE), "HC3" or "classical", from the regression of y on T with N - 2 df.
        Not available with ``block``.

    Returns
    -------
    Estimate
        Without cluster/block: SE = sqrt(s1^2/n1 + s0^2/n0), Welch-Satterthwaite df
        (Gerber & Green 2012, eq. 3.6).
    """
    ci_level = check_ci_level(ci_level)
    if block is not None:
        if se_type is not None:
            raise InputError("`se_type` is not available with `block` (the blocked estimator has its own SE); "
                             "use block_fixed_effects(..., se_type=...) for a regression SE.")
        from plmresearch.causal.blocked import blocked_difference_in_means

        return blocked_difference_in_means(
            df, outcome, treatment, block, cluster=cluster, unit=unit, missing=missing, ci_level=ci_level
        )
    if se_type is not None:
        se_type = check_se_type(se_type, cluster is not None)
    p = prepare(df, outcome, treatment, cluster=cluster, unit=unit, missing=missing)
    y, t = p.y, p.t
    if cluster is not None or se_type is not None:
        if cluster is not None:
            _require_cluster_level_treatment(p.data, treatment, cluster)
        se_type = check_se_type(se_type, cluster is not None)
        X = np.column_stack([np.ones_like(t), t])
        fit = ols(y, X, se_type=se_type, cluster=None if cluster is None else p.data[cluster].to_numpy(), df_for=[1])
        kind = "cluster-robust" if cluster is not None else "robust"
        dfs = " (Bell-McCaffrey df)" if se_type == "CR2" else ""
        return build_estimate(
            estimate=fit.coef[1],
            std_error=fit.se(1),
            df=fit.df[1],
            method=f"difference in means, {se_label(se_type)} {kind} SE{dfs}",
            ci_level=ci_level,
            y=y,
            t=t,
            n_clusters=fit.n_clusters,
            notes=p.notes,
            extra=_extra(p),
        )
    y1, y0 = y[t == 1], y[t == 0]
    n1, n0 = len(y1), len(y0)
    if n1 < 2 or n0 < 2:
        raise InputError(
            f"Each arm needs at least 2 units with outcomes for a standard error; got {n1} treated, {n0} control."
        )
    v1, v0 = np.var(y1, ddof=1) / n1, np.var(y0, ddof=1) / n0
    se = np.sqrt(v1 + v0)
    df_w = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1)) if se > 0 else np.nan
    return build_estimate(
        estimate=y1.mean() - y0.mean(),
        std_error=se,
        df=df_w,
        method="difference in means, Neyman/Welch SE",
        ci_level=ci_level,
        y=y,
        t=t,
        notes=p.notes,
        extra=_extra(p),
    )


def _center(X: np.ndarray) -> np.ndarray:
    return X - X.mean(axis=0)


def lin_adjusted(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    cluster: str | None = None,
    *,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
    se_type: str | None = None,
) -> Estimate:
    """Lin (2013) covariate-adjusted effect: OLS of y on T, centred X and T x centred X.

    Covariates are centred at their analysis-sample means, so the coefficient on T is
    the average treatment effect. SE: HC2 (Lin 2013, sec. 4), or CR2 with
    Bell-McCaffrey df when ``cluster`` is given -- as ``estimatr::lm_lin``.
    ``se_type`` takes the ``estimatr`` names: "HC0", "HC1"/"stata", "HC2", "HC3", "classical"
    without clusters; "CR0", "stata" (CR1, Stata's factor), "CR2" with clusters.
    Numeric (or 0/1, bool) covariates only; dummy-code categories first.
    """
    ci_level = check_ci_level(ci_level)
    covariates = as_list(covariates)
    if not covariates:
        raise InputError("`covariates` is empty; use difference_in_means for an unadjusted estimate.")
    p = prepare(df, outcome, treatment, covariates=covariates, cluster=cluster, unit=unit, missing=missing)
    Xc = _center(covariate_matrix(p.data, covariates))
    X = np.column_stack([np.ones_like(p.t), p.t, Xc, Xc * p.t[:, None]])
    se_type = check_se_type(se_type, cluster is not None)
    fit = ols(p.y, X, se_type=se_type, cluster=None if cluster is None else p.data[cluster].to_numpy(), df_for=[1])
    coefs = pd.DataFrame(
        {"term": ["(Intercept)", treatment, *[f"{c}_c" for c in covariates], *[f"{treatment}:{c}_c" for c in covariates]],
         "estimate": fit.coef, "std_error": np.sqrt(np.diag(fit.vcov))}
    )
    extra = _extra(p) | {"coefficients": coefs}
    return build_estimate(
        estimate=fit.coef[1],
        std_error=fit.se(1),
        df=fit.df[1],
        method=f"Lin (2013) interacted regression on {len(covariates)} centred covariate(s), {se_label(se_type)} SE",
        ci_level=ci_level,
        y=p.y,
        t=p.t,
        n_clusters=fit.n_clusters,
        notes=p.notes,
        extra=extra,
    )


def ancova(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    pretest: str | Sequence[str],
    cluster: str | None = None,
    *,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
    se_type: str | None = None,
) -> Estimate:
    """ANCOVA: OLS of y on T and the pretest (and other covariates), additively.

    SE: HC2, or CR2 with Bell-McCaffrey df when ``cluster`` is given
    (``estimatr::lm_robust(y ~ T + pre)``); ``se_type`` as in :func:`lin_adjusted`. The effect
    size uses the unadjusted pooled SD of the outcome (WWC Handbook v5.0, App. E).
    """
    ci_level = check_ci_level(ci_level)
    covs = as_list(pretest, "pretest")
    if not covs:
        raise InputError("`pretest` is empty; give the pretest column (or a list of covariates).")
    p = prepare(df, outcome, treatment, covariates=covs, cluster=cluster, unit=unit, missing=missing,
                covariates_arg="pretest")
    X = np.column_stack([np.ones_like(p.t), p.t, covariate_matrix(p.data, covs)])
    se_type = check_se_type(se_type, cluster is not None)
    fit = ols(p.y, X, se_type=se_type, cluster=None if cluster is None else p.data[cluster].to_numpy(), df_for=[1])
    coefs = pd.DataFrame(
        {"term": ["(Intercept)", treatment, *covs], "estimate": fit.coef, "std_error": np.sqrt(np.diag(fit.vcov))}
    )
    return build_estimate(
        estimate=fit.coef[1],
        std_error=fit.se(1),
        df=fit.df[1],
        method=f"ANCOVA on {covs[0] if len(covs) == 1 else str(len(covs)) + ' covariates'}, {se_label(se_type)} SE",
        ci_level=ci_level,
        y=p.y,
        t=p.t,
        n_clusters=fit.n_clusters,
        notes=p.notes,
        extra=_extra(p) | {"coefficients": coefs},
    )
