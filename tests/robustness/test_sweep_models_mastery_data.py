"""Robustness sweep of plmresearch.models, .mastery, .data and .pilot (issue 18).

Every public function of those subpackages gets bad and edge-case input; each case must
end in a PlmError naming the argument or column, or a finite result (or one with a note),
and never modify its input (the rule lives in tests/robustness/harness.py).

Two parts: ``CASES``, a table of hand-written cases (the issue's examples are named
``issue18_...``), and hypothesis strategies drawing frames (nullable dtypes, duplicate
names, missing and infinite values) and argument values. ``PLM_SWEEP_EXAMPLES`` sets the
number of hypothesis examples per strategy (default 8; ``benchmarks/robustness_sweep.py``
runs a larger version). Bayesian entry points get only cases that fail before sampling.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import plmresearch.data as pdata  # noqa: E402
import plmresearch.mastery as pmastery  # noqa: E402
import plmresearch.models as pmodels  # noqa: E402
import plmresearch.pilot as ppilot  # noqa: E402
from robustness.harness import COUNTS, outcome  # noqa: E402

SWEEP = "models_mastery_data"
N_EXAMPLES = int(os.environ.get("PLM_SWEEP_EXAMPLES", "8"))
#: PLM_SWEEP_RANDOM=1 (the benchmark's option) explores new examples on every run instead of a fixed set
HYP = settings(max_examples=N_EXAMPLES, deadline=None, derandomize=not os.environ.get("PLM_SWEEP_RANDOM"),
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ----------------------------------------------------------------------------- small data
def ml_frame(n_groups: int = 6, n_per: int = 8, seed: int = 1) -> pd.DataFrame:
    """A small two-level frame: outcome y, predictor x, binary treat, group school."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), n_per)
    u = rng.normal(0, 1, n_groups)[g]
    x = rng.normal(0, 1, len(g))
    treat = (np.arange(len(g)) % 2).astype(int)
    y = 10 + 2 * x + 0.5 * treat + u + rng.normal(0, 1, len(g))
    return pd.DataFrame({"y": y, "x": x, "treat": treat, "school": [f"s{k}" for k in g],
                         "yb": (y > 10).astype(int)})


def bkt_frame(seed: int = 2) -> pd.DataFrame:
    """Responses of 12 students on skills 'add' and 'sub', 8 opportunities each."""
    rows = []
    rng = np.random.default_rng(seed)
    for sk in ("add", "sub"):
        for s in range(12):
            p = np.linspace(0.3, 0.9, 8)
            for t in range(8):
                rows.append({"skill": sk, "student": f"st{s}", "order": t, "correct": int(rng.random() < p[t])})
    return pd.DataFrame(rows)


ML = ml_frame()
BKT = bkt_frame()
SITE_Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]  # Rubin (1981) eight schools
SITE_SE = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]
PARAMS = {"prior": 0.3, "learn": 0.2, "guess": 0.2, "slip": 0.1}


def with_(df: pd.DataFrame, **cols: Any) -> pd.DataFrame:
    out = df.copy()
    for k, v in cols.items():
        out[k] = v
    return out


def dup_columns(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """``df`` with a second column also called ``col``."""
    return pd.concat([df, df[[col]]], axis=1)


@functools.lru_cache(maxsize=None)
def bkt_model() -> pmastery.BKTModel:
    return pmastery.fit_bkt(BKT, n_restarts=2, progress=False)


@functools.lru_cache(maxsize=None)
def ml_fit() -> pmodels.MultilevelFit:
    return pmodels.multilevel("y ~ x + (1 | school)", ML)


@functools.lru_cache(maxsize=None)
def pilot_config_path(tmp: str) -> str:
    _, cfg, _ = ppilot.write_demo(os.path.join(tmp, "demo"), random_seed=3, n_schools=4)
    return str(cfg)


# ----------------------------------------------------------------------------- the table
@dataclass
class Case:
    name: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    names: tuple[str, ...] = ()  # words one of which a PlmError must contain
    expect: str | None = None  # "error", "result", "result+note" or None (any allowed class)
    allow_nan: tuple[str, ...] = ()


def C(name, fn, *args, names=(), expect=None, allow_nan=(), **kwargs) -> Case:
    return Case(name, fn, args, kwargs, tuple([names] if isinstance(names, str) else names), expect,
                tuple(allow_nan))


def E(name, fn, *args, names=(), **kwargs) -> Case:
    """A case that must be a PlmError naming one of ``names``."""
    return C(name, fn, *args, names=names, expect="error", **kwargs)


M = pmodels
K = pmastery
D = pdata
P = ppilot
F = "y ~ x + (1 | school)"

CASES: list[Case] = [
    # ---- models.multilevel and its engines
    E("issue18_multilevel_ci_level_95", M.multilevel, F, ML, ci_level=95, names="ci_level"),
    E("issue18_multilevel_reml_no", M.multilevel, F, ML, reml="no", names="reml"),
    # the formula itself contains 'x', so the message must name the column as the constant predictor
    E("issue18_multilevel_constant_predictor_named", M.multilevel, F, with_(ML, x=1.0), names="predictor 'x'"),
    E("issue18_multilevel_duplicate_column", M.multilevel, F, dup_columns(ML, "x"), names="x"),
    E("multilevel_ci_level_zero", M.multilevel, F, ML, ci_level=0, names="ci_level"),
    E("multilevel_ci_level_nan", M.multilevel, F, ML, ci_level=float("nan"), names="ci_level"),
    E("multilevel_ci_level_text", M.multilevel, F, ML, ci_level="95%", names="ci_level"),
    E("multilevel_pls_ci_level_95", M.multilevel, F, ML, engine="pls", ci_level=95, names="ci_level"),
    E("multilevel_pls_reml_text", M.multilevel, F, ML, engine="pls", reml="yes", names="reml"),
    E("multilevel_engine_unknown", M.multilevel, F, ML, engine="lme4", names="engine"),
    E("multilevel_engine_list", M.multilevel, F, ML, engine=["pls"], names="engine"),
    E("multilevel_family_unknown", M.multilevel, F, ML, family="gamma", names="family"),
    E("multilevel_formula_none", M.multilevel, None, ML, names="formula"),
    E("multilevel_formula_no_tilde", M.multilevel, "y", ML, names="formula"),
    E("multilevel_formula_empty_group", M.multilevel, "y ~ x + (1 | )", ML, names="grouping"),
    E("multilevel_data_list", M.multilevel, F, [1, 2, 3], names="data"),
    E("multilevel_data_empty", M.multilevel, F, ML.iloc[:0], names="data"),
    E("multilevel_missing_column", M.multilevel, "y ~ xx + (1 | school)", ML, names="xx"),
    E("multilevel_text_outcome", M.multilevel, "school ~ x + (1 | school)", ML, names="school"),
    E("multilevel_one_group", M.multilevel, F, with_(ML, school="a"), names="school"),
    E("multilevel_inf_outcome", M.multilevel, F, with_(ML, y=np.r_[np.inf, ML.y.to_numpy()[1:]]), names="y"),
    E("multilevel_inf_predictor", M.multilevel, F, with_(ML, x=np.r_[-np.inf, ML.x.to_numpy()[1:]]), names="x"),
    E("multilevel_all_missing_outcome", M.multilevel, F, with_(ML, y=np.nan), names=("y", "missing")),
    E("multilevel_unknown_keyword", M.multilevel, F, ML, draws=10, names="draws"),
    E("multilevel_optimizers_empty", M.multilevel, F, ML, optimizers=(), names="optimizers"),
    E("multilevel_optimizers_unknown", M.multilevel, F, ML, optimizers=("newton-raphson",), names="optimizers"),
    E("multilevel_optimizers_string", M.multilevel, F, ML, optimizers="powell", names="optimizers"),
    E("multilevel_polish_unknown", M.multilevel, F, ML, polish="magic", names="polish"),
    E("multilevel_maxiter_zero", M.multilevel, F, ML, maxiter=0, names="maxiter"),
    E("multilevel_maxiter_fraction", M.multilevel, F, ML, maxiter=2.5, names="maxiter"),
    E("multilevel_outcome_constant", M.multilevel, F, with_(ML, y=3.0), names="y"),
    C("multilevel_predictor_equals_group", M.multilevel, "y ~ school + (1 | school)", ML),  # lme4 fits it too
    E("multilevel_collinear_predictors", M.multilevel, "y ~ x + x2 + (1 | school)", with_(ML, x2=2 * ML.x),
      names="x2"),
    C("multilevel_nullable_int_outcome", M.multilevel, F, with_(ML, y=ML.y.round().astype("Int64")), expect="result"),
    C("multilevel_nullable_float_with_na", M.multilevel, F,
      with_(ML, x=pd.array([pd.NA] + ML.x.tolist()[1:], dtype="Float64")), expect="result"),
    C("multilevel_boolean_predictor", M.multilevel, "y ~ treat + (1 | school)",
      with_(ML, treat=ML.treat.astype("boolean")), expect="result"),
    C("multilevel_categorical_group", M.multilevel, F, with_(ML, school=ML.school.astype("category")),
      expect="result"),
    C("multilevel_pls_result", M.multilevel, F, ML, engine="pls", expect="result"),
    E("fit_mixedlm_reml_int", M.fit_mixedlm, F, ML, reml=2, names="reml"),
    E("fit_lmm_ci_level_95", M.fit_lmm, F, ML, ci_level=95, names="ci_level"),
    E("fit_lmm_threads_zero", M.fit_lmm, F, ML, threads=0, names="threads"),
    E("fit_glmm_outcome_not_binary", M.fit_glmm, F, ML, names="y"),
    E("fit_glmm_family_unknown", M.fit_glmm, "yb ~ x + (1 | school)", ML, family="gaussian", names="family"),
    E("fit_glmm_nagq_zero", M.fit_glmm, "yb ~ x + (1 | school)", ML, nAGQ=0, names="nAGQ"),
    E("fit_glmm_nagq_fraction", M.fit_glmm, "yb ~ x + (1 | school)", ML, nAGQ=2.5, names="nAGQ"),
    E("fit_glmm_trials_missing", M.fit_glmm, "yb ~ x + (1 | school)", ML, trials="n", names="n"),
    E("fit_glmm_ci_level_95", M.fit_glmm, "yb ~ x + (1 | school)", ML, ci_level=95, names="ci_level"),
    E("issue18_fit_bayes_negative_prior_scale", M.fit_bayes, F, ML, prior_scale=-1.0, draws=10, tune=10,
      chains=1, names="prior_scale"),
    E("fit_bayes_draws_zero", M.fit_bayes, F, ML, draws=0, names="draws"),
    E("fit_bayes_chains_fraction", M.fit_bayes, F, ML, chains=1.5, names="chains"),
    E("fit_bayes_seed_text", M.fit_bayes, F, ML, random_seed="seven", names="random_seed"),
    E("fit_bayes_target_accept_one", M.fit_bayes, F, ML, target_accept=1.0, names="target_accept"),
    E("fit_bayes_sampler_unknown", M.fit_bayes, F, ML, sampler="gibbs", names="sampler"),
    E("fit_bayes_ci_level_95", M.fit_bayes, F, ML, ci_level=95, names="ci_level"),
    E("multilevel_bayes_prior_scale_nan", M.multilevel, F, ML, engine="bayes", prior_scale=float("nan"),
      names="prior_scale"),
    E("parse_formula_number", M.parse_formula, 3, names="formula"),
    E("parse_formula_no_outcome", M.parse_formula, "~ x + (1 | g)", names="outcome"),
    C("parse_formula_ok", M.parse_formula, "y ~ x + (1 | g/h)", expect="result"),
    # ---- models: multisite
    E("issue18_exact_site_posterior_grid_size_1", M.exact_site_posterior, SITE_Y, SITE_SE, grid_size=1,
      names="grid_size"),
    E("exact_site_posterior_grid_size_fraction", M.exact_site_posterior, SITE_Y, SITE_SE, grid_size=100.5,
      names="grid_size"),
    E("exact_site_posterior_tau_max_negative", M.exact_site_posterior, SITE_Y, SITE_SE, tau_max=-1,
      names="tau_max"),
    E("exact_site_posterior_tau_max_nan", M.exact_site_posterior, SITE_Y, SITE_SE, tau_max=float("nan"),
      names="tau_max"),
    E("exact_site_posterior_nan_estimate", M.exact_site_posterior, [1.0, np.nan, 2.0], [1, 1, 1],
      names="estimates"),
    E("exact_site_posterior_lengths", M.exact_site_posterior, SITE_Y, SITE_SE[:5], names="std_errors"),
    E("exact_site_posterior_sites_length", M.exact_site_posterior, SITE_Y, SITE_SE, sites=["a", "b"],
      names="sites"),
    E("exact_site_posterior_two_sites", M.exact_site_posterior, [1, 2], [1, 1], names="sites"),
    E("exact_site_posterior_zero_se", M.exact_site_posterior, [1, 2, 3], [1, 0, 1], names="std_errors"),
    C("exact_site_posterior_ok", M.exact_site_posterior, SITE_Y, SITE_SE, grid_size=2001, expect="result"),
    C("exact_site_posterior_identical_estimates", M.exact_site_posterior, [5.0] * 4, [1.0] * 4, grid_size=2001,
      expect="result"),
    E("pool_site_estimates_tau_prior", M.pool_site_estimates, SITE_Y, SITE_SE, tau_prior="flat", names="tau_prior"),
    E("pool_site_estimates_tau_scale_negative", M.pool_site_estimates, SITE_Y, SITE_SE, tau_prior="half_normal",
      tau_scale=-5, names="tau_scale"),
    E("pool_site_estimates_draws_zero", M.pool_site_estimates, SITE_Y, SITE_SE, draws=0, names="draws"),
    E("pool_site_estimates_ci_level_95", M.pool_site_estimates, SITE_Y, SITE_SE, ci_level=95, names="ci_level"),
    E("pool_site_estimates_seed_negative", M.pool_site_estimates, SITE_Y, SITE_SE, random_seed=-3,
      names="random_seed"),
    E("pool_site_estimates_inf_se", M.pool_site_estimates, SITE_Y, [np.inf] + SITE_SE[1:], names="std_errors"),
    E("pool_site_estimates_duplicate_sites", M.pool_site_estimates, SITE_Y, SITE_SE, sites=list("aabcdefg"),
      names="sites"),
    E("multisite_trial_missing_column", M.multisite_trial, ML, "yy", "treat", "school", names="yy"),
    E("multisite_trial_treatment_three_levels", M.multisite_trial, with_(ML, treat=np.arange(len(ML)) % 3),
      "y", "treat", "school", names="treat"),
    E("multisite_trial_draws_negative", M.multisite_trial, ML, "y", "treat", "school", draws=-1, names="draws"),
    E("multisite_trial_standardize_text", M.multisite_trial, ML, "y", "treat", "school", standardize="yes",
      names="standardize"),
    E("multisite_trial_nullable_treatment_with_na", M.multisite_trial,
      with_(ML, treat=pd.array([None] + ML.treat.tolist()[1:], dtype="boolean")), "y", "treat", "school",
      names="treat"),
    E("multisite_trial_duplicate_column", M.multisite_trial, dup_columns(ML, "y"), "y", "treat", "school",
      names="y"),
    # ---- models: centering, growth, tests, plots
    C("grand_mean_center_ok", M.grand_mean_center, ML, "x", expect="result"),
    E("grand_mean_center_missing", M.grand_mean_center, ML, "xx", names="xx"),
    E("grand_mean_center_text", M.grand_mean_center, ML, "school", names="school"),
    E("grand_mean_center_not_frame", M.grand_mean_center, [1, 2], "x", names="data"),
    E("grand_mean_center_empty_suffix", M.grand_mean_center, ML, "x", suffix="", names="suffix"),
    E("grand_mean_center_duplicate", M.grand_mean_center, dup_columns(ML, "x"), "x", names="x"),
    C("grand_mean_center_nullable", M.grand_mean_center, with_(ML, x=ML.x.astype("Float64")), "x",
      expect="result"),
    E("grand_mean_center_all_missing", M.grand_mean_center, with_(ML, x=np.nan), "x", names="x"),
    C("group_mean_center_ok", M.group_mean_center, ML, "x", "school", expect="result"),
    C("group_mean_center_categorical_group", M.group_mean_center, with_(ML, school=ML.school.astype("category"),
                                                                        x=ML.x.astype("Float64")), "x", "school",
      expect="result"),
    E("group_mean_center_same_suffixes", M.group_mean_center, ML, "x", "school", suffix="_m", mean_suffix="_m",
      names="suffix"),
    E("group_mean_center_missing_group", M.group_mean_center, ML, "x", "class", names="class"),
    E("group_mean_center_group_missing_values", M.group_mean_center,
      with_(ML, school=[None] + ML.school.tolist()[1:]), "x", "school", names="school"),
    E("group_mean_center_columns_number", M.group_mean_center, ML, 3, "school", names="columns"),
    C("growth_formula_ok", M.growth_formula, "y", "time", "student", "school", expect="result"),
    E("growth_formula_engine", M.growth_formula, "y", "time", "student", engine="sas", names="engine"),
    E("growth_formula_empty_outcome", M.growth_formula, "", "time", "student", names="outcome"),
    E("growth_formula_time_is_student", M.growth_formula, "y", "id", "id", names=("time", "student")),
    E("growth_model_missing_time", M.growth_model, ML, "y", "time", "school", names="time"),
    E("growth_model_engine", M.growth_model, ML, "y", "x", "school", engine="sas", names="engine"),
    E("likelihood_ratio_test_not_fits", M.likelihood_ratio_test, 1, 2, names="restricted"),
    C("likelihood_ratio_test_reml_note", lambda: M.likelihood_ratio_test(
        M.multilevel("y ~ 1 + (1 | school)", ML, reml=False), M.multilevel(F, ML, reml=False)),
      allow_nan=("Chisq", "Df", "p_value")),  # R's anova() layout: the first row has no test
    E("profile_ci_not_fit", M.profile_ci, "fit", names="fit"),
    E("profile_ci_level_95", lambda: M.profile_ci(M.fit_lmm(F, ML), level=95), names="level"),
    E("diagnostics_not_idata", M.diagnostics, {"a": 1}, names="idata"),
    E("caterpillar_plot_not_fit", M.caterpillar_plot, None, names="fit"),
    E("caterpillar_plot_group_unknown", lambda: M.caterpillar_plot(ml_fit(), group="district"), names="district"),
    E("caterpillar_plot_max_groups_zero", lambda: M.caterpillar_plot(ml_fit(), max_groups=0), names="max_groups"),
    E("posterior_rope_plot_not_estimate", M.posterior_rope_plot, 0.3, names="estimate"),
    E("trace_rank_plot_not_idata", M.trace_rank_plot, None, ["mu"], names="idata"),
    C("default_sampler_result", M.default_sampler, expect="result"),
    E("variance_unknown_group", lambda: ml_fit().variance("district"), names="district"),
    E("estimate_unknown_term", lambda: ml_fit().estimate("z"), names="z"),
    # ---- mastery
    C("fit_bkt_ok", lambda: bkt_model().params, expect="result"),
    E("fit_bkt_n_restarts_zero", K.fit_bkt, BKT, n_restarts=0, progress=False, names="n_restarts"),
    E("fit_bkt_seed_negative", K.fit_bkt, BKT, random_seed=-1, progress=False, names="random_seed"),
    E("fit_bkt_seed_fraction", K.fit_bkt, BKT, random_seed=1.5, progress=False, names="random_seed"),
    E("fit_bkt_seed_text", K.fit_bkt, BKT, random_seed="1", progress=False, names="random_seed"),
    E("fit_bkt_bounds_unknown", K.fit_bkt, BKT, bounds="tight", progress=False, names="bounds"),
    E("fit_bkt_bounds_reversed", K.fit_bkt, BKT, bounds={"guess": (0.5, 0.1)}, progress=False, names="guess"),
    E("fit_bkt_bounds_outside_unit", K.fit_bkt, BKT, bounds={"guess": (-0.5, 2.0)}, progress=False, names="guess"),
    E("fit_bkt_tol_nan", K.fit_bkt, BKT, tol=float("nan"), progress=False, names="tol"),
    E("fit_bkt_forgets_text", K.fit_bkt, BKT, forgets="yes", progress=False, names="forgets"),
    E("fit_bkt_n_jobs_zero", K.fit_bkt, BKT, n_jobs=0, progress=False, names="n_jobs"),
    E("fit_bkt_convergence", K.fit_bkt, BKT, convergence="em", progress=False, names="convergence"),
    E("fit_bkt_progress_text", K.fit_bkt, BKT, progress="no", names="progress"),
    E("fit_bkt_skills_unknown", K.fit_bkt, BKT, skills=["mul"], progress=False, names="skills"),
    E("fit_bkt_skills_string", K.fit_bkt, BKT, skills="add", progress=False, names="skills"),
    E("fit_bkt_duplicate_column", K.fit_bkt, dup_columns(BKT, "correct"), progress=False, names="correct"),
    E("fit_bkt_missing_column", K.fit_bkt, BKT, correct="right", progress=False, names="right"),
    E("fit_bkt_correct_partial_credit", K.fit_bkt, with_(BKT, correct=BKT.correct * 0.5), progress=False,
      names="correct"),
    E("fit_bkt_unsorted_order", K.fit_bkt, BKT.iloc[::-1], progress=False, names="order"),
    E("fit_bkt_order_text", K.fit_bkt, with_(BKT, order=BKT.order.astype(str)), progress=False, names="order"),
    E("fit_bkt_not_frame", K.fit_bkt, BKT.to_dict("list"), progress=False, names="df"),
    C("fit_bkt_nullable_correct", K.fit_bkt, with_(BKT, correct=BKT.correct.astype("Int64")), n_restarts=2,
      progress=False, expect="result"),
    C("fit_bkt_boolean_correct", K.fit_bkt, with_(BKT, correct=BKT.correct.astype("boolean")), n_restarts=2,
      progress=False, expect="result"),
    C("fit_bkt_categorical_skill", K.fit_bkt, with_(BKT, skill=BKT.skill.astype("category")), n_restarts=2,
      progress=False, expect="result"),
    C("fit_bkt_nullable_order", K.fit_bkt, with_(BKT, order=BKT.order.astype("Int64")), n_restarts=2,
      progress=False, expect="result"),
    E("fit_bkt_nullable_correct_with_na", K.fit_bkt,
      with_(BKT, correct=pd.array([pd.NA] + BKT.correct.tolist()[1:], dtype="Int64")), progress=False,
      names="correct"),
    # a model fitted on a skill called "overall": its row and the pooled row used to share one label
    E("issue18_bkt_evaluate_skill_named_overall", lambda df: K.fit_bkt(df, n_restarts=2, progress=False).evaluate(df),
      with_(BKT, skill=BKT.skill.replace({"sub": "overall"})), names="skill named 'overall'"),
    E("bkt_predict_unseen_unknown", lambda: bkt_model().predict(BKT, unseen="ignore"), names="unseen"),
    E("bkt_predict_unseen_skill", lambda df: bkt_model().predict(df), with_(BKT, skill="mul"), names="mul"),
    C("bkt_evaluate_ok", lambda: bkt_model().evaluate(BKT), expect="result", allow_nan=("auc",)),
    E("evaluate_predictions_overall_skill", K.evaluate_predictions,
      with_(BKT, skill="overall", p_correct=0.5), names="overall"),
    C("evaluate_predictions_nullable_float", K.evaluate_predictions,
      with_(BKT, p_correct=pd.array([0.5] * len(BKT), dtype="Float64"), correct=BKT.correct.astype("boolean")),
      expect="result", allow_nan=("auc",)),
    C("opportunity_counts_categorical", K.opportunity_counts, with_(BKT, skill=BKT.skill.astype("category")),
      expect="result"),
    C("mastery_opportunities_nullable", K.mastery_opportunities,
      with_(BKT, correct=BKT.correct.astype("boolean"), order=BKT.order.astype("Int64")),
      rules=[K.MovingWindow(3, 2)], allow_nan=("2-of-last-3",)),
    E("evaluate_predictions_p_outside", K.evaluate_predictions, with_(BKT, p_correct=1.5), names="p_correct"),
    E("evaluate_predictions_p_nan", K.evaluate_predictions, with_(BKT, p_correct=np.nan), names="p_correct"),
    E("evaluate_predictions_p_text", K.evaluate_predictions, with_(BKT, p_correct="high"), names="p_correct"),
    C("evaluate_predictions_single_class", K.evaluate_predictions, with_(BKT, correct=1, p_correct=0.7),
      allow_nan=("auc",)),
    E("fit_afm_missing", K.fit_afm, BKT, skill="kc", names="kc"),
    E("fit_afm_n_nodes_zero", K.fit_afm, BKT, n_nodes=0, names="n_nodes"),
    E("fit_afm_std_errors_text", K.fit_afm, BKT, std_errors="no", names="std_errors"),
    E("fit_afm_duplicate_column", K.fit_afm, dup_columns(BKT, "skill"), names="skill"),
    C("opportunity_counts_ok", K.opportunity_counts, BKT, expect="result"),
    E("opportunity_counts_missing", K.opportunity_counts, BKT, student="learner", names="learner"),
    E("opportunity_counts_not_frame", K.opportunity_counts, None, names="df"),
    E("consecutive_correct_zero", K.ConsecutiveCorrect, 0, names="n"),
    E("moving_window_min_above_window", K.MovingWindow, 3, 5, names="min_correct"),
    E("bkt_threshold_above_one", K.BKTThreshold, 1.5, names="threshold"),
    E("first_mastery_no_rules", K.first_mastery, [], np.array([1, 1, 1], dtype=np.int8), np.array([0, 3]),
      names="rules"),
    E("first_mastery_obs_text", K.first_mastery, [K.ConsecutiveCorrect(2)], ["a", "b"], np.array([0, 2]),
      names="obs"),
    E("first_mastery_seq_start_wrong", K.first_mastery, [K.ConsecutiveCorrect(2)], np.array([1, 1, 0]),
      np.array([0, 7]), names="seq_start"),
    C("mastery_opportunities_ok", K.mastery_opportunities, BKT, rules=[K.ConsecutiveCorrect(3)],
      allow_nan=("3-CCR",)),  # NaN = the rule never declared mastery (documented)
    E("mastery_opportunities_threshold_without_model", K.mastery_opportunities, BKT,
      rules=[K.BKTThreshold(0.95)], names="model"),
    E("mastery_opportunities_rules_text", K.mastery_opportunities, BKT, rules="3-CCR", names="rules"),
    E("summarize_opportunities_missing", K.summarize_opportunities, BKT[["skill"]], names="student"),
    E("learning_curve_missing", K.learning_curve, BKT, names="p_correct"),
    E("learning_curve_max_opportunity_zero", K.learning_curve, with_(BKT, p_correct=0.5), max_opportunity=0,
      names="max_opportunity"),
    E("mastery_trajectories_threshold", K.mastery_trajectories, with_(BKT, p_mastered=0.5), ["st1"], "add",
      threshold=2, names="threshold"),
    E("mastery_trajectories_unknown_student", K.mastery_trajectories, with_(BKT, p_mastered=0.5), ["nobody"],
      "add", names="nobody"),
    E("parameter_plot_no_parameter_columns", K.parameter_plot, pd.DataFrame({"a": [0.1]}), names="params"),
    C("parameter_plot_some_columns", K.parameter_plot, pd.DataFrame({"prior": [0.1]}), expect="result"),
    C("consecutive_correct_text_number", lambda: K.mastery_opportunities(BKT, rules=[K.ConsecutiveCorrect("3")]),
      allow_nan=("3-CCR",)),
    E("bkt_evaluate_by_skill_text", lambda: bkt_model().evaluate(BKT, by_skill="yes"), names="by_skill"),
    E("learning_curve_min_students_negative", K.learning_curve, with_(BKT, p_correct=0.5), min_students=-1,
      names="min_students"),
    E("simulate_mastery_rules_text", K.simulate_mastery, PARAMS, rules="3-CCR", n_students=5, names="rules"),
    C("simulate_mastery_ok", K.simulate_mastery, PARAMS, n_students=50, max_opportunities=10,
      allow_nan=("mean_overpractice", "mean_underpractice")),
    E("simulate_mastery_prior_above_one", K.simulate_mastery, {**PARAMS, "prior": 1.5}, n_students=5,
      names="prior"),
    E("simulate_mastery_n_students_zero", K.simulate_mastery, PARAMS, n_students=0, names="n_students"),
    E("simulate_mastery_seed_text", K.simulate_mastery, PARAMS, n_students=5, random_seed="x",
      names="random_seed"),
    E("simulate_matrix_opportunities_fraction", K.simulate_matrix, PARAMS, 5, 2.5, names="n_opportunities"),
    E("simulate_matrix_seed_negative", K.simulate_matrix, PARAMS, 5, 5, random_seed=-1, names="random_seed"),
    E("simulate_responses_params_list", K.simulate_responses, [0.1, 0.2], 5, 5, names="params"),
    E("simulate_responses_params_frame_nan", K.simulate_responses,
      pd.DataFrame([{**PARAMS, "prior": np.nan}], index=["add"]), 5, 5, names="prior"),
    C("simulate_responses_ok", K.simulate_responses, PARAMS, 5, 5, expect="result"),
    # ---- data
    E("issue18_load_dataset_list", D.load_dataset, ["hsb"], names="name"),
    E("load_dataset_none", D.load_dataset, None, names="name"),
    E("load_dataset_unknown", D.load_dataset, "hsbb", names="hsb"),
    E("load_dataset_empty", D.load_dataset, "", names="name"),
    E("dataset_card_number", D.dataset_card, 3, names="name"),
    E("fetch_dataset_list", D.fetch_dataset, ["hsb"], names="name"),
    E("fetch_file_unknown_file", D.fetch_file, "hsb", "nope.csv", names="nope.csv"),
    E("fetch_file_dataset_list", D.fetch_file, ["hsb"], "x.csv", names="dataset"),
    C("list_datasets_result", D.list_datasets, expect="result"),
    C("cache_dir_result", D.cache_dir, expect="result"),
    E("detect_identifier_columns_not_frame", D.detect_identifier_columns, [1, 2], names="df"),
    E("detect_identifier_columns_sample_size_zero", D.detect_identifier_columns, ML, sample_size=0,
      names="sample_size"),
    E("detect_identifier_columns_seed_text", D.detect_identifier_columns, ML, random_seed="a", names="random_seed"),
    E("detect_identifier_columns_drop_unknown", D.detect_identifier_columns, ML, drop=["ssn"], names="ssn"),
    E("detect_identifier_columns_duplicate", D.detect_identifier_columns, dup_columns(ML, "school"),
      names="school"),
    C("detect_identifier_columns_ok", D.detect_identifier_columns, ML, expect="result"),
    C("detect_identifier_columns_nullable", D.detect_identifier_columns,
      with_(ML, treat=ML.treat.astype("boolean"), x=ML.x.astype("Float64"))),
    E("pseudonymize_length_zero", D.pseudonymize, ["a", "b"], key="k", length=0, names="length"),
    E("pseudonymize_length_huge", D.pseudonymize, ["a", "b"], key="k", length=1000, names="length"),
    E("pseudonymize_key_number", D.pseudonymize, ["a", "b"], key=3, names="key"),
    E("pseudonymize_prefix_number", D.pseudonymize, ["a", "b"], key="k", prefix=3, names="prefix"),
    E("pseudonymize_not_sequence", D.pseudonymize, 17, key="k", names="series"),
    C("pseudonymize_with_missing", D.pseudonymize, pd.Series(["a", None, "b"]), key="k"),
    E("read_table_missing_file", D.read_table, "/nonexistent/students.csv", names="students.csv"),
    E("read_table_directory", D.read_table, "/tmp", names="/tmp"),
    E("read_table_path_number", D.read_table, 3, names="path"),
    E("suppress_small_cells_threshold_negative", D.suppress_small_cells, pd.DataFrame({"n": [3, 20]}), "n",
      threshold=-1, names="threshold"),
    E("suppress_small_cells_threshold_nan", D.suppress_small_cells, pd.DataFrame({"n": [3, 20]}), "n",
      threshold=float("nan"), names="threshold"),
    E("suppress_small_cells_missing", D.suppress_small_cells, pd.DataFrame({"n": [3, 20]}), "count", names="count"),
    C("suppress_small_cells_text_digits", D.suppress_small_cells, pd.DataFrame({"n": ["3", "20"]}), "n"),
    E("suppress_small_cells_text_counts", D.suppress_small_cells, pd.DataFrame({"n": ["three", "20"]}), "n",
      names="n"),
    E("suppress_small_cells_duplicate", D.suppress_small_cells, pd.DataFrame([[3, 4], [20, 30]], columns=["n", "n"]),
      "n", names="n"),
    C("suppress_small_cells_nullable", D.suppress_small_cells, pd.DataFrame({"n": pd.array([3, 20, None],
                                                                                         dtype="Int64")}), "n"),
    # ---- pilot
    E("load_config_missing", P.load_config, "/nonexistent/pilot.yaml", names="pilot.yaml"),
    E("load_config_number", P.load_config, 3, names="path"),
    E("load_pilot_data_not_config", P.load_pilot_data, {"data_file": "x.csv"}, names="config"),
    E("simulate_district_n_schools_zero", P.simulate_district, n_schools=0, names="n_schools"),
    E("simulate_district_design_unknown", P.simulate_district, design="rct", names="design"),
    E("simulate_district_true_effect_nan", P.simulate_district, true_effect=float("nan"), names="true_effect"),
    E("simulate_district_icc_above_one", P.simulate_district, icc_school=1.5, names="icc_school"),
    E("simulate_district_attrition_negative", P.simulate_district, attrition=-0.1, names="attrition"),
    E("simulate_district_seed_text", P.simulate_district, random_seed="x", names="random_seed"),
    E("simulate_district_iccs_sum_above_one", P.simulate_district, icc_school=0.6, icc_class=0.6,
      names="icc"),
    C("simulate_district_ok", P.simulate_district, n_schools=4, random_seed=1, expect="result"),
    C("init_template_result", P.init_template, expect="result"),
    E("write_template_path_number", P.write_template, 3, names="path"),
    E("write_demo_file_type", P.write_demo, "/tmp/plm-never-written", file_type="sav", names="file_type"),
]


def _case_id(c: Case) -> str:
    return c.name


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case(case: Case) -> None:
    # a multilevel fit's optimizer_trials table records failed attempts with a NaN log-likelihood, by design
    allow = case.allow_nan + ("optimizer_trials",)
    kind = outcome(SWEEP, case.fn, *case.args, names=case.names, allow_nan=allow, **case.kwargs)
    if case.expect is not None:
        assert kind.startswith(case.expect) if case.expect == "result" else kind == case.expect, (
            f"{case.name}: expected {case.expect}, got {kind}")


def test_case_names_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), [n for n, k in Counter(names).items() if k > 1]


# ----------------------------------------------------------------------------- coverage of __all__
#: public names that are not entry points a user calls with data: constants, and the result types
#: the covered functions return (their methods are swept through ``bkt_*``, ``variance_*``,
#: ``estimate_*`` cases); each with the reason it needs no case of its own.
NOT_ENTRY_POINTS = {
    "BOUNDS": "constant (dict of bound presets; swept through fit_bkt_bounds_*)",
    "DEFAULT_RULES": "constant (tuple of rules)",
    "DESIGNS": "constant (tuple of design names)",
    "SamplingWarning": "a warning class",
    "BKTModel": "result of fit_bkt (predict/evaluate swept by bkt_* cases)",
    "AFMModel": "result of fit_afm",
    "MultilevelFit": "result of multilevel (variance/estimate swept)",
    "GlmmFit": "result of fit_glmm",
    "BayesMultilevelFit": "result of fit_bayes",
    "MultisiteFit": "result of multisite_trial / pool_site_estimates",
    "PosteriorEstimate": "result type of the Bayesian fits",
    "MixedFormula": "result of parse_formula",
    "RandomTerm": "part of a MixedFormula",
    "DatasetCard": "result of dataset_card",
    "PilotConfig": "result of load_config",
    "PilotData": "result of load_pilot_data",
    "SimulatedDistrict": "result of simulate_district",
}


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() and i else ch.lower() for i, ch in enumerate(name))


def _covered(name: str) -> bool:
    obj = None
    for mod in (pmodels, pmastery, pdata, ppilot):
        obj = getattr(mod, name, obj) if name in mod.__all__ else obj
    return any(c.fn is obj or c.name.startswith((name + "_", _snake(name) + "_")) for c in CASES) \
        or name in HYPOTHESIS_COVERED


@pytest.mark.parametrize("module", [pmodels, pmastery, pdata, ppilot], ids=lambda m: m.__name__)
def test_every_public_entry_point_is_swept(module) -> None:
    """Each name in ``__all__`` has hand-written cases, or is a constant/result type listed with a reason."""
    missing = [n for n in module.__all__ if n not in NOT_ENTRY_POINTS and not _covered(n)]
    assert not missing, f"{module.__name__}: public entry points without a sweep case: {missing}"
    stale = [n for n in NOT_ENTRY_POINTS if not any(n in m.__all__ for m in (pmodels, pmastery, pdata, ppilot))]
    assert not stale, f"NOT_ENTRY_POINTS lists names that are no longer public: {stale}"
    for n in module.__all__:
        if n not in NOT_ENTRY_POINTS:
            assert callable(getattr(module, n)), n


# ----------------------------------------------------------------------------- hypothesis strategies
#: entry points driven by the strategies below (besides the table)
HYPOTHESIS_COVERED = {"multilevel", "fit_bkt", "evaluate_predictions", "grand_mean_center", "group_mean_center",
                      "exact_site_posterior", "simulate_responses", "suppress_small_cells", "pseudonymize",
                      "load_dataset", "dataset_card", "simulate_district", "detect_identifier_columns"}

#: odd values for a numeric argument: out of range, non-finite, wrong type
ODD_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-3, 5),
    st.sampled_from(["0.95", "", None, [0.9], True, False, 1e300, -0.0]),
)
#: a valid value half the time, so the frame's damage (not only the argument) decides some outcomes
def mostly(valid, odd):
    return st.one_of(st.just(valid), odd)


ODD_FLAGS = st.sampled_from([True, False, "no", "yes", 0, 1, None, np.bool_(True), "False"])
ODD_SEEDS = st.one_of(st.integers(-5, 2**40), st.sampled_from([None, 1.5, "7", True, np.int64(3), [1, 2]]))
#: dtypes a numeric column may arrive in; the nullable ones mean the same thing as float/int
NUMERIC_DTYPES = ["float64", "Float64", "Int64", "object-text", "category", "int-as-text"]


def _retype(s: pd.Series, kind: str) -> pd.Series:
    if kind == "Int64":
        return s.round().astype("Int64")
    if kind == "object-text":
        return s.map(lambda v: f"{v:.2f}" if pd.notna(v) else v).astype(object)
    if kind == "int-as-text":
        return s.round().map(lambda v: str(int(v)) if pd.notna(v) else v).astype(object)
    if kind == "category":
        return s.astype("category")
    return s.astype(kind)


@st.composite
def damaged_frames(draw, base: pd.DataFrame, numeric: list[str], keys: list[str]) -> pd.DataFrame:
    """``base`` with some of: retyped columns, missing or infinite cells, a constant or duplicated column."""
    df = base.copy()
    for c in numeric:
        kind = draw(st.sampled_from(NUMERIC_DTYPES + ["float64"] * 3))
        col = df[c].astype(float)
        if draw(st.booleans()):
            rows = draw(st.lists(st.integers(0, len(df) - 1), max_size=4))
            fill = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
            col.iloc[rows] = fill
            if np.isinf(fill) and kind not in ("float64", "Float64"):
                kind = "float64"  # nullable ints cannot hold infinity
        if draw(st.integers(0, 9)) == 0:
            col[:] = 1.0
        df[c] = _retype(col, kind)
    for c in keys:
        kind = draw(st.sampled_from(["str", "category", "codes", "str"]))
        if kind == "category":
            df[c] = df[c].astype("category")
        elif kind == "codes":
            df[c] = pd.Series(pd.factorize(df[c])[0], index=df.index).astype("Int64")
        if draw(st.integers(0, 7)) == 0:
            df.loc[df.index[0], c] = None
    if draw(st.integers(0, 7)) == 0:
        df = dup_columns(df, draw(st.sampled_from(numeric + keys)))
    return df


def _run(fn, *args, names=(), allow_nan=(), **kwargs) -> str:
    return outcome(SWEEP, fn, *args, names=names, allow_nan=tuple(allow_nan) + ("optimizer_trials",), **kwargs)


@HYP
@given(df=damaged_frames(ML[["y", "x", "school"]], ["y", "x"], ["school"]), ci=mostly(0.95, ODD_NUMBERS),
       reml=mostly(True, ODD_FLAGS),
       engine=st.sampled_from(["statsmodels", "pls", "lme4"]))
def test_hypothesis_multilevel(df, ci, reml, engine) -> None:
    _run(M.multilevel, F, df, engine=engine, ci_level=ci, reml=reml,
         names=("ci_level", "reml", "engine", "y", "x", "school", "data"))


@HYP
@given(df=damaged_frames(BKT, ["correct", "order"], ["skill", "student"]), n_restarts=st.integers(-1, 2),
       seed=mostly(0, ODD_SEEDS), forgets=mostly(False, ODD_FLAGS), tol=mostly(1e-3, ODD_NUMBERS))
def test_hypothesis_fit_bkt(df, n_restarts, seed, forgets, tol) -> None:
    _run(K.fit_bkt, df, n_restarts=n_restarts, random_seed=seed, forgets=forgets, tol=tol, progress=False,
         names=("n_restarts", "random_seed", "forgets", "tol", "correct", "order", "skill", "student", "df"))


@HYP
@given(p=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=len(BKT), max_size=len(BKT)),
       skill_names=st.sampled_from([("add", "sub"), ("add", "overall"), (1, 2), ("overall", "x")]))
def test_hypothesis_evaluate_predictions(p, skill_names) -> None:
    df = with_(BKT, p_correct=p, skill=BKT.skill.map(dict(zip(("add", "sub"), skill_names))))
    _run(K.evaluate_predictions, df, names=("p_correct", "skill", "overall"), allow_nan=("auc",))


@HYP
@given(df=damaged_frames(ML[["x", "school"]], ["x"], ["school"]), suffix=st.sampled_from(["_c", "", 3, None]))
def test_hypothesis_centering(df, suffix) -> None:
    # a missing value stays missing in its centred copy
    _run(M.grand_mean_center, df, "x", suffix=suffix, names=("x", "suffix", "data"), allow_nan=("x", "school"))
    _run(M.group_mean_center, df, "x", "school", suffix=suffix, names=("x", "school", "suffix", "data"),
         allow_nan=("x", "school"))  # a group whose values are all missing has no mean


@HYP
@given(y=st.lists(st.floats(-50, 50, allow_nan=False) | st.sampled_from([np.nan, np.inf]), min_size=0, max_size=6),
       se=st.lists(st.floats(-1, 30) | st.sampled_from([np.nan, 0.0]), min_size=0, max_size=6),
       grid=st.one_of(st.integers(-1, 400), st.sampled_from([1.5, "100", None])),
       tau_max=st.one_of(st.none(), ODD_NUMBERS))
def test_hypothesis_exact_site_posterior(y, se, grid, tau_max) -> None:
    _run(M.exact_site_posterior, y, se, grid_size=grid, tau_max=tau_max,
         names=("estimates", "std_errors", "grid_size", "tau_max", "sites"))


@HYP
@given(params=st.fixed_dictionaries({k: ODD_NUMBERS for k in ("prior", "learn", "guess", "slip")}),
       n=st.one_of(st.integers(-1, 6), st.sampled_from([2.5, "3"])), seed=ODD_SEEDS)
def test_hypothesis_simulate_responses(params, n, seed) -> None:
    _run(K.simulate_responses, params, n, 4, random_seed=seed,
         names=("prior", "learn", "guess", "slip", "n_students", "random_seed", "params"))


@HYP
@given(counts=st.lists(st.one_of(st.integers(-2, 40), st.sampled_from([np.nan, 2.5, "x", "7"])), min_size=1,
                       max_size=6),
       threshold=mostly(10, ODD_NUMBERS), mask_zero=st.booleans())
def test_hypothesis_suppress_small_cells(counts, threshold, mask_zero) -> None:
    table = pd.DataFrame({"group": [f"g{i}" for i in range(len(counts))], "n": counts,
                          "mean": np.linspace(1, 2, len(counts))})
    _run(D.suppress_small_cells, table, "n", threshold=threshold, mask_zero=mask_zero,
         names=("n", "threshold", "count_columns"))


@HYP
@given(values=st.lists(st.one_of(st.text(max_size=6), st.integers(), st.floats(allow_nan=True), st.none()),
                       max_size=8),
       length=st.one_of(st.integers(-2, 80), st.sampled_from([8.5, "16"])),
       prefix=st.sampled_from(["", "s-", 3, None]))
def test_hypothesis_pseudonymize(values, length, prefix) -> None:
    _run(D.pseudonymize, pd.Series(values, dtype=object), key="k", length=length, prefix=prefix,
         names=("length", "prefix", "series"))


@HYP
@given(name=st.one_of(st.text(max_size=8), st.sampled_from(["hsb", "HSB", " hsb", None, 3, ["hsb"], ("hsb",),
                                                             {"hsb": 1}])))
def test_hypothesis_dataset_names(name) -> None:
    _run(D.dataset_card, name, names=("name", "dataset"))
    if name == "hsb":
        return  # loading a real dataset is covered elsewhere
    _run(D.load_dataset, name, names=("name", "dataset"))


@HYP
@given(kw=st.fixed_dictionaries({}, optional={
    "n_schools": st.one_of(st.integers(-1, 5), st.sampled_from([2.5, "4"])),
    "design": st.sampled_from(["cluster_rct", "multisite", "individual_rct", "comparison_schools", "rct", 3]),
    "true_effect": ODD_NUMBERS, "icc_school": ODD_NUMBERS, "attrition": ODD_NUMBERS,
    "random_seed": ODD_SEEDS}))
def test_hypothesis_simulate_district(kw) -> None:
    kw.setdefault("n_schools", 3)
    if isinstance(kw["n_schools"], int) and kw["n_schools"] > 4:
        kw["n_schools"] = 4
    _run(P.simulate_district, classes_per_school=2, students_per_class=6, **kw,
         names=tuple(kw) + ("icc", "attrition"))


@HYP
@given(df=damaged_frames(ML[["x", "school"]], ["x"], ["school"]), seed=ODD_SEEDS)
def test_hypothesis_detect_identifier_columns(df, seed) -> None:
    _run(D.detect_identifier_columns, df, random_seed=seed, names=("random_seed", "x", "school", "df"),
         allow_nan=("share_matching",))
