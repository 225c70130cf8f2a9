"""Shared input handling for the causal estimators (private).

Validates the analysis frame once, so that every estimator raises the same
clear :class:`~plmresearch.errors.PlmError` for the same mistake, and reports
missing outcomes as attrition instead of silently dropping them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plmresearch.errors import InputError
from plmresearch.validation import (  # noqa: F401 - check_ci_level is re-exported to the estimators
    binary_indicator,
    check_choice,
    check_ci_level,
    normalize_columns,
    numeric_values,
    require_clusters,
    require_clusters_per_arm,
    require_column_args,
    require_frame,
    require_numeric,
    require_outcome_variation,
    require_scale,
    require_unique,
)

MISSING_CHOICES = ("raise", "drop")


@dataclass
class Prepared:
    """A validated copy of the analysis rows."""

    data: pd.DataFrame
    y: np.ndarray
    t: np.ndarray
    notes: list[str] = field(default_factory=list)
    attrition: dict | None = None

    @property
    def n_treated(self) -> int:
        return int(self.t.sum())

    @property
    def n_control(self) -> int:
        return int(len(self.t) - self.t.sum())


def as_list(covariates: str | Iterable[str] | None, name: str = "covariates") -> list[str]:
    if covariates is None:
        return []
    if isinstance(covariates, str):
        return [covariates]
    try:
        out = list(covariates)
    except TypeError:
        raise InputError(f"`{name}` must be a column name or a list of column names, got {covariates!r}.") from None
    for c in out:
        if not isinstance(c, str):
            raise InputError(f"`{name}` must hold column names (str), got {c!r}.")
    return out


def attrition_summary(missing: np.ndarray, t: np.ndarray) -> dict:
    """Counts and rates of missing outcomes per arm (WWC attrition inputs)."""
    n_t = int(t.sum())
    n_c = int(len(t) - n_t)
    m_t = int(missing[t == 1].sum())
    m_c = int(missing[t == 0].sum())
    rate_t = m_t / n_t if n_t else float("nan")
    rate_c = m_c / n_c if n_c else float("nan")
    return {
        "randomized_treated": n_t,
        "randomized_control": n_c,
        "missing_treated": m_t,
        "missing_control": m_c,
        "attrition_treated": rate_t,
        "attrition_control": rate_c,
        "attrition_overall": (m_t + m_c) / (n_t + n_c),
        "attrition_differential": abs(rate_t - rate_c),
    }


def prepare(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    block: str | None = None,
    unit: str | None = None,
    extra_columns: Sequence[str] | dict[str, str] = (),
    missing: str = "raise",
    min_clusters: int = 2,
    min_clusters_per_arm: int = 2,
    check_variation: bool = True,
    treatment_arg: str = "treatment",
    covariates_arg: str = "covariates",
) -> Prepared:
    """Check the columns and return a validated copy of the analysis rows.

    ``missing="raise"`` (default) refuses missing outcomes and says how many
    are missing per arm; ``missing="drop"`` drops them and records the
    per-arm attrition in the notes and in ``attrition``.

    Degenerate designs are refused with a message that says what to do: an outcome constant
    within each arm (``check_variation``), fewer than ``min_clusters_per_arm`` clusters in an arm.
    Columns in nullable or categorical dtypes are read as their plain values. ``treatment_arg``
    and the keys of ``extra_columns`` (a dict argument -> column) name the caller's arguments in messages.
    """
    require_frame(df)
    check_choice(missing, "missing", MISSING_CHOICES)
    covariates = as_list(covariates, covariates_arg)
    extra_columns = dict(extra_columns) if isinstance(extra_columns, dict) else {"column": list(extra_columns)}
    df = require_column_args(df, {"outcome": outcome, treatment_arg: treatment, covariates_arg: covariates,
                             "cluster": cluster, "block": block, "unit": unit} | extra_columns)
    extra_columns = [c for v in extra_columns.values() for c in ([v] if isinstance(v, str) else v)]
    cols = [outcome, treatment, *covariates, cluster, block, unit, *extra_columns]
    df = normalize_columns(df, cols)
    if outcome == treatment:
        raise InputError(f"`outcome` and `treatment` are the same column '{outcome}'.")
    if outcome in covariates or treatment in covariates:
        raise InputError(f"`{covariates_arg}` lists the outcome or the {treatment_arg} column "
                         f"({[c for c in covariates if c in (outcome, treatment)]}); remove it from `{covariates_arg}`.")
    require_numeric(df, outcome)
    for c in covariates:
        x = numeric_values(df[c], c)
        n_bad = int(np.isnan(x).sum())
        if n_bad:
            raise InputError(
                f"Covariate '{c}' has {n_bad} missing value(s). Missing covariates are not attrition: "
                "impute them (e.g. mean plus a missingness indicator) or drop the column."
            )
        require_scale(x, c, "Covariate")
    for c in extra_columns:
        x = numeric_values(df[c], c)
        n_bad = int(np.isnan(x).sum())
        if n_bad:
            raise InputError(f"Column '{c}' has {n_bad} missing value(s); every unit needs a value. "
                             "Fill in or drop those rows explicitly.")
        require_scale(x, c)
    if unit is not None:
        require_unique(df, unit)
    t_all = binary_indicator(df, treatment, what=treatment_arg if treatment_arg != "treatment" else "treatment")
    for name, col in (("cluster", cluster), ("block", block)):
        if col is not None and df[col].isna().any():
            raise InputError(
                f"{name.capitalize()} column '{col}' has {int(df[col].isna().sum())} missing value(s); "
                f"every unit needs its {name}."
            )

    y_raw = df[outcome]
    miss = y_raw.isna().to_numpy()
    notes: list[str] = []
    attrition = None
    keep = np.ones(len(df), dtype=bool)
    if miss.any():
        attrition = attrition_summary(miss, t_all)
        msg = (
            f"Outcome '{outcome}' is missing for {attrition['missing_treated']} of "
            f"{attrition['randomized_treated']} treated and {attrition['missing_control']} of "
            f"{attrition['randomized_control']} control units (overall attrition "
            f"{attrition['attrition_overall']:.1%}, differential {attrition['attrition_differential']:.1%})."
        )
        if missing == "raise":
            raise InputError(
                msg + " Missing outcomes are attrition: pass missing='drop' to analyse the units with "
                "outcomes and have the attrition recorded, or impute them explicitly."
            )
        notes.append("attrition: " + msg + " Units without an outcome were dropped.")
        keep = ~miss

    data = df.loc[keep].copy()
    t = t_all[keep]
    if t.sum() == 0 or t.sum() == len(t):
        arm = "treatment" if t.sum() == 0 else "control"
        raise InputError(f"The {arm} arm has no unit with an observed outcome '{outcome}'.")
    y = data[outcome].to_numpy(dtype=float)
    require_scale(y, outcome, "Outcome")
    if cluster is not None:
        require_clusters(data, cluster, minimum=min_clusters)
        if min_clusters_per_arm:
            require_clusters_per_arm(data[cluster].to_numpy(), t, cluster, minimum=min_clusters_per_arm)
    if check_variation:
        require_outcome_variation(y, t, outcome)
    return Prepared(data=data, y=y, t=t, notes=notes, attrition=attrition)


def covariate_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    """Numeric covariates as a float matrix (bool as 0/1); constant columns are an error."""
    if not covariates:
        return np.empty((len(data), 0))
    X = np.column_stack([numeric_values(data[c], c) for c in covariates])
    const = [c for c, s in zip(covariates, X.std(axis=0)) if s == 0]
    if const:
        raise InputError(f"Covariate(s) {const} are constant in the analysis sample; remove them.")
    return X
