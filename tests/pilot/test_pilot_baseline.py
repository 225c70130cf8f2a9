"""Baseline equivalence the WWC way (issue 13, item 3)."""

import numpy as np
import pandas as pd
import pytest

from plmresearch import effects
from plmresearch.pilot import PilotConfig, simulate_district
from plmresearch.pilot.analysis import _baseline, _limitations


def cfg(**cols) -> PilotConfig:
    c = {"student_id": "student_id", "school": "school", "class": "class", "treatment": "treatment",
         "outcomes": ["posttest"], "pretests": ["pretest"], "subgroups": ["frl", "ell", "race_ethnicity", "gender"]}
    c.update(cols)
    return PilotConfig.from_mapping({"data": {"file": "x.csv"}, "columns": c, "design": {"type": "individual_rct"}})


@pytest.fixture(scope="module")
def data():
    d = simulate_district(n_schools=6, design="individual_rct", random_seed=21).data.dropna(subset=["posttest"])
    d = d.copy()
    # plant a Cox index of about -0.15 (inside 0.05-0.25) in FRL: move control students' FRL one at a time

    def cox():
        p1, p0 = d.loc[d.treatment == 1, "frl"].mean(), d.loc[d.treatment == 0, "frl"].mean()
        return (np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))) / 1.65

    for i in d.index[d.treatment == 0]:
        c = cox()
        if -0.2 < c < -0.1:
            break
        if c >= -0.1 and d.at[i, "frl"] == 0:
            d.at[i, "frl"] = 1
        elif c <= -0.2 and d.at[i, "frl"] == 1:
            d.at[i, "frl"] = 0
    return d


def test_adjustment_only_counts_when_the_model_adjusts(data):
    """FRL's Cox index lies in (0.05, 0.25]: "satisfied with adjustment" only when frl is in
    columns.covariates; otherwise "not satisfied" and the fix is named. The Cox index is
    effects.cox_index of the two shares (WWC Procedures Handbook v4.1 App. E: logit difference / 1.65)."""
    b = _baseline(data, cfg(), 10).set_index(["characteristic", "category"])
    frl = b.loc[("frl", "1")]
    p1, p0 = data.loc[data.treatment == 1, "frl"].mean(), data.loc[data.treatment == 0, "frl"].mean()
    cox = (np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))) / 1.65
    assert float(frl["effect_size"]) == pytest.approx(cox)
    assert 0.05 < abs(cox) <= 0.25
    assert frl["status"].startswith("not satisfied") and "columns.covariates" in frl["status"]
    assert frl["adjusted_in_model"] == "no"
    b2 = _baseline(data, cfg(covariates=["frl"]), 10).set_index(["characteristic", "category"])
    assert b2.loc[("frl", "1"), "status"] == "satisfied with adjustment"
    assert b2.loc[("pretest", ""), "effect_size_type"] == "Hedges' g"


def test_categorical_characteristics_get_shares_and_cox_index(data):
    """Gender (F/M text) and race/ethnicity are no longer left out: one row per category (one for a
    two-category characteristic), shares in each arm, their difference and the Cox index."""
    b = _baseline(data, cfg(), 10)
    g = b[b.characteristic == "gender"]
    assert list(g["category"]) == ["M"]
    share_t = (data.loc[data.treatment == 1, "gender"] == "M").mean()
    assert float(g.iloc[0]["mean_or_share_treated"]) == pytest.approx(share_t)
    race = b[b.characteristic == "race_ethnicity"]
    assert len(race) == data["race_ethnicity"].nunique()
    shown = race[pd.to_numeric(race["effect_size"], errors="coerce").notna()]
    assert len(shown) >= 2
    r = shown.iloc[0]
    est = effects.cox_index(float(r["mean_or_share_treated"]), float(r["mean_or_share_control"])).estimate
    assert float(r["effect_size"]) == pytest.approx(est)
    small = race[race["status"].astype(str).str.startswith("suppressed")]
    assert len(small) and pd.to_numeric(small["mean_or_share_treated"], errors="coerce").isna().all()


def test_no_pretest_is_said_plainly(data):
    from plmresearch.pilot.analysis import PilotAnalysis  # noqa: F401

    c = cfg(pretests=[])

    class Checks:
        n_schools = 6

    class Pilot:
        config, checks = c, Checks()

    lims = _limitations(Pilot(), {"overall_pct": 5, "differential_pct": 1, "rating": "low"},
                        type("M", (), {"ci_low": -1, "ci_high": 1, "ci_level": 0.95})(), None, (),
                        _baseline(data, c, 10))
    assert any(t.startswith("No pretest") for t in lims)
