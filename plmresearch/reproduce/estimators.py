"""The named estimators a study spec can call.

Each takes the study's data frame, the :class:`~plmresearch.study.Study` and its
``params`` and returns a flat ``{value name: number}`` mapping that the spec's
targets pick from. They are thin: the statistics live in ``effects``,
``causal``, ``models`` and ``mastery``; what is here is each publication's
construction of its sample and outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plmresearch.errors import SpecError
from plmresearch.validation import closest


@dataclass(frozen=True)
class StudyEstimator:
    name: str
    func: Callable[..., dict[str, float]]
    params: tuple[str, ...]
    column_params: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    doc: str = field(default="", compare=False)


ESTIMATORS: dict[str, StudyEstimator] = {}


def register(name: str, params=(), column_params=(), values=()):
    def deco(func):
        ESTIMATORS[name] = StudyEstimator(name, func, tuple(params), tuple(column_params), tuple(values), func.__doc__ or "")
        return func

    return deco


def get_estimator(name: str) -> StudyEstimator:
    if name not in ESTIMATORS:
        raise SpecError(f"Unknown estimator '{name}'.{closest(name, ESTIMATORS)} Known: {sorted(ESTIMATORS)}.")
    return ESTIMATORS[name]


# --------------------------------------------------------------------------- Project STAR

def percentile_vs_control(x: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Percentile (0-100) of each score in the control distribution, ties counted half.

    Krueger (1999, section II): within a grade and subtest, each student's raw score
    is ranked among regular and regular/aide students; 100 [P(c < x) + P(c = x)/2].
    """
    c = np.sort(control[~np.isnan(control)])
    lo = np.searchsorted(c, x, "left")
    hi = np.searchsorted(c, x, "right")
    return np.where(np.isnan(x), np.nan, 100 * (lo + 0.5 * (hi - lo)) / len(c))


def star_percentile_frame(star_long: pd.DataFrame, grade: str) -> pd.DataFrame:
    """One grade of STAR with Krueger's percentile outcome and the covariates of Table V."""
    d = star_long[star_long["grade"] == grade].copy()
    control = d["class_type"].isin(["regular", "regular+aide"]).to_numpy()
    pcts = []
    for subject in ("read", "math"):
        x = d[subject].to_numpy(dtype=float)
        pcts.append(percentile_vs_control(x, x[control]))
    both = np.vstack(pcts)
    n_avail = np.sum(~np.isnan(both), axis=0)
    # average of the subtests the student took; missing when neither was taken
    d["pct"] = np.where(n_avail > 0, np.nansum(both, axis=0) / np.maximum(n_avail, 1), np.nan)
    d["small"] = (d["class_type"] == "small").astype(float)
    d["regaide"] = (d["class_type"] == "regular+aide").astype(float)
    d["white_asian"] = d["ethnicity"].isin(["white", "asian"]).astype(float).where(d["ethnicity"].notna())
    d["girl"] = (d["gender"] == "female").astype(float).where(d["gender"].notna())
    d["free_lunch_f"] = d["free_lunch"].astype(float)
    d["white_teacher"] = (d["teacher_race"] == "white").astype(float).where(d["teacher_race"].notna())
    d["masters"] = d["teacher_degree"].isin(["MS/MA/MEd", "MA+", "Ed.S", "Ed.D/Ph.D"]).astype(float).where(
        d["teacher_degree"].notna()
    )
    return d


def _initial_assignment(star_long: pd.DataFrame) -> pd.Series:
    first = star_long.sort_values("years_in_star").drop_duplicates("student")
    return first.set_index("student")["class_type"]


KRUEGER_COLUMNS = {
    1: [],
    2: ["C(school)"],
    3: ["C(school)", "white_asian", "girl", "free_lunch_f"],
    4: ["C(school)", "white_asian", "girl", "free_lunch_f", "white_teacher", "teacher_experience", "masters"],
}


@register("krueger_table5", params=("grade", "column"), values=("small", "small_se", "regaide", "regaide_se", "n"))
def krueger_table5(df, study, fast=False, grade="K", column=1):
    """Krueger (1999) Table V, columns 1-4: OLS of the average percentile score on
    actual class type, SEs clustered by class (teacher)."""
    import statsmodels.formula.api as smf

    if column not in KRUEGER_COLUMNS:
        raise SpecError(f"krueger_table5: column must be 1-4, got {column!r}.")
    d = star_percentile_frame(df, str(grade))
    terms = ["small", "regaide"] + KRUEGER_COLUMNS[column]
    needed = ["pct", "teacher", "school"] + [t for t in terms if not t.startswith("C(")]
    d = d[needed].dropna()
    fit = smf.ols("pct ~ " + " + ".join(terms), d).fit(cov_type="cluster", cov_kwds={"groups": d["teacher"]})
    return {
        "small": fit.params["small"], "small_se": fit.bse["small"],
        "regaide": fit.params["regaide"], "regaide_se": fit.bse["regaide"], "n": float(fit.nobs),
    }


@register("star_itt_iv", params=("grade",), values=("itt", "itt_se", "late", "late_se", "first_stage", "n", "compliance"))
def star_itt_iv(df, study, fast=False, grade="1"):
    """Small class vs regular (with or without aide): intention-to-treat on the *initial*
    assignment, and the effect of attending a small class in ``grade`` by 2SLS with the
    initial assignment as instrument (school fixed effects, SEs clustered by class)."""
    from plmresearch.causal import iv_late

    initial = _initial_assignment(df)
    d = star_percentile_frame(df, str(grade))
    d["assigned_small"] = (d["student"].map(initial) == "small").astype(float)
    d = d[["pct", "small", "assigned_small", "school", "teacher"]].dropna()
    schools = pd.get_dummies(d["school"], prefix="school", drop_first=True, dtype=float)
    d = pd.concat([d.reset_index(drop=True), schools.reset_index(drop=True)], axis=1)
    est = iv_late(d, outcome="pct", treatment_received="small", assignment="assigned_small",
                  covariates=list(schools.columns), cluster="teacher")
    out = {"late": est.estimate, "late_se": est.std_error, "n": float(len(d))}
    extra = est.extra or {}
    for key in ("itt", "itt_se", "first_stage", "compliance"):
        if key in extra:
            out[key] = float(extra[key])
    if "itt" not in out:
        import statsmodels.formula.api as smf

        fit = smf.ols("pct ~ assigned_small + " + " + ".join(schools.columns), d).fit(
            cov_type="cluster", cov_kwds={"groups": d["teacher"]})
        out["itt"], out["itt_se"] = fit.params["assigned_small"], fit.bse["assigned_small"]
    out.setdefault("compliance", float(d.loc[d.assigned_small == 1, "small"].mean() - d.loc[d.assigned_small == 0, "small"].mean()))
    out.setdefault("first_stage", out["compliance"])
    return out


# --------------------------------------------------------------------------- generic regressions

@register("ols_ancova", params=("outcome", "treatment", "covariates", "reference"),
          column_params=("outcome", "treatment", "covariates"))
def ols_ancova(df, study, fast=False, outcome=None, treatment=None, covariates=(), reference=None):
    """ANCOVA by OLS (classical SEs, as R's ``lm``): outcome on a categorical treatment and
    covariates; returns each treatment contrast against ``reference`` and its SE."""
    import statsmodels.formula.api as smf

    outcome = outcome or study.outcome
    treatment = treatment or study.treatment
    d = df[[outcome, treatment, *covariates]].dropna()
    levels = list(d[treatment].cat.categories) if isinstance(d[treatment].dtype, pd.CategoricalDtype) else sorted(d[treatment].unique())
    reference = reference or levels[0]
    term = f"C({treatment}, Treatment(reference={reference!r}))"
    fit = smf.ols(f"{outcome} ~ {' + '.join([*covariates, term])}", d).fit()
    out = {"n": float(fit.nobs), "r2": fit.rsquared}
    for lvl in levels:
        if lvl == reference:
            continue
        name = f"{term}[T.{lvl}]"
        out[f"{lvl}"] = fit.params[name]
        out[f"{lvl}_se"] = fit.bse[name]
    for c in covariates:
        out[c] = fit.params[c]
        out[f"{c}_se"] = fit.bse[c]
    return out


# --------------------------------------------------------------------------- randomized experiments

@register("causal_estimate", params=("method", "outcome", "treatment", "covariates", "imputer", "p_treated", "random_seeds"),
          column_params=("outcome", "treatment", "covariates"),
          values=("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size", "n_treated", "n_control"))
def causal_estimate(df, study, fast=False, method="difference_in_means", outcome=None, treatment=None, covariates=(),
                    imputer="rf", p_treated=0.5, random_seeds=(0,)):
    """One of :mod:`plmresearch.causal`'s randomized-experiment estimators on the study's data.

    For LOOP (random forests are random) the estimate and SE are averaged over ``random_seeds``
    (the first seed only with ``fast``)."""
    from plmresearch import causal

    outcome = outcome or study.outcome
    treatment = treatment or study.treatment
    d = df.copy()
    if d[treatment].dtype == bool:
        d[treatment] = d[treatment].astype(int)
    if method == "difference_in_means":
        fits = [causal.difference_in_means(d, outcome=outcome, treatment=treatment)]
    elif method == "lin_adjusted":
        fits = [causal.lin_adjusted(d, outcome=outcome, treatment=treatment, covariates=list(covariates))]
    elif method == "loop":
        seeds = list(random_seeds)[:1] if fast else list(random_seeds)
        fits = [causal.loop(d, outcome=outcome, treatment=treatment, covariates=list(covariates), p_treated=p_treated,
                            imputer=imputer, random_seed=s) for s in seeds]
    else:
        raise SpecError(f"causal_estimate: method must be difference_in_means, lin_adjusted or loop, got {method!r}.")
    keys = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "effect_size", "n_treated", "n_control")
    return {k: float(np.mean([getattr(f, k) for f in fits])) for k in keys}


# --------------------------------------------------------------------------- knowledge tracing

@register("bkt_heldout", params=("forgets", "n_restarts", "random_seed"),
          values=("auc", "rmse", "log_loss", "n_test", "n_skills"))
def bkt_heldout(df, study, fast=False, forgets=False, n_restarts=20, random_seed=0):
    """One BKT model per skill fitted on the train students, pooled AUC/RMSE/log-loss over every
    test response (the pyBKT-examples protocol; reproduction_targets.md section 7).

    ``fast`` changes nothing: the full protocol (20 restarts) takes seconds."""
    from plmresearch.mastery import fit_bkt

    train = df[df["split"] == "train"]
    test = df[df["split"] == "test"]
    test = test[test["skill"].isin(set(train["skill"]))]
    model = fit_bkt(train, skill="skill", student="student", correct="correct", order="position",
                    forgets=forgets, n_restarts=n_restarts, random_seed=random_seed, n_jobs=-1)
    scores = model.evaluate(test, by_skill=False).loc["overall"]
    return {"auc": float(scores["auc"]), "rmse": float(scores["rmse"]), "log_loss": float(scores["log_loss"]),
            "n_test": float(len(test)), "n_skills": float(len(model.params))}


# --------------------------------------------------------------------------- multilevel models

@register("multilevel_model", params=("formula", "engine", "draws"))
def multilevel_model(df, study, fast=False, formula=None, engine="statsmodels", draws=1000):
    """A multilevel model of :func:`plmresearch.models.multilevel` (REML by default).

    Values: ``b:<term>`` and ``se:<term>`` for fixed effects, ``var:<group>:<term>`` for a
    random-effect variance, ``cov:<group>:<term1>:<term2>`` for a covariance, ``sigma2``
    for the level-1 variance and ``icc`` for the intraclass correlation of the first group.
    """
    from plmresearch.models import multilevel

    kwargs = {}
    if engine == "bayes":
        kwargs = {"draws": min(draws, 300) if fast else draws, "random_seed": 1}
    fit = multilevel(formula, df, engine=engine, **kwargs)
    out: dict[str, float] = {}
    for r in fit.fixed_effects.itertuples():
        out[f"b:{r.term}"] = float(r.estimate)
        out[f"se:{r.term}"] = float(r.std_error)
    for r in fit.variance_components.itertuples():
        if r.group == "Residual":
            continue
        if pd.isna(r.term2):
            out[f"var:{r.group}:{r.term1}"] = float(r.variance)
        else:
            out[f"cov:{r.group}:{r.term1}:{r.term2}"] = float(r.variance)
    out["sigma2"] = float(fit.sigma2)
    first = next(k for k in out if k.startswith("var:") and k.endswith(":Intercept"))
    out["icc"] = out[first] / (out[first] + out["sigma2"])
    return out


# --------------------------------------------------------------------------- eight schools (site summaries)

def _site_columns(df, rounded):
    suffix = "_rounded" if rounded else ""
    return df["school"].astype(str).tolist(), df[f"effect{suffix}"].to_numpy(float), df[f"std_error{suffix}"].to_numpy(float)


@register("site_pooling", params=("rounded",), values=("complete_pooling", "complete_pooling_variance", "no_pooling_A",
                                                       "no_pooling_A_se", "tau2_reml"))
def site_pooling(df, study, fast=False, rounded=True):
    """Complete pooling (inverse-variance fixed effect) and no pooling (each site's own estimate)."""
    from plmresearch.effects import meta_analysis

    sites, y, se = _site_columns(df, rounded)
    fe = meta_analysis(y, se**2, method="FE")
    re = meta_analysis(y, se**2, method="REML")
    return {"complete_pooling": fe.estimate, "complete_pooling_variance": fe.std_error**2,
            "no_pooling_A": float(y[sites.index("A")]), "no_pooling_A_se": float(se[sites.index("A")]),
            "tau2_reml": re.tau2}


@register("site_hierarchical", params=("rounded", "method", "draws", "random_seed"),
          values=("mu_mean", "tau_mean", "tau_median", "theta_A_mean", "theta_A_median", "prob_A_largest"))
def site_hierarchical(df, study, fast=False, rounded=True, method="mcmc", draws=2000, random_seed=8):
    """The eight-schools hierarchical model, p(mu, tau) ∝ 1 (BDA3 5.5): exactly by integration over
    tau (``method="exact"``) or by MCMC with PyMC (``"mcmc"``; 4 chains, fewer draws with ``fast``)."""
    from plmresearch.models import exact_site_posterior, pool_site_estimates

    sites, y, se = _site_columns(df, rounded)
    if method == "exact":
        ex = exact_site_posterior(y, se, sites)
        return {"mu_mean": ex["mu_mean"], "tau_mean": ex["tau_mean"], "tau_median": ex["tau_quantiles"][0.5],
                "theta_A_mean": float(ex["theta_mean"]["A"])}
    fit = pool_site_estimates(y, se, sites, tau_prior="uniform", draws=500 if fast else draws,
                              tune=500 if fast else 1000, chains=4 if not fast else 2, random_seed=random_seed, warn=False)
    theta = fit.idata["posterior"]["theta"].stack(sample=("chain", "draw")).transpose("sample", "site").values
    a = sites.index("A")
    return {"mu_mean": fit.average_effect.estimate, "tau_mean": fit.cross_site_sd.estimate,
            "tau_median": float(np.median(fit.cross_site_sd.draws)),
            "theta_A_mean": float(theta[:, a].mean()), "theta_A_median": float(np.median(theta[:, a])),
            "prob_A_largest": float(np.mean(theta.argmax(axis=1) == a))}
