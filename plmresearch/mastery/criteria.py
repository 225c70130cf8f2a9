"""Mastery criteria: when does a rule declare that a student has mastered a skill?

Three families used by mastery-learning platforms:

* :class:`ConsecutiveCorrect` (N-CCR): N correct answers in a row; ASSISTments skill
  builders use N = 3 (Heffernan & Heffernan 2014; Kelly et al. 2016, "Estimating
  the effect of web-based homework", use 3-CCR as the completion rule).
* :class:`BKTThreshold`: P(mastered) >= 0.95 under BKT, the Cognitive Tutor rule
  (Corbett & Anderson 1995).
* :class:`MovingWindow`: at least ``min_correct`` of the last ``window`` answers
  correct (e.g. Khan Academy-style "k of the last n"; Pelánek & Řihák 2017,
  "Experimental analysis of mastery learning criteria", UMAP).

Opportunities are counted from 1: a value of 3 means mastery was declared right
after the third response. NaN means the rule never declared mastery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from plmresearch.errors import InputError
from plmresearch.mastery._data import pack, validate
from plmresearch.validation import count, probability, require_columns, require_frame, unique_columns


@dataclass(frozen=True)
class ConsecutiveCorrect:
    """N consecutive correct responses (N-CCR)."""

    n: int = 3

    def __post_init__(self):
        object.__setattr__(self, "n", count(self.n, "n"))

    @property
    def name(self) -> str:
        return f"{self.n}-CCR"

    def mastered(self, obs, pos, run, window_sum, p_mastered) -> np.ndarray:
        return run >= self.n


@dataclass(frozen=True)
class BKTThreshold:
    """P(mastered) after the response at or above ``threshold`` (needs a BKT model)."""

    threshold: float = 0.95

    def __post_init__(self):
        object.__setattr__(self, "threshold", probability(self.threshold, "threshold"))

    @property
    def name(self) -> str:
        return f"BKT>={self.threshold:g}"

    def mastered(self, obs, pos, run, window_sum, p_mastered) -> np.ndarray:
        if p_mastered is None:
            raise InputError("The BKT threshold rule needs P(mastered): pass `model=` (a fitted BKT model) or `params=`.")
        return p_mastered >= self.threshold


@dataclass(frozen=True)
class MovingWindow:
    """At least ``min_correct`` correct among the last ``window`` responses."""

    window: int = 5
    min_correct: int = 4

    def __post_init__(self):
        object.__setattr__(self, "window", count(self.window, "window"))
        object.__setattr__(self, "min_correct", count(self.min_correct, "min_correct"))
        if self.min_correct > self.window:
            raise InputError(f"`min_correct` ({self.min_correct}) cannot exceed `window` ({self.window}).")

    @property
    def name(self) -> str:
        return f"{self.min_correct}-of-last-{self.window}"

    def mastered(self, obs, pos, run, window_sum, p_mastered) -> np.ndarray:
        ws = window_sum(self.window)
        return (pos + 1 >= self.window) & (ws >= self.min_correct)


DEFAULT_RULES = (ConsecutiveCorrect(3), ConsecutiveCorrect(5), BKTThreshold(0.95), MovingWindow(5, 4))


def first_mastery(rules, obs: np.ndarray, seq_start: np.ndarray, p_mastered: np.ndarray | None = None) -> dict:
    """Opportunity (1-based) at which each rule first declares mastery, per sequence.

    ``obs`` holds the 0/1 responses of all sequences back to back; sequence q is
    ``obs[seq_start[q]:seq_start[q+1]]``. Vectorised over all responses.
    """
    rules = _check_rules(rules)
    obs, seq_start, p_mastered = _check_sequences(obs, seq_start, p_mastered)
    n = len(obs)
    starts = seq_start[:-1]
    lengths = np.diff(seq_start)
    seq_id = np.repeat(np.arange(len(starts)), lengths)
    i = np.arange(n)
    pos = i - starts[seq_id]
    # length of the current run of correct answers: distance to the last reset
    reset = np.where(obs == 0, i, np.where(pos == 0, i - 1, -1))
    run = i - np.maximum.accumulate(reset)
    cs = np.concatenate([[0], np.cumsum(obs)])

    def window_sum(w):
        lo = np.maximum(i + 1 - w, 0)
        return cs[i + 1] - cs[lo]

    out = {}
    for rule in rules:
        hit = rule.mastered(obs, pos, run, window_sum, p_mastered)
        opp = np.where(hit, pos + 1, np.iinfo(np.int64).max)
        first = np.minimum.reduceat(opp, starts) if n else np.array([])
        out[rule.name] = np.where(first == np.iinfo(np.int64).max, np.nan, first.astype(float))
    return out


def _check_rules(rules):
    if hasattr(rules, "mastered"):
        return (rules,)
    if isinstance(rules, str) or not hasattr(rules, "__iter__"):
        raise InputError(f"`rules` must be a list of mastery rules such as [ConsecutiveCorrect(3)], got {rules!r}.")
    rules = tuple(rules)
    if not rules:
        raise InputError("`rules` is empty; give at least one mastery rule, e.g. [ConsecutiveCorrect(3)].")
    for r in rules:
        if not hasattr(r, "mastered"):
            raise InputError(f"{r!r} in `rules` is not a mastery rule; use ConsecutiveCorrect, BKTThreshold or "
                             "MovingWindow.")
    return rules


def _check_sequences(obs, seq_start, p_mastered) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """0/1 responses, sequence starts running from 0 to len(obs), and P(mastered) per response."""
    try:
        a = np.asarray(obs, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"`obs` must hold 0/1 responses, got {obs!r:.80}.") from None
    if a.ndim != 1 or not np.isin(a, (0.0, 1.0)).all():
        raise InputError("`obs` must be a one-dimensional array of 0/1 responses.")
    try:
        s = np.asarray(seq_start, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"`seq_start` must hold whole-number positions, got {seq_start!r:.80}.") from None
    if (s.ndim != 1 or len(s) < 1 or s[0] != 0 or s[-1] != len(a) or np.any(np.diff(s) <= 0)
            or np.any(s != np.round(s))):
        raise InputError(f"`seq_start` must rise strictly from 0 to len(obs) = {len(a)} (one start per sequence, "
                         f"then the end), got {seq_start!r:.80}.")
    pm = None
    if p_mastered is not None:
        pm = np.asarray(p_mastered, dtype=float)
        if pm.shape != a.shape or not np.all((pm >= 0) & (pm <= 1)):
            raise InputError(f"`p_mastered` must give one probability in [0, 1] per response ({len(a)}).")
    return a.astype(np.int64), s.astype(np.int64), pm


def mastery_opportunities(df: pd.DataFrame, rules=DEFAULT_RULES, model=None, skill: str = "skill",
                          student: str = "student", correct: str = "correct", order: str | None = "order") -> pd.DataFrame:
    """For each student and skill, the opportunity at which each rule declares mastery.

    Returns one row per (skill, student) with ``n_opportunities`` (responses seen) and
    one column per rule (NaN: not declared within the observed responses).
    ``model`` (a fitted :class:`~plmresearch.mastery.BKTModel`) is needed for
    :class:`BKTThreshold`.
    """
    rules = _check_rules(rules)
    y = validate(df, skill, student, correct, order)
    pm = None
    if model is not None and not hasattr(model, "predict"):
        raise InputError(f"`model` must be a fitted BKT model (fit_bkt(...)), got {type(model).__name__}.")
    if model is None and any(isinstance(r, BKTThreshold) for r in rules):
        raise InputError("The BKT threshold rule needs P(mastered): pass `model=` (a fitted BKT model).")
    if model is not None:
        pm_rows = model.predict(df)["p_mastered"].to_numpy()
    pk = pack(df, skill, student, y)
    if model is not None:
        pm = pm_rows[pk.rows]
    first = first_mastery(rules, pk.obs, pk.seq_start, pm)
    out = pd.DataFrame({skill: pk.skills[pk.seq_skill], student: pk.students,
                        "n_opportunities": np.diff(pk.seq_start)})
    for name, v in first.items():
        out[name] = v
    return out


def summarize_opportunities(table: pd.DataFrame, skill: str = "skill", student: str = "student") -> pd.DataFrame:
    """Median opportunities to mastery per skill and rule (among students declared), and the share declared."""
    require_frame(table, "table")
    require_columns(table, [skill, student], what="table (from mastery_opportunities)")
    unique_columns(table, what="table")
    rule_cols = [c for c in table.columns if c not in (skill, student, "n_opportunities")]
    g = table.groupby(skill)
    med = g[rule_cols].median().add_prefix("median_")
    share = g[rule_cols].agg(lambda s: s.notna().mean()).add_prefix("share_declared_")
    out = pd.concat([g.size().rename("n_students"), med, share], axis=1)
    return out
