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
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f2f2f2}
td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:0.9em}
.box{background:#f7f7f0;border-left:4px solid #b8a;padding:0.6em 1em}img{max-width:100%}
"""


def _fig(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return f"<img alt='figure' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"


def _table(df: pd.DataFrame) -> str:
    def fmt(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.4g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
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
        "<h2>1. Data checks</h2><p>What was read and what was set aside, and why (counts only).</p>", _table(a.checks),
        "<h2>2. Sample flow and attrition</h2>", _table(a.flow), f"<p>{html.escape(a.attrition['text'])}</p>",
        _fig(a.figures["sample_flow"]),
        "<h2>3. Baseline equivalence</h2><p>Standardized differences at baseline (Hedges' g for scores; for "
        "categories, the share in each group and the Cox index). WWC: |g| ≤ 0.05 satisfied; 0.05-0.25 satisfied "
        "only if the impact model adjusts for that characteristic (column adjusted_in_model); &gt; 0.25 not "
        "satisfied.</p>" + ("" if a.has_pretest else "<p><b>No pretest was given</b>: prior achievement, the "
        "characteristic that matters most, cannot be checked or adjusted for.</p>"),
        _table(a.baseline), _fig(a.figures["baseline"]),
        "<h2>4. The main effect</h2><p>The first row is the estimator the design calls for; the others are "
        "sensitivity checks.</p>", _table(a.main), _table(a.effect_size),
        f"<p>{html.escape(a.interpretation)}</p>", _fig(a.figures["main_effect"]),
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
                  _fig(a.figures["posterior"])]
    if a.subgroups is not None and not a.subgroups.empty:
        parts += ["<h2>6. Results by subgroup (exploratory)</h2><p>Each subgroup's effect comes from the same model "
                  "as the main effect (same covariates, same standard errors by the assigned unit, same blocks), "
                  "fitted as treatment &times; subgroup interactions. These results are exploratory: they suggest "
                  "where to look next, not where the program works; no single subgroup's result should be acted "
                  "on by itself. p-values are Benjamini-Hochberg adjusted across all subgroups. Subgroups too "
                  "small to report are masked here and left out of the figure.</p>", _table(a.subgroups),
                  "<p>Do the effects differ between the levels of each characteristic? A joint test per "
                  "characteristic (a small p-value says the effects are unlikely to be all equal):</p>",
                  _table(a.heterogeneity) if a.heterogeneity is not None else "", _fig(a.figures["subgroups"])]
    parts += ["<h2>7. Limitations</h2><ul>" + "".join(f"<li>{html.escape(t)}</li>" for t in a.limitations) + "</ul>",
              "</body></html>"]
    return "\n".join(parts)


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
        text += f" The Bayesian model gives a {p['P(effect > 0)']:.0%} probability that the effect is positive and " \
                f"{p[thr_row]:.0%} that it exceeds the district's threshold."
    return text + " Read the limitations before acting on it."
