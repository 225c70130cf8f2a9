"""Project STAR, Krueger (1999), QJE 114(2):497-532: percentile scores and Table V.

Krueger's outcome is each student's percentile in the distribution of regular-class scores of
the same grade and subtest (section II), averaged over reading and math; Table V regresses it on
the class type actually attended, with clustered SEs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plmresearch.errors import SpecError
from plmresearch.reproduce.registry import register


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


@register(values=("small", "small_se", "regaide", "regaide_se", "n"))
def krueger_table5(df, study, *, fast=False, grade="K", column=1):
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


@register(values=("itt", "itt_se", "late", "late_se", "first_stage", "n", "compliance"))
def star_itt_iv(df, study, *, fast=False, grade="1"):
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
    extra = est.extra  # iv_late always reports the ITT and first stage of the same fit (CR2 SEs)
    return {"late": est.estimate, "late_se": est.std_error, "n": float(len(d)),
            "itt": extra["itt"], "itt_se": extra["itt_se"],
            "first_stage": extra["first_stage"], "compliance": extra["compliance"]}
