"""metafor's everyday tools for a fitted univariate meta-analysis (Viechtbauer 2010, metafor 3.8).

* :func:`heterogeneity_ci`: Q-profile confidence intervals for τ², τ, I² and H² (Viechtbauer 2007;
  metafor ``confint.rma.uni``): the τ² values at which the generalized Q statistic
  ``Σ (y - Xb(τ²))² / (v + τ²)`` equals the χ²_{k-p} quantiles.
* :func:`blup`: best linear unbiased predictions of the study-specific true effects
  (metafor ``blup.rma.uni``): ``μ̂ + λ_i (y_i - μ̂)``, ``λ_i = τ²/(τ² + v_i)``,
  ``SE² = λ_i v_i + (1 - λ_i)² SE(μ̂)²``.
* :func:`leave_one_out` (``leave1out``) and :func:`influence_diagnostics` (``influence``: hat
  values, Cook's distances, studentized deleted residuals, DFFITS).
* :func:`rank_correlation_test`: Begg & Mazumdar (1994) Kendall's τ between standardized effects
  and their variances (metafor ``ranktest``).
* :func:`trim_and_fill`: Duval & Tweedie (2000) L0 estimator (metafor ``trimfill``).
* :func:`predict_meta`: predicted average effect at chosen moderator values with confidence and
  prediction intervals (metafor ``predict.rma(newmods = ...)``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from plmresearch.effects.meta import MetaAnalysis, MetaRegression, _p_stats, meta_analysis
from plmresearch.errors import InputError
from plmresearch.validation import check_choice, check_ci_level, count, require_scale


def _gen_q(y: np.ndarray, v: np.ndarray, t2: float) -> float:
    w = 1 / (v + t2)
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w * (y - mu) ** 2))


def heterogeneity_ci(result: MetaAnalysis, level: float | None = None) -> pd.DataFrame:
    """Q-profile confidence intervals for τ², τ, I² and H² (metafor ``confint(rma(...))``).

    The interval does not depend on the τ² estimator; I² and H² bounds transform the τ² bounds with
    the typical within-study variance ``s² = (k - 1)/tr(P)`` (Higgins & Thompson 2002).
    Returns a table with rows tau2, tau, i2, h2 and columns estimate, ci_low, ci_high.
    """
    _check_ma(result)
    level = result.ci_level if level is None else check_ci_level(level, "level")
    y, v, k = result.yi, result.vi, result.k
    if k < 2:
        raise InputError(f"`result` pools {k} study; a heterogeneity interval needs at least 2.")
    q_lo = stats.chi2.ppf(1 - (1 - level) / 2, k - 1)  # lower bound: Q(τ²) = upper quantile
    q_hi = stats.chi2.ppf((1 - level) / 2, k - 1)
    hi_bracket = max(1.0, 100 * float(np.var(y)))

    def root(target: float) -> float:
        if _gen_q(y, v, 0.0) < target:
            return 0.0
        upper = hi_bracket
        while _gen_q(y, v, upper) > target:
            upper *= 10
        return float(optimize.brentq(lambda t: _gen_q(y, v, t) - target, 0.0, upper, xtol=1e-14, rtol=1e-14))

    lo, hi = root(q_lo), root(q_hi)
    _, tr_p, _ = _p_stats(np.ones((k, 1)), 1 / v, y)
    s2 = (k - 1) / tr_p
    rows = {"tau2": (result.tau2, lo, hi), "tau": (math.sqrt(result.tau2), math.sqrt(lo), math.sqrt(hi)),
            "i2": (result.i2, 100 * lo / (lo + s2), 100 * hi / (hi + s2)),
            "h2": (result.h2, (lo + s2) / s2, (hi + s2) / s2)}
    return pd.DataFrame([{"parameter": k_, "estimate": e, "ci_low": a, "ci_high": b}
                         for k_, (e, a, b) in rows.items()])


def _check_ma(result) -> None:
    if not isinstance(result, MetaAnalysis):
        raise InputError(f"`result` must be the result of meta_analysis(), got {type(result).__name__}.")


def blup(result: MetaAnalysis) -> pd.DataFrame:
    """Best linear unbiased predictions of each study's true effect (metafor ``blup``), with
    prediction intervals ``pred ± z·SE``."""
    _check_ma(result)
    lam = result.tau2 / (result.tau2 + result.vi)
    pred = result.estimate + lam * (result.yi - result.estimate)
    se = np.sqrt(lam * result.vi + (1 - lam) ** 2 * result.std_error**2)
    z = stats.norm.ppf(0.5 + result.ci_level / 2)
    return pd.DataFrame({"study": list(result.labels), "pred": pred, "std_error": se, "pi_low": pred - z * se,
                         "pi_high": pred + z * se})


def leave_one_out(result: MetaAnalysis) -> pd.DataFrame:
    """Refit without each study in turn (metafor ``leave1out``): estimate, SE, CI, τ², I², Q."""
    _check_ma(result)
    if result.k < 3:
        raise InputError("Leave-one-out needs at least 3 studies.")
    rows = []
    for i in range(result.k):
        keep = np.arange(result.k) != i
        r = meta_analysis(result.yi[keep], result.vi[keep], method=result.method, test=result.test,
                          ci_level=result.ci_level)
        rows.append({"study": result.labels[i], "estimate": r.estimate, "std_error": r.std_error,
                     "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value, "tau2": r.tau2, "i2": r.i2,
                     "q": r.q})
    return pd.DataFrame(rows)


def influence_diagnostics(result: MetaAnalysis) -> pd.DataFrame:
    """Hat values, Cook's distances, studentized deleted residuals and DFFITS (metafor ``influence``).

    ``cook_d_i = (μ̂ - μ̂_(-i))² / SE(μ̂)²``; ``rstudent_i = (y_i - μ̂_(-i)) / sqrt(v_i + τ²_(-i) + SE(μ̂_(-i))²)``;
    ``dffits_i = (μ̂ - μ̂_(-i)) / sqrt(h_i (τ²_(-i) + v_i))`` (times the Knapp-Hartung factor under ``knha``).
    """
    _check_ma(result)
    loo = leave_one_out(result)
    w = 1 / (result.vi + result.tau2)
    hat = w / w.sum()
    d = result.estimate - loo["estimate"].to_numpy()
    cook = d**2 / result.std_error**2
    t2_del = loo["tau2"].to_numpy()
    rstudent = (result.yi - loo["estimate"].to_numpy()) / np.sqrt(result.vi + t2_del + loo["std_error"].to_numpy() ** 2)
    s2w = 1.0
    if result.test == "knha":
        s2w = result.std_error**2 * w.sum()
    dffits = d / np.sqrt(s2w * hat * (t2_del + result.vi))
    return pd.DataFrame({"study": list(result.labels), "hat": hat, "cook_d": cook, "rstudent": rstudent,
                         "dffits": dffits, "weight_pct": 100 * hat})


def rank_correlation_test(result: MetaAnalysis) -> pd.DataFrame:
    """Begg & Mazumdar (1994) rank correlation test for funnel-plot asymmetry (metafor ``ranktest``).

    Kendall's τ_b between ``(y_i - μ̂_FE)/sqrt(v_i - 1/Σw)`` and ``v_i`` (scipy ``kendalltau``; exact
    p-value without ties and under 50 studies, otherwise the normal approximation, as R ``cor.test``).
    """
    _check_ma(result)
    y, v = result.yi, result.vi
    w = 1 / v
    mu = np.sum(w * y) / w.sum()
    ystar = (y - mu) / np.sqrt(v - 1 / w.sum())
    ties = len(np.unique(ystar)) < len(ystar) or len(np.unique(v)) < len(v)
    method = "exact" if (len(y) < 50 and not ties) else "asymptotic"
    res = stats.kendalltau(ystar, v, method=method)
    return pd.DataFrame([{"kendall_tau": float(res.statistic), "p_value": float(res.pvalue), "k": result.k,
                          "p_value_method": method}])


def trim_and_fill(result: MetaAnalysis, side: str | None = None, max_iter: int = 100) -> tuple[MetaAnalysis, int, str]:
    """Duval & Tweedie trim-and-fill with the L0 estimator (metafor ``trimfill``).

    ``side`` ("left"/"right") says where studies are missing; by default it comes from the sign of the
    slope of ``y`` on ``sqrt(v)`` (metafor). Returns the model refitted with the filled studies, the
    number ``k0`` of filled studies and the side.
    """
    _check_ma(result)
    max_iter = count(max_iter, "max_iter")
    from plmresearch.effects.meta import meta_regression

    y0, v0 = result.yi, result.vi
    k = len(y0)
    if side is None:
        slope = meta_regression(y0, v0, np.sqrt(v0), method=result.method).coefficients["estimate"].iloc[1]
        side = "right" if slope < 0 else "left"
    check_choice(side, "side", ("left", "right"))
    sgn = -1.0 if side == "right" else 1.0
    order = np.argsort(sgn * y0, kind="stable")
    y, v = sgn * y0[order], v0[order]
    k0, k0_prev, b = 0, -1, 0.0
    it = 0
    while k0 != k0_prev:
        it += 1
        if it > max_iter:
            raise InputError(f"Trim-and-fill did not converge in `max_iter` = {max_iter} iterations; raise it.")
        k0_prev = k0
        b = meta_analysis(y[: k - k0], v[: k - k0], method=result.method).estimate
        yc = y - b
        ranks = stats.rankdata(np.abs(yc), method="ordinal")
        sr = float(np.sum((np.sign(yc) * ranks)[np.sign(yc) > 0]))
        k0 = max(0, round((4 * sr - k * (k + 1)) / (2 * k - 1)))
    if k0 == 0:
        return result, 0, side
    y_fill = 2 * b - y[k - k0:]
    yy = np.concatenate([y0, sgn * y_fill])
    vv = np.concatenate([v0, v[k - k0:]])
    labels = list(result.labels) + [f"Filled {i + 1}" for i in range(k0)]
    filled = meta_analysis(yy, vv, method=result.method, test=result.test, labels=labels, ci_level=result.ci_level)
    return filled, int(k0), side


def predict_meta(result: MetaRegression, newmods) -> pd.DataFrame:
    """Predicted average effect at moderator values (metafor ``predict(fit, newmods = ...)``).

    ``newmods``: one row per prediction, one column per moderator (no intercept), in the model's
    order. Returns pred, std_error, ci_low/ci_high and the prediction interval
    ``pred ± crit·sqrt(SE² + τ²)`` (crit z, or t with k - p df under ``knha``).
    """
    if not isinstance(result, MetaRegression) or result.vb is None:
        raise InputError("predict_meta needs the result of meta_regression().")
    p = len(result.coefficients)
    try:
        x = np.asarray(newmods, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"`newmods` must be numbers (one row per prediction), got {newmods!r:.60}.") from None
    if x.size == 0 or not np.isfinite(x).all():
        raise InputError("`newmods` must hold finite moderator values (no NaN, inf or empty input).")
    require_scale(x, "newmods", "Argument")
    x = x.reshape(-1, 1) if (x.ndim == 1 and p == 2) else np.atleast_2d(x)
    if x.shape[1] != p - 1:
        raise InputError(f"`newmods` needs {p - 1} column(s), one per moderator; got {x.shape[1]}.")
    X = np.column_stack([np.ones(len(x)), x])
    b = result.coefficients["estimate"].to_numpy()
    pred = X @ b
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, result.vb, X))
    c = result.crit
    half_pi = c * np.sqrt(se**2 + result.tau2)
    return pd.DataFrame({"pred": pred, "std_error": se, "ci_low": pred - c * se, "ci_high": pred + c * se,
                         "pi_low": pred - half_pi, "pi_high": pred + half_pi})
