"""Reading a district's student file and checking it against a pilot config.

``read_table`` reads CSV, Excel (.xlsx) or Parquet from bytes read once in read-only
mode (the file is never modified) and returns the frame with an :class:`IntakeLog`.
``check_pilot_data``/``prepare_pilot_data`` apply the config's roles and report, as
counts only, what was read and what was set aside and why.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.errors import ColumnError, InputError
from plmresearch.validation import closest

__all__ = ["DataChecks", "IntakeLog", "check_pilot_data", "prepare_pilot_data", "read_table"]

_TYPES = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".xlsx": "excel", ".xlsm": "excel",
          ".parquet": "parquet", ".pq": "parquet"}
# File signatures ("magic numbers") of formats people send by mistake.
_MAGIC = [
    (b"PK\x03\x04", "an Excel workbook or another zip archive"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or Word (.doc) file"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"{\\rtf", "an RTF document"),
    (b"SQLite format 3", "an SQLite database"),
]


@dataclass(frozen=True)
class IntakeLog:
    """What was read: file name, type, SHA-256 of the bytes, rows and columns (counts only)."""

    file_name: str
    file_type: str
    sha256: str
    n_bytes: int
    rows_read: int
    n_columns: int
    columns: tuple[str, ...]
    encoding: str | None = None
    sheet: str | int | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"item": "file", "value": self.file_name},
                {"item": "file type", "value": self.file_type + (f" (sheet {self.sheet})" if self.sheet is not None else "")},
                {"item": "SHA-256", "value": self.sha256},
                {"item": "rows read", "value": self.rows_read},
                {"item": "columns", "value": self.n_columns},
            ]
        )


def _fail(path: Path, problem: str, fix: str) -> InputError:
    return InputError(f"{path}: {problem} Fix: {fix}")


def _sniff(head: bytes) -> str | None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    return None


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    if b"\x00" in raw[:65536]:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            return raw.decode("utf-16"), "utf-16"
        raise _fail(path, "is named as a text (CSV) file but holds binary content.",
                    "export the data from its program as CSV (comma-separated values), .xlsx or .parquet.")
    for enc in ("utf-8-sig", "cp1252"):  # Excel's "CSV" on Windows is cp1252
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


def _separator(text: str) -> str:
    """The separator of a CSV file: the most frequent of , ; tab | in its header line.

    Excel writes ';' where the decimal mark is a comma (e.g. most of Europe).
    """
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def read_table(
    path: str | os.PathLike,
    *,
    sheet: str | int | None = None,
    text_columns: Iterable[str] = (),
) -> tuple[pd.DataFrame, IntakeLog]:
    """Read a CSV, Excel (.xlsx) or Parquet file into a DataFrame.

    Parameters
    ----------
    path
        The file. Its type is taken from the extension (.csv/.txt/.tsv, .xlsx/.xlsm,
        .parquet/.pq) and checked against the content.
    sheet
        Excel sheet name or 0-based position (default: the first sheet).
    text_columns
        Columns to keep as text (identifiers such as ``'00123'`` keep their leading zeros).

    Returns
    -------
    (DataFrame, IntakeLog)

    Raises
    ------
    InputError
        file missing, empty, of the wrong type (by extension or by content), or unreadable;
        each message names the file and says what to do.

    Notes
    -----
    The file is opened once, read-only, and parsed from the bytes in memory, so it is
    never modified and the logged SHA-256 is that of exactly what was analysed.
    Blank cells and the usual missing-value codes (NA, N/A, NULL, nan) become missing.
    """
    p = Path(path)
    if not p.exists():
        hint = closest(p.name, [q.name for q in p.parent.iterdir()]) if p.parent.is_dir() else ""
        raise _fail(p, "file not found.", f"check the path (relative paths start at {Path.cwd()}).{hint}")
    if p.is_dir():
        raise _fail(p, "is a folder, not a file.", "give the path of the data file inside it.")
    kind = _TYPES.get(p.suffix.lower())
    if kind is None:
        extra = " Old .xls workbooks must be saved as .xlsx first." if p.suffix.lower() == ".xls" else ""
        raise _fail(p, f"unsupported file type '{p.suffix or '(no extension)'}'.",
                    f"save the data as .csv, .xlsx or .parquet.{extra}")
    try:
        with open(p, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise _fail(p, f"cannot be read ({exc.strerror or exc}).",
                    "check that you have permission to read it and that it is not open elsewhere.") from None
    if not raw.strip():
        raise _fail(p, "is empty (0 bytes or only blank space).", "export the data again; the file holds no rows.")
    digest = hashlib.sha256(raw).hexdigest()
    found = _sniff(raw[:16])
    text_cols = list(text_columns)
    encoding = None
    if kind in ("csv", "tsv"):
        if found is not None:
            raise _fail(p, f"is named {p.suffix} but its content is {found}.",
                        "rename it with the right extension (.xlsx, .parquet) or export it as CSV.")
        text, encoding = _decode(raw, p)
        sep = "\t" if kind == "tsv" else _separator(text)
        try:
            with warnings.catch_warnings():
                # A row longer than the header would silently become an index or lose values.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(io.StringIO(text), sep=sep, dtype={c: str for c in text_cols},
                                 skipinitialspace=True, index_col=False, decimal="," if sep == ";" else ".")
        except pd.errors.ParserWarning:
            raise _fail(p, "has rows with more values than the header has column names.",
                        "check for unquoted separators inside values (e.g. a comma in a name) and quote them, "
                        "or export the file again.") from None
        except pd.errors.EmptyDataError:
            raise _fail(p, "has no columns or rows.", "export the data again with a header row.") from None
        except (pd.errors.ParserError, ValueError, UnicodeError) as exc:
            raise _fail(p, f"cannot be parsed as CSV ({str(exc).splitlines()[0]}).",
                        "check that every row has the same number of separators, or export it again.") from None
    elif kind == "excel":
        if not raw.startswith(b"PK\x03\x04"):
            what = found or "not an Excel (.xlsx) workbook"
            raise _fail(p, f"is named {p.suffix} but its content is {what}.",
                        "open it in its program and save it as .xlsx (or .csv).")
        try:
            import openpyxl  # noqa: F401
        except ImportError:  # pragma: no cover - depends on the environment
            raise InputError("Reading .xlsx files needs the openpyxl package: pip install openpyxl.") from None
        try:
            sheets = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
        except Exception as exc:  # zip/xml errors of many kinds: the workbook is damaged
            raise _fail(p, f"cannot be read as an Excel workbook ({type(exc).__name__}: {exc}).",
                        "open and re-save it in Excel, or export it as CSV.") from None
        names = sheets.sheet_names
        if sheet is not None and not (sheet in names or (isinstance(sheet, int) and 0 <= sheet < len(names))):
            raise _fail(p, f"has no sheet {sheet!r}; its sheets are {names}.", "set data.sheet to one of them.")
        try:
            df = pd.read_excel(sheets, sheet_name=0 if sheet is None else sheet, dtype={c: str for c in text_cols})
        except Exception as exc:
            raise _fail(p, f"cannot be read as an Excel workbook ({type(exc).__name__}: {exc}).",
                        "open and re-save it in Excel, or export it as CSV.") from None
    else:
        if not (raw.startswith(b"PAR1") and raw.endswith(b"PAR1")):
            what = found or "not a Parquet file"
            raise _fail(p, f"is named {p.suffix} but its content is {what}.",
                        "rename it with the right extension, or write it again with DataFrame.to_parquet.")
        try:
            df = pd.read_parquet(io.BytesIO(raw))
        except ImportError:  # pragma: no cover
            raise InputError("Reading .parquet files needs the pyarrow package: pip install pyarrow.") from None
        except Exception as exc:
            raise _fail(p, f"cannot be read as Parquet ({type(exc).__name__}: {str(exc).strip().splitlines()[0]}).",
                        "write it again with DataFrame.to_parquet.") from None
        for c in text_cols:
            if c in df.columns:
                df[c] = df[c].astype("string").astype(object).where(df[c].notna(), None)
    if df.shape[1] == 0:
        raise _fail(p, "has no columns.", "export the data again with a header row.")
    if len(df) == 0 or df.isna().all(axis=None):
        raise _fail(p, "has a header but no data rows.", "export the data again; the file holds no students.")
    df.columns = [str(c).strip() for c in df.columns]
    unnamed = [c for c in df.columns if c.startswith("Unnamed:")]
    if unnamed and df[unnamed].isna().all(axis=None):
        df = df.drop(columns=unnamed)  # trailing separators / empty spreadsheet columns
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise _fail(p, f"has repeated column name(s) {dup}.", "give every column a distinct name in the header.")
    log = IntakeLog(file_name=p.name, file_type=kind, sha256=digest, n_bytes=len(raw), rows_read=len(df),
                    n_columns=df.shape[1], columns=tuple(df.columns), encoding=encoding,
                    sheet=sheet if kind == "excel" else None)
    return df, log


# --------------------------------------------------------------------------- pilot data checks


@dataclass
class DataChecks:
    """The "data checks" section: what was read and what was set aside, as counts only.

    ``steps`` has one row per check: ``check``, ``action`` ('dropped', 'attrition' or
    'kept'), ``n_rows``, ``n_treated``, ``n_control`` (arms are NaN when unknown).
    """

    rows_read: int
    n_columns: int
    steps: pd.DataFrame
    n_randomized_treated: int
    n_randomized_control: int
    n_analyzed_treated: int
    n_analyzed_control: int
    n_schools: int
    n_classes: int | None

    @property
    def n_randomized(self) -> int:
        return self.n_randomized_treated + self.n_randomized_control

    @property
    def n_analyzed(self) -> int:
        return self.n_analyzed_treated + self.n_analyzed_control

    def attrition_rates(self) -> dict[str, float]:
        """Overall and differential attrition (share of the assigned sample without outcome)."""
        a_t = 1 - self.n_analyzed_treated / self.n_randomized_treated
        a_c = 1 - self.n_analyzed_control / self.n_randomized_control
        overall = 1 - self.n_analyzed / self.n_randomized
        return {"overall": overall, "treated": a_t, "control": a_c, "differential": abs(a_t - a_c)}

    def to_frame(self, threshold: int | None = None) -> pd.DataFrame:
        """Summary table; with ``threshold``, counts below it are masked (privacy.suppress_small_cells)."""
        head = pd.DataFrame(
            [
                {"check": "rows read", "action": "read", "n_rows": self.rows_read,
                 "n_treated": np.nan, "n_control": np.nan},
                *self.steps.to_dict("records"),
                {"check": "assigned sample (treatment known)", "action": "kept", "n_rows": self.n_randomized,
                 "n_treated": self.n_randomized_treated, "n_control": self.n_randomized_control},
                {"check": "analytic sample (primary outcome present)", "action": "kept", "n_rows": self.n_analyzed,
                 "n_treated": self.n_analyzed_treated, "n_control": self.n_analyzed_control},
            ]
        )
        if threshold is None:
            return head
        from plmresearch.data.privacy import suppress_small_cells

        # Relations for complementary suppression: the dropped rows and the assigned sample add
        # up to the rows read; attrition and the analytic sample add up to the assigned sample.
        action = head["action"].tolist()
        relation = [
            "read" if a == "dropped" or c.startswith("assigned") else
            "assigned" if a == "attrition" or c.startswith("analytic") else f"single-{i}"
            for i, (a, c) in enumerate(zip(action, head["check"]))
        ]
        head["_relation"] = relation
        out = suppress_small_cells(head, ["n_treated", "n_control"], threshold, total_column="n_rows",
                                   groups="_relation")
        return out.drop(columns="_relation")


def _cfg(config: Any) -> Any:
    if isinstance(config, Mapping):
        from plmresearch.pilot.config import PilotConfig

        return PilotConfig.from_mapping(config)
    return config


def _matches(values: pd.Series, code: Any) -> pd.Series:
    """Which values equal a config code, comparing text case- and space-insensitively."""
    if isinstance(code, bool):
        words = {True: {"true", "yes", "y", "1"}, False: {"false", "no", "n", "0"}}[code]
        return values.map(lambda v: v is code or v == int(code) or str(v).strip().lower() in words)
    if isinstance(code, (int, float)):
        num = pd.to_numeric(values, errors="coerce")
        return num == code
    return values.astype(str).str.strip().str.casefold() == str(code).strip().casefold()


def _describe_values(s: pd.Series, limit: int = 8) -> str:
    counts = s.astype(object).where(s.notna(), "").map(lambda v: "" if str(v).strip() == "" else v).value_counts()
    if len(counts) > 2 * limit:
        # Many distinct values: probably the wrong column (names, IDs); do not echo them.
        return f"{len(counts)} distinct values (this does not look like a treatment indicator)"
    parts = [("blank" if v == "" else repr(v)) + f" ({n} rows)" for v, n in counts.head(limit).items()]
    return ", ".join(parts) + (" ..." if len(counts) > limit else "")


def _treatment(df: pd.DataFrame, cfg: Any) -> pd.Series:
    """0/1 (float, NaN where missing); raises for codes the config does not explain."""
    col = cfg.treatment
    s = df[col]
    treated, control = _matches(s, cfg.treated_value), _matches(s, cfg.control_value)
    blank = s.isna() | (s.astype(str).str.strip() == "")
    other = ~(treated | control | blank)
    if other.any():
        found = _describe_values(s)
        text_codes = not pd.api.types.is_numeric_dtype(s)
        fix = (
            f"recode the column to {cfg.treated_value!r} (program) / {cfg.control_value!r} (comparison), or set "
            "`treatment_values: {treated: ..., control: ...}` in the config to the codes your file uses"
            + (" (e.g. treated: Y, control: N)" if text_codes else "")
        )
        if blank.any():
            fix += f"; the {int(blank.sum())} blank row(s) need an arm or must be removed from the file"
        raise InputError(
            f"Treatment column '{col}' holds values the config does not explain: {found}. "
            f"Expected {cfg.treated_value!r} for treated and {cfg.control_value!r} for control. Fix: {fix}."
        )
    out = pd.Series(np.nan, index=df.index)
    out[treated] = 1.0
    out[control] = 0.0
    return out


def _numeric_scores(df: pd.DataFrame, col: str, role: str) -> pd.Series:
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        raise InputError(f"{role.capitalize()} column '{col}' holds true/false values, not scores. "
                         "Fix: name the score column in the config.")
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    stripped = s.astype(str).str.strip().where(s.notna())
    num = pd.to_numeric(stripped.where(stripped != ""), errors="coerce")
    bad = num.isna() & stripped.notna() & (stripped != "")
    if bad.any():
        examples = [v if len(v) <= 20 else v[:17] + "..." for v in sorted(map(str, pd.unique(stripped[bad])))[:3]]
        raise InputError(
            f"{role.capitalize()} column '{col}' holds text in {int(bad.sum())} row(s), e.g. {examples}; "
            "scores must be numbers. Fix: replace codes such as 'absent' by a blank cell (a missing score), "
            "and remove units or symbols, then run again."
        )
    return num.astype(float)


def prepare_pilot_data(df: pd.DataFrame, config: Any) -> tuple[pd.DataFrame, DataChecks]:
    """Apply a pilot config to the district's data: check roles, code treatment, count drops.

    Parameters
    ----------
    df
        The data as read (:func:`read_table`), ideally after
        :func:`~plmresearch.data.privacy.protect_identifiers`. Not modified.
    config
        A :class:`~plmresearch.pilot.config.PilotConfig` (or a mapping in its YAML layout).

    Returns
    -------
    (frame, checks)
        ``frame``: the assigned sample (rows with a known arm and school), with the
        treatment column recoded to 0/1 and score columns numeric; students without the
        primary outcome (attrition) are kept, so attrition can be computed, and an
        ``in_analytic_sample`` column (bool) marks the analytic sample. ``checks``: counts only.

    Raises
    ------
    ColumnError
        a configured column is missing (named, with the closest match and the config key).
    InputError
        a treatment coding the config does not explain (e.g. "Y"/"N"/"" mixed), duplicate
        student IDs, text in an outcome or pretest, treatment and control both absent,
        treatment varying inside an assigned cluster, or a school with only treated (or only
        control) students in a design that compares students within schools.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"`df` must be a pandas DataFrame, got {type(df).__name__}.")
    if len(df) == 0:
        raise InputError("The data has no rows. Fix: check the data file.")
    cfg = _cfg(config)
    where = f" in {cfg.source}" if cfg.source else ""
    roles = {
        "columns.student_id": [cfg.student_id], "columns.school": [cfg.school],
        "columns.class": [cfg.class_column] if cfg.class_column else [], "columns.treatment": [cfg.treatment],
        "columns.outcomes": list(cfg.outcomes), "columns.pretests": list(cfg.pretests),
        "columns.subgroups": list(cfg.subgroups),
        "attrition.left_study_column": [cfg.left_study_column] if cfg.left_study_column else [],
    }
    for key, cols in roles.items():
        for c in cols:
            if c not in df.columns:
                raise ColumnError(
                    f"Column '{c}' (config key {key}{where}) is not in the data.{closest(c, df.columns)} "
                    f"Fix: correct the name in the config or the file header. Columns in the file: "
                    f"{list(map(str, df.columns))[:30]}."
                )

    ids = df[cfg.student_id]
    present = ids.notna() & (ids.astype(str).str.strip() != "")
    canon = ids[present].astype(str).str.strip()
    dup = canon.duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"Student-ID column '{cfg.student_id}' has {int(canon[dup].nunique())} ID(s) that appear more than once "
            f"({int(dup.sum())} rows). Fix: keep one row per student (e.g. the latest record) before running; "
            "repeated rows would count a student twice."
        )
    treat = _treatment(df, cfg)
    outcomes = {c: _numeric_scores(df, c, "outcome") for c in cfg.outcomes}
    pretests = {c: _numeric_scores(df, c, "pretest") for c in cfg.pretests}

    steps: list[dict[str, Any]] = []

    def arms(mask: pd.Series) -> tuple[float, float]:
        t = treat[mask]
        return float((t == 1).sum()), float((t == 0).sum())

    def add(check: str, action: str, mask: pd.Series, by_arm: bool = True) -> None:
        n_t, n_c = arms(mask) if by_arm else (np.nan, np.nan)
        steps.append({"check": check, "action": action, "n_rows": int(mask.sum()), "n_treated": n_t, "n_control": n_c})

    keep = pd.Series(True, index=df.index)
    for mask, label in (
        (~present, "student ID missing"),
        (treat.isna(), "treatment missing"),
        (df[cfg.school].isna(), "school missing"),
    ):
        m = mask & keep
        if m.any() or label == "treatment missing":
            add(label, "dropped", m, by_arm=label != "treatment missing")
        keep &= ~mask
    if cfg.class_column:
        m = df[cfg.class_column].isna() & keep
        if m.any():
            add("class missing", "dropped", m)
            keep &= ~m
    frame = df.loc[keep].copy()
    frame[cfg.treatment] = treat[keep].astype(int)
    for c, s in {**outcomes, **pretests}.items():
        frame[c] = s[keep]
    if frame[cfg.treatment].nunique() < 2:
        arm = "control" if frame[cfg.treatment].iloc[0] == 1 else "treated"
        raise InputError(f"No {arm} students remain in '{cfg.treatment}'. Fix: check the treatment coding "
                         f"(treated = {cfg.treated_value!r}, control = {cfg.control_value!r}).")

    t = frame[cfg.treatment]
    cluster = {"school": cfg.school, "class": cfg.class_column}.get(cfg.assigned_unit)
    if cluster is not None and (cfg.design in ("cluster_rct", "comparison_schools")):
        mixed = frame.groupby(cluster)[cfg.treatment].nunique()
        mixed = mixed[mixed > 1]
        if len(mixed):
            raise InputError(
                f"Design '{cfg.design}' assigns whole {cfg.assigned_unit}s, but {len(mixed)} {cfg.assigned_unit}(s) "
                f"in column '{cluster}' have both treated and control students (e.g. {list(map(str, mixed.index[:3]))}). "
                "Fix: correct the treatment column, or set design.type to multisite (assignment within schools)."
            )
    if cluster is not None and cfg.design in ("cluster_rct", "comparison_schools"):
        per_arm = frame.groupby(cfg.treatment)[cluster].nunique()
        if per_arm.min() < 2:
            arm = "treated" if per_arm.idxmin() == 1 else "control"
            raise InputError(
                f"Design '{cfg.design}' has only {int(per_arm.min())} {arm} {cfg.assigned_unit} (column '{cluster}'): "
                f"with a single {cfg.assigned_unit} in an arm, the program cannot be told apart from that "
                f"{cfg.assigned_unit}'s own differences. Fix: include at least 2 {cfg.assigned_unit}s per arm "
                "(more is much better), or describe the comparison without an impact estimate."
            )
    if cfg.needs_within_school_comparison:
        share = frame.groupby(cfg.school)[cfg.treatment].mean()
        only_t, only_c = share[share == 1].index.tolist(), share[share == 0].index.tolist()
        if only_t or only_c:
            which = []
            if only_t:
                which.append(f"{len(only_t)} school(s) with only treated students: {list(map(str, only_t[:5]))}")
            if only_c:
                which.append(f"{len(only_c)} school(s) with only control students: {list(map(str, only_c[:5]))}")
            raise InputError(
                f"Design '{cfg.design}' compares treated and control students within each school, but there "
                f"are {'; '.join(which)}. Fix: remove those schools from the file (they cannot contribute a "
                "within-school comparison), or, if whole schools were assigned, set design.type to cluster_rct "
                "(random) or comparison_schools (not random)."
            )

    n_rand_t, n_rand_c = int((t == 1).sum()), int((t == 0).sum())
    primary = frame[cfg.primary_outcome]
    left = primary.isna()
    if cfg.left_study_column:
        flag = pd.to_numeric(frame[cfg.left_study_column], errors="coerce").fillna(0) != 0
        left = left | flag
    mt, mc = int(((t == 1) & left).sum()), int(((t == 0) & left).sum())
    steps.append({"check": f"primary outcome '{cfg.primary_outcome}' missing (left the study)",
                  "action": "attrition", "n_rows": mt + mc, "n_treated": float(mt), "n_control": float(mc)})
    for c in cfg.outcomes[1:]:
        m = frame[c].isna() & ~left
        steps.append({"check": f"outcome '{c}' missing (analyses of '{c}' only)", "action": "kept",
                      "n_rows": int(m.sum()), "n_treated": float((m & (t == 1)).sum()),
                      "n_control": float((m & (t == 0)).sum())})
    for c in cfg.pretests:
        m = frame[c].isna() & ~left
        steps.append({"check": f"pretest '{c}' missing", "action": "kept", "n_rows": int(m.sum()),
                      "n_treated": float((m & (t == 1)).sum()), "n_control": float((m & (t == 0)).sum())})
    frame["in_analytic_sample"] = ~left
    checks = DataChecks(
        rows_read=len(df),
        n_columns=df.shape[1],
        steps=pd.DataFrame(steps, columns=["check", "action", "n_rows", "n_treated", "n_control"]),
        n_randomized_treated=n_rand_t,
        n_randomized_control=n_rand_c,
        n_analyzed_treated=n_rand_t - mt,
        n_analyzed_control=n_rand_c - mc,
        n_schools=int(frame[cfg.school].nunique()),
        n_classes=int(frame[cfg.class_column].nunique()) if cfg.class_column else None,
    )
    return frame, checks


def check_pilot_data(df: pd.DataFrame, config: Any) -> DataChecks:
    """The data-checks section (counts only) of :func:`prepare_pilot_data`; raises on bad input."""
    return prepare_pilot_data(df, config)[1]
