"""Property tests (hypothesis) for the BKT recursions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plmresearch.mastery import _kernels

prob = st.floats(0.001, 0.999)


@settings(max_examples=60, deadline=None)
@given(prob, prob, st.floats(0.0, 0.5), prob, prob, st.lists(st.integers(0, 1), min_size=1, max_size=60))
def test_chain_rule_and_ranges(prior, learn, forget, guess, slip, seq):
    """log P(o_1..o_T) = sum_t log P(o_t | o_<t) (chain rule), and predictions stay in range."""
    obs = np.array(seq, dtype=np.int8)
    bounds = np.array([0, len(obs)], dtype=np.int64)
    theta = np.array([[prior, learn, forget, guess, slip]])
    pc, pm = _kernels.forward_predict(obs, bounds, theta)
    ll = _kernels.loglik_all(obs, bounds, theta)[0]
    chain = np.sum(np.log(np.where(obs == 1, pc, 1 - pc)))
    assert np.isclose(ll, chain, rtol=1e-9, atol=1e-9)
    lo, hi = min(guess, 1 - slip), max(guess, 1 - slip)
    assert np.all(pc >= lo - 1e-12) and np.all(pc <= hi + 1e-12)
    assert np.all((pm >= 0) & (pm <= 1))
    counts = np.zeros(10)
    ll2 = _kernels._e_step_full(obs, bounds, 0, 1, theta[0], counts, np.empty(len(obs)), np.empty(len(obs)))
    assert np.isclose(ll, ll2, rtol=1e-9)
    # expected counts are probabilities summed over positions
    assert np.isclose(counts[7] + counts[9], len(obs))
    assert 0 <= counts[0] <= 1
