"""Privacy protections for student-level data: pseudonyms, identifier detection, small-cell suppression.

Generic tools with explicit arguments; the district pilot applies its config's policy
(which columns it drops or keeps) on top of them, in its own package.

Sources
-------
- Keyed hashing: HMAC (RFC 2104) with SHA-256 (FIPS 180-4); test vectors from RFC 4231.
  Truncating an HMAC output to ``t`` bits is allowed for ``t >= 32`` (NIST SP 800-107r1 §5.3.3);
  we keep 64 bits by default and check for collisions. Pseudonymization with a secret key
  that is discarded after the run follows NIST SP 800-188 (§4.2, "pseudonymization") and
  ISO/IEC 20889 (keyed cryptographic hash functions).
- Direct identifiers (names, addresses, dates of birth, phone numbers, e-mail, SSN):
  FERPA, 34 CFR §99.3 "personally identifiable information"; NIST SP 800-122 §2.1.
- Minimum cell size and complementary suppression: NCES Statistical Standard 4-2
  (Maintaining confidentiality), and the SLDS Technical Brief 3 (NCES 2011-603),
  "Statistical Methods for Protecting Personally Identifiable Information in Aggregate
  Reporting", which describes a minimum reporting size (commonly 10 in state reporting)
  and the need to suppress a second cell whenever a suppressed cell could be recovered
  by subtraction from a reported total.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.errors import ColumnError, InputError, PrivacyError
from plmresearch.validation import check_seed, closest, count, unique_columns

__all__ = [
    "detect_identifier_columns",
    "new_key",
    "pseudonymize",
    "suppress_small_cells",
    "suppression_mask",
]

DEFAULT_THRESHOLD = 10
SUPPRESSED = "suppressed"

# --------------------------------------------------------------------------- pseudonyms


def new_key() -> bytes:
    """A fresh random 256-bit key (``secrets.token_bytes``); keep it out of every output."""
    return secrets.token_bytes(32)


def _key_bytes(key: bytes | str | None) -> bytes:
    if key is None:
        return new_key()
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)) or len(key) == 0:
        raise InputError("`key` must be non-empty bytes or text (or None for a random key per run).")
    return bytes(key)


def _canonical(value: Any) -> str:
    # 1234 read as a number and "1234" read as text must give the same pseudonym.
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def pseudonymize(
    series: pd.Series | Sequence[Any],
    key: bytes | str | None = None,
    *,
    length: int = 16,
    prefix: str = "",
) -> pd.Series:
    """Replace identifiers by a keyed hash: ``prefix + HMAC-SHA256(key, str(value))[:length]``.

    Parameters
    ----------
    series
        Identifiers (numbers or text). Missing values stay missing.
    key
        Secret key. ``None`` (the default) draws a random key for this call, so the
        pseudonyms cannot be linked to anything outside this run. Pass the same key
        (e.g. from :func:`new_key`) to link several tables within one run. The key is
        never stored in the result.
    length
        Hexadecimal characters kept (4 bits each): 16 keeps 64 bits, at least 8 (32 bits,
        NIST SP 800-107r1 §5.3.3) and at most 64 (the full digest).

    Returns
    -------
    pandas.Series of text, same index and name as ``series``.

    Notes
    -----
    HMAC: RFC 2104; HMAC-SHA-256 test vectors: RFC 4231. Values are canonicalised as
    ``str(value).strip()`` (whole floats as integers) and encoded in UTF-8. Distinct
    identifiers whose truncated pseudonyms collide raise :class:`PrivacyError`
    (use a larger ``length``).
    """
    length = count(length, "length", minimum=8)
    if length > 64:
        raise InputError(f"`length` must be at most 64 hexadecimal characters (SHA-256), got {length}.")
    if not isinstance(prefix, str):
        raise InputError(f"`prefix` must be a string, got {prefix!r}.")
    k = _key_bytes(key)
    if isinstance(series, pd.DataFrame) or isinstance(series, (str, bytes)) or not (
            isinstance(series, pd.Series) or hasattr(series, "__iter__")):
        raise InputError(f"`series` must be a pandas Series or a list of identifiers, got {type(series).__name__}.")
    s = series if isinstance(series, pd.Series) else pd.Series(list(series))
    present = s.notna()
    # each distinct value is canonicalised and hashed once (one-shot C HMAC: a million IDs in about a second)
    row_codes, uniq = pd.factorize(s[present])
    uniq = np.asarray(uniq, dtype=object)
    kind = pd.api.types.infer_dtype(uniq, skipna=True)
    if kind == "string":
        canon = [v.strip() for v in uniq]
    elif kind == "integer":
        canon = [str(v) for v in uniq]
    else:
        canon = [_canonical(v) for v in uniq]
    codes = [prefix + hmac.digest(k, c.encode("utf-8"), hashlib.sha256).hex()[:length] for c in canon]
    # equal canonical values get equal pseudonyms, so fewer pseudonyms than values is a collision
    if len(set(codes)) < len(set(canon)):
        raise PrivacyError(
            f"Two different identifiers received the same {length}-character pseudonym. "
            "Use a larger `length` (e.g. 32)."
        )
    out = pd.Series(pd.NA, index=s.index, name=s.name, dtype="object")
    out[present] = np.array(codes, dtype=object)[row_codes]
    return out


# --------------------------------------------------------------------------- identifier detection

# Tokens of a column name that mark a direct identifier (FERPA 34 CFR §99.3; NIST SP 800-122 §2.1).
_NAME_TOKENS: dict[str, str] = {
    "name": "name", "names": "name", "firstname": "name", "lastname": "name", "fname": "name",
    "lname": "name", "surname": "name", "forename": "name", "givenname": "name", "fullname": "name",
    "middlename": "name", "nickname": "name", "maidenname": "name",
    "email": "e-mail", "mail": "e-mail", "emailaddress": "e-mail",
    "dob": "date of birth", "birth": "date of birth", "birthdate": "date of birth",
    "birthday": "date of birth", "dateofbirth": "date of birth", "bday": "date of birth",
    "phone": "phone number", "telephone": "phone number", "tel": "phone number",
    "mobile": "phone number", "cellphone": "phone number", "phonenumber": "phone number",
    "address": "address", "street": "address", "addr": "address", "streetaddress": "address",
    "ssn": "social security number", "socialsecurity": "social security number",
    "sasid": "state student ID", "lasid": "local student ID", "stateid": "state student ID",
    "passport": "document number", "medicaid": "document number", "license": "document number",
}
# Multi-token phrases (tokens of first_name, FirstName, "First Name" are "first name").
_PHRASES: dict[str, str] = {
    "first name": "name", "last name": "name", "given name": "name", "full name": "name",
    "middle name": "name", "maiden name": "name", "family name": "name",
    "date of birth": "date of birth", "birth date": "date of birth",
    "e mail": "e-mail", "email address": "e-mail", "phone number": "phone number",
    "cell phone": "phone number", "street address": "address", "home address": "address",
    "social security": "social security number", "state id": "state student ID",
}
# A "name" column about these is not about a person.
_NOT_PERSON = {"school", "district", "class", "course", "section", "program", "test", "assessment",
               "skill", "file", "sheet", "site", "campus", "subject", "unit", "grade", "variable",
               "column", "group", "subgroup", "domain", "item", "product", "app", "module"}

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# Separators are required: a bare 10-digit number is more often a student ID than a phone number.
_PHONE = re.compile(r"^(\+?1[\s.-]?)?(\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}$|^\+\d{1,3}[\s.-]\d[\d\s.-]{6,}\d$")
_DATE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4}|\d{1,2}-\d{1,2}-\d{4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2})?)?$"
)
_PERSON = re.compile(
    r"^[A-Z][a-z'’\-]+(?:[ ,]+(?:[A-Z][a-z'’\-]*\.?|[A-Z]\.))+$"  # "Maria Lopez", "Lopez, Maria J."
    r"|^[A-Z][a-z'’\-]{1,}$"  # a single capitalised word ("Maria")
)


def _tokens(column: Any) -> list[str]:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(column))  # camelCase -> camel Case
    return [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]


def _identifier_by_name(column: Any) -> str | None:
    toks = _tokens(column)
    joined = " ".join(toks)
    for phrase, kind in _PHRASES.items():
        if re.search(rf"\b{phrase}\b", joined):
            return kind
    found = [(_NAME_TOKENS[t], t) for t in toks if t in _NAME_TOKENS]
    if not found:
        return None
    kind, token = found[0]
    if kind == "name" and token in {"name", "names"} and any(t in _NOT_PERSON for t in toks):
        return None
    return kind


def _text_values(s: pd.Series, sample_size: int, rng: np.random.Generator) -> pd.Series:
    v = s.dropna()
    if len(v) > sample_size:
        v = v.iloc[np.sort(rng.choice(len(v), size=sample_size, replace=False))]
    return v.astype(str).str.strip()


def _identifier_by_content(s: pd.Series, sample_size: int, rng: np.random.Generator) -> tuple[str, float] | None:
    if pd.api.types.is_datetime64_any_dtype(s):
        return _birthdate_like(pd.to_datetime(s.dropna()))
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return None
    v = _text_values(s, sample_size, rng)
    v = v[v != ""]
    if len(v) == 0:
        return None
    share = float(v.str.match(_EMAIL).mean())
    if share >= 0.5:
        return "e-mail", share
    share = float(v.str.match(_PHONE).mean())
    if share >= 0.5:
        return "phone number", share
    is_date = v.str.match(_DATE)
    if is_date.mean() >= 0.8:
        dates = pd.to_datetime(v[is_date], errors="coerce", format="mixed")
        found = _birthdate_like(dates.dropna())
        if found:
            return found
    share = float(v.str.match(_PERSON).mean())
    n_distinct = v.nunique()
    # Person names: mostly capitalised words AND many distinct values (school or race
    # labels are capitalised too, but repeat a lot).
    if share >= 0.8 and n_distinct >= 10 and n_distinct >= 0.25 * len(v):
        return "person name", share
    return None


def _birthdate_like(dates: pd.Series) -> tuple[str, float] | None:
    """Dates of birth: many distinct days, spread over months, mostly 2+ years in the past.

    Test or enrolment dates in a pilot file cluster on a few days within one school year.
    """
    if len(dates) < 5:
        return None
    today = pd.Timestamp.now()
    distinct = dates.dt.normalize().nunique()
    span_days = (dates.max() - dates.min()).days
    old = float((dates < today - pd.Timedelta(days=730)).mean())
    if distinct >= 0.2 * len(dates) and distinct >= 5 and span_days >= 180 and old >= 0.8:
        return "date of birth", old
    return None


def detect_identifier_columns(
    df: pd.DataFrame,
    *,
    drop: Iterable[str] = (),
    keep: Iterable[str] = (),
    id_column: str | None = None,
    sample_size: int = 2000,
    random_seed: int = 0,
) -> pd.DataFrame:
    """Flag columns that look like direct identifiers, by column name and by content.

    By name: tokens such as name, first/last name, email/e-mail, dob/date_of_birth/birth,
    phone, address, ssn (a ``school_name``-like column is not a person's name). By content
    (text columns, a sample of ``sample_size`` non-missing values): e-mail addresses,
    phone numbers written with separators, dates of birth (many distinct dates, mostly 2+
    years old), and person-name-like text (capitalised words) with high cardinality.

    Columns already decided are left out of the result: those the caller will remove
    (``drop``), those it keeps on purpose (``keep``) and ``id_column`` (an identifier that
    will be pseudonymized, :func:`pseudonymize`); each must be a column of ``df``. Every
    column is still scanned, so the result equals the undecided rows of the full scan
    (the content sample of a column does not depend on which columns are decided).

    Returns
    -------
    DataFrame with one row per flagged, undecided column: ``column``, ``identifier_type``,
    ``detected_by`` ('name', 'content' or 'name+content') and ``share_matching`` (share
    of sampled values matching the content pattern; NaN when flagged by name only).
    Values themselves never appear in the result.

    Raises
    ------
    ColumnError
        ``drop``, ``keep`` or ``id_column`` names a column that is not in ``df``.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"`df` must be a pandas DataFrame, got {type(df).__name__}.")
    decided: set[str] = set()
    for name, cols in (("drop", drop), ("keep", keep), ("id_column", () if id_column is None else id_column)):
        listed = _as_columns(cols, name, df)
        decided |= {str(c) for c in listed}
    unique_columns(df, what="df")
    sample_size = count(sample_size, "sample_size", minimum=10)
    rng = np.random.default_rng(check_seed(random_seed))
    rows = []
    for col in df.columns:
        by_name = _identifier_by_name(col)
        by_content = _identifier_by_content(df[col], sample_size, rng)
        if by_name is None and by_content is None:
            continue
        rows.append(
            {
                "column": str(col),
                "identifier_type": by_name if by_name is not None else by_content[0],
                "detected_by": "name+content" if by_name and by_content else ("name" if by_name else "content"),
                "share_matching": by_content[1] if by_content else np.nan,
            }
        )
    found = pd.DataFrame(rows, columns=["column", "identifier_type", "detected_by", "share_matching"])
    return found[~found["column"].isin(decided)].reset_index(drop=True)


# --------------------------------------------------------------------------- small-cell suppression


def _as_columns(value: str | Iterable[str] | None, name: str, df: pd.DataFrame) -> list[str]:
    if value is None:
        return []
    cols = [value] if isinstance(value, str) else list(value)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ColumnError(
            f"`{name}` names column(s) {missing} not in the table.{closest(missing[0], map(str, df.columns))}"
        )
    return cols


def suppression_mask(
    table: pd.DataFrame,
    count_columns: str | Sequence[str],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    total_column: str | None = None,
    groups: str | Sequence[str] | None = None,
    mask_zero: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which count cells must be hidden: ``(primary, complementary)`` boolean frames.

    Primary: ``0 < n < threshold`` (also 0 when ``mask_zero``). Complementary: a second cell
    is hidden in every relation that would otherwise have exactly one hidden cell, so no
    hidden value can be recovered by subtraction (NCES SLDS Technical Brief 3, 2010):

    - row relation, when ``total_column`` is the sum of the other count columns of the row;
    - group relation, when ``groups`` names columns whose rows partition a total that is
      published elsewhere (e.g. the levels of one subgroup variable, which add up to the
      analytic sample): within each group and count column.

    The smallest remaining non-zero cell of the relation is hidden next; this repeats until
    no relation has exactly one hidden cell.
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"`table` must be a pandas DataFrame, got {type(table).__name__}.")
    threshold = count(threshold, "threshold", minimum=1)
    counts = _as_columns(count_columns, "count_columns", table)
    if not counts:
        raise InputError("`count_columns` must name at least one column of counts.")
    total_col = _as_columns(total_column, "total_column", table)
    if total_col and total_col[0] not in counts:
        counts = counts + total_col
    group_cols = _as_columns(groups, "groups", table)
    unique_columns(table, counts + group_cols, what="table")
    values = pd.DataFrame(index=table.index)
    for c in counts:
        v = pd.to_numeric(table[c], errors="coerce")
        bad = v.isna() & table[c].notna()
        if bad.any() or ((v.dropna() < 0) | (v.dropna() % 1 != 0)).any():
            raise InputError(f"Count column '{c}' must hold non-negative whole numbers; found {table[c].tolist()[:5]}.")
        values[c] = v
    pos = values.reset_index(drop=True)
    low = (pos < threshold) & ((pos > 0) | mask_zero) & pos.notna()
    hidden = low.copy()

    relations: list[list[tuple[int, str]]] = []
    if total_col:
        parts = [c for c in counts if c != total_col[0]] + [total_col[0]]
        for i in range(len(pos)):
            relations.append([(i, c) for c in parts])
    if group_cols:
        keys = table[group_cols].reset_index(drop=True).astype(str).agg("\x1f".join, axis=1)
        for _, idx in keys.groupby(keys).groups.items():
            if len(idx) < 2:
                continue
            for c in counts:
                relations.append([(int(i), c) for i in idx])

    changed = True
    while changed:
        changed = False
        for rel in relations:
            n_hidden = sum(bool(hidden.at[i, c]) for i, c in rel)
            if n_hidden != 1:
                continue
            candidates = [(pos.at[i, c], i, c) for i, c in rel if not hidden.at[i, c] and pd.notna(pos.at[i, c])
                          and (pos.at[i, c] > 0 or mask_zero)]
            if not candidates:
                continue  # nothing else can hide it (the other cells are 0 or missing)
            _, i, c = min(candidates)
            hidden.at[i, c] = True
            changed = True
    complementary = hidden & ~low
    low.index = complementary.index = table.index
    return low, complementary


def suppress_small_cells(
    table: pd.DataFrame,
    count_columns: str | Sequence[str],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    statistic_columns: str | Sequence[str] | None = None,
    label_columns: str | Sequence[str] | None = None,
    total_column: str | None = None,
    groups: str | Sequence[str] | None = None,
    mask_zero: bool = False,
) -> pd.DataFrame:
    """Mask every count below ``threshold`` and every statistic computed from a masked cell.

    Parameters
    ----------
    table
        An aggregate table, one row per cell (e.g. subgroup x arm). Not modified.
    count_columns
        Columns of counts (students per cell).
    threshold
        Minimum reportable count (default 10, as in most state/district reporting rules;
        NCES SLDS Technical Brief 3).
    statistic_columns
        Columns computed from the row's students (means, SDs, effects, CIs, p-values).
        Default: every other numeric column except ``label_columns`` and ``groups``. They
        are masked in any row where a count is masked.
    label_columns
        Numeric columns that only label the row (e.g. a subgroup level coded 0/1); never masked.
    total_column, groups
        Relations used for complementary suppression (see :func:`suppression_mask`).
    mask_zero
        Also mask counts of 0 (default: zeros are shown; they describe nobody).

    Returns
    -------
    A copy where a count below the threshold reads ``f"<{threshold}"``, and a count hidden
    only to protect another cell (complementary suppression) or a statistic of a masked
    row reads ``"suppressed"``. ``result.attrs["n_suppressed"]`` counts masked cells.
    """
    primary, complementary = suppression_mask(
        table, count_columns, threshold, total_column=total_column, groups=groups, mask_zero=mask_zero
    )
    counts = list(primary.columns)
    labels = set(_as_columns(label_columns, "label_columns", table)) | set(_as_columns(groups, "groups", table))
    if statistic_columns is None:
        stats = [c for c in table.columns if c not in counts and c not in labels
                 and pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])]
    else:
        stats = [c for c in _as_columns(statistic_columns, "statistic_columns", table) if c not in counts]
    row_masked = (primary | complementary).any(axis=1)
    out = table.copy()
    for c in counts:
        col = out[c].astype(object)
        col[primary[c]] = f"<{threshold}"
        col[complementary[c]] = SUPPRESSED
        out[c] = col
    for c in stats:
        col = out[c].astype(object)
        col[row_masked] = SUPPRESSED
        out[c] = col
    out.attrs["n_suppressed"] = int(primary.to_numpy().sum() + complementary.to_numpy().sum()
                                    + row_masked.sum() * len(stats))
    out.attrs["suppression_threshold"] = threshold
    return out
