"""Mindspark RCT, Muralidharan, Singh & Ganimian (2019), AER 109(4):1426-1460.

The publication's constructions, as the data show them (every choice below was found by
reproducing the printed numbers, never by tuning toward them; the spec says which table needs
which):

* Table 1: differences in means with the SE of the equal-variance two-sample t-test (Stata
  ``ttest``; = classical OLS SE). HC1 would print 0.081 for Panel A's Hindi row (published 0.080).
* Table 2 columns 1-2 and Table 6: OLS with HC1 SEs and *no* strata effects (the printed
  "Strata fixed effects: Yes" does not match: with strata the coefficients and R-squared differ).
  Table 2 columns 3-4, Tables 3-4: strata absorbed, SEs clustered by the 19 strata with Stata
  ``xtreg, fe``'s small-sample factor G/(G-1) (N-1)/(N-K) with K = slopes + constant (the strata
  effects, nested within the clusters, are not counted); ``areg``'s K (slopes + constant + 18)
  gives 0.065 / 0.072 for Table 2's treatment SEs (published 0.064 / 0.071). The R-squared is
  the within R-squared.
* Table 5: OLS without a constant (tercile dummies), HC1, uncentred R-squared.
* Table 9 IV: ``ivreg2`` conventions -- HC0 SEs for the 2SLS coefficients, first-stage
  Angrist-Pischke F with the factor N/(N-L) (= HC1 with K = L = 21); R-squared within strata.
  OLS columns: HC1, no strata. The "90-day extrapolation" row is 90 x the *printed* coefficient
  (two significant digits); it is scored that way, and 90 x the unrounded coefficient is shown
  beside it (it differs by up to 0.004 SD).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from plmresearch.errors import SpecError
from plmresearch.reproduce.registry import register

SUBJECTS = {"math": ("m_theta_mle1", "m_theta_mle2"), "hindi": ("h_theta_mle1", "h_theta_mle2")}
TERCILES = {"math": "terc_math1", "hindi": "terc_hindi1"}
COMPETENCES = ("cm_arithmetic", "cm_word_compute", "cm_data", "cm_fraction", "cm_geometry", "cm_number",
               "cm_patterns", "ch_sentence", "ch_retrieve", "ch_inference", "ch_interpret")
GRADE_LEVEL_OUTCOMES = ("m_at_grade", "m_below_grade", "h_at_grade", "h_below_grade")


def _subject(subject: str) -> tuple[str, str]:
    if subject not in SUBJECTS:
        raise SpecError(f"subject must be one of {sorted(SUBJECTS)}, got {subject!r}.")
    return SUBJECTS[subject]


@lru_cache(maxsize=1)
def _side_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    from plmresearch.data import load_dataset

    return load_dataset("mindspark_msg2019_attendance"), load_dataset("mindspark_msg2019_items")


def analysis_frame(wide: pd.DataFrame) -> pd.DataFrame:
    """The student file with what the tables need added (a new frame; ``wide`` is not modified).

    ``att``: days attended (``att_tot`` of the attendance file; 0 for the control group and for the
    one lottery winner without a record, as the paper's Table 9 notes); ``female`` as float;
    tercile dummies ``terc_{subject}_{1,2,3}`` and their products with ``treat``; item-file scores
    with suffix ``_el`` (endline) and ``_bl`` (baseline).
    """
    att, items = _side_tables()
    d = wide.merge(att[["st_id", "att_tot"]], on="st_id", how="left", validate="1:1")
    d["att"] = d["att_tot"].fillna(0.0)
    d["female"] = d["st_female1"].astype(float)
    d["treat_f"] = d["treat"].astype(float)
    for subject, col in TERCILES.items():
        for k in (1, 2, 3):
            dummy = (d[col] == k).astype(float).where(d[col].notna())
            d[f"terc_{subject}_{k}"] = dummy
            d[f"treat_x_terc_{subject}_{k}"] = dummy * d["treat_f"]
    keep = ["st_id", *COMPETENCES, *GRADE_LEVEL_OUTCOMES]
    for rnd, suffix in (("endline", "_el"), ("baseline", "_bl")):
        part = items.loc[items["round"] == rnd, keep].rename(columns=lambda c: c if c == "st_id" else c + suffix)
        d = d.merge(part, on="st_id", how="left", validate="1:1")
    return d


def _coefs(est, names: dict[str, str]) -> dict[str, float]:
    tab = est.extra["coefficients"].set_index("term")
    out = {}
    for term, key in names.items():
        out[key] = float(tab.loc[term, "estimate"])
        out[f"{key}_se"] = float(tab.loc[term, "std_error"])
    return out


@register(values=())
def mindspark_balance(df, study, *, fast=False, panel="A"):
    """Table 1: difference treatment - control and its equal-variance t-test SE, per characteristic.

    Panel A: all 619 baseline students; panel B: the 539 present at endline.
    """
    import statsmodels.formula.api as smf

    if panel not in ("A", "B"):
        raise SpecError(f"panel must be 'A' or 'B', got {panel!r}.")
    d = analysis_frame(df)
    if panel == "B":
        d = d[d["present_endline"] == 1]
    out = {}
    for col, key in (("female", "female"), ("st_age1", "age"), ("ses_index", "ses"), ("m_theta_mle1", "math"),
                     ("h_theta_mle1", "hindi"), ("present_endline", "present")):
        s = d[[col, "treat_f"]].dropna().astype(float)
        fit = smf.ols(f"{col} ~ treat_f", s).fit()
        out[key] = float(fit.params["treat_f"])
        out[f"{key}_se"] = float(fit.bse["treat_f"])
        out[f"{key}_n_treated"] = float((s["treat_f"] == 1).sum())
        out[f"{key}_n_control"] = float((s["treat_f"] == 0).sum())
        out[f"{key}_mean_treated"] = float(s.loc[s["treat_f"] == 1, col].mean())
        out[f"{key}_mean_control"] = float(s.loc[s["treat_f"] == 0, col].mean())
    return out


@register(values=("treat", "treat_se", "baseline", "baseline_se", "constant", "constant_se", "n", "r2",
                  "r2_within", "treat_se_areg", "effect_size"))
def mindspark_itt(df, study, *, fast=False, subject="math", strata=False):
    """Table 2: endline IRT score on the lottery offer and the baseline score.

    ``strata=False``: OLS, HC1 (columns 1-2). ``strata=True``: strata absorbed, SEs clustered by
    strata, ``xtreg`` factor (columns 3-4); ``treat_se_areg`` gives ``areg``'s for comparison.
    """
    from plmresearch.causal import fe_regression

    base, end = _subject(subject)
    d = analysis_frame(df)
    if strata:
        kw = dict(absorb="strata", cluster="strata", se_type="stata")
        est = fe_regression(d, end, ["treat_f", base], stata_fe="xtreg", missing="drop", **kw)
        areg = fe_regression(d, end, ["treat_f", base], stata_fe="areg", missing="drop", **kw)
    else:
        est = fe_regression(d, end, ["treat_f", base], se_type="HC1", missing="drop")
        areg = est
    out = _coefs(est, {"treat_f": "treat", base: "baseline", "(Intercept)": "constant"})
    out.update(n=float(est.extra["n"]), r2=est.extra["r2_within"] if strata else est.extra["r2"],
               treat_se_areg=areg.std_error, effect_size=est.effect_size,
               r2_within=est.extra["r2_within"] if strata else np.nan)
    return out


@register(values=("treat", "treat_se", "covariate", "covariate_se", "interaction", "interaction_se", "n"))
def mindspark_heterogeneity(df, study, *, fast=False, subject="math", covariate="female"):
    """Table 4: treatment x covariate interaction, baseline score controlled, strata absorbed,
    SEs clustered by strata (``xtreg`` factor)."""
    from plmresearch.causal import fe_regression

    base, end = _subject(subject)
    cols = {"female": "female", "ses": "ses_index", "baseline": base}
    if covariate not in cols:
        raise SpecError(f"covariate must be one of {sorted(cols)}, got {covariate!r}.")
    d = analysis_frame(df)
    c = cols[covariate]
    d["_interaction"] = d["treat_f"] * d[c]
    regs = ["treat_f", c, "_interaction"] + ([] if c == base else [base])
    est = fe_regression(d, end, regs, absorb="strata", cluster="strata", se_type="stata", stata_fe="xtreg",
                        missing="drop")
    out = _coefs(est, {"treat_f": "treat", c: "covariate", "_interaction": "interaction"})
    out["n"] = float(est.extra["n"])
    return out


@register(values=("bottom", "bottom_se", "middle", "middle_se", "top", "top_se", "treat", "treat_se",
                  "treat_middle", "treat_middle_se", "treat_top", "treat_top_se", "baseline", "baseline_se",
                  "n", "r2"))
def mindspark_terciles(df, study, *, fast=False, subject="math"):
    """Table 5: effects by within-grade baseline tercile (OLS without a constant, HC1)."""
    from plmresearch.causal import fe_regression

    base, end = _subject(subject)
    d = analysis_frame(df)
    t = [f"terc_{subject}_{k}" for k in (1, 2, 3)]
    regs = [*t, "treat_f", f"treat_x_terc_{subject}_2", f"treat_x_terc_{subject}_3", base]
    est = fe_regression(d, end, regs, constant=False, se_type="HC1", missing="drop", term="treat_f")
    out = _coefs(est, {t[0]: "bottom", t[1]: "middle", t[2]: "top", "treat_f": "treat",
                       regs[4]: "treat_middle", regs[5]: "treat_top", base: "baseline"})
    out.update(n=float(est.extra["n"]), r2=est.extra["r2"])
    return out


@register(values=("att", "att_se", "baseline", "baseline_se", "n", "r2", "extrapolation_90",
                  "extrapolation_90_rounded_coef", "first_stage_F"))
def mindspark_dose(df, study, *, fast=False, subject="math", method="iv"):
    """Table 9: dose-response in days attended.

    ``iv``: attendance instrumented by the lottery, strata absorbed (``ivreg2`` conventions: HC0
    SEs, first-stage F with N/(N-L)), within R-squared. ``ols``: value-added OLS on everyone (HC1).
    ``ols_treated``: the same among lottery winners only.
    """
    from plmresearch.causal import fe_regression, iv_regression

    base, end = _subject(subject)
    d = analysis_frame(df)
    if method == "iv":
        est = iv_regression(d, end, "att", "treat_f", [base], absorb="strata", se_type="HC0",
                            first_stage_se_type="HC1", missing="drop")
        r2, f = est.extra["r2_within"], est.extra["first_stage_F"]
    elif method in ("ols", "ols_treated"):
        if method == "ols_treated":
            d = d[d["treat"] == 1]
        est = fe_regression(d, end, ["att", base], se_type="HC1", missing="drop")
        r2, f = est.extra["r2"], np.nan
    else:
        raise SpecError(f"method must be 'iv', 'ols' or 'ols_treated', got {method!r}.")
    out = _coefs(est, {"att": "att", base: "baseline"})
    # The paper's "90-day extrapolation" is 90 x the coefficient as printed (two significant digits):
    # 90 x 0.0067 = 0.603 in column 1, where 90 x the unrounded 0.006742 = 0.607.
    printed = float(f"{out['att']:.2g}")
    out.update(n=float(est.extra["n"]), r2=r2, extrapolation_90=90 * out["att"],
               extrapolation_90_rounded_coef=90 * printed, first_stage_F=f)
    return out


@register(values=("treat", "treat_se", "n"))
def mindspark_items(df, study, *, fast=False, outcome="cm_arithmetic", strata=True):
    """Tables 3 and 6: endline proportion correct on a group of items, baseline IRT score of the
    subject controlled, among students present at endline.

    Table 3 (competences): strata absorbed, SEs clustered by strata (``xtreg`` factor).
    Table 6 (items at/above vs below grade level, ``strata=False``): OLS with HC1.
    """
    from plmresearch.causal import fe_regression

    if outcome not in COMPETENCES + GRADE_LEVEL_OUTCOMES:
        raise SpecError(f"outcome must be one of {COMPETENCES + GRADE_LEVEL_OUTCOMES}, got {outcome!r}.")
    base = SUBJECTS["math" if outcome.startswith(("cm_", "m_")) else "hindi"][0]
    d = analysis_frame(df)
    d = d[d["present_endline"] == 1]
    if strata:
        est = fe_regression(d, outcome + "_el", ["treat_f", base], absorb="strata", cluster="strata",
                            se_type="stata", stata_fe="xtreg", missing="drop")
    else:
        est = fe_regression(d, outcome + "_el", ["treat_f", base], se_type="HC1", missing="drop")
    return {"treat": est.estimate, "treat_se": est.std_error, "n": float(est.extra["n"])}


@register(values=("ipw", "ipw_se", "unweighted", "lee_lower", "lee_upper", "lee_ci_low", "lee_ci_high",
                  "lee_trimmed_share"))
def mindspark_attrition(df, study, *, fast=False, subject="math", n_boot=500, random_seed=2019):
    """Attrition robustness (the paper's Section III.E, online Tables A.7-A.8 have no numbers in the
    article): IPW-adjusted ITT (per-arm logit of response on baseline score, gender, SES; strata
    absorbed, HC1) and Lee (2009) bounds on the endline score (bootstrap Imbens-Manski CI)."""
    from plmresearch.causal import ipw_attrition, lee_bounds

    base, end = _subject(subject)
    d = analysis_frame(df)
    d = d[d[base].notna()]
    ipw = ipw_attrition(d, end, "treat_f", [base, "female", "ses_index"], [base], absorb="strata", se_type="HC1")
    lee = lee_bounds(d, end, "treat_f", n_boot=100 if fast else n_boot, random_seed=random_seed)
    return {
        "ipw": ipw.estimate, "ipw_se": ipw.std_error, "unweighted": ipw.extra["unweighted"].estimate,
        "lee_lower": lee.lower, "lee_upper": lee.upper, "lee_ci_low": lee.ci_low, "lee_ci_high": lee.ci_high,
        "lee_trimmed_share": lee.trimming_proportion,
    }


@register(values=("attrition_overall", "attrition_differential", "low_attrition_cautious", "low_attrition_optimistic"))
def mindspark_wwc_attrition(df, study, *, fast=False, subject="math"):
    """WWC attrition: the Table 2 analysis sample (baseline and endline score) out of the 619 randomized, rated
    with the WWC boundary table shipped in ``plmresearch.effects`` (1 = low attrition, 0 = high)."""
    from plmresearch import effects

    base, end = _subject(subject)
    analysed = df[base].notna() & df[end].notna()  # the Table 2 sample, out of all 619 randomized
    n_t, n_c = int((df["treat"] == 1).sum()), int((df["treat"] == 0).sum())
    a_t, a_c = int((analysed & (df["treat"] == 1)).sum()), int((analysed & (df["treat"] == 0)).sum())
    rates = effects.attrition_rates(n_t, n_c, a_t, a_c)
    rating = effects.attrition_check(n_t, n_c, a_t, a_c)  # the shipped WWC table (SECONDARY; see its provenance)
    return {"attrition_overall": rates["overall"], "attrition_differential": rates["differential"],
            "low_attrition_cautious": float(rating.cautious == "low"),
            "low_attrition_optimistic": float(rating.optimistic == "low")}


@register(values=("g", "improvement_index", "g_ci_low", "g_ci_high"))
def mindspark_wwc(df, study, *, fast=False, subject="math"):
    """WWC effect size of the ITT: the strata-absorbed, baseline-adjusted difference over the
    unadjusted pooled SD of the endline score, times omega (Hedges' g), and the improvement index."""
    from plmresearch import effects
    from plmresearch.causal import fe_regression

    base, end = _subject(subject)
    d = analysis_frame(df)
    est = fe_regression(d, end, ["treat_f", base], absorb="strata", cluster="strata", se_type="stata",
                        stata_fe="xtreg", missing="drop")
    return {"g": est.effect_size, "improvement_index": float(effects.improvement_index(est.effect_size)),
            "g_ci_low": est.effect_size_ci_low, "g_ci_high": est.effect_size_ci_high}


@register(values=("posterior_mean", "posterior_sd", "ci_low", "ci_high", "prob_positive", "prob_above_0_2"))
def mindspark_bayes(df, study, *, fast=False, subject="math", method="reference", draws=1000, random_seed=2019):
    """Posterior of the ITT in baseline SD units and P(effect > 0.2 SD).

    ``method="reference"``: endline ~ treat + baseline + strata effects with the reference prior
    p(beta, log sigma) flat; the marginal posterior of the treatment coefficient is then exactly
    Student t with n - k df, centre the OLS estimate and scale its classical SE (Gelman et al.,
    BDA3 section 14.2), so no sampling is needed. ``method="mcmc"``: the multilevel model
    endline ~ treat + baseline + (1 | stratum) with weakly informative priors, sampled by PyMC
    (:func:`plmresearch.models.fit_bayes`; 2 chains x 300 draws with ``fast``).
    """
    from scipy import stats

    base, end = _subject(subject)
    d = analysis_frame(df)[[end, base, "treat_f", "strata"]].dropna()
    if method == "reference":
        from plmresearch.causal import fe_regression

        est = fe_regression(d, end, ["treat_f", base], absorb="strata", se_type="classical")
        post = stats.t(df=est.df, loc=est.estimate, scale=est.std_error)
        lo, hi = post.ppf([0.025, 0.975])
        return {"posterior_mean": est.estimate, "posterior_sd": float(post.std()), "ci_low": float(lo),
                "ci_high": float(hi), "prob_positive": float(post.sf(0.0)), "prob_above_0_2": float(post.sf(0.2))}
    if method != "mcmc":
        raise SpecError(f"method must be 'reference' or 'mcmc', got {method!r}.")
    import warnings

    from plmresearch import models

    d = d.assign(stratum=d["strata"].astype(str))
    n = 300 if fast else draws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = models.fit_bayes(f"{end} ~ treat_f + {base} + (1 | stratum)", d, draws=n, tune=n,
                               chains=2 if fast else 4, random_seed=random_seed, posterior_predictive=False,
                               warn=False)
    post = fit.estimate("treat_f")
    draws_ = np.asarray(post.draws)
    return {"posterior_mean": post.estimate, "posterior_sd": float(draws_.std(ddof=1)), "ci_low": post.ci_low,
            "ci_high": post.ci_high, "prob_positive": float(np.mean(draws_ > 0)),
            "prob_above_0_2": float(np.mean(draws_ > 0.2))}


@register(values=("gap_math_grade6", "gap_hindi_grade6", "gap_math_grade9", "gap_hindi_grade9",
                  "span_math_grade6", "span_math_grade9"))
def mindspark_levels(df, study, *, fast=False):
    """Figure 1: Mindspark's diagnosed grade level against the enrolled grade (treatment group).
    ``gap_*``: mean of enrolled grade - assessed level; ``span_*``: number of distinct assessed levels."""
    from plmresearch.data import load_dataset

    lev = load_dataset("mindspark_msg2019_levels")
    out = {}
    for g in (6, 9):
        sub = lev[lev["enrolled_grade"] == g]
        for subj, col in (("math", "mathlevel"), ("hindi", "hindilevel")):
            out[f"gap_{subj}_grade{g}"] = float((sub["enrolled_grade"] - sub[col]).mean())
        out[f"span_math_grade{g}"] = float(sub["mathlevel"].nunique())
    return out
