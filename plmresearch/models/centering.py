"""Centring helpers for multilevel models (Enders & Tofighi 2007; Raudenbush & Bryk 2002, sec. 2.5).

Group-mean centring (centring within cluster, CWC) separates the within-group
slope from the between-group one: add the group mean back as a level-2
predictor (``ses ~ cses + ses_mean``). Grand-mean centring only shifts the
intercept's meaning to the average unit. Both return a new DataFrame; the
input is never modified.
"""

from __future__ import annotations

import pandas as pd

from plmresearch.errors import InputError
from plmresearch.validation import require_columns, require_frame, require_numeric


def _columns(columns: str | list[str]) -> list[str]:
    cols = [columns] if isinstance(columns, str) else list(columns)
    if not cols:
        raise InputError("`columns` is empty; name at least one numeric column to centre.")
    return cols


def grand_mean_center(data: pd.DataFrame, columns: str | list[str], suffix: str = "_gmc") -> pd.DataFrame:
    """Copy of ``data`` with ``<column><suffix> = column - mean(column)`` added."""
    require_frame(data, "data")
    cols = _columns(columns)
    require_columns(data, cols)
    out = data.copy()
    for c in cols:
        require_numeric(data, c)
        out[f"{c}{suffix}"] = data[c] - data[c].mean()
    return out


def group_mean_center(
    data: pd.DataFrame,
    columns: str | list[str],
    group: str,
    suffix: str = "_cwc",
    mean_suffix: str = "_group_mean",
) -> pd.DataFrame:
    """Copy of ``data`` with the group mean (``<column><mean_suffix>``) and the
    within-group deviation (``<column><suffix>``) of each column added.

    Group means use the rows present (the "sample" mean, as ``mlmRev::Hsb82$meanses``).
    """
    require_frame(data, "data")
    cols = _columns(columns)
    require_columns(data, cols + [group])
    if data[group].isna().any():
        raise InputError(f"Grouping column '{group}' has {int(data[group].isna().sum())} missing value(s).")
    out = data.copy()
    for c in cols:
        require_numeric(data, c)
        m = data.groupby(group, observed=True)[c].transform("mean")
        out[f"{c}{mean_suffix}"] = m
        out[f"{c}{suffix}"] = data[c] - m
    return out
