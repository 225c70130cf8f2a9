"""Result types shared by the whole package.

Every result record derives from :class:`Result`, one small base that gives the
same views everywhere: ``to_frame()`` (tidy table), ``to_dict()`` (one-row
records), ``summary()`` text, ``str()`` and an HTML view for notebooks. A
subclass says only what differs: its table columns (``_columns``) or its own
``to_frame()``, its summary lines (``_summary_lines()``) and its title.

``Estimate`` is the one result of every frequentist estimator (see DESIGN.md).
Bayesian fits return a :class:`~plmresearch.models.PosteriorEstimate`, a subclass of
``Estimate`` that adds the posterior fields. ``EffectSize`` is a standardized
effect with its sampling variance (:mod:`plmresearch.effects`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import pandas as pd

from plmresearch.errors import InputError

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

#: Columns of ``EffectSize.to_frame()``, in order.
EFFECT_SIZE_COLUMNS = [
    "effect_size_type",
    "estimate",
    "variance",
    "std_error",
    "ci_low",
    "ci_high",
    "ci_level",
    "ci_method",
    "df",
    "correction",
    "n_treated",
    "n_control",
]


def level_label(ci_level: float) -> str:
    """The label of an interval's level: ``0.95`` -> ``"95%"``, ``0.9`` -> ``"90%"``, ``0.975`` -> ``"97.5%"``.

    Build every "95% CI" text from the result's own ``ci_level`` with this.
    """
    return f"{100 * float(ci_level):g}%"


def _float_format(x: float) -> str:
    return f"{x:.4g}"


class Result:
    """The views every result record shares.

    A subclass provides ``to_frame()`` (a tidy table) and ``_summary_lines()``
    (the summary without its notes); ``notes`` (a tuple of sentences) and the
    title (``method`` when there is one) are read from the instance when present.
    Records of one row get ``to_frame()``/``to_dict()`` from :class:`Record`.
    """

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _title(self) -> str:
        return str(getattr(self, "method", type(self).__name__))

    def _summary_lines(self) -> list[str]:
        return [self._title()]

    def _notes(self) -> tuple[str, ...]:
        return tuple(getattr(self, "notes", ()) or ())

    def summary(self) -> str:
        """Plain-text summary, statsmodels style, notes last."""
        return "\n".join(self._summary_lines() + [f"note: {n}" for n in self._notes()])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        table = self.to_frame().drop(columns=["notes"], errors="ignore")
        if len(table) == 1:
            body = table.T.rename(columns={0: "value"}).to_html(float_format=_float_format, na_rep="")
        else:
            body = table.to_html(index=False, float_format=_float_format, na_rep="")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self._notes())
        return f"<p><b>{html.escape(self._title())}</b></p>" + body + (f"<ul>{notes}</ul>" if notes else "")


class Record(Result):
    """A result of one row: its dataclass fields, minus ``_hidden``, make the table.

    ``_columns`` orders the table's columns; ``notes`` are joined with "; ". Every record
    has an interval ``ci_low``/``ci_high`` at level ``ci_level``.
    """

    _columns: ClassVar[list[str]] = []
    _hidden: ClassVar[frozenset[str]] = frozenset({"extra"})

    @property
    def ci(self) -> tuple[float, float]:
        """The interval as a ``(low, high)`` pair (``ci_low``, ``ci_high``)."""
        return (self.ci_low, self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        """The record's fields (without bulky ones such as draws), notes joined."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self._hidden}
        if "notes" in d:
            d["notes"] = "; ".join(d["notes"])
        return d

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy table (pingouin style)."""
        d = self.to_dict()
        return pd.DataFrame([{c: d.get(c) for c in self._columns}])


@dataclass(frozen=True)
class Estimate(Record):
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

    _columns: ClassVar[list[str]] = ESTIMATE_COLUMNS + ["notes"]

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

    def _summary_lines(self) -> list[str]:
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
        return lines


@dataclass(frozen=True)
class EffectSize(Record):
    """A standardized effect with its sampling variance and confidence interval.

    Definitions and variances follow the WWC Procedures Handbook v4.1 (App. E) and
    Borenstein, Hedges, Higgins & Rothstein (2009), *Introduction to Meta-Analysis*, ch. 4.

    Attributes
    ----------
    estimate : float
        The effect size (e.g. Hedges' g).
    variance, std_error : float
        Large-sample sampling variance and its square root.
    ci_low, ci_high, ci_level : float
        Confidence interval and its level.
    ci_method : str
        ``"normal"`` (estimate ± z·SE) or ``"noncentral t"``.
    effect_size_type : str
        What the number is: "Cohen's d", "Hedges' g", "Glass's delta", "Cox index", ...
    df : float or None
        Degrees of freedom used by the small-sample correction / noncentral t.
    correction : float or None
        Small-sample correction factor applied (J or the WWC omega); None if none.
    """

    _columns: ClassVar[list[str]] = EFFECT_SIZE_COLUMNS + ["notes"]

    estimate: float
    variance: float
    std_error: float
    ci_low: float
    ci_high: float
    effect_size_type: str
    ci_level: float = 0.95
    ci_method: str = "normal"
    df: float | None = None
    correction: float | None = None
    n_treated: float | None = None
    n_control: float | None = None
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __float__(self) -> float:
        return float(self.estimate)

    def _title(self) -> str:
        return self.effect_size_type

    def _summary_lines(self) -> list[str]:
        lvl = round(self.ci_level * 100)
        return [
            f"{self.effect_size_type} = {self.estimate:.4f} (SE {self.std_error:.4f}), "
            f"{lvl}% CI [{self.ci_low:.4f}, {self.ci_high:.4f}] ({self.ci_method})"
        ]


def estimates_table(estimates: list[Result] | dict[str, Result]) -> pd.DataFrame:
    """Stack results of any type into one tidy table.

    Each result contributes its ``to_frame()`` rows (one for an ``Estimate``,
    ``PosteriorEstimate``, ``EffectSize`` or ``MetaAnalysis``; one per term for a
    multilevel fit); a dict's keys become a leading ``label`` column. Columns a
    result lacks are left empty.
    """
    if not isinstance(estimates, (dict, list, tuple)):
        raise InputError(f"`estimates` must be a list or dict of plmresearch results, got {type(estimates).__name__}.")
    items = list(estimates.items()) if isinstance(estimates, dict) else [(None, e) for e in estimates]
    if not items:
        raise InputError("`estimates` is empty; pass at least one result.")
    frames = []
    for label, e in items:
        if not callable(getattr(e, "to_frame", None)):
            raise InputError(f"`estimates` must hold plmresearch results, got {type(e).__name__}.")
        frame = e.to_frame()
        frames.append(frame.assign(label=label) if label is not None else frame)
    out = pd.concat(frames, ignore_index=True)
    if "label" in out:
        out = out[["label"] + [c for c in out.columns if c != "label"]]
    return out
