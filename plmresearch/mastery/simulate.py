"""Simulated learners from BKT parameters (Corbett & Anderson 1995 generative model).

Each simulated student starts knowing the skill with probability ``prior``; before
every later opportunity an unknown skill becomes known with probability ``learn``
(a known one is forgotten with probability ``forget``); a known skill is answered
correctly with probability 1 - ``slip``, an unknown one with probability ``guess``.
Loops run over opportunities, vectorised over students.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from plmresearch.errors import InputError
from plmresearch.mastery._kernels import PARAM_NAMES
from plmresearch.validation import check_seed, count, probability


def _param_vector(params: Mapping | pd.Series) -> np.ndarray:
    if not isinstance(params, (Mapping, pd.Series)):
        raise InputError(f"`params` (BKT parameters) must be a dict or Series with {list(PARAM_NAMES)}, "
                         f"got {type(params).__name__}.")
    missing = [k for k in ("prior", "learn", "guess", "slip") if k not in params]
    if missing:
        raise InputError(f"BKT parameters lack {missing}; give prior, learn, guess, slip (and optionally forget).")
    return np.array([probability(params.get(k, 0.0) if k == "forget" else params[k], k) for k in PARAM_NAMES])


def simulate_matrix(params, n_students: int, n_opportunities: int, random_seed: int | None = 0):
    """Simulate responses and hidden states as (n_students, n_opportunities) arrays.

    Returns ``(correct, known)``, both int8, where ``known[i, t]`` is the state at the
    moment of opportunity t (before the learning transition that follows it).
    """
    p = _param_vector(params)
    n = count(n_students, "n_students")
    T = count(n_opportunities, "n_opportunities")
    random_seed = check_seed(random_seed)
    prior, learn, forget, guess, slip = p
    rng = np.random.default_rng(random_seed)
    known = np.empty((n, T), dtype=np.int8)
    correct = np.empty((n, T), dtype=np.int8)
    k = rng.random(n) < prior
    for t in range(T):
        u = rng.random(n)
        correct[:, t] = np.where(k, u >= slip, u < guess)
        known[:, t] = k
        v = rng.random(n)
        k = np.where(k, v >= forget, v < learn)
    return correct, known


def simulate_responses(params, n_students: int, n_opportunities: int, random_seed: int | None = 0,
                       skill="skill") -> pd.DataFrame:
    """Long table (student, skill, order, correct, known) of simulated learners.

    ``params`` is one parameter set (dict or Series) or a DataFrame indexed by skill
    (e.g. ``fit_bkt(...).params``); then each skill gets ``n_students`` students with
    independent draws.
    """
    if isinstance(params, pd.DataFrame):
        if params.empty:
            raise InputError("`params` has no rows; give one row of BKT parameters per skill.")
        rng = np.random.default_rng(check_seed(random_seed))
        seeds = rng.integers(0, 2**63 - 1, size=len(params))
        parts = [simulate_responses(row, n_students, n_opportunities, int(s), skill=name)
                 for (name, row), s in zip(params.iterrows(), seeds)]
        return pd.concat(parts, ignore_index=True)
    correct, known = simulate_matrix(params, n_students, n_opportunities, random_seed)
    n, T = correct.shape
    return pd.DataFrame({
        "student": np.repeat(np.arange(n), T),
        "skill": np.full(n * T, skill, dtype=object) if isinstance(skill, str) else np.full(n * T, skill),
        "order": np.tile(np.arange(T), n),
        "correct": correct.ravel(),
        "known": known.ravel(),
    })


def simulate_mastery(params, rules=None, n_students: int = 10_000, max_opportunities: int = 50,
                     random_seed: int | None = 0) -> pd.DataFrame:
    """Simulate learners under each mastery rule; count over- and under-practice.

    Students practise until a rule declares mastery or ``max_opportunities`` is reached
    (e.g. an ASSISTments skill builder's daily limit of 10 problems). For each rule:

    * ``median_opportunities`` / ``mean_opportunities``: responses until the rule
      stops the student (the cap for those never declared);
    * ``share_declared``: share declared within the cap (a skill builder's
      completion rate);
    * ``share_too_early``: among those declared, share who do not know the skill when
      they stop (under-practice);
    * ``mean_overpractice``: opportunities practised after the skill was learned,
      among students who knew it when stopped;
    * ``mean_underpractice``: among those stopped too early, further opportunities
      they needed before learning (within a horizon of twice the cap).

    The two practice means are NaN when no student falls in their group.

    ``params`` is one parameter set or a DataFrame indexed by skill (one block of
    rows per skill). Hidden states come from the BKT generative model; the BKT
    threshold rule uses P(mastered) computed from the same parameters.
    """
    from plmresearch.mastery import _kernels
    from plmresearch.mastery.criteria import DEFAULT_RULES, _check_rules, first_mastery

    rules = _check_rules(DEFAULT_RULES if rules is None else rules)
    random_seed = check_seed(random_seed)
    count(n_students, "n_students")
    count(max_opportunities, "max_opportunities")
    if isinstance(params, pd.DataFrame):
        if params.empty:
            raise InputError("`params` has no rows; give one row of BKT parameters per skill.")
        rng = np.random.default_rng(random_seed)
        seeds = rng.integers(0, 2**63 - 1, size=len(params))
        parts = []
        for (name, row), s in zip(params.iterrows(), seeds):
            part = simulate_mastery(row, rules, n_students, max_opportunities, int(s))
            part.insert(0, params.index.name or "skill", name)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)
    p = _param_vector(params)
    cap = count(max_opportunities, "max_opportunities")
    horizon = 2 * cap + 1
    correct, known = simulate_matrix(params, n_students, horizon, random_seed)
    n = correct.shape[0]
    obs = np.ascontiguousarray(correct[:, :cap]).ravel()
    seq_start = np.arange(0, n * cap + 1, cap, dtype=np.int64)
    seq_param = np.ascontiguousarray(np.tile(p, (n, 1)))
    _, pm = _kernels.forward_predict(obs.astype(np.int8), seq_start, seq_param)
    first = first_mastery(rules, obs, seq_start, pm)
    # known_after[:, t]: state after opportunity t+1 and its learning transition
    known_after = known[:, 1:]
    learned_at = np.where(known_after.any(axis=1), known_after.argmax(axis=1) + 1, np.nan)
    learned_at = np.where(known[:, 0] == 1, 0, learned_at)
    rows = []
    for rule in rules:
        f = first[rule.name]
        declared = ~np.isnan(f)
        stop = np.where(declared, f, cap).astype(int)
        knows = known_after[np.arange(n), stop - 1] == 1
        too_early = declared & ~knows
        over = stop - learned_at
        under = learned_at - stop
        rows.append({
            "rule": rule.name,
            "median_opportunities": float(np.median(stop)),
            "mean_opportunities": float(stop.mean()),
            "share_declared": float(declared.mean()),
            "share_too_early": float(too_early.sum() / max(declared.sum(), 1)),
            "mean_overpractice": float(np.nanmean(over[knows])) if knows.any() else np.nan,
            "mean_underpractice": float(np.nanmean(under[too_early])) if np.isfinite(under[too_early]).any() else np.nan,
            "n_students": n,
        })
    return pd.DataFrame(rows)
