"""Cluster-randomized trials: the cluster-means analysis.

The CR2 / Bell-McCaffrey analysis of unit-level data is
``difference_in_means(..., cluster=...)`` and ``lin_adjusted(..., cluster=...)``
(see ``_ols.py``). Here the data are first averaged within clusters and the
cluster means compared (Donner & Klar 2000, sec. 6.2; Murray 1998): each
cluster counts once, whatever its size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plmresearch.causal._effect import build_estimate, wwc_scale
from plmresearch.causal._ols import ols
from plmresearch.causal._prepare import check_ci_level, prepare
from plmresearch.causal.randomized import _require_cluster_level_treatment
from plmresearch.errors import InputError
from plmresearch.results import Estimate


def cluster_means(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    cluster: str,
    *,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """Difference between the average cluster means of the two arms.

    SE: HC2 on the J cluster means (equal to the Welch SE of the cluster means),
    t reference with J - 2 df, as ``estimatr::lm_robust(ybar ~ T, data = cluster_means)``.
    The effect size uses the unit-level unadjusted pooled SD (WWC), not the SD of
    the cluster means.
    """
    ci_level = check_ci_level(ci_level)
    if cluster is None:
        raise InputError("`cluster` is required for the cluster-means analysis.")
    p = prepare(df, outcome, treatment, cluster=cluster, unit=unit, missing=missing)
    _require_cluster_level_treatment(p.data, treatment, cluster)
    agg = (
        pd.DataFrame({"cluster": p.data[cluster].to_numpy(), "y": p.y, "t": p.t})
        .groupby("cluster", observed=True)
        .agg(y=("y", "mean"), t=("t", "first"), n=("y", "size"))
    )
    j1, j0 = int(agg.t.sum()), int((agg.t == 0).sum())
    if j1 < 2 or j0 < 2:
        raise InputError(f"Each arm needs at least 2 clusters; got {j1} treated and {j0} control clusters.")
    X = np.column_stack([np.ones(len(agg)), agg.t.to_numpy()])
    fit = ols(agg.y.to_numpy(), X, se_type="HC2")
    est = build_estimate(
        estimate=fit.coef[1],
        std_error=fit.se(1),
        df=len(agg) - 2,
        method="difference in cluster means, HC2 SE, J - 2 df",
        ci_level=ci_level,
        y=None,
        t=None,
        n_treated=p.n_treated,
        n_control=p.n_control,
        n_clusters=len(agg),
        notes=p.notes,
        extra={"cluster_means": agg.reset_index()} | ({"attrition": p.attrition} if p.attrition else {}),
    )
    scale = wwc_scale(p.y, p.t)
    if scale is None:
        return est
    from dataclasses import replace

    from plmresearch.causal._effect import EFFECT_SIZE_TYPE

    return replace(
        est,
        effect_size=est.estimate * scale,
        effect_size_ci_low=est.ci_low * scale,
        effect_size_ci_high=est.ci_high * scale,
        effect_size_type=EFFECT_SIZE_TYPE,
        extra=est.extra,
    )
