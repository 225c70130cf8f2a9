"""The WWC standardized effect size of a causal estimate, and Estimate assembly (private).

WWC Procedures Handbook v5.0, App. E: g = omega * (adjusted mean difference) / S_pooled,
where S_pooled is the *unadjusted* pooled within-arm SD of the outcome in the analytic
sample and omega = 1 - 3 / (4N - 9). The CI of g is the estimate's CI rescaled by the
same factor (so covariate adjustment and clustering carry over to g).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from plmresearch.effects import hedges_correction, pooled_sd
from plmresearch.results import Estimate

FEW_DF = 4.0
"""Below this many cluster-robust degrees of freedom an estimate carries a note: with small-sample
corrected df under 4 the Type I error can still exceed the nominal level (Tipton 2015, Psychol.
Methods 20(3), the rule robumeta and clubSandwich users follow)."""
EFFECT_SIZE_TYPE = "Hedges' g (WWC: unadjusted pooled SD, omega correction)"


def wwc_scale(y: np.ndarray, t: np.ndarray) -> float | None:
    """omega / S_pooled for outcome y and 0/1 treatment t, or None if undefined."""
    y1, y0 = y[t == 1], y[t == 0]
    if len(y1) < 2 or len(y0) < 2:
        return None
    sd_t, sd_c = float(np.std(y1, ddof=1)), float(np.std(y0, ddof=1))
    if sd_t == 0 and sd_c == 0:
        return None
    sp = pooled_sd(sd_t, len(y1), sd_c, len(y0))
    n = len(y1) + len(y0)
    omega = hedges_correction(n - 2, exact=False) if n > 3 else 1.0
    return omega / sp


def build_estimate(
    *,
    estimate: float,
    std_error: float,
    method: str,
    df: float | None,
    ci_level: float,
    y: np.ndarray | None,
    t: np.ndarray | None,
    n_treated: int | None = None,
    n_control: int | None = None,
    n_clusters: int | None = None,
    notes: Sequence[str] = (),
    extra: dict | None = None,
    null: float = 0.0,
) -> Estimate:
    """Assemble an Estimate: t (df given) or z (df None) CI and test, WWC effect size."""
    est, se = float(estimate), float(std_error)
    alpha = 1 - ci_level
    if df is not None and np.isfinite(df):
        crit = stats.t.ppf(1 - alpha / 2, df)
        sf = lambda x: stats.t.sf(x, df)  # noqa: E731
    else:
        df = None
        crit = stats.norm.ppf(1 - alpha / 2)
        sf = stats.norm.sf
    notes = list(notes)
    if se > 0 and math.isfinite(se):
        stat = (est - null) / se
        p = float(2 * sf(abs(stat)))
    else:
        # the specific checks (outcome variation, clusters per arm, scale) come first; this is the net
        stat, p = float("nan"), float("nan")
        notes.append(f"The standard error is {se:g}: no test statistic or p-value exists (NaN). "
                     "Check for an outcome without variation or a degenerate design.")
    if n_clusters is not None and df is not None and df < FEW_DF:
        notes.append(f"Only {n_clusters} clusters: the cluster-robust test has {df:.2g} degrees of freedom, so the "
                     "interval is wide and its coverage rests on few clusters; a permutation test "
                     "(permutation_test(..., cluster=...)) makes no large-sample assumption.")
    lo, hi = est - crit * se, est + crit * se
    es = es_lo = es_hi = None
    es_type = None
    if y is not None and t is not None:
        scale = wwc_scale(np.asarray(y, float), np.asarray(t, float))
        if scale is not None:
            es, es_lo, es_hi = est * scale, lo * scale, hi * scale
            es_type = EFFECT_SIZE_TYPE
        if n_treated is None:
            n_treated = int(np.sum(t == 1))
            n_control = int(np.sum(t == 0))
    return Estimate(
        estimate=est,
        std_error=se,
        ci_low=float(lo),
        ci_high=float(hi),
        method=method,
        ci_level=ci_level,
        df=None if df is None else float(df),
        statistic=float(stat),
        p_value=p,
        n_treated=n_treated,
        n_control=n_control,
        n_clusters=n_clusters,
        effect_size=es,
        effect_size_type=es_type,
        effect_size_ci_low=es_lo,
        effect_size_ci_high=es_hi,
        notes=tuple(notes),
        extra=extra or {},
    )
