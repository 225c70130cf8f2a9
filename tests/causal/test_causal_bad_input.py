"""Acceptance 4 of issue 4: bad input raises a clear PlmError; missing outcomes are attrition.

Every estimator gets: a non-binary treatment, an empty arm, a single cluster, missing outcome
values, a non-numeric outcome and duplicated unit IDs.
"""

import numpy as np
import pandas as pd
import pytest

from plmresearch import causal
from plmresearch.errors import ColumnError, InputError, PlmError


@pytest.fixture
def trial():
    rng = np.random.default_rng(3)
    n = 80
    d = pd.DataFrame({
        "id": np.arange(n),
        "school": np.repeat(np.arange(8), 10),
        "site": np.repeat(np.arange(4), 20),
        "x": rng.normal(size=n),
    })
    d["treat"] = (d.school % 2).astype(int)  # cluster-level assignment, both arms in every site
    d["took"] = d.treat
    d.loc[[0, 15], "took"] = 1 - d.loc[[0, 15], "took"]
    d["y"] = 0.3 * d.treat + d.x + rng.normal(size=n)
    return d


ESTIMATORS = {
    "difference_in_means": lambda d, **k: causal.difference_in_means(d, "y", "treat", **k),
    "dim_clustered": lambda d, **k: causal.difference_in_means(d, "y", "treat", cluster="school", **k),
    "dim_blocked": lambda d, **k: causal.difference_in_means(d, "y", "treat", block="site", **k),
    "lin_adjusted": lambda d, **k: causal.lin_adjusted(d, "y", "treat", ["x"], **k),
    "ancova": lambda d, **k: causal.ancova(d, "y", "treat", "x", **k),
    "cluster_means": lambda d, **k: causal.cluster_means(d, "y", "treat", "school", **k),
    "block_fixed_effects": lambda d, **k: causal.block_fixed_effects(d, "y", "treat", "site", **k),
    "block_effects": lambda d, **k: causal.block_effects(d, "y", "treat", "site", **k),
    "loop": lambda d, **k: causal.loop(d, "y", "treat", ["x"], **k),
    "iv_late": lambda d, **k: causal.iv_late(d, "y", "took", "treat", **k),
    "permutation_test": lambda d, **k: causal.permutation_test(d, "y", "treat", n_permutations=200, random_seed=1, **k),
    "ipw": lambda d, **k: causal.ipw(d, "y", "treat", ["x"], **k),
    "aipw": lambda d, **k: causal.aipw(d, "y", "treat", ["x"], **k),
    "match": lambda d, **k: causal.match(d, "y", "treat", ["x"], random_seed=1, **k),
}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_good_input_works(trial, name):
    e = ESTIMATORS[name](trial)
    assert np.isfinite(e.estimate)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_treatment_not_binary(trial, name):
    bad = trial.assign(treat=trial.treat.map({0: "control", 1: "treated"}))
    with pytest.raises(InputError, match="binary"):
        ESTIMATORS[name](bad)
    three = trial.assign(treat=trial.school % 3)
    with pytest.raises(InputError, match="binary"):
        ESTIMATORS[name](three)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_one_arm_empty(trial, name):
    with pytest.raises(InputError, match="arm is empty"):
        ESTIMATORS[name](trial.assign(treat=1))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_missing_outcome_raises_with_counts(trial, name):
    bad = trial.copy()
    bad.loc[[1, 2, 11], "y"] = np.nan  # rows 1, 2: school 0 (control); row 11: school 1 (treated)
    with pytest.raises(InputError, match=r"missing for 1 of 40 treated and 2 of 40 control") as err:
        ESTIMATORS[name](bad)
    assert "missing='drop'" in str(err.value)
    assert bad.y.isna().sum() == 3  # the input was not modified


@pytest.mark.parametrize("name", ESTIMATORS)
def test_missing_outcome_drop_records_attrition(trial, name):
    bad = trial.copy()
    bad.loc[[1, 2, 11], "y"] = np.nan
    e = ESTIMATORS[name](bad, missing="drop")
    assert any(n.startswith("attrition") for n in e.notes)
    att = e.extra["attrition"]
    assert (att["missing_treated"], att["missing_control"]) == (1, 2)
    assert att["attrition_overall"] == pytest.approx(3 / 80)
    assert att["attrition_differential"] == pytest.approx(1 / 40)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_non_numeric_outcome(trial, name):
    bad = trial.assign(y=trial.y.round(2).astype(str).where(trial.index != 5, "absent"))
    with pytest.raises(InputError, match="numeric"):
        ESTIMATORS[name](bad)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_duplicate_unit_ids(trial, name):
    bad = trial.assign(id=trial.id.where(trial.index != 7, 3))
    with pytest.raises(InputError, match="more than once"):
        ESTIMATORS[name](bad, unit="id")


@pytest.mark.parametrize("name", ["dim_clustered", "cluster_means"])
def test_single_cluster(trial, name):
    one = trial.assign(school=0)
    with pytest.raises(PlmError, match="cluster"):
        ESTIMATORS[name](one)


def test_single_cluster_in_regressions(trial):
    with pytest.raises(InputError, match="1 cluster"):
        causal.lin_adjusted(trial.assign(site_one=1), "y", "treat", ["x"], cluster="site_one")
    with pytest.raises(InputError, match="1 cluster"):
        causal.iv_late(trial.assign(c=1), "y", "took", "treat", cluster="c")


def test_treatment_varying_within_cluster(trial):
    with pytest.raises(InputError, match="varies within"):
        causal.difference_in_means(trial, "y", "treat", cluster="site")


def test_missing_column_named(trial):
    with pytest.raises(ColumnError, match="Did you mean 'treat'"):
        causal.difference_in_means(trial, "y", "treet")


def test_other_arguments(trial):
    with pytest.raises(InputError, match="missing"):
        causal.difference_in_means(trial, "y", "treat", missing="ignore")
    with pytest.raises(InputError, match="p_treated"):
        causal.loop(trial, "y", "treat", ["x"], p_treated=1.0)
    with pytest.raises(InputError, match="imputer"):
        causal.loop(trial, "y", "treat", ["x"], imputer="xgboost")
    with pytest.raises(InputError, match="ci_level"):
        causal.lin_adjusted(trial, "y", "treat", ["x"], ci_level=95)
    with pytest.raises(InputError, match="covariates"):
        causal.lin_adjusted(trial, "y", "treat", [])
    with pytest.raises(InputError, match="weighting"):
        causal.block_effects(trial, "y", "treat", "site", weighting="sites")
    with pytest.raises(InputError, match="DataFrame"):
        causal.difference_in_means(trial.to_dict(), "y", "treat")
    with pytest.raises(InputError, match="Covariate 'x' has 1 missing"):
        causal.lin_adjusted(trial.assign(x=trial.x.where(trial.index != 4)), "y", "treat", ["x"])
    with pytest.raises(PlmError, match="collinear"):
        causal.lin_adjusted(trial.assign(x2=2 * trial.x), "y", "treat", ["x", "x2"])


def test_blocks_need_both_arms(trial):
    with pytest.raises(InputError, match="every block needs both"):
        causal.difference_in_means(trial, "y", "treat", block="school")


def test_rd_and_did_bad_input(trial):
    with pytest.raises(InputError, match="missing"):
        causal.regression_discontinuity(trial.assign(y=trial.y.where(trial.index != 3)), "y", "x")
    with pytest.raises(InputError, match="numeric"):
        causal.regression_discontinuity(trial.assign(x=trial.x.astype(str)), "y", "x")
    with pytest.raises(InputError, match="duplicated"):
        causal.twfe(pd.concat([trial, trial]), "y", "treat", "id", "site")
    with pytest.raises(InputError, match="binary"):
        causal.did_2x2(trial, "y", "treat", "site")
