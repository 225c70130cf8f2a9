"""Table, text and HTML views shared by the frequentist and Bayesian multilevel fits."""

from __future__ import annotations

import html

import pandas as pd

from plmresearch.errors import InputError
from plmresearch.results import ESTIMATE_COLUMNS, Result


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


class MultilevelViews(Result):
    """What the frequentist and the Bayesian multilevel fits share: the table, text and
    HTML views, the variance decomposition and :meth:`icc`, from ``fixed_effects``,
    ``variance_components`` (lme4 ``VarCorr`` layout), ``n_groups``, ``method``,
    ``formula``, ``n_obs``, ``ci_level`` and ``notes``.
    """

    _fixed_title = "Fixed effects:"
    _vc_title = "Variance components:"

    def _header(self) -> list[str]:
        return []

    def to_frame(self) -> pd.DataFrame:
        """Fixed effects, one row per term, with the ``Estimate`` table columns."""
        return fixed_effects_frame(self)

    def _summary_lines(self) -> list[str]:
        return [self.method, f"formula: {self.formula}", f"n = {self.n_obs}; groups: {self.n_groups}",
                *self._header(), "",
                self._fixed_title, self.fixed_effects.to_string(index=False, float_format=lambda x: f"{x:.4f}"), "",
                self._vc_title, self.variance_components.to_string(index=False, float_format=lambda x: f"{x:.4f}")]

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<p><b>{html.escape(self.method)}</b><br>{html.escape(self.formula)}</p>"
                + self.fixed_effects.to_html(index=False, float_format=lambda x: f"{x:.4g}")
                + self.variance_components.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="")
                + (f"<ul>{notes}</ul>" if notes else ""))

    def variance_decomposition(self) -> pd.DataFrame:
        """Share of the outcome variance at each level: intercept variances and sigma^2.

        Rows run from the innermost grouping factor (most groups) to the outermost,
        then ``Residual``, on both engines. With random slopes the level-2 variance
        depends on the slope variables; these shares then hold at zero on every
        slope variable (Raudenbush & Bryk 2002, sec. 2.5 and ch. 8).
        """
        vc = self.variance_components
        rows = vc[(vc["term2"].isna()) & ((vc["term1"] == "Intercept") | (vc["group"] == "Residual"))]
        rank = {g: -n for g, n in self.n_groups.items()}
        rank["Residual"] = 1
        rows = rows.assign(_r=rows["group"].map(rank)).sort_values("_r", kind="stable")
        out = pd.DataFrame({"level": rows["group"].to_numpy(), "variance": rows["variance"].to_numpy()})
        out["proportion"] = out["variance"] / out["variance"].sum()
        return out

    def icc(self, level: str | None = None) -> float:
        """Intraclass correlation of one grouping factor: its share of the outcome variance.

        ``tau_level / (sum of the intercept variances + sigma^2)``: for two levels
        Raudenbush & Bryk (2002) eq. 2.9; for three levels their ch. 8 proportions of
        variance among schools and among classrooms within schools. ``level`` names the
        grouping factor as written in the formula (``"school"``, ``"school:class"``);
        the default is the outermost one (fewest groups). Same on both engines (the
        Bayesian fit uses posterior means of the variances).
        """
        dec = self.variance_decomposition().set_index("level")
        if level is None:
            level = min(self.n_groups, key=self.n_groups.get)
        if level not in self.n_groups or level not in dec.index:
            raise InputError(f"No grouping factor '{level}' with a random intercept. Levels: {list(self.n_groups)}.")
        return float(dec.loc[level, "proportion"])
