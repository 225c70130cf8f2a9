"""Dietrichson et al. (2021), Campbell Systematic Reviews 17(2) e1152: Tables 3, 4 and 5 (column 1).

The review's analysis, identified from its text, its tables and the data (see the spec's notes):

* sample: post-test effect sizes (``post == 1``: 1,041 of the 1,334 effect sizes, 189 studies);
* effect sizes adjusted for clustering, ``effectsize_g_adj1`` / ``se_g_adj1``: with them τ² and I²
  of Table 3 agree at the printed precision; the raw ``effectsize_g`` (and ``adj3``) do not;
* robumeta's correlated-effects RVE, ρ = 0.8, small-sample corrected (CR2, Satterthwaite df)
  (:func:`plmresearch.effects.robust_meta`);
* Table 3: every effect size with the component or content domain; Table 4: interventions with
  exactly one of the eight instructional methods; Table 5 column 1: the eight method indicators
  without an intercept.
"""

from __future__ import annotations

import pandas as pd

from plmresearch.effects.robust_meta import robust_meta
from plmresearch.errors import SpecError
from plmresearch.reproduce.registry import register

METHODS = {
    "CAI": "cai", "Coaching": "coaching_personnel", "Incentives": "incentives", "Medium-group": "medium_group",
    "Other method": "other_method", "Peer-assisted": "peer_assisted", "Progress monitoring": "progress_monitoring",
    "Small-group": "small_group",
}
DOMAINS = {
    "Comprehension": "comprehension", "Decoding": "decoding", "Fluency": "fluency",
    "Multiple reading": "multiple_reading", "Spelling/writing": "spelling_writing", "Vocabulary": "vocabulary",
    "Algebra": "algebra_prealgebra", "Fractions": "fractions", "Geometry": "geometry", "Multiple math": "multiple_math",
    "Number sense": "number_sense", "Operations": "operations", "Problem solving": "problem_solving",
    "Gen. academic": "general_academic", "Meta-cognitive": "metacognitive", "Social-emotional": "social_emotional",
}
ES_COLUMNS = {"raw": ("effectsize_g", "se_g"), "adj1": ("effectsize_g_adj1", "se_g_adj1"),
              "adj3": ("effectsize_g_adj3", "se_g_adj3")}
STATS = ("es", "ci_low", "ci_high", "k", "n", "n_students", "df", "tau2", "i2", "q")
ROW_VALUES = tuple(f"{col}_{s}" for col in {**METHODS, **DOMAINS}.values() for s in STATS)
T5_VALUES = tuple(f"{col}_{s}" for col in METHODS.values() for s in ("b", "ci_low", "ci_high"))


def analysis_sample(d: pd.DataFrame, es: str = "adj1", post_only: bool = True) -> pd.DataFrame:
    """Post-test rows with ``g`` and ``v = SE²`` from the chosen effect-size column (raw, adj1, adj3)."""
    if es not in ES_COLUMNS:
        raise SpecError(f"dietrichson2021: es_column must be one of {sorted(ES_COLUMNS)}, got {es!r}.")
    y, se = ES_COLUMNS[es]
    out = d[d["post"] == 1] if post_only else d
    return out.assign(g=out[y], v=out[se] ** 2).reset_index(drop=True)


def _row(label: str, sub: pd.DataFrame) -> dict:
    r = robust_meta(sub, "g", "v", "study_id")
    c = r.coefficients.iloc[0]
    return {"label": label, "es": c["estimate"], "ci_low": c["ci_low"], "ci_high": c["ci_high"], "k": r.n_studies,
            "n": r.n_effects, "n_students": float(sub["n_total"].sum()), "df": c["df"], "tau2": r.tau2, "i2": r.i2,
            "q": r.qe}


def table3(sample: pd.DataFrame) -> pd.DataFrame:
    """Average effect for each instructional method and content domain (all effect sizes having it)."""
    return pd.DataFrame([_row(lab, sample[sample[col] == 1]) for lab, col in {**METHODS, **DOMAINS}.items()])


def table4(sample: pd.DataFrame) -> pd.DataFrame:
    """Average effect of interventions with exactly one of the eight instructional methods."""
    single = sample[sample[list(METHODS.values())].sum(axis=1) == 1]
    rows = [_row(lab, single[single[col] == 1]) for lab, col in METHODS.items()
            if single.loc[single[col] == 1, "study_id"].nunique() >= 2]
    return pd.DataFrame(rows)


def _values(table: pd.DataFrame) -> dict[str, float]:
    slug = {**METHODS, **DOMAINS}
    return {f"{slug[r['label']]}_{s}": float(r[s]) for _, r in table.iterrows() for s in STATS}


@register(values=ROW_VALUES)
def dietrichson_table3(df, study, *, fast=False, es_column="adj1", post_only=True):
    """Table 3: RVE (correlated effects, rho 0.8, small-sample corrected) by component and domain."""
    return _values(table3(analysis_sample(df, es_column, post_only)))


@register(values=ROW_VALUES)
def dietrichson_table4(df, study, *, fast=False, es_column="adj1", post_only=True):
    """Table 4: single-component interventions only."""
    return _values(table4(analysis_sample(df, es_column, post_only)))


@register(values=T5_VALUES)
def dietrichson_table5(df, study, *, fast=False, es_column="adj1", post_only=True):
    """Table 5, column 1: RVE meta-regression on the eight method indicators, no intercept."""
    s = analysis_sample(df, es_column, post_only)
    r = robust_meta(s, "g", "v", "study_id", list(METHODS.values()), intercept=False)
    out = {}
    for _, c in r.coefficients.iterrows():
        out.update({f"{c['term']}_b": c["estimate"], f"{c['term']}_ci_low": c["ci_low"],
                    f"{c['term']}_ci_high": c["ci_high"]})
    return out
