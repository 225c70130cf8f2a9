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
from plmresearch.validation import (
    binary_indicator,
    numeric_values,
    require_column_args,
    require_frame,
    require_variation,
)


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
                extra_columns={"treatment_received": treatment_received}, treatment_arg="assignment")
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


def iv_regression(
    df: pd.DataFrame,
    outcome: str,
    endogenous: str,
    instruments: str | Sequence[str],
    covariates: str | Sequence[str] = (),
    *,
    absorb: str | None = None,
    cluster: str | None = None,
    se_type: str | None = None,
    stata_fe: str = "areg",
    first_stage_se_type: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """Two-stage least squares with absorbed fixed effects and the first-stage F.

    One endogenous regressor (a continuous dose such as days attended, or a 0/1 take-up)
    instrumented by one or more excluded instruments (e.g. the lottery), with exogenous
    covariates and fixed effects of ``absorb`` in both stages (swept out by the within
    transformation, which leaves the 2SLS slopes unchanged; Wooldridge 2010, sec. 10.5).
    Variance: the sandwich on the second-stage (fitted) regressors with the structural
    residuals, as R ``estimatr::iv_robust`` and Stata ``ivreg2``/``xtivreg2``; small-sample
    factors and K as :func:`plmresearch.causal.fe_regression`.

    The first-stage F is the Wald test of the excluded instruments in the first stage with the
    same variance, divided by their number: with one endogenous regressor this is the
    Angrist-Pischke (2009) F and the Kleibergen-Paap (2006) rk Wald F that ``ivreg2`` prints for
    robust/clustered variances (with classical variance, the Cragg-Donald F).
    ``first_stage_se_type`` (default ``se_type``) sets its variance separately: Stata's ``ivreg2``
    without ``small`` reports HC0 second-stage SEs but first-stage F statistics with the factor
    N/(N - L), L counting every instrument, exogenous regressor and absorbed level -- that is
    ``se_type="HC0", first_stage_se_type="HC1"`` here.

    Returns
    -------
    Estimate
        The coefficient of ``endogenous``; ``extra`` holds ``coefficients`` (second stage),
        ``first_stage`` (its coefficient table), ``first_stage_F``, ``r2`` (of the structural
        equation: 1 - SSR/TSS with the structural residuals, as Stata), ``r2_within``, ``n``.
    """
    from plmresearch.causal.fixed_effects import _check_common, _coef_table, _complete_rows, _demean

    ci_level = check_ci_level(ci_level)
    inst = as_list(instruments, "instruments")
    covs = as_list(covariates)
    if not inst:
        raise InputError("`instruments` is empty: name at least one excluded instrument.")
    require_frame(df)
    require_column_args(df, {"outcome": outcome, "endogenous": endogenous, "instruments": inst, "covariates": covs,
                             "absorb": absorb, "cluster": cluster})
    if outcome in covs or outcome in inst or outcome == endogenous:
        raise InputError(f"The outcome '{outcome}' is also given as `endogenous`, `instruments` or `covariates`; "
                         "remove it there.")
    require_variation(numeric_values(df[endogenous], endogenous), endogenous, "endogenous regressor",
                      "Check `endogenous`: a constant regressor has no effect to estimate.")
    regs = _check_common(df, outcome, [endogenous, *covs], absorb, cluster, None, missing, extra=inst)
    if endogenous in inst:
        raise InputError(f"'{endogenous}' is both the endogenous regressor and an instrument.")
    if set(inst) & set(covs):
        raise InputError(f"Instrument(s) {sorted(set(inst) & set(covs))} are also covariates; an excluded "
                         "instrument must not appear in the outcome equation.")
    from plmresearch.causal._ols import check_se_type, se_label

    if se_type is None:
        se_type = ("stata" if cluster else "HC1") if absorb else ("CR2" if cluster else "HC2")
    se_type = check_se_type(se_type, cluster is not None)
    if absorb is not None and se_type in ("HC2", "HC3", "CR2"):
        raise InputError(f"se_type={se_type!r} with absorbed fixed effects is not available for 2SLS; "
                         "use 'HC1'/'HC0'/'classical' or, with clusters, 'stata'/'CR0'.")
    data, notes = _complete_rows(df, [outcome, endogenous, *covs, *inst], [absorb, cluster], missing)
    n = len(data)
    y = data[outcome].to_numpy(float)
    D = data[[endogenous]].to_numpy(float)
    W = data[covs].to_numpy(float) if covs else np.empty((n, 0))
    Zx = data[inst].to_numpy(float)
    w = np.ones(n)
    if absorb is not None:
        codes = pd.factorize(data[absorb], sort=True)[0]
        n_abs = int(codes.max() + 1)
        y = _demean(y[:, None], codes, w, True)[:, 0]
        D, W, Zx = (_demean(A, codes, w, True) if A.shape[1] else A for A in (D, W, Zx))
    else:
        n_abs = 0
    one = np.ones((n, 1))
    X = np.column_stack([D, W, one])
    Z = np.column_stack([Zx, W, one])
    names = [endogenous, *covs, "(Intercept)"]
    p = X.shape[1]
    k_full = p + max(n_abs - 1, 0)
    if absorb and stata_fe == "xtreg":
        k_full = p
    if np.linalg.matrix_rank(Z) < Z.shape[1] or np.linalg.matrix_rank(X) < p:
        raise ModelError("The instruments or covariates are collinear (after absorbing the fixed effects).")
    if n <= k_full + len(inst):
        raise ModelError(f"Only {n} complete rows for {k_full} parameters.")
    cl = None if cluster is None else data[cluster].to_numpy()

    # first stage: endogenous on instruments + covariates (+ FE)
    ztz_inv = np.linalg.inv(Z.T @ Z)
    pi = ztz_inv @ Z.T @ D[:, 0]
    v = D[:, 0] - Z @ pi
    k1 = Z.shape[1] + max(n_abs - 1, 0) if not (absorb and stata_fe == "xtreg") else Z.shape[1]
    fs_type = check_se_type(se_type if first_stage_se_type is None else first_stage_se_type, cluster is not None)
    if absorb is not None and fs_type in ("HC2", "HC3", "CR2"):
        raise InputError(f"first_stage_se_type={fs_type!r} with absorbed fixed effects is not available.")
    if fs_type == "classical":
        V1 = float(v @ v) / (n - k1) * ztz_inv
    else:
        V1 = robust_vcov(Z, ztz_inv, pi, v, se_type=fs_type, cluster=cl, small_sample_k=k1).vcov
    q = len(inst)
    b1 = pi[:q]
    f_stat = float(b1 @ np.linalg.solve(V1[:q, :q], b1) / q)
    first_tab = _coef_table([*inst, *covs, "(Intercept)"], pi, np.sqrt(np.diag(V1)),
                            np.full(len(pi), n - k1, float), ci_level)
    if np.all(np.abs(b1) < 1e-12):
        raise ModelError("The instruments do not move the endogenous regressor (first stage 0); "
                         "the effect is not identified.")

    # second stage
    Xhat = Z @ np.linalg.lstsq(Z, X, rcond=None)[0]
    xtx_inv = np.linalg.inv(Xhat.T @ Xhat)
    coef = xtx_inv @ Xhat.T @ y
    e = y - X @ coef
    if se_type == "classical":
        V = float(e @ e) / (n - k_full) * xtx_inv
        dfs = np.full(p, n - k_full, float)
        n_cl = None
    else:
        fit = robust_vcov(Xhat, xtx_inv, coef, e, se_type=se_type, cluster=cl, small_sample_k=k_full)
        V, n_cl = fit.vcov, fit.n_clusters
        dfs = fit.df if cl is not None else np.full(p, n - k_full, float)
    y_raw = data[outcome].to_numpy(float)
    r2 = 1 - float(e @ e) / float(((y_raw - y_raw.mean()) ** 2).sum())
    r2_within = None
    if absorb is not None:
        r2_within = 1 - float(e @ e) / float(((y - y.mean()) ** 2).sum())
    if f_stat < 10:
        notes.append(f"weak instruments: first-stage F = {f_stat:.1f} < 10 (Staiger & Stock 1997).")
    table = _coef_table(names, coef, np.sqrt(np.diag(V)), dfs, ci_level)
    what = (f"2SLS of '{outcome}' on '{endogenous}' instrumented by {inst}"
            + (f", fixed effects of '{absorb}' absorbed ({n_abs} levels)" if absorb else "")
            + f", {se_label(se_type)} SE" + (f" clustered by '{cluster}'" if cluster else ""))
    return build_estimate(
        estimate=coef[0],
        std_error=float(np.sqrt(V[0, 0])),
        df=float(dfs[0]),
        method=what,
        ci_level=ci_level,
        y=None,
        t=None,
        n_clusters=n_cl,
        notes=notes,
        extra={
            "coefficients": table,
            "first_stage": first_tab,
            "first_stage_F": f_stat,
            "first_stage_se_type": fs_type,
            "r2": float(r2),
            "r2_within": None if r2_within is None else float(r2_within),
            "n": n,
            "n_absorbed": n_abs,
            "small_sample_k": k_full,
            "se_type": se_type,
        },
    )
