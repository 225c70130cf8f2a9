"""Tables for people: counts as integers, estimates at a fixed number of decimals, text never cut."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from plmresearch.errors import InputError


def _check_digits(digits) -> None:
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or not 0 <= digits <= 15:
        raise InputError(f"`digits` must be a whole number from 0 to 15, got {digits!r}.")


def format_number(value, digits: int = 3, whole_from: float = 0.0) -> str:
    """One cell as text: whole numbers with thousands separators (``5,874``), other numbers with
    ``digits`` decimals, missing values as an empty cell; anything else as ``str``.
    ``whole_from``: whole numbers below it in size keep their decimals (``5`` as ``5.000`` in a
    column of estimates), so a column reads alike.

    >>> format_number(5874.0), format_number(1.28456), format_number(float("nan")), format_number(7.12e-13)
    ('5,874', '1.285', '', '7.1e-13')
    """
    _check_digits(digits)
    if isinstance(whole_from, bool) or not isinstance(whole_from, numbers.Real) or not whole_from >= 0:
        raise InputError(f"`whole_from` must be a non-negative number, got {whole_from!r}.")
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        v = float(value)
        if np.isfinite(v) and v.is_integer() and whole_from <= abs(v) < 1e15:
            return f"{int(v):,}"
        if v != 0 and np.isfinite(v) and abs(v) < 0.5 * 10.0 ** -digits:
            return f"{v:.1e}"  # never print a non-zero value as 0.000
        return f"{v:,.{digits}f}"
    return str(value)


def tidy_table(df: pd.DataFrame, digits: int = 3):
    """A display of ``df`` for notebooks: a pandas ``Styler`` whose numbers read as
    :func:`format_number` writes them and whose text columns are shown in full, left-aligned.

    The data are not changed (``.data`` is ``df``); use the returned object only for display.
    """
    if not isinstance(df, pd.DataFrame):
        if isinstance(df, pd.Series):
            df = df.to_frame()
        else:
            raise InputError(f"`tidy_table` takes a DataFrame, got {type(df).__name__}.")
    _check_digits(digits)
    text_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    formatters = {}
    for c in df.columns:
        values = pd.to_numeric(df[c], errors="coerce").dropna().to_numpy(dtype=float) \
            if not pd.api.types.is_bool_dtype(df[c]) else np.array([])
        counts = len(values) > 0 and bool(np.all(np.isfinite(values) & (values == np.round(values))))
        # a column of counts reads as integers; in a mixed column only large whole numbers do
        whole_from = 0.0 if counts else 1000.0
        formatters[c] = (lambda v, w=whole_from: format_number(v, digits, w))
    styler = df.style.format(formatters)
    if text_cols:
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left", "white-space": "normal"})
    return styler
