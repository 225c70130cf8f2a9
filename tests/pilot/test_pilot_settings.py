"""Every pilot setting honoured (issue 13, item 5): secondary outcomes, single-arm blocks, left_study codes."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from plmresearch.errors import InputError
from plmresearch.pilot import PilotConfig, load_pilot_data, simulate_district
from plmresearch.pilot.analysis import _main_estimate, analyse_pilot
from plmresearch.pilot.intake import prepare_pilot_data


def _cfg(path="district.csv", **over) -> PilotConfig:
    m = {"data": {"file": str(path)},
         "columns": {"student_id": "student_id", "school": "school", "class": "class", "treatment": "treatment",
                     "outcomes": ["posttest"], "pretests": ["pretest"], "subgroups": []},
         "design": {"type": "multisite"}, "privacy": {"drop_columns": ["student_name"]}}
    for k, v in over.items():
        sec, key = k.split("__")
        m.setdefault(sec, {})[key] = v
    return PilotConfig.from_mapping(m, source="pilot.yaml")


@pytest.fixture(scope="module")
def district():
    d = simulate_district(n_schools=5, classes_per_school=2, students_per_class=20, design="multisite",
                          true_effect=0.3, random_seed=13).data
    rng = np.random.default_rng(0)
    d["reading"] = np.round(d["posttest"].fillna(d["pretest"]) * 0.5 + rng.normal(0, 8, len(d)), 1)
    d.loc[rng.choice(len(d), 15, replace=False), "reading"] = np.nan
    return d


def test_secondary_outcomes_use_the_main_estimator_with_bh_across_outcomes(district, tmp_path):
    """The all-outcomes table: the secondary outcome's row is the design's estimator (block fixed
    effects with the pretest) on the students who have it; BH-adjusted p-values equal statsmodels'
    ``multipletests(method='fdr_bh')`` over the outcomes."""
    path = tmp_path / "district.csv"
    district.to_csv(path, index=False)
    cfg = _cfg(path, columns__outcomes=["posttest", "reading"])
    pilot = load_pilot_data(cfg)
    a = analyse_pilot(pilot, bayesian=False)
    tab = a.outcomes.set_index("outcome")
    assert list(tab["role"]) == ["primary", "secondary"]
    ref, _ = _main_estimate(pilot.frame[pilot.frame["reading"].notna()], cfg, outcome="reading")
    assert tab.loc["reading", "estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert "block fixed effects" in ref.method
    assert tab.loc["posttest", "estimate"] == pytest.approx(a.main_estimate.estimate)
    assert np.allclose(tab["p_adjusted_bh"], multipletests(tab["p_value"], method="fdr_bh")[1])
    assert "all_outcomes" in a.tables()


def test_single_arm_blocks_are_refused_or_dropped_and_counted(district):
    df = district.copy()
    school = df["school"].iloc[0]
    df.loc[df["school"] == school, "treatment"] = 1
    with pytest.raises(InputError, match="drop_single_arm_blocks"):
        prepare_pilot_data(df, _cfg())
    frame, checks = prepare_pilot_data(df, _cfg(design__drop_single_arm_blocks=True))
    assert school not in set(frame["school"])
    step = checks.steps[checks.steps["check"].str.contains("one arm only")].iloc[0]
    assert step["action"] == "dropped" and step["n_rows"] == int((df["school"] == school).sum())
    assert checks.n_randomized == len(df) - step["n_rows"]


def test_left_study_codes_come_from_an_explicit_list(district):
    """'yes'/blank: blanks are refused until the config says what they mean; then 'yes' counts as
    left (the bug in the issue read 22 leavers as stayed); unknown codes are refused by value."""
    df = district.copy()
    df["left"] = ""
    leavers = df.index[df["posttest"].notna()][:22]
    df.loc[leavers, "left"] = "yes"
    with pytest.raises(InputError, match="blank"):
        prepare_pilot_data(df, _cfg(attrition__left_study_column="left"))
    _, checks = prepare_pilot_data(df, _cfg(attrition__left_study_column="left", attrition__left_study_blank="stayed"))
    att = checks.steps.set_index("check").loc["primary outcome 'posttest' missing (left the study)", "n_rows"]
    assert att == int(df["posttest"].isna().sum()) + 22
    df2 = df.copy()
    df2.loc[leavers[:3], "left"] = "maybe"
    with pytest.raises(InputError, match="'maybe'"):
        prepare_pilot_data(df2, _cfg(attrition__left_study_column="left", attrition__left_study_blank="stayed"))
    df3 = df.copy()
    df3["left"] = np.where(df3.index.isin(leavers), "Left", "stayed")
    _, c3 = prepare_pilot_data(df3, _cfg(attrition__left_study_column="left"))
    assert c3.n_analyzed == checks.n_analyzed


def test_ci_level_reaches_every_outcome_and_subgroup(district, tmp_path):
    path = tmp_path / "district.csv"
    district.to_csv(path, index=False)
    cfg = _cfg(path, columns__outcomes=["posttest", "reading"], columns__subgroups=["frl"], analysis__ci_level=0.9)
    a = analyse_pilot(load_pilot_data(cfg), bayesian=False)
    from scipy import stats

    for r in a.outcomes.itertuples():
        q = stats.t.ppf(0.95, r.df)
        assert r.ci_high - r.ci_low == pytest.approx(2 * q * r.std_error)
    s = a.subgroups[pd.to_numeric(a.subgroups["estimate"], errors="coerce").notna()].astype({"ci_low": float})
    assert len(s)
