"""A synthetic district: schools, classes, students, pretest, subgroups, a known effect, attrition.

The outcome follows a three-level model (students in classes in schools). In standard
deviation (SD) units of the control population::

    pre_ijk  = u_k + v_jk + e_ijk,     u ~ N(0, icc_school), v ~ N(0, icc_class), e ~ N(0, 1 - icc_school - icc_class)
    post_ijk = r * pre_ijk + sqrt(1 - r^2) * (u'_k + v'_jk + e'_ijk) + delta_k * T_ijk

with (u', v', e') independent copies of (u, v, e), so that pretest and posttest both
have variance 1, the requested ICCs at school and class level, and correlation ``r``
(``pretest_r``). ``delta_k = true_effect + N(0, effect_sd_across_schools)``. Scores are
reported on a scale-score metric (``outcome_mean``, ``outcome_sd``). This is the
standard three-level model of power analysis (Dong & Maynard 2013, PowerUp!; Hedges &
Hedberg 2007 for typical ICCs of 0.1-0.25 at school level).

Subgroup prevalences approximate US public schools (NCES, Condition of Education /
Digest of Education Statistics, fall 2021-2022): free/reduced-price lunch about 50%
(Digest table 204.10), English learners about 10% (table 204.20), students served under
IDEA about 15% (table 204.30), race/ethnicity White 45%, Hispanic 28%, Black 15%,
Asian 5%, two or more races 5%, American Indian/Alaska Native 1%, Pacific Islander 0.4%
(table 203.60). FRL, EL and special-education status are drawn from a latent variable
correlated with the student's baseline achievement and with the school (so schools
differ in composition, as real schools do); race/ethnicity and gender are drawn
independently of achievement. These associations are illustrative, not estimates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from plmresearch.errors import InputError, SpecError
from plmresearch.validation import check_path, check_seed, count, finite, positive, probability

__all__ = ["SimulatedDistrict", "simulate_district", "write_demo"]

DESIGNS = ("cluster_rct", "individual_rct", "multisite", "comparison_schools")
RACE_ETHNICITY = {
    "White": 0.45, "Hispanic": 0.28, "Black": 0.15, "Asian": 0.05, "Two or more races": 0.05,
    "American Indian/Alaska Native": 0.01, "Pacific Islander": 0.004,
}
_RACE_P = np.array(list(RACE_ETHNICITY.values())) / sum(RACE_ETHNICITY.values())  # the shares sum to 0.994
_SCHOOL_NAMES = ["Maple", "Cedar", "Lincoln", "Riverside", "Oak Grove", "Jefferson", "Hillcrest", "Lakeview",
                 "Washington", "Pine Ridge", "Franklin", "Sunnyvale", "Roosevelt", "Meadowbrook", "Brookside",
                 "Kennedy", "Westwood", "Eastside", "Garfield", "Highland"]
_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Elijah", "Isabella", "Lucas", "Mia",
          "Santiago", "Amara", "Jayden", "Camila", "Malik", "Aaliyah", "Wei", "Priya", "Diego", "Fatima",
          "Ethan", "Zoe", "Omar", "Hannah", "Kai", "Layla", "Daniel", "Nia", "Gabriel", "Leah", "Andre"]
_LAST = ["Smith", "Johnson", "Garcia", "Williams", "Brown", "Martinez", "Nguyen", "Lopez", "Davis", "Wilson",
         "Hernandez", "Patel", "Kim", "Jackson", "Thompson", "Rivera", "Chen", "Okafor", "Lee", "Walker",
         "Robinson", "Ramirez", "Clark", "Lewis", "Young", "Torres", "Hall", "Flores", "Adams", "Nelson"]


@dataclass(frozen=True)
class SimulatedDistrict:
    """A synthetic pilot: the district's file and the truth behind it.

    ``true_effect`` is in outcome (scale-score) units, ``true_effect_sd`` in SD units of
    the control population's posttest (``outcome_sd``).
    """

    data: pd.DataFrame
    design: str
    true_effect: float
    true_effect_sd: float
    outcome_mean: float
    outcome_sd: float
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        rows = [{"quantity": "true effect (outcome units)", "value": self.true_effect},
                {"quantity": "true effect (SD units)", "value": self.true_effect_sd},
                {"quantity": "outcome SD (control population)", "value": self.outcome_sd}]
        rows += [{"quantity": k, "value": v} for k, v in self.parameters.items()]
        return pd.DataFrame(rows)


def _latent_flag(rng: np.random.Generator, driver: np.ndarray, prevalence: float, strength: float) -> np.ndarray:
    """1 with marginal probability ``prevalence``, more likely for low ``driver`` (a N(0,1) variable).

    z = strength * driver + sqrt(1 - strength^2) * noise is N(0, 1), so thresholding at the
    ``prevalence`` quantile gives exactly that prevalence in the population.
    """
    z = strength * driver + np.sqrt(1 - strength**2) * rng.standard_normal(driver.size)
    return (z < stats.norm.ppf(prevalence)).astype(int)


def simulate_district(
    n_schools: int = 6,
    classes_per_school: int = 4,
    students_per_class: int = 22,
    design: str = "cluster_rct",
    true_effect: float = 0.2,
    icc_school: float = 0.15,
    icc_class: float = 0.05,
    pretest_r: float = 0.7,
    attrition: float = 0.10,
    differential_attrition: float = 0.02,
    effect_sd_across_schools: float = 0.0,
    outcome_mean: float = 220.0,
    outcome_sd: float = 15.0,
    random_seed: int | None = None,
) -> SimulatedDistrict:
    """Simulate a district pilot shaped like the file a district sends.

    Parameters
    ----------
    n_schools, classes_per_school, students_per_class
        Sizes; class sizes vary around ``students_per_class`` (SD 3, at least 5).
    design
        'cluster_rct' (half the schools randomly assigned), 'individual_rct' (half the
        students, district-wide), 'multisite' (half the students within each school) or
        'comparison_schools' (the schools with the higher baseline school mean, plus noise,
        opt in: selection on a baseline characteristic, removed by adjusting for pretest).
    true_effect
        Average effect in SD units of the control population's posttest.
    icc_school, icc_class
        Shares of outcome variance between schools and between classes within schools.
    pretest_r
        Correlation of pretest and posttest (student level, total).
    attrition, differential_attrition
        Expected share of students without posttest (overall), and treated minus control
        difference in that share. Students with lower pretests leave a little more often.
    effect_sd_across_schools
        SD of school-specific effects around ``true_effect`` (SD units).
    outcome_mean, outcome_sd
        Scale of the scores (defaults resemble a grade-level scale score).
    random_seed
        Seed for ``numpy.random.default_rng``; the same seed gives the same district.

    Returns
    -------
    SimulatedDistrict with ``data`` columns student_id, student_name (fake), school, class,
    treatment (0/1), pretest, posttest (missing for students who left), frl, ell, sped
    (0/1), race_ethnicity, gender ('F'/'M').
    """
    if not isinstance(design, str) or design not in DESIGNS:
        import difflib

        m = difflib.get_close_matches(str(design), DESIGNS, n=1)
        raise InputError(f"`design` must be one of {DESIGNS}, got {design!r}."
                         + (f" Did you mean '{m[0]}'?" if m else ""))
    n_schools = count(n_schools, "n_schools", minimum=2)
    classes_per_school = count(classes_per_school, "classes_per_school", minimum=1)
    students_per_class = count(students_per_class, "students_per_class", minimum=5)
    if design == "cluster_rct" and n_schools < 2:
        raise InputError("A cluster RCT needs at least 2 schools (`n_schools`).")
    true_effect = finite(true_effect, "true_effect")
    icc_school = abs(probability(icc_school, "icc_school", open_high=True))  # abs: -0.0 would give sd -0.0
    icc_class = abs(probability(icc_class, "icc_class", open_high=True))
    if icc_school + icc_class >= 1:
        raise InputError(f"`icc_school` + `icc_class` must be below 1, got {icc_school + icc_class}.")
    pretest_r = finite(pretest_r, "pretest_r")
    if not -1 < pretest_r < 1:
        raise InputError(f"`pretest_r` must lie strictly between -1 and 1, got {pretest_r}.")
    attrition = probability(attrition, "attrition", open_high=True)
    differential_attrition = finite(differential_attrition, "differential_attrition")
    rates = (attrition + differential_attrition / 2, attrition - differential_attrition / 2)
    if not all(0 <= a < 1 for a in rates):
        raise InputError(f"`attrition` ± `differential_attrition`/2 must stay in [0, 1), got {rates}.")
    effect_sd_across_schools = positive(effect_sd_across_schools, "effect_sd_across_schools", allow_zero=True)
    outcome_sd = positive(outcome_sd, "outcome_sd")
    outcome_mean = finite(outcome_mean, "outcome_mean")

    rng = np.random.default_rng(check_seed(random_seed))
    sd_s, sd_c, sd_e = np.sqrt(icc_school), np.sqrt(icc_class), np.sqrt(1 - icc_school - icc_class)
    names = [f"{_SCHOOL_NAMES[k % len(_SCHOOL_NAMES)]} Elementary" + (f" {k // len(_SCHOOL_NAMES) + 1}"
             if k >= len(_SCHOOL_NAMES) else "") for k in range(n_schools)]

    sizes = np.maximum(5, np.rint(rng.normal(students_per_class, 3, (n_schools, classes_per_school)))).astype(int)
    school_idx = np.repeat(np.arange(n_schools), sizes.sum(axis=1))
    class_idx = np.repeat(np.arange(n_schools * classes_per_school), sizes.ravel())
    n = school_idx.size

    u_pre, u_post = rng.normal(0, sd_s, n_schools), rng.normal(0, sd_s, n_schools)
    v_pre = rng.normal(0, sd_c, n_schools * classes_per_school)
    v_post = rng.normal(0, sd_c, n_schools * classes_per_school)
    pre = u_pre[school_idx] + v_pre[class_idx] + rng.normal(0, sd_e, n)
    fresh = u_post[school_idx] + v_post[class_idx] + rng.normal(0, sd_e, n)
    post0 = pretest_r * pre + np.sqrt(1 - pretest_r**2) * fresh

    if design == "cluster_rct":
        treated_schools = rng.permutation(n_schools)[: n_schools // 2]
        treat = np.isin(school_idx, treated_schools).astype(int)
    elif design == "comparison_schools":
        # Opt-in driven by the school's baseline mean (observable): higher-achieving schools volunteer.
        propensity = u_pre / sd_s + rng.normal(0, 1, n_schools) if sd_s > 0 else rng.normal(0, 1, n_schools)
        treated_schools = np.argsort(-propensity)[: n_schools // 2]
        treat = np.isin(school_idx, treated_schools).astype(int)
    elif design == "individual_rct":
        treat = np.zeros(n, dtype=int)
        treat[rng.permutation(n)[: n // 2]] = 1
    else:  # multisite: complete randomization within each school
        treat = np.zeros(n, dtype=int)
        for k in range(n_schools):
            idx = np.flatnonzero(school_idx == k)
            treat[rng.permutation(idx)[: idx.size // 2]] = 1

    delta = true_effect + rng.normal(0, effect_sd_across_schools, n_schools) if effect_sd_across_schools else \
        np.full(n_schools, true_effect)
    post = post0 + delta[school_idx] * treat

    # Subgroups: status driven by a mix of the school's and the student's baseline (N(0,1)).
    school_part = u_pre[school_idx] / sd_s if sd_s > 0 else np.zeros(n)
    driver = (0.6 * school_part + 0.8 * (pre - u_pre[school_idx]) / np.sqrt(1 - icc_school))
    frl = _latent_flag(rng, driver, 0.50, 0.5)
    ell = _latent_flag(rng, driver, 0.10, 0.3)
    sped = _latent_flag(rng, driver, 0.15, 0.3)
    race = rng.choice(list(RACE_ETHNICITY), size=n, p=_RACE_P)
    gender = np.where(rng.random(n) < 0.49, "F", "M")

    # Attrition: exact marginal rate per arm, a little more likely for low pretest.
    rate = np.where(treat == 1, rates[0], rates[1])
    z = 0.3 * pre + np.sqrt(1 - 0.3**2) * rng.standard_normal(n)  # N(0, 1) since Var(pre) = 1; low z leaves
    left = z < stats.norm.ppf(np.clip(rate, 1e-12, 1 - 1e-12))
    left &= rate > 0

    ids = 1_000_000 + rng.choice(9_000_000, size=n, replace=False)  # 7-digit district IDs
    first = rng.choice(_FIRST, n)
    last = rng.choice(_LAST, n)
    class_labels = np.array([f"{names[k].split()[0][:3].upper()}-{j + 1:02d}" for k in range(n_schools)
                             for j in range(classes_per_school)])
    posttest = np.round(outcome_mean + outcome_sd * post, 1)
    # Pretest a year of growth lower on the same scale (illustrative).
    pretest = np.round(outcome_mean - 0.5 * outcome_sd + outcome_sd * pre, 1)
    data = pd.DataFrame(
        {
            "student_id": ids.astype(str),
            "student_name": [f"{f} {s}" for f, s in zip(first, last)],
            "school": np.array(names)[school_idx],
            "class": class_labels[class_idx],
            "treatment": treat,
            "pretest": pretest,
            "posttest": np.where(left, np.nan, posttest),
            "frl": frl,
            "ell": ell,
            "sped": sped,
            "race_ethnicity": race,
            "gender": gender,
        }
    )
    treated_delta = delta[school_idx][treat == 1]
    params = {
        "n_schools": n_schools, "classes_per_school": classes_per_school, "students_per_class": students_per_class,
        "n_students": int(n), "icc_school": icc_school, "icc_class": icc_class, "pretest_r": float(pretest_r),
        "attrition": attrition, "differential_attrition": differential_attrition,
        "effect_sd_across_schools": effect_sd_across_schools,
        "sample_average_effect_on_treated_sd": float(treated_delta.mean()) if treated_delta.size else float("nan"),
        "random_seed": random_seed,
    }
    return SimulatedDistrict(data=data, design=design, true_effect=true_effect * outcome_sd,
                             true_effect_sd=true_effect, outcome_mean=outcome_mean, outcome_sd=outcome_sd,
                             parameters=params)


_DEMO_CONFIG = """\
# Demo pilot generated by `plm pilot demo` ({design}, true effect {effect_sd:.2f} SD = {effect:.2f} points).
data:
  file: {data_file}
columns:
  student_id: student_id
  school: school
  class: class
  treatment: treatment
  outcomes: [posttest]
  pretests: [pretest]
  subgroups: [frl, ell, sped, race_ethnicity, gender]
treatment_values:
  treated: 1
  control: 0
design:
  type: {design}
  assigned_unit: {unit}
  blocked_by_school: {blocked}
attrition:
  boundary: cautious
privacy:
  drop_columns: [student_name]
  suppression_threshold: 10
analysis:
  effect_threshold: 0.1
  ci_level: 0.95
  random_seed: {seed}
output:
  folder: pilot_report
"""


def write_demo(folder: str | os.PathLike, *, file_type: str = "csv", **kwargs: Any) -> tuple[Path, Path, SimulatedDistrict]:
    """Simulate a district and write its data file and a matching ``pilot.yaml`` into ``folder``.

    ``folder`` is created if needed; existing files are never overwritten. Keyword arguments
    go to :func:`simulate_district`. Returns ``(data_path, config_path, district)``.
    """
    if file_type not in ("csv", "xlsx", "parquet"):
        raise InputError(f"`file_type` must be 'csv', 'xlsx' or 'parquet', got {file_type!r}.")
    root = Path(check_path(folder, "folder"))
    data_path, config_path = root / f"district_pilot.{file_type}", root / "pilot.yaml"
    if root.exists() and not root.is_dir():
        raise SpecError(f"{root}: is a file, not a folder; it was left untouched. Fix: choose a new folder.")
    above = next((p for p in root.absolute().parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise SpecError(f"{root}: {above} is a file, so no folder can be made inside it; nothing was written. "
                        "Fix: choose a new folder.")
    existing = [p.name for p in (data_path, config_path, root / "pilot_report") if p.exists()]
    if existing:  # checked before anything is simulated or written
        raise SpecError(f"{root}: already holds {', '.join(existing)} from an earlier demo; nothing was written. "
                        "Fix: choose a new folder (plm pilot demo NEW_FOLDER) or remove those files yourself.")
    district = simulate_district(**kwargs)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".district_pilot.tmp.{file_type}"
    if file_type == "csv":
        district.data.to_csv(tmp, index=False)
    elif file_type == "xlsx":
        district.data.to_excel(tmp, index=False, engine="openpyxl")
    else:
        district.data.to_parquet(tmp, index=False)
    os.replace(tmp, data_path)
    unit = {"cluster_rct": "school", "comparison_schools": "school"}.get(district.design, "student")
    text = _DEMO_CONFIG.format(design=district.design, effect_sd=district.true_effect_sd,
                               effect=district.true_effect, data_file=data_path.name, unit=unit,
                               blocked="true" if district.design == "multisite" else "false",
                               seed=kwargs.get("random_seed") if kwargs.get("random_seed") is not None else 1)
    with open(config_path, "x", encoding="utf-8") as f:
        f.write(text)
    return data_path, config_path, district
