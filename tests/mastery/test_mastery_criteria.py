"""Mastery rules on hand-worked sequences, and the simulation of rules from BKT parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plmresearch.errors import InputError
from plmresearch.mastery import (
    BKTThreshold,
    ConsecutiveCorrect,
    MovingWindow,
    first_mastery,
    mastery_opportunities,
    simulate_mastery,
    simulate_matrix,
    simulate_responses,
    summarize_opportunities,
)
from plmresearch.mastery.bkt import BKTModel


def _seqs(*seqs):
    obs = np.concatenate([np.asarray(s) for s in seqs]).astype(np.int8)
    starts = np.cumsum([0] + [len(s) for s in seqs]).astype(np.int64)
    return obs, starts


def test_rules_on_hand_worked_sequences():
    """Worked by hand: opportunities counted from 1, NaN when never declared."""
    obs, starts = _seqs([1, 1, 0, 1, 1, 1, 0], [1, 1, 1], [0, 0, 1, 1], [1, 0, 1, 1, 1, 1])
    out = first_mastery([ConsecutiveCorrect(3), ConsecutiveCorrect(2), MovingWindow(4, 3)], obs, starts)
    np.testing.assert_array_equal(out["3-CCR"], [6, 3, np.nan, 5])
    np.testing.assert_array_equal(out["2-CCR"], [2, 2, 4, 4])
    # 3 of the last 4: seq 1 -> positions 1..4 = 1,1,0,1 (3) at opportunity 4; seq 2 never has 4 responses
    np.testing.assert_array_equal(out["3-of-last-4"], [4, np.nan, np.nan, 4])


def test_bkt_threshold_rule_uses_p_mastered():
    """With prior 0.4, learn 0.2, guess 0.2, slip 0.1 P(L) after 1, 1, 1 is 0.8, 0.9556, 0.9919
    (Corbett & Anderson 1995 update, worked by hand: 0.75 + 0.25*0.2 = 0.8;
    0.8*0.9/(0.72+0.04) = 0.94737 -> 0.94737 + 0.05263*0.2 = 0.95789)."""
    df = pd.DataFrame({"student": [1, 1, 1], "skill": ["a"] * 3, "order": [1, 2, 3], "correct": [1, 1, 1]})
    params = pd.DataFrame({"prior": [0.4], "learn": [0.2], "forget": [0.0], "guess": [0.2], "slip": [0.1]},
                          index=pd.Index(["a"], name="skill"))
    model = BKTModel(params=params, skill="skill", student="student", correct="correct", order="order",
                     forgets=False, restarts=pd.DataFrame())
    pm = model.predict(df)["p_mastered"].to_numpy()
    np.testing.assert_allclose(pm[:2], [0.8, 0.94737 + 0.05263 * 0.2], atol=1e-4)
    table = mastery_opportunities(df, rules=[BKTThreshold(0.95), ConsecutiveCorrect(3)], model=model)
    assert table.loc[0, "BKT>=0.95"] == 2.0
    assert table.loc[0, "3-CCR"] == 3.0
    with pytest.raises(InputError, match="needs P\\(mastered\\)"):
        mastery_opportunities(df, rules=[BKTThreshold(0.95)])


def test_mastery_table_per_skill():
    params = pd.DataFrame([dict(prior=0.2, learn=0.2, guess=0.2, slip=0.1), dict(prior=0.1, learn=0.05, guess=0.1, slip=0.1)],
                          index=pd.Index(["easy", "hard"], name="skill"))
    df = simulate_responses(params, n_students=400, n_opportunities=30, random_seed=1)
    table = mastery_opportunities(df, rules=[ConsecutiveCorrect(3), MovingWindow(5, 4)])
    summary = summarize_opportunities(table)
    print(summary)
    assert summary.loc["easy", "median_3-CCR"] < summary.loc["hard", "median_3-CCR"]
    assert set(summary.columns) >= {"n_students", "median_3-CCR", "share_declared_4-of-last-5"}


def test_simulated_states_follow_the_model():
    """Share known at opportunity t: 1 - (1 - prior)(1 - learn)^t (forget = 0); P(correct) mixes guess/slip."""
    p = dict(prior=0.2, learn=0.1, guess=0.25, slip=0.1)
    correct, known = simulate_matrix(p, 40_000, 6, random_seed=2)
    t = np.arange(6)
    expected_known = 1 - 0.8 * 0.9**t
    np.testing.assert_allclose(known.mean(axis=0), expected_known, atol=0.01)
    np.testing.assert_allclose(correct.mean(axis=0), expected_known * 0.9 + (1 - expected_known) * 0.25, atol=0.01)


def test_simulate_mastery_over_and_under_practice():
    """Stricter rules stop fewer students too early and make them practise more."""
    p = dict(prior=0.1, learn=0.15, guess=0.25, slip=0.1)
    rules = [ConsecutiveCorrect(2), ConsecutiveCorrect(3), ConsecutiveCorrect(5), BKTThreshold(0.95), MovingWindow(5, 4)]
    res = simulate_mastery(p, rules, n_students=5000, max_opportunities=30, random_seed=3).set_index("rule")
    print(res.round(3).to_string())
    assert res.loc["2-CCR", "share_too_early"] > res.loc["3-CCR", "share_too_early"] > res.loc["5-CCR", "share_too_early"]
    assert res.loc["2-CCR", "mean_opportunities"] < res.loc["3-CCR", "mean_opportunities"] < res.loc["5-CCR", "mean_opportunities"]
    assert res.loc["5-CCR", "mean_overpractice"] > res.loc["3-CCR", "mean_overpractice"]
    assert (res["share_declared"] <= 1).all() and (res["share_declared"] > 0.5).all()


def test_two_ccr_too_early_share_matches_exact_probability():
    """Exact check for 2-CCR with learn = 0 and prior = 0 (nobody ever learns): every declared student
    is too early, and the chance of two correct in a row within 2 opportunities is guess^2."""
    p = dict(prior=0.0, learn=0.0, guess=0.3, slip=0.1)
    res = simulate_mastery(p, [ConsecutiveCorrect(2)], n_students=50_000, max_opportunities=2, random_seed=4)
    assert res.loc[0, "share_too_early"] == 1.0
    assert res.loc[0, "share_declared"] == pytest.approx(0.09, abs=0.005)


def test_bad_rules():
    with pytest.raises(InputError, match="min_correct"):
        MovingWindow(3, 4)
    with pytest.raises(InputError, match="threshold"):
        BKTThreshold(1.5)
    with pytest.raises(InputError, match="n"):
        ConsecutiveCorrect(0)
    with pytest.raises(InputError, match="mastery rule"):
        simulate_mastery(dict(prior=0.1, learn=0.1, guess=0.2, slip=0.1), rules=["3-CCR"])
    with pytest.raises(InputError, match="lack"):
        simulate_mastery(dict(prior=0.1, learn=0.1))
