"""Effect sizes, WWC procedures, power/MDES and meta-analysis.

Every standardized effect returns an :class:`EffectSize` (estimate, variance, std_error,
ci_low/ci_high, ``.to_frame()``); meta-analysis returns :class:`MetaAnalysis`; power
functions return :class:`PowerResult` (``.mdes``, ``.power``, ``.df``, ``.multiplier``).

One line each (tutorial)::

    hedges_g_from_data(df, outcome="mathach", treatment="catholic").to_frame()
    forest_plot(meta_analysis(yi, vi, method="REML", test="knha"))
    funnel_plot(meta_analysis(yi, vi))
    power_curve_plot("cluster", "n_clusters", range(10, 81), effect_size=0.25, n_per_cluster=25, icc=0.2)
    mdes_cluster_rct(n_per_cluster=25, n_clusters=40, icc=0.2).mdes
    baseline_equivalence(df, "treatment", ["pretest", "frl"])
    attrition_check(200, 200, 180, 170, boundary="wwc_boundary.csv", assumption="cautious")
"""

from plmresearch.results import EffectSize
from plmresearch.effects.binary import (
    cox_index,
    cox_index_from_data,
    d_to_log_odds_ratio,
    d_to_odds_ratio,
    d_to_r,
    log_odds_ratio,
    log_odds_ratio_from_data,
    log_odds_ratio_to_d,
    odds_ratio_to_d,
    r_to_d,
    risk_difference,
    risk_difference_from_data,
    two_by_two,
)
from plmresearch.effects.interpret import Interpretation, interpret
from plmresearch.effects.meta import MetaAnalysis, MetaRegression, egger_test, meta_analysis, meta_regression
from plmresearch.effects.plots import forest_plot, funnel_plot, power_curve_plot
from plmresearch.effects.power import (
    PowerResult,
    mdes_cluster_rct,
    mdes_cluster_rct3,
    mdes_individual_rct,
    mdes_multisite_rct,
    multiplier,
    power_cluster_rct,
    power_cluster_rct3,
    power_curve,
    power_individual_rct,
    power_multisite_rct,
    required_clusters_cluster_rct,
    required_n_individual_rct,
    required_sites_cluster_rct3,
    required_sites_multisite_rct,
)
from plmresearch.effects.smd import (
    cohens_d,
    cohens_d_from_data,
    d_from_t,
    g_from_adjusted_difference,
    g_from_regression,
    glass_delta,
    glass_delta_from_data,
    hedges_correction,
    hedges_g,
    hedges_g_from_data,
    paired_d,
    pooled_sd,
    prepost_smcc,
    prepost_smcr,
)
from plmresearch.effects.wwc import (
    WWC_DEFAULT_ICC,
    AttritionResult,
    add_wwc_effect_size,
    ClusteringCorrection,
    attrition_boundary_table,
    attrition_check,
    attrition_rates,
    baseline_equivalence,
    benjamini_hochberg,
    classify_attrition,
    classify_baseline_difference,
    cluster_adjusted_df,
    clustering_corrected_test,
    improvement_index,
    wwc_cluster_adjusted_g,
    wwc_omega,
)

__all__ = [
    "WWC_DEFAULT_ICC",
    "AttritionResult",
    "ClusteringCorrection",
    "EffectSize",
    "Interpretation",
    "MetaAnalysis",
    "MetaRegression",
    "PowerResult",
    "add_wwc_effect_size",
    "attrition_boundary_table",
    "attrition_check",
    "attrition_rates",
    "baseline_equivalence",
    "benjamini_hochberg",
    "classify_attrition",
    "classify_baseline_difference",
    "cluster_adjusted_df",
    "clustering_corrected_test",
    "cohens_d",
    "cohens_d_from_data",
    "cox_index",
    "cox_index_from_data",
    "d_from_t",
    "d_to_log_odds_ratio",
    "d_to_odds_ratio",
    "d_to_r",
    "egger_test",
    "forest_plot",
    "funnel_plot",
    "g_from_adjusted_difference",
    "g_from_regression",
    "glass_delta",
    "glass_delta_from_data",
    "hedges_correction",
    "hedges_g",
    "hedges_g_from_data",
    "improvement_index",
    "interpret",
    "log_odds_ratio",
    "log_odds_ratio_from_data",
    "log_odds_ratio_to_d",
    "mdes_cluster_rct",
    "mdes_cluster_rct3",
    "mdes_individual_rct",
    "mdes_multisite_rct",
    "meta_analysis",
    "meta_regression",
    "multiplier",
    "odds_ratio_to_d",
    "paired_d",
    "pooled_sd",
    "power_cluster_rct",
    "power_cluster_rct3",
    "power_curve",
    "power_curve_plot",
    "power_individual_rct",
    "power_multisite_rct",
    "prepost_smcc",
    "prepost_smcr",
    "r_to_d",
    "required_clusters_cluster_rct",
    "required_n_individual_rct",
    "required_sites_cluster_rct3",
    "required_sites_multisite_rct",
    "risk_difference",
    "risk_difference_from_data",
    "two_by_two",
    "wwc_cluster_adjusted_g",
    "wwc_omega",
]
