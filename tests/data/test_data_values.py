"""Loader values checked against their sources.

Reference values marked "R" were printed by R 4.2.2 (Debian r-base-core) with the
package versions named next to them; the others are quoted from the publication.
"""

import numpy as np
import pandas as pd
import pytest

from plmresearch import load_dataset


def test_star_students_and_kindergarten_arms():
    star = load_dataset("star")
    assert len(star) == 11598 and star["student"].is_unique  # AER::STAR documentation: 11,598 students
    # R: table(AER::STAR$stark)  (AER 1.2-10) -> regular 2194, small 1900, regular+aide 2231
    counts = star["class_type_k"].value_counts()
    assert counts.to_dict() == {"regular+aide": 2231, "regular": 2194, "small": 1900}
    # R: mean(STAR$readk, na.rm=TRUE) -> 436.7253412; sum(!is.na(STAR$star3)) -> 6802
    assert star["read_k"].mean() == pytest.approx(436.7253412, abs=1e-7)
    assert star["class_type_3"].notna().sum() == 6802
    assert list(star["class_type_k"].cat.categories) == ["regular", "small", "regular+aide"]
    # free lunch keeps missing as missing (a NaN must not become 0)
    assert star["free_lunch_k"].isna().sum() == star["class_type_k"].isna().sum() + 23


def test_star_long_has_class_ids():
    s = load_dataset("star_long")
    assert len(s) == 26796
    assert s["teacher"].nunique() == 1387  # R: length(unique(mlmRev::star$tch)) (mlmRev 1.0-8)
    assert s["school"].nunique() == 80
    assert s["math"].mean() == pytest.approx(553.6905294, abs=1e-7)  # R: mean(star$math, na.rm=TRUE)
    assert not s.duplicated(["student", "grade"]).any()
    # each class (teacher) sits in one school and one grade
    assert (s.groupby("teacher")[["school", "grade"]].nunique(dropna=False) == 1).all().all()


def test_hsb_matches_raudenbush_bryk():
    h = load_dataset("hsb")
    assert len(h) == 7185 and h["school"].nunique() == 160  # R&B (2002) ch. 4: 7,185 students, 160 schools
    sectors = h.drop_duplicates("school")["sector"].value_counts().to_dict()
    assert sectors == {"Public": 90, "Catholic": 70}  # R: table(nlme::MathAchSchool$Sector) (nlme 3.1-162)
    assert h["mathach"].mean() == pytest.approx(12.74785261, abs=1e-8)  # R: mean(MathAchieve$MathAch)
    assert h["mathach"].std() == pytest.approx(6.878245687, abs=1e-8)  # R: sd(MathAchieve$MathAch)
    # cses is centred within school (R&B's group-mean centring) and meanses is the school file's value
    assert h.groupby("school")["cses"].mean().abs().max() < 1e-12
    assert h.loc[h.school == "1224", "meanses"].iloc[0] == pytest.approx(-0.428)
    assert h.loc[h.school == "1224", "ses_school_mean"].iloc[0] == pytest.approx(-0.434383, abs=1e-6)


def test_eight_schools_match_rubin_table_1_and_bda():
    e = load_dataset("eight_schools")
    # Rubin (1981), Table 1 (via stevedata; reference sheet reproduction_targets.md §3, VERIFIED)
    np.testing.assert_allclose(e["effect"], [28.39, 7.94, -2.75, 6.82, -0.64, 0.63, 18.01, 12.16])
    np.testing.assert_allclose(e["std_error"], [14.9, 10.2, 16.3, 11.0, 9.4, 11.4, 10.4, 17.6])
    # Gelman et al., BDA3 Table 5.2 (rounded)
    np.testing.assert_array_equal(e["effect_rounded"], [28, 8, -3, 7, -1, 1, 18, 12])
    np.testing.assert_array_equal(e["std_error_rounded"], [15, 10, 16, 11, 9, 11, 10, 18])
    assert list(e["school"]) == list("ABCDEFGH")


def test_london_exam_sustaining_effects_reading_methods():
    ex = load_dataset("london_exam")
    assert ex["school"].nunique() == 65  # R: length(unique(mlmRev::Exam$school))
    assert ex["normexam"].mean() == pytest.approx(-0.0001138054201, abs=1e-12)
    se = load_dataset("sustaining_effects")
    assert (se["student"].nunique(), se["school"].nunique()) == (1721, 60)  # mlmRev::egsingle docs: 1721 / 60
    assert se["math"].mean() == pytest.approx(-0.536924343, abs=1e-9)  # R: mean(egsingle$math)
    rm = load_dataset("reading_methods")
    assert rm["method"].value_counts().to_dict() == {"Basal": 22, "DRTA": 22, "Strat": 22}
    # R: tapply(carData::Baumann$post.test.3, Baumann$group, mean) (carData 3.0-5)
    np.testing.assert_allclose(rm.groupby("method", observed=True)["posttest_3"].mean(),
                               [41.04545455, 46.72727273, 44.27272727], atol=1e-8)


def test_assistments_mastery_ab_matches_drct_tutorial():
    ab = load_dataset("assistments_mastery_ab")
    assert len(ab) == 683 and ab["user_id"].is_unique
    assert ab["video"].dtype == bool
    # dRCT tutorial, 04-effect-estABtestSolution: 337 video, 346 text; t.test means 0.5578035 / 0.6083086
    assert (ab["video"].sum(), (~ab["video"]).sum()) == (337, 346)
    means = ab.groupby("video")["completion"].mean()
    assert means[False] == pytest.approx(0.5578035, abs=5e-8)
    assert means[True] == pytest.approx(0.6083086, abs=5e-8)


def test_assistments_2009_split_sizes():
    d = load_dataset("assistments_2009")
    # reproduction_targets.md §7: train 3,361 students / 407,967 responses; test 856 / 117,567
    by = d.groupby("split", observed=True).agg(students=("student", "nunique"), responses=("correct", "size"))
    assert by.loc["train"].tolist() == [3361, 407967]
    assert by.loc["test"].tolist() == [856, 117567]
    assert set(d["correct"].unique()) == {0, 1}
    assert not (set(d.loc[d.split == "train", "student"]) & set(d.loc[d.split == "test", "student"]))
    # positions run 0..n-1 within each student
    first = d.groupby("student")["position"].agg(["min", "max", "size"])
    assert (first["min"] == 0).all() and (first["max"] == first["size"] - 1).all()
    assert isinstance(d["split"].dtype, pd.CategoricalDtype)
