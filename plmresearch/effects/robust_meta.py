"""Robust variance estimation (RVE) meta-analysis and meta-regression for dependent effect sizes.

Hedges, Tipton & Johnson (2010, *Res. Synth. Methods* 1(1)) with the small-sample correction of
Tipton (2015, *Psychol. Methods* 20(3)): CR2 adjustment and Satterthwaite degrees of freedom, and
Tipton & Pustejovsky's (2015) approximate Hotelling's T² (HTZ) test for several coefficients.
Follows R's ``robumeta::robu`` (Fisher, Tipton & Zhipeng) line by line:

* **correlated effects** (``weights="CE"``, robumeta ``"CORR"``): working weights
  ``w_j = 1/(k_j v̄_j)``, method-of-moments
  ``τ² = (Q_E - N + tr(V·Σ(w_j/k_j)X_j'X_j))/denom + ρ·tr(V·Σ(w_j/k_j)(X_j'J X_j - X_j'X_j))/denom``
  (``V = (X'WX)^(-1)``, ``denom = ΣW - tr(V·ΣX_j'W_jJW_jX_j)``; robumeta 2.0 as on CRAN) with an assumed
  within-study correlation ``ρ`` (default 0.8), final weights ``1/(k_j (v̄_j + τ²))``;
  ``I² = (Q_E - df)/Q_E`` with ``df = N - tr(·) - ρ tr(·)``.
* **hierarchical effects** (``weights="HE"``, robumeta ``"HIER"``): method-of-moments ω²
  (between effects within a study) and τ² (between studies) from ``Q_E`` and ``Q_A``, final
  weights ``1/(v_ij + τ² + ω²)``.

Small-sample inference (``small=True``) uses the working model ``Φ = W^(-1)``; clubSandwich's
``coef_test(fit, vcov = "CR2")`` and ``Wald_test(fit, constraints, vcov = "CR2", test = "HTZ")``
give the same numbers for a ``robu`` fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from plmresearch.effects._common import check_choice, check_level
from plmresearch.effects.cluster_robust import CR2, cr2
from plmresearch.effects.meta import _design
from plmresearch.errors import InputError
from plmresearch.results import Result
from plmresearch.validation import number, require_column_args, require_scale, require_variation

WEIGHTS = ("CE", "HE")


def _dependent_inputs(data: pd.DataFrame, yi: str, vi: str, study: str) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                                list]:
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
    data = require_column_args(data, {"yi": yi, "vi": vi, "study": study}, what="meta-analysis data")
    try:
        y = data[yi].to_numpy(dtype=float)
        v = data[vi].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"Columns {yi!r} and {vi!r} must be numeric effect sizes and variances.") from None
    if not (np.isfinite(y).all() and np.isfinite(v).all()):
        raise InputError(f"Columns {yi!r}/{vi!r} contain missing or infinite values; drop those rows first.")
    if (v <= 0).any():
        raise InputError(f"Sampling variances in {vi!r} must be positive; row {int(np.argmax(v <= 0))} is not.")
    require_scale(y, yi, "Effect-size column", small=False)
    require_scale(v, vi, "Variance column", each=True)
    if data[study].isna().any():
        raise InputError(f"Study identifier column {study!r} has missing values.")
    codes, uniques = pd.factorize(data[study], sort=True)
    if len(uniques) < 2:
        raise InputError(f"Robust variance estimation needs at least 2 studies (distinct values of `study` = "
                         f"'{study}'); the data have fewer. Add studies, or use meta_analysis for a single one.")
    return y, v, codes, list(uniques)


def _blocks(codes: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=n))[:-1]
    return np.split(order, bounds)


@dataclass(frozen=True)
class RobustMeta(Result):
    """Result of :func:`robust_meta`: coefficients with robust SEs, small-sample df, and τ² (ω²)."""

    coefficients: pd.DataFrame
    weights: str
    tau2: float
    omega2: float | None
    i2: float | None
    qe: float
    rho: float | None
    small: bool
    n_studies: int
    n_effects: int
    ci_level: float
    cr2: CR2 | None = field(default=None, repr=False, compare=False)
    naive_coefficients: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def estimate(self) -> float:
        return float(self.coefficients["estimate"].iloc[0])

    @property
    def std_error(self) -> float:
        return float(self.coefficients["std_error"].iloc[0])

    def to_frame(self) -> pd.DataFrame:
        out = self.coefficients.copy()
        out.insert(0, "model", f"RVE {self.weights}")
        out["tau2"] = self.tau2
        out["omega2"] = self.omega2
        out["i2"] = self.i2
        out["n_studies"] = self.n_studies
        out["n_effects"] = self.n_effects
        return out

    def wald_test(self, constraints) -> pd.DataFrame:
        """HTZ test that the named coefficients (or ``C β``) are all 0 (clubSandwich ``Wald_test``)."""
        if self.cr2 is None:
            raise InputError("The HTZ test needs the small-sample (CR2) fit: call robust_meta(..., small=True).")
        return self.cr2.wald_test(constraints)

    def _title(self) -> str:
        kind = "correlated" if self.weights == "CE" else "hierarchical"
        return f"RVE meta-{'analysis' if len(self.coefficients) == 1 else 'regression'} ({kind} effects)"

    def _summary_lines(self) -> list[str]:
        het = f"tau^2 = {self.tau2:.4f}"
        if self.omega2 is not None:
            het += f", omega^2 = {self.omega2:.4f}"
        if self.i2 is not None:
            het += f", I^2 = {self.i2:.2f}%"
        head = (f"{self._title()}{f', rho = {self.rho}' if self.rho is not None else ''}"
                f"{', small-sample corrected (CR2, Satterthwaite df)' if self.small else ''}: "
                f"{self.n_studies} studies, {self.n_effects} effect sizes; {het}")
        return [head, self.coefficients.to_string(index=False, float_format=lambda x: f"{x:.4f}")]


def robust_meta(data: pd.DataFrame, yi: str, vi: str, study: str, moderators: Any = None, *, weights: str = "CE",
                rho: float = 0.8, small: bool = True, intercept: bool = True, ci_level: float = 0.95) -> RobustMeta:
    """RVE meta-analysis (intercept only) or meta-regression of dependent effect sizes.

    Parameters
    ----------
    data : DataFrame with one row per effect size.
    yi, vi, study : columns of effect sizes, sampling variances and the study (cluster) id.
    moderators : column name(s) of ``data`` (an intercept is added), or None.
    intercept : False drops the intercept (R ``y ~ 0 + ...``): with indicator moderators each
        coefficient is then the average effect of its category.
    weights : {"CE", "HE"}
        Correlated effects (robumeta ``modelweights = "CORR"``) or hierarchical effects ("HIER").
    rho : assumed correlation between effect sizes of a study (CE only; robumeta default 0.8).
    small : Tipton's (2015) CR2 small-sample correction with Satterthwaite df (robumeta default);
        ``False`` gives the original HTJ estimator with ``sqrt(N/(N-p))`` and ``N - p`` df.

    Equals ``robumeta::robu(y ~ mods, data, studynum = study, var.eff.size = v,
    modelweights = "CORR"/"HIER", rho = rho, small = small)``; see the module docstring.
    """
    weights = check_choice(weights, "weights", WEIGHTS)
    ci_level = check_level(ci_level)
    rho = number(rho, "rho", low=0, high=1)
    y, v, codes, _ = _dependent_inputs(data, yi, vi, study)
    require_variation(y, yi, "effect-size column", "Robust (RVE) standard errors are built from residuals, which are "
                      "then all 0; check the `yi` column, or use meta_analysis (model-based SEs).")
    X, names = _design(moderators, data, len(y))
    if not intercept:
        if X.shape[1] == 1:
            raise InputError("A model without intercept needs at least one moderator.")
        X, names = X[:, 1:], names[1:]
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise InputError("The moderators are collinear; drop redundant ones.")
    n_es, p = X.shape
    n_st = int(codes.max()) + 1
    if n_st <= p:
        raise InputError(f"{n_st} studies are too few for {p} coefficient(s) in RVE; need more studies than "
                         "coefficients.")
    k_j = np.bincount(codes, minlength=n_st).astype(float)
    k = k_j[codes]
    vbar = (np.bincount(codes, weights=v, minlength=n_st) / k_j)[codes]

    def csum(a: np.ndarray) -> np.ndarray:  # per-study column sums, studies x cols
        out = np.zeros((n_st, a.shape[1]))
        np.add.at(out, codes, a)
        return out

    def wls(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xtwx_inv = np.linalg.inv((X.T * w) @ X)
        b = xtwx_inv @ ((X.T * w) @ y)
        return b, y - X @ b, xtwx_inv

    omega2: float | None = None
    i2: float | None = None
    if weights == "CE":
        w0 = 1 / (k * vbar)
        _, e, vi_ = wls(w0)
        qe = float(np.sum(w0 * e**2))
        s_w = csum(X * w0[:, None])
        xwjwx = s_w.T @ s_w
        # robumeta 2.0 (CRAN) approximates v_ij by the study mean v̄_j in both traces (HTJ 2010, eq. 10):
        # Σ X_j'(W_j/k_j)X_j and Σ (w_j/k_j)(X_j'J_jX_j - X_j'X_j).
        xwvwx = (X.T * (w0 / k)) @ X
        t_x = csum(X)
        wk = 1 / (k_j * (np.bincount(codes, weights=v, minlength=n_st) / k_j)) / k_j
        xw_sig_wx = (t_x.T * wk) @ t_x - xwvwx
        denom = w0.sum() - np.trace(vi_ @ xwjwx)
        term_a = np.trace(vi_ @ xwvwx)
        term_b = np.trace(vi_ @ xw_sig_wx)
        tau2 = max(0.0, float((qe - n_st + term_a) / denom + rho * term_b / denom))
        df_q = n_st - term_a - rho * term_b
        i2 = max(0.0, float((qe - df_q) / qe * 100))
        w = 1 / (k * (vbar + tau2))
    else:
        w0 = 1 / v
        _, e, vi_ = wls(w0)
        qe = float(np.sum(w0 * e**2))
        qa = float(np.sum(np.bincount(codes, weights=e, minlength=n_st) ** 2))
        s_w = csum(X * w0[:, None])
        t_x = csum(X)
        kj = k_j[:, None]
        xjx = t_x.T @ t_x
        xwjwx = s_w.T @ s_w
        xwwx = (X.T * w0**2) @ X
        xjjwx = (t_x * kj).T @ s_w
        xwjjx = (s_w * kj).T @ t_x
        xjwx = t_x.T @ s_w
        xwjx = s_w.T @ t_x
        tr = np.trace
        a1 = np.sum(k_j**2) - tr(vi_ @ xjjwx) - tr(vi_ @ xwjjx) + tr(vi_ @ xjx @ vi_ @ xwjwx)
        b1 = n_es - tr(vi_ @ xwjx) - tr(vi_ @ xjwx) + tr(vi_ @ xjx @ vi_ @ xwwx)
        c1 = v.sum() - tr(vi_ @ xjx)
        a2 = w0.sum() - tr(vi_ @ xwjwx)
        b2 = w0.sum() - tr(vi_ @ xwwx)
        c2 = n_es - p
        omega2 = max(0.0, float(((qa - c1) * a2 - (qe - c2) * a1) / (b1 * a2 - b2 * a1)))
        tau2 = max(0.0, float((qe - c2) / a2 - omega2 * b2 / a2))
        w = 1 / (v + tau2 + omega2)

    b, e, q = wls(w)
    blocks = _blocks(codes, n_st)
    naive_se = np.sqrt(np.diag(q))
    z = stats.norm.ppf(0.5 + ci_level / 2)
    naive = pd.DataFrame({"term": names, "estimate": b, "std_error": naive_se,
                          "ci_low": b - z * naive_se, "ci_high": b + z * naive_se})
    fit_cr2: CR2 | None = None
    if small:
        fit_cr2 = cr2([X[ix] for ix in blocks], [np.diag(w[ix]) for ix in blocks],
                      [np.diag(1 / w[ix]) for ix in blocks], [e[ix] for ix in blocks], b, names)
        coef = fit_cr2.coef_table(ci_level)
    else:
        u = csum(X * (w * e)[:, None])
        vr = q @ (u.T @ u) @ q
        se = np.sqrt(np.diag(vr)) * math.sqrt(n_st / (n_st - p))
        df = np.full(p, float(n_st - p))
        t = b / se
        crit = stats.t.ppf(0.5 + ci_level / 2, df)
        coef = pd.DataFrame({"term": names, "estimate": b, "std_error": se, "statistic": t, "df": df,
                             "p_value": 2 * stats.t.sf(np.abs(t), df), "ci_low": b - crit * se,
                             "ci_high": b + crit * se})
    if not (coef["std_error"].to_numpy() > 0).all():
        raise InputError(f"The effect sizes in `yi` ('{yi}') are fitted exactly (all residuals 0, e.g. a constant "
                         "column): robust standard errors, built from residuals, are 0. Check the `yi` column.")
    return RobustMeta(coef, weights, tau2, omega2, i2, qe, rho if weights == "CE" else None, small, n_st, n_es,
                      ci_level, fit_cr2, naive)
