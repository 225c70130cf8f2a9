"""Effect sizes users bring to a meta-analysis, as metafor's ``escalc`` computes them (metafor 3.8).

Each function returns an :class:`~plmresearch.effects.EffectSize` with the large-sample variance
and a normal-theory CI; the measure code of ``escalc`` is in ``effect_size_type``.

=====================  ==========================================================  =========
function               estimate / variance                                         escalc
=====================  ==========================================================  =========
mean_difference        ``m1 - m2``; ``sd1²/n1 + sd2²/n2``                           "MD"
log_risk_ratio         ``log(a/n1) - log(c/n2)``; ``1/a - 1/n1 + 1/c - 1/n2``         "RR"
log_ratio_of_means     ``log(m1/m2)``; ``sd1²/(n1 m1²) + sd2²/(n2 m2²)``             "ROM"
logit_proportion       ``log(p/(1-p))``; ``1/x + 1/(n - x)``                         "PLO"
ft_proportion          ``(asin√(x/(n+1)) + asin√((x+1)/(n+1)))/2``; ``1/(4n+2)``     "PFT"
correlation            ``r``; ``(1 - r²)²/(n - 1)``                                  "COR"
fisher_z               ``atanh r``; ``1/(n - 3)``                                    "ZCOR"
=====================  ==========================================================  =========

For the count measures a zero cell gets 1/2 added to every cell of that table (escalc's
``add = 1/2, to = "only0"``). Conversions: :func:`d_to_eta2`/:func:`eta2_to_d` (Cohen 1988,
eq. 2.2.19 via ``r``: ``η² = d²/(d² + 4)`` for two equal groups), :func:`cles_from_d` (McGraw &
Wong 1992: ``Φ(d/√2)``), :func:`d_from_t_total` / :func:`d_from_f_total` (only the total N is
known: equal groups ``n1 = n2 = N/2``, i.e. ``d = 2t/√N`` with Hedges' correction, as
escalc("SMD", ti = t, n1i = N/2, n2i = N/2)).
"""

from __future__ import annotations

import math

from scipy import stats

from plmresearch.effects._common import EffectSize, check_level, check_n, check_sd, normal_ci
from plmresearch.errors import InputError
from plmresearch.validation import finite
from plmresearch.validation import finite_or_input_error


def _es(est: float, var: float, kind: str, ci_level: float, n1=None, n2=None) -> EffectSize:
    lo, hi = normal_ci(est, math.sqrt(var), ci_level)
    return EffectSize(estimate=est, variance=var, std_error=math.sqrt(var), ci_low=lo, ci_high=hi,
                      effect_size_type=kind, ci_level=ci_level, ci_method="normal", n_treated=n1, n_control=n2)


@finite_or_input_error
def mean_difference(m1: float, sd1: float, n1: float, m2: float, sd2: float, n2: float, *,
                    ci_level: float = 0.95) -> EffectSize:
    """Raw (unstandardized) mean difference with heteroscedastic variance (escalc "MD")."""
    m1, m2 = finite(m1, "m1"), finite(m2, "m2")
    sd1, sd2 = check_sd(sd1, "sd1", allow_zero=True), check_sd(sd2, "sd2", allow_zero=True)
    n1, n2 = check_n(n1, "n1", 1), check_n(n2, "n2", 1)
    return _es(m1 - m2, sd1**2 / n1 + sd2**2 / n2, "MD", check_level(ci_level), n1, n2)


def _counts(a, b, c, d) -> tuple[float, float, float, float]:
    cells = []
    for v, name in zip((a, b, c, d), ("a", "b", "c", "d")):
        v = finite(v, name)
        if v < 0:
            raise InputError(f"Cell count `{name}` must be >= 0, got {v!r}.")
        cells.append(v)
    if cells[0] + cells[1] == 0 or cells[2] + cells[3] == 0:
        raise InputError("Each group needs at least one participant (a + b > 0 and c + d > 0).")
    if min(cells) == 0:
        cells = [v + 0.5 for v in cells]
    return tuple(cells)  # type: ignore[return-value]


@finite_or_input_error
def log_risk_ratio(a: float, b: float, c: float, d: float, *, ci_level: float = 0.95) -> EffectSize:
    """Log risk ratio from a 2x2 table: ``a``/``b`` events/non-events in group 1, ``c``/``d`` in group 2
    (escalc "RR")."""
    a, b, c, d = _counts(a, b, c, d)
    n1, n2 = a + b, c + d
    if a == 0 or c == 0:
        raise InputError("The log risk ratio needs events in both groups.")
    return _es(math.log(a / n1) - math.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2, "RR (log)",
               check_level(ci_level), n1, n2)


@finite_or_input_error
def log_ratio_of_means(m1: float, sd1: float, n1: float, m2: float, sd2: float, n2: float, *,
                       ci_level: float = 0.95) -> EffectSize:
    """Log ratio of means (response ratio; Hedges, Gurevitch & Curtis 1999; escalc "ROM")."""
    m1, m2 = finite(m1, "m1"), finite(m2, "m2")
    if m1 <= 0 or m2 <= 0:
        raise InputError(f"The ratio of means needs positive means, got m1 = {m1!r}, m2 = {m2!r}.")
    sd1, sd2 = check_sd(sd1, "sd1", allow_zero=True), check_sd(sd2, "sd2", allow_zero=True)
    n1, n2 = check_n(n1, "n1", 1), check_n(n2, "n2", 1)
    return _es(math.log(m1 / m2), sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2), "ROM (log)",
               check_level(ci_level), n1, n2)


def _xn(x, n) -> tuple[float, float]:
    x, n = finite(x, "x"), check_n(n, "n", 1)
    if not 0 <= x <= n:
        raise InputError(f"`x` (events) must be between 0 and n = {n}, got {x!r}.")
    return x, n


@finite_or_input_error
def logit_proportion(x: float, n: float, *, ci_level: float = 0.95) -> EffectSize:
    """Logit of a proportion ``x/n`` (escalc "PLO"); 1/2 is added to x and n - x when either is 0."""
    x, n = _xn(x, n)
    if x == 0 or x == n:
        x, n = x + 0.5, n + 1
    p = x / n
    return _es(math.log(p / (1 - p)), 1 / (n * p) + 1 / (n * (1 - p)), "PLO", check_level(ci_level))


@finite_or_input_error
def ft_proportion(x: float, n: float, *, ci_level: float = 0.95) -> EffectSize:
    """Freeman-Tukey double-arcsine transformed proportion (escalc "PFT")."""
    x, n = _xn(x, n)
    est = 0.5 * (math.asin(math.sqrt(x / (n + 1))) + math.asin(math.sqrt((x + 1) / (n + 1))))
    return _es(est, 1 / (4 * n + 2), "PFT", check_level(ci_level))


def _rn(r, n) -> tuple[float, float]:
    r = finite(r, "r")
    if not -1 < r < 1:
        raise InputError(f"A correlation must lie strictly between -1 and 1, got {r!r}.")
    return r, check_n(n, "n", 4)


@finite_or_input_error
def correlation(r: float, n: float, *, ci_level: float = 0.95) -> EffectSize:
    """Raw correlation coefficient with its large-sample variance (escalc "COR")."""
    r, n = _rn(r, n)
    return _es(r, (1 - r**2) ** 2 / (n - 1), "COR", check_level(ci_level))


@finite_or_input_error
def fisher_z(r: float, n: float, *, ci_level: float = 0.95) -> EffectSize:
    """Fisher's r-to-z transformed correlation (escalc "ZCOR")."""
    r, n = _rn(r, n)
    return _es(math.atanh(r), 1 / (n - 3), "ZCOR", check_level(ci_level))


@finite_or_input_error
def z_to_r(z: float) -> float:
    """Back-transform Fisher's z to r (``tanh``; metafor ``transf.ztor``)."""
    return math.tanh(finite(z, "z"))


@finite_or_input_error
def d_to_eta2(d: float) -> float:
    """η² of a two-group comparison with equal groups: ``d²/(d² + 4)`` (Cohen 1988; = r²)."""
    d = finite(d, "d")
    return d**2 / (d**2 + 4)


@finite_or_input_error
def eta2_to_d(eta2: float) -> float:
    """``d = 2 sqrt(η²/(1 - η²))`` (inverse of :func:`d_to_eta2`; the sign is not recoverable)."""
    eta2 = finite(eta2, "eta2")
    if not 0 <= eta2 < 1:
        raise InputError(f"`eta2` must be in [0, 1), got {eta2!r}.")
    return 2 * math.sqrt(eta2 / (1 - eta2))


@finite_or_input_error
def cles_from_d(d: float) -> float:
    """Common-language effect size (probability of superiority) under normality with equal variances:
    ``Φ(d/√2)`` (McGraw & Wong 1992)."""
    return float(stats.norm.cdf(finite(d, "d") / math.sqrt(2)))


@finite_or_input_error
def d_from_t_total(t: float, n_total: float, *, ci_level: float = 0.95) -> EffectSize:
    """Hedges' g from an independent-samples t when only the total N is reported (equal groups assumed):
    ``d = 2t/√N``, ``g = J(N - 2) d``, ``v = 4/N + g²/(2N)`` (escalc("SMD", ti = t, n1i = N/2, n2i = N/2))."""
    from plmresearch.effects.smd import hedges_correction

    t = finite(t, "t")
    n = check_n(n_total, "n_total", 4)
    h = n / 2
    g = hedges_correction(n - 2, exact=True) * t * math.sqrt(2 / h)
    return _es(g, 2 / h + g**2 / (2 * n), "Hedges' g (from t, total N)", check_level(ci_level), h, h)


@finite_or_input_error
def d_from_f_total(f: float, n_total: float, *, sign: int = 1, ci_level: float = 0.95) -> EffectSize:
    """Cohen's d from a two-group F(1, N - 2) when only N is reported: ``t = √F`` (the sign must come
    from the report: ``sign = +1`` if group 1 scored higher)."""
    f = finite(f, "F")
    if f < 0:
        raise InputError(f"An F statistic cannot be negative, got {f!r}.")
    if sign not in (1, -1):
        raise InputError(f"`sign` must be +1 or -1, got {sign!r}.")
    return d_from_t_total(sign * math.sqrt(f), n_total, ci_level=ci_level)
