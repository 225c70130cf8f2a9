"""Invariants (hypothesis): symmetry, scale invariance, limits, monotonicity."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plmresearch.effects import (
    d_to_r,
    hedges_correction,
    hedges_g,
    improvement_index,
    mdes_cluster_rct,
    meta_analysis,
    r_to_d,
)

means = st.floats(-100, 100)
sds = st.floats(0.1, 50)
ns = st.integers(3, 500)


@settings(max_examples=60, deadline=None)
@given(means, sds, ns, means, sds, ns, st.floats(0.01, 100), st.floats(-50, 50))
def test_hedges_g_antisymmetric_and_scale_invariant(m1, s1, n1, m2, s2, n2, scale, shift):
    g = hedges_g(m1, s1, n1, m2, s2, n2)
    swapped = hedges_g(m2, s2, n2, m1, s1, n1)
    assert math.isclose(g.estimate, -swapped.estimate, rel_tol=1e-12, abs_tol=1e-12)
    lin = hedges_g(m1 * scale + shift, s1 * scale, n1, m2 * scale + shift, s2 * scale, n2)
    assert math.isclose(g.estimate, lin.estimate, rel_tol=1e-9, abs_tol=1e-9)
    assert g.ci_low <= g.estimate <= g.ci_high


@settings(max_examples=40, deadline=None)
@given(st.floats(2.0, 1e5))
def test_j_below_one_and_wwc_close(df):
    j = hedges_correction(df)
    assert 0 < j < 1
    assert abs(j - hedges_correction(df, exact=False)) < max(0.05 / df**2, 1e-10)  # O(1/df^2) approximation


@settings(max_examples=40, deadline=None)
@given(st.floats(-0.99, 0.99))
def test_r_d_roundtrip(r):
    assert math.isclose(d_to_r(r_to_d(r)), r, abs_tol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(-5, 5))
def test_improvement_index_bounded_and_odd(g):
    ii = improvement_index(g)
    assert -50 <= ii <= 50
    assert math.isclose(ii, -improvement_index(-g), abs_tol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(6, 200), st.floats(0.0, 0.5))
def test_mdes_decreases_with_clusters(j, icc):
    assert mdes_cluster_rct(20, j + 1, icc).mdes < mdes_cluster_rct(20, j, icc).mdes


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=3, max_size=12), st.floats(0.001, 0.2))
def test_equal_variance_meta_is_mean(y, v):
    r = meta_analysis(y, [v] * len(y), method="FE")
    assert math.isclose(r.estimate, float(np.mean(y)), abs_tol=1e-10)
    for m in ("DL", "REML", "PM"):
        re = meta_analysis(y, [v] * len(y), method=m)
        assert re.tau2 >= 0 and math.isclose(re.estimate, float(np.mean(y)), abs_tol=1e-9)
