"""Formula parsing, centring helpers, and bad-input errors of plmresearch.models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plmresearch.errors import ColumnError, InputError, PlmError
from plmresearch.models import (
    grand_mean_center,
    group_mean_center,
    multilevel,
    parse_formula,
    pool_site_estimates,
)


def test_parse_formula_splits_grouping_terms():
    mf = parse_formula("mathach ~ cses * meanses + (1 + cses | school)")
    assert mf.outcome == "mathach"
    assert mf.fixed == "mathach ~ cses * meanses"
    assert [(t.expr, t.group, t.correlated) for t in mf.random] == [("1 + cses", "school", True)]
    mf = parse_formula("y ~ x + (1 | school/class) + (0 + x || school)")
    assert [(t.expr, t.group, t.correlated) for t in mf.random] == [
        ("1", "school", True), ("1", "school:class", True), ("0 + x", "school", False)]
    assert parse_formula("y ~ (1 | g)").fixed == "y ~ 1"
    assert mf.variables() == {"y", "x", "school", "class"}


def test_group_mean_centering_reproduces_hsb_cses(hsb):
    """mlmRev::Hsb82$cses = ses - sample school mean (reproduction_targets.md sec. 0, checked exactly)."""
    before = hsb.copy()
    out = group_mean_center(hsb, "ses", "school")
    np.testing.assert_allclose(out["ses_group_mean"], hsb["ses_school_mean"], atol=1e-9)
    np.testing.assert_allclose(out["ses_cwc"], hsb["cses"], atol=1e-9)
    pd.testing.assert_frame_equal(hsb, before)  # input untouched
    g = grand_mean_center(hsb, ["ses", "mathach"])
    assert abs(g["ses_gmc"].mean()) < 1e-12 and abs(g["mathach_gmc"].mean()) < 1e-12
    assert "ses_gmc" not in hsb


def test_group_mean_center_errors(hsb):
    with pytest.raises(ColumnError, match="schol"):
        group_mean_center(hsb, "ses", "schol")
    with pytest.raises(InputError, match="sector"):
        group_mean_center(hsb, "sector", "school")


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"g": np.repeat(list("abcdefgh"), 5), "x": rng.normal(size=40)})
    d["y"] = d["x"] + rng.normal(size=40)
    return d


@pytest.mark.parametrize("engine", ["statsmodels", "bayes"])
def test_missing_grouping_column(small, engine):
    with pytest.raises(ColumnError, match="'school'"):
        multilevel("y ~ x + (1 | school)", small, engine=engine)


@pytest.mark.parametrize("engine", ["statsmodels", "bayes"])
def test_unknown_column_in_formula(small, engine):
    with pytest.raises(ColumnError, match="xx"):
        multilevel("y ~ xx + (1 | g)", small, engine=engine)


@pytest.mark.parametrize("engine", ["statsmodels", "bayes"])
def test_non_numeric_outcome(small, engine):
    d = small.assign(y=np.where(small["x"] > 0, "high", "low"))
    with pytest.raises(InputError, match="'y' must be numeric"):
        multilevel("y ~ x + (1 | g)", d, engine=engine)


@pytest.mark.parametrize("engine", ["statsmodels", "bayes"])
def test_single_member_group_with_random_slope(small, engine):
    d = pd.concat([small, pd.DataFrame({"g": ["lonely"], "x": [0.3], "y": [1.0]})], ignore_index=True)
    with pytest.raises(InputError, match="'lonely'.*random slope"):
        multilevel("y ~ x + (1 + x | g)", d, engine=engine)
    # a random intercept is fine with a group of one
    assert multilevel("y ~ x + (1 | g)", d).n_groups == {"g": 9}


def test_other_bad_inputs(small):
    with pytest.raises(InputError, match="grouping term"):
        multilevel("y ~ x", small)
    with pytest.raises(InputError, match="engine"):
        multilevel("y ~ x + (1 | g)", small, engine="stan")
    with pytest.raises(InputError, match="draws"):
        multilevel("y ~ x + (1 | g)", small, draws=10)
    with pytest.raises(InputError, match="must be a string like"):
        multilevel("y = x", small)
    with pytest.raises(InputError, match="at least 2"):
        multilevel("y ~ x + (1 | g)", small.assign(g="one"))
    with pytest.raises(InputError, match="DataFrame"):
        multilevel("y ~ x + (1 | g)", small.to_dict())
    # crossed factors were refused before issue 17; the sparse PLS engine now fits them
    crossed = small.assign(h=np.tile(["p", "q"], 20))
    assert set(multilevel("y ~ x + (1 | g) + (1 | h)", crossed).n_groups) == {"g", "h"}
    with pytest.raises(InputError, match="family"):
        multilevel("y ~ x + (1 | g)", small, family="gamma")
    with pytest.raises(PlmError, match="std_errors"):
        pool_site_estimates([1, 2, 3], [1, 0, 1])
    with pytest.raises(InputError, match="Lengths differ"):
        pool_site_estimates([1, 2, 3], [1, 1])
    with pytest.raises(InputError, match="tau_prior"):
        pool_site_estimates([1, 2, 3], [1, 1, 1], tau_prior="flat")


def test_inputs_not_modified(small):
    before = small.copy()
    multilevel("y ~ x + (1 | g)", small)
    pd.testing.assert_frame_equal(small, before)
