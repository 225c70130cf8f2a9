"""Least squares with heteroskedasticity- and cluster-robust variances (private).

HC2: MacKinnon & White (1985); the default of R ``estimatr::lm_robust``.
CR2: Bell & McCaffrey (2002) bias-reduced linearization, with the
Bell-McCaffrey / Satterthwaite degrees of freedom of Pustejovsky & Tipton
(2018, JBES 36(4)) under the working model of independent homoskedastic
errors -- the same quantities as ``estimatr::lm_robust(se_type = "CR2")`` and
``clubSandwich::coef_test(vcov = "CR2", test = "Satterthwaite")`` for OLS.
statsmodels offers HC2 and CR1 but not CR2 with these degrees of freedom, so
CR2 is written here (checked against R to 1e-8 in tests/causal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plmresearch.errors import ModelError


@dataclass
class OLSFit:
    coef: np.ndarray
    vcov: np.ndarray
    df: np.ndarray  # one reference df per coefficient
    resid: np.ndarray
    se_type: str
    n_clusters: int | None = None

    def se(self, j: int) -> float:
        return float(np.sqrt(self.vcov[j, j]))


def _inv_sqrt_psd(m: np.ndarray) -> np.ndarray:
    """Symmetric (Moore-Penrose) inverse square root of a PSD matrix."""
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    tol = max(vals.max(initial=0.0), 1.0) * 1e-10
    inv = np.where(vals > tol, 1.0 / np.sqrt(np.clip(vals, tol, None)), 0.0)
    return (vecs * inv) @ vecs.T


def ols(
    y: np.ndarray,
    X: np.ndarray,
    *,
    se_type: str = "HC2",
    cluster: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    df_for: list[int] | None = None,
) -> OLSFit:
    """Fit OLS/WLS and a robust variance.

    Parameters
    ----------
    se_type : {"HC2", "CR2", "classical"}
    cluster : array of cluster labels (required for CR2)
    weights : WLS weights; the fit and the sandwich use sqrt(w)-scaled rows,
        as ``estimatr`` does.
    df_for : coefficient indices that need Bell-McCaffrey df (CR2 only;
        default all). The df computation is the expensive part.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ModelError("Weights must be finite and non-negative.")
        sw = np.sqrt(w)
        X = X * sw[:, None]
        y = y * sw
    rank = np.linalg.matrix_rank(X)
    if rank < p:
        raise ModelError(
            f"The design matrix has {p} columns but rank {rank}: some covariates are collinear "
            "(or constant within the analysis sample). Remove redundant covariates."
        )
    if n <= p:
        raise ModelError(f"Only {n} observations for {p} parameters; the model cannot be estimated.")
    xtx_inv = np.linalg.inv(X.T @ X)
    coef = xtx_inv @ X.T @ y
    e = y - X @ coef

    return robust_vcov(X, xtx_inv, coef, e, se_type=se_type, cluster=cluster, df_for=df_for)


_CONTROLLER = None


def _single_thread(fn):
    """Run with one BLAS thread: the many tiny per-cluster eigendecompositions are ~25x
    slower with multithreaded OpenBLAS on a busy machine (threadpoolctl ships with scikit-learn)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        global _CONTROLLER
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()  # scanning the loaded libraries is the slow part: once
        with _CONTROLLER.limit(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


@_single_thread
def robust_vcov(
    X: np.ndarray,
    xtx_inv: np.ndarray,
    coef: np.ndarray,
    e: np.ndarray,
    *,
    se_type: str = "HC2",
    cluster: np.ndarray | None = None,
    df_for: list[int] | None = None,
) -> OLSFit:
    """Sandwich variance for regressors X (already weight-scaled) and residuals e.

    For two-stage least squares pass the fitted first-stage regressors and the
    structural residuals (as ``estimatr::iv_robust`` does).
    """
    n, p = X.shape
    if se_type == "classical":
        s2 = e @ e / (n - p)
        return OLSFit(coef, s2 * xtx_inv, np.full(p, n - p, dtype=float), e, se_type)
    if se_type == "HC2":
        h = np.einsum("ij,jk,ik->i", X, xtx_inv, X)
        if np.any(h > 1 - 1e-10):
            raise ModelError(
                "Some observations have leverage 1 (e.g. a block or category with a single unit), "
                "so HC2 is undefined. Merge small blocks or drop the covariate."
            )
        meat = (X * (e**2 / (1 - h))[:, None]).T @ X
        V = xtx_inv @ meat @ xtx_inv
        return OLSFit(coef, V, np.full(p, n - p, dtype=float), e, se_type)
    if se_type != "CR2":
        raise ModelError(f"Unknown se_type {se_type!r}; use 'HC2', 'CR2' or 'classical'.")
    if cluster is None:
        raise ModelError("CR2 needs cluster labels.")
    codes, _ = _codes(cluster)
    groups = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    G = len(groups)
    A = []
    meat = np.zeros((p, p))
    for idx in groups:
        Xg = X[idx]
        Hgg = Xg @ xtx_inv @ Xg.T
        Ag = _inv_sqrt_psd(np.eye(len(idx)) - Hgg)
        A.append(Ag)
        u = Xg.T @ (Ag @ e[idx])
        meat += np.outer(u, u)
    V = xtx_inv @ meat @ xtx_inv
    df = np.full(p, np.nan)
    for j in range(p) if df_for is None else df_for:
        df[j] = _bell_mccaffrey_df(X, xtx_inv, groups, A, j)
    return OLSFit(coef, V, df, e, se_type, n_clusters=G)


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    return codes, uniq


def _bell_mccaffrey_df(X, xtx_inv, groups, A, j) -> float:
    """Satterthwaite df of the CR2 variance of coefficient j (working model: iid errors).

    With G the n x m matrix whose column g is (I - H)[:, g] A_g X_g (X'X)^-1 e_j,
    df = (tr G'G)^2 / tr((G'G)^2)  (Bell & McCaffrey 2002; Pustejovsky & Tipton 2018, eq. 11).
    """
    n = X.shape[0]
    c = xtx_inv[:, j]
    Gm = np.zeros((n, len(groups)))
    for k, idx in enumerate(groups):
        a = A[k] @ (X[idx] @ c)
        Gm[idx, k] += a
        Gm[:, k] -= X @ (xtx_inv @ (X[idx].T @ a))
    GtG = Gm.T @ Gm
    return float(np.trace(GtG) ** 2 / np.sum(GtG * GtG))
