"""Non-randomized comparisons: propensity scores, weighting, doubly robust AIPW, matching, balance.

* Propensity score: logistic regression (statsmodels ``Logit``).
* :func:`ipw`: Hajek (normalized) inverse-probability weighting as weighted least squares of
  the outcome on treatment with HC2 SEs (``estimatr::lm_robust(y ~ T, weights = w)``), which
  treats the estimated scores as known -- conservative for the ATE (Hirano, Imbens & Ridder 2003).
* :func:`aipw`: augmented IPW (Robins, Rotnitzky & Zhao 1994; Glynn & Quinn 2010) with
  arm-specific OLS outcome models, SE from the estimated influence function.
* :func:`match`: 1:1 greedy nearest-neighbour matching on the logit of the score, without
  replacement, caliper 0.2 SD of the logit (Austin 2011, Pharm. Stat. 10(2)); ATT and a
  paired-difference SE (Austin 2011, Stat. Med. 30(11)).
* :func:`balance_table` / :func:`love_plot`: standardized differences
  (m1 - m0) / sqrt((s1^2 + s0^2) / 2) before and after (Austin 2009, Stat. Med. 28(25);
  the denominator always uses the unweighted SDs of the full sample).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._ols import ols
from plmresearch.causal._prepare import as_list, check_ci_level, covariate_matrix, prepare
from plmresearch.errors import InputError, ModelError
from plmresearch.results import Estimate
from plmresearch.validation import (
    array_1d,
    binary_indicator,
    check_seed,
    number,
    numeric_values,
    require_column_args,
    require_frame,
    require_scale,
)

ESTIMANDS = ("ATE", "ATT")


def _logit_scores(t: np.ndarray, X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            res = sm.Logit(t, sm.add_constant(X, has_constant="add")).fit(disp=0, maxiter=200)
        except (PerfectSeparationWarning, np.linalg.LinAlgError) as err:
            raise ModelError(
                f"The propensity model on {list(names)} cannot be fitted ({err}); a covariate separates the "
                "arms perfectly, so the groups do not overlap. Drop or coarsen it."
            ) from None
    ps = res.predict(sm.add_constant(X, has_constant="add"))
    return np.asarray(ps)


def propensity_scores(df: pd.DataFrame, treatment: str, covariates: Sequence[str]) -> pd.Series:
    """Estimated P(T = 1 | X) by main-effects logistic regression, one value per row of ``df``."""
    require_frame(df)
    covs = as_list(covariates)
    if not covs:
        raise InputError("`covariates` is empty; the propensity score needs covariates.")
    df = require_column_args(df, {"treatment": treatment, "covariates": covs})
    for c in covs:
        require_scale(numeric_values(df[c], c), c, "Covariate")
        if df[c].isna().any():
            raise InputError(f"Covariate '{c}' has {int(df[c].isna().sum())} missing value(s); impute or drop them.")
    t = binary_indicator(df, treatment)
    X = covariate_matrix(df, covs)
    return pd.Series(_logit_scores(t, X, covs), index=df.index, name="propensity_score")


def _weights(t: np.ndarray, ps: np.ndarray, estimand: str) -> np.ndarray:
    if estimand == "ATE":
        return np.where(t == 1, 1 / ps, 1 / (1 - ps))
    return np.where(t == 1, 1.0, ps / (1 - ps))


def _check_overlap(ps: np.ndarray, notes: list[str], trim: float | None, t: np.ndarray | None = None) -> np.ndarray:
    trim = number(trim, "trim", low=0, high=0.5, high_open=True, allow_none=True)
    keep = np.ones(len(ps), dtype=bool)
    if trim is not None:
        keep = (ps >= trim) & (ps <= 1 - trim)
        if t is not None:
            n1, n0 = int(t[keep].sum()), int((1 - t[keep]).sum())
            if min(n1, n0) < 2:
                raise InputError(f"`trim` = {trim!r} leaves {n1} treated and {n0} control unit(s) with propensity in "
                                 f"[{trim}, {1 - trim}]; at least 2 per arm are needed. Use a smaller `trim`.")
        notes.append(f"trimmed {int((~keep).sum())} unit(s) with propensity outside [{trim}, {1 - trim}] "
                     "(Crump et al. 2009); the estimand is the effect in the overlap region.")
    extreme = int(((ps < 0.01) | (ps > 0.99)).sum())
    if extreme:
        notes.append(f"{extreme} unit(s) have propensity scores below 0.01 or above 0.99: weak overlap, "
                     "weights may be extreme.")
    return keep


def ipw(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    *,
    estimand: str = "ATE",
    trim: float | None = None,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """Inverse-probability-weighted difference in means (Hajek).

    Weights: ATE 1/e(x) for treated, 1/(1 - e(x)) for controls; ATT 1 and e/(1 - e).
    ``extra`` holds the scores, the weights and the balance table before/after weighting.
    """
    ci_level = check_ci_level(ci_level)
    if estimand not in ESTIMANDS:
        raise InputError(f"`estimand` must be one of {ESTIMANDS}, got {estimand!r}.")
    covs = as_list(covariates)
    if not covs:
        raise InputError("`covariates` is empty; the propensity score needs covariates.")
    p = prepare(df, outcome, treatment, covariates=covs, unit=unit, missing=missing)
    X = covariate_matrix(p.data, covs)
    ps = _logit_scores(p.t, X, covs)
    notes = list(p.notes)
    keep = _check_overlap(ps, notes, trim, p.t)
    y, t, ps_k = p.y[keep], p.t[keep], ps[keep]
    w = _weights(t, ps_k, estimand)
    fit = ols(y, np.column_stack([np.ones_like(t), t]), se_type="HC2", weights=w)
    notes.append("SE treats the estimated propensity scores as known (conservative for the ATE).")
    bal = balance_table(p.data.loc[keep], treatment, covs, weights=w)
    return build_estimate(
        estimate=fit.coef[1], std_error=fit.se(1), df=fit.df[1],
        method=f"inverse probability weighting ({estimand}, logistic propensity on {len(covs)} covariate(s)), HC2 SE",
        ci_level=ci_level, y=y, t=t, notes=notes,
        extra={"propensity_score": pd.Series(ps, index=p.data.index), "weights": w, "balance": bal}
        | ({"attrition": p.attrition} if p.attrition else {}),
    )


def aipw(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    *,
    outcome_covariates: Sequence[str] | None = None,
    trim: float | None = None,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """Augmented IPW (doubly robust) estimate of the ATE.

    psi_i = m1(x) - m0(x) + T (y - m1(x)) / e(x) - (1 - T)(y - m0(x)) / (1 - e(x));
    estimate = mean(psi), SE = sd(psi) / sqrt(n), normal reference. Consistent if either
    the logistic propensity model or the arm-wise OLS outcome models are right.
    """
    ci_level = check_ci_level(ci_level)
    covs = as_list(covariates)
    ocovs = covs if outcome_covariates is None else as_list(outcome_covariates, "outcome_covariates")
    if not covs:
        raise InputError("`covariates` is empty; the propensity score needs covariates.")
    p = prepare(df, outcome, treatment, covariates=sorted(set(covs) | set(ocovs)), unit=unit, missing=missing)
    notes = list(p.notes)
    ps = _logit_scores(p.t, covariate_matrix(p.data, covs), covs)
    keep = _check_overlap(ps, notes, trim, p.t)
    y, t, e = p.y[keep], p.t[keep], ps[keep]
    Z = np.column_stack([np.ones(len(y)), covariate_matrix(p.data.loc[keep], ocovs)])
    mu = {}
    for arm in (0, 1):
        m = t == arm
        if m.sum() <= Z.shape[1]:
            raise ModelError(f"Too few units in arm {arm} ({int(m.sum())}) for the outcome model on {len(ocovs)} covariates.")
        beta, *_ = np.linalg.lstsq(Z[m], y[m], rcond=None)
        mu[arm] = Z @ beta
    psi = mu[1] - mu[0] + t * (y - mu[1]) / e - (1 - t) * (y - mu[0]) / (1 - e)
    n = len(psi)
    return build_estimate(
        estimate=psi.mean(), std_error=psi.std(ddof=1) / np.sqrt(n), df=None,
        method=f"augmented IPW (doubly robust ATE; logistic propensity, OLS outcome models), influence-function SE",
        ci_level=ci_level, y=y, t=t, notes=notes,
        extra={"propensity_score": pd.Series(ps, index=p.data.index), "influence": psi}
        | ({"attrition": p.attrition} if p.attrition else {}),
    )


def match(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    *,
    caliper: float | None = 0.2,
    random_seed: int | None = None,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """1:1 nearest-neighbour matching on the logit propensity score, without replacement (ATT).

    Treated units are matched in random order (``random_seed``) to the closest unused control
    within ``caliper`` x SD(logit score) (None: no caliper); unmatched treated units are dropped
    and counted in ``notes``. SE: paired differences, t with n_pairs - 1 df. ``extra`` holds the
    matched pairs and the balance table before/after.
    """
    ci_level = check_ci_level(ci_level)
    covs = as_list(covariates)
    if not covs:
        raise InputError("`covariates` is empty; matching needs covariates.")
    caliper = number(caliper, "caliper", low=0, low_open=True, allow_none=True)  # SDs of the logit score
    random_seed = check_seed(random_seed)
    p = prepare(df, outcome, treatment, covariates=covs, unit=unit, missing=missing)
    ps = np.clip(_logit_scores(p.t, covariate_matrix(p.data, covs), covs), 1e-12, 1 - 1e-12)
    lps = np.log(ps / (1 - ps))
    width = np.inf if caliper is None else caliper * lps.std(ddof=1)
    treated = np.flatnonzero(p.t == 1)
    controls = np.flatnonzero(p.t == 0)
    rng = np.random.default_rng(random_seed)
    order = rng.permutation(treated)
    used = np.zeros(len(controls), dtype=bool)
    pairs = []
    for i in order:
        dist = np.abs(lps[controls] - lps[i])
        dist[used] = np.inf
        j = int(np.argmin(dist))
        if dist[j] <= width:
            used[j] = True
            pairs.append((i, controls[j]))
    if len(pairs) < 2:
        raise ModelError(f"Only {len(pairs)} treated unit(s) found a control within the caliper; widen it or "
                         "check the overlap of the groups.")
    it, ic = np.array(pairs).T
    diffs = p.y[it] - p.y[ic]
    notes = list(p.notes)
    n_drop = len(treated) - len(pairs)
    if n_drop:
        notes.append(f"{n_drop} of {len(treated)} treated unit(s) had no control within the caliper and were "
                     "dropped; the estimand is the ATT among matched treated units.")
    idx = p.data.index
    matched = pd.DataFrame({"pair": np.arange(len(pairs)), "treated_index": idx[it], "control_index": idx[ic],
                            "distance": np.abs(lps[it] - lps[ic])})
    rows = np.concatenate([it, ic])
    msub = p.data.iloc[rows]
    bal = balance_table(p.data, treatment, covs, matched=msub)
    return build_estimate(
        estimate=diffs.mean(), std_error=diffs.std(ddof=1) / np.sqrt(len(diffs)), df=len(diffs) - 1,
        method=f"1:1 nearest-neighbour matching on logit propensity (caliper {caliper} SD), ATT, paired SE",
        ci_level=ci_level, y=p.y[rows], t=p.t[rows], notes=notes,
        extra={"pairs": matched, "balance": bal, "propensity_score": pd.Series(ps, index=idx)}
        | ({"attrition": p.attrition} if p.attrition else {}),
    )


def _wmean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    m = np.average(x, weights=w)
    v = np.average((x - m) ** 2, weights=w) * (w.sum() ** 2 / (w.sum() ** 2 - (w**2).sum()))
    return float(m), float(v)


def balance_table(
    df: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    weights: np.ndarray | pd.Series | None = None,
    matched: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Standardized differences of covariates between arms, before and (optionally) after adjustment.

    smd = (mean_t - mean_c) / sqrt((sd_t^2 + sd_c^2) / 2), with the *unadjusted* SDs in the
    denominator also after weighting/matching (Austin 2009; Austin & Stuart 2015). Also the
    variance ratio sd_t^2 / sd_c^2 (NaN when the control arm's variance is 0). |smd| < 0.1 is the usual balance threshold
    (WWC uses 0.05 / 0.25 on a Hedges' g scale for baseline equivalence).

    Parameters
    ----------
    weights : one weight per row of ``df`` (e.g. IPW weights) for the "after" columns.
    matched : the matched sample (rows of ``df``) for the "after" columns.
    """
    require_frame(df)
    covs = as_list(covariates)
    df = require_column_args(df, {"treatment": treatment, "covariates": covs})
    if weights is not None and matched is not None:
        raise InputError("Give either `weights` or `matched`, not both.")
    t = binary_indicator(df, treatment)
    if weights is not None:
        weights = array_1d(weights, "weights")
        if len(weights) != len(df) or (weights < 0).any() or not (weights > 0).any():
            raise InputError(f"`weights` must hold one non-negative weight per row ({len(df)}), not all 0; "
                             f"got {len(weights)} value(s).")
    rows = []
    for c in covs:
        x = numeric_values(df[c], c)
        if np.isnan(x).any():
            raise InputError(f"Covariate '{c}' has missing values; impute or drop them before checking balance.")
        require_scale(x, c, "Covariate")
        m1, m0 = x[t == 1].mean(), x[t == 0].mean()
        v1, v0 = x[t == 1].var(ddof=1), x[t == 0].var(ddof=1)
        denom = np.sqrt((v1 + v0) / 2)
        if not denom > 0:
            raise InputError(f"Covariate '{c}' is constant within both arms: its standardized difference is "
                             "undefined (0/0). Drop it from `covariates` (and report its values separately).")
        row = {"covariate": c, "mean_treated": m1, "mean_control": m0,
               "smd_before": (m1 - m0) / denom if denom > 0 else np.nan,
               "variance_ratio_before": v1 / v0 if v0 > 0 else np.nan}
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            if w.shape != x.shape:
                raise InputError(f"`weights` must have one value per row ({len(x)}), got {w.shape}.")
            (a1, b1), (a0, b0) = _wmean_var(x[t == 1], w[t == 1]), _wmean_var(x[t == 0], w[t == 0])
            row |= {"mean_treated_after": a1, "mean_control_after": a0, "smd_after": (a1 - a0) / denom,
                    "variance_ratio_after": b1 / b0 if b0 > 0 else np.nan}
        if matched is not None:
            tm = binary_indicator(matched, treatment)
            xm = matched[c].astype(float).to_numpy()
            a1, a0 = xm[tm == 1].mean(), xm[tm == 0].mean()
            row |= {"mean_treated_after": a1, "mean_control_after": a0, "smd_after": (a1 - a0) / denom,
                    "variance_ratio_after": xm[tm == 1].var(ddof=1) / xm[tm == 0].var(ddof=1)}
        rows.append(row)
    return pd.DataFrame(rows)


def love_plot(table: pd.DataFrame, *, threshold: float = 0.1, ax=None):
    """Love plot of absolute standardized differences before (and after) adjustment.

    ``table`` is the output of :func:`balance_table` (or ``Estimate.extra['balance']``).
    Returns a matplotlib Figure.
    """
    from plmresearch._plotting import figure_axes

    if not isinstance(table, pd.DataFrame) or "smd_before" not in table or "covariate" not in table:
        raise InputError("`table` must be a balance table from balance_table() (columns 'covariate', 'smd_before').")
    threshold = number(threshold, "threshold", low=0, low_open=True)
    fig, ax = figure_axes(ax, (6, 0.4 * len(table) + 1.5))
    pos = np.arange(len(table))
    ax.scatter(table.smd_before.abs(), pos, marker="o", facecolors="none", edgecolors="C0", label="before")
    if "smd_after" in table:
        ax.scatter(table.smd_after.abs(), pos, marker="o", color="C1", label="after")
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(pos, table.covariate)
    ax.set_xlabel("absolute standardized difference")
    ax.set_xlim(left=0)
    ax.margins(y=0.15)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title("Covariate balance")
    return fig
