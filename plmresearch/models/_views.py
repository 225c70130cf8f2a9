"""Table, text and HTML views shared by the frequentist and Bayesian multilevel fits."""

from __future__ import annotations

import html

import pandas as pd

from plmresearch.results import ESTIMATE_COLUMNS


def fixed_effects_frame(fit) -> pd.DataFrame:
    """Fixed effects, one row per term, with the ``Estimate`` table columns."""
    fe = fit.fixed_effects
    out = pd.DataFrame({"term": fe["term"]})
    for c in ESTIMATE_COLUMNS:
        out[c] = fe[c] if c in fe else None
    out["method"] = fit.method
    out["ci_level"] = fit.ci_level
    out["n_clusters"] = next(iter(fit.n_groups.values()))
    return out


def summary_text(fit, extra_header: list[str], fixed_title: str, vc_title: str) -> str:
    lines = [fit.method, f"formula: {fit.formula}", f"n = {fit.n_obs}; groups: {fit.n_groups}", *extra_header, "",
             fixed_title, fit.fixed_effects.to_string(index=False, float_format=lambda x: f"{x:.4f}"), "",
             vc_title, fit.variance_components.to_string(index=False, float_format=lambda x: f"{x:.4f}")]
    lines += [f"note: {n}" for n in fit.notes]
    return "\n".join(lines)


def fit_html(fit) -> str:
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in fit.notes)
    return (f"<p><b>{html.escape(fit.method)}</b><br>{html.escape(fit.formula)}</p>"
            + fit.fixed_effects.to_html(index=False, float_format=lambda x: f"{x:.4g}")
            + fit.variance_components.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="")
            + (f"<ul>{notes}</ul>" if notes else ""))
