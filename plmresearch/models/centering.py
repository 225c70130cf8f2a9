"""Centring helpers for multilevel models (Enders & Tofighi 2007; Raudenbush & Bryk 2002, sec. 2.5).

Group-mean centring (centring within cluster, CWC) separates the within-group
slope from the between-group one: add the group mean back as a level-2
predictor (``ses ~ cses + ses_mean``). Grand-mean centring only shifts the
intercept's meaning to the average unit. Both return a new DataFrame; the
input is never modified; a missing value stays missing in its centred copy.
"""

from __future__ import annotations

import pandas as pd

from plmresearch.errors import InputError
from plmresearch.validation import (
    check_text,
    column_names,
    require_columns,
    require_frame,
    require_numeric,
    unique_columns,
)


def _columns(data: pd.DataFrame, columns: str | list[str], others: list[str], suffixes: dict[str, str]) -> list[str]:
    """Check the frame, the columns to centre (numeric, unique, with values) and the new names' suffixes."""
    require_frame(data, "data")
    if isinstance(columns, (list, tuple)) and not columns:
        raise InputError("`columns` is empty; name at least one numeric column to centre.")
    cols = column_names(columns, "columns")
    require_columns(data, cols + others)
    unique_columns(data, cols + others)
    for name, value in suffixes.items():
        check_text(value, name)
    for c in cols:
        require_numeric(data, c)
        if data[c].notna().sum() == 0:
            raise InputError(f"Column '{c}' has no values (all missing); there is no mean to centre on.")
    return cols


def grand_mean_center(data: pd.DataFrame, columns: str | list[str], suffix: str = "_gmc") -> pd.DataFrame:
    """Copy of ``data`` with ``<column><suffix> = column - mean(column)`` added."""
    cols = _columns(data, columns, [], {"suffix": suffix})
    out = data.copy()
    for c in cols:
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
    if not isinstance(group, str):
        raise InputError(f"`group` must be a column name, got {group!r}.")
    cols = _columns(data, columns, [group], {"suffix": suffix, "mean_suffix": mean_suffix})
    if suffix == mean_suffix:
        raise InputError(f"`suffix` and `mean_suffix` are both {suffix!r}; the two new columns need different names.")
    if data[group].isna().any():
        raise InputError(f"Grouping column '{group}' has {int(data[group].isna().sum())} missing value(s).")
    out = data.copy()
    for c in cols:
        m = data.groupby(group, observed=True)[c].transform("mean")
        out[f"{c}{mean_suffix}"] = m
        out[f"{c}{suffix}"] = data[c] - m
    return out
