"""Randomization inference: permutation p-values that respect blocks and clusters.

Under the sharp null of no effect for any unit, the assignment is re-randomized as
the design did it -- whole clusters switch arm together, and the number of treated
units (clusters) within each block is kept -- and the statistic recomputed
(Fisher 1935; Rosenbaum 2002, ch. 2; Gerber & Green 2012, sec. 3.4).
All distinct assignments are enumerated when there are at most ``n_permutations``
of them (exact p-value); otherwise a Monte Carlo p-value (1 + #extreme) / (1 + R)
is reported (Phipson & Smyth 2010).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pandas as pd

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._prepare import check_ci_level, prepare
from plmresearch.causal.randomized import _require_cluster_level_treatment
from plmresearch.errors import InputError
from plmresearch.results import Estimate
from plmresearch.validation import check_seed, count

ALTERNATIVES = ("two-sided", "greater", "less")


def _statistic(y: np.ndarray, T: np.ndarray, blk: np.ndarray, nb: int, w: np.ndarray) -> np.ndarray:
    """Block-size-weighted difference in means for each row of T (R x n), vectorized."""
    out = np.zeros(T.shape[0])
    for b in range(nb):
        m = blk == b
        Tb, yb = T[:, m], y[m]
        n1 = Tb.sum(axis=1)
        d = (Tb @ yb) / n1 - ((1 - Tb) @ yb) / (m.sum() - n1)
        out += w[b] * d
    return out


def permutation_test(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    block: str | None = None,
    cluster: str | None = None,
    n_permutations: int = 5000,
    alternative: str = "two-sided",
    random_seed: int | None = None,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """Permutation test of the sharp null of no effect.

    The statistic is the difference in means (block-size-weighted when ``block`` is
    given). The returned Estimate holds the observed statistic, the permutation p-value,
    and as ``std_error`` the SD of the randomization distribution; no confidence interval
    is computed (``ci_low``/``ci_high`` are NaN). ``extra['distribution']`` holds the
    permuted statistics, ``extra['exact']`` says whether all assignments were enumerated.
    """
    ci_level = check_ci_level(ci_level)
    random_seed = check_seed(random_seed)
    n_perm = count(n_permutations, "n_permutations", minimum=100)
    if n_perm > 10_000_000:
        raise InputError(f"`n_permutations` = {n_perm} is more than 10 million draws: too slow and too large to hold; "
                         "5000 to 100000 give a precise p-value.")
    if alternative not in ALTERNATIVES:
        raise InputError(f"`alternative` must be one of {ALTERNATIVES}, got {alternative!r}.")
    p = prepare(df, outcome, treatment, cluster=cluster, block=block, unit=unit, missing=missing)
    data = p.data
    if cluster is not None:
        _require_cluster_level_treatment(data, treatment, cluster)
    # units of randomization
    ru = data[cluster].astype(str).to_numpy() if cluster is not None else np.arange(len(data)).astype(str)
    ru_codes, ru_labels = pd.factorize(ru)
    n_ru = len(ru_labels)
    ru_t = np.zeros(n_ru)
    ru_t[ru_codes] = p.t
    if block is not None:
        ru_block_raw = pd.Series(data[block].astype(str).to_numpy()).groupby(ru_codes).agg(lambda s: s.unique())
        if ru_block_raw.map(len).max() > 1:
            raise InputError(f"Some clusters of '{cluster}' span several blocks of '{block}'; clusters must nest in blocks.")
        ru_block, blabels = pd.factorize(ru_block_raw.map(lambda a: a[0]).sort_index().to_numpy())
    else:
        ru_block, blabels = np.zeros(n_ru, dtype=int), np.array(["all"])
    nb = len(blabels)
    unit_block = ru_block[ru_codes]
    sizes = np.bincount(unit_block, minlength=nb)
    w = sizes / sizes.sum()
    for b in range(nb):
        k1 = ru_t[ru_block == b].sum()
        if k1 == 0 or k1 == (ru_block == b).sum():
            raise InputError(f"Block {blabels[b]!r} has only one arm; every block needs treated and control units.")

    # count distinct assignments: prod_b C(n_b, k_b)
    members = [np.flatnonzero(ru_block == b) for b in range(nb)]
    ks = [int(ru_t[m].sum()) for m in members]
    total = math.prod(math.comb(len(m), k) for m, k in zip(members, ks))
    exact = total <= n_perm
    if exact:
        per_block = [list(itertools.combinations(range(len(m)), k)) for m, k in zip(members, ks)]
        assign = np.zeros((total, n_ru))
        for r, combo in enumerate(itertools.product(*per_block)):
            for m, chosen in zip(members, combo):
                assign[r, m[list(chosen)]] = 1
    else:
        rng = np.random.default_rng(check_seed(random_seed))
        assign = np.zeros((n_perm, n_ru))
        for m, k in zip(members, ks):
            keys = rng.random((n_perm, len(m)))
            chosen = np.argsort(keys, axis=1)[:, :k]
            rows = np.repeat(np.arange(n_perm), k)
            assign[rows, m[chosen.ravel()]] = 1
    T_units = assign[:, ru_codes]
    dist = _statistic(p.y, T_units, unit_block, nb, w)
    obs = float(_statistic(p.y, p.t[None, :], unit_block, nb, w)[0])
    tol = 1e-10 * max(1.0, abs(obs))
    if alternative == "two-sided":
        extreme = np.abs(dist) >= abs(obs) - tol
    elif alternative == "greater":
        extreme = dist >= obs - tol
    else:
        extreme = dist <= obs + tol
    pval = float(extreme.mean()) if exact else float((1 + extreme.sum()) / (1 + n_perm))
    sd = float(dist.std(ddof=0))
    est = build_estimate(
        estimate=obs, std_error=sd, df=None, ci_level=ci_level, y=p.y, t=p.t,
        method=(f"permutation test of the sharp null ({'exact, ' + str(total) if exact else str(n_perm) + ' random'} "
                f"re-randomizations{', within blocks' if block else ''}{', of clusters' if cluster else ''})"),
        n_clusters=n_ru if cluster is not None else None,
        notes=[*p.notes, "Randomization inference gives a p-value only; no confidence interval is computed."],
    )
    nan = float("nan")
    return replace(
        est, p_value=pval, statistic=obs / sd if sd > 0 else nan, ci_low=nan, ci_high=nan,
        effect_size_ci_low=None, effect_size_ci_high=None,
        extra={"distribution": dist, "exact": exact, "n_assignments": total, "alternative": alternative}
        | ({"attrition": p.attrition} if p.attrition else {}),
    )
