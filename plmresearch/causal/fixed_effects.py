"""Linear regression with absorbed fixed effects (randomization strata, sites, classes).

The fixed effects are swept out by the within transformation (Frisch-Waugh-Lovell): outcome
and regressors are demeaned within each level of ``absorb`` (weighted means under WLS), so the
slopes equal those of the regression with one dummy per level, without building the dummies.
As in Stata's ``areg`` / ``xtreg, fe`` and R ``estimatr::lm_robust(fixed_effects = ~ f)``:

* the reported constant is Stata's: the regression is run on ``x - mean_g(x) + mean(x)``, so the
  constant is ``mean(y) - mean(x)' b`` and the fixed effects average to zero over the rows;
* the *within* R-squared is ``1 - SSR / sum((y - mean_g(y))^2)`` (Stata ``xtreg`` "R-sq within",
  estimatr ``proj_r.squared``); ``r2`` is the R-squared of the full dummy regression;
* the variance counts the absorbed levels: K = regressors + constant + (levels - 1) in the
  classical, HC1 and Stata CR1 factors (``areg``, estimatr). ``stata_fe="xtreg"`` gives
  ``xtreg, fe``'s K = regressors + constant, right when the fixed effects are nested in the
  clusters (Stata then does not count them; Cameron & Miller 2015, JHR 50(2), sec. VI.B).

HC2, HC3 and CR2 need the leverage of the full dummy regression; they are computed on the
explicit dummy design (exact, slopes identical), where the constant has no Stata analogue
(its SE is reported as NaN).

Without ``absorb`` this is ordinary least squares with the same variance options;
``constant=False`` gives the uncentred R-squared, as R ``lm`` and Stata ``regress, noconstant``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._ols import check_se_type, ols, robust_vcov, se_label
from plmresearch.causal._prepare import as_list, check_ci_level
from plmresearch.errors import InputError, ModelError
from plmresearch.results import Estimate
from plmresearch.validation import (
    numeric_values,
    require_column_args,
    require_frame,
    require_scale,
    require_variation,
)

STATA_FE = ("areg", "xtreg")
_DUMMY_SE = ("HC2", "HC3", "CR2")


def _check_common(df, outcome, regressors, absorb, cluster, weights, missing, extra=()):
    require_frame(df)
    if not isinstance(outcome, str):
        raise InputError(f"`outcome` must be a column name (str), got {outcome!r}.")
    regs = as_list(regressors, "regressors")
    if not regs:
        raise InputError("`regressors` is empty: name at least one column.")
    if len(set(regs)) != len(regs):
        raise InputError(f"`regressors` lists a column twice: {regs}.")
    if outcome in regs:
        raise InputError(f"The outcome '{outcome}' is also listed among the regressors.")
    if absorb is not None and not isinstance(absorb, str):
        raise InputError(f"`absorb` must be one column name (str), got {absorb!r}.")
    if missing not in ("raise", "drop"):
        raise InputError(f"`missing` must be 'raise' or 'drop', got {missing!r}.")
    df = require_column_args(df, {"outcome": outcome, "regressors": regs, "absorb": absorb, "cluster": cluster, "weights": weights, "covariates": list(extra)})
    for c in [outcome, *regs, *([weights] if weights else []), *extra]:
        require_scale(numeric_values(df[c], c), c)
    y = numeric_values(df[outcome], outcome)
    require_variation(y, outcome, "outcome", "A constant outcome has no variation to explain; check the column.")
    return regs


def _complete_rows(df, numeric, labels, missing):
    """Rows with every column present; missing='raise' names the columns with gaps."""
    cols = [c for c in [*numeric, *labels] if c is not None]
    miss = df[cols].isna()
    bad = miss.any(axis=1).to_numpy()
    notes = []
    if bad.any():
        counts = {c: int(n) for c, n in miss.sum().items() if n}
        if missing == "raise":
            raise InputError(
                f"Missing values in {counts}. Pass missing='drop' to analyse complete rows (listwise "
                "deletion, as Stata and R do; missing outcomes are attrition) or fill them in first."
            )
        notes.append(f"{int(bad.sum())} of {len(df)} rows dropped for missing values ({counts}).")
    return df.loc[~bad], notes


def _demean(A: np.ndarray, codes: np.ndarray, w: np.ndarray, add_mean: bool) -> np.ndarray:
    """A minus its (weighted) group means, plus the overall (weighted) mean if ``add_mean``."""
    G = codes.max() + 1
    sw = np.bincount(codes, weights=w, minlength=G)
    means = np.column_stack([np.bincount(codes, weights=w * a, minlength=G) for a in A.T]) / sw[:, None]
    out = A - means[codes]
    if add_mean:
        out = out + (w @ A) / w.sum()
    return out


def _coef_table(names, coef, se, df, ci_level):
    se = np.asarray(se, float)
    df = np.asarray(df, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = coef / se
    crit = stats.t.ppf(0.5 + ci_level / 2, df)
    return pd.DataFrame(
        {
            "term": names,
            "estimate": coef,
            "std_error": se,
            "statistic": stat,
            "df": df,
            "p_value": 2 * stats.t.sf(np.abs(stat), df),
            "ci_low": coef - crit * se,
            "ci_high": coef + crit * se,
        }
    )


def fe_regression(
    df: pd.DataFrame,
    outcome: str,
    regressors: str | Sequence[str],
    *,
    absorb: str | None = None,
    cluster: str | None = None,
    se_type: str | None = None,
    stata_fe: str = "areg",
    constant: bool = True,
    weights: str | None = None,
    term: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """Least squares with absorbed fixed effects and Stata/estimatr variance options.

    The within (Frisch-Waugh-Lovell) estimator of Stata ``areg``/``xtreg, fe`` and R
    ``estimatr::lm_robust(fixed_effects =)`` (estimatr 1.0.0); clustered small-sample factors as
    Cameron & Miller (2015, JHR 50(2)).

    Parameters
    ----------
    outcome : numeric outcome column.
    regressors : numeric columns (build interactions and dummies as columns first).
    absorb : column whose levels get fixed effects (e.g. randomization strata), swept out.
    cluster : cluster column for CR0 / "stata" (CR1) / CR2 variances.
    se_type : "classical", "HC0", "HC1", "HC2", "HC3", "stata" without clusters; "CR0",
        "stata", "CR2" with. Default: "HC1" ("stata" with clusters) when absorbing (Stata's
        ``areg``), else HC2 / CR2 (estimatr's defaults).
    stata_fe : "areg" (default; the absorbed levels count in K, as ``areg`` and estimatr)
        or "xtreg" (they do not: ``xtreg, fe`` with fixed effects nested in the clusters).
    constant : include a constant (Stata's constant when absorbing).
    weights : column of non-negative weights (WLS; weighted within transformation).
    term : the regressor whose Estimate is returned (default the first).
    missing : "raise" (default) or "drop" rows with a missing value (listwise).

    Returns
    -------
    Estimate
        For ``term``; ``extra`` holds ``coefficients`` (every term, with SE, df, p, CI), ``vcov``,
        ``r2``, ``r2_within`` (None without ``absorb``), ``n``, ``n_absorbed`` (levels),
        ``small_sample_k`` and ``se_type``. The WWC effect size is filled in when ``term`` is a
        0/1 variable.
    """
    ci_level = check_ci_level(ci_level)
    regs = _check_common(df, outcome, regressors, absorb, cluster, weights, missing)
    if stata_fe not in STATA_FE:
        raise InputError(f"`stata_fe` must be one of {STATA_FE}, got {stata_fe!r}.")
    term = regs[0] if term is None else term
    if term not in regs:
        raise InputError(f"`term` '{term}' is not among the regressors {regs}.")
    if se_type is None:
        se_type = ("stata" if cluster else "HC1") if absorb else ("CR2" if cluster else "HC2")
    se_type = check_se_type(se_type, cluster is not None)
    data, notes = _complete_rows(df, [outcome, *regs, weights], [absorb, cluster], missing)
    n = len(data)
    y = data[outcome].to_numpy(float)
    X = data[regs].to_numpy(float)
    w = np.ones(n) if weights is None else data[weights].to_numpy(float)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise InputError(f"Weights '{weights}' must be finite and non-negative.")
    if not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)):
        raise InputError("The outcome or a regressor has infinite values; fix or drop them first.")
    cl = None if cluster is None else data[cluster].to_numpy()

    if absorb is None:
        n_abs = 0
        Xd, yd = X, y
        names = [*regs, "(Intercept)"] if constant else list(regs)
        if constant:
            Xd = np.column_stack([X, np.ones(n)])
    else:
        codes = pd.factorize(data[absorb], sort=True)[0]
        n_abs = int(codes.max() + 1)
        Xd = _demean(X, codes, w, add_mean=constant)
        yd = _demean(y[:, None], codes, w, add_mean=constant)[:, 0]
        flat = [r for r, s in zip(regs, _demean(X, codes, w, False).std(axis=0)) if s < 1e-12 * max(1, np.abs(X).max())]
        if flat:
            raise ModelError(f"Regressor(s) {flat} do not vary within the levels of '{absorb}': they are "
                             "collinear with the absorbed fixed effects. Drop them.")
        names = [*regs, "(Intercept)"] if constant else list(regs)
        if constant:
            Xd = np.column_stack([Xd, np.ones(n)])
    p = Xd.shape[1]
    k_full = p + max(n_abs - (1 if constant else 0), 0) if absorb else p
    if absorb and stata_fe == "xtreg":
        k_full = p if constant else p + 1
    if n <= k_full:
        raise ModelError(f"Only {n} complete rows for {k_full} parameters (fixed effects included).")

    sw = np.sqrt(w)
    Xw, yw = Xd * sw[:, None], yd * sw
    if np.linalg.matrix_rank(Xw) < p:
        raise ModelError("The regressors are collinear (after absorbing the fixed effects). Remove redundant ones.")
    xtx_inv = np.linalg.inv(Xw.T @ Xw)
    coef = xtx_inv @ Xw.T @ yw
    e = yw - Xw @ coef  # weighted residuals of the within regression = those of the dummy regression
    ssr = float(e @ e)

    if se_type == "classical":
        V = ssr / (n - k_full) * xtx_inv
        dfs = np.full(p, n - k_full, float)
        n_cl = None
    elif absorb is not None and se_type in _DUMMY_SE:
        # leverage needs the dummies: fit the explicit dummy design (slopes identical)
        dummies = pd.get_dummies(data[absorb], drop_first=True, dtype=float).to_numpy()
        Xfull = np.column_stack([X, np.ones(n), dummies])
        fit = ols(y, Xfull, se_type=se_type, cluster=cl, weights=None if weights is None else w,
                  df_for=list(range(len(regs))))
        V = np.full((p, p), np.nan)
        k = len(regs)
        V[:k, :k] = fit.vcov[:k, :k]
        dfs = np.concatenate([fit.df[:k], np.full(p - k, np.nan)])
        n_cl = fit.n_clusters
        if constant:
            notes.append(f"{se_type} with absorbed effects is computed on the dummy design; the Stata-style "
                         "constant has no SE there (NaN).")
    else:
        fit = robust_vcov(Xw, xtx_inv, coef, e, se_type=se_type, cluster=cl, small_sample_k=k_full)
        V = fit.vcov
        dfs = fit.df if cl is not None else np.full(p, n - k_full, float)
        n_cl = fit.n_clusters

    # R-squared: of the full (dummy) model, and within the absorbed levels
    ybar = (w @ y) / w.sum()
    if constant or absorb is not None:
        tss = float(w @ (y - ybar) ** 2)
    else:
        tss = float(w @ y**2)
    r2 = 1 - ssr / tss if tss > 0 else float("nan")
    r2_within = None
    if absorb is not None:
        yw_dm = _demean(y[:, None], codes, w, add_mean=False)[:, 0]
        r2_within = 1 - ssr / float(w @ yw_dm**2)

    table = _coef_table(names, coef, np.sqrt(np.diag(V)), dfs, ci_level)
    j = names.index(term)
    tvals = data[term].to_numpy(float)
    binary = set(np.unique(tvals)) <= {0.0, 1.0} and len(np.unique(tvals)) == 2
    what = f"OLS of '{outcome}' on {regs}" + (f", fixed effects of '{absorb}' absorbed ({n_abs} levels)" if absorb else "")
    what += f"{'' if constant else ', no constant'}{', weighted' if weights else ''}, {se_label(se_type)} SE"
    if cluster:
        what += f" clustered by '{cluster}'"
    return build_estimate(
        estimate=coef[j],
        std_error=float(np.sqrt(V[j, j])),
        df=float(dfs[j]),
        method=what,
        ci_level=ci_level,
        y=y if binary else None,
        t=tvals if binary else None,
        n_clusters=n_cl,
        notes=notes,
        extra={
            "coefficients": table,
            "vcov": pd.DataFrame(V, index=names, columns=names),
            "r2": float(r2),
            "r2_within": None if r2_within is None else float(r2_within),
            "n": n,
            "n_absorbed": n_abs,
            "small_sample_k": k_full,
            "se_type": se_type,
            "term": term,
        },
    )
