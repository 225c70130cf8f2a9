"""The analysis behind a district pilot report: seven sections of aggregate tables and figures.

``analyse_pilot(pilot)`` takes a :class:`~plmresearch.pilot.prepare.PilotData` (identifiers
already pseudonymized) and returns a :class:`PilotAnalysis` holding ONLY aggregates: every
count below the config's suppression threshold is masked, in tables and in figures.

Sections (WWC Procedures and Standards Handbook v4.1/v5.0 for the rules named):
1. data checks (counts); 2. sample flow and attrition, rated against the WWC boundaries when
the user supplies the boundary table; 3. baseline equivalence (|g| <= 0.05 satisfied,
<= 0.25 with adjustment); 4. the main effect with the estimator the design calls for, Hedges'
g, the cluster-adjusted g (Hedges 2007), the improvement index and benchmarks; 5. a Bayesian
multilevel estimate with P(effect > 0) and P(effect > threshold), computed exactly from class
and school sums (:mod:`plmresearch.models.nested_normal`: coefficients and group effects
integrated out analytically, the one to three variance parameters by grid quadrature, the only
approximation; about a second at 1M students, nothing sampled); 6. subgroups with
Benjamini-Hochberg adjustment; 7. limitations in plain words.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from plmresearch import causal, effects
from plmresearch._plotting import figure_axes
from plmresearch.data.privacy import suppress_small_cells
from plmresearch.errors import PlmError, SpecError
from plmresearch.pilot.prepare import PilotData
from plmresearch.pilot.subgroups import design_of, subgroup_effects
from plmresearch.results import Estimate, level_label

# Okabe & Ito (2008) colour-blind-safe palette
BLUE, ORANGE, GREEN, VERMILION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#555555"


@dataclass
class PilotAnalysis:
    """Aggregates only: safe to show, write and print."""

    design: str
    threshold: int
    checks: pd.DataFrame
    flow: pd.DataFrame
    attrition: dict[str, Any]
    baseline: pd.DataFrame
    main: pd.DataFrame
    main_estimate: Estimate = field(repr=False)
    effect_size: pd.DataFrame = field(repr=False)
    interpretation: str = ""
    bayes: pd.DataFrame | None = None
    bayes_notes: tuple[str, ...] = ()
    subgroups: pd.DataFrame | None = None
    heterogeneity: pd.DataFrame | None = None
    outcomes: pd.DataFrame | None = None
    has_pretest: bool = True
    effect_threshold: float = 0.1
    threshold_set: bool = False
    limitations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The aggregate tables written as CSV files."""
        out = {"data_checks": self.checks, "sample_flow": self.flow, "baseline_equivalence": self.baseline,
               "main_effect": self.main, "effect_size": self.effect_size}
        if self.outcomes is not None:
            out["all_outcomes"] = self.outcomes
        if self.bayes is not None:
            out["bayesian_estimate"] = self.bayes
        if self.subgroups is not None:
            out["subgroups"] = self.subgroups
        if self.heterogeneity is not None:
            out["subgroup_heterogeneity"] = self.heterogeneity
        return out


# --------------------------------------------------------------------------- sections


def _flow(pilot: PilotData, thr: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    ch = pilot.checks
    flow = pd.DataFrame({
        "arm": ["treatment", "comparison", "total"],
        "assigned": [ch.n_randomized_treated, ch.n_randomized_control, ch.n_randomized],
        "analyzed": [ch.n_analyzed_treated, ch.n_analyzed_control, ch.n_analyzed],
    })
    flow["left_study"] = flow["assigned"] - flow["analyzed"]
    flow["attrition_pct"] = 100 * flow["left_study"] / flow["assigned"]
    rates = ch.attrition_rates()
    info: dict[str, Any] = {"overall_pct": 100 * rates["overall"], "differential_pct": 100 * rates["differential"],
                            "rating": None, "boundary": pilot.config.attrition_boundary}
    res = rate_attrition(pilot)
    other = "optimistic" if info["boundary"] == "cautious" else "cautious"
    info.update(rating=res.rating, other_rating=getattr(res, other), source=res.table_source, status=res.table_status,
                sensitive=res.sensitive_to_encoding, notes=tuple(res.notes))
    text = (f"Overall attrition {info['overall_pct']:.1f}%, differential {info['differential_pct']:.1f} percentage "
            f"points: {res.rating.upper()} attrition under the WWC {info['boundary']} boundary "
            f"({info['other_rating']} under the {other} one). ")
    text += ("The WWC uses the cautious boundary when the program itself may affect who leaves the study, and "
             "the optimistic one when leaving is unlikely to depend on the program (the review protocol decides). ")
    text += f"Boundary table: {res.table_source}. Status: {res.table_status}."
    if res.sensitive_to_encoding:
        text += " " + " ".join(n for n in res.notes if "would be" in n)
    info["text"] = text
    # complementary suppression over both relations: assigned = analyzed + left (rows) and
    # treatment + comparison = total (columns), so no masked count can be recovered by subtraction
    flow["_relation"] = "arms"
    masked = suppress_small_cells(flow, ["assigned", "analyzed", "left_study"], thr, total_column="assigned",
                                  groups="_relation", statistic_columns=["attrition_pct"], label_columns=[])
    return masked.drop(columns="_relation"), info


def rate_attrition(pilot: PilotData):
    """WWC attrition rating (:func:`plmresearch.effects.attrition_check`): the shipped boundary table,
    or the user's (``attrition.boundary_table``), checked here so a bad table is one clear error."""
    ch, cfg = pilot.checks, pilot.config
    table = None
    if cfg.attrition_boundary_table is not None:
        path = Path(cfg.attrition_boundary_table)
        if not path.is_file():
            raise SpecError(f"attrition.boundary_table: {path} does not exist. Fix: correct the path, or remove the key "
                            "to use the shipped WWC table.")
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)  # "n/a" is text here, not a blank
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise SpecError(f"attrition.boundary_table: {path} cannot be read as CSV ({err}). Fix: save it as CSV "
                            "with columns overall, cautious, optimistic.") from None
        for col in ("overall", "cautious", "optimistic"):
            if col in table:
                cells = table[col].str.strip()
                num = pd.to_numeric(cells.where(cells != ""), errors="coerce")
                bad = cells[num.isna() & (cells != "")]
                if len(bad):
                    raise SpecError(f"attrition.boundary_table: {path} column '{col}' holds text ({bad.iloc[0]!r} in "
                                    f"{len(bad)} row(s)); it must hold percentage points. Fix: leave a cell blank "
                                    "where the boundary is undefined, and write numbers only.")
                table[col] = num
        table.attrs["source"] = f"user file {path.name}"
    return effects.attrition_check(ch.n_randomized_treated, ch.n_randomized_control, ch.n_analyzed_treated,
                                   ch.n_analyzed_control, boundary=cfg.attrition_boundary, table=table)


def _baseline_status(es: float, adjusted: bool) -> str:
    """WWC category, with 'satisfied with adjustment' only when the impact model adjusts for it."""
    cat = effects.classify_baseline_difference(es)
    if cat == "satisfied with adjustment" and not adjusted:
        return "not satisfied (needs adjustment: add to columns.covariates)"
    return cat


def _baseline(df: pd.DataFrame, cfg, thr: int) -> pd.DataFrame:
    """WWC baseline equivalence: Hedges' g for scores, proportions and the Cox index for each category
    of a characteristic (WWC Procedures Handbook v4.1 App. E; Standards Handbook v5.0 sec. III.B).

    Every pretest, covariate and subgroup characteristic is checked. 0.05 < |g| <= 0.25 counts as
    "satisfied with adjustment" only if the impact model adjusts for that characteristic."""
    t = cfg.treatment
    adjusted = set(cfg.model_covariates)
    chars = list(dict.fromkeys([*cfg.pretests, *cfg.covariates, *cfg.subgroups]))
    cols = ["characteristic", "category", "n_treated", "n_control", "mean_or_share_treated", "mean_or_share_control",
            "sd_treated", "sd_control", "difference", "effect_size", "effect_size_type", "adjusted_in_model", "status"]
    rows = []
    for cov in chars:
        d = df[[t, cov]].dropna()
        n1, n0 = int((d[t] == 1).sum()), int((d[t] == 0).sum())
        base = {"characteristic": cov, "category": "", "n_treated": n1, "n_control": n0,
                "adjusted_in_model": "yes" if cov in adjusted else "no"}
        numeric = pd.api.types.is_numeric_dtype(d[cov]) and not set(pd.unique(d[cov])) <= {0, 1}
        if numeric:
            try:
                r = effects.baseline_equivalence(d, t, [cov]).iloc[0]
                rows.append(base | {"mean_or_share_treated": r["mean_treated"], "mean_or_share_control": r["mean_control"],
                                    "sd_treated": r["sd_treated"], "sd_control": r["sd_control"],
                                    "difference": r["mean_treated"] - r["mean_control"], "effect_size": r["effect_size"],
                                    "effect_size_type": "Hedges' g",
                                    "status": _baseline_status(r["effect_size"], cov in adjusted)})
            except PlmError as err:
                rows.append(base | {"status": f"not computable: {err}"})
            continue
        levels = sorted(pd.unique(d[cov]), key=str)
        if set(levels) <= {0, 1}:
            levels = [1]          # a 0/1 flag: the share with it
        elif len(levels) == 2:
            levels = levels[1:]   # two categories: one share says it all
        for lv in levels:
            x1 = int(((d[cov] == lv) & (d[t] == 1)).sum())
            x0 = int(((d[cov] == lv) & (d[t] == 0)).sum())
            row = base | {"category": str(lv), "effect_size_type": "Cox index",
                          "mean_or_share_treated": x1 / n1, "mean_or_share_control": x0 / n0,
                          "difference": x1 / n1 - x0 / n0}
            if min(x1, x0, n1 - x1, n0 - x0) < thr:
                row |= {"mean_or_share_treated": np.nan, "mean_or_share_control": np.nan, "difference": np.nan,
                        "status": f"suppressed (a cell under {thr} students)"}
            else:
                es = effects.cox_index(x1 / n1, x0 / n0).estimate
                # a category of a characteristic is adjusted for only if the characteristic is a 0/1 covariate
                row |= {"effect_size": es, "status": _baseline_status(es, cov in adjusted)}
            rows.append(row)
    tab = pd.DataFrame(rows, columns=cols)
    return suppress_small_cells(tab, ["n_treated", "n_control"], thr,
                                statistic_columns=["mean_or_share_treated", "mean_or_share_control", "sd_treated",
                                                   "sd_control", "difference", "effect_size"])


def _main_estimate(df: pd.DataFrame, cfg, outcome: str | None = None) -> tuple[Estimate, list[tuple[str, Estimate]]]:
    """The estimator the design calls for, plus sensitivity estimates (``outcome``: default the primary one)."""
    y, t, pre = outcome or cfg.primary_outcome, cfg.treatment, list(cfg.model_covariates)
    unit_col = {"school": cfg.school, "class": cfg.class_column}.get(cfg.assigned_unit)
    lvl = {"ci_level": cfg.ci_level}  # every interval at the config's level
    extra: list[tuple[str, Estimate]] = []
    if cfg.design == "individual_rct":
        main = (causal.lin_adjusted(df, outcome=y, treatment=t, covariates=pre, **lvl) if pre
                else causal.difference_in_means(df, outcome=y, treatment=t, **lvl))
        extra.append(("difference in means (no covariates)",
                      causal.difference_in_means(df, outcome=y, treatment=t, **lvl)))
    elif cfg.design == "cluster_rct":
        main = (causal.lin_adjusted(df, outcome=y, treatment=t, covariates=pre, cluster=unit_col, **lvl) if pre
                else causal.difference_in_means(df, outcome=y, treatment=t, cluster=unit_col, **lvl))
        extra.append(("cluster means (one value per cluster)",
                      causal.cluster_means(df, outcome=y, treatment=t, cluster=unit_col, **lvl)))
    elif cfg.design == "multisite":
        cluster = unit_col if cfg.assigned_unit == "class" else None
        main = causal.block_fixed_effects(df, outcome=y, treatment=t, block=cfg.school, covariates=pre,
                                          cluster=cluster, **lvl)
        extra.append(("blocked difference in means (no covariates)",
                      causal.blocked_difference_in_means(df, outcome=y, treatment=t, block=cfg.school,
                                                         cluster=cluster, **lvl)))
    else:  # comparison_schools: program schools chosen, not randomized
        main = (causal.lin_adjusted(df, outcome=y, treatment=t, covariates=pre, cluster=cfg.school, **lvl) if pre
                else causal.difference_in_means(df, outcome=y, treatment=t, cluster=cfg.school, **lvl))
        if pre:
            extra.append(("doubly robust AIPW (student-level SE: ignores school clustering)",
                          causal.aipw(df, outcome=y, treatment=t, covariates=pre, **lvl)))
            extra.append(("propensity-score matching (student-level SE: ignores school clustering)",
                          causal.match(df, outcome=y, treatment=t, covariates=pre, random_seed=cfg.random_seed,
                                       **lvl)))
    return main, extra


def _outcomes(pilot: PilotData, main: Estimate) -> pd.DataFrame | None:
    """Every configured outcome with the main effect's estimator; BH across outcomes (WWC: within a domain).

    A secondary outcome is analysed on the assigned students who have it (its own analytic
    sample; the data checks count the students without it)."""
    cfg = pilot.config
    if len(cfg.outcomes) < 2:
        return None
    rows = [{"outcome": cfg.primary_outcome, "role": "primary", "estimate": main.estimate, "std_error": main.std_error,
             "ci_low": main.ci_low, "ci_high": main.ci_high, "df": main.df, "p_value": main.p_value,
             "effect_size": main.effect_size, "n_students": main.n_treated + main.n_control}]
    frame = pilot.frame
    for c in cfg.outcomes[1:]:
        d = frame[frame[c].notna()].copy()
        e, _ = _main_estimate(d, cfg, outcome=c)
        rows.append({"outcome": c, "role": "secondary", "estimate": e.estimate, "std_error": e.std_error,
                     "ci_low": e.ci_low, "ci_high": e.ci_high, "df": e.df, "p_value": e.p_value,
                     "effect_size": e.effect_size, "n_students": e.n_treated + e.n_control})
    tab = pd.DataFrame(rows)
    tab["p_adjusted_bh"] = effects.benjamini_hochberg(tab["p_value"].to_numpy())["p_adjusted"].to_numpy()
    return tab


def _effect_size(main: Estimate, df: pd.DataFrame, cfg) -> tuple[pd.DataFrame, str]:
    rows = [{"quantity": "Hedges' g (WWC: adjusted difference / unadjusted pooled SD)", "estimate": main.effect_size,
             "ci_low": main.effect_size_ci_low, "ci_high": main.effect_size_ci_high}]
    g = main.effect_size
    clustered = cfg.design in ("cluster_rct", "comparison_schools") or (
        cfg.design == "multisite" and cfg.assigned_unit == "class")  # classes assigned within schools
    if clustered:
        unit_col = cfg.school if cfg.design == "comparison_schools" else (
            {"school": cfg.school, "class": cfg.class_column}[cfg.assigned_unit])
        size = df.groupby(unit_col).size().mean()
        adj = effects.wwc_cluster_adjusted_g(g, main.n_treated, main.n_control, cluster_size=size,
                                             ci_level=main.ci_level)
        rows.append({"quantity": "Hedges' g, WWC cluster adjustment (Hedges 2007; WWC default ICC 0.20)",
                     "estimate": adj.estimate, "ci_low": adj.ci_low, "ci_high": adj.ci_high})
        g = adj.estimate
    rows.append({"quantity": "WWC improvement index (percentile points)", "estimate": effects.improvement_index(g),
                 "ci_low": np.nan, "ci_high": np.nan})
    return pd.DataFrame(rows), str(effects.interpret(g))


def bayes_formula(cfg, data: pd.DataFrame) -> tuple[str, str]:
    """The Bayesian model mirroring the design, as an lme4 formula, and its description.

    Group levels: the assigned unit and the levels above it that the data name (students in
    classes in schools); blocks (multisite: schools) as fixed effects; the impact model's
    covariates, centred. Nested levels are integrated out (:mod:`plmresearch.models.marginal`)."""
    y, t = cfg.primary_outcome, cfg.treatment
    covs = [f"{c}_c" for c in cfg.model_covariates]
    fixed = f"{y} ~ {t}" + "".join(f" + {c}" for c in covs)
    has_class = cfg.class_column is not None and cfg.class_column in data
    if cfg.design == "multisite":
        fixed += " + C(_school)"
        if has_class:
            return fixed + " + (1 | _school:_class)", "school blocks as fixed effects, classes as a group level"
        return fixed, "school blocks as fixed effects"
    if cfg.design == "cluster_rct" and cfg.assigned_unit == "school":
        return fixed + " + (1 | _school)", "schools (the assigned unit) as a group level"
    if has_class:
        return fixed + " + (1 | _school/_class)", "classes within schools as group levels"
    return fixed + " + (1 | _school)", "schools as a group level"


def bayes_levels(formula: str) -> tuple[bool, bool, bool]:
    """(class group level, school group level, schools as fixed-effect blocks) of a
    :func:`bayes_formula` formula, as :func:`~plmresearch.models.nested_normal.fit_nested_normal` takes them."""
    return ("_class" in formula, "(1 | _school)" in formula or "(1 | _school/_class)" in formula,
            "C(_school)" in formula)


def _prob(p: float, draws: int) -> str:
    """A posterior probability as printed: never exactly 0 or 1 from a finite number of draws."""
    if p > 0.999:
        return "> 0.999"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def _bayes(df: pd.DataFrame, cfg, fast: bool, main: Estimate | None = None
           ) -> tuple[pd.DataFrame, tuple[str, ...], np.ndarray, tuple[float, float]]:
    """The Bayesian multilevel estimate from class and school sums (:mod:`plmresearch.models.nested_normal`).

    The model is :func:`bayes_formula`'s (random intercepts for the group levels, blocks as fixed
    effects, the impact model's covariates); its posterior is computed exactly from sufficient
    statistics, so the cost does not grow with the number of students, and ``fast`` changes nothing."""
    from plmresearch.models.nested_normal import fit_nested_normal

    y, t = cfg.primary_outcome, cfg.treatment
    keep = [y, t, cfg.school, *cfg.model_covariates] + ([cfg.class_column] if cfg.class_column else [])
    d = df[list(dict.fromkeys(keep))].dropna()
    yv, tv = d[y].to_numpy(dtype=float), d[t].to_numpy(dtype=float)
    n1, n0 = int((tv == 1).sum()), int((tv == 0).sum())
    sd = float(np.sqrt((yv[tv == 1].var(ddof=1) * (n1 - 1) + yv[tv == 0].var(ddof=1) * (n0 - 1)) / (len(yv) - 2)))
    formula, structure = bayes_formula(cfg, d)
    if "|" not in formula:  # no group level left (multisite without classes): schools as a group level too
        formula, structure = formula + " + (1 | _school)", "school blocks as fixed effects and as a group level"
    classes, school_group, school_blocks = bayes_levels(formula)
    X = np.column_stack([tv, d[list(cfg.model_covariates)].to_numpy(dtype=float)])
    school = pd.factorize(d[cfg.school])[0]
    cls = pd.factorize(d[cfg.class_column])[0] if classes else None
    post = fit_nested_normal(yv, X, [t, *cfg.model_covariates], school, cls,
                             school_group=school_group, school_blocks=school_blocks)
    thr = cfg.effect_threshold
    level = cfg.ci_level
    est = post.posterior_mean(t)
    lo, hi = post.interval(t, level)
    p0, pthr = post.prob_greater(t, 0.0), post.prob_greater(t, thr * sd)
    lvl = level_label(level)
    exact = 10**6   # the probabilities are exact (no draws): printed as "> 0.999" / "< 0.001" at the ends
    table = pd.DataFrame([
        {"quantity": "effect (outcome points), posterior mean", "value": f"{est:.2f}"},
        {"quantity": f"{lvl} credible interval (points)", "value": f"{lo:.2f} to {hi:.2f}"},
        {"quantity": "effect in SD units (pooled within-arm SD), posterior mean", "value": f"{est / sd:.3f}"},
        {"quantity": f"{lvl} credible interval (SD units)", "value": f"{lo / sd:.3f} to {hi / sd:.3f}"},
        {"quantity": "P(effect > 0)", "value": _prob(p0, exact)},
        {"quantity": f"P(effect > {thr:g} SD) (the district's threshold)", "value": _prob(pthr, exact)},
    ])
    model_words = (formula.replace("_school", cfg.school).replace("_class", cfg.class_column or "class"))
    notes = [f"Model: {model_words} ({structure}; the same covariates as the main effect); weakly informative "
             + ("priors (block effects Normal(0, (2.5 SD)^2)). " if "C(_school)" in formula else "priors. ")
             + "Computed exactly from class and school sums: the "
             "coefficients and group effects are integrated out analytically and the variance parameters on a "
             f"grid of {post.n_grid} points; nothing is sampled."]
    notes.append("Why its interval can differ from the design-based one: the Bayesian model assumes the "
                 "group effects are normally distributed and borrows strength across groups through its priors, "
                 "while the design-based interval makes no model assumption beyond the random assignment and "
                 "uses small-sample corrected standard errors; with few assigned units the two can differ "
                 "noticeably, and neither is wrong. Where they disagree, lean on the design-based one.")
    if post.notes:
        notes.append("Integration problems reported: " + " ".join(post.notes))
    es_draws = post.draws(t, 4000, random_seed=cfg.random_seed) / sd   # for the figure only
    return table, tuple(notes), es_draws, (p0, pthr)


def _subgroups(df: pd.DataFrame, cfg, thr: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subgroup effects from treatment x subgroup interactions in the main effect's model
    (:mod:`plmresearch.pilot.subgroups`), BH-adjusted across all subgroups, masked below ``thr``."""
    tab, het = subgroup_effects(df, cfg.primary_outcome, cfg.treatment, cfg.subgroups, design_of(cfg),
                                ci_level=cfg.ci_level, min_cell=thr)
    if tab.empty:
        return tab, het
    tab = tab.drop(columns=[c for c in ("note",) if c in tab])
    ok = tab["p_value"].notna()
    tab["p_adjusted_bh"] = np.nan
    if ok.any():
        bh = effects.benjamini_hochberg(tab.loc[ok, "p_value"].to_numpy())
        tab.loc[ok, "p_adjusted_bh"] = bh["p_adjusted"].to_numpy()
    tab["n_total"] = tab["n_treated"] + tab["n_control"]
    # n_total = n_treated + n_control (row relation) and the levels of a variable partition the sample
    # (group relation): complementary suppression on both, so a masked count cannot be recovered
    masked = suppress_small_cells(tab, ["n_treated", "n_control", "n_total"], thr, total_column="n_total",
                                  groups="subgroup",
                                  statistic_columns=["estimate", "std_error", "ci_low", "ci_high", "df",
                                                     "p_value", "p_adjusted_bh"])
    return masked, het


def _limitations(pilot: PilotData, info: dict, main: Estimate, subgroups: pd.DataFrame | None,
                 bayes_notes: tuple[str, ...], baseline: pd.DataFrame) -> list[str]:
    cfg, ch = pilot.config, pilot.checks
    out = []
    if cfg.design == "comparison_schools":
        out.append("Program schools were chosen, not randomly assigned: the comparison adjusts only for what was "
                   "measured (the pretest); schools can differ in ways no column captures, so the estimate may be "
                   "biased in either direction.")
    if ch.n_schools < 10:
        out.append(f"Only {ch.n_schools} schools took part. With so few, estimates of anything that varies between "
                   "schools are imprecise, and a single unusual school can move the result.")
    if info["overall_pct"] >= 10 or info["differential_pct"] >= 5:
        out.append(f"{info['overall_pct']:.0f}% of students have no outcome (left the study or missed the test), "
                   f"{info['differential_pct']:.1f} points more in one arm than the other; if those who left differ "
                   "from those who stayed, the estimate is biased.")
    if info.get("rating") == "high":
        out.append(f"Attrition is HIGH by the WWC's {info['boundary']} boundary: the WWC would require baseline "
                   "equivalence of the analysed groups, and even then rates the study lower.")
    if info.get("sensitive"):
        out.append("The attrition rating would change under another transcription of the WWC boundary table; "
                   "check the handbook's Table II.1.")
    if not cfg.pretests:
        out.append("No pretest: the report cannot check or adjust for differences in prior achievement between "
                   "the groups, the most important baseline characteristic for the WWC.")
    st = baseline["status"].astype(str) if not baseline.empty else pd.Series([], dtype=str)
    if st.str.startswith("not satisfied").any():
        which = sorted(set(baseline.loc[st.str.startswith("not satisfied"), "characteristic"].astype(str)))
        out.append(f"Baseline equivalence is not satisfied for {', '.join(which)}: by WWC rules the groups are not "
                   "shown equivalent there (differences over 0.25 SD, or 0.05-0.25 SD without adjustment in the "
                   "impact model).")
    if main.ci_low <= 0 <= main.ci_high:
        out.append(f"The {level_label(main.ci_level)} confidence interval includes zero: the data are consistent "
                   "with no effect.")
    if subgroups is not None and not subgroups.empty:
        masked = subgroups["estimate"].astype(str).str.contains("suppress|<").any() or \
            pd.to_numeric(subgroups["estimate"], errors="coerce").isna().any()
        out.append("Subgroup results are exploratory: each subgroup holds fewer students than the whole sample, so "
                   "its interval is wider than the overall one, and with many subgroups some differ by chance. "
                   "Act on the overall effect; use subgroups to decide what to look at next."
                   + (" Some subgroups are too small to report and are masked." if masked else ""))
    if any(n.startswith("Integration problems") for n in bayes_notes):
        out.append("The Bayesian computation reported numerical problems (see section 5); treat its numbers as rough.")
    return out


# --------------------------------------------------------------------------- figures

def _figure(figsize: tuple[float, float]):
    """A standalone Figure (no pyplot state, no backend switch): nothing to close, shown once in notebooks."""
    return figure_axes(None, figsize)


def _fig_flow(flow_masked: pd.DataFrame, thr: int):
    fig, ax = _figure(figsize=(6, 2.6))
    arms = flow_masked[flow_masked["arm"] != "total"]
    for i, r in enumerate(arms.itertuples()):
        try:
            analyzed, left = float(r.analyzed), float(r.left_study)
        except (TypeError, ValueError):
            ax.text(0, i, f"counts under {thr} masked", va="center")
            continue
        ax.barh(i, analyzed, color=BLUE, label="analyzed" if i == 0 else None)
        ax.barh(i, left, left=analyzed, color=ORANGE, label="left the study / no outcome" if i == 0 else None)
    ax.set_yticks(range(len(arms)), arms["arm"])
    ax.set_xlabel("students")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
    ax.set_title("Sample flow")
    return fig


def _fig_baseline(baseline: pd.DataFrame):
    fig, ax = _figure(figsize=(6, 0.45 * max(len(baseline), 1) + 1.4))
    b = baseline[pd.to_numeric(baseline["effect_size"], errors="coerce").notna()] if not baseline.empty else baseline
    if len(b):
        b = b.assign(covariate=[f"{c}" + (f" = {k}" if k else "") for c, k in zip(b["characteristic"], b["category"])])
    ax.axvspan(-0.05, 0.05, color=GREEN, alpha=0.15, label="|g| ≤ 0.05 satisfied")
    ax.axvspan(0.05, 0.25, color=ORANGE, alpha=0.12, label="≤ 0.25 with adjustment")
    ax.axvspan(-0.25, -0.05, color=ORANGE, alpha=0.12)
    if len(b):
        ax.scatter(b["effect_size"].astype(float), range(len(b)), zorder=3)
        ax.set_yticks(range(len(b)), b["covariate"])
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_xlim(-0.6, 0.6)
    ax.set_xlabel("baseline difference (Hedges' g or Cox index)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Baseline equivalence (WWC)")
    return fig


def _fig_effects(main_table: pd.DataFrame, ci_level: float):
    fig, ax = _figure(figsize=(8, 0.7 * len(main_table) + 1.2))
    for i, r in enumerate(main_table.itertuples()):
        ax.errorbar(r.estimate, i, xerr=[[r.estimate - r.ci_low], [r.ci_high - r.estimate]], fmt="o", capsize=4,
                    color=BLUE if i == 0 else "0.45")
    ax.axvline(0, color="0.4", lw=0.8)
    import textwrap

    labels = ["\n".join(textwrap.wrap(str(s), 34)) for s in main_table["estimator"]]  # wrapped, never cut
    ax.set_yticks(range(len(main_table)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"effect on the outcome (points), {level_label(ci_level)} CI")
    ax.set_title("Main effect (top) and sensitivity checks")
    return fig


def _fig_posterior(es_draws: np.ndarray, threshold: float, probs: tuple[float, float]):
    """Histogram of posterior draws; the probabilities in the title are the exact ones of the table."""
    fig, ax = _figure(figsize=(6, 3))
    ax.hist(es_draws, bins=50, density=True, color=BLUE, alpha=0.6)
    ax.axvline(0, color="0.3", lw=1, label="no effect")
    ax.axvline(threshold, color=VERMILION, lw=1.5, ls="--", label=f"district threshold {threshold:g} SD")
    ax.set_xlabel("effect (SD units)")
    ax.set_ylabel("posterior density")
    ax.legend(fontsize=8)
    ax.set_title(f"P(effect > 0): {_prob(probs[0], 10**6)};  P(effect > {threshold:g} SD): {_prob(probs[1], 10**6)}")
    return fig


def _fig_subgroups(sub: pd.DataFrame, ci_level: float, overall: float | None = None):
    """Forest plot of the subgroups that are reported; masked subgroups are not drawn at all."""
    shown = sub[pd.to_numeric(sub["estimate"], errors="coerce").notna()].reset_index(drop=True)
    fig, ax = _figure(figsize=(6.5, 0.35 * max(len(shown), 1) + 1.4))
    for i, r in shown.iterrows():
        est, lo, hi = float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"])
        ax.errorbar(est, i, xerr=[[est - lo], [hi - est]], fmt="o", capsize=3, color=BLUE)
    ax.axvline(0, color="0.4", lw=0.8)
    if overall is not None:
        ax.axvline(overall, color=BLUE, lw=1, ls="--", label="overall effect")
        ax.legend(fontsize=8, loc="best")
    ax.set_yticks(range(len(shown)), [f"{r.subgroup} = {r.level}" for r in shown.itertuples()], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"effect on the outcome (points), {level_label(ci_level)} CI (same model as the main effect)")
    ax.set_title("Results by subgroup (small groups not shown)", fontsize=10)
    return fig


# --------------------------------------------------------------------------- entry point

def analyse_pilot(pilot: PilotData, fast: bool = False, bayesian: bool = True, progress=None) -> PilotAnalysis:
    """Run the seven sections on a prepared pilot; returns aggregates only.

    ``progress``: called with a short line before each section (the CLI prints it on stderr)."""
    say = progress or (lambda line: None)
    cfg = pilot.config
    say("1/7 data checks")
    thr = cfg.suppression_threshold
    df = pilot.analytic
    checks = pilot.checks.to_frame(thr)
    say("2/7 sample flow and attrition")
    flow, info = _flow(pilot, thr)
    say("3/7 baseline equivalence")
    baseline = _baseline(df, cfg, thr)
    say("4/7 main effect")
    main, extra = _main_estimate(df, cfg)
    rows = [("design-based estimate: " + main.method, main)] + [(f"sensitivity: {k}", e) for k, e in extra]
    main_table = pd.DataFrame([{"estimator": k, "estimate": e.estimate, "std_error": e.std_error, "ci_low": e.ci_low,
                                "ci_high": e.ci_high, "df": e.df, "p_value": e.p_value, "n_clusters": e.n_clusters,
                                "effect_size": e.effect_size} for k, e in rows])
    es_table, interpretation = _effect_size(main, df, cfg)
    outcomes = _outcomes(pilot, main)
    bayes_table, bayes_notes, es_draws, probs = (None, (), None, (np.nan, np.nan))
    if bayesian:
        say("5/7 Bayesian estimate")
        bayes_table, bayes_notes, es_draws, probs = _bayes(df, cfg, fast)
    say("6/7 subgroups")
    subgroups, heterogeneity = _subgroups(df, cfg, thr) if cfg.subgroups else (None, None)
    say("7/7 limitations and figures")
    figures = {"sample_flow": _fig_flow(flow, thr), "baseline": _fig_baseline(baseline),
               "main_effect": _fig_effects(main_table, main.ci_level)}
    if es_draws is not None:
        figures["posterior"] = _fig_posterior(es_draws, cfg.effect_threshold, probs)
    if subgroups is not None and not subgroups.empty:
        figures["subgroups"] = _fig_subgroups(subgroups, cfg.ci_level, main.estimate)
    return PilotAnalysis(
        design=cfg.design, threshold=thr, checks=checks, flow=flow, attrition=info, baseline=baseline,
        main=main_table, main_estimate=main, effect_size=es_table, interpretation=interpretation,
        bayes=bayes_table, bayes_notes=bayes_notes, subgroups=subgroups,
        heterogeneity=heterogeneity, outcomes=outcomes, has_pretest=bool(cfg.pretests),
        effect_threshold=cfg.effect_threshold, threshold_set=cfg.effect_threshold_set,
        limitations=_limitations(pilot, info, main, subgroups, bayes_notes, baseline), figures=figures,
    )
