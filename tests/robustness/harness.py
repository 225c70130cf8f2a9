"""The robustness sweep's one rule, shared by every sweep file (issue 18).

A public entry point, given any input, must either raise a :class:`PlmError` whose message
names the offending argument or column, or return a result whose numbers are finite (or
carry an explicit note saying why one is not). It never raises anything else and never
modifies what it was given.

:func:`outcome` runs one case and returns its class ("error", "result", "result+note") so a
sweep can count them; it fails the test on a raw exception, a silent non-finite number,
a message that names nothing, or a mutated input.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.errors import PlmError

#: outcome counts of every case run in this process, by sweep name then class
COUNTS: dict[str, Counter] = {}
#: the same counts by (sweep, function name), for the benchmark's per-function table
COUNTS_BY_FUNCTION: dict[tuple[str, str], Counter] = {}


def _snapshot(x: Any) -> Any:
    if isinstance(x, (pd.DataFrame, pd.Series)):
        return x.copy(deep=True)
    if isinstance(x, np.ndarray):
        return x.copy()
    try:
        return copy.deepcopy(x)
    except Exception:  # noqa: BLE001 - objects that cannot be copied are compared by identity only
        return x


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True  # a NaN field of a result is unchanged even when its copy is another object
    if isinstance(a, pd.DataFrame):
        return isinstance(b, pd.DataFrame) and a.columns.equals(b.columns) and a.index.equals(b.index) \
            and all(a.dtypes == b.dtypes) and a.equals(b)
    if isinstance(a, pd.Series):
        return isinstance(b, pd.Series) and a.dtype == b.dtype and a.equals(b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    try:
        return bool(a == b) or (a is b)
    except Exception:  # noqa: BLE001
        return a is b


def numbers_in(obj: Any, *, depth: int = 0) -> Iterable[tuple[str, float]]:
    """(label, value) for every real number a result exposes (fields, tables, arrays)."""
    if depth > 3 or obj is None or isinstance(obj, (str, bytes, bool, np.bool_)):
        return
    if isinstance(obj, numbers.Real):
        yield "", float(obj)
    elif isinstance(obj, pd.DataFrame):
        num = obj.select_dtypes(include="number")
        for c in num.columns:
            for v in num[c].to_numpy(dtype=float, na_value=np.nan):
                yield str(c), float(v)
    elif isinstance(obj, pd.Series):
        if pd.api.types.is_numeric_dtype(obj) and not pd.api.types.is_bool_dtype(obj):
            for v in obj.to_numpy(dtype=float, na_value=np.nan):
                yield str(obj.name), float(v)
    elif isinstance(obj, np.ndarray):
        if np.issubdtype(obj.dtype, np.number) and obj.size <= 100_000:
            for v in obj.ravel():
                yield "", float(np.real(v))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if f.name.startswith("_") or f.name in ("model", "idata", "trace", "data"):
                continue
            for label, v in numbers_in(getattr(obj, f.name), depth=depth + 1):
                yield f.name + ("." + label if label else ""), v
    elif isinstance(obj, dict):
        for k, v in obj.items():
            for label, x in numbers_in(v, depth=depth + 1):
                yield str(k) + ("." + label if label else ""), x
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from numbers_in(v, depth=depth + 1)


def _notes(obj: Any) -> tuple[str, ...]:
    if isinstance(obj, (pd.DataFrame, pd.Series)):  # a table's "notes" column is data, not a note on it
        return tuple(map(str, obj.attrs.get("notes", ())))
    for attr in ("notes", "warnings"):
        val = getattr(obj, attr, None)
        if val:
            return tuple(map(str, val)) if not isinstance(val, str) else (val,)
    return ()


def outcome(sweep: str, fn: Callable[..., Any], *args: Any, names: Iterable[str] = (),
            allow_nan: Iterable[str] = (), **kwargs: Any) -> str:
    """Run ``fn(*args, **kwargs)`` under the sweep's rule; return the outcome class.

    ``names``: words of which the PlmError message must contain at least one (the argument
    or column at fault; case-insensitive). ``allow_nan``: result fields that may be NaN
    by design (e.g. a p-value the result documents as undefined).
    """
    before = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
    try:
        result = fn(*args, **kwargs)
    except PlmError as exc:
        msg = str(exc)
        assert "\n" not in msg.strip() or len(msg) < 2000, f"multi-line message: {msg[:300]}"
        wanted = [n.lower() for n in names]
        assert not wanted or any(w in msg.lower() for w in wanted), (
            f"{fn.__name__}: PlmError does not name any of {list(names)}: {msg!r}")
        kind = "error"
    except Exception as exc:  # the rule: nothing but PlmError escapes
        raise AssertionError(f"{fn.__name__} raised raw {type(exc).__name__}: {exc}") from exc
    else:
        allowed = tuple(allow_nan)
        bad = [(label, v) for label, v in numbers_in(result)
               if not math.isfinite(v) and not (allowed and label.startswith(allowed))]
        notes = _notes(result)
        assert not bad or notes, f"{fn.__name__}: non-finite result without a note: {bad[:5]}"
        kind = "result+note" if notes else "result"
    after_args, after_kwargs = before
    for a, b in zip(args, after_args):
        assert _same(a, b), f"{fn.__name__} modified a positional argument"
    for k, v in kwargs.items():
        assert _same(v, after_kwargs[k]), f"{fn.__name__} modified argument {k!r}"
    COUNTS.setdefault(sweep, Counter())[kind] += 1
    COUNTS_BY_FUNCTION.setdefault((sweep, getattr(fn, "__name__", str(fn))), Counter())[kind] += 1
    return kind
