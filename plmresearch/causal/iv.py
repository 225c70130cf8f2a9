"""Noncompliance: intention-to-treat and the complier average causal effect (CACE / LATE).

The CACE is estimated by two-stage least squares with the random assignment as the
instrument for the treatment received (Angrist, Imbens & Rubin 1996; Bloom 1984).
Standard errors: HC2 (or CR2 with Bell-McCaffrey df) computed on the second-stage
regressors with the structural residuals, as R ``estimatr::iv_robust``; the point
estimate equals ``AER::ivreg``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._ols import check_se_type, ols, robust_vcov, se_label
from plmresearch.causal._prepare import as_list, check_ci_level, covariate_matrix, prepare
from plmresearch.errors import InputError, ModelError
from plmresearch.results import Estimate
from plmresearch.validation import binary_indicator


def iv_late(
    df: pd.DataFrame,
    outcome: str,
    treatment_received: str,
    assignment: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    *,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
    se_type: str | None = None,
) -> Estimate:
    """Complier average causal effect by 2SLS, instrumenting treatment received by assignment.

    Parameters
    ----------
    outcome : outcome column.
    treatment_received : 0/1 column, the treatment actually taken.
    assignment : 0/1 column, the randomized assignment (the instrument).
    covariates : exogenous covariates, included in both stages.
    cluster : cluster column -> CR2 SE with Bell-McCaffrey df; otherwise HC2.
    se_type : ``estimatr::iv_robust`` names: "HC0", "HC1"/"stata", "HC2", "HC3", "classical"
        without ``cluster``; "CR0", "stata" (CR1, Stata's factor), "CR2" with it. Used for all
        three stages.

    Returns
    -------
    Estimate
        The CACE; ``n_treated``/``n_control`` count units by *assignment*. ``extra`` holds
        ``itt``/``itt_se`` (intention-to-treat effect; the full Estimate in ``itt_estimate``),
        ``first_stage``/``first_stage_se``/``first_stage_F`` (covariate-adjusted effect of
        assignment on take-up, HC2/CR2) and ``compliance`` (raw difference in take-up rates).
        The effect size divides by the unadjusted pooled SD of the outcome between
        assignment arms (WWC).
    """
    ci_level = check_ci_level(ci_level)
    covs = as_list(covariates)
    if treatment_received == assignment:
        raise InputError("`treatment_received` and `assignment` are the same column; the instrument must differ.")
    p = prepare(df, outcome, assignment, covariates=covs, cluster=cluster, unit=unit, missing=missing,
                extra_columns=[treatment_received])
    d = binary_indicator(p.data, treatment_received)
    z = p.t
    W = covariate_matrix(p.data, covs)
    Z = np.column_stack([np.ones_like(z), z, W])
    X = np.column_stack([np.ones_like(z), d, W])
    se_type = check_se_type(se_type, cluster is not None)
    cl = None if cluster is None else p.data[cluster].to_numpy()

    first = ols(d, Z, se_type=se_type, cluster=cl, df_for=[1])
    f_stat = float(first.coef[1] ** 2 / first.vcov[1, 1])
    if abs(first.coef[1]) < 1e-12:
        raise ModelError("Assignment does not change the treatment received (first-stage coefficient 0); "
                         "the CACE is not identified.")
    Xhat = Z @ np.linalg.lstsq(Z, X, rcond=None)[0]
    xtx_inv = np.linalg.inv(Xhat.T @ Xhat)
    coef = xtx_inv @ Xhat.T @ p.y
    e = p.y - X @ coef
    fit = robust_vcov(Xhat, xtx_inv, coef, e, se_type=se_type, cluster=cl, df_for=[1])
    itt_fit = ols(p.y, Z, se_type=se_type, cluster=cl, df_for=[1])
    itt = build_estimate(
        estimate=itt_fit.coef[1], std_error=itt_fit.se(1), df=itt_fit.df[1],
        method=f"intention-to-treat effect of '{assignment}', {se_label(se_type)} SE", ci_level=ci_level,
        y=p.y, t=z, n_clusters=itt_fit.n_clusters, notes=p.notes,
    )
    notes = list(p.notes)
    if f_stat < 10:
        notes.append(f"weak instrument: first-stage F = {f_stat:.1f} < 10 (Staiger & Stock 1997); "
                     "the 2SLS CI may be unreliable.")
    n_switch = int(np.sum(d != z))
    notes.append(f"{n_switch} of {len(z)} units ({n_switch / len(z):.1%}) received a treatment other than assigned.")
    return build_estimate(
        estimate=fit.coef[1],
        std_error=fit.se(1),
        df=fit.df[1],
        method=f"complier average causal effect (2SLS, '{treatment_received}' instrumented by '{assignment}'), "
        f"{se_label(se_type)} SE",
        ci_level=ci_level,
        y=p.y,
        t=z,
        n_clusters=fit.n_clusters,
        notes=notes,
        extra={
            "itt": float(itt.estimate),
            "itt_se": float(itt.std_error),
            "itt_estimate": itt,
            "first_stage": float(first.coef[1]),
            "first_stage_se": first.se(1),
            "first_stage_F": f_stat,
            "compliance": float(d[z == 1].mean() - d[z == 0].mean()),
        } | ({"attrition": p.attrition} if p.attrition else {}),
    )
