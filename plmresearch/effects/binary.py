"""Effect sizes for binary outcomes and conversions between effect-size metrics.

Sources: metafor ``escalc`` (measures OR, RD, OR2DL, OR2DN; Viechtbauer 2010),
effectsize 0.8 (``d_to_r``, ``r_to_d``, ``oddsratio_to_d``, ``d_to_oddsratio``;
Ben-Shachar et al. 2020), Borenstein et al. (2009, ch. 7), the WWC Cox index
(WWC Procedures Handbook v4.1 App. E; Sánchez-Meca et al. 2003).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from plmresearch.effects._common import EffectSize, check_choice, check_level, check_n, normal_ci
from plmresearch.errors import InputError
from plmresearch.validation import require_column_args, finite, probability
from plmresearch.validation import finite_or_input_error

COX_CONSTANT = 1.65


def _cell(value, name: str) -> float:
    v = finite(value, name)
    if v < 0:
        raise InputError(f"`{name}` is a cell count and must be non-negative, got {value!r}.")
    return v


def _cells(a, b, c, d, add: float) -> tuple[float, float, float, float]:
    a, b, c, d = (_cell(x, n) for x, n in zip((a, b, c, d), ("a", "b", "c", "d")))
    add = finite(add, "add")
    if add < 0:
        raise InputError(f"`add` (the continuity correction) must be >= 0, got {add!r}.")
    if a + b == 0 or c + d == 0:
        raise InputError("Each group needs at least one unit: a + b and c + d must be positive.")
    if min(a, b, c, d) == 0:
        if add <= 0:
            raise InputError("A 2x2 cell is 0, so the log odds ratio is infinite; pass `add=0.5` to add 1/2 to every cell.")
        a, b, c, d = a + add, b + add, c + add, d + add
    return a, b, c, d


@finite_or_input_error
def log_odds_ratio(a: float, b: float, c: float, d: float, *, add: float = 0.5,
                   ci_level: float = 0.95) -> EffectSize:
    """Log odds ratio from a 2x2 table.

    ``a``/``b``: treatment successes/failures; ``c``/``d``: control successes/failures.
    ``log OR = ln(ad/bc)``, variance ``1/a + 1/b + 1/c + 1/d`` (Woolf 1955; metafor
    ``escalc(measure="OR")``). ``add`` is added to every cell only when a cell is 0
    (metafor's default ``to="only0"``).
    """
    a, b, c, d = _cells(a, b, c, d, add)
    ci_level = check_level(ci_level)
    est = math.log(a * d / (b * c))
    var = 1 / a + 1 / b + 1 / c + 1 / d
    lo, hi = normal_ci(est, math.sqrt(var), ci_level)
    return EffectSize(est, var, math.sqrt(var), lo, hi, "log odds ratio", ci_level=ci_level,
                      n_treated=a + b, n_control=c + d)


@finite_or_input_error
def risk_difference(a: float, b: float, c: float, d: float, *, ci_level: float = 0.95) -> EffectSize:
    """Risk difference ``a/(a+b) - c/(c+d)`` with variance ``p1(1-p1)/n1 + p2(1-p2)/n2``
    (metafor ``escalc(measure="RD")``, default ``vtype="LS"``)."""
    a, b, c, d = (_cell(x, n) for x, n in zip((a, b, c, d), ("a", "b", "c", "d")))
    ci_level = check_level(ci_level)
    n1, n2 = a + b, c + d
    if n1 == 0 or n2 == 0:
        raise InputError("Each group needs at least one unit: a + b and c + d must be positive.")
    p1, p2 = a / n1, c / n2
    var = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    lo, hi = normal_ci(p1 - p2, math.sqrt(var), ci_level)
    return EffectSize(p1 - p2, var, math.sqrt(var), lo, hi, "risk difference", ci_level=ci_level,
                      n_treated=n1, n_control=n2)


@finite_or_input_error
def cox_index(p_t: float, p_c: float, n_t: float | None = None, n_c: float | None = None, *,
              small_sample_correction: bool = False, ci_level: float = 0.95) -> EffectSize:
    """WWC Cox index for a dichotomous outcome.

    ``d_Cox = ω · [logit(p_t) - logit(p_c)] / 1.65`` (Cox 1970; WWC Procedures
    Handbook v4.1 App. E). ``small_sample_correction=False`` (default) leaves out ω,
    as baselinr's ``cox_index`` (citing WWC v5.0) does; ``True`` multiplies by the
    WWC ω = 1 - 3/(4N - 9) (needs ``n_t`` and ``n_c``). Whether the current handbook
    applies ω could not be verified against its text.

    With ``n_t`` and ``n_c`` the variance is the log-OR variance
    ``1/(n_t p_t(1-p_t)) + 1/(n_c p_c(1-p_c))`` divided by 1.65² (metafor ``OR2DN``),
    times ω² when corrected; without them variance and CI are NaN.
    """
    p_t = probability(p_t, "p_t", open_low=True, open_high=True)
    p_c = probability(p_c, "p_c", open_low=True, open_high=True)
    ci_level = check_level(ci_level)
    has_n = n_t is not None and n_c is not None
    if (n_t is None) != (n_c is None):
        raise InputError(f"Pass both `n_t` and `n_c` (or neither); got n_t={n_t!r}, n_c={n_c!r}.")
    if has_n:
        n_t, n_c = check_n(n_t, "n_t"), check_n(n_c, "n_c")
    omega = None
    if small_sample_correction:
        if not has_n:
            raise InputError("`small_sample_correction=True` needs `n_t` and `n_c` to compute the WWC omega.")
        omega = 1 - 3 / (4 * (n_t + n_c) - 9)
    lor = math.log(p_t / (1 - p_t)) - math.log(p_c / (1 - p_c))
    est = (omega or 1.0) * lor / COX_CONSTANT
    if has_n:
        var = (1 / (n_t * p_t * (1 - p_t)) + 1 / (n_c * p_c * (1 - p_c))) * (omega or 1.0) ** 2 / COX_CONSTANT**2
        lo, hi = normal_ci(est, math.sqrt(var), ci_level)
    else:
        var = lo = hi = float("nan")
    notes = () if has_n else ("variance and CI are NaN: pass n_t and n_c to compute them",)
    return EffectSize(est, var, math.sqrt(var), lo, hi, "Cox index", ci_level=ci_level, correction=omega,
                      n_treated=n_t, n_control=n_c, notes=notes)


# ----------------------------------------------------------------------------- conversions


@finite_or_input_error
def d_to_r(d: float, n_t: float | None = None, n_c: float | None = None) -> float:
    """Point-biserial r from d: ``r = d / sqrt(d² + a)``.

    ``a = (N² - 2N)/(n_t n_c)`` with group sizes (McGrath & Meyer 2006; effectsize
    ``d_to_r``), ``a = 4`` without them.
    """
    d = finite(d, "d")
    if (n_t is None) != (n_c is None):
        raise InputError("Give both `n_t` and `n_c`, or neither.")
    if n_t is None:
        a = 4.0
    else:
        n_t, n_c = check_n(n_t, "n_t", 1), check_n(n_c, "n_c", 1)
        n = n_t + n_c
        a = (n**2 - 2 * n) / (n_t * n_c)
    return d / math.sqrt(d**2 + a)


@finite_or_input_error
def r_to_d(r: float) -> float:
    """Cohen's d from a correlation: ``d = 2r / sqrt(1 - r²)`` (Rosenthal 1994; effectsize ``r_to_d``)."""
    r = finite(r, "r")
    if not -1 < r < 1:
        raise InputError(f"`r` must lie strictly between -1 and 1, got {r!r}.")
    return 2 * r / math.sqrt(1 - r**2)


@finite_or_input_error
def log_odds_ratio_to_d(log_or: float, variance: float | None = None, *, method: str = "logit"):
    """Convert a log odds ratio to a standardized mean difference.

    method "logit": ``d = ln(OR)·√3/π``, ``v_d = v·3/π²`` (Hasselblad & Hedges 1995;
    metafor ``OR2DL``, effectsize ``oddsratio_to_d``); "cox": ``d = ln(OR)/1.65``,
    ``v_d = v/1.65²`` (metafor ``OR2DN``; the WWC Cox index without ω).
    Returns ``d`` or, with ``variance``, the pair ``(d, v_d)``.
    """
    log_or = finite(log_or, "log_or")
    method = check_choice(method, "method", ("logit", "cox"))
    k = math.sqrt(3) / math.pi if method == "logit" else 1 / COX_CONSTANT
    if variance is None:
        return log_or * k
    v = finite(variance, "variance")
    if v <= 0:
        raise InputError(f"`variance` must be positive, got {variance!r}.")
    return log_or * k, v * k**2


@finite_or_input_error
def d_to_log_odds_ratio(d: float, *, method: str = "logit") -> float:
    """Inverse of :func:`log_odds_ratio_to_d`: ``ln(OR) = d·π/√3`` (logit) or ``1.65·d`` (cox)."""
    d = finite(d, "d")
    method = check_choice(method, "method", ("logit", "cox"))
    return d * math.pi / math.sqrt(3) if method == "logit" else d * COX_CONSTANT


@finite_or_input_error
def odds_ratio_to_d(odds_ratio: float, *, method: str = "logit") -> float:
    """``log_odds_ratio_to_d(log(odds_ratio))``; effectsize ``oddsratio_to_d``."""
    orv = finite(odds_ratio, "odds_ratio")
    if orv <= 0:
        raise InputError(f"`odds_ratio` must be positive, got {odds_ratio!r}.")
    return log_odds_ratio_to_d(math.log(orv), method=method)


@finite_or_input_error
def d_to_odds_ratio(d: float, *, method: str = "logit") -> float:
    """``exp(d·π/√3)`` (effectsize ``d_to_oddsratio``)."""
    return float(np.exp(d_to_log_odds_ratio(d, method=method)))


# ----------------------------------------------------------------------------- from data


def two_by_two(df, outcome: str, treatment: str) -> tuple[int, int, int, int]:
    """Cell counts ``(a, b, c, d)`` of a 0/1 ``outcome`` by a 0/1 ``treatment`` column:
    treatment successes/failures, control successes/failures (rows with a missing outcome dropped)."""
    from plmresearch.validation import binary_indicator, require_column_args, require_frame

    require_frame(df)
    df = require_column_args(df, {"outcome": outcome, "treatment": treatment})
    data = df[[outcome, treatment]].dropna(subset=[outcome])
    if not len(data):
        raise InputError(f"Outcome '{outcome}' is missing in every row; there is nothing to count.")
    y = data[outcome]
    values = set(pd.unique(y))
    if not values <= {0, 1, True, False}:
        raise InputError(f"Outcome column '{outcome}' must be binary (0/1 or False/True); found {sorted(map(str, values))[:10]}.")
    z = binary_indicator(data, treatment)
    yv = y.to_numpy(dtype=float)
    a, b = int(yv[z == 1].sum()), int((1 - yv[z == 1]).sum())
    c, d = int(yv[z == 0].sum()), int((1 - yv[z == 0]).sum())
    return a, b, c, d


def cox_index_from_data(df, outcome: str, treatment: str, *, small_sample_correction: bool = False,
                        ci_level: float = 0.95) -> EffectSize:
    """WWC Cox index of a 0/1 ``outcome`` between treatment arms (see :func:`cox_index`)."""
    a, b, c, d = two_by_two(df, outcome, treatment)
    if min(a, b, c, d) == 0:
        raise InputError(f"'{outcome}' is all 0 or all 1 in an arm (cells {a, b, c, d}); the Cox index is infinite.")
    return cox_index(a / (a + b), c / (c + d), a + b, c + d, small_sample_correction=small_sample_correction,
                     ci_level=ci_level)


def log_odds_ratio_from_data(df, outcome: str, treatment: str, *, add: float = 0.5,
                             ci_level: float = 0.95) -> EffectSize:
    """Log odds ratio of a 0/1 ``outcome`` between treatment arms (see :func:`log_odds_ratio`)."""
    return log_odds_ratio(*two_by_two(df, outcome, treatment), add=add, ci_level=ci_level)


def risk_difference_from_data(df, outcome: str, treatment: str, *, ci_level: float = 0.95) -> EffectSize:
    """Risk difference of a 0/1 ``outcome`` between treatment arms (see :func:`risk_difference`)."""
    return risk_difference(*two_by_two(df, outcome, treatment), ci_level=ci_level)
