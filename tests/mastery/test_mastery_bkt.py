"""BKT: forward-backward against exact enumeration, EM parameter recovery, predict, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from plmresearch.errors import ColumnError, InputError, PlmError
from plmresearch.mastery import BKTModel, fit_bkt, simulate_responses
from plmresearch.mastery import _kernels


def _brute_force(seq, prior, learn, forget, guess, slip):
    """Exact HMM quantities by summing over all 2^T hidden paths (definition of the
    model in Corbett & Anderson 1995; HMM marginals as in Rabiner 1989, eqs. 26-38).

    Returns log P(obs), expected counts in the order of the kernel, and
    P(o_t = 1 | o_<t) for each t.
    """
    T = len(seq)
    A = np.array([[1 - learn, learn], [forget, 1 - forget]])  # from state (0=U, 1=K) to state

    def emis(state, o):
        pc = 1 - slip if state == 1 else guess
        return pc if o == 1 else 1 - pc

    total = 0.0
    counts = np.zeros(10)
    for path in itertools.product([0, 1], repeat=T):
        w = prior if path[0] == 1 else 1 - prior
        w *= emis(path[0], seq[0])
        for t in range(1, T):
            w *= A[path[t - 1], path[t]] * emis(path[t], seq[t])
        total += w
        counts[0] += w * path[0]
        for t in range(T):
            k = path[t]
            if seq[t] == 1 and k == 0:
                counts[6] += w
            if seq[t] == 0 and k == 1:
                counts[8] += w
            counts[7] += w * (k == 0)
            counts[9] += w * (k == 1)
            if t < T - 1:
                counts[3] += w * (k == 0)
                counts[5] += w * (k == 1)
                counts[2] += w * (k == 0 and path[t + 1] == 1)
                counts[4] += w * (k == 1 and path[t + 1] == 0)
    counts /= total
    counts[1] = 1.0
    # one-step-ahead predictions: P(o_t = 1 | o_<t) = P(o_1..o_{t-1}, o_t=1) / P(o_1..o_{t-1})
    preds = []
    for t in range(T):
        num = den = 0.0
        for path in itertools.product([0, 1], repeat=t + 1):
            w = prior if path[0] == 1 else 1 - prior
            for s in range(t + 1):
                if s > 0:
                    w *= A[path[s - 1], path[s]]
                if s < t:
                    w *= emis(path[s], seq[s])
            den += w
            num += w * emis(path[t], 1)
        preds.append(num / den)
    return np.log(total), counts, np.array(preds)


PARAM_SETS = [
    (0.3, 0.2, 0.0, 0.25, 0.1),
    (0.05, 0.4, 0.0, 0.1, 0.3),
    (0.6, 0.1, 0.15, 0.3, 0.05),
]


@pytest.mark.parametrize("theta", PARAM_SETS)
def test_e_step_matches_enumeration(theta):
    """Log-likelihood and expected counts of the compiled forward-backward equal exact
    enumeration over hidden paths (reference: the HMM definition, Rabiner 1989)."""
    seq = np.array([0, 1, 0, 0, 1, 1, 1], dtype=np.int8)
    ll_ref, counts_ref, pred_ref = _brute_force(seq, *theta)
    counts = np.zeros(10)
    ll = _kernels._e_step_full(seq, np.array([0, len(seq)], dtype=np.int64), 0, 1, np.array(theta), counts,
                               np.empty(len(seq)), np.empty(len(seq)))
    assert ll == pytest.approx(ll_ref, rel=1e-12)
    np.testing.assert_allclose(counts, counts_ref, rtol=1e-10, atol=1e-13)
    pc, _ = _kernels.forward_predict(seq, np.array([0, len(seq)], dtype=np.int64), np.array([theta]))
    np.testing.assert_allclose(pc, pred_ref, rtol=1e-12)


def test_p_mastered_matches_corbett_anderson_update():
    """P(L_n) = P(L_{n-1} | obs) + (1 - P(L_{n-1} | obs)) P(T) (Corbett & Anderson 1995, eq. 1-2),
    worked by hand: prior 0.4, learn 0.2, guess 0.2, slip 0.1, responses 1, 0.
    After '1': posterior 0.4*0.9 / (0.4*0.9 + 0.6*0.2) = 0.75; P(L1) = 0.75 + 0.25*0.2 = 0.8.
    After '0': posterior 0.8*0.1 / (0.8*0.1 + 0.2*0.8) = 1/3; P(L2) = 1/3 + (2/3)*0.2 = 0.4666...
    """
    df = pd.DataFrame({"student": [1, 1], "skill": ["a", "a"], "order": [1, 2], "correct": [1, 0]})
    params = pd.DataFrame({"prior": [0.4], "learn": [0.2], "forget": [0.0], "guess": [0.2], "slip": [0.1]},
                          index=pd.Index(["a"], name="skill"))
    model = BKTModel(params=params, skill="skill", student="student", correct="correct", order="order",
                     forgets=False, restarts=pd.DataFrame())
    out = model.predict(df)
    np.testing.assert_allclose(out["p_mastered"], [0.8, 0.4 + 0.2 / 3], rtol=1e-12)
    np.testing.assert_allclose(out["p_correct"], [0.4 * 0.9 + 0.6 * 0.2, 0.8 * 0.9 + 0.2 * 0.2], rtol=1e-12)


def test_long_sequence_keeps_tiny_p_unknown():
    """After 40 correct answers P(unknown) is ~1e-32 (below double rounding of 1 - P(known)); 60 wrong
    answers multiply it by ~5.6 each and must pull P(known)
    down. Reference: the same forward recursion in exact rational arithmetic (fractions)."""
    from fractions import Fraction as F

    prior, learn, guess, slip = F(1, 2), F(3, 10), F(1, 5), F(1, 10)
    seq = [1] * 40 + [0] * 60
    pk, pu, exact = prior, 1 - prior, []
    for o in seq:
        exact.append(float(pk * (1 - slip) + pu * guess))
        ak, au = pk * ((1 - slip) if o else slip), pu * (guess if o else 1 - guess)
        ak, au = ak / (ak + au), au / (ak + au)
        pk, pu = ak + au * learn, au * (1 - learn)
    obs = np.array(seq, dtype=np.int8)
    pc, _ = _kernels.forward_predict(obs, np.array([0, len(obs)], dtype=np.int64),
                                     np.array([[0.5, 0.3, 0.0, 0.2, 0.1]]))
    np.testing.assert_allclose(pc, exact, rtol=1e-9)
    assert pc[-1] < 0.5  # the wrong answers were heard (1 - P(known) arithmetic gives 0.9 here)


RECOVERY = [
    dict(prior=0.2, learn=0.15, guess=0.2, slip=0.1),
    dict(prior=0.5, learn=0.05, guess=0.3, slip=0.15),
    dict(prior=0.1, learn=0.3, guess=0.1, slip=0.05),
]


@pytest.mark.parametrize("truth", RECOVERY)
def test_parameter_recovery(truth):
    """3,000 simulated students x 25 opportunities: every parameter within 0.03 of the truth."""
    df = simulate_responses(truth, n_students=3000, n_opportunities=25, random_seed=11)
    fit = fit_bkt(df, n_restarts=5, random_seed=1).params.iloc[0]
    print({k: (truth[k], round(fit[k], 4)) for k in truth})
    for k, v in truth.items():
        assert abs(fit[k] - v) < 0.03, (k, fit[k], v)
    assert fit["forget"] == 0.0


def test_parameter_recovery_with_forgetting():
    """With forgets=True the forget rate is recovered too (within 0.03)."""
    truth = dict(prior=0.3, learn=0.2, forget=0.1, guess=0.2, slip=0.1)
    df = simulate_responses(truth, n_students=3000, n_opportunities=30, random_seed=5)
    fit = fit_bkt(df, forgets=True, n_restarts=5, random_seed=2).params.iloc[0]
    print({k: (truth[k], round(fit[k], 4)) for k in truth})
    for k, v in truth.items():
        assert abs(fit[k] - v) < 0.03, (k, fit[k], v)


def test_several_skills_parallel_equals_serial_and_seed_is_reproducible():
    params = pd.DataFrame(RECOVERY, index=pd.Index(["s1", "s2", "s3"], name="skill"))
    df = simulate_responses(params, n_students=300, n_opportunities=15, random_seed=3)
    a = fit_bkt(df, n_restarts=4, random_seed=9, n_jobs=1).params
    b = fit_bkt(df, n_restarts=4, random_seed=9, n_jobs=2).params
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == ["s1", "s2", "s3"]
    one = fit_bkt(df, n_restarts=4, random_seed=9, skills=["s2"]).params
    assert list(one.index) == ["s2"]


def test_predict_keeps_rows_and_does_not_modify_input():
    params = pd.DataFrame(RECOVERY[:2], index=pd.Index(["x", "y"], name="skill"))
    df = simulate_responses(params, n_students=50, n_opportunities=8, random_seed=2)
    model = fit_bkt(df, n_restarts=2)
    # interleave rows of different students (still in order within each student)
    shuffled = df.sample(frac=1.0, random_state=0).sort_values(["student", "skill", "order"], kind="stable")
    shuffled = shuffled.sort_values("order", kind="stable")
    before = shuffled.copy()
    out = model.predict(shuffled)
    pd.testing.assert_frame_equal(shuffled, before)
    assert list(out.index) == list(shuffled.index)
    ref = model.predict(df)
    pd.testing.assert_series_equal(out["p_correct"].sort_index(), ref["p_correct"].sort_index())
    assert out["p_correct"].between(0, 1).all() and out["p_mastered"].between(0, 1).all()
    ll = model.log_likelihood(df)
    assert ll.loc["x"] == pytest.approx(model.params.loc["x", "log_likelihood"], rel=1e-6)


def test_bounds_are_respected():
    df = simulate_responses(dict(prior=0.3, learn=0.1, guess=0.45, slip=0.3), 500, 10, random_seed=4)
    p = fit_bkt(df, n_restarts=3, bounds="corbett_anderson").params.iloc[0]
    assert p["guess"] <= 0.3 + 1e-12 and p["slip"] <= 0.1 + 1e-12
    p = fit_bkt(df, n_restarts=3, bounds={"learn": (0.2, 0.4)}).params.iloc[0]
    assert 0.2 <= p["learn"] <= 0.4


# ---------------------------------------------------------------- bad input
@pytest.fixture
def small():
    return pd.DataFrame({
        "student": [1, 1, 1, 2, 2, 2],
        "skill": ["a", "a", "a", "a", "a", "a"],
        "order": [1, 2, 3, 1, 2, 3],
        "correct": [0, 1, 1, 1, 1, 0],
    })


def test_correct_not_binary(small):
    bad = small.assign(correct=[0, 1, 2, 1, 1, 0])
    with pytest.raises(InputError, match="'correct'.*0/1"):
        fit_bkt(bad)
    with pytest.raises(InputError, match="0/1"):
        fit_bkt(small.assign(correct=["yes", "no", "yes", "no", "no", "no"]))


def test_skill_with_one_response(small):
    bad = pd.concat([small, pd.DataFrame({"student": [3], "skill": ["b"], "order": [1], "correct": [1]})])
    with pytest.raises(InputError, match="single response.*'b'|single response"):
        fit_bkt(bad)


def test_unsorted_order(small):
    bad = small.copy()
    bad["order"] = [2, 1, 3, 1, 2, 3]
    with pytest.raises(InputError, match="not in increasing .order. within student.*sort_values"):
        fit_bkt(bad)
    dup = small.assign(order=[1, 1, 2, 1, 2, 3])
    with pytest.raises(InputError, match="increasing"):
        fit_bkt(dup)


def test_missing_values_and_columns(small):
    bad = small.astype({"correct": float})
    bad.loc[2, "correct"] = np.nan
    with pytest.raises(InputError, match="'correct' has 1 missing"):
        fit_bkt(bad)
    with pytest.raises(ColumnError, match="opportunity"):
        fit_bkt(small, order="opportunity")
    with pytest.raises(InputError, match="DataFrame"):
        fit_bkt([1, 2, 3])


def test_bad_arguments(small):
    with pytest.raises(InputError, match="n_restarts"):
        fit_bkt(small, n_restarts=0)
    with pytest.raises(InputError, match="bounds"):
        fit_bkt(small, bounds="tight")
    with pytest.raises(InputError, match="low < high"):
        fit_bkt(small, bounds={"guess": (0.5, 0.1)})
    with pytest.raises(InputError, match="convergence"):
        fit_bkt(small, convergence="fast")
    model = fit_bkt(small, n_restarts=2)
    with pytest.raises(PlmError, match="not in the fitted data"):
        model.predict(small.assign(skill="zzz"))


@pytest.fixture(scope="module")
def two_skills():
    """Two skills fitted; the third, 'c', appears only in the data predicted."""
    rng = np.random.default_rng(3)
    truth = pd.DataFrame({"prior": [0.3, 0.5], "learn": [0.2, 0.1], "forget": [0.0, 0.0],
                          "guess": [0.2, 0.25], "slip": [0.1, 0.05]}, index=["a", "b"])
    train = simulate_responses(truth, n_students=60, n_opportunities=6, random_seed=3).drop(columns="known")
    model = fit_bkt(train, n_restarts=3, random_seed=0)
    new = pd.DataFrame({"student": [1, 1, 1, 2, 2], "skill": ["c"] * 5, "order": [1, 2, 3, 1, 2],
                        "correct": rng.integers(0, 2, 5)})
    test = pd.concat([train[train["student"].isin(train["student"].unique()[:5])], new], ignore_index=True)
    return model, test


def test_unseen_skill_error_names_skills_and_options(two_skills):
    model, test = two_skills
    with pytest.raises(InputError, match=r"1 skill\(s\).*\(5 row\(s\)\).*\['c'\].*unseen='drop'.*unseen='prior'"):
        model.predict(test)
    with pytest.raises(InputError, match="unseen='drop'"):
        model.evaluate(test)
    with pytest.raises(InputError, match="`unseen` must be one of"):
        model.predict(test, unseen="ignore")


def test_unseen_drop_leaves_rows_out_with_a_count(two_skills):
    model, test = two_skills
    pred = model.predict(test, unseen="drop")
    seen = test[test["skill"] != "c"]
    assert len(pred) == len(seen) and not (pred["skill"] == "c").any()
    assert pred.attrs["notes"] == ["5 row(s) on 1 skill(s) not in the fitted data were dropped (e.g. ['c'])."]
    # identical to predicting the seen rows alone
    np.testing.assert_allclose(pred["p_correct"].to_numpy(), model.predict(seen)["p_correct"].to_numpy())
    ev = model.evaluate(test, unseen="drop")
    assert "c" not in ev.index and ev.loc["overall", "n"] == len(seen)
    assert "5 row(s)" in ev.attrs["notes"][0]
    assert len(test) == len(seen) + 5  # input untouched


def test_unseen_prior_uses_population_average(two_skills):
    """First response of a sequence: p_correct = P(L0)(1 - S) + (1 - P(L0)) G (Corbett & Anderson 1995,
    eq. 1), here with each parameter averaged over the two fitted skills."""
    model, test = two_skills
    pred = model.predict(test, unseen="prior")
    assert len(pred) == len(test)
    avg = model.params[["prior", "guess", "slip"]].mean()
    first = pred[(pred["skill"] == "c") & (pred["order"] == 1)]
    expected = avg["prior"] * (1 - avg["slip"]) + (1 - avg["prior"]) * avg["guess"]
    np.testing.assert_allclose(first["p_correct"], expected, rtol=1e-12)
    # the seen skills are predicted exactly as before
    seen = pred["skill"] != "c"
    np.testing.assert_allclose(pred.loc[seen, "p_correct"], model.predict(test[test["skill"] != "c"])["p_correct"])
    assert "population-average" in pred.attrs["notes"][0] and "5 row(s)" in pred.attrs["notes"][0]
    ev = model.evaluate(test, unseen="prior")
    assert ev.loc["c", "n"] == 5 and ev.loc["overall", "n"] == len(test)


def test_progress_bar_does_not_change_estimates(two_skills, monkeypatch, capsys):
    """With the bar forced on, EM runs in chunks of skills; every estimate is the same."""
    model, _ = two_skills
    train = simulate_responses(model.params, n_students=30, n_opportunities=5, random_seed=4).drop(columns="known")
    quiet = fit_bkt(train, n_restarts=3, random_seed=0, progress=False)
    monkeypatch.setenv("PLMRESEARCH_PROGRESS", "1")
    shown = fit_bkt(train, n_restarts=3, random_seed=0)
    assert "BKT EM" in capsys.readouterr().err
    pd.testing.assert_frame_equal(quiet.params, shown.params)
