"""Reading a user's file (CSV, Excel, Parquet): round trips, and one clear error per bad file.

Every test that reads a file checks that the file's SHA-256 is unchanged afterwards.
(Moved from tests/pilot/test_pilot_intake.py; the frame is now built here instead of by the
pilot's simulator, so the data layer's tests do not depend on the pilot.)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plmresearch.data.files import read_table
from plmresearch.errors import InputError


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def district() -> pd.DataFrame:
    """160 students: text IDs with leading zeros, names, text and integer codes, scores with gaps."""
    rng = np.random.default_rng(7)
    n = 160
    post = np.round(rng.normal(200, 15, n), 1)
    post[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "student_id": [f"{i:06d}" for i in rng.choice(10**6, n, replace=False)],
            "student_name": [f"{f} {s}" for f, s in zip(rng.choice(["Ava", "Liam", "Mia", "Omar"], n),
                                                         rng.choice(["Kim", "Lopez", "Okafor"], n))],
            "school": rng.choice(["Maple Elementary", "Cedar Elementary"], n),
            "treatment": rng.integers(0, 2, n),
            "pretest": np.round(rng.normal(190, 15, n), 1),
            "posttest": post,
        }
    )


# --------------------------------------------------------------------------- read_table


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_read_table_round_trip_each_format(tmp_path, district, suffix):
    path = tmp_path / f"district{suffix}"
    {".csv": lambda p: district.to_csv(p, index=False),
     ".xlsx": lambda p: district.to_excel(p, index=False, engine="openpyxl"),
     ".parquet": lambda p: district.to_parquet(p, index=False)}[suffix](path)
    before, mtime = sha(path), os.stat(path).st_mtime_ns
    df, log = read_table(path, text_columns=["student_id"])
    assert sha(path) == before and os.stat(path).st_mtime_ns == mtime
    assert log.rows_read == len(district) == len(df) and log.n_columns == district.shape[1]
    assert log.sha256 == before and log.file_type == {".csv": "csv", ".xlsx": "excel", ".parquet": "parquet"}[suffix]
    assert list(df.columns) == list(district.columns)
    assert df["student_id"].astype(str).tolist() == district["student_id"].tolist()
    np.testing.assert_allclose(df["posttest"].to_numpy(float), district["posttest"].to_numpy(float))
    assert df["posttest"].isna().sum() == district["posttest"].isna().sum()
    assert set(log.to_frame()["item"]) >= {"rows read", "columns", "SHA-256"}


def test_read_table_keeps_leading_zeros_and_blank_codes(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id;score;group\n00123;1,5;A\n00456;NA;B\n", encoding="utf-8")  # semicolons (European Excel)
    df, _ = read_table(path, text_columns=["id"])
    assert df["id"].tolist() == ["00123", "00456"]
    assert df["score"].isna().sum() == 1 and df["score"].iloc[0] == 1.5  # decimal comma with ';'
    tab = tmp_path / "t.tsv"
    tab.write_text("a\tb\n1\t2\n", encoding="utf-8")
    assert read_table(tab)[0].to_dict("list") == {"a": [1], "b": [2]}


BAD_FILES = {
    "missing": (None, "file not found"),
    "empty.csv": (b"", "is empty"),
    "blank.csv": (b"\n  \n", "is empty"),
    "header_only.csv": (b"student_id,school,treatment\n", "header but no data rows"),
    "notes.docx": (b"PK\x03\x04 not really", "unsupported file type '.docx'"),
    "old.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "saved as .xlsx"),
    "workbook.csv": (b"PK\x03\x04\x14\x00rest of a zip", "content is an Excel workbook"),
    "report.csv": (b"%PDF-1.7 ...", "content is a PDF document"),
    "text.xlsx": (b"student_id,school\n1,A\n", "not an Excel (.xlsx) workbook"),
    "text.parquet": (b"student_id,school\n1,A\n", "not a Parquet file"),
    "broken.xlsx": (b"PK\x03\x04" + b"\x00" * 64, "cannot be read as an Excel workbook"),
    "broken.parquet": (b"PAR1" + b"\x00" * 32 + b"PAR1", "cannot be read as Parquet"),
    "ragged.csv": (b'a,b\n1,2\n3,"4\n', "cannot be parsed as CSV"),
    "binary.csv": (b"a,b\n1,\x00\x002\n", "binary content"),
    "long_row.csv": (b"a,b\n1,Lopez, Maria,4\n5,6\n", "more values than the header"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_raise_one_clear_error_and_stay_untouched(tmp_path, name):
    content, message = BAD_FILES[name]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_table(path)
    msg = str(err.value)
    assert str(path) in msg and message in msg and "Fix:" in msg, msg
    if content is not None:
        assert path.read_bytes() == content


def test_folder_and_wrong_sheet(tmp_path, district):
    with pytest.raises(InputError, match="is a folder"):
        read_table(tmp_path)
    path = tmp_path / "d.xlsx"
    district.head(20).to_excel(path, index=False, sheet_name="Students")
    with pytest.raises(InputError, match=r"has no sheet 'Pupils'; its sheets are \['Students'\]"):
        read_table(path, sheet="Pupils")
    assert read_table(path, sheet="Students")[1].rows_read == 20


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "locked.csv"
    path.write_text("a\n1\n")
    real_open = open

    def denied(file, mode="r", *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(file, mode, *args, **kwargs)

    # chmod 000 does not stop root (CI containers), so the OS refusal is simulated.
    monkeypatch.setattr("builtins.open", denied)
    with pytest.raises(InputError, match="cannot be read \\(Permission denied\\).*permission to read it"):
        read_table(path)
