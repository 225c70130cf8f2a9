"""Private helpers of :mod:`plmresearch.effects`: input checks and intervals.

:class:`EffectSize` lives in :mod:`plmresearch.results` and is re-exported here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from plmresearch.errors import InputError
from plmresearch.results import EFFECT_SIZE_COLUMNS, EffectSize  # noqa: F401 - re-exported
from plmresearch.validation import check_ci_level as check_level  # noqa: F401 - the one level check
from plmresearch.validation import check_choice, finite, probability  # noqa: F401 - check_choice re-exported

# ----------------------------------------------------------------------------- checks


def check_sd(value: Any, name: str, allow_zero: bool = False) -> float:
    v = finite(value, name)
    if v < 0 or (v == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise InputError(f"`{name}` must be a {kind} standard deviation, got {value!r}.")
    return v


def check_n(value: Any, name: str, minimum: float = 2) -> float:
    """A sample size (may be non-integer, e.g. an effective n) of at least ``minimum``."""
    v = finite(value, name)
    if v < minimum:
        raise InputError(f"`{name}` must be at least {minimum:g}, got {value!r}.")
    return int(v) if v.is_integer() else v


def check_variance(value: Any, name: str, allow_zero: bool = False) -> float:
    v = finite(value, name)
    if v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"`{name}` must be a {'non-negative' if allow_zero else 'positive'} variance, got {value!r}.")
    return v


def check_icc(value: Any, name: str = "icc") -> float:
    return probability(value, name)


def check_correlation(value: Any, name: str) -> float:
    v = finite(value, name)
    if not -1 < v < 1:
        raise InputError(f"`{name}` must lie strictly between -1 and 1, got {value!r}.")
    return v


# ----------------------------------------------------------------------------- intervals


def z_crit(ci_level: float) -> float:
    return float(stats.norm.ppf(0.5 + ci_level / 2))


def normal_ci(est: float, se: float, ci_level: float) -> tuple[float, float]:
    z = z_crit(ci_level)
    return est - z * se, est + z * se


def noncentral_t_ci(t_obs: float, df: float, ci_level: float) -> tuple[float, float]:
    """Confidence limits for the noncentrality parameter of a t statistic.

    Inverts ``F_t(t_obs; df, λ)`` (Steiger & Fouladi 1997; effectsize ``.get_ncp_t``,
    MBESS ``conf.limits.nct``). Returns (λ_L, λ_U).
    """
    a = (1 - ci_level) / 2

    def f(nc: float, target: float) -> float:
        return float(stats.nct.cdf(t_obs, df, nc)) - target

    def solve(target: float, lo: float, hi: float) -> float:
        # F is decreasing in the noncentrality; widen the bracket step by step
        # because nct.cdf is unreliable (NaN) far from t_obs.
        step = 2.0 + abs(t_obs) * 0.25
        for _ in range(80):
            flo, fhi = f(lo, target), f(hi, target)
            if np.isfinite(flo) and np.isfinite(fhi) and flo * fhi <= 0:
                return float(optimize.brentq(f, lo, hi, args=(target,), xtol=1e-13))
            lo, hi = (lo - step, hi) if target > 0.5 else (lo, hi + step)
        raise InputError(f"Could not find the noncentral-t confidence limit for t = {t_obs!r}, df = {df!r}.")

    lo = solve(1 - a, t_obs - 6, t_obs)
    hi = solve(a, t_obs, t_obs + 6)
    return lo, hi


def hedges_j(df: float) -> float:
    """Exact small-sample bias factor J(df) = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2))."""
    # poch(a, 1/2) = Γ(a + 1/2)/Γ(a) avoids the cancellation of lgamma differences at large df
    return float(special.poch((df - 1) / 2, 0.5)) / math.sqrt(df / 2)
