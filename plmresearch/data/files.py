"""Reading a user's data file (CSV, Excel .xlsx or Parquet) without modifying it.

``read_table`` reads the file's bytes once, in read-only mode, parses them in memory and
returns the frame with an :class:`IntakeLog` (file name, type, SHA-256, counts only).
Checking the frame against a study's or pilot's roles is the caller's job.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from plmresearch.errors import InputError
from plmresearch.validation import check_path, closest

__all__ = ["IntakeLog", "read_table"]

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
    p = Path(check_path(path))
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, (str, int))):
        raise InputError(f"`sheet` must be a sheet name or a 0-based position, got {sheet!r}.")
    if isinstance(text_columns, str) or not hasattr(text_columns, "__iter__"):
        raise InputError(f"`text_columns` must be a list of column names, got {text_columns!r}.")
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
            raise _fail(p, f"has no sheet {sheet!r}; its sheets are {names}.",
                        "pass `sheet=` one of them (in a pilot config: `data.sheet`).")
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
