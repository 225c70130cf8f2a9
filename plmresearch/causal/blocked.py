"""Blocked (stratified) and multisite trials.

* :func:`blocked_difference_in_means` -- block-size-weighted average of within-block
  differences (each unit counts equally), as ``estimatr::difference_in_means(blocks = )``
  (Gerber & Green 2012, eq. 3.10-3.12; Imai, King & Nall 2009 for matched pairs).
* :func:`block_fixed_effects` -- OLS with block dummies, HC2 or CR2.
* :func:`block_effects` -- site-specific estimates and their precision-weighted
  (inverse-variance, fixed-effect meta-analysis; Hedges & Olkin 1985), unit-weighted or
  equally weighted average (Miratrix, Weiss & Henderson 2021, JREE 14(2)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._ols import check_se_type, ols, se_label
from plmresearch.causal._prepare import as_list, check_ci_level, covariate_matrix, prepare
from plmresearch.errors import InputError
from plmresearch.results import Estimate

WEIGHTINGS = ("precision", "units", "equal")


def _block_table(data: pd.DataFrame, y: np.ndarray, t: np.ndarray, block: str, cluster: str | None, ci_level: float) -> pd.DataFrame:
    """Within-block difference in means, Welch (or CR2 if clustered) SE, one row per block."""
    rows = []
    codes, uniq = pd.factorize(data[block].to_numpy())   # blocks in order of appearance, as pd.unique
    order = np.argsort(codes, kind="stable")             # one sort, then a slice per block (not n x blocks)
    starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniq)))])
    clusters = None if cluster is None else data[cluster].to_numpy()
    for i, b in enumerate(uniq):
        m = order[starts[i]:starts[i + 1]]
        yb, tb = y[m], t[m]
        n1, n0 = int(tb.sum()), int(len(tb) - tb.sum())
        if n1 == 0 or n0 == 0:
            raise InputError(
                f"Block {b!r} of '{block}' has {n1} treated and {n0} control unit(s); every block needs both "
                "arms. Drop or merge that block."
            )
        est = yb[tb == 1].mean() - yb[tb == 0].mean()
        if cluster is not None:
            cb = clusters[m]
            j1, j0 = len(np.unique(cb[tb == 1])), len(np.unique(cb[tb == 0]))
            if j1 >= 2 and j0 >= 2:
                fit = ols(yb, np.column_stack([np.ones_like(tb), tb]), se_type="CR2", cluster=cb, df_for=[1])
                se, df = fit.se(1), fit.df[1]
            else:
                se, df = np.nan, np.nan
            k = j1 + j0
        else:
            k = None
            if n1 >= 2 and n0 >= 2:
                v1, v0 = np.var(yb[tb == 1], ddof=1) / n1, np.var(yb[tb == 0], ddof=1) / n0
                se = np.sqrt(v1 + v0)
                df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1)) if se > 0 else np.nan
            else:
                se, df = np.nan, np.nan
        rows.append({"block": b, "n_treated": n1, "n_control": n0, "n_clusters": k, "estimate": est,
                     "std_error": se, "df": df})
    tab = pd.DataFrame(rows)
    crit = stats.t.ppf(0.5 + ci_level / 2, tab["df"].astype(float))
    tab["ci_low"] = tab.estimate - crit * tab.std_error
    tab["ci_high"] = tab.estimate + crit * tab.std_error
    return tab


def blocked_difference_in_means(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    block: str,
    *,
    cluster: str | None = None,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """Block-size-weighted difference in means (estimatr's "Blocked" design).

    estimate = sum_b (N_b / N) d_b;  SE = sqrt(sum_b (N_b / N)^2 SE_b^2) with Welch
    (or CR2) SE_b; df = N - 2B (clusters: J - 2B). When every block has exactly two
    units (or clusters) the matched-pair variance is used instead:
    SE^2 = sum_b (d_b - d)^2 / (B (B - 1)) (clustered: Imai, King & Nall 2009), df = B - 1.
    """
    ci_level = check_ci_level(ci_level)
    p = prepare(df, outcome, treatment, cluster=cluster, block=block, unit=unit, missing=missing)
    tab = _block_table(p.data, p.y, p.t, block, cluster, ci_level)
    size = tab.n_clusters if cluster is not None else tab.n_treated + tab.n_control
    nb = len(tab)
    if nb < 2:
        raise InputError(f"Block column '{block}' has a single block; use difference_in_means without `block`.")
    notes = list(p.notes)
    w = (tab.n_treated + tab.n_control) / (tab.n_treated + tab.n_control).sum()
    est = float((w * tab.estimate).sum())
    pairs = (size == 2)
    if pairs.any():
        if not pairs.all():
            notes.append("Some blocks have two units/clusters and others more: the matched-pair variance is used "
                         "(as estimatr does), since within-pair variances cannot be estimated.")
        if cluster is None:
            se = np.sqrt(((tab.estimate - est) ** 2).sum() / (nb * (nb - 1)))
            design = "matched pairs"
        else:
            n_b = (tab.n_treated + tab.n_control).to_numpy()
            N = n_b.sum()
            se = np.sqrt(nb / ((nb - 1) * N**2) * np.sum((n_b * tab.estimate - N * est / nb) ** 2))
            design = "matched pairs of clusters"
        df_ = nb - 1
    else:
        if tab.std_error.isna().any():
            raise InputError(
                "Some blocks have fewer than two units (clusters) in an arm, so their variance cannot be "
                "estimated; merge small blocks."
            )
        se = float(np.sqrt((w**2 * tab.std_error**2).sum()))
        if cluster is None:
            df_, design = len(p.y) - 2 * nb, "blocked"
        else:
            df_, design = int(tab.n_clusters.sum()) - 2 * nb, "blocked, clustered (CR2 within blocks)"
    return build_estimate(
        estimate=est,
        std_error=se,
        df=df_,
        method=f"difference in means, {design}: block-size-weighted over {nb} blocks",
        ci_level=ci_level,
        y=p.y,
        t=p.t,
        n_clusters=None if cluster is None else int(p.data[cluster].nunique()),
        notes=notes,
        extra={"blocks": tab.assign(weight=w)} | ({"attrition": p.attrition} if p.attrition else {}),
    )


def block_fixed_effects(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    block: str,
    *,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
    se_type: str | None = None,
) -> Estimate:
    """OLS of the outcome on treatment, block dummies (and covariates).

    The coefficient weights blocks by n_b p_b (1 - p_b) (Angrist & Pischke 2009, sec. 3.3.1).
    SE: HC2, or CR2 with Bell-McCaffrey df when ``cluster`` is given
    (``estimatr::lm_robust(y ~ T + factor(block))``). ``se_type`` takes the ``estimatr`` names
    ("HC0", "HC1"/"stata", "HC2", "HC3", "classical"; with ``cluster`` "CR0", "stata", "CR2");
    Stata's K counts the block dummies, as ``areg y T, absorb(block)`` does.
    """
    ci_level = check_ci_level(ci_level)
    covs = as_list(covariates)
    p = prepare(df, outcome, treatment, covariates=covs, cluster=cluster, block=block, unit=unit, missing=missing)
    se_type = check_se_type(se_type, cluster is not None)
    blocks = p.data[block].astype(str).to_numpy()
    cl = None if cluster is None else p.data[cluster].to_numpy()
    n_blocks = len(pd.unique(blocks))
    if se_type == "CR2":  # CR2's adjustment needs the dummies in the hat matrix
        dummies = pd.get_dummies(blocks, drop_first=True, dtype=float).to_numpy()
        X = np.column_stack([np.ones_like(p.t), p.t, covariate_matrix(p.data, covs), dummies])
        fit, j = ols(p.y, X, se_type=se_type, cluster=cl, df_for=[1]), 1
    else:  # the same fit with the blocks absorbed (O(n) memory, no dummy columns)
        X = np.column_stack([p.t, covariate_matrix(p.data, covs)])
        fit, j = ols(p.y, X, se_type=se_type, cluster=cl, df_for=[0], absorb=blocks), 0
    return build_estimate(
        estimate=fit.coef[j],
        std_error=fit.se(j),
        df=fit.df[j],
        method=f"block fixed effects ({n_blocks} blocks), {se_label(se_type)} SE",
        ci_level=ci_level,
        y=p.y,
        t=p.t,
        n_clusters=fit.n_clusters,
        notes=p.notes,
        extra={"attrition": p.attrition} if p.attrition else {},
    )


def block_effects(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    block: str,
    *,
    weighting: str = "precision",
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """Site-specific effects and their weighted average (multisite trials).

    Parameters
    ----------
    weighting : {"precision", "units", "equal"}
        "precision": inverse-variance weights 1/SE_b^2, SE = 1/sqrt(sum w), normal reference
        (fixed-effect meta-analysis, as ``metafor::rma(method = "FE")``);
        "units": weights N_b / N (every person counts once; = blocked_difference_in_means);
        "equal": every site counts once, SE = sqrt(sum SE_b^2) / B, df = N - 2B.

    The per-site table (estimate, Welch SE, CI, weight) is in ``extra['blocks']``.
    """
    ci_level = check_ci_level(ci_level)
    if weighting not in WEIGHTINGS:
        raise InputError(f"`weighting` must be one of {WEIGHTINGS}, got {weighting!r}.")
    if weighting == "units":
        return blocked_difference_in_means(df, outcome, treatment, block, unit=unit, missing=missing, ci_level=ci_level)
    p = prepare(df, outcome, treatment, block=block, unit=unit, missing=missing)
    tab = _block_table(p.data, p.y, p.t, block, None, ci_level)
    if tab.std_error.isna().any() or (tab.std_error == 0).any():
        bad = tab.loc[tab.std_error.isna() | (tab.std_error == 0), "block"].tolist()
        raise InputError(
            f"Block(s) {bad[:5]} have fewer than two units in an arm or no outcome variation, so their "
            "variance cannot be estimated; merge small blocks or use weighting='units'."
        )
    nb = len(tab)
    if weighting == "precision":
        w = 1 / tab.std_error**2
        w = w / w.sum()
        est = float((w * tab.estimate).sum())
        se = float(1 / np.sqrt((1 / tab.std_error**2).sum()))
        df_ = None
        q = float((((tab.estimate - est) / tab.std_error) ** 2).sum())
        extra_het = {"Q": q, "Q_df": nb - 1, "Q_p_value": float(stats.chi2.sf(q, nb - 1))} if nb > 1 else {}
    else:
        w = pd.Series(np.full(nb, 1 / nb))
        est = float(tab.estimate.mean())
        se = float(np.sqrt((tab.std_error**2).sum()) / nb)
        df_ = len(p.y) - 2 * nb
        extra_het = {}
    notes = list(p.notes)
    if nb == 1:
        notes.append(f"Block column '{block}' has a single block: the estimate is that block's difference in means "
                     "and there is no heterogeneity test across blocks.")
    return build_estimate(
        estimate=est,
        std_error=se,
        df=df_,
        method=f"{weighting}-weighted average of {nb} block effects",
        ci_level=ci_level,
        y=p.y,
        t=p.t,
        notes=notes,
        extra={"blocks": tab.assign(weight=w.to_numpy())} | extra_het
        | ({"attrition": p.attrition} if p.attrition else {}),
    )
