"""Self-contained HTML for a district pilot report: inline CSS, figures as base64 PNG, no scripts,
no external requests. Shows only the aggregates of a :class:`~plmresearch.pilot.analysis.PilotAnalysis`."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io

import pandas as pd

from plmresearch.results import level_label

CSS = """
body{font-family:Georgia,serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;font-family:Helvetica,Arial,sans-serif;font-size:0.82em;margin:0.6em 0}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f2f2f2}
td.n{text-align:right;white-space:nowrap}.note{color:#555;font-size:0.9em}
.box{background:#f7f7f0;border-left:4px solid #0072B2;padding:0.6em 1em}img{max-width:100%}
.conclude{background:#eef5fb;border-left:4px solid #009E73;padding:0.6em 1em;margin-top:0.6em}
section{break-inside:auto}
@media print{h2{break-before:page}h2:first-of-type{break-before:auto}table,img{break-inside:avoid}
body{max-width:none;margin:0}}
"""

HEADERS = {
    "check": "Check", "action": "Action", "n_rows": "Students", "n_treated": "Program students",
    "n_control": "Comparison students", "arm": "Group", "assigned": "Assigned", "analyzed": "Analysed",
    "left_study": "Left / no outcome", "attrition_pct": "Attrition (%)", "characteristic": "Characteristic",
    "category": "Category", "mean_or_share_treated": "Program mean / share",
    "mean_or_share_control": "Comparison mean / share", "sd_treated": "Program SD", "sd_control": "Comparison SD",
    "difference": "Difference", "effect_size": "Effect size", "effect_size_type": "Effect size type",
    "adjusted_in_model": "Adjusted in impact model", "status": "WWC status", "estimator": "Estimator",
    "estimate": "Estimate (points)", "std_error": "Std. error", "ci_low": "CI low", "ci_high": "CI high",
    "df": "df", "p_value": "p-value", "n_clusters": "Clusters", "quantity": "Quantity", "value": "Value",
    "subgroup": "Characteristic", "level": "Level", "n_total": "Students", "p_adjusted_bh": "p-value (BH adjusted)",
    "levels_tested": "Levels tested", "F": "F", "df1": "df1", "df2": "df2", "outcome": "Outcome", "role": "Role",
    "n_students": "Students",
}
_P_COLS = {"p_value", "p_adjusted_bh"}
_INT_COLS = {"n_rows", "n_treated", "n_control", "assigned", "analyzed", "left_study", "n_clusters", "n_total",
             "levels_tested", "df1", "n_students"}


def _fig(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return (f"<img alt='{html.escape(alt, quote=True)}' "
            f"src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>")


def _fmt(col: str, v) -> str:
    """One cell: counts as whole numbers, p-values to 3 decimals (< 0.001), other numbers to 2."""
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if pd.isna(v):
            return ""
        if col in _P_COLS:
            return "&lt; 0.001" if v < 0.001 else f"{v:.3f}"
        if col in _INT_COLS and float(v).is_integer():
            return f"{int(v):,}"
        if col == "df":
            return f"{v:.1f}"
        return f"{v:.2f}"
    return html.escape(str(v))


def _table(df: pd.DataFrame) -> str:
    def cell(c, v):
        num = isinstance(v, (int, float)) and not isinstance(v, bool) or str(v).startswith("<")
        return f"<td class='n'>{_fmt(c, v)}</td>" if num else f"<td>{_fmt(c, v)}</td>"

    df = df.dropna(axis=1, how="all")  # a column with nothing in it (e.g. SDs of yes/no characteristics) is noise
    head = "".join(f"<th>{html.escape(HEADERS.get(str(c), str(c)))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(cell(c, v) for c, v in zip(df.columns, row)) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_pilot_report(analysis, title: str = "Pilot evaluation report", source: str = "") -> str:
    a = analysis
    thr = a.threshold
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    design_words = {
        "individual_rct": "students randomly assigned to the program or not",
        "cluster_rct": "whole classes or schools randomly assigned",
        "multisite": "students (or classes) randomly assigned within each school",
        "comparison_schools": "program schools chosen by the district, compared with other schools (not random)",
    }[a.design]
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='note'>Generated {when} by plmresearch{(' from ' + html.escape(source)) if source else ''}. "
        f"Design: {design_words}. Aggregates only: student identifiers were pseudonymized before analysis and every "
        f"count under {thr} students is masked (&lt;{thr}), together with the statistics computed from it.</p>",
        "<div class='box'><b>In one paragraph.</b> " + html.escape(_headline(a)) + "</div>",
        "<div class='conclude'><b>What to conclude.</b> " + html.escape(_conclude(a)) + "</div>",
        "<h2>1. Data checks</h2><p>What was read and what was set aside, and why (counts only).</p>", _table(a.checks),
        "<h2>2. Sample flow and attrition</h2>", _table(a.flow), f"<p>{html.escape(a.attrition['text'])}</p>",
        _fig(a.figures["sample_flow"], "Bar chart: students analysed and students who left, in the program and comparison groups."),
        "<h2>3. Baseline equivalence</h2><p>Standardized differences at baseline (Hedges' g for scores; for "
        "categories, the share in each group and the Cox index). WWC: |g| ≤ 0.05 satisfied; 0.05-0.25 satisfied "
        "only if the impact model adjusts for that characteristic (column adjusted_in_model); &gt; 0.25 not "
        "satisfied.</p>" + ("" if a.has_pretest else "<p><b>No pretest was given</b>: prior achievement, the "
        "characteristic that matters most, cannot be checked or adjusted for.</p>"),
        _table(a.baseline), _fig(a.figures["baseline"], "Dot plot of baseline differences between the groups, with the WWC bands at 0.05 and 0.25 SD."),
        "<h2>4. The main effect</h2><p>The first row is the estimator the design calls for; the others are "
        "sensitivity checks.</p>", _table(a.main), _table(a.effect_size.rename(columns={"estimate": "value"})),
        f"<p>{html.escape(a.interpretation)}</p><p class='note'>The WWC improvement index is the expected change "
        "in percentile rank for an average comparison-group student had they received the program: 0 means no "
        "change, +10 means moving from the 50th to the 60th percentile.</p>", _fig(a.figures["main_effect"], "The main effect and the sensitivity estimates with their confidence intervals, against zero."),
    ]
    if a.outcomes is not None:
        parts += ["<h3>All outcomes</h3><p>Each outcome analysed with the same estimator as the primary one, on the "
                  "students who have it. p-values are Benjamini-Hochberg adjusted across the outcomes (WWC: "
                  "within an outcome domain). The primary outcome decides; the others support it.</p>",
                  _table(a.outcomes)]
    if a.bayes is not None:
        parts += ["<h2>5. Bayesian multilevel estimate</h2><p>How probable is an effect, and an effect large enough "
                  "to matter?</p>", _table(a.bayes),
                  "<ul>" + "".join(f"<li class='note'>{html.escape(n)}</li>" for n in a.bayes_notes) + "</ul>",
                  _fig(a.figures["posterior"], "Posterior distribution of the effect in SD units, with zero and the district's threshold marked.")]
    if a.subgroups is not None and not a.subgroups.empty:
        parts += ["<h2>6. Results by subgroup (exploratory)</h2><p>Each subgroup's effect comes from the same model "
                  "as the main effect (same covariates, same standard errors by the assigned unit, same blocks), "
                  "fitted as treatment &times; subgroup interactions. These results are exploratory: they suggest "
                  "where to look next, not where the program works; no single subgroup's result should be acted "
                  "on by itself. p-values are Benjamini-Hochberg adjusted across all subgroups. Subgroups too "
                  "small to report are masked here and left out of the figure.</p>", _table(a.subgroups),
                  "<p>Do the effects differ between the levels of each characteristic? A joint test per "
                  "characteristic (a small p-value says the effects are unlikely to be all equal):</p>",
                  _table(a.heterogeneity) if a.heterogeneity is not None else "", _fig(a.figures["subgroups"], "Effect in each reported subgroup with its interval; the dashed line is the overall effect.")]
    parts += ["<h2>7. Limitations</h2><ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in a.limitations) + "</ul>",
              "</body></html>"]
    return "\n".join(parts)


def _conclude(a) -> str:
    """One sentence: the decision against the district's threshold, and who set the threshold."""
    m = a.main_estimate
    thr = a.effect_threshold
    who = ("the threshold the district set in its config" if a.threshold_set else
           "the default threshold (the district did not set analysis.effect_threshold)")
    lvl = level_label(m.ci_level)
    lo, hi = m.effect_size_ci_low, m.effect_size_ci_high
    if lo > thr:
        verdict = f"the whole {lvl} interval of the effect size ({lo:.2f} to {hi:.2f} SD) lies above {thr:g} SD"
    elif hi < thr:
        verdict = f"the whole {lvl} interval of the effect size ({lo:.2f} to {hi:.2f} SD) lies below {thr:g} SD"
    else:
        verdict = (f"the {lvl} interval of the effect size ({lo:.2f} to {hi:.2f} SD) includes {thr:g} SD, so the "
                   "data cannot tell whether the effect reaches it")
    return f"Against {who}, {thr:g} SD: {verdict}."


def _headline(a) -> str:
    m = a.main_estimate
    lvl = level_label(m.ci_level)
    excludes_zero = not (m.ci_low <= 0 <= m.ci_high)
    sig = (f"statistically significant at the {level_label(1 - m.ci_level)} level" if excludes_zero
           else f"not statistically significant at the {level_label(1 - m.ci_level)} level")
    text = (f"The program's estimated effect is {m.estimate:.2f} points on the outcome "
            f"({lvl} CI {m.ci_low:.2f} to {m.ci_high:.2f}; {sig}), a standardized effect of g = {m.effect_size:.2f}.")
    if a.bayes is not None:
        p = a.bayes.set_index("quantity")["value"]
        thr_row = [q for q in p.index if q.startswith("P(effect >") and "threshold" in q][0]
        text += f" The Bayesian model gives a probability of {p['P(effect > 0)']} that the effect is positive and " \
                f"{p[thr_row]} that it exceeds the district's threshold."
    return text + " Read the limitations before acting on it."
