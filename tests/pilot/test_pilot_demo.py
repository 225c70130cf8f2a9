"""The synthetic district: reproducible, shaped like a district file, and true to its parameters.

Statistical tolerances are 3 standard errors of the quantity checked (computed from the
data or the fit, as each comment says), so a correct generator fails a check with
probability about 0.3% for a random seed; the seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from plmresearch.data.files import read_table
from plmresearch.errors import InputError, SpecError
from plmresearch.pilot import load_config, load_pilot_data, simulate_district, write_demo
from plmresearch.pilot.intake import prepare_pilot_data, protect_identifiers

COLUMNS = ["student_id", "student_name", "school", "class", "treatment", "pretest", "posttest", "frl", "ell", "sped",
           "race_ethnicity", "gender"]


def test_reproducible_by_seed_and_shaped_like_a_district_file():
    a = simulate_district(random_seed=42)
    b = simulate_district(random_seed=42)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert not a.data.equals(simulate_district(random_seed=43).data)
    df = a.data
    assert list(df.columns) == COLUMNS
    assert df["student_id"].is_unique and df["school"].nunique() == 6 and df["class"].nunique() == 24
    assert set(df["treatment"]) == {0, 1} and set(df["gender"]) == {"F", "M"}
    assert df["posttest"].isna().any() and df["pretest"].notna().all()
    assert a.true_effect_sd == 0.2 and a.true_effect == pytest.approx(0.2 * a.outcome_sd)
    assert {"quantity", "value"} == set(a.to_frame().columns)


@pytest.mark.parametrize("design", ["cluster_rct", "comparison_schools", "multisite", "individual_rct"])
def test_assignment_follows_the_design(design):
    df = simulate_district(n_schools=6, design=design, random_seed=5).data
    share = df.groupby("school")["treatment"].mean()
    if design in ("cluster_rct", "comparison_schools"):
        assert set(share) == {0.0, 1.0} and (share == 1).sum() == 3  # whole schools, half of them
    elif design == "multisite":
        assert share.between(0.4, 0.6).all()  # half within each school (odd sizes round down)
    else:
        assert df["treatment"].sum() == len(df) // 2


def test_comparison_schools_select_on_baseline():
    """Opting-in schools have higher baseline means on average (selection on an observable)."""
    gaps = []
    for seed in range(20):
        df = simulate_district(design="comparison_schools", random_seed=seed, n_schools=10).data
        m = df.groupby("treatment")["pretest"].mean()
        gaps.append(m[1] - m[0])
    assert np.mean(gaps) > 0
    # The mean gap over 20 districts is several of its own standard errors above 0.
    assert np.mean(gaps) > 3 * np.std(gaps, ddof=1) / np.sqrt(len(gaps))


def test_large_district_recovers_iccs_effect_and_pretest_correlation():
    d = simulate_district(n_schools=120, classes_per_school=4, students_per_class=20, design="multisite",
                          true_effect=0.2, icc_school=0.15, icc_class=0.05, pretest_r=0.7, attrition=0.0,
                          differential_attrition=0.0, random_seed=11)
    df = d.data.rename(columns={"class": "cls"})
    df["z"] = (df["posttest"] - d.outcome_mean) / d.outcome_sd  # SD units of the population
    fit = smf.mixedlm("z ~ treatment", df, groups="school", re_formula="1",
                      vc_formula={"cls": "0 + C(cls)"}).fit(reml=True, method="lbfgs")
    var_school, var_class, var_student = float(fit.cov_re.iloc[0, 0]), float(fit.vcomp[0]), float(fit.scale)
    # SE of a variance component from K group means (balanced approximation, Searle et al. 1992 §3.6):
    # sqrt(2/(K-1)) * E[mean square]/n.  Schools: K=120, E/n ~ 0.15 + 0.05/4 + 0.80/80 = 0.17 -> SE 0.022.
    # Classes: 480 classes in 120 schools (360 df), E/n ~ 0.05 + 0.80/20 = 0.09 -> SE 0.0067.
    assert var_school == pytest.approx(0.15, abs=3 * 0.022)
    assert var_class == pytest.approx(0.05, abs=3 * 0.0067)
    assert var_student == pytest.approx(0.80, abs=3 * 0.80 * np.sqrt(2 / len(df)))
    icc_school = var_school / (var_school + var_class + var_student)
    assert icc_school == pytest.approx(0.15, abs=3 * 0.022)
    # Effect within 3 model-based SEs of the truth, in SD units.
    assert abs(fit.params["treatment"] - 0.2) < 3 * fit.bse["treatment"]
    # Pretest-posttest correlation in the control group: SE of r ~ (1 - r^2)/sqrt(n).
    ctl = df[df.treatment == 0]
    r = np.corrcoef(ctl["pretest"], ctl["posttest"])[0, 1]
    assert abs(r - 0.7) < 3 * (1 - 0.7**2) / np.sqrt(len(ctl))


def test_attrition_and_subgroup_prevalence():
    d = simulate_district(n_schools=40, classes_per_school=5, students_per_class=25, design="individual_rct",
                          attrition=0.15, differential_attrition=0.04, random_seed=2)
    df = d.data
    n = len(df)
    left = df["posttest"].isna()
    rate_t, rate_c = left[df.treatment == 1].mean(), left[df.treatment == 0].mean()
    se = np.sqrt(0.15 * 0.85 / (n / 2))  # binomial SE per arm
    assert rate_t == pytest.approx(0.17, abs=3 * se) and rate_c == pytest.approx(0.13, abs=3 * se)
    # Leavers have lower pretests (attrition is more likely for low achievers).
    assert df.loc[left, "pretest"].mean() < df.loc[~left, "pretest"].mean()
    # Prevalences are exact in the population but clustered by school (the school share of the
    # latent driver is 0.36), so their sampling SD is inflated. Empirical SD of the district
    # prevalence over 40 seeds (100-139) of this size: FRL 0.024, EL 0.0067, SpEd 0.0074;
    # tolerances are 3 of those SDs.
    for col, p, tol in (("frl", 0.50, 3 * 0.024), ("ell", 0.10, 3 * 0.0067), ("sped", 0.15, 3 * 0.0074)):
        assert df[col].mean() == pytest.approx(p, abs=tol), col
    shares = df["race_ethnicity"].value_counts(normalize=True)
    assert shares["White"] == pytest.approx(0.45, abs=3 * np.sqrt(0.45 * 0.55 / n))
    assert shares["Hispanic"] == pytest.approx(0.28, abs=3 * np.sqrt(0.28 * 0.72 / n))
    # FRL students have lower baseline scores, as in real districts.
    assert df.loc[df.frl == 1, "pretest"].mean() < df.loc[df.frl == 0, "pretest"].mean()


def test_write_demo_runs_through_the_intake(tmp_path):
    data_path, config_path, district = write_demo(tmp_path, random_seed=9, design="cluster_rct")
    cfg = load_config(config_path)
    assert cfg.data_file == data_path.resolve() and cfg.design == "cluster_rct"
    raw, log = read_table(cfg.data_file, text_columns=[cfg.student_id])
    assert log.rows_read == len(district.data)
    frame, checks = prepare_pilot_data(protect_identifiers(raw, cfg), cfg)
    assert "student_name" not in frame.columns
    assert checks.n_randomized == len(district.data)
    assert checks.n_analyzed == district.data["posttest"].notna().sum()
    before = data_path.read_bytes()
    pilot = load_pilot_data(cfg)
    assert pilot.checks.n_analyzed == checks.n_analyzed and pilot.intake.sha256 == log.sha256
    assert pilot.analytic["posttest"].notna().all()
    assert not set(district.data["student_id"]) & set(pilot.frame["student_id"])  # pseudonymized
    shown = repr(pilot)  # a notebook cell ending in `pilot` must not print rows
    assert "frame=" not in shown and not any(pid in shown for pid in pilot.frame["student_id"])
    assert data_path.read_bytes() == before
    with pytest.raises(SpecError, match="already holds"):
        write_demo(tmp_path, random_seed=9)
    for ext in ("xlsx", "parquet"):
        path, _, _ = write_demo(tmp_path / ext, file_type=ext, random_seed=1, n_schools=2, students_per_class=6)
        assert read_table(path)[1].rows_read > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"design": "cluster"}, "Did you mean 'cluster_rct'"),
        ({"n_schools": 1}, "n_schools"),
        ({"icc_school": 0.6, "icc_class": 0.5}, "below 1"),
        ({"pretest_r": 1.0}, "pretest_r"),
        ({"attrition": 0.01, "differential_attrition": 0.1}, "differential_attrition"),
        ({"students_per_class": 2}, "students_per_class"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(InputError, match=message):
        simulate_district(**kwargs)


def _ols_ci(y: np.ndarray, X: np.ndarray, df_resid: int) -> tuple[float, float, float]:
    """Coefficient 1 of OLS with its classical 95% t interval."""
    from scipy import stats

    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    sigma2 = resid @ resid / df_resid
    se = np.sqrt(sigma2 * np.linalg.inv(X.T @ X)[1, 1])
    t = stats.t.ppf(0.975, df_resid)
    return beta[1], beta[1] - t * se, beta[1] + t * se


@pytest.mark.parametrize("design", ["multisite", "comparison_schools"])
def test_true_effect_is_what_a_correct_analysis_estimates(design):
    """95% intervals of an analysis that matches the generating model cover the stated true effect.

    multisite: student-level OLS of posttest on treatment, pretest and class fixed effects (the
    errors are then i.i.d. normal, so the t interval is exact). comparison_schools: school-level
    OLS of the school's mean posttest on treatment and mean pretest (df = K - 3); schools opt in
    on their baseline, so this checks that adjusting for the pretest removes the selection, as the
    docstring of simulate_district says. 200 districts: coverage must lie within 3 binomial SEs
    of 0.95 (SE = sqrt(0.95 * 0.05 / 200) = 0.0154).
    """
    hits = 0
    n_sim = 200
    for seed in range(n_sim):
        d = simulate_district(n_schools=10, design=design, true_effect=0.25, random_seed=1000 + seed)
        df = d.data.dropna(subset=["posttest"])
        if design == "multisite":
            # Class fixed effects by demeaning within class (Frisch-Waugh-Lovell). The intercept is
            # then 0 and orthogonal to the other columns; the k class means are the lost df.
            w = df[["posttest", "treatment", "pretest"]].astype(float)
            w = w - w.groupby(df["class"]).transform("mean")
            X = np.column_stack([np.ones(len(w)), w["treatment"], w["pretest"]])
            k = df["class"].nunique()
            est, lo, hi = _ols_ci(w["posttest"].to_numpy(), X, len(df) - k - 2)
        else:
            m = df.groupby("school")[["posttest", "pretest", "treatment"]].mean()
            X = np.column_stack([np.ones(len(m)), m["treatment"], m["pretest"]])
            est, lo, hi = _ols_ci(m["posttest"].to_numpy(), X, len(m) - 3)
        hits += lo <= d.true_effect <= hi
    coverage = hits / n_sim
    print(f"{design}: coverage of the true effect {hits}/{n_sim} = {coverage:.3f}")
    assert abs(coverage - 0.95) < 3 * np.sqrt(0.95 * 0.05 / n_sim), coverage
