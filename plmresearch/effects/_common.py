"""Private helpers of :mod:`plmresearch.effects`: the result type and input checks."""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from plmresearch.errors import InputError
from plmresearch.validation import finite, probability

EFFECT_SIZE_COLUMNS = [
    "effect_size_type",
    "estimate",
    "variance",
    "std_error",
    "ci_low",
    "ci_high",
    "ci_level",
    "ci_method",
    "df",
    "correction",
    "n_treated",
    "n_control",
]


@dataclass(frozen=True)
class EffectSize:
    """A standardized effect with its sampling variance and confidence interval.

    Attributes
    ----------
    estimate : float
        The effect size (e.g. Hedges' g).
    variance, std_error : float
        Large-sample sampling variance and its square root.
    ci_low, ci_high, ci_level : float
        Confidence interval and its level.
    ci_method : str
        ``"normal"`` (estimate ± z·SE) or ``"noncentral t"``.
    effect_size_type : str
        What the number is: "Cohen's d", "Hedges' g", "Glass's delta", "Cox index", ...
    df : float or None
        Degrees of freedom used by the small-sample correction / noncentral t.
    correction : float or None
        Small-sample correction factor applied (J or the WWC omega); None if none.
    """

    estimate: float
    variance: float
    std_error: float
    ci_low: float
    ci_high: float
    effect_size_type: str
    ci_level: float = 0.95
    ci_method: str = "normal"
    df: float | None = None
    correction: float | None = None
    n_treated: float | None = None
    n_control: float | None = None
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ci(self) -> tuple[float, float]:
        return (self.ci_low, self.ci_high)

    def __float__(self) -> float:
        return float(self.estimate)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        d["notes"] = "; ".join(self.notes)
        return d

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy table."""
        d = self.to_dict()
        return pd.DataFrame([{c: d.get(c) for c in EFFECT_SIZE_COLUMNS + ["notes"]}])

    def summary(self) -> str:
        lvl = round(self.ci_level * 100)
        s = (
            f"{self.effect_size_type} = {self.estimate:.4f} (SE {self.std_error:.4f}), "
            f"{lvl}% CI [{self.ci_low:.4f}, {self.ci_high:.4f}] ({self.ci_method})"
        )
        return "\n".join([s] + [f"note: {n}" for n in self.notes])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        table = self.to_frame().T.rename(columns={0: "value"})
        return f"<p><b>{html.escape(self.effect_size_type)}</b></p>" + table.to_html(
            float_format=lambda x: f"{x:.4g}", na_rep=""
        )


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


def check_level(value: Any, name: str = "ci_level") -> float:
    return probability(value, name, open_low=True, open_high=True)


def check_variance(value: Any, name: str, allow_zero: bool = False) -> float:
    v = finite(value, name)
    if v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"`{name}` must be a {'non-negative' if allow_zero else 'positive'} variance, got {value!r}.")
    return v


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InputError(f"`{name}` must be one of {list(choices)}, got {value!r}.")
    return value


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
