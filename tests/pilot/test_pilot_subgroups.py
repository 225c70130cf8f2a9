"""Subgroups with the main effect's design (issue 13, item 1)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from plmresearch.pilot import simulate_district
from plmresearch.pilot.subgroups import SubgroupDesign, subgroup_effects


def test_subgroup_effects_match_statsmodels_interaction_model_with_hc2():
    """Individual RCT: the interaction model's coefficients and HC2 SEs equal statsmodels'
    ``ols('y ~ 0 + C(frl) + C(frl):treatment + pre_c + pre_c:treatment').fit(cov_type='HC2')``."""
    dist = simulate_district(design="individual_rct", random_seed=3)
    df = dist.data.dropna(subset=["posttest"]).copy()
    tab, het = subgroup_effects(df, "posttest", "treatment", ["frl"], SubgroupDesign(("pretest",), True, None, None),
                                ci_level=0.95, min_cell=10)
    df["pre_c"] = df["pretest"] - df["pretest"].mean()
    ref = smf.ols("posttest ~ 0 + C(frl) + C(frl):treatment + pre_c + pre_c:treatment", df).fit(cov_type="HC2")
    for lv in (0, 1):
        name = f"C(frl)[{lv}]:treatment"
        row = tab[tab.level == str(lv)].iloc[0]
        assert row["estimate"] == pytest.approx(ref.params[name], rel=1e-10)
        assert row["std_error"] == pytest.approx(ref.bse[name], rel=1e-10)
    # the joint test of equal effects (2 levels) is the squared t of the difference
    diff = ref.t_test("C(frl)[1]:treatment - C(frl)[0]:treatment")
    assert het.iloc[0]["F"] == pytest.approx(float(diff.tvalue.item()) ** 2, rel=1e-8)


def test_subgroup_intervals_cover_a_homogeneous_effect_at_the_nominal_rate():
    """Quick version of benchmarks/pilot_subgroup_coverage.py (100 districts per design there:
    coverage 0.933 cluster, 0.940 individual, 0.957 multisite). 30 simulated cluster RCTs
    (12 schools, CR2 by school) with the same effect for every student: 180 subgroup intervals;
    they are correlated within a district, so the band [0.85, 0.99] is wide on purpose."""
    covered = total = 0
    for seed in range(30):
        dist = simulate_district(design="cluster_rct", n_schools=12, classes_per_school=2, students_per_class=20,
                                 true_effect=0.2, random_seed=seed)
        df = dist.data.dropna(subset=["posttest"])
        tab, _ = subgroup_effects(df, "posttest", "treatment", ["frl", "gender", "sped"],
                                  SubgroupDesign(("pretest",), True, "school", None), ci_level=0.95, min_cell=10)
        ok = tab["estimate"].notna()
        covered += int(((tab.loc[ok, "ci_low"] <= dist.true_effect) & (dist.true_effect <= tab.loc[ok, "ci_high"])).sum())
        total += int(ok.sum())
    assert total >= 150
    assert 0.85 <= covered / total <= 0.99


def test_subgroup_uses_cluster_df_and_blocks():
    """Cluster RCT: the subgroup SEs are CR2 by school, so their df are Bell-McCaffrey df below
    the number of schools (not n - p); multisite: block dummies enter (the estimate differs from
    the model without them)."""
    dist = simulate_district(design="cluster_rct", random_seed=5)
    df = dist.data.dropna(subset=["posttest"])
    tab, _ = subgroup_effects(df, "posttest", "treatment", ["gender"], SubgroupDesign(("pretest",), True, "school", None),
                              ci_level=0.95, min_cell=10)
    assert (tab["df"] < 6).all()
    ms = simulate_district(design="multisite", random_seed=5).data.dropna(subset=["posttest"])
    with_b, _ = subgroup_effects(ms, "posttest", "treatment", ["gender"], SubgroupDesign((), False, None, "school"),
                                 ci_level=0.95, min_cell=10)
    without, _ = subgroup_effects(ms, "posttest", "treatment", ["gender"], SubgroupDesign((), False, None, None),
                                  ci_level=0.95, min_cell=10)
    assert not np.allclose(with_b["estimate"], without["estimate"])


def test_small_levels_stay_empty_and_do_not_enter_the_model():
    dist = simulate_district(design="individual_rct", random_seed=1)
    df = dist.data.dropna(subset=["posttest"])
    tab, het = subgroup_effects(df, "posttest", "treatment", ["race_ethnicity"],
                                SubgroupDesign(("pretest",), True, None, None), ci_level=0.9, min_cell=10)
    small = tab[(tab.n_treated < 10) | (tab.n_control < 10)]
    assert len(small) and small["estimate"].isna().all()
    assert het.iloc[0]["levels_tested"] == int(tab["estimate"].notna().sum())
    assert isinstance(het, pd.DataFrame) and "p_adjusted_bh" in het
