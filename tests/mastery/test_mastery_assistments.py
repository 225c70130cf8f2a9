"""ASSISTments 2009-10 skill builders (Piech et al. 2015 DKT split): held-out AUC of BKT and
BKT+forgets next to the published values, mastery-rule tables, and the figures.

Protocol (reproduction_targets.md section 7; pyBKT-examples BasicForgets.py; Khajah, Lindsey &
Mozer 2016): one BKT model per skill fitted on the 3,361 train students, 20 EM restarts, pooled
AUC over all 117,566 responses of the 856 test students (the one test response on skill 64,
absent from train, is dropped). Published: BKT 0.73 (Khajah et al.) and 0.76 (pyBKT README);
BKT+forgets 0.83 (both). Compiled pyBKT 1.4.3 on identical data (benchmarks/bkt.py): 0.7598
and 0.8265.

Standard BKT gives 0.7599 and BKT+forgets 0.8264, within 0.0001 of compiled pyBKT. An earlier
version of our filter computed P(unknown) as 1 - P(known); after long correct streaks that rounds
P(unknown) to exactly 0 and later wrong answers are ignored. That cost 0.026 AUC (0.7342) on 940
test responses at the end of long sequences; the filter now carries both states, as pyBKT does
(test_long_sequence_keeps_tiny_p_unknown). Khajah et al.'s 0.73 is 0.03 lower; pyBKT's README
attributes its 0.76 to the same protocol, so the gap is theirs (fitting details not published).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

import plmresearch
from plmresearch.mastery import (
    BKTThreshold,
    ConsecutiveCorrect,
    MovingWindow,
    fit_bkt,
    learning_curve,
    mastery_opportunities,
    mastery_trajectories,
    parameter_plot,
    simulate_mastery,
    summarize_opportunities,
)

PUBLISHED = {"bkt": {"Khajah et al. 2016": 0.73, "pyBKT README": 0.76, "compiled pyBKT 1.4.3 here": 0.7598},
             "bkt_forgets": {"Khajah et al. 2016": 0.83, "pyBKT README": 0.83, "compiled pyBKT 1.4.3 here": 0.8265}}


@pytest.fixture(scope="module")
def split():
    d = plmresearch.load_dataset("assistments_2009")
    train = d[d["split"] == "train"].reset_index(drop=True)
    test = d[d["split"] == "test"]
    test = test[test["skill"].isin(train["skill"])].reset_index(drop=True)
    return train, test


@pytest.fixture(scope="module")
def bkt(split):
    train, _ = split
    return fit_bkt(train, order="position", n_restarts=20, random_seed=0)


def _report(name, auc):
    print(f"\n{name}: test AUC {auc:.4f} (one model per skill, 20 restarts, pooled over test responses)")
    for src, v in PUBLISHED[name].items():
        print(f"    vs {src}: {v:.4f}  (gap {auc - v:+.4f})")


def test_bkt_auc_on_held_out_students(split, bkt):
    _, test = split
    ev = bkt.evaluate(test)
    overall = ev.loc["overall"]
    _report("bkt", overall["auc"])
    print(ev.drop(index="overall")[["n", "auc", "rmse"]].describe().round(3))
    assert overall["n"] == 117_566
    assert overall["auc"] == pytest.approx(0.76, abs=0.01)  # pyBKT README
    assert overall["auc"] == pytest.approx(0.7598, abs=0.005)  # compiled pyBKT, identical data
    assert overall["rmse"] < 0.43


def test_bkt_with_forgetting_auc(split):
    train, test = split
    model = fit_bkt(train, order="position", forgets=True, n_restarts=20, random_seed=0)
    overall = model.evaluate(test, by_skill=False).loc["overall"]
    _report("bkt_forgets", overall["auc"])
    # reproduction_targets.md: BKT+forgets reproduces within 0.005; tolerance +-0.01
    assert overall["auc"] == pytest.approx(0.83, abs=0.01)
    assert overall["auc"] == pytest.approx(0.8265, abs=0.005)


def test_mastery_rules_on_assistments(split, bkt, tmp_path):
    """Median opportunities to mastery per rule and skill (observed sequences), and the
    simulated over/under-practice of each rule from the fitted parameters of the 5 largest skills."""
    train, test = split
    rules = [ConsecutiveCorrect(3), ConsecutiveCorrect(5), BKTThreshold(0.95), MovingWindow(5, 4)]
    table = mastery_opportunities(test, rules=rules, model=bkt, order="position")
    summary = summarize_opportunities(table)
    big = summary.sort_values("n_students", ascending=False).head(8)
    print("\nObserved test students, median opportunities to mastery by rule (largest skills):")
    print(big.round(2).to_string())
    # 3-CCR can never come before the 3rd opportunity, 5-CCR never before 3-CCR
    assert (table["3-CCR"].dropna() >= 3).all()
    both = table.dropna(subset=["3-CCR", "5-CCR"])
    assert (both["5-CCR"] >= both["3-CCR"]).all()

    top = bkt.params.sort_values("n_responses", ascending=False).head(5)
    sim = simulate_mastery(top, rules, n_students=2000, max_opportunities=30, random_seed=1)
    print("\nSimulated from fitted BKT parameters (30-opportunity cap):")
    print(sim.round(3).to_string(index=False))
    per_rule = sim.groupby("rule")[["share_too_early", "mean_overpractice"]].mean()
    assert per_rule.loc["5-CCR", "share_too_early"] <= per_rule.loc["3-CCR", "share_too_early"]

    pred = bkt.predict(test)
    skill = int(top.index[0])
    students = pred.loc[pred["skill"] == skill, "student"].drop_duplicates().head(4)
    for name, fig in {
        "curve.png": learning_curve(pred, skills=top.index[:3]),
        "traj.png": mastery_trajectories(pred, students, skill),
        "params.png": parameter_plot(bkt.params),
    }.items():
        fig.savefig(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 5000
