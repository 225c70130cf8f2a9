"""Robustness sweep of every public function of plmresearch.effects and plmresearch.causal (issue 18).

Two parts, both under the one rule of :mod:`tests.robustness.harness` (a PlmError naming the
argument or column, or a finite result -- a non-finite number only with a note -- and inputs
unchanged):

* a hypothesis sweep: for each public function a valid base call, then one argument at a time
  replaced by a bad or edge-case value drawn from the strategy of that argument's kind (numbers,
  choices, seeds, booleans, column names, column contents in other dtypes, frames, arrays,
  fitted results). ``PLM_SWEEP_EXAMPLES`` sets the draws per function (default 6; the
  benchmark script ``benchmarks/robustness_sweep.py`` runs a large number);
* a table of hand-written cases (``CASES``), each named, including every example of issue 18
  that concerns effects/causal, with the outcome class it must have.

``test_every_public_function_is_swept`` fails when a public function has no sweep entry.
"""

from __future__ import annotations

import inspect
import re
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plmresearch import causal, effects
from .harness import outcome

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SWEEP = "effects+causal"
EXAMPLES = int(os.environ.get("PLM_SWEEP_EXAMPLES", "6"))


# ----------------------------------------------------------------------------- data


def _trial(n: int = 80, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"id": np.arange(n), "school": np.arange(n) // 10})
    d["block"] = d.school % 4
    d["treat"] = (d.school >= 4).astype(int)
    d["x"] = rng.normal(size=n)
    d["x2"] = rng.normal(size=n)
    d["pre"] = d.x + rng.normal(scale=0.5, size=n)
    d["y"] = 0.4 * d.treat + d.x + rng.normal(size=n)
    d["ybin"] = (d.y > 0.3).astype(int)
    d["took"] = d.treat
    d.loc[[0, 45, 71], "took"] = 1 - d.loc[[0, 45, 71], "took"]
    d["post"] = d.id % 2
    d["running"] = rng.uniform(-1, 1, size=n)
    d["yrd"] = 0.5 * (d.running >= 0) + d.running + rng.normal(scale=0.3, size=n)
    d["y_att"] = d.y.where(rng.random(n) > 0.15)
    d["observed"] = d.y_att.notna().astype(int)
    return d


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    d = pd.DataFrame([(u, t) for u in range(20) for t in range(6)], columns=["unit", "time"])
    d["first"] = np.where(d.unit < 10, 3.0, np.nan)
    d["D"] = (d.time >= d["first"]).astype(int)
    d["y"] = 0.5 * d.D + 0.1 * d.time + rng.normal(size=len(d))
    return d


def _meta_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    k = 10
    d = pd.DataFrame({"study": np.repeat(np.arange(k), 2), "es_id": np.arange(2 * k)})
    d["vi"] = rng.uniform(0.02, 0.1, size=2 * k)
    d["mod"] = rng.normal(size=2 * k)
    d["yi"] = 0.2 + 0.1 * d["mod"] + rng.normal(scale=0.15, size=2 * k)
    return d


TRIAL = _trial()
PANEL = _panel()
META = _meta_frame()
YI = [0.1, 0.3, 0.25, 0.5, -0.05, 0.4, 0.2, 0.35]
VI = [0.02, 0.03, 0.025, 0.04, 0.05, 0.03, 0.02, 0.06]
MODS = [1.0, 2.0, 1.5, 3.0, 0.5, 2.5, 1.2, 2.8]


def _meta_result():
    return effects.meta_analysis(YI, VI)


def _metareg_result():
    return effects.meta_regression(YI, VI, MODS)


def _estimate():
    return causal.difference_in_means(TRIAL, "y", "treat")


def _balance():
    return causal.balance_table(TRIAL, "treat", ["x", "x2"])


def _event_table():
    return causal.event_study(PANEL, "y", "unit", "time", "first")


# ----------------------------------------------------------------------------- the entries


@dataclass
class Entry:
    fn: Callable[..., Any]
    base: Callable[[], dict]  # fresh keyword arguments of a valid call
    kinds: dict[str, str]  # argument -> kind of bad value to draw
    allow_nan: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def E(fn, kinds, allow_nan=(), **base):
    return Entry(fn, lambda: {k: (v() if callable(v) and not isinstance(v, type) and k not in ("imputer",) else v)
                              for k, v in base.items()}, kinds, tuple(allow_nan))


N, P, C, COL, COLS, DF, ARR, RES, SEED, BOOL, LEVEL, CNT, COST = (
    "num", "prob", "choice", "col", "cols", "df", "array", "result", "seed", "bool", "level", "count", "cost")
# COST: a count that sets the work done (draws, iterations, bins); drawn small so the sweep stays fast
_t = lambda: TRIAL  # noqa: E731
_p = lambda: PANEL  # noqa: E731
_m = lambda: META  # noqa: E731
ES = dict(mean_t=N, sd_t=N, n_t=N, mean_c=N, sd_c=N, n_c=N, ci_level=LEVEL, ci_method=C)
ES_BASE = dict(mean_t=10.0, sd_t=2.0, n_t=30, mean_c=9.0, sd_c=2.5, n_c=35)
TAB = dict(a=N, b=N, c=N, d=N, ci_level=LEVEL)
TAB_BASE = dict(a=12, b=18, c=7, d=23)
DATA3 = dict(df=DF, outcome=COL, treatment=COL, ci_level=LEVEL)

ENTRIES: dict[str, Entry] = {
    # ---- effects: standardized mean differences
    "hedges_g": E(effects.hedges_g, ES | {"exact": BOOL}, **ES_BASE),
    "cohens_d": E(effects.cohens_d, ES, **ES_BASE),
    "glass_delta": E(effects.glass_delta, ES | {"correct": BOOL}, **ES_BASE),
    "hedges_g_from_data": E(effects.hedges_g_from_data, DATA3 | {"ci_method": C}, df=_t, outcome="y", treatment="treat"),
    "cohens_d_from_data": E(effects.cohens_d_from_data, DATA3, df=_t, outcome="y", treatment="treat"),
    "glass_delta_from_data": E(effects.glass_delta_from_data, DATA3, df=_t, outcome="y", treatment="treat"),
    "d_from_t": E(effects.d_from_t, dict(t=N, n_t=N, n_c=N, hedges=BOOL, ci_level=LEVEL), t=2.1, n_t=30, n_c=30),
    "g_from_adjusted_difference": E(effects.g_from_adjusted_difference,
                                    dict(difference=N, sd_t=N, n_t=N, sd_c=N, n_c=N, r2=P, n_covariates=CNT),
                                    difference=1.2, sd_t=2.0, n_t=40, sd_c=2.2, n_c=40, r2=0.3, n_covariates=1),
    "g_from_regression": E(effects.g_from_regression, dict(coefficient=N, sd_t=N, n_t=N, sd_c=N, n_c=N, r2=P),
                           coefficient=1.2, sd_t=2.0, n_t=40, sd_c=2.2, n_c=40),
    "hedges_correction": E(effects.hedges_correction, dict(df=N, exact=BOOL), df=20),
    "paired_d": E(effects.paired_d, dict(pre=ARR, post=ARR, kind=C, ci_level=LEVEL),
                  pre=[1.0, 2.0, 3.0, 4.0, 5.5], post=[2.0, 2.5, 3.9, 5.0, 6.0], kind="d_rm"),
    "pooled_sd": E(effects.pooled_sd, dict(sd_t=N, n_t=N, sd_c=N, n_c=N), sd_t=2.0, n_t=30, sd_c=2.5, n_c=35),
    "prepost_smcc": E(effects.prepost_smcc, dict(mean_1=N, mean_2=N, sd_1=N, sd_2=N, n=N, r=P),
                      mean_1=10.0, mean_2=11.0, sd_1=2.0, sd_2=2.1, n=30, r=0.6),
    "prepost_smcr": E(effects.prepost_smcr, dict(mean_post=N, mean_pre=N, sd_pre=N, n=N, r=P),
                      mean_post=11.0, mean_pre=10.0, sd_pre=2.0, n=30, r=0.6),
    # ---- effects: binary outcomes and conversions
    "log_odds_ratio": E(effects.log_odds_ratio, TAB | {"add": N}, **TAB_BASE),
    "risk_difference": E(effects.risk_difference, TAB, **TAB_BASE),
    "log_risk_ratio": E(effects.log_risk_ratio, TAB, **TAB_BASE),
    "cox_index": E(effects.cox_index, dict(p_t=P, p_c=P, n_t=N, n_c=N, small_sample_correction=BOOL),
                   p_t=0.4, p_c=0.25, n_t=50, n_c=50),
    "log_odds_ratio_from_data": E(effects.log_odds_ratio_from_data, DATA3 | {"add": N},
                                  df=_t, outcome="ybin", treatment="treat"),
    "risk_difference_from_data": E(effects.risk_difference_from_data, DATA3, df=_t, outcome="ybin", treatment="treat"),
    "cox_index_from_data": E(effects.cox_index_from_data, DATA3, df=_t, outcome="ybin", treatment="treat"),
    "two_by_two": E(effects.two_by_two, dict(df=DF, outcome=COL, treatment=COL), df=_t, outcome="ybin", treatment="treat"),
    "d_to_log_odds_ratio": E(effects.d_to_log_odds_ratio, dict(d=N, method=C), d=0.4),
    "d_to_odds_ratio": E(effects.d_to_odds_ratio, dict(d=N, method=C), d=0.4),
    "d_to_r": E(effects.d_to_r, dict(d=N, n_t=N, n_c=N), d=0.4, n_t=30, n_c=40),
    "r_to_d": E(effects.r_to_d, dict(r=N), r=0.3),
    "log_odds_ratio_to_d": E(effects.log_odds_ratio_to_d, dict(log_or=N, variance=N, method=C), log_or=0.5, variance=0.04),
    "odds_ratio_to_d": E(effects.odds_ratio_to_d, dict(odds_ratio=N, method=C), odds_ratio=1.8),
    # ---- effects: escalc
    "cles_from_d": E(effects.cles_from_d, dict(d=N), d=0.4),
    "correlation": E(effects.correlation, dict(r=N, n=N, ci_level=LEVEL), r=0.3, n=50),
    "fisher_z": E(effects.fisher_z, dict(r=N, n=N), r=0.3, n=50),
    "z_to_r": E(effects.z_to_r, dict(z=N), z=0.3),
    "d_from_f_total": E(effects.d_from_f_total, dict(f=N, n_total=N, sign=N), f=4.2, n_total=60),
    "d_from_t_total": E(effects.d_from_t_total, dict(t=N, n_total=N), t=2.1, n_total=60),
    "d_to_eta2": E(effects.d_to_eta2, dict(d=N), d=0.4),
    "eta2_to_d": E(effects.eta2_to_d, dict(eta2=P), eta2=0.05),
    "ft_proportion": E(effects.ft_proportion, dict(x=N, n=N), x=12, n=40),
    "logit_proportion": E(effects.logit_proportion, dict(x=N, n=N), x=12, n=40),
    "log_ratio_of_means": E(effects.log_ratio_of_means, dict(m1=N, sd1=N, n1=N, m2=N, sd2=N, n2=N),
                            m1=10.0, sd1=2.0, n1=30, m2=9.0, sd2=2.5, n2=35),
    "mean_difference": E(effects.mean_difference, dict(m1=N, sd1=N, n1=N, m2=N, sd2=N, n2=N),
                         m1=10.0, sd1=2.0, n1=30, m2=9.0, sd2=2.5, n2=35),
    # ---- effects: interpretation and WWC
    "interpret": E(effects.interpret, dict(g=N), g=0.3),
    "improvement_index": E(effects.improvement_index, dict(g=N), g=0.3),
    "classify_baseline_difference": E(effects.classify_baseline_difference, dict(g=N), g=0.1),
    "wwc_omega": E(effects.wwc_omega, dict(n_total=N), n_total=60),
    "cluster_adjusted_df": E(effects.cluster_adjusted_df, dict(n_total=N, cluster_size=N, icc=P),
                             n_total=200, cluster_size=20, icc=0.2),
    "wwc_cluster_adjusted_g": E(effects.wwc_cluster_adjusted_g,
                                dict(g=N, n_t=N, n_c=N, cluster_size=N, icc=P, outcome_type=C),
                                g=0.3, n_t=100, n_c=100, cluster_size=20, icc=0.2),
    "clustering_corrected_test": E(effects.clustering_corrected_test,
                                   dict(g=N, n_t=N, n_c=N, n_clusters_t=N, n_clusters_c=N, icc=P, alpha=P),
                                   g=0.3, n_t=100, n_c=100, n_clusters_t=5, n_clusters_c=5, icc=0.2),
    "add_wwc_effect_size": E(effects.add_wwc_effect_size, dict(estimate=RES, sd_t=N, n_t=N, sd_c=N, n_c=N),
                             estimate=_estimate, sd_t=1.0, n_t=40, sd_c=1.1, n_c=40),
    "attrition_rates": E(effects.attrition_rates, dict(n_randomized_t=N, n_randomized_c=N, n_analyzed_t=N, n_analyzed_c=N),
                         n_randomized_t=200, n_randomized_c=200, n_analyzed_t=180, n_analyzed_c=170),
    "attrition_check": E(effects.attrition_check, dict(n_randomized_t=N, n_randomized_c=N, n_analyzed_t=N,
                                                       n_analyzed_c=N, boundary=C, table=DF),
                         n_randomized_t=200, n_randomized_c=200, n_analyzed_t=180, n_analyzed_c=170, boundary="cautious"),
    # the boundary tables leave cells beyond the tabulated range empty (NaN) by design
    "attrition_boundary_table": E(effects.attrition_boundary_table, dict(table=DF), allow_nan=("cautious", "optimistic")),
    "wwc_attrition_boundaries": E(effects.wwc_attrition_boundaries, dict(encoding=C),
                                  allow_nan=("cautious", "optimistic")),
    # returns (rating, boundary); the boundary is NaN by design (documented) beyond the table's rows
    "classify_attrition": E(effects.classify_attrition, dict(overall=P, differential=P, assumption=C), allow_nan=("",),
                            overall=0.2, differential=0.05),
    # a binary covariate's row is a Cox index: its SDs are NaN by design
    "baseline_equivalence": E(effects.baseline_equivalence, dict(df=DF, treatment=COL, covariates=COLS, binary=C),
                              allow_nan=("sd_treated", "sd_control"),
                              df=_t, treatment="treat", covariates=["pre", "ybin"]),
    "benjamini_hochberg": E(effects.benjamini_hochberg, dict(p_values=ARR, alpha=P), p_values=[0.01, 0.04, 0.03, 0.2]),
    # ---- effects: power
    "multiplier": E(effects.multiplier, dict(df=N, alpha=P, power=P, two_tailed=BOOL), df=30),
    "mdes_individual_rct": E(effects.mdes_individual_rct, dict(n=N, p_treated=P, r2=P, n_covariates=CNT, alpha=P, power=P),
                             n=200),
    "power_individual_rct": E(effects.power_individual_rct, dict(effect_size=N, n=N, p_treated=P, r2=P, alpha=P),
                              effect_size=0.3, n=200),
    "required_n_individual_rct": E(effects.required_n_individual_rct,
                                   dict(effect_size=N, p_treated=P, r2=P, power=P, method=C), effect_size=0.3),
    "mdes_cluster_rct": E(effects.mdes_cluster_rct, dict(n_per_cluster=N, n_clusters=N, icc=P, r2_level2=P, n_covariates=CNT),
                          n_per_cluster=25, n_clusters=40, icc=0.2),
    "power_cluster_rct": E(effects.power_cluster_rct, dict(effect_size=N, n_per_cluster=N, n_clusters=N, icc=P),
                           effect_size=0.25, n_per_cluster=25, n_clusters=40, icc=0.2),
    "required_clusters_cluster_rct": E(effects.required_clusters_cluster_rct,
                                       dict(effect_size=N, n_per_cluster=N, icc=P, power=P, method=C),
                                       effect_size=0.25, n_per_cluster=25, icc=0.2),
    "mdes_cluster_rct3": E(effects.mdes_cluster_rct3, dict(n_per_cluster=N, n_clusters_per_site=N, n_sites=N,
                                                           icc_level2=P, icc_level3=P),
                           n_per_cluster=20, n_clusters_per_site=4, n_sites=10, icc_level2=0.1, icc_level3=0.05),
    "power_cluster_rct3": E(effects.power_cluster_rct3, dict(effect_size=N, n_per_cluster=N, n_clusters_per_site=N,
                                                             n_sites=N, icc_level2=P, icc_level3=P),
                            effect_size=0.25, n_per_cluster=20, n_clusters_per_site=4, n_sites=10,
                            icc_level2=0.1, icc_level3=0.05),
    "required_sites_cluster_rct3": E(effects.required_sites_cluster_rct3,
                                     dict(effect_size=N, n_per_cluster=N, n_clusters_per_site=N, icc_level2=P, icc_level3=P),
                                     effect_size=0.25, n_per_cluster=20, n_clusters_per_site=4,
                                     icc_level2=0.1, icc_level3=0.05),
    "mdes_multisite_rct": E(effects.mdes_multisite_rct, dict(n_per_site=N, n_sites=N, icc=P, effect_heterogeneity=N,
                                                             site_effects=C),
                            n_per_site=40, n_sites=20, icc=0.2, effect_heterogeneity=0.05),
    "power_multisite_rct": E(effects.power_multisite_rct, dict(effect_size=N, n_per_site=N, n_sites=N, icc=P,
                                                               effect_heterogeneity=N),
                             effect_size=0.2, n_per_site=40, n_sites=20, icc=0.2, effect_heterogeneity=0.05),
    "required_sites_multisite_rct": E(effects.required_sites_multisite_rct,
                                      dict(effect_size=N, n_per_site=N, icc=P, effect_heterogeneity=N, method=C),
                                      effect_size=0.2, n_per_site=40, icc=0.2, effect_heterogeneity=0.05),
    "power_curve": E(effects.power_curve, dict(design=C, vary=C, values=ARR),
                     design="cluster", vary="n_clusters", values=[10, 20, 40],
                     effect_size=0.25, n_per_cluster=25, icc=0.2),
    "power_curve_plot": E(effects.power_curve_plot, dict(design=C, vary=C, values=ARR, target_power=P),
                          design="cluster", vary="n_clusters", values=[10, 20, 40],
                          effect_size=0.25, n_per_cluster=25, icc=0.2),
    # ---- effects: meta-analysis
    "meta_analysis": E(effects.meta_analysis, dict(yi=ARR, vi=ARR, method=C, test=C, ci_level=LEVEL), yi=YI, vi=VI),
    "meta_regression": E(effects.meta_regression, dict(yi=ARR, vi=ARR, moderators=ARR, method=C, test=C),
                         yi=YI, vi=VI, moderators=MODS),
    "egger_test": E(effects.egger_test, dict(yi=ARR, vi=ARR, model=C, method=C), yi=YI, vi=VI),
    "forest_plot": E(effects.forest_plot, dict(result=RES), result=_meta_result),
    "funnel_plot": E(effects.funnel_plot, dict(result=RES), result=_meta_result),
    "blup": E(effects.blup, dict(result=RES), result=_meta_result),
    "heterogeneity_ci": E(effects.heterogeneity_ci, dict(result=RES, level=LEVEL), result=_meta_result),
    "influence_diagnostics": E(effects.influence_diagnostics, dict(result=RES), result=_meta_result),
    "leave_one_out": E(effects.leave_one_out, dict(result=RES), result=_meta_result),
    "rank_correlation_test": E(effects.rank_correlation_test, dict(result=RES), result=_meta_result),
    "trim_and_fill": E(effects.trim_and_fill, dict(result=RES, side=C, max_iter=COST), result=_meta_result),
    "predict_meta": E(effects.predict_meta, dict(result=RES, newmods=ARR), result=_metareg_result, newmods=[1.0, 2.0]),
    "multilevel_meta": E(effects.multilevel_meta, dict(data=DF, yi=COL, vi=COL, study=COL, rho=P),
                         data=_m, yi="yi", vi="vi", study="study"),
    "robust_meta": E(effects.robust_meta, dict(data=DF, yi=COL, vi=COL, study=COL, rho=P, weights=C, small=BOOL),
                     data=_m, yi="yi", vi="vi", study="study"),
    # ---- causal: randomized designs
    "difference_in_means": E(causal.difference_in_means, DATA3 | dict(cluster=COL, missing=C, se_type=C),
                             df=_t, outcome="y", treatment="treat", cluster="school"),
    "lin_adjusted": E(causal.lin_adjusted, DATA3 | dict(covariates=COLS, cluster=COL, se_type=C),
                      df=_t, outcome="y", treatment="treat", covariates=["x", "x2"]),
    "ancova": E(causal.ancova, DATA3 | dict(pretest=COLS, cluster=COL), df=_t, outcome="y", treatment="treat",
                pretest="pre", cluster="school"),
    "cluster_means": E(causal.cluster_means, DATA3 | dict(cluster=COL, se_type=C),
                       df=_t, outcome="y", treatment="treat", cluster="school"),
    "blocked_difference_in_means": E(causal.blocked_difference_in_means, DATA3 | dict(block=COL),
                                     df=_t, outcome="y", treatment="treat", block="block"),
    "block_effects": E(causal.block_effects, DATA3 | dict(block=COL, weighting=C),
                       df=_t, outcome="y", treatment="treat", block="block"),
    "block_fixed_effects": E(causal.block_fixed_effects, DATA3 | dict(block=COL, covariates=COLS, se_type=C),
                             df=_t, outcome="y", treatment="treat", block="block", covariates=["x"]),
    "permutation_test": E(causal.permutation_test, DATA3 | dict(n_permutations=COST, alternative=C, random_seed=SEED,
                                                                block=COL),
                          df=_t, outcome="y", treatment="treat", n_permutations=200, random_seed=1),
    "loop": E(causal.loop, DATA3 | dict(covariates=COLS, p_treated=P, imputer=C, random_seed=SEED),
              df=_t, outcome="y", treatment="treat", covariates=["x"], random_seed=1),
    # ---- causal: observational
    "propensity_scores": E(causal.propensity_scores, dict(df=DF, treatment=COL, covariates=COLS),
                           df=_t, treatment="treat", covariates=["x", "x2"]),
    "ipw": E(causal.ipw, DATA3 | dict(covariates=COLS, estimand=C, trim=P), df=_t, outcome="y", treatment="treat",
             covariates=["x", "x2"]),
    "aipw": E(causal.aipw, DATA3 | dict(covariates=COLS, trim=P), df=_t, outcome="y", treatment="treat",
              covariates=["x", "x2"]),
    "match": E(causal.match, DATA3 | dict(covariates=COLS, caliper=N, random_seed=SEED),
               df=_t, outcome="y", treatment="treat", covariates=["x", "x2"], random_seed=1),
    # the variance ratio is NaN (documented) when a covariate does not vary in the control arm
    "balance_table": E(causal.balance_table, dict(df=DF, treatment=COL, covariates=COLS, weights=ARR),
                       allow_nan=("variance_ratio",),
                       df=_t, treatment="treat", covariates=["x", "x2"]),
    "love_plot": E(causal.love_plot, dict(table=RES, threshold=N), table=_balance),
    "fe_regression": E(causal.fe_regression, dict(df=DF, outcome=COL, regressors=COLS, absorb=COL, cluster=COL,
                                                  se_type=C, stata_fe=C, weights=COL, ci_level=LEVEL),
                       df=_t, outcome="y", regressors=["treat", "x"], absorb="block"),
    "iv_late": E(causal.iv_late, dict(df=DF, outcome=COL, treatment_received=COL, assignment=COL, cluster=COL),
                 df=_t, outcome="y", treatment_received="took", assignment="treat"),
    "iv_regression": E(causal.iv_regression, dict(df=DF, outcome=COL, endogenous=COL, instruments=COLS,
                                                  covariates=COLS, se_type=C),
                       df=_t, outcome="y", endogenous="took", instruments=["treat"], covariates=["x"]),
    "regression_discontinuity": E(causal.regression_discontinuity, dict(df=DF, outcome=COL, running=COL, cutoff=N,
                                                                        bandwidth=N, kernel=C, bwselect=C),
                                  df=_t, outcome="yrd", running="running", cutoff=0.0),
    "rd_plot": E(causal.rd_plot, dict(df=DF, outcome=COL, running=COL, cutoff=N, n_bins=COST, bandwidth=N),
                 df=_t, outcome="yrd", running="running", cutoff=0.0),
    "did_2x2": E(causal.did_2x2, dict(df=DF, outcome=COL, group=COL, post=COL, cluster=COL, se_type=C),
                 df=_t, outcome="y", group="treat", post="post"),
    "twfe": E(causal.twfe, dict(df=DF, outcome=COL, treatment=COL, unit=COL, time=COL, se_type=C, stata_fe=C),
              df=_p, outcome="y", treatment="D", unit="unit", time="time"),
    # the reference period's row is fixed at 0 and has no df (NaN) by design
    "event_study": E(causal.event_study, dict(df=DF, outcome=COL, unit=COL, time=COL, first_treated=COL, reference=N),
                     allow_nan=("df",),
                     df=_p, outcome="y", unit="unit", time="time", first_treated="first"),
    "event_study_plot": E(causal.event_study_plot, dict(table=RES), table=_event_table),
    # ---- causal: attrition
    "lee_bounds": E(causal.lee_bounds, dict(df=DF, outcome=COL, treatment=COL, n_boot=COST, random_seed=SEED),
                    df=_t, outcome="y_att", treatment="treat", n_boot=50),
    "response_weights": E(causal.response_weights, dict(df=DF, treatment=COL, predictors=COLS, observed=COL,
                                                        by_arm=BOOL),
                          allow_nan=("response_weight",),  # NaN for attriters by design (documented)
                          df=_t, treatment="treat", predictors=["x", "pre"], observed="observed"),
    "ipw_attrition": E(causal.ipw_attrition, dict(df=DF, outcome=COL, treatment=COL, predictors=COLS, by_arm=BOOL),
                       df=_t, outcome="y_att", treatment="treat", predictors=["x", "pre"]),
}
ENTRIES["forest_plot"].extra["vi_ok"] = True


def _public_functions() -> list[str]:
    out = []
    for mod in (effects, causal):
        for name in mod.__all__:
            if inspect.isfunction(getattr(mod, name)):
                out.append(name)
    return out


def test_every_public_function_is_swept():
    """Every public function of effects and causal (their __all__) has a sweep entry."""
    missing = sorted(set(_public_functions()) - set(ENTRIES))
    assert not missing, f"public functions without a sweep entry: {missing}"


# ----------------------------------------------------------------------------- strategies

BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), -1.0, 0.0, 1.0, 1e308, -1e308, 1e-300, 1e-200,
               "0.2", "abc", None, True, [1, 2], 10**400]
BAD_CHOICES = ["bogus", "", 3, None, ["REML"], "half"]
BAD_SEEDS = ["abc", -1, 1.5, True, [1]]
BAD_BOOLS = ["abc", "False", 2, None]
BAD_ARRAYS = [[], [float("nan"), 1.0], [float("inf"), 1.0, 2.0], "abc", ["a", "b", "c"], [[1.0, 2.0], [3.0, 4.0]],
              [1e308, -1e308, 1e308], [1e-300, 1e-300, 1e-300], [0.0, 0.0, 0.0], [5.0], None,
              [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]]
BAD_RESULTS = ["abc", None, 3.0, pd.DataFrame({"a": [1.0]})]
COLUMN_NAMES = ["nope", 3, ["y"], ""]
CONTENT = ["Int64", "Float64_na", "boolean", "category", "text_numbers", "text", "all_nan", "inf", "constant",
           "huge", "tiny", "duplicate_name", "object_numbers", "negative"]
FRAMES = ["not_frame", "empty", "few_rows", "dup_columns", "one_cluster_per_arm", "string_index"]

number_values = st.one_of(st.sampled_from(BAD_NUMBERS),
                          st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(min_value=-10, max_value=10**6))
array_values = st.one_of(st.sampled_from(BAD_ARRAYS),
                         st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=0, max_size=9))


def _mutate_content(df: pd.DataFrame, col: str, how: str) -> pd.DataFrame:
    d = df.copy()
    s = d[col]
    num = pd.to_numeric(s, errors="coerce")
    if how == "Int64":
        d[col] = num.round().astype("Int64") if num.notna().all() else num.astype("Float64")
    elif how == "Float64_na":
        d[col] = num.astype("Float64")
        d.loc[d.index[:2], col] = pd.NA
    elif how == "boolean":
        d[col] = (num > num.median()).astype("boolean")
    elif how == "category":
        d[col] = s.astype("category")
    elif how == "text_numbers":
        d[col] = s.astype(str)
    elif how == "text":
        d[col] = np.where(np.arange(len(d)) % 2, "a", "b")
    elif how == "all_nan":
        d[col] = np.nan
    elif how == "inf":
        d[col] = num.astype(float)
        d.loc[d.index[3], col] = np.inf
    elif how == "constant":
        d[col] = 1.0
    elif how == "huge":
        d[col] = num.astype(float) * 1e300
    elif how == "tiny":
        d[col] = num.astype(float) * 1e-300
    elif how == "object_numbers":
        d[col] = s.astype(object)
    elif how == "negative":
        d[col] = -num.abs().astype(float)
    elif how == "duplicate_name":
        d = pd.concat([d, d[[col]]], axis=1)
    return d


def _mutate_frame(df: pd.DataFrame, how: str):
    if how == "not_frame":
        return df.to_dict("list")
    if how == "empty":
        return df.iloc[:0]
    if how == "few_rows":
        return df.iloc[:3]
    if how == "dup_columns":
        return df.rename(columns={df.columns[1]: df.columns[0]})
    if how == "one_cluster_per_arm" and "school" in df:
        return df[df.school.isin([0, 7])]
    if how == "string_index":
        return df.set_axis([f"r{i}" for i in range(len(df))])
    return df.sample(frac=1.0, random_state=1)


@st.composite
def bad_call(draw, name: str):
    """A base call of ``name`` with one argument replaced by a value of its kind's strategy."""
    entry = ENTRIES[name]
    kwargs = entry.base()
    arg = draw(st.sampled_from(sorted(entry.kinds)))
    kind = entry.kinds[arg]
    names = [arg]
    frame_arg = "df" if "df" in kwargs else "data" if "data" in kwargs else None
    if kind in (N, CNT):
        kwargs[arg] = draw(number_values)
    elif kind == COST:
        kwargs[arg] = draw(st.one_of(st.sampled_from(BAD_NUMBERS), st.integers(min_value=-5, max_value=300)))
    elif kind == P:
        kwargs[arg] = draw(st.one_of(st.sampled_from(BAD_NUMBERS), st.floats(-2, 2)))
    elif kind == LEVEL:
        kwargs[arg] = draw(st.sampled_from([0.0, 1.0, 95, -0.5, float("nan"), "0.95", None]))
    elif kind == C:
        kwargs[arg] = draw(st.sampled_from(BAD_CHOICES))
    elif kind == SEED:
        kwargs[arg] = draw(st.sampled_from(BAD_SEEDS))
    elif kind == BOOL:
        kwargs[arg] = draw(st.sampled_from(BAD_BOOLS))
    elif kind == ARR:
        kwargs[arg] = draw(array_values)
    elif kind == RES:
        kwargs[arg] = draw(st.sampled_from(BAD_RESULTS))
    elif kind == DF:
        how = draw(st.sampled_from(FRAMES))
        # a degenerate frame is reported through the column or rows at fault
        names += ["data", "frame", "rows", "row"] + [v for k, v in kwargs.items()
                                                      if entry.kinds.get(k) in (COL, COLS) and isinstance(v, str)]
        names += [c for k, v in kwargs.items() if entry.kinds.get(k) == COLS and isinstance(v, list) for c in v]
        kwargs[arg] = _mutate_frame(kwargs[arg], how) if isinstance(kwargs.get(arg), pd.DataFrame) else how
    elif kind in (COL, COLS):
        current = kwargs.get(arg)
        cols = [current] if isinstance(current, str) else list(current or [])
        if frame_arg is None or not cols or draw(st.booleans()):
            kwargs[arg] = draw(st.sampled_from(COLUMN_NAMES + ([[], ["nope"]] if kind == COLS else [])))
            if kwargs[arg] in ("nope", ["nope"]):
                names.append("nope")  # a missing column is reported by its name
        else:
            col = draw(st.sampled_from(cols))
            how = draw(st.sampled_from(CONTENT))
            kwargs[frame_arg] = _mutate_content(kwargs[frame_arg], col, how)
            names.append(col)
    return kwargs, names


def _run(name: str, kwargs: dict, names) -> str:
    entry = ENTRIES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return outcome(SWEEP, entry.fn, names=names, allow_nan=entry.allow_nan, **kwargs)
        finally:
            plt.close("all")


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_base_call_is_a_finite_result(name):
    """The valid base call of each entry returns a (finite) result."""
    entry = ENTRIES[name]
    assert _run(name, entry.base(), [name]) in ("result", "result+note")


@pytest.mark.parametrize("name", sorted(ENTRIES))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=st.data())
def test_sweep(name, data):
    """One argument at a time made bad: a PlmError naming it, or a finite result; inputs unchanged."""
    kwargs, names = data.draw(bad_call(name))
    _run(name, kwargs, names)


# ----------------------------------------------------------------------------- hand-written cases


@dataclass
class Case:
    fn: Callable[..., Any]
    kwargs: Callable[[Any], dict]  # tmp_path -> keyword arguments
    expect: str  # "error", "result" or "result+note"
    names: tuple[str, ...] = ()  # the message must name one of these (errors)
    match: str | None = None  # and contain this text (case-insensitive)
    allow_nan: tuple[str, ...] = ()


def _one_cluster_per_arm() -> pd.DataFrame:
    return TRIAL[TRIAL.school.isin([0, 7])]


def _text(col: str) -> pd.DataFrame:
    return TRIAL.assign(**{col: TRIAL[col].astype(str)})


CASES: dict[str, Case] = {
    # -- issue 18, silent wrong answers
    "issue18_difference_in_means_one_cluster_per_arm": Case(
        causal.difference_in_means, lambda _: dict(df=_one_cluster_per_arm(), outcome="y", treatment="treat",
                                                   cluster="school"),
        "error", ("school", "cluster"), "1 treated and 1 control cluster"),
    "issue18_lin_adjusted_one_cluster_per_arm": Case(
        causal.lin_adjusted, lambda _: dict(df=_one_cluster_per_arm(), outcome="y", treatment="treat", covariates=["x"],
                                            cluster="school"),
        "error", ("school", "cluster"), "clusters in each arm"),
    "issue18_outcome_constant_within_each_arm": Case(
        causal.difference_in_means, lambda _: dict(df=TRIAL.assign(y=2.0 + TRIAL.treat), outcome="y", treatment="treat"),
        "error", ("y",), "constant within each arm"),
    "issue18_ipw_trim_negative": Case(
        causal.ipw, lambda _: dict(df=TRIAL, outcome="y", treatment="treat", covariates=["x"], trim=-1),
        "error", ("trim",)),
    "issue18_hedges_g_means_pm_1e308": Case(
        effects.hedges_g, lambda _: dict(mean_t=1e308, sd_t=1.0, n_t=30, mean_c=-1e308, sd_c=1.0, n_c=30),
        "error", ("mean_t", "mean_c")),
    "issue18_paired_d_rm_constant_pretest": Case(
        effects.paired_d, lambda _: dict(pre=[3.0, 3.0, 3.0, 3.0, 3.0], post=[2.0, 2.5, 3.9, 5.0, 6.0], kind="d_rm"),
        "error", ("pre",), "kind='d_z'"),
    # -- issue 18, raw exceptions
    "issue18_wwc_cluster_adjusted_g_icc_1": Case(
        effects.wwc_cluster_adjusted_g, lambda _: dict(g=0.3, n_t=20, n_c=20, cluster_size=20, icc=1),
        "error", ("icc",)),
    "issue18_hedges_g_sd_1e-200": Case(
        effects.hedges_g, lambda _: dict(mean_t=1.0, sd_t=1e-200, n_t=30, mean_c=0.0, sd_c=1e-200, n_c=30),
        "error", ("sd_t", "sd_c")),
    "issue18_meta_analysis_vi_1e-300": Case(
        effects.meta_analysis, lambda _: dict(yi=[0.1, 0.3, 0.2], vi=[1e-300, 0.02, 0.03]), "error", ("vi",)),
    "issue18_log_odds_ratio_add_text": Case(
        effects.log_odds_ratio, lambda _: dict(a=3, b=5, c=0, d=7, add="half"), "error", ("add",)),
    "issue18_match_caliper_text": Case(
        causal.match, lambda _: dict(df=TRIAL, outcome="y", treatment="treat", covariates=["x"], caliper="0.2"),
        "error", ("caliper",), "without quotes"),
    "issue18_loop_random_seed_text": Case(
        causal.loop, lambda _: dict(df=TRIAL, outcome="y", treatment="treat", covariates=["x"], random_seed="abc"),
        "error", ("random_seed",)),
    "issue18_duplicate_column_name": Case(
        causal.difference_in_means, lambda _: dict(df=pd.concat([TRIAL, TRIAL[["y"]]], axis=1), outcome="y",
                                                   treatment="treat"),
        "error", ("y",), "more than once"),
    "issue18_lin_adjusted_inf_covariate": Case(
        causal.lin_adjusted, lambda _: dict(df=TRIAL.assign(x=TRIAL.x.where(TRIAL.id != 5, np.inf)), outcome="y",
                                            treatment="treat", covariates=["x"]),
        "error", ("x",), "infinite"),
    "issue18_attrition_check_table_is_a_folder": Case(
        effects.attrition_check, lambda tmp: dict(n_randomized_t=200, n_randomized_c=200, n_analyzed_t=180,
                                                  n_analyzed_c=170, table=tmp),
        "error", ("table",), "folder"),
    "issue18_attrition_check_table_empty_csv": Case(
        effects.attrition_check, lambda tmp: dict(n_randomized_t=200, n_randomized_c=200, n_analyzed_t=180,
                                                  n_analyzed_c=170, table=_empty_csv(tmp)),
        "error", ("table",), "cannot be read"),
    # -- issue 18, unclear messages
    "issue18_numbers_stored_as_text": Case(
        causal.difference_in_means, lambda _: dict(df=_text("y"), outcome="y", treatment="treat"),
        "error", ("y",), "stored as text"),
    "issue18_categorical_01_treatment_accepted": Case(
        causal.difference_in_means, lambda _: dict(df=TRIAL.assign(treat=TRIAL.treat.astype("category")), outcome="y",
                                                   treatment="treat"),
        "result"),
    "issue18_did_2x2_one_period": Case(
        causal.did_2x2, lambda _: dict(df=TRIAL.assign(post=1), outcome="y", group="treat", post="post"),
        "error", ("post",), "period column 'post'"),
    # -- further cases found by the sweep
    "text_01_treatment_says_how_to_convert": Case(
        causal.difference_in_means, lambda _: dict(df=_text("treat"), outcome="y", treatment="treat"),
        "error", ("treat",), "pd.to_numeric"),
    "nullable_int64_treatment_accepted": Case(
        causal.lin_adjusted, lambda _: dict(df=TRIAL.assign(treat=TRIAL.treat.astype("Int64")), outcome="y",
                                            treatment="treat", covariates=["x"]),
        "result"),
    "nullable_boolean_treatment_accepted": Case(
        effects.hedges_g_from_data, lambda _: dict(df=TRIAL.assign(treat=TRIAL.treat.astype("boolean")), outcome="y",
                                                   treatment="treat"),
        "result"),
    "float64_outcome_with_na_is_attrition": Case(
        causal.difference_in_means, lambda _: dict(df=TRIAL.assign(y=TRIAL.y.astype("Float64").where(TRIAL.id > 3)),
                                                   outcome="y", treatment="treat", missing="drop"),
        "result+note"),
    "outcome_1e300_says_rescale": Case(
        causal.ancova, lambda _: dict(df=TRIAL.assign(y=TRIAL.y * 1e300), outcome="y", treatment="treat", pretest="pre"),
        "error", ("y",), "rescale"),
    "column_argument_named_in_message": Case(
        causal.ipw, lambda _: dict(df=TRIAL, outcome="y", treatment="treatment", covariates=["x"]),
        "error", ("`treatment`",), "did you mean 'treat'"),
    "outcome_given_as_list": Case(
        causal.difference_in_means, lambda _: dict(df=TRIAL, outcome=["y"], treatment="treat"),
        "error", ("outcome",)),
    "event_study_fractional_periods": Case(
        causal.event_study, lambda _: dict(df=PANEL.assign(time=PANEL.time + 0.5), outcome="y", unit="unit",
                                           time="time", first_treated="first"),
        "error", ("time",), "whole-number periods"),
    "event_study_reference_not_observed": Case(
        causal.event_study, lambda _: dict(df=PANEL, outcome="y", unit="unit", time="time", first_treated="first",
                                           reference=-9),
        "error", ("reference",)),
    "permutation_test_huge_n_permutations": Case(
        causal.permutation_test, lambda _: dict(df=TRIAL, outcome="y", treatment="treat", n_permutations=1e308),
        "error", ("n_permutations",)),
    "cr2_two_clusters_per_arm_notes_few_df": Case(
        causal.difference_in_means, lambda _: dict(df=TRIAL[TRIAL.school.isin([0, 1, 6, 7])], outcome="y",
                                                   treatment="treat", cluster="school"),
        "result+note"),
    "block_effects_single_block_notes_it": Case(
        causal.block_effects, lambda _: dict(df=TRIAL.assign(block=1), outcome="y", treatment="treat", block="block"),
        "result+note"),
    "clustering_corrected_test_more_clusters_than_units": Case(
        effects.clustering_corrected_test, lambda _: dict(g=0.3, n_t=10, n_c=10, n_clusters_t=50, n_clusters_c=5,
                                                          icc=0.2),
        "error", ("n_clusters_t",)),
    "cox_index_one_sample_size_only": Case(
        effects.cox_index, lambda _: dict(p_t=0.4, p_c=0.3, n_t=50), "error", ("n_c",)),
    "cox_index_without_sizes_notes_nan_variance": Case(
        effects.cox_index, lambda _: dict(p_t=0.4, p_c=0.3), "result+note"),
    "meta_regression_fixed_effect_notes_undefined_r2": Case(
        effects.meta_regression, lambda _: dict(yi=YI, vi=VI, moderators=MODS, method="FE"), "result+note"),
    "trim_and_fill_max_iter_zero": Case(
        effects.trim_and_fill, lambda _: dict(result=_meta_result(), max_iter=0), "error", ("max_iter",)),
    "power_curve_bad_value_names_values": Case(
        effects.power_curve, lambda _: dict(design="cluster", vary="n_clusters", values=[2, 20], effect_size=0.25,
                                            n_per_cluster=25, icc=0.2),
        "error", ("values",)),
    "required_n_power_none": Case(
        effects.required_n_individual_rct, lambda _: dict(effect_size=0.3, power=None), "error", ("power",)),
    "heterogeneity_ci_level_95": Case(
        effects.heterogeneity_ci, lambda _: dict(result=_meta_result(), level=95), "error", ("level",)),
    "rd_bwselect_unknown": Case(
        causal.regression_discontinuity, lambda _: dict(df=TRIAL, outcome="yrd", running="running", bwselect="mse"),
        "error", ("bwselect",), "mserd"),
    "balance_table_text_weights": Case(
        causal.balance_table, lambda _: dict(df=TRIAL, treatment="treat", covariates=["x"], weights="abc"),
        "error", ("weights",)),
    "robust_meta_constant_yi": Case(
        effects.robust_meta, lambda _: dict(data=META.assign(yi=0.2), yi="yi", vi="vi", study="study"),
        "error", ("yi",)),
    "lee_bounds_constant_outcome": Case(
        causal.lee_bounds, lambda _: dict(df=TRIAL.assign(y_att=TRIAL.y_att * 0 + 1), outcome="y_att",
                                          treatment="treat", n_boot=0),
        "error", ("y_att",)),
}


def _empty_csv(tmp) -> str:
    path = tmp / "empty.csv"
    path.write_text("")
    return str(path)


def test_cases_cover_every_issue_example():
    """Each example of issue 18 that concerns effects/causal has a named case."""
    wanted = {"one_cluster_per_arm", "constant_within_each_arm", "ipw_trim_negative", "1e308", "paired_d_rm",
              "icc_1", "sd_1e-200", "vi_1e-300", "add_text", "caliper_text", "random_seed_text",
              "duplicate_column", "inf_covariate", "table_is_a_folder", "table_empty_csv", "stored_as_text",
              "categorical_01", "did_2x2_one_period"}
    missing = [w for w in wanted if not any(w in name for name in CASES if name.startswith("issue18_"))]
    assert not missing


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name, tmp_path):
    """A hand-written case has its outcome class, and an error says what the case expects."""
    case = CASES[name]
    kwargs = case.kwargs(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind = outcome(SWEEP, case.fn, names=case.names, allow_nan=case.allow_nan, **kwargs)
    assert kind == case.expect, f"{name}: expected {case.expect}, got {kind}"
    if case.match:
        with pytest.raises(Exception, match=f"(?i){re.escape(case.match)}"):
            case.fn(**case.kwargs(tmp_path))
