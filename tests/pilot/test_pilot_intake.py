"""The pilot's intake: its identifier policy, and checking the data against the config (counts, and
one clear error per problem). The end-to-end test plants names, e-mails, phone numbers and IDs in an
input file, runs the intake (read -> identifier policy -> pseudonyms -> data checks -> aggregate
tables) and checks that none of them appears in any file written, and that a subgroup of 7 students
is masked. Reading files is tested in tests/data/test_data_files.py, the privacy tools in
tests/data/test_data_privacy.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plmresearch.data.files import read_table
from plmresearch.data.privacy import detect_identifier_columns, new_key, suppress_small_cells
from plmresearch.errors import ColumnError, PlmError, PrivacyError
from plmresearch.pilot import PilotConfig, simulate_district
from plmresearch.pilot.intake import check_pilot_data, enforce_identifier_policy, prepare_pilot_data, protect_identifiers


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


# --------------------------------------------------------------------------- identifier policy


def test_demo_district_flags_only_the_names():
    demo = simulate_district(random_seed=1).data
    assert detect_identifier_columns(demo)["column"].tolist() == ["student_name"]


def test_policy_refuses_until_each_identifier_is_decided(district):
    n = len(district)
    df = district.assign(contact=[f"s{i}.lopez@district.k12.us" for i in range(n)],
                         DOB=pd.date_range("2012-01-01", periods=n, freq="5D"))
    before = df.copy()
    with pytest.raises(PrivacyError) as err:
        enforce_identifier_policy(df, config())  # drops student_name only
    msg = str(err.value)
    assert "'contact'" in msg and "'DOB'" in msg and "pilot.yaml" in msg
    assert "'student_name'" not in msg and "'student_id'" not in msg
    assert "drop_columns" in msg and "keep_columns" in msg
    cfg = config().with_overrides(drop_columns=("student_name", "contact"), keep_columns=("DOB",))
    out = enforce_identifier_policy(df, cfg)
    assert "DOB" in out.columns and not {"student_name", "contact"} & set(out.columns)
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(ColumnError, match="privacy.drop_columns in the config pilot.yaml.*Did you mean 'contact'"):
        enforce_identifier_policy(df, cfg.with_overrides(drop_columns=("student_name", "contacts")))


# --------------------------------------------------------------------------- end to end


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_planted_identifiers_never_reach_outputs(tmp_path):
    d = simulate_district(n_schools=4, classes_per_school=3, students_per_class=25, design="multisite",
                          random_seed=3)
    df = d.data.copy()
    n = len(df)
    df["student_id"] = [f"S-{i:06d}" for i in range(n)]
    df["email"] = [f"{nm.replace(' ', '.').lower()}.{i}@students.example.org" for i, nm in enumerate(df.student_name)]
    df["guardian_phone"] = [f"555-{100 + i % 900:03d}-{1000 + i:04d}" for i in range(n)]
    # A subgroup of exactly 7 students, all with an outcome.
    has_post = np.flatnonzero(df["posttest"].notna().to_numpy())[:7]
    df["ell"] = 0
    df.loc[df.index[has_post], "ell"] = 1
    inp = tmp_path / "input" / "district.csv"
    inp.parent.mkdir()
    df.to_csv(inp, index=False)
    before = _sha(inp)
    planted = set(df["student_id"]) | set(df["student_name"]) | set(df["email"]) | set(df["guardian_phone"])
    planted |= set(df["student_name"].str.split().str[1])  # last names alone

    cfg = PilotConfig.from_mapping(
        {
            "data": {"file": str(inp)},
            "columns": {"student_id": "student_id", "school": "school", "class": "class", "treatment": "treatment",
                        "outcomes": ["posttest"], "pretests": ["pretest"], "subgroups": ["ell", "frl", "gender"]},
            "design": {"type": "multisite"},
            "privacy": {"drop_columns": ["student_name", "email"]},
        }
    )
    raw, log = read_table(cfg.data_file, text_columns=[cfg.student_id])
    with pytest.raises(PrivacyError, match="guardian_phone"):
        protect_identifiers(raw, cfg)
    cfg = cfg.with_overrides(drop_columns=("student_name", "email", "guardian_phone"))
    key = new_key()
    safe = protect_identifiers(raw, cfg, key=key)
    frame, checks = prepare_pilot_data(safe, cfg)

    analysed = frame[frame["in_analytic_sample"]]
    rows = []
    for sg in cfg.subgroups:
        for level, g in analysed.groupby(sg):
            t, c = g[g.treatment == 1].posttest, g[g.treatment == 0].posttest
            rows.append({"subgroup": sg, "level": str(level), "n": len(g), "n_treated": len(t), "n_control": len(c),
                         "mean_treated": t.mean(), "mean_control": c.mean(), "difference": t.mean() - c.mean()})
    subgroups = pd.DataFrame(rows)
    assert subgroups.set_index(["subgroup", "level"]).loc[("ell", "1"), "n"] == 7

    out = tmp_path / "report"
    out.mkdir()
    log.to_frame().to_csv(out / "intake.csv", index=False)
    checks.to_frame(cfg.suppression_threshold).to_csv(out / "data_checks.csv", index=False)
    masked = suppress_small_cells(subgroups, ["n_treated", "n_control"], cfg.suppression_threshold,
                                  total_column="n", groups="subgroup")
    masked.to_csv(out / "subgroups.csv", index=False)
    # The pseudonymized frame is written here only to prove it holds no identifier; reports never write rows.
    frame.to_csv(out / "pseudonymized_rows.csv", index=False)

    text = "\n".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    leaked = [s for s in planted if s in text]
    assert leaked == []
    assert key.hex() not in text
    ell = masked.set_index(["subgroup", "level"]).loc[("ell", "1")]
    assert ell["n"] == "<10" and set(ell.drop("n")) == {"<10", "suppressed"}
    assert (masked.set_index(["subgroup", "level"]).loc[("ell", "0")].drop("n") == "suppressed").all()
    assert _sha(inp) == before
