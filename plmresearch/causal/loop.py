"""Leave-one-out potential outcomes (LOOP) estimator for Bernoulli experiments.

Wu & Gagnon-Bartsch (2018), "The LOOP Estimator: Adjusting for Covariates in Randomized
Experiments", Evaluation Review 42(4):458-488; reference implementation R ``dRCT::loop``
(github.com/manncz/dRCT, ``R/loop_fn.R``, ``loop_ols.R``, ``loop_rf.R``, ``loop_mean.R``).

For each unit i the potential outcomes t_i, c_i are imputed from models fitted without
unit i (cross-fitting): the own-arm outcome by a leave-one-out (OLS, exact via the hat
matrix) or out-of-bag (random forest) prediction, the other-arm outcome by the other
arm's model. With m_i = (1 - p) t_i + p c_i,

    tau = mean[(Y_i - m_i) (T_i / p - (1 - T_i) / (1 - p))],
    Var = [(1 - p)/p M_t + p/(1 - p) M_c + 2 sqrt(M_t M_c)] / n,

M_t, M_c being the mean squared leave-one-out errors in each arm; df as in ``dRCT::loop``.
The estimator is design-unbiased under Bernoulli(p) assignment whatever the imputation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._prepare import as_list, check_ci_level, covariate_matrix, prepare
from plmresearch.errors import InputError, ModelError
from plmresearch.results import Estimate
from plmresearch.validation import check_choice, check_seed, count, probability

IMPUTERS = ("ols", "rf")


def _loo_mean(y: np.ndarray) -> tuple[np.ndarray, float]:
    """Leave-one-out means within an arm, and the arm mean (``loop_mean``)."""
    n = len(y)
    return (y.sum() - y) / (n - 1), float(y.mean())


def _ols_arm(y: np.ndarray, X: np.ndarray, X_other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact leave-one-out OLS predictions in one arm and full-fit predictions for the other arm."""
    A = np.column_stack([np.ones(len(y)), X])
    if np.linalg.matrix_rank(A) < A.shape[1] or len(y) <= A.shape[1] + 1:
        raise ModelError(
            f"OLS imputation needs more units than covariates in each arm (arm with {len(y)} units, "
            f"{X.shape[1]} covariates) and non-collinear covariates; use imputer='rf' or fewer covariates."
        )
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    h = np.einsum("ij,jk,ik->i", A, np.linalg.pinv(A.T @ A), A)
    e = y - A @ coef
    loo = y - e / (1 - h)  # prediction for i from the fit without i
    other = np.column_stack([np.ones(len(X_other)), X_other]) @ coef
    return loo, other


def _rf_arm(y, X, X_other, seed, n_estimators, node_size):
    from sklearn.ensemble import RandomForestRegressor

    p = X.shape[1]
    rf = RandomForestRegressor(
        n_estimators=n_estimators,
        max_features=max(p // 3, 1),  # randomForest's regression default mtry = max(floor(p/3), 1)
        # R randomForest's regression nodesize = 5 stops splitting nodes of <= 5 cases; its
        # children may be smaller. That is sklearn min_samples_split = nodesize + 1 with
        # min_samples_leaf = 1. (With min_samples_leaf = 5 instead, LOOP on the ASSISTments A/B
        # test averages 0.0785 over seeds vs R's 0.0837; with this setting 0.0843.)
        min_samples_split=node_size + 1,
        min_samples_leaf=1,
        oob_score=True,
        bootstrap=True,
        random_state=seed,
        n_jobs=1,
    )
    rf.fit(X, y)
    oob = rf.oob_prediction_
    if np.any(np.isnan(oob)):
        raise ModelError("Some units were never out of bag; increase n_estimators.")
    return oob, rf.predict(X_other)


def loop(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] = (),
    p_treated: float = 0.5,
    imputer: str = "ols",
    random_seed: int | None = None,
    *,
    n_estimators: int = 500,
    node_size: int = 5,
    unit: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> Estimate:
    """LOOP estimate of the average treatment effect in a Bernoulli(p) experiment.

    Parameters
    ----------
    covariates : pre-treatment covariates (numeric). Empty: leave-one-out means,
        which reproduces the difference in means (``dRCT::loop_mean``).
    p_treated : the known assignment probability p.
    imputer : "ols" (exact leave-one-out OLS within each arm, ``dRCT::loop_ols``) or
        "rf" (scikit-learn random forest with out-of-bag predictions, mirroring the
        R randomForest defaults used by ``dRCT::loop_rf``: 500 trees, mtry = p/3,
        nodes of ``node_size`` = 5 or fewer units are not split).
    random_seed : seed of the forest (``imputer="rf"``); required for reproducibility.
    """
    ci_level = check_ci_level(ci_level)
    random_seed = check_seed(random_seed)
    p_ = probability(p_treated, "p_treated", open_low=True, open_high=True)
    check_choice(imputer, "imputer", IMPUTERS)
    n_estimators = count(n_estimators, "n_estimators")
    node_size = count(node_size, "node_size")
    if n_estimators > 100_000:
        raise InputError(f"`n_estimators` = {n_estimators} trees is far beyond what the forest needs (500 is typical).")
    covs = as_list(covariates)
    p = prepare(df, outcome, treatment, covariates=covs, unit=unit, missing=missing)
    y, t = p.y, p.t
    n1, n0 = p.n_treated, p.n_control
    if n1 < 3 or n0 < 3:
        raise InputError(f"LOOP needs at least 3 units with outcomes per arm; got {n1} treated, {n0} control.")
    X = covariate_matrix(p.data, covs)
    tr, co = t == 1, t == 0
    that, chat = np.empty(len(y)), np.empty(len(y))
    if not covs:
        that[tr], m1 = _loo_mean(y[tr])
        chat[co], m0 = _loo_mean(y[co])
        that[co], chat[tr] = m1, m0
        how = "leave-one-out means (no covariates)"
    elif imputer == "ols":
        that[tr], that[co] = _ols_arm(y[tr], X[tr], X[co])
        chat[co], chat[tr] = _ols_arm(y[co], X[co], X[tr])
        how = f"leave-one-out OLS on {len(covs)} covariate(s)"
    else:
        rng = np.random.default_rng(check_seed(random_seed))
        s1, s0 = (int(s) for s in rng.integers(0, 2**31 - 1, size=2))
        that[tr], that[co] = _rf_arm(y[tr], X[tr], X[co], s1, n_estimators, node_size)
        chat[co], chat[tr] = _rf_arm(y[co], X[co], X[tr], s0, n_estimators, node_size)
        how = f"random forest (out-of-bag) on {len(covs)} covariate(s), {n_estimators} trees"
    m = (1 - p_) * that + p_ * chat
    ite = (y - m) * (t / p_ - (1 - t) / (1 - p_))
    tau = float(ite.mean())
    M_t = float(np.mean((that[tr] - y[tr]) ** 2))
    M_c = float(np.mean((chat[co] - y[co]) ** 2))
    var = ((1 - p_) / p_ * M_t + p_ / (1 - p_) * M_c + 2 * np.sqrt(M_t * M_c)) / (n1 + n0)
    df_ = var**2 / (M_t**2 / n1**2 / (n1 - 1) + M_c**2 / n0**2 / (n0 - 1)) if var > 0 else None
    notes = list(p.notes)
    share = n1 / (n1 + n0)
    if abs(share - p_) > 3 * np.sqrt(p_ * (1 - p_) / (n1 + n0)):
        notes.append(f"share treated {share:.3f} is far from p_treated = {p_}; check the assignment probability.")
    return build_estimate(
        estimate=tau,
        std_error=float(np.sqrt(var)),
        df=df_,
        method=f"LOOP (Wu & Gagnon-Bartsch 2018), {how}, p = {p_}",
        ci_level=ci_level,
        y=y,
        t=t,
        notes=notes,
        extra={"imputations": pd.DataFrame({"t_hat": that, "c_hat": chat, "ite": ite}, index=p.data.index),
               "M_t": M_t, "M_c": M_c, "imputer": imputer if covs else "mean", "random_seed": random_seed}
        | ({"attrition": p.attrition} if p.attrition else {}),
    )
