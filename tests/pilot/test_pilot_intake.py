"""Reading a district's file and checking it against the config: counts, and one clear error per problem.

Every test that reads a file checks that the file's SHA-256 is unchanged afterwards.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plmresearch.data.intake import check_pilot_data, prepare_pilot_data, read_table
from plmresearch.errors import ColumnError, InputError, PlmError
from plmresearch.pilot import PilotConfig, simulate_district


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def district() -> pd.DataFrame:
    return simulate_district(n_schools=4, classes_per_school=2, students_per_class=20, design="multisite",
                             random_seed=7).data


def config(**design) -> PilotConfig:
    return PilotConfig.from_mapping(
        {
            "data": {"file": "district.csv"},
            "columns": {"student_id": "student_id", "school": "school", "class": "class",
                        "treatment": "treatment", "outcomes": ["posttest"], "pretests": ["pretest"],
                        "subgroups": ["frl", "ell"]},
            "design": design or {"type": "multisite"},
            "privacy": {"drop_columns": ["student_name"]},
        },
        source="pilot.yaml",
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


# --------------------------------------------------------------------------- check_pilot_data: counts


def test_counts_of_what_was_dropped_and_why(district):
    df = district.copy()
    df.loc[[0, 1, 2], "treatment"] = np.nan  # 3 without an arm
    df.loc[5, "pretest"] = np.nan
    before = df.copy()
    frame, checks = prepare_pilot_data(df, config())
    pd.testing.assert_frame_equal(df, before)  # input not modified
    steps = checks.steps.set_index("check")
    assert checks.rows_read == len(df)
    assert steps.loc["treatment missing", "n_rows"] == 3
    kept = df.drop(index=[0, 1, 2])
    miss = kept["posttest"].isna()
    attr = steps.loc["primary outcome 'posttest' missing (left the study)"]
    assert attr["n_rows"] == miss.sum()
    assert attr["n_treated"] == (miss & (kept.treatment == 1)).sum()
    assert attr["n_control"] == (miss & (kept.treatment == 0)).sum()
    assert steps.loc["pretest 'pretest' missing", "n_rows"] == int(~miss[5])
    assert checks.n_randomized == len(kept) == len(frame)
    assert checks.n_analyzed == int((~miss).sum()) == int(frame["in_analytic_sample"].sum())
    rates = checks.attrition_rates()
    assert rates["overall"] == pytest.approx(miss.mean())
    assert frame["treatment"].dtype.kind == "i" and set(frame["treatment"]) == {0, 1}
    # Counts only: no identifier or score column in the checks table.
    table = checks.to_frame()
    assert list(table.columns) == ["check", "action", "n_rows", "n_treated", "n_control"]


def test_checks_table_masks_small_counts(district):
    df = district.copy()
    df.loc[[0, 1, 2], "treatment"] = np.nan
    table = check_pilot_data(df, config()).to_frame(threshold=10)
    row = table.set_index("check").loc["treatment missing"]
    assert row["n_rows"] == "<10"
    # The assigned sample adds up with the dropped rows to the rows read, so it must hide too.
    assigned = table.set_index("check").loc["assigned sample (treatment known)"]
    assert "suppressed" in set(assigned[["n_rows", "n_treated", "n_control"]])


def test_y_n_codes_work_when_configured_and_blanks_are_counted(district):
    df = district.copy()
    df["treatment"] = df["treatment"].map({1: "Y", 0: "N"}).astype(object)
    df.loc[[3, 4], "treatment"] = ""
    cfg = config().with_overrides(treated_value="y", control_value="N")
    frame, checks = prepare_pilot_data(df, cfg)
    assert checks.steps.set_index("check").loc["treatment missing", "n_rows"] == 2
    assert (frame["treatment"] == (district.loc[frame.index, "treatment"])).all()


# --------------------------------------------------------------------------- check_pilot_data: errors


def _error(df: pd.DataFrame, cfg: PilotConfig | None = None) -> str:
    with pytest.raises(PlmError) as err:
        check_pilot_data(df, cfg or config())
    return str(err.value)


def test_missing_column_named_with_closest_match(district):
    df = district.rename(columns={"posttest": "post_test"})
    with pytest.raises(ColumnError) as err:
        check_pilot_data(df, config())
    msg = str(err.value)
    assert "'posttest'" in msg and "columns.outcomes" in msg and "Did you mean 'post_test'" in msg
    assert "pilot.yaml" in msg and "Fix:" in msg


def test_treatment_y_n_blank_mixed(district):
    df = district.copy()
    df["treatment"] = df["treatment"].map({1: "Y", 0: "N"}).astype(object)
    df.loc[[3, 4], "treatment"] = ""
    msg = _error(df)
    n_y = int((district.treatment == 1).sum() - district.treatment.loc[[3, 4]].eq(1).sum())
    assert "Treatment column 'treatment'" in msg
    assert f"'Y' ({n_y} rows)" in msg and "blank (2 rows)" in msg
    assert "treated: Y, control: N" in msg and "2 blank row(s)" in msg


def test_duplicate_student_ids(district):
    df = pd.concat([district, district.iloc[[0, 1, 2]]], ignore_index=True)
    msg = _error(df)
    assert "3 ID(s) that appear more than once (6 rows)" in msg and "one row per student" in msg


def test_outcome_with_text(district):
    df = district.copy()
    df["posttest"] = df["posttest"].astype(object)
    df.loc[[0, 1], "posttest"] = "absent"
    df.loc[2, "posttest"] = "210 pts"
    msg = _error(df)
    assert "Outcome column 'posttest' holds text in 3 row(s)" in msg and "'absent'" in msg and "blank cell" in msg


def test_school_with_only_treated_students_in_multisite(district):
    df = district.copy()
    school = df["school"].iloc[0]
    df.loc[df.school == school, "treatment"] = 1
    msg = _error(df)
    assert "1 school(s) with only treated students" in msg and school in msg
    assert "within each school" in msg and "cluster_rct" in msg
    # A cluster RCT of whole schools is the right design for such data, and passes that check.
    df2 = df.copy()
    df2["treatment"] = (df2["school"].isin(df2["school"].unique()[:2])).astype(int)
    check_pilot_data(df2, config(type="cluster_rct", assigned_unit="school"))


def test_cluster_design_with_mixed_clusters(district):
    msg = _error(district, config(type="cluster_rct", assigned_unit="school"))
    assert "assigns whole schools" in msg and "both treated and control" in msg and "multisite" in msg


def test_single_arm(district):
    df = district.assign(treatment=1)
    msg = _error(df, config(type="individual_rct"))
    assert "No control students" in msg


def test_cluster_design_needs_two_clusters_per_arm(district):
    df = district.assign(treatment=(district["school"] == district["school"].iloc[0]).astype(int))
    msg = _error(df, config(type="comparison_schools", assigned_unit="school"))
    assert "only 1 treated school" in msg and "at least 2 schools per arm" in msg


def test_wrong_treatment_column_does_not_echo_names(district):
    cfg = config(type="individual_rct").with_overrides(treatment="student_name",
                                                       drop_columns=())
    msg = _error(district, cfg)
    assert "distinct values (this does not look like a treatment indicator)" in msg
    assert not any(name in msg for name in district["student_name"])
