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

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._ols import check_se_type, ols, se_label
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
    se_type: str = "HC2",
) -> Estimate:
    """Difference between the average cluster means of the two arms.

    SE: HC2 on the J cluster means (equal to the Welch SE of the cluster means),
    t reference with J - 2 df, as ``estimatr::lm_robust(ybar ~ T, data = cluster_means)``.
    The effect size uses the unit-level unadjusted pooled SD (WWC), not the SD of
    the cluster means. ``se_type`` ("HC0", "HC1"/"stata", "HC2", "HC3", "classical") picks the
    variance of the cluster-mean regression.
    """
    ci_level = check_ci_level(ci_level)
    if cluster is None:
        raise InputError("`cluster` is required for the cluster-means analysis.")
    se_type = check_se_type(se_type, clustered=False)
    p = prepare(df, outcome, treatment, cluster=cluster, unit=unit, missing=missing)
    _require_cluster_level_treatment(p.data, treatment, cluster)
    labels, codes = np.unique(p.data[cluster].to_numpy().astype(str), return_inverse=True)
    n_j = np.bincount(codes)
    agg = pd.DataFrame({"y": np.bincount(codes, weights=p.y) / n_j, "t": np.bincount(codes, weights=p.t) / n_j,
                        "n": n_j}, index=pd.Index(labels, name="cluster"))
    j1, j0 = int(agg.t.sum()), int((agg.t == 0).sum())
    if j1 < 2 or j0 < 2:
        raise InputError(f"Each arm needs at least 2 clusters; got {j1} treated and {j0} control clusters.")
    X = np.column_stack([np.ones(len(agg)), agg.t.to_numpy()])
    fit = ols(agg.y.to_numpy(), X, se_type=se_type)
    return build_estimate(
        estimate=fit.coef[1],
        std_error=fit.se(1),
        df=len(agg) - 2,
        method=f"difference in cluster means, {se_label(se_type)} SE, J - 2 df",
        ci_level=ci_level,
        y=p.y,  # unit-level outcomes: the WWC effect size uses the unit-level pooled SD
        t=p.t,
        n_clusters=len(agg),
        notes=p.notes,
        extra={"cluster_means": agg.reset_index()} | ({"attrition": p.attrition} if p.attrition else {}),
    )
