"""Result types shared by the whole package.

``Estimate`` is the one result of every frequentist estimator (see DESIGN.md):
a tidy, immutable record with ``.to_frame()`` (one row), ``summary()`` text and
an HTML view for notebooks. Bayesian fits return a ``PosteriorEstimate``
(``plmresearch.models``) with the same table columns plus posterior summaries.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Columns of ``Estimate.to_frame()``, in order; PosteriorEstimate reuses them.
ESTIMATE_COLUMNS = [
    "method",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "ci_level",
    "df",
    "statistic",
    "p_value",
    "n_treated",
    "n_control",
    "n_clusters",
    "effect_size",
    "effect_size_type",
    "effect_size_ci_low",
    "effect_size_ci_high",
]


@dataclass(frozen=True)
class Estimate:
    """A treatment-effect estimate with honest uncertainty.

    Attributes
    ----------
    estimate, std_error : float
        Effect on the outcome's own scale and its standard error.
    ci_low, ci_high, ci_level : float
        Confidence interval and its level (e.g. 0.95).
    df : float or None
        Degrees of freedom of the reference t distribution (None: normal).
    statistic, p_value : float
        Test statistic (t or z) and two-sided p-value.
    n_treated, n_control : int
        Units in the analysis, per arm.
    n_clusters : int or None
        Clusters (schools, classes) when the design is clustered.
    method : str
        What was computed, in words ("difference in means, Welch SE").
    effect_size : float or None
        Standardized effect, the WWC way: ``estimate`` over the unadjusted pooled
        within-arm SD of the outcome, times the small-sample correction.
    effect_size_type : str
        E.g. "Hedges' g", "Cox index".
    effect_size_ci_low, effect_size_ci_high : float or None
        CI of the effect size (the estimate's CI rescaled by the same SD).
    notes : tuple of str
        Plain-language caveats (attrition, dropped rows, warnings).
    extra : dict
        Method-specific details (e.g. per-block estimates as a DataFrame).
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    method: str
    ci_level: float = 0.95
    df: float | None = None
    statistic: float | None = None
    p_value: float | None = None
    n_treated: int | None = None
    n_control: int | None = None
    n_clusters: int | None = None
    effect_size: float | None = None
    effect_size_type: str | None = None
    effect_size_ci_low: float | None = None
    effect_size_ci_high: float | None = None
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ci(self) -> tuple[float, float]:
        """The confidence interval as a ``(low, high)`` pair."""
        return (self.ci_low, self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        d["notes"] = "; ".join(self.notes)
        return d

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy table (pingouin style)."""
        d = self.to_dict()
        cols = ESTIMATE_COLUMNS + ["notes"]
        return pd.DataFrame([{c: d.get(c) for c in cols}])

    def summary(self) -> str:
        """Plain-text summary, statsmodels style."""
        lvl = int(round(self.ci_level * 100))
        lines = [
            self.method,
            "=" * max(len(self.method), 40),
            f"estimate     {self.estimate: .4f}",
            f"std. error   {self.std_error: .4f}",
            f"{lvl}% CI       [{self.ci_low:.4f}, {self.ci_high:.4f}]",
        ]
        if self.statistic is not None:
            lines.append(f"statistic    {self.statistic: .4f}" + (f" (df {self.df:.2f})" if self.df else ""))
        if self.p_value is not None:
            lines.append(f"p-value      {self.p_value: .4g}")
        if self.n_treated is not None:
            lines.append(f"n treated / control   {self.n_treated} / {self.n_control}")
        if self.n_clusters is not None:
            lines.append(f"clusters     {self.n_clusters}")
        if self.effect_size is not None:
            es = f"{self.effect_size_type or 'effect size'}  {self.effect_size:.3f}"
            if self.effect_size_ci_low is not None:
                es += f" [{self.effect_size_ci_low:.3f}, {self.effect_size_ci_high:.3f}]"
            lines.append(es)
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        table = self.to_frame().drop(columns=["notes"]).T.rename(columns={0: "value"})
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<p><b>{html.escape(self.method)}</b></p>"
            + table.to_html(float_format=lambda x: f"{x:.4g}", na_rep="")
            + (f"<ul>{notes}</ul>" if notes else "")
        )


def estimates_table(estimates: list[Estimate] | dict[str, Estimate]) -> pd.DataFrame:
    """Stack several estimates into one tidy table (one row each)."""
    if isinstance(estimates, dict):
        frames = [e.to_frame().assign(label=k) for k, e in estimates.items()]
    else:
        frames = [e.to_frame() for e in estimates]
    out = pd.concat(frames, ignore_index=True)
    if "label" in out:
        out = out[["label"] + [c for c in out.columns if c != "label"]]
    return out


