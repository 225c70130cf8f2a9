"""lme4-style mixed-model formulas, split into a fixed part and grouping terms.

``"mathach ~ cses * meanses + (1 + cses | school)"`` becomes a fixed-effects
formula (``"mathach ~ cses * meanses"``, handed unchanged to formulaic or
statsmodels) and a list of :class:`RandomTerm`. Only the ``( expr | group )``
and ``( expr || group )`` brackets are split here (Bates et al. 2015, *J. Stat.
Softw.* 67(1), Table 2); everything inside ``expr`` and the fixed part is parsed
by formulaic. ``(1 | school/class)`` expands to ``(1 | school) + (1 | school:class)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from plmresearch.errors import InputError, ModelError
from plmresearch.validation import require_columns, require_frame, require_numeric, unique_columns

_BAR = re.compile(r"\(([^()|]*?)(\|\|?)([^()|]*?)\)")


@dataclass(frozen=True)
class RandomTerm:
    """One ``(expr | group)`` term.

    Attributes
    ----------
    expr : str
        The varying-coefficient expression, e.g. ``"1 + cses"``.
    group : str
        Grouping factor; ``"school:class"`` for a nested factor.
    correlated : bool
        False for the ``||`` form (independent intercept and slopes).
    """

    expr: str
    group: str
    correlated: bool = True

    @property
    def group_columns(self) -> list[str]:
        return [g.strip() for g in self.group.split(":")]

    @property
    def label(self) -> str:
        bar = "|" if self.correlated else "||"
        return f"({self.expr} {bar} {self.group})"


@dataclass(frozen=True)
class MixedFormula:
    """A parsed lme4-style formula."""

    formula: str
    outcome: str
    fixed: str
    random: tuple[RandomTerm, ...] = field(default_factory=tuple)

    @property
    def fixed_rhs(self) -> str:
        return self.fixed.split("~", 1)[1].strip()

    def variables(self) -> set[str]:
        """Every data column the formula names (outcome, fixed, slopes, groups)."""
        names = set(_required(self.fixed))
        for t in self.random:
            names |= set(_required(f"~ {t.expr}"))
            names |= set(t.group_columns)
        return names


def _required(formula: str) -> set[str]:
    try:
        return {str(v) for v in Formula(formula).required_variables}
    except Exception as exc:  # formulaic raises several parser errors
        raise InputError(f"Cannot parse the formula part {formula!r}: {exc}") from None


def parse_formula(formula: str) -> MixedFormula:
    """Split an lme4-style formula into its fixed part and grouping terms.

    Raises
    ------
    InputError
        If the formula has no ``~``, no outcome, or an empty grouping factor.
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise InputError(f"`formula` must be a string like 'y ~ x + (1 | school)', got {formula!r}.")
    lhs, rhs = formula.split("~", 1)
    outcome = lhs.strip()
    if not outcome:
        raise InputError(f"The formula {formula!r} has no outcome on the left of '~'.")
    terms: list[RandomTerm] = []
    for m in _BAR.finditer(rhs):
        expr, bar, group = m.group(1).strip(), m.group(2), m.group(3).strip()
        if not group:
            raise InputError(f"The term '{m.group(0)}' names no grouping factor after '|'.")
        expr = expr or "1"
        parts = [g.strip() for g in group.split("/")]
        for i in range(len(parts)):
            terms.append(RandomTerm(expr, ":".join(parts[: i + 1]), correlated=(bar == "|")))
    fixed_rhs = _BAR.sub("", rhs)
    fixed_rhs = re.sub(r"\+\s*(\+\s*)+", "+ ", fixed_rhs).strip().strip("+").strip()
    if not fixed_rhs:
        fixed_rhs = "1"
    return MixedFormula(formula=formula, outcome=outcome, fixed=f"{outcome} ~ {fixed_rhs}", random=tuple(terms))


def check_data(mf: MixedFormula, data: pd.DataFrame, need_groups: bool = True) -> pd.DataFrame:
    """Validate ``data`` against a parsed formula; return the complete-case copy used.

    Raises a ColumnError for an unknown column, an InputError for a non-numeric
    outcome, a grouping term with fewer than two groups, or a group with a
    single row where a random slope is requested.
    """
    require_frame(data, "data")
    if need_groups and not mf.random:
        raise InputError(
            f"The formula {mf.formula!r} has no grouping term such as '(1 | school)'. "
            "Add one, or use an ordinary regression."
        )
    names = mf.variables()
    require_columns(data, sorted(names), what="data (named in the formula)")
    require_columns(data, [mf.outcome], what="data")
    unique_columns(data, sorted(names), what="data (named in the formula)")
    require_numeric(data, mf.outcome)
    used = data[sorted(names)].copy()
    for c in used.columns:
        if pd.api.types.is_numeric_dtype(used[c]) and not pd.api.types.is_bool_dtype(used[c]):
            n_inf = int(np.isinf(used[c].to_numpy(dtype=float, na_value=np.nan)).sum())
            if n_inf:
                raise InputError(f"Column '{c}' has {n_inf} infinite value(s); recode or drop them before fitting.")
    n0 = len(used)
    used = used.dropna()
    if len(used) == 0:
        raise InputError(
            f"No complete rows remain after dropping rows with missing values in the formula's columns "
            f"{sorted(names)} (missing per column: {used_missing(data, sorted(names))})."
        )
    used.attrs["n_dropped"] = n0 - len(used)
    y = used[mf.outcome].to_numpy(dtype=float)
    if np.ptp(y) == 0:
        raise InputError(f"The outcome '{mf.outcome}' is constant ({y[0]!r} in every complete row); "
                         "there is no variation to model.")
    check_fixed_design(mf, used)
    for t in mf.random:
        key = group_key(used, t)
        sizes = key.value_counts()
        if len(sizes) < 2:
            raise InputError(f"Grouping factor '{t.group}' has {len(sizes)} group(s); a multilevel model needs at least 2.")
        if _has_slope(t.expr, used):
            small = sizes[sizes < 2]
            if len(small):
                raise InputError(
                    f"Grouping factor '{t.group}' has {len(small)} group(s) with a single row "
                    f"(e.g. {small.index[0]!r}), but the term {t.label} asks for a random slope, "
                    "which a group of one cannot inform. Drop those groups or use a random intercept only."
                )
    return used


def used_missing(data: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    return {c: int(data[c].isna().sum()) for c in columns if data[c].isna().any()}


def check_fixed_design(mf: MixedFormula, used: pd.DataFrame) -> None:
    """Name the predictor that makes the fixed-effects design singular (constant, or a copy of others).

    lme4 drops such columns with a message; here the user decides, with the column named.
    """
    x = design(f"~ {mf.fixed_rhs}", used)
    cols = list(x.columns)
    a = x.to_numpy()
    has_intercept = "Intercept" in cols
    for j, c in enumerate(cols):
        if c != "Intercept" and has_intercept and np.ptp(a[:, j]) == 0:
            raise InputError(
                f"The predictor '{c}' is constant ({a[0, j]:g} in every complete row), so its effect cannot be "
                f"separated from the intercept. Drop '{c}' from the formula {mf.formula!r}."
            )
    if np.linalg.matrix_rank(a) == a.shape[1]:
        return
    kept: list[int] = []
    for j, c in enumerate(cols):
        if np.linalg.matrix_rank(a[:, kept + [j]]) == len(kept) + 1:
            kept.append(j)
            continue
        others = [cols[k] for k in kept]
        raise InputError(
            f"The predictor '{c}' is a linear combination of {others[:8]} in the complete rows, so the fixed "
            f"effects are not identified. Drop '{c}' (or one of those) from the formula {mf.formula!r}."
        )


def _has_slope(expr: str, data: pd.DataFrame) -> bool:
    return any(c != "Intercept" for c in design(f"~ {expr}", data.head(50)).columns)


def group_key(data: pd.DataFrame, term: RandomTerm) -> pd.Series:
    """One label per row for the term's grouping factor (``a:b`` pastes a and b)."""
    cols = term.group_columns
    if len(cols) == 1:
        return data[cols[0]].astype(str)
    key = data[cols[0]].astype(str)
    for c in cols[1:]:
        key = key + ":" + data[c].astype(str)
    return key


def design(formula: str, data: pd.DataFrame) -> pd.DataFrame:
    """A model matrix from formulaic, as a float DataFrame (errors as PlmError)."""
    try:
        mm = model_matrix(formula, data, na_action="raise")
    except Exception as exc:
        raise InputError(f"Cannot build the design matrix for {formula!r}: {exc}") from None
    if hasattr(mm, "rhs"):
        mm = mm.rhs
    out = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.columns), index=data.index)
    return out


def fixed_design(mf: MixedFormula, data: pd.DataFrame) -> pd.DataFrame:
    return design(f"~ {mf.fixed_rhs}", data)


def nesting(mf: MixedFormula, data: pd.DataFrame) -> list[RandomTerm]:
    """Order grouping terms outer -> inner and check each is nested in the previous one.

    Raises ModelError for crossed factors (not supported by either engine here).
    """
    terms = sorted(mf.random, key=lambda t: group_key(data, t).nunique())
    for outer, inner in zip(terms, terms[1:]):
        ko, ki = group_key(data, outer), group_key(data, inner)
        if ko.nunique() == ki.nunique() and (ko.values == ki.values).all():
            raise ModelError(f"Two grouping terms use the same factor '{outer.group}'; merge them into one term.")
        per_inner = pd.Series(ko.values).groupby(ki.values).nunique()
        if (per_inner > 1).any():
            bad = per_inner[per_inner > 1].index[0]
            raise ModelError(
                f"Grouping factor '{inner.group}' is not nested in '{outer.group}' (level {bad!r} occurs in "
                f"{int(per_inner.max())} different '{outer.group}' groups). Crossed random effects are not "
                f"supported; if the labels repeat across {outer.group}s, write '({inner.expr} | {outer.group}:{inner.group})'."
            )
    return terms
