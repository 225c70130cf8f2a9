"""Standardized mean differences: Cohen's d, Hedges' g, Glass's delta, pre-post designs.

Formulas follow metafor's ``escalc`` (Viechtbauer 2010; measures SMD, SMD1, SMCR,
SMCC), Hedges & Olkin (1985) and, for noncentral-t intervals, Steiger & Fouladi (1997)
as implemented by effectsize (Ben-Shachar et al. 2020). The WWC rule for adjusted
differences (divide by the *unadjusted* pooled SD) is from the WWC Procedures
Handbook v4.1, Appendix E.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.effects._common import (
    EffectSize,
    check_choice,
    check_correlation,
    check_level,
    check_n,
    check_sd,
    hedges_j,
    noncentral_t_ci,
    normal_ci,
)
from plmresearch.errors import InputError
from plmresearch.validation import (
    finite_or_input_error,
    require_column_args,
    require_outcome_variation,
    require_scale,
    binary_indicator,
    finite,
    require_frame,
    require_numeric,
)

CI_METHODS = ("normal", "noncentral_t")


@finite_or_input_error
def pooled_sd(sd_t: float, n_t: float, sd_c: float, n_c: float) -> float:
    """Pooled within-group standard deviation.

    ``S_p = sqrt(((n_t - 1) sd_t² + (n_c - 1) sd_c²) / (n_t + n_c - 2))``
    (Hedges & Olkin 1985; WWC Procedures Handbook v4.1, eq. E.1). One SD may be 0
    (e.g. a ceiling in one arm); both 0 is an error.
    """
    sd_t, sd_c = check_sd(sd_t, "sd_t", allow_zero=True), check_sd(sd_c, "sd_c", allow_zero=True)
    n_t, n_c = check_n(n_t, "n_t"), check_n(n_c, "n_c")
    if sd_t == 0 and sd_c == 0:
        raise InputError("`sd_t` and `sd_c` are both 0: the pooled SD is 0 and a standardized difference is undefined.")
    return math.sqrt(((n_t - 1) * sd_t**2 + (n_c - 1) * sd_c**2) / (n_t + n_c - 2))


@finite_or_input_error
def hedges_correction(df: float, exact: bool = True) -> float:
    """Small-sample bias correction of a standardized mean difference.

    Parameters
    ----------
    df : float
        Degrees of freedom of the SD (``n_t + n_c - 2`` for two groups), > 1.
    exact : bool
        True: ``J(df) = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2))`` (Hedges 1981; metafor
        ``.cmicalc``). False: the approximation ``1 - 3/(4 df - 1)``, which is the WWC
        omega ``1 - 3/(4N - 9)`` when ``df = N - 2`` (WWC Handbook v4.1 App. E).
    """
    d = finite(df, "df")
    if d <= 1:
        raise InputError(f"`df` must be greater than 1 for the small-sample correction, got {df!r}.")
    return hedges_j(d) if exact else 1 - 3 / (4 * d - 1)


def _ci(est: float, var: float, ci_level: float, ci_method: str, t_obs: float | None, df: float | None,
        scale: float) -> tuple[float, float]:
    """Normal CI, or noncentral-t CI of ``t_obs`` rescaled by ``scale`` (the J·se factor)."""
    if ci_method == "normal":
        return normal_ci(est, math.sqrt(var), ci_level)
    lo, hi = noncentral_t_ci(t_obs, df, ci_level)
    return lo * scale, hi * scale


def _smd_two_groups(diff: float, sd: float, n_t: float, n_c: float, correction: float | None,
                    kind: str, ci_level: float, ci_method: str, notes: tuple[str, ...] = ()) -> EffectSize:
    d = diff / sd
    j = 1.0 if correction is None else correction
    est = j * d
    # metafor escalc("SMD") large-sample variance, evaluated at the returned estimate
    var = 1 / n_t + 1 / n_c + est**2 / (2 * (n_t + n_c))
    df = n_t + n_c - 2
    scale = math.sqrt(1 / n_t + 1 / n_c)
    lo, hi = _ci(est, var, ci_level, ci_method, d / scale, df, j * scale)
    return EffectSize(
        estimate=est, variance=var, std_error=math.sqrt(var), ci_low=lo, ci_high=hi,
        effect_size_type=kind, ci_level=ci_level, ci_method=ci_method, df=df,
        correction=correction, n_treated=n_t, n_control=n_c, notes=notes,
    )


def _check_common(mean_t, sd_t, n_t, mean_c, sd_c, n_c, ci_level, ci_method):
    return (
        finite(mean_t, "mean_t"), check_sd(sd_t, "sd_t", allow_zero=True), check_n(n_t, "n_t"),
        finite(mean_c, "mean_c"), check_sd(sd_c, "sd_c", allow_zero=True), check_n(n_c, "n_c"),
        check_level(ci_level), check_choice(ci_method, "ci_method", CI_METHODS),
    )


@finite_or_input_error
def cohens_d(mean_t: float, sd_t: float, n_t: float, mean_c: float, sd_c: float, n_c: float, *,
             ci_level: float = 0.95, ci_method: str = "normal") -> EffectSize:
    """Cohen's d with the pooled SD: ``(mean_t - mean_c) / S_p``.

    Variance ``1/n_t + 1/n_c + d²/(2(n_t + n_c))`` (Hedges & Olkin 1985). ``ci_method``
    "normal" (d ± z·SE) or "noncentral_t" (Steiger & Fouladi 1997; effectsize ``cohens_d``).
    """
    mean_t, sd_t, n_t, mean_c, sd_c, n_c, ci_level, ci_method = _check_common(
        mean_t, sd_t, n_t, mean_c, sd_c, n_c, ci_level, ci_method)
    sp = pooled_sd(sd_t, n_t, sd_c, n_c)
    return _smd_two_groups(mean_t - mean_c, sp, n_t, n_c, None, "Cohen's d", ci_level, ci_method)


@finite_or_input_error
def hedges_g(mean_t: float, sd_t: float, n_t: float, mean_c: float, sd_c: float, n_c: float, *,
             exact: bool = True, ci_level: float = 0.95, ci_method: str = "normal") -> EffectSize:
    """Hedges' g: Cohen's d times the small-sample correction.

    ``g = J(n_t + n_c - 2) · (mean_t - mean_c) / S_p``; variance
    ``1/n_t + 1/n_c + g²/(2(n_t + n_c))`` (metafor ``escalc(measure="SMD")``).
    ``exact=False`` uses the WWC omega ``1 - 3/(4N - 9)`` (WWC Handbook v4.1 App. E).
    The noncentral-t CI is J times the CI of d (as effectsize ``hedges_g``).

    >>> g = hedges_g(mean_t=103, sd_t=15, n_t=50, mean_c=100, sd_c=14, n_c=50)
    >>> round(g.estimate, 4), round(g.std_error, 4)
    (0.2052, 0.2005)
    """
    mean_t, sd_t, n_t, mean_c, sd_c, n_c, ci_level, ci_method = _check_common(
        mean_t, sd_t, n_t, mean_c, sd_c, n_c, ci_level, ci_method)
    sp = pooled_sd(sd_t, n_t, sd_c, n_c)
    j = hedges_correction(n_t + n_c - 2, exact=exact)
    kind = "Hedges' g" if exact else "Hedges' g (WWC)"
    return _smd_two_groups(mean_t - mean_c, sp, n_t, n_c, j, kind, ci_level, ci_method)


@finite_or_input_error
def glass_delta(mean_t: float, sd_t: float, n_t: float, mean_c: float, sd_c: float, n_c: float, *,
                correct: bool = False, ci_level: float = 0.95, ci_method: str = "normal") -> EffectSize:
    """Glass's delta: the difference standardized by the control group's SD.

    ``Δ = (mean_t - mean_c) / sd_c``; with ``correct=True`` times ``J(n_c - 1)``
    (metafor ``escalc(measure="SMD1")``). Variance ``1/n_t + 1/n_c + Δ²/(2 n_c)``
    (metafor SMD1). Noncentral-t CI with ``df = n_c - 1`` and scale
    ``sqrt(1/n_c + sd_t²/(n_t sd_c²))`` (effectsize ``glass_delta``).
    """
    mean_t, sd_t, n_t, mean_c, sd_c, n_c, ci_level, ci_method = _check_common(
        mean_t, sd_t, n_t, mean_c, sd_c, n_c, ci_level, ci_method)
    if sd_c == 0:
        raise InputError("`sd_c` is 0: Glass's delta divides by the control-group SD; use hedges_g instead.")
    delta = (mean_t - mean_c) / sd_c
    j = hedges_correction(n_c - 1) if correct else None
    est = delta * (j or 1.0)
    var = 1 / n_t + 1 / n_c + est**2 / (2 * n_c)
    scale = math.sqrt(1 / n_c + sd_t**2 / (n_t * sd_c**2))
    lo, hi = _ci(est, var, ci_level, ci_method, delta / scale, n_c - 1, (j or 1.0) * scale)
    return EffectSize(
        estimate=est, variance=var, std_error=math.sqrt(var), ci_low=lo, ci_high=hi,
        effect_size_type="Glass's delta" + (" (corrected)" if correct else ""), ci_level=ci_level,
        ci_method=ci_method, df=n_c - 1, correction=j, n_treated=n_t, n_control=n_c,
    )


@finite_or_input_error
def d_from_t(t: float, n_t: float, n_c: float, *, hedges: bool = False, exact: bool = True,
             ci_level: float = 0.95, ci_method: str = "normal") -> EffectSize:
    """Standardized mean difference from an independent-samples (pooled) t statistic.

    ``d = t · sqrt(1/n_t + 1/n_c)`` (metafor ``escalc("SMD", ti=)``; Borenstein et al.
    2009 eq. 4.xx); ``hedges=True`` multiplies by ``J(n_t + n_c - 2)``. Note that
    effectsize's ``t_to_d`` uses the equal-n shortcut ``2t/sqrt(df)`` instead.
    """
    t = finite(t, "t")
    n_t, n_c = check_n(n_t, "n_t"), check_n(n_c, "n_c")
    ci_level = check_level(ci_level)
    check_choice(ci_method, "ci_method", CI_METHODS)
    scale = math.sqrt(1 / n_t + 1 / n_c)
    j = hedges_correction(n_t + n_c - 2, exact=exact) if hedges else None
    return _smd_two_groups(t * scale, 1.0, n_t, n_c, j, "Hedges' g" if hedges else "Cohen's d",
                           ci_level, ci_method, notes=("computed from a t statistic",))


@finite_or_input_error
def g_from_adjusted_difference(difference: float, sd_t: float, n_t: float, sd_c: float, n_c: float, *,
                               r2: float | None = None, n_covariates: int = 0, exact: bool = False,
                               ci_level: float = 0.95) -> EffectSize:
    """WWC effect size from a covariate-adjusted mean difference or regression coefficient.

    ``g = ω · difference / S_p`` where ``S_p`` is the **unadjusted** pooled SD of the
    outcome (WWC Procedures Handbook v4.1 App. E, "adjusted means"). ``exact=False``
    (default) uses the WWC omega; ``exact=True`` the gamma-function J.

    Variance: with ``r2`` (the covariates' R²) ``(1 - R²)(1/n_t + 1/n_c) + g²/(2(N - 2 - q))``
    (WWC 2021 supplement, as tabulated by VIVECampbell ``adj_factors``); without it,
    the unadjusted ``1/n_t + 1/n_c + g²/(2N)``.
    """
    difference = finite(difference, "difference")
    sp = pooled_sd(sd_t, n_t, sd_c, n_c)
    n_t, n_c = float(n_t), float(n_c)
    ci_level = check_level(ci_level)
    q = int(finite(n_covariates, "n_covariates"))
    if q < 0 or n_t + n_c - 2 - q < 1:
        raise InputError(f"`n_covariates` must be between 0 and n_t + n_c - 3, got {n_covariates!r}.")
    j = hedges_correction(n_t + n_c - 2, exact=exact)
    g = j * difference / sp
    if r2 is None:
        var = 1 / n_t + 1 / n_c + g**2 / (2 * (n_t + n_c))
    else:
        r2 = finite(r2, "r2")
        if not 0 <= r2 < 1:
            raise InputError(f"`r2` must lie in [0, 1), got {r2!r}.")
        var = (1 - r2) * (1 / n_t + 1 / n_c) + g**2 / (2 * (n_t + n_c - 2 - q))
    lo, hi = normal_ci(g, math.sqrt(var), ci_level)
    return EffectSize(
        estimate=g, variance=var, std_error=math.sqrt(var), ci_low=lo, ci_high=hi,
        effect_size_type="Hedges' g (WWC, adjusted)", ci_level=ci_level, df=n_t + n_c - 2,
        correction=j, n_treated=n_t, n_control=n_c,
        notes=("adjusted difference divided by the unadjusted pooled SD (WWC rule)",),
    )


@finite_or_input_error
def g_from_regression(coefficient: float, sd_t: float, n_t: float, sd_c: float, n_c: float, *,
                      r2: float | None = None, n_covariates: int = 0, exact: bool = False,
                      ci_level: float = 0.95) -> EffectSize:
    """WWC effect size from a treatment regression coefficient (same rule as an adjusted difference)."""
    coefficient = finite(coefficient, "coefficient")
    return g_from_adjusted_difference(coefficient, sd_t, n_t, sd_c, n_c, r2=r2, n_covariates=n_covariates,
                                      exact=exact, ci_level=ci_level)


@finite_or_input_error
def prepost_smcr(mean_post: float, mean_pre: float, sd_pre: float, n: float, r: float, *,
                 ci_level: float = 0.95) -> EffectSize:
    """Single-group pre-post change standardized by the pretest SD (raw-score metric).

    ``g = J(n - 1)(mean_post - mean_pre)/sd_pre``, variance ``2(1 - r)/n + g²/(2n)``
    (Becker 1988; metafor ``escalc(measure="SMCR")``).
    """
    mean_post, mean_pre = finite(mean_post, "mean_post"), finite(mean_pre, "mean_pre")
    sd_pre, n = check_sd(sd_pre, "sd_pre"), check_n(n, "n", 3)
    r, ci_level = check_correlation(r, "r"), check_level(ci_level)
    j = hedges_correction(n - 1)
    g = j * (mean_post - mean_pre) / sd_pre
    var = 2 * (1 - r) / n + g**2 / (2 * n)
    lo, hi = normal_ci(g, math.sqrt(var), ci_level)
    return EffectSize(g, var, math.sqrt(var), lo, hi, "standardized mean change (raw-score SD)",
                      ci_level=ci_level, df=n - 1, correction=j, n_treated=n)


@finite_or_input_error
def prepost_smcc(mean_1: float, mean_2: float, sd_1: float, sd_2: float, n: float, r: float, *,
                 ci_level: float = 0.95) -> EffectSize:
    """Paired/pre-post change standardized by the SD of the change scores.

    ``g = J(n - 1)(mean_1 - mean_2)/sqrt(sd_1² + sd_2² - 2 r sd_1 sd_2)``, variance
    ``1/n + g²/(2n)`` (Gibbons et al. 1993; metafor ``escalc(measure="SMCC")``).
    """
    mean_1, mean_2 = finite(mean_1, "mean_1"), finite(mean_2, "mean_2")
    sd_1, sd_2, n = check_sd(sd_1, "sd_1"), check_sd(sd_2, "sd_2"), check_n(n, "n", 3)
    r, ci_level = check_correlation(r, "r"), check_level(ci_level)
    sd_change = math.sqrt(sd_1**2 + sd_2**2 - 2 * r * sd_1 * sd_2)
    j = hedges_correction(n - 1)
    g = j * (mean_1 - mean_2) / sd_change
    var = 1 / n + g**2 / (2 * n)
    lo, hi = normal_ci(g, math.sqrt(var), ci_level)
    return EffectSize(g, var, math.sqrt(var), lo, hi, "standardized mean change (change-score SD)",
                      ci_level=ci_level, df=n - 1, correction=j, n_treated=n)


@finite_or_input_error
def paired_d(pre: Any, post: Any, *, kind: str = "d_z", ci_level: float = 0.95) -> EffectSize:
    """Within-person standardized difference ``post - pre`` from raw paired scores.

    kind "d_z": mean(diff)/sd(diff), noncentral-t CI on ``t = d_z sqrt(n)``, df n - 1
    (Lakens 2013 eq. 7; effectsize ``cohens_d(paired=TRUE)``);
    "d_rm": ``d_z sqrt(2(1 - r))`` (Lakens 2013 eq. 9);
    "d_av": mean(diff)/((sd_pre + sd_post)/2) (Lakens 2013 eq. 10).
    Variance of d_z: ``1/n + d_z²/(2n)``; d_rm and d_av use the normal CI with the
    SMCR-type variance ``2(1 - r)/n + d²/(2n)``.
    """
    from plmresearch.validation import array_1d, same_length

    x, y = array_1d(pre, "pre"), array_1d(post, "post")
    same_length([x, y], ["pre", "post"])
    kind = check_choice(kind, "kind", ("d_z", "d_rm", "d_av"))
    ci_level = check_level(ci_level)
    n = len(x)
    if n < 3:
        raise InputError(f"`pre`/`post` need at least 3 pairs, got {n}.")
    diff = y - x
    sd_diff = float(np.std(diff, ddof=1))
    if sd_diff == 0:
        raise InputError("`post - pre` has zero variance; a standardized change is undefined.")
    d_z = float(diff.mean()) / sd_diff
    if kind != "d_z":
        for name, v in (("pre", x), ("post", y)):
            if np.ptp(v) == 0:
                raise InputError(f"`{name}` is constant, so the pre-post correlation r (and {kind}) is undefined; "
                                 "use kind='d_z', which needs only the differences.")
    r = float(np.corrcoef(x, y)[0, 1])
    if kind == "d_z":
        var = 1 / n + d_z**2 / (2 * n)
        lo, hi = noncentral_t_ci(d_z * math.sqrt(n), n - 1, ci_level)
        return EffectSize(d_z, var, math.sqrt(var), lo / math.sqrt(n), hi / math.sqrt(n), "Cohen's d_z",
                          ci_level=ci_level, ci_method="noncentral_t", df=n - 1, n_treated=n)
    if kind == "d_rm":
        est = d_z * math.sqrt(2 * (1 - r))
    else:
        est = float(diff.mean()) / ((np.std(x, ddof=1) + np.std(y, ddof=1)) / 2)
    var = 2 * (1 - r) / n + est**2 / (2 * n)
    lo, hi = normal_ci(est, math.sqrt(var), ci_level)
    return EffectSize(est, var, math.sqrt(var), lo, hi, f"Cohen's {kind}", ci_level=ci_level, df=n - 1,
                      n_treated=n, extra={"r": r})


# ----------------------------------------------------------------------------- from data


def group_summaries(df: pd.DataFrame, outcome: str, treatment: str) -> tuple[dict[str, float], tuple[str, ...]]:
    """Mean, SD and n of ``outcome`` by a 0/1 ``treatment`` column (rows with a missing outcome dropped)."""
    require_frame(df)
    df = require_column_args(df, {"outcome": outcome, "treatment": treatment})
    require_numeric(df, outcome)
    data = df[[outcome, treatment]]
    miss = int(data[outcome].isna().sum())
    notes: tuple[str, ...] = ()
    if miss:
        data = data[data[outcome].notna()]
        notes = (f"{miss} row(s) with a missing '{outcome}' dropped",)
    if not len(data):
        raise InputError(f"Outcome '{outcome}' is missing in every row; there is nothing to compare.")
    z = binary_indicator(data, treatment)
    y = data[outcome].to_numpy(dtype=float)
    require_scale(y, outcome, "Outcome")
    yt, yc = y[z == 1], y[z == 0]
    for arm, v in (("treatment", yt), ("control", yc)):
        if len(v) < 2:
            raise InputError(f"The {arm} arm has {len(v)} non-missing '{outcome}' value(s); at least 2 are needed.")
    require_outcome_variation(y, z, outcome)
    stats_ = dict(mean_t=yt.mean(), sd_t=yt.std(ddof=1), n_t=len(yt),
                  mean_c=yc.mean(), sd_c=yc.std(ddof=1), n_c=len(yc))
    return {k: float(v) for k, v in stats_.items()}, notes


def _with_notes(es: EffectSize, notes: tuple[str, ...]) -> EffectSize:
    if not notes:
        return es
    from dataclasses import replace

    return replace(es, notes=es.notes + notes)


def hedges_g_from_data(df: pd.DataFrame, outcome: str, treatment: str, *, exact: bool = True,
                       ci_level: float = 0.95, ci_method: str = "normal") -> EffectSize:
    """Hedges' g of ``outcome`` between ``treatment == 1`` and ``treatment == 0`` rows (see :func:`hedges_g`)."""
    s, notes = group_summaries(df, outcome, treatment)
    return _with_notes(hedges_g(**s, exact=exact, ci_level=ci_level, ci_method=ci_method), notes)


def cohens_d_from_data(df: pd.DataFrame, outcome: str, treatment: str, *, ci_level: float = 0.95,
                       ci_method: str = "normal") -> EffectSize:
    """Cohen's d of ``outcome`` between treatment arms (see :func:`cohens_d`)."""
    s, notes = group_summaries(df, outcome, treatment)
    return _with_notes(cohens_d(**s, ci_level=ci_level, ci_method=ci_method), notes)


def glass_delta_from_data(df: pd.DataFrame, outcome: str, treatment: str, *, correct: bool = False,
                          ci_level: float = 0.95, ci_method: str = "normal") -> EffectSize:
    """Glass's delta of ``outcome`` (control-group SD; see :func:`glass_delta`)."""
    s, notes = group_summaries(df, outcome, treatment)
    return _with_notes(glass_delta(**s, correct=correct, ci_level=ci_level, ci_method=ci_method), notes)
