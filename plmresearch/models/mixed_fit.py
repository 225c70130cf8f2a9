"""The result of a frequentist linear mixed model, shared by both engines: statsmodels MixedLM
(:mod:`plmresearch.models.frequentist`) and sparse penalized least squares as in lme4
(:mod:`plmresearch.models.lmm_pls`; Bates et al. 2015, *J. Stat. Softw.* 67(1))."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from plmresearch.errors import InputError
from plmresearch.models._views import MultilevelViews
from plmresearch.results import Estimate


@dataclass
class MultilevelFit(MultilevelViews):
    """Result of a frequentist multilevel fit.

    Attributes
    ----------
    fixed_effects : DataFrame
        term, estimate, std_error, statistic (z), p_value, ci_low, ci_high.
    variance_components : DataFrame
        lme4 ``VarCorr`` layout: group, term1, term2 (None on the diagonal),
        variance (a covariance when term2 is set) and sd_cor (SD, or correlation).
    sigma2 : float
        Level-1 residual variance.
    llf : float
        Log-likelihood (restricted when ``reml``).
    optimizer : str
        The optimizer whose solution was kept, e.g. ``"powell + lbfgs polish"``.
    optimizer_trials : DataFrame
        Every attempt: optimizer, llf, converged, error.
    """

    formula: str
    fixed_effects: pd.DataFrame
    variance_components: pd.DataFrame
    sigma2: float
    llf: float
    reml: bool
    optimizer: str
    optimizer_trials: pd.DataFrame
    n_obs: int
    n_groups: dict[str, int]
    n_params: int
    ci_level: float = 0.95
    notes: tuple[str, ...] = ()
    random_effects: pd.DataFrame | None = None
    reliability_by_group: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ views
    @property
    def params(self) -> pd.Series:
        return self.fixed_effects.set_index("term")["estimate"]

    @property
    def bse(self) -> pd.Series:
        return self.fixed_effects.set_index("term")["std_error"]

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed effects (lme4's ``vcov``), terms as index and columns."""
        return self.extra["vcov"].copy()

    @property
    def aic(self) -> float:
        return -2 * self.llf + 2 * self.n_params

    @property
    def bic(self) -> float:
        return -2 * self.llf + math.log(self.n_obs) * self.n_params

    def variance(self, group: str, term: str = "Intercept", term2: str | None = None) -> float:
        """One variance (or covariance) component; ``group="Residual"`` gives sigma^2."""
        vc = self.variance_components
        t2 = vc["term2"].isna() if term2 is None else vc["term2"] == term2
        row = vc[(vc["group"] == group) & ((vc["term1"] == term) | (group == "Residual")) & t2]
        if row.empty:
            raise InputError(
                f"No variance component for group '{group}', term '{term}'"
                + (f" x '{term2}'" if term2 else "")
                + f". Available: {sorted(set(zip(vc['group'], vc['term1'].fillna(''))))}."
            )
        return float(row["variance"].iloc[0])

    def reliability(self) -> pd.Series:
        """Mean Raudenbush & Bryk reliability of each random coefficient (R&B 2002, eq. 3.59/3.63)."""
        if self.reliability_by_group is None:
            return pd.Series(dtype=float)
        cols = [c for c in self.reliability_by_group.columns if c not in ("level", "group", "n")]
        return self.reliability_by_group.groupby("level", sort=False)[cols].mean().stack().rename("reliability")

    def estimate(self, term: str) -> Estimate:
        """One fixed effect as an :class:`~plmresearch.results.Estimate`."""
        fe = self.fixed_effects.set_index("term")
        if term not in fe.index:
            raise InputError(f"No fixed effect named '{term}'. Terms: {list(fe.index)}.")
        r = fe.loc[term]
        return Estimate(
            estimate=float(r["estimate"]),
            std_error=float(r["std_error"]),
            ci_low=float(r["ci_low"]),
            ci_high=float(r["ci_high"]),
            ci_level=self.ci_level,
            statistic=float(r["statistic"]),
            p_value=float(r["p_value"]),
            n_clusters=next(iter(self.n_groups.values())),
            method=self.method,
            notes=self.notes,
        )

    @property
    def method(self) -> str:
        crit = "REML" if self.reml else "ML"
        return f"multilevel model ({crit}, statsmodels MixedLM, optimizer {self.optimizer})"

    def _header(self) -> list[str]:
        return [f"log-likelihood {self.llf:.4f}"]
