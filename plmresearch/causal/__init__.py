"""Causal estimators for randomized, clustered, blocked and quasi-experimental designs.

Every estimator returns a :class:`plmresearch.results.Estimate` with the WWC
standardized effect size (unadjusted pooled SD of the outcome, omega correction).
"""

from plmresearch.causal.clustered import cluster_means
from plmresearch.causal.randomized import ancova, difference_in_means, lin_adjusted

__all__ = ["ancova", "cluster_means", "difference_in_means", "lin_adjusted"]
