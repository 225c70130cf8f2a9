"""The low-rank CR2 kernel (plmresearch.causal._ols._cr2) equals the dense n_g x n_g computation.

``dense_cr2`` below is the implementation the package used before (issue 13 item 6), kept here
only as the reference: A_g = (I - H_gg)^(-1/2) from an n_g x n_g eigendecomposition and the
Bell-McCaffrey df from the explicit n x G matrix (Pustejovsky & Tipton 2018, eq. 11). The
published-number checks of CR2 (estimatr / clubSandwich) are in test_causal_reference.py and
test_causal_variance.py; these tests pin the new algebra to the old one to 1e-10.
"""

import numpy as np
import pytest

from plmresearch.causal._ols import _inv_sqrt_psd, ols


def dense_cr2(X, xtx_inv, e, cluster):
    """The previous dense CR2: vcov and Bell-McCaffrey df for every coefficient."""
    n, p = X.shape
    _, codes = np.unique(np.asarray(cluster).astype(str), return_inverse=True)
    groups = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    A = []
    meat = np.zeros((p, p))
    for idx in groups:
        Xg = X[idx]
        Ag = _inv_sqrt_psd(np.eye(len(idx)) - Xg @ xtx_inv @ Xg.T)
        A.append(Ag)
        u = Xg.T @ (Ag @ e[idx])
        meat += np.outer(u, u)
    V = xtx_inv @ meat @ xtx_inv
    df = np.empty(p)
    for j in range(p):
        c = xtx_inv[:, j]
        Gm = np.zeros((n, len(groups)))
        for k, idx in enumerate(groups):
            a = A[k] @ (X[idx] @ c)
            Gm[idx, k] += a
            Gm[:, k] -= X @ (xtx_inv @ (X[idx].T @ a))
        GtG = Gm.T @ Gm
        # numerically zero for coefficients of dummies nested within clusters (the new kernel gives NaN)
        df[j] = np.trace(GtG) ** 2 / np.sum(GtG * GtG) if np.trace(GtG) > 1e-12 * xtx_inv[j, j] else np.nan
    return V, df


def _compare(y, X, cluster, weights=None):
    fit = ols(y, X, se_type="CR2", cluster=cluster, weights=weights)
    Xw, yw = X, y
    if weights is not None:
        Xw, yw = X * np.sqrt(weights)[:, None], y * np.sqrt(weights)
    M = np.linalg.inv(Xw.T @ Xw)
    e = yw - Xw @ (M @ Xw.T @ yw)
    V, df = dense_cr2(Xw, M, e, cluster)
    dv = np.max(np.abs(fit.vcov - V))
    np.testing.assert_array_equal(np.isnan(fit.df), np.isnan(df))
    ddf = np.nanmax(np.abs(fit.df - df))
    assert dv < 1e-10 * max(1.0, np.max(np.abs(V)))
    assert ddf < 1e-10 * max(1.0, np.max(np.abs(df))), (fit.df, df)
    return dv, ddf


def _design(rng, sizes, p_extra=2, cluster_level_t=True):
    cl = np.repeat(np.arange(len(sizes)), sizes)
    n = len(cl)
    t = (rng.random(len(sizes)) < 0.5)[cl].astype(float) if cluster_level_t else (rng.random(n) < 0.5).astype(float)
    Z = rng.normal(size=(n, p_extra))
    X = np.column_stack([np.ones(n), t, Z])
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(size=len(sizes))[cl] + rng.normal(size=n)
    return y, X, cl


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lowrank_cr2_equals_dense_unequal_clusters(seed):
    """Clusters of 1 to 40 units: both code paths (n_g <= k dense, n_g > k low rank) are exercised."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 41, size=25)
    sizes[:3] = [1, 2, 3]  # n_g <= k
    y, X, cl = _design(rng, sizes)
    _compare(y, X, cl)


def test_lowrank_cr2_equals_dense_with_weights():
    """WLS: the kernel works on sqrt(w)-scaled rows, so the same equality holds."""
    rng = np.random.default_rng(7)
    y, X, cl = _design(rng, rng.integers(5, 30, size=15), cluster_level_t=False)
    w = rng.uniform(0.2, 3.0, size=len(y))
    _compare(y, X, cl, weights=w)


def test_lowrank_cr2_equals_dense_with_cluster_fixed_effects():
    """Cluster dummies make H_gg have eigenvalue 1 (the pseudo-inverse branch, f = -1/lam)."""
    rng = np.random.default_rng(3)
    sizes = rng.integers(4, 12, size=8)
    cl = np.repeat(np.arange(8), sizes)
    n = len(cl)
    D = (cl[:, None] == np.arange(1, 8)[None, :]).astype(float)
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x, D])
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(size=n)
    _compare(y, X, cl)


def test_lowrank_cr2_equals_dense_on_the_did_panel():
    """tests/causal/fixtures/did_panel.csv, TWFE with unit and period dummies, clustered by unit.

    For 19 of the 39 unit-dummy coefficients (nested within the clusters) the CR2 variance is ~1e-32 and
    their df 0/0 -- the dense code printed noise (38.43 for u01; estimatr 1.0.0 prints 22.67), the
    kernel now reports NaN. D and the period effects are compared to 1e-10."""
    import pandas as pd
    from pathlib import Path

    p = pd.read_csv(Path(__file__).parent / "fixtures" / "did_panel.csv")
    U = pd.get_dummies(p.unit, drop_first=True, dtype=float).to_numpy()
    T = pd.get_dummies(p.time, drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([np.ones(len(p)), p.D.to_numpy(float), U, T])
    fit = ols(p.y.to_numpy(float), X, se_type="CR2", cluster=p.unit.to_numpy())
    assert np.isnan(fit.df[2:41]).sum() >= 19 and np.isfinite(fit.df[[0, 1, *range(41, 48)]]).all()
    _compare(p.y.to_numpy(float), X, p.unit.to_numpy())
