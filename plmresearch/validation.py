"""Input checks shared by every public entry point.

Each check raises a :class:`~plmresearch.errors.PlmError` subclass whose message
names the argument/column and the offending value, and says what to do. None of
them modifies its input.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.errors import ColumnError, InputError


def closest(name: str, choices: Iterable[str]) -> str:
    """A 'did you mean ...?' hint, or '' when nothing is close."""
    match = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else ""


def require_frame(df: Any, name: str = "df") -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"`{name}` must be a pandas DataFrame, got {type(df).__name__}.")
    if len(df) == 0:
        raise InputError(f"`{name}` has no rows.")
    return df


def require_columns(df: pd.DataFrame, columns: Iterable[str | None], what: str = "data") -> None:
    """Raise ColumnError naming each missing column and the closest existing one."""
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        hints = "".join(closest(c, df.columns) for c in missing[:1])
        raise ColumnError(
            f"Column(s) {missing} not found in the {what}.{hints} "
            f"Available columns: {list(map(str, df.columns))[:30]}."
        )


def require_numeric(df: pd.DataFrame, column: str) -> None:
    """The column must hold numbers (bool counts as 0/1)."""
    s = df[column]
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return
    bad = pd.to_numeric(s, errors="coerce").isna() & s.notna()
    example = s[bad].iloc[0] if bad.any() else None
    raise InputError(
        f"Column '{column}' must be numeric, but it holds text such as {example!r} "
        f"({int(bad.sum())} non-numeric value(s)). Recode it to numbers first."
    )


def require_no_missing(df: pd.DataFrame, columns: Iterable[str], hint: str = "") -> None:
    for c in columns:
        n = int(df[c].isna().sum())
        if n:
            raise InputError(
                f"Column '{c}' has {n} missing value(s)."
                + (f" {hint}" if hint else " Drop or impute them explicitly before calling this function.")
            )


def binary_indicator(df: pd.DataFrame, column: str) -> np.ndarray:
    """Return a 0/1 float array for a treatment column coded 0/1 or False/True.

    Anything else (three levels, text, one level only) is an InputError.
    """
    s = df[column]
    if s.isna().any():
        raise InputError(
            f"Treatment column '{column}' has {int(s.isna().sum())} missing value(s); "
            "every unit must have an assigned arm."
        )
    values = pd.unique(s)
    if pd.api.types.is_bool_dtype(s):
        x = s.to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(s) and set(np.asarray(values, dtype=float)) <= {0.0, 1.0}:
        x = s.to_numpy(dtype=float)
    else:
        raise InputError(
            f"Treatment column '{column}' must be binary (0/1 or False/True); "
            f"found values {sorted(map(str, values))[:10]}. Recode it, e.g. df['{column}'] == 'treated'."
        )
    n1 = int(x.sum())
    if n1 == 0 or n1 == len(x):
        arm = "treatment" if n1 == 0 else "control"
        raise InputError(f"The {arm} arm is empty: treatment column '{column}' has a single value.")
    return x


def require_unique(df: pd.DataFrame, column: str, what: str = "unit ID") -> None:
    dup = df[column].duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"{int(df.loc[dup, column].nunique())} {what}(s) in column '{column}' appear more than once "
            f"({int(dup.sum())} rows). Each unit must appear once; aggregate or deduplicate first."
        )


def require_clusters(df: pd.DataFrame, column: str, minimum: int = 2) -> int:
    k = int(df[column].nunique(dropna=True))
    if k < minimum:
        raise InputError(
            f"Cluster column '{column}' has {k} cluster(s); at least {minimum} are needed to estimate "
            "between-cluster variation."
        )
    if df[column].isna().any():
        raise InputError(f"Cluster column '{column}' has {int(df[column].isna().sum())} missing value(s).")
    return k


def positive(value: float, name: str, allow_zero: bool = False) -> float:
    v = finite(value, name)
    if v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"`{name}` must be {'non-negative' if allow_zero else 'positive'}, got {value!r}.")
    return v


def finite(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"`{name}` must be a number, got {value!r}.") from None
    if math.isnan(v) or math.isinf(v):
        raise InputError(f"`{name}` must be a finite number, got {value!r}.")
    return v


def probability(value: Any, name: str, open_low: bool = False, open_high: bool = False) -> float:
    v = finite(value, name)
    lo_ok = v > 0 if open_low else v >= 0
    hi_ok = v < 1 if open_high else v <= 1
    if not (lo_ok and hi_ok):
        lo = "(0" if open_low else "[0"
        hi = "1)" if open_high else "1]"
        raise InputError(f"`{name}` must lie in {lo}, {hi}, got {value!r}.")
    return v


def check_ci_level(value: Any, name: str = "ci_level") -> float:
    """The one check of a confidence/credible level: a number strictly between 0 and 1 (e.g. 0.95).

    Every public estimator validates its ``ci_level`` here (and ``alpha`` where it is a level).
    """
    return probability(value, name, open_low=True, open_high=True)


def count(value: Any, name: str, minimum: int = 1) -> int:
    v = finite(value, name)
    if v != int(v) or v < minimum:
        raise InputError(f"`{name}` must be a whole number >= {minimum}, got {value!r}.")
    return int(v)


def array_1d(values: Any, name: str, allow_empty: bool = False) -> np.ndarray:
    """A finite float vector; NaN/inf or a wrong shape is an InputError."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"`{name}` must be numbers, got {values!r:.80}.") from None
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise InputError(f"`{name}` must be one-dimensional, got shape {a.shape}.")
    if not allow_empty and a.size == 0:
        raise InputError(f"`{name}` is empty.")
    bad = ~np.isfinite(a)
    if bad.any():
        raise InputError(f"`{name}` has {int(bad.sum())} NaN/infinite value(s) (first at position {int(np.argmax(bad))}).")
    return a


def same_length(arrays: Sequence[np.ndarray], names: Sequence[str]) -> None:
    lengths = {n: len(a) for n, a in zip(names, arrays)}
    if len(set(lengths.values())) > 1:
        raise InputError(f"Lengths differ: {lengths}. Give one value per study/unit in each.")


# --- checks first needed by models, mastery, data (robust-b) ---


def check_flag(value: Any, name: str) -> bool:
    """A True/False switch; 'no', 0 or None are refused rather than read by truthiness."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"`{name}` must be True or False, got {value!r}.")


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """``value`` must be one of ``choices`` (compared by equality; unhashable values are refused too)."""
    options = list(choices)
    try:
        ok = any(isinstance(value, type(c)) and bool(value == c) for c in options)
    except Exception:  # noqa: BLE001 - an object whose == fails is not one of the choices
        ok = False
    if not ok:
        hint = closest(value, map(str, options)) if isinstance(value, str) else ""
        raise InputError(f"`{name}` must be one of {options}, got {value!r}.{hint}")
    return value


def check_seed(value: Any, name: str = "random_seed") -> int | None:
    """A random seed: None or a whole number >= 0 (numpy's SeedSequence refuses anything else)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"`{name}` must be None or a whole number >= 0, got {value!r}.")
    return int(value)


def check_text(value: Any, name: str) -> str:
    """A non-empty string (a name, a column, a label)."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"`{name}` must be a non-empty string, got {value!r}.")
    return value


def check_path(value: Any, name: str = "path") -> str:
    """A file-system path given as a string or os.PathLike."""
    import os

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise InputError(f"`{name}` must be a file path (a string or pathlib.Path), got {value!r}.")
    return os.fspath(value)


def unique_columns(df: pd.DataFrame, columns: Iterable[Any] | None = None, what: str = "data") -> None:
    """The named columns (all, when ``columns`` is None) must each occur once in ``df``."""
    cols = df.columns
    wanted = list(cols) if columns is None else [c for c in columns if c is not None]
    dup = sorted({str(c) for c in wanted if (cols == c).sum() > 1}) if cols.has_duplicates else []
    if dup:
        raise ColumnError(
            f"Column name(s) {dup} occur more than once in the {what}; rename or drop the duplicates "
            "(e.g. df.loc[:, ~df.columns.duplicated()])."
        )


def column_names(value: Any, name: str) -> list[str]:
    """One column name or a list of them (each a string) as a list."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, pd.Index)) or not items or not all(isinstance(c, str) for c in items):
        raise InputError(f"`{name}` must be a column name or a list of column names, got {value!r}.")
    return list(items)
