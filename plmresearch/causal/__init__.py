"""Causal estimators for randomized, clustered, blocked and quasi-experimental designs.

Every estimator returns a :class:`plmresearch.results.Estimate` whose effect size is the
WWC one: the estimate over the *unadjusted* pooled within-arm SD of the outcome, times the
small-sample correction omega = 1 - 3/(4N - 9). Missing outcomes are attrition: estimators
raise by default (``missing="raise"``) and, with ``missing="drop"``, record per-arm
attrition in ``notes`` and ``extra['attrition']``.
"""

from plmresearch.causal.attrition import LeeBounds, ipw_attrition, lee_bounds, response_weights
from plmresearch.causal.blocked import block_effects, block_fixed_effects, blocked_difference_in_means
from plmresearch.causal.clustered import cluster_means
from plmresearch.causal.did import StaggeredTimingWarning, did_2x2, event_study, event_study_plot, twfe
from plmresearch.causal.fixed_effects import fe_regression
from plmresearch.causal.iv import iv_late, iv_regression
from plmresearch.causal.loop import loop
from plmresearch.causal.permutation import permutation_test
from plmresearch.causal.propensity import aipw, balance_table, ipw, love_plot, match, propensity_scores
from plmresearch.causal.randomized import ancova, difference_in_means, lin_adjusted
from plmresearch.causal.rd import rd_plot, regression_discontinuity

__all__ = [
    "LeeBounds",
    "fe_regression",
    "ipw_attrition",
    "iv_regression",
    "lee_bounds",
    "response_weights",
    "StaggeredTimingWarning",
    "aipw",
    "ancova",
    "balance_table",
    "block_effects",
    "block_fixed_effects",
    "blocked_difference_in_means",
    "cluster_means",
    "did_2x2",
    "difference_in_means",
    "event_study",
    "event_study_plot",
    "iv_late",
    "ipw",
    "lin_adjusted",
    "loop",
    "love_plot",
    "match",
    "permutation_test",
    "propensity_scores",
    "rd_plot",
    "regression_discontinuity",
    "twfe",
]
