"""Subgroup effects with the main effect's design: treatment x subgroup interactions in one model.

For a characteristic S with levels l = 1..L, one regression on the analytic sample::

    y = sum_l a_l 1[S=l] + sum_l d_l T 1[S=l] + Xc b (+ T Xc c, Lin designs) (+ block dummies) + e

with the same covariates (centred), the same block fixed effects and the same robust variance
as the main effect (CR2 by the assigned unit with Bell-McCaffrey df, else HC2;
:func:`plmresearch.causal._ols.ols`, checked there against ``estimatr::lm_robust``).
``d_l`` is the effect in subgroup l. The joint heterogeneity test asks whether all d_l are
equal: a Wald test of the L - 1 contrasts d_l - d_1 with the same robust variance, referred
to F(L - 1, df) with df the smallest Bell-McCaffrey df of the contrasts (exact t test with
Satterthwaite df for two levels, as ``clubSandwich::coef_test``; for more levels an
approximation to clubSandwich's HTZ Wald test, conservative when the dfs differ). Subgroup analyses are exploratory (WWC Handbook v5.0, sec. on subgroups; Wang &
Ware 2013): the report says so and never calls one subgroup "significant" on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from plmresearch.causal._ols import ols
from plmresearch.errors import PlmError

__all__ = ["SubgroupDesign", "design_of", "subgroup_effects"]


@dataclass(frozen=True)
class SubgroupDesign:
    """The pieces of the main effect's estimator that every subgroup model repeats."""

    covariates: tuple[str, ...]
    interact_covariates: bool   # Lin (2013): covariates also interacted with treatment
    cluster: str | None         # CR2 by this column, else HC2
    block: str | None           # block fixed effects


def design_of(cfg) -> SubgroupDesign:
    """The main effect's design for a pilot config (mirrors ``analysis._main_estimate``)."""
    covs = tuple(cfg.model_covariates)
    unit_col = {"school": cfg.school, "class": cfg.class_column}.get(cfg.assigned_unit)
    if cfg.design == "individual_rct":
        return SubgroupDesign(covs, True, None, None)
    if cfg.design == "cluster_rct":
        return SubgroupDesign(covs, True, unit_col, None)
    if cfg.design == "multisite":
        return SubgroupDesign(covs, False, unit_col if cfg.assigned_unit == "class" else None, cfg.school)
    return SubgroupDesign(covs, True, cfg.school, None)  # comparison_schools


def _fit_one(df: pd.DataFrame, y: str, t: str, var: str, levels: list, design: SubgroupDesign):
    """Fit the interaction model for one characteristic; returns (coef, se, df, joint F, p, df1, df2)."""
    d = df[df[var].isin(levels)]
    n = len(d)
    s = d[var].to_numpy()
    T = d[t].to_numpy(dtype=float)
    S = np.column_stack([(s == lv).astype(float) for lv in levels])
    cl = None if design.cluster is None else d[design.cluster].to_numpy()
    absorb = None
    if design.block is not None and cl is None:   # HC2: absorb the blocks (the same fit, no dummy columns)
        absorb = d[design.block].astype(str).to_numpy()
    # with absorbed blocks the level dummies lose one column (they and the blocks both sum to 1)
    cols = [S[:, 1:] if absorb is not None else S, S * T[:, None]]
    covs = [c for c in design.covariates if c != var]  # adjusting for the subgroup itself is the S dummies
    if covs:
        Xc = d[covs].to_numpy(dtype=float)
        Xc = Xc - Xc.mean(axis=0)
        cols.append(Xc)
        if design.interact_covariates:
            cols.append(Xc * T[:, None])
    if design.block is not None and absorb is None:
        cols.append(pd.get_dummies(d[design.block].astype(str), drop_first=True, dtype=float).to_numpy())
    X = np.column_stack(cols)
    L = len(levels)
    first = L - 1 if absorb is not None else L   # column of T x 1[S = level 1]
    idx = list(range(first, first + L))
    y_ = d[y].to_numpy(dtype=float)
    se_type = "CR2" if cl is not None else "HC2"
    fit = ols(y_, X, se_type=se_type, cluster=cl, df_for=idx, absorb=absorb)
    coef, V = fit.coef[idx], fit.vcov[np.ix_(idx, idx)]
    se = np.sqrt(np.diag(V))
    F = p_joint = df2 = np.nan
    if L >= 2 and cl is None:
        # HC2 is invariant to reparameterizing X (same hat matrix and residuals), so the contrasts
        # d_l - d_1 and their variance C V C' come from this fit, with its df n - K
        C = np.hstack([-np.ones((L - 1, 1)), np.eye(L - 1)])
        diff, Vd = C @ coef, C @ V @ C.T
        F = float(diff @ np.linalg.pinv(Vd) @ diff) / (L - 1)
        df2 = float(fit.df[idx[0]])
        p_joint = float(stats.f.sf(F, L - 1, df2))
    elif L >= 2:
        # Same model, reparameterized so that the contrasts d_l - d_1 are coefficients: T x 1[S=l]
        # for l >= 2 plus T itself. Each contrast then has its own Bell-McCaffrey df.
        Xb = X.copy()
        Xb[:, first] = T
        fb = ols(y_, Xb, se_type=se_type, cluster=cl, df_for=idx[1:], absorb=absorb)
        cidx = idx[1:]
        diff, Vd = fb.coef[cidx], fb.vcov[np.ix_(cidx, cidx)]
        W = float(diff @ np.linalg.pinv(Vd) @ diff)
        F = W / (L - 1)
        df2 = float(np.nanmin(fb.df[cidx]))
        p_joint = float(stats.f.sf(F, L - 1, df2))
    return coef, se, fit.df[idx], F, p_joint, L - 1, df2


def subgroup_effects(df: pd.DataFrame, outcome: str, treatment: str, subgroups, design: SubgroupDesign,
                     *, ci_level: float, min_cell: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subgroup effects and joint heterogeneity tests, one interaction model per characteristic.

    Levels where an arm has fewer than ``min_cell`` students (or under 2) are left out of the
    model (their rows stay empty). Returns ``(effects, heterogeneity)``; ``effects`` has one row
    per level with estimate, std_error, ci_low, ci_high, df, p_value (unadjusted) and arm counts.
    """
    need = [outcome, treatment, *design.covariates] + [c for c in (design.cluster, design.block) if c]
    rows, het = [], []
    for var in subgroups:
        d = df[list(dict.fromkeys([*need, var]))].dropna()   # only the model's columns are copied
        levels = sorted(pd.unique(d[var]), key=str)
        counts = {lv: (int(((d[var] == lv) & (d[treatment] == 1)).sum()), int(((d[var] == lv) & (d[treatment] == 0)).sum()))
                  for lv in levels}
        fit_levels = [lv for lv in levels if min(counts[lv]) >= max(min_cell, 2)]
        res: dict = {}
        note = ""
        if fit_levels:
            try:
                coef, se, dfs, F, pj, df1, df2 = _fit_one(d, outcome, treatment, var, fit_levels, design)
                res = {lv: (coef[i], se[i], dfs[i]) for i, lv in enumerate(fit_levels)}
                het.append({"subgroup": var, "levels_tested": len(fit_levels), "F": F, "df1": df1, "df2": df2,
                            "p_value": pj})
            except PlmError as err:  # e.g. a level present in one arm's clusters only: collinear
                note = str(err)
        if not res:
            het.append({"subgroup": var, "levels_tested": len(fit_levels), "F": np.nan, "df1": np.nan,
                        "df2": np.nan, "p_value": np.nan})
        for lv in levels:
            n1, n0 = counts[lv]
            row = {"subgroup": var, "level": str(lv), "n_treated": n1, "n_control": n0, "estimate": np.nan,
                   "std_error": np.nan, "ci_low": np.nan, "ci_high": np.nan, "df": np.nan, "p_value": np.nan}
            if lv in res:
                est, s, dof = res[lv]
                q = stats.t.ppf(0.5 + ci_level / 2, dof) if np.isfinite(dof) else stats.norm.ppf(0.5 + ci_level / 2)
                tstat = est / s
                p = 2 * (stats.t.sf(abs(tstat), dof) if np.isfinite(dof) else stats.norm.sf(abs(tstat)))
                row.update(estimate=est, std_error=s, ci_low=est - q * s, ci_high=est + q * s, df=dof, p_value=p)
            elif note:
                row["note"] = note
            rows.append(row)
    het = pd.DataFrame(het, columns=["subgroup", "levels_tested", "F", "df1", "df2", "p_value"])
    het["p_adjusted_bh"] = np.nan
    ok = het["p_value"].notna()
    if ok.any():
        from statsmodels.stats.multitest import multipletests

        het.loc[ok, "p_adjusted_bh"] = multipletests(het.loc[ok, "p_value"], method="fdr_bh")[1]
    return pd.DataFrame(rows), het
