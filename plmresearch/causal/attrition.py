"""Attrition in randomized experiments: Lee (2009) bounds and inverse-probability-of-response weights.

When outcomes are missing at different rates in the two arms, the respondents are no longer a
randomized comparison. Two standard answers:

* :func:`lee_bounds` -- Lee, D. S. (2009). Training, Wages, and Sample Selection: Estimating
  Sharp Bounds on Treatment Effects. *Review of Economic Studies* 76(3), 1071-1102. Assuming
  monotone response (the offer never makes anyone who would respond stop responding), trim the
  arm with the higher response rate by the share p = (q_hi - q_lo) / q_hi of its respondents,
  from the top (lower bound) or the bottom (upper bound) of its outcome distribution, and
  compare means. Sample estimator as Lee's eq. (6)-(7): trimming at the type-1 sample quantile
  (the smallest value whose empirical CDF reaches the share kept), keeping every respondent
  on the kept side of it. Inference: bootstrap SEs of each bound (units resampled within arm,
  seeded) and the Imbens & Manski (2004, Econometrica 72(6)) interval for the effect.
* :func:`ipw_attrition` -- weight respondents by the inverse of their estimated probability of
  responding given baseline characteristics (a logit per arm), which removes attrition bias
  when response is ignorable given those characteristics (missing at random; Wooldridge 2007,
  J. Econometrics 141(2)). The SE treats the weights as fixed (Stata ``[pw=]`` / estimatr
  ``weights =``), which Wooldridge (2007) shows is conservative for estimated response weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from plmresearch.causal._prepare import as_list, check_ci_level
from plmresearch.errors import InputError, ModelError
from plmresearch.results import Estimate, Record, level_label
from plmresearch.validation import (
    binary_indicator,
    numeric_values,
    require_column_args,
    require_frame,
    require_numeric,
    require_outcome_variation,
    require_scale,
)
from plmresearch.validation import check_seed


@dataclass(frozen=True)
class LeeBounds(Record):
    """Lee (2009) sharp bounds on the effect among always-respondents.

    Attributes
    ----------
    lower, upper : float
        The bounds (mean difference treated - control after trimming).
    trimming_proportion : float
        Share p of the trimmed arm's respondents removed.
    trimmed_arm : str
        "treatment" or "control" (the arm with the higher response rate).
    response_treated, response_control : float
        Shares of each arm with an observed outcome.
    se_lower, se_upper : float
        Bootstrap SEs of the bounds.
    ci_low, ci_high, ci_level : float
        Imbens-Manski confidence interval for the effect.
    """

    lower: float
    upper: float
    trimming_proportion: float
    trimmed_arm: str
    response_treated: float
    response_control: float
    n_treated: int
    n_control: int
    se_lower: float
    se_upper: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_boot: int
    method: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    _columns: ClassVar[list[str]] = [
        "method", "lower", "upper", "se_lower", "se_upper", "ci_low", "ci_high", "ci_level", "trimming_proportion",
        "trimmed_arm", "response_treated", "response_control", "n_treated", "n_control", "n_boot", "notes",
    ]

    def _summary_lines(self) -> list[str]:
        return [
            self.method,
            f"  response: treated {self.response_treated:.3f}, control {self.response_control:.3f}; "
            f"trimmed {self.trimming_proportion:.1%} of the {self.trimmed_arm} respondents",
            f"  bounds  : [{self.lower:.4f}, {self.upper:.4f}]  (bootstrap SE {self.se_lower:.4f}, "
            f"{self.se_upper:.4f}; {self.n_boot} draws)",
            f"  {level_label(self.ci_level)} Imbens-Manski CI: [{self.ci_low:.4f}, {self.ci_high:.4f}]",
        ]


def _trimmed_mean(y: np.ndarray, p: float, drop: str) -> float:
    """Mean of y without its top (drop='top') or bottom share p, Lee (2009) eq. (6)-(7).

    Keeps y <= y_(1-p) (top trimmed) or y >= y_(p) (bottom trimmed), with y_(a) the smallest
    value whose empirical CDF is >= a (resp. the largest value with at least a share 1 - a at
    or above it).
    """
    if p <= 0:
        return float(y.mean())
    s = np.sort(y)
    n = len(s)
    if drop == "top":
        cut = s[int(np.ceil((1 - p) * n - 1e-9)) - 1]
        return float(y[y <= cut].mean())
    cut = s[n - int(np.ceil((1 - p) * n - 1e-9))]
    return float(y[y >= cut].mean())


def _bounds(y: np.ndarray, obs: np.ndarray, t: np.ndarray) -> tuple[float, float, float, str]:
    q1, q0 = obs[t == 1].mean(), obs[t == 0].mean()
    y1, y0 = y[(t == 1) & obs], y[(t == 0) & obs]
    if q1 >= q0:
        p = (q1 - q0) / q1
        return (_trimmed_mean(y1, p, "top") - y0.mean(), _trimmed_mean(y1, p, "bottom") - y0.mean(), p, "treatment")
    p = (q0 - q1) / q0
    return (y1.mean() - _trimmed_mean(y0, p, "bottom"), y1.mean() - _trimmed_mean(y0, p, "top"), p, "control")


def _imbens_manski(lo, hi, se_lo, se_hi, level):
    """Imbens & Manski (2004) CI: C solves Phi(C + (hi - lo) / max(se)) - Phi(-C) = level."""
    delta = max(hi - lo, 0.0) / max(se_lo, se_hi)
    f = lambda c: stats.norm.cdf(c + delta) - stats.norm.cdf(-c) - level  # noqa: E731
    c = optimize.brentq(f, 0.0, 10.0)
    return lo - c * se_lo, hi + c * se_hi


def lee_bounds(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    observed: str | None = None,
    n_boot: int = 500,
    ci_level: float = 0.95,
    random_seed: int | None = 0,
) -> LeeBounds:
    """Lee (2009) trimming bounds for an experiment with differential attrition.

    Lee, D. S. (2009), Review of Economic Studies 76(3), eq. (6)-(7); Imbens & Manski (2004)
    interval from bootstrap SEs of the two bounds.

    Parameters
    ----------
    df : one row per randomized unit, attriters included.
    outcome : outcome column, missing (NaN) for attriters.
    treatment : 0/1 randomized assignment.
    observed : optional 0/1 column saying who responded (default: outcome not missing).
    n_boot : bootstrap draws for the SEs and the Imbens-Manski CI (0: no inference).
    random_seed : seed of the bootstrap.
    """
    ci_level = check_ci_level(ci_level)
    random_seed = check_seed(random_seed)
    require_frame(df)
    df = require_column_args(df, {"outcome": outcome, "treatment": treatment, "observed": observed})
    require_numeric(df, outcome)
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0 or n_boot == 1:
        raise InputError(f"`n_boot` must be 0 or an integer >= 2, got {n_boot!r}.")
    if n_boot > 1_000_000:
        raise InputError(f"`n_boot` = {n_boot} bootstrap draws is far more than needed (1000 to 10000 are typical).")
    t = binary_indicator(df, treatment).astype(int)
    y = numeric_values(df[outcome], outcome)
    require_scale(y, outcome, "Outcome")
    if observed is None:
        obs = ~np.isnan(y)
    else:
        obs = binary_indicator(df, observed).astype(bool)
        if np.isnan(y[obs]).any():
            raise InputError(f"'{observed}' marks {int(np.isnan(y[obs]).sum())} unit(s) as observed whose "
                             f"'{outcome}' is missing.")
    for arm, name in ((1, "treatment"), (0, "control")):
        if (t == arm).sum() == 0:
            raise InputError(f"The {name} arm is empty.")
        if (obs & (t == arm)).sum() < 2:
            raise InputError(f"The {name} arm has fewer than 2 units with an observed '{outcome}'; "
                             "bounds need respondents in both arms.")
    require_outcome_variation(y[obs], t[obs], outcome)
    lo, hi, p, arm = _bounds(y, obs, t)
    notes = []
    if p == 0:
        notes.append("equal response rates: nothing trimmed, the bounds are the respondents' difference in means.")
    se_lo = se_hi = float("nan")
    ci = (float("nan"), float("nan"))
    if n_boot:
        rng = np.random.default_rng(check_seed(random_seed))
        idx1, idx0 = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
        draws = np.empty((n_boot, 2))
        for b in range(n_boot):
            i = np.concatenate([rng.choice(idx1, len(idx1)), rng.choice(idx0, len(idx0))])
            if obs[i][t[i] == 1].sum() < 1 or obs[i][t[i] == 0].sum() < 1:
                draws[b] = np.nan
                continue
            draws[b, :2] = _bounds(y[i], obs[i], t[i])[:2]
        ok = int(np.isfinite(draws).all(axis=1).sum())
        if ok >= 2:
            se_lo, se_hi = np.nanstd(draws, axis=0, ddof=1)
            ci = _imbens_manski(lo, hi, se_lo, se_hi, ci_level)
        if not (np.isfinite([se_lo, se_hi]).all() and np.isfinite(ci).all()):
            notes.append(f"{ok} of {n_boot} bootstrap draws had respondents in both arms and the standard errors "
                         "or the interval are not finite (NaN); check the outcome and raise `n_boot`.")
    else:
        notes.append("n_boot=0: no bootstrap, so standard errors and the confidence interval are NaN.")
    return LeeBounds(
        lower=float(lo), upper=float(hi), trimming_proportion=float(p), trimmed_arm=arm,
        response_treated=float(obs[t == 1].mean()), response_control=float(obs[t == 0].mean()),
        n_treated=int((t == 1).sum()), n_control=int((t == 0).sum()),
        se_lower=float(se_lo), se_upper=float(se_hi), ci_low=float(ci[0]), ci_high=float(ci[1]),
        ci_level=ci_level, n_boot=int(n_boot),
        method=f"Lee (2009) trimming bounds on the effect of '{treatment}' on '{outcome}' (always-respondents)",
        notes=tuple(notes),
    )


def response_weights(
    df: pd.DataFrame,
    treatment: str,
    predictors: Sequence[str],
    *,
    observed: str | None = None,
    outcome: str | None = None,
    by_arm: bool = True,
) -> pd.Series:
    """Inverse probabilities of response from a logit of response on ``predictors`` (per arm).

    Inverse-probability weighting for missing outcomes (Wooldridge 2007, J. Econometrics 141(2));
    the logit is statsmodels' ``Logit``.

    Returns 1 / P(respond | predictors, arm) for respondents and NaN for attriters, indexed as
    ``df``. Response is ``observed`` (0/1) or, by default, ``outcome`` not missing.
    """
    import statsmodels.api as sm

    require_frame(df)
    preds = as_list(predictors, "predictors")
    if not preds:
        raise InputError("`predictors` is empty: name the baseline columns that predict response.")
    if (observed is None) == (outcome is None):
        raise InputError("Pass exactly one of `observed` (0/1 column) or `outcome` (missing = attrited).")
    df = require_column_args(df, {"treatment": treatment, "observed": observed, "outcome": outcome, "predictors": preds})
    for c in preds:
        require_scale(numeric_values(df[c], c), c, "Predictor")
        if df[c].isna().any():
            raise InputError(f"Predictor '{c}' has {int(df[c].isna().sum())} missing value(s); the response "
                             "model needs every randomized unit. Impute (e.g. mean plus a missingness "
                             "indicator) first.")
    t = binary_indicator(df, treatment).astype(int)
    r = (~df[outcome].isna()).to_numpy() if observed is None else binary_indicator(df, observed).astype(bool)
    X = sm.add_constant(np.column_stack([numeric_values(df[c], c) for c in preds]), has_constant="add")
    if not by_arm:
        X = np.column_stack([X, t])
    p = np.empty(len(df))
    groups = [t == 1, t == 0] if by_arm else [np.ones(len(df), bool)]
    for g in groups:
        if r[g].all():
            p[g] = 1.0
            continue
        if not r[g].any():
            what = f"`outcome` '{outcome}' is missing" if observed is None else f"`observed` '{observed}' is 0"
            raise ModelError(f"No unit responded in an arm ({what} for all of them); response weights are undefined.")
        try:
            fit = sm.Logit(r[g].astype(float), X[g]).fit(disp=0, maxiter=200)
        except Exception as err:  # perfect separation, singular matrix
            raise ModelError(f"The response logit failed ({type(err).__name__}: {err}); use fewer predictors.") from None
        p[g] = fit.predict(X[g])
    if np.any(p[r] < 1e-6):
        raise ModelError("Some respondents have an estimated response probability near 0; the weights "
                         "would explode. Use fewer or coarser predictors.")
    w = np.where(r, 1.0 / p, np.nan)
    return pd.Series(w, index=df.index, name="response_weight")


def ipw_attrition(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    predictors: Sequence[str],
    covariates: Sequence[str] = (),
    *,
    absorb: str | None = None,
    cluster: str | None = None,
    se_type: str | None = None,
    by_arm: bool = True,
    ci_level: float = 0.95,
) -> Estimate:
    """Effect of ``treatment`` among respondents weighted by inverse probabilities of response
    (Wooldridge 2007, J. Econometrics 141(2)).

    The response model is a logit of "outcome observed" on ``predictors`` within each arm
    (:func:`response_weights`); the outcome model is the weighted regression of ``outcome`` on
    ``treatment`` and ``covariates`` (with fixed effects of ``absorb``), as
    :func:`plmresearch.causal.fe_regression`. ``extra`` adds ``unweighted`` (the same model
    without weights) and ``weights`` (summary of the weights).
    """
    from plmresearch.causal.fixed_effects import fe_regression

    covs = as_list(covariates)
    require_frame(df)
    df = require_column_args(df, {"outcome": outcome, "treatment": treatment, "covariates": covs})
    w = response_weights(df, treatment, predictors, outcome=outcome, by_arm=by_arm)
    data = df.assign(_ipw=w)
    resp = data[data[outcome].notna()]
    if resp[covs].isna().any().any():
        raise InputError("A covariate is missing for some respondents; fill it in or drop it from `covariates`.")
    est = fe_regression(resp, outcome, [treatment, *covs], absorb=absorb, cluster=cluster, se_type=se_type,
                        weights="_ipw", ci_level=ci_level)
    raw = fe_regression(resp, outcome, [treatment, *covs], absorb=absorb, cluster=cluster, se_type=se_type,
                        ci_level=ci_level)
    extra = dict(est.extra)
    extra["unweighted"] = raw
    extra["weights"] = w[w.notna()].describe()
    return Estimate(
        **{k: v for k, v in est.to_dict().items() if k in Estimate.__dataclass_fields__ and k not in ("extra", "method", "notes")},
        method=f"inverse-probability-of-response weighted {est.method} (response logit on {list(predictors)}"
        f"{' per arm' if by_arm else ''})",
        notes=est.notes + ("SE treats the response weights as known (conservative; Wooldridge 2007).",),
        extra=extra,
    )
