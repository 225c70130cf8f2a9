"""Input checks shared by every public entry point.

Each check raises a :class:`~plmresearch.errors.PlmError` subclass whose message
names the argument/column and the offending value, and says what to do. None of
them modifies its input.

* numbers: :func:`finite` (no text, bools, NaN, inf), :func:`number` (a range), :func:`probability`,
  :func:`count`, :func:`check_ci_level`, :func:`array_1d`; choices :func:`check_choice`; flags
  :func:`check_flag`; seeds :func:`check_seed`;
* frames and columns: :func:`require_frame`, :func:`require_column_args` (argument -> column names,
  unique column names, plain dtypes), :func:`numeric_values` / :func:`normalize_columns` (nullable
  Int64/Float64/boolean and categoricals read as their values; numbers stored as text refused with
  the conversion to use), :func:`binary_indicator`, :func:`require_scale`;
* degenerate designs: :func:`require_outcome_variation`, :func:`require_variation`,
  :func:`require_clusters_per_arm`;
* the safety net of numeric formulas: :func:`finite_or_input_error`.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import threading
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
    columns = [c for c in columns if c is not None]
    for c in columns:
        if not isinstance(c, (str, int, np.integer)) or isinstance(c, bool):
            raise InputError(f"A column name must be a string, got {c!r:.60} ({type(c).__name__}). "
                             "Pass the name of a column of the data.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hints = "".join(closest(c, df.columns) for c in missing[:1])
        raise ColumnError(
            f"Column(s) {missing} not found in the {what}.{hints} "
            f"Available columns: {list(map(str, df.columns))[:30]}."
        )
    unique_columns(df, columns, what)


#: arguments that may name several columns (a list); any other column argument names one
MULTI_COLUMN_ARGS = ("covariates", "outcome_covariates", "predictors", "regressors", "instruments", "moderators",
                     "pretest", "column")


def require_column_args(df: pd.DataFrame, args: dict[str, Any], what: str = "data") -> pd.DataFrame:
    """Each argument (name -> column name, list of names, or None) must name columns of ``df``.

    The message names the argument as well as the column, e.g. "`outcome` = 'scroe' is not a
    column of the data. Did you mean 'score'?"; column names used twice in ``df`` are refused.
    Returns ``df`` with those columns in plain dtypes (:func:`normalize_columns`; a shallow copy
    when any changes, never the caller's frame modified).
    """
    used: list[Any] = []
    for arg, value in args.items():
        if value is None:
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple, pd.Index)) or (arg not in MULTI_COLUMN_ARGS and values is value):
            many = " or a list of them" if arg in MULTI_COLUMN_ARGS else ""
            raise InputError(f"`{arg}` must be a column name (str){many}, got {value!r:.60} ({type(value).__name__}).")
        for c in values:
            if not isinstance(c, str) or not c:
                raise InputError(f"`{arg}` must hold column names (non-empty str), got {c!r:.60}.")
            if c not in df.columns:
                raise ColumnError(
                    f"`{arg}` = '{c}' is not a column of the {what}.{closest(c, df.columns)} "
                    f"Available columns: {list(map(str, df.columns))[:30]}."
                )
            used.append(c)
    unique_columns(df, used, what)
    return normalize_columns(df, used)


def require_numeric(df: pd.DataFrame, column: str) -> None:
    """The column must hold numbers (bool, nullable Int64/Float64/boolean and numeric categoricals
    count as numbers); text is refused with a message that says how to convert it."""
    numeric_values(df[column], column)


def _is_numeric_like(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return pd.api.types.is_numeric_dtype(s.cat.categories) or pd.api.types.is_bool_dtype(s.cat.categories)
    return pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s)


def numeric_values(s: pd.Series, column: str) -> np.ndarray:
    """A column as a float array (missing -> NaN) when it holds numbers in any dtype pandas uses
    for them: float/int, bool, nullable Int64/Float64/boolean, numeric categoricals. Text, and
    numbers stored as text, raise an InputError naming the column and how to convert it."""
    if _is_numeric_like(s):
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        try:
            return pd.to_numeric(s).to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):  # pragma: no cover - a numeric dtype always converts
            pass
    present = s.dropna()
    if len(present) and present.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool)).all():
        return pd.to_numeric(s.astype(object)).to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(present.astype(object), errors="coerce")
    bad = converted.isna()
    if len(present) and not bad.any():
        raise InputError(
            f"Column '{column}' holds numbers stored as text (dtype {s.dtype}, e.g. {present.iloc[0]!r}). "
            f"Convert it first: df['{column}'] = pd.to_numeric(df['{column}'])."
        )
    if not len(present):
        raise InputError(f"Column '{column}' holds no values (all missing, dtype {s.dtype}); it must hold numbers.")
    raise InputError(
        f"Column '{column}' must be numeric, but it holds text such as {present[bad].iloc[0]!r:.40} "
        f"({int(bad.sum())} of {len(present)} value(s) are not numbers). Recode it to numbers first "
        f"(e.g. a 0/1 dummy for a category)."
    )


def normalize_columns(df: pd.DataFrame, columns: Iterable[str | None]) -> pd.DataFrame:
    """``df`` with the named columns in plain NumPy dtypes (the input itself when nothing changes).

    Nullable Int64/Float64/boolean become float64 (pd.NA -> NaN), categoricals become their
    categories' values (float for numeric categories, object otherwise), and pandas' string
    dtype becomes object -- so every estimator sees the same data whatever dtype it came in.
    Only a shallow copy is made; the caller's frame is never modified.
    """
    out = None
    for c in dict.fromkeys(c for c in columns if c is not None):
        s = df[c]
        if isinstance(s, pd.DataFrame):  # duplicated name: unique_columns reports it
            continue
        new = None
        if isinstance(s.dtype, pd.CategoricalDtype):
            new = numeric_values(s, c) if _is_numeric_like(s) else s.astype(object).where(s.notna(), None)
        elif isinstance(s.dtype, pd.api.extensions.ExtensionDtype) and not isinstance(s.dtype, pd.DatetimeTZDtype):
            if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                new = s.to_numpy(dtype=float, na_value=np.nan)
            elif pd.api.types.is_string_dtype(s):
                new = s.astype(object).where(s.notna(), None).to_numpy()
        if new is not None:
            if out is None:
                out = df.copy(deep=False)
            out[c] = pd.Series(np.asarray(new), index=df.index)
    return df if out is None else out


def require_no_missing(df: pd.DataFrame, columns: Iterable[str], hint: str = "") -> None:
    for c in columns:
        n = int(df[c].isna().sum())
        if n:
            raise InputError(
                f"Column '{c}' has {n} missing value(s)."
                + (f" {hint}" if hint else " Drop or impute them explicitly before calling this function.")
            )


def binary_indicator(df: pd.DataFrame, column: str, what: str = "treatment",
                     levels: tuple[str, str] = ("control", "treatment")) -> np.ndarray:
    """Return a 0/1 float array for a column coded 0/1 or False/True.

    Nullable Int64/Float64/boolean and categoricals of 0/1 count as 0/1. Anything else (three
    levels, text, one level only) is an InputError that names the column; ``what`` names its role
    ("treatment", "period", ...) and ``levels`` the meaning of 0 and 1 in the messages.
    """
    s = df[column]
    role = what[:1].upper() + what[1:]
    if s.isna().any():
        raise InputError(
            f"{role} column '{column}' has {int(s.isna().sum())} missing value(s); "
            f"every unit needs its {what} (0/1)."
        )
    values = pd.unique(s.astype(object))
    x = None
    if _is_numeric_like(s):
        x = numeric_values(s, column)
        if not set(np.unique(x)) <= {0.0, 1.0}:
            x = None
    if x is None:
        shown = sorted(map(repr, values))[:10]
        text01 = all(isinstance(v, str) and v.strip() in ("0", "1", "0.0", "1.0") for v in values)
        hint = (f"It holds 0/1 stored as text: convert it with df['{column}'] = pd.to_numeric(df['{column}'])."
                if text01 else f"Recode it, e.g. df['{column}'] == <the {levels[1]} value>.")
        raise InputError(
            f"{role} column '{column}' must be binary (0/1 or False/True); found values {shown}. {hint}"
        )
    n1 = int(x.sum())
    if n1 == 0 or n1 == len(x):
        gone = levels[1] if n1 == 0 else levels[0]
        group = "arm" if what in ("treatment", "assignment") else "group"
        raise InputError(
            f"The {gone} {group} is empty: {what} column '{column}' has a single value ({int(x[0])}) "
            f"(1 = {levels[1]}, 0 = {levels[0]}); both are needed. Check the column and the rows selected."
        )
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
    """A finite real number; text ("0.2"), bools, None, NaN and infinities are InputErrors."""
    if isinstance(value, (str, bytes)):
        raise InputError(f"`{name}` must be a number, got the text {value!r:.40}; pass a number without quotes.")
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"`{name}` must be a number, got the boolean {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"`{name}` must be a (finite) number, got {value!r:.60}.") from None
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


def number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, allow_none: bool = False) -> float | None:
    """A finite number in [low, high] (open ends with ``low_open``/``high_open``); None passes
    through when ``allow_none``. The message names the argument and the allowed range."""
    if value is None and allow_none:
        return None
    v = finite(value, name)
    bad_lo = low is not None and (v <= low if low_open else v < low)
    bad_hi = high is not None and (v >= high if high_open else v > high)
    if bad_lo or bad_hi:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        rng = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise InputError(f"`{name}` must lie in {rng}, got {value!r}.")
    return v


def require_variation(values: np.ndarray, column: str, what: str = "column", hint: str = "") -> None:
    """A column that must vary in the estimation sample (an outcome, a running variable, ...)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and np.ptp(v) == 0:
        raise InputError(
            f"{what[:1].upper() + what[1:]} '{column}' takes a single value ({v[0]:g}) in the estimation sample, "
            f"so nothing can be estimated from it. {hint or 'Check the column and the rows selected.'}"
        )


def require_outcome_variation(y: np.ndarray, t: np.ndarray, outcome: str) -> None:
    """The outcome must vary within at least one arm, or no standard error exists."""
    y, t = np.asarray(y, dtype=float), np.asarray(t, dtype=float)
    spread = [np.ptp(y[t == a]) if np.any(t == a) else 0.0 for a in (0.0, 1.0)]
    if max(spread) == 0:
        raise InputError(
            f"Outcome '{outcome}' is constant within each arm (treated all {y[t == 1][0]:g}, control all "
            f"{y[t == 0][0]:g}): its standard error is 0 and no test or interval exists. Check that "
            "'outcome' names the right column and that the rows are the analysis sample."
        )


def require_clusters_per_arm(clusters: Any, t: np.ndarray, column: str, minimum: int = 2) -> None:
    """Cluster-robust inference needs ``minimum`` clusters in each arm (a cluster-randomized
    design with one cluster per arm has a cluster-robust SE of 0 up to rounding)."""
    labels = pd.Series(np.asarray(clusters)).astype(str).to_numpy()
    t = np.asarray(t, dtype=float)
    per_arm = {arm: len(np.unique(labels[t == v])) for arm, v in (("treated", 1.0), ("control", 0.0))}
    if min(per_arm.values()) < minimum:
        raise InputError(
            f"Cluster column '{column}' has {per_arm['treated']} treated and {per_arm['control']} control "
            f"cluster(s); cluster-robust inference needs at least {minimum} clusters in each arm (with one, "
            "the effect is confounded with the cluster and its SE is meaningless). Add clusters, or "
            "drop `cluster` only if randomization was individual."
        )


#: magnitudes outside [SCALE_MIN, SCALE_MAX] make squares and sums of squares overflow or underflow
SCALE_MAX = 1e100
SCALE_MIN = 1e-100


def require_scale(values: Any, column: str, what: str = "Column", each: bool = False, small: bool = True) -> None:
    """Data values must be finite and of a magnitude whose squares a float can hold (1e-100 to 1e100).

    Variances square the data: values near 1e300 overflow to inf and values near 1e-300 underflow
    to 0, which would otherwise surface as an infinite or zero standard error with no explanation.
    ``each``: the smallest non-zero magnitude is checked (variances whose inverses are weights);
    ``small=False`` checks only the large end (effect sizes near 0 are harmless).
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if np.isinf(v).any():
        raise InputError(f"{what} '{column}' has {int(np.isinf(v).sum())} infinite value(s); fix or drop them first.")
    big = np.abs(v).max(initial=0.0)
    if big > SCALE_MAX:
        raise InputError(f"{what} '{column}' has values as large as {big:.3g}: beyond what variance computations can "
                         f"hold in floating point. Rescale it (e.g. standardize, or change its units).")
    least = np.abs(v[v != 0]).min(initial=np.inf) if each else big
    if small and 0 < least < SCALE_MIN:
        raise InputError(f"{what} '{column}' has values as small as {least:.3g}: too small for variance computations "
                         f"in floating point. Rescale it (e.g. standardize, or change its units).")


_RESULT_FIELDS = ("estimate", "variance", "std_error", "ci_low", "ci_high", "mdes", "power")


class _Overflow(Exception):
    """Raised by a guarded function called inside another, so the outer one reports it."""


_GUARD = threading.local()


def finite_or_input_error(fn):
    """Decorator for functions of numbers: floating-point overflow, underflow to 0 or a
    non-finite result becomes an InputError that lists the arguments and says to rescale.

    It is the safety net behind the specific checks of each function (which say more): a user
    never sees a ZeroDivisionError or OverflowError from deep inside a formula, nor an inf
    estimate returned as if it were a number.
    """
    sig = inspect.signature(fn)

    def _fail(args, kwargs, what: str, nested: bool):
        if nested:  # an inner guarded call: let the outermost one name its own arguments
            raise _Overflow(what)
        try:
            bound = sig.bind(*args, **kwargs)
            shown = ", ".join(f"{k}={v!r:.24}" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                              else f"`{k}`" for k, v in bound.arguments.items())
        except TypeError:
            shown = ""
        raise InputError(
            f"{fn.__name__}: {what} with these inputs ({shown}): they are too large, too small or too "
            "close to a boundary to compute in floating point. Check them, or rescale the data (e.g. to "
            "standard units) before computing."
        ) from None

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        nested = getattr(_GUARD, "depth", 0) > 0
        _GUARD.depth = getattr(_GUARD, "depth", 0) + 1
        try:
            with np.errstate(all="ignore"):
                out = fn(*args, **kwargs)
        except _Overflow as exc:
            _fail(args, kwargs, str(exc), nested)
        except (OverflowError, ZeroDivisionError, FloatingPointError) as exc:
            _fail(args, kwargs, f"the computation failed ({type(exc).__name__}: {exc})", nested)
        except ValueError as exc:
            if isinstance(exc, InputError) or "math domain" not in str(exc):
                raise
            _fail(args, kwargs, "the computation left the domain of a function (math domain error)", nested)
        finally:
            _GUARD.depth -= 1
        values = [out] if isinstance(out, (float, np.floating)) else [
            getattr(out, f) for f in _RESULT_FIELDS if isinstance(getattr(out, f, None), (float, int, np.number))]
        bad = [v for v in values if not np.isfinite(v)]
        if bad and (np.isinf(bad).any() or not getattr(out, "notes", ())):  # NaN is fine when a note says why
            _fail(args, kwargs, "the result is not a finite number", nested)
        return out

    return wrapper



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
