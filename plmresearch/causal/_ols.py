"""Least squares with heteroskedasticity- and cluster-robust variances (private).

Variance types, named as R ``estimatr::lm_robust`` names them (``se_type``):

* without clusters: ``"classical"``; ``"HC0"`` (White 1980); ``"HC1"`` = HC0 x n/(n-K), Stata's
  ``regress, vce(robust)`` (``"stata"`` is a synonym); ``"HC2"`` (MacKinnon & White 1985, the default);
  ``"HC3"`` (residuals divided by 1 - h_ii). Reference df n - K.
* with clusters: ``"CR0"`` (Liang & Zeger 1986, no small-sample factor); ``"stata"`` = CR1 with
  Stata's factor G/(G-1) (N-1)/(N-K) (``regress``/``areg``, ``vce(cluster)``), both with G - 1 df;
  ``"CR2"`` (the default), Bell & McCaffrey (2002) bias-reduced linearization with the
  Bell-McCaffrey / Satterthwaite df of Pustejovsky & Tipton (2018, JBES 36(4)) under the working
  model of independent homoskedastic errors -- the quantities of
  ``lm_robust(se_type = "CR2")`` and ``clubSandwich::coef_test(vcov = "CR2", test = "Satterthwaite")``.

K in the Stata factor. ``regress`` with dummies, ``areg`` (which counts the absorbed levels) and
``estimatr`` (``fixed_effects =`` included) take K = every estimated parameter, here the columns of X:
the default. ``xtreg, fe vce(cluster)`` leaves out the fixed effects nested within the clusters and
counts its reported constant: K = slopes + 1 (e.g. nlswork: ``xtreg ln_w age tenure, fe
vce(cluster idcode)`` has K = 3 where ``regress ... i.idcode`` has K = 11; the printed SEs differ by
sqrt((N-11)/(N-3))). Pass that K as ``small_sample_k``; :func:`plmresearch.causal.twfe` does so with
``stata_fe="xtreg"``. (``plm::vcovHC(type = "sss")`` on a within model takes K = slopes, without
the constant.)

CR2 is computed in O(n k^2 + G k^3) time and O(k^2) memory per cluster: H_gg = X_g (X'X)^-1 X_g'
has rank <= k, so with (X'X)^-1 = L L' and L' X_g'X_g L = V diag(lam) V', (I - H_gg)^(-1/2) =
I + X_g L V diag(f(lam)) V' L' X_g' with f(lam) = ((1 - lam)^(-1/2) - 1) / lam, and everything the
sandwich and the df need reduces to k x k matrices (clusters with n_g <= k use the n_g x n_g form).
With weights every type is computed on the sqrt(w)-scaled rows. For HC0-HC3, CR0 and "stata" that
is what estimatr and sandwich do; for CR2 it differs slightly from ``lm_robust(weights =)`` and
``clubSandwich::vcovCR``, whose working model is homoskedastic on the unweighted scale (HSB test
case: SE 0.341585 here vs 0.341782 there).

statsmodels offers HC0-HC3 and CR1 but not CR2 with these df, so the kernel is written here
(checked against R to 1e-8 in tests/causal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from plmresearch.errors import InputError, ModelError

SE_TYPES = ("classical", "HC0", "HC1", "HC2", "HC3", "stata")
"""``se_type`` values without clusters ("stata" = "HC1")."""
CLUSTER_SE_TYPES = ("CR0", "CR2", "stata")
"""``se_type`` values with clusters ("stata" = CR1 with Stata's small-sample factor)."""


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


def check_se_type(se_type: str | None, clustered: bool) -> str:
    """Validate ``se_type`` as ``estimatr::lm_robust`` does; None gives the default (HC2 / CR2).

    Without clusters "stata" becomes "HC1"; with clusters it stays "stata" (CR1, Stata's factor).
    """
    if se_type is None:
        return "CR2" if clustered else "HC2"
    valid = CLUSTER_SE_TYPES if clustered else SE_TYPES
    if not isinstance(se_type, str) or se_type not in valid:
        if clustered:
            hint = " (HC types ignore the clustering: drop `cluster` to use them)" if se_type in SE_TYPES else ""
            raise InputError(f"`se_type` must be one of {list(CLUSTER_SE_TYPES)} with clusters, got {se_type!r}{hint}.")
        hint = " (CR types need cluster labels: pass `cluster`)" if se_type in CLUSTER_SE_TYPES else ""
        raise InputError(f"`se_type` must be one of {list(SE_TYPES)} without clusters, got {se_type!r}{hint}.")
    if not clustered and se_type == "stata":
        return "HC1"
    return se_type


def se_label(se_type: str) -> str:
    """Short description of a (checked) se_type for method strings."""
    return "CR1 (Stata small-sample factor)" if se_type == "stata" else se_type


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
    small_sample_k: int | None = None,
    absorb: np.ndarray | None = None,
) -> OLSFit:
    """Fit OLS/WLS and a robust variance.

    Parameters
    ----------
    se_type : one of :data:`SE_TYPES` (no cluster) or :data:`CLUSTER_SE_TYPES` (with cluster).
    cluster : array of cluster labels (required for CR0, CR2 and clustered "stata").
    weights : WLS weights; the fit and the sandwich use sqrt(w)-scaled rows,
        as ``estimatr`` does.
    df_for : coefficient indices that need Bell-McCaffrey df (CR2 only;
        default all). The df computation is the expensive part.
    small_sample_k : K in the HC1 and Stata CR1 factors (default: the columns of X); see the
        module docstring for ``areg`` versus ``xtreg, fe``.
    absorb : labels of blocks whose fixed effects are absorbed instead of entering X as dummies
        (X then has no intercept): y and X are demeaned within blocks (Frisch-Waugh-Lovell), which
        gives the dummy regression's coefficients and residuals in O(n p) memory; its leverages are
        1/n_b + those of the demeaned X (the hat matrix splits over the orthogonal spaces), and K and
        the df count the blocks, so every type except CR2 equals the dummy regression's exactly.
        Not with weights or CR2.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    absorbed = None
    if absorb is not None:
        if weights is not None or se_type == "CR2":
            raise InputError("`absorb` works without weights and with se_type other than 'CR2'; "
                             "pass the block dummies as columns of X instead.")
        codes, _ = _codes(absorb)
        size = np.bincount(codes).astype(float)
        y = y - (np.bincount(codes, weights=y) / size)[codes]
        X = X - np.column_stack([np.bincount(codes, weights=X[:, j], minlength=len(size)) / size
                                 for j in range(p)])[codes] if p else X
        absorbed = (len(size), 1.0 / size[codes])
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ModelError("Weights must be finite and non-negative.")
        sw = np.sqrt(w)
        X = X * sw[:, None]
        y = y * sw
    xtx = X.T @ X
    lam = np.linalg.eigvalsh(xtx) if p else np.ones(1)
    # cond(X) < 1e6 is full rank beyond doubt (eigenvalue error ~ p eps lam_max); only otherwise
    # pay for the SVD criterion of np.linalg.matrix_rank on the n x p matrix
    rank = p if lam[0] > 1e-12 * lam[-1] else np.linalg.matrix_rank(X)
    if rank < p:
        raise ModelError(
            f"The design matrix has {p} columns but rank {rank}: some covariates are collinear "
            "(or constant within the analysis sample). Remove redundant covariates."
        )
    n_par = p + (absorbed[0] if absorbed else 0)
    if n <= n_par:
        raise ModelError(f"Only {n} observations for {n_par} parameters; the model cannot be estimated.")
    xtx_inv = np.linalg.inv(xtx)
    coef = xtx_inv @ (X.T @ y)
    e = y - X @ coef

    return robust_vcov(X, xtx_inv, coef, e, se_type=se_type, cluster=cluster, df_for=df_for,
                       small_sample_k=small_sample_k, absorbed=absorbed)


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
    small_sample_k: int | None = None,
    absorbed: tuple[int, np.ndarray] | None = None,
) -> OLSFit:
    """Sandwich variance for regressors X (already weight-scaled) and residuals e.

    For two-stage least squares pass the fitted first-stage regressors and the
    structural residuals (as ``estimatr::iv_robust`` does). ``absorbed``: (number of absorbed
    block effects, their leverage 1/n_b per row), from :func:`ols`'s ``absorb``.
    """
    n, p = X.shape
    se_type = check_se_type(se_type, cluster is not None)
    n_par = p + (absorbed[0] if absorbed else 0)
    k = n_par if small_sample_k is None else int(small_sample_k)
    if not 0 < k < n:
        raise InputError(f"`small_sample_k` must be between 1 and n - 1 = {n - 1}, got {small_sample_k!r}.")
    dfs = np.full(p, n - n_par, dtype=float)
    if se_type == "classical":
        s2 = e @ e / (n - n_par)
        return OLSFit(coef, s2 * xtx_inv, dfs, e, se_type)
    if cluster is None:
        omega = e**2
        if se_type in ("HC2", "HC3"):
            h = ((X @ xtx_inv) * X).sum(axis=1) + (absorbed[1] if absorbed else 0.0)
            if np.any(h > 1 - 1e-10):
                raise ModelError(
                    "Some observations have leverage 1 (e.g. a block or category with a single unit), "
                    f"so {se_type} is undefined. Merge small blocks, drop the covariate, or use se_type='HC1'."
                )
            omega = omega / (1 - h) if se_type == "HC2" else omega / (1 - h) ** 2
        meat = (X * omega[:, None]).T @ X
        V = xtx_inv @ meat @ xtx_inv
        if se_type == "HC1":
            V = V * n / (n - k)
        return OLSFit(coef, V, dfs, e, se_type)

    starts, order = _cluster_slices(cluster)
    G = len(starts) - 1
    if G < 2:
        raise InputError(f"Cluster-robust variance needs at least 2 clusters; got {G}. Check the cluster column.")
    Xs, es = X[order], e[order]
    if se_type == "CR2" and absorbed:
        raise InputError("CR2 needs the block dummies as columns of X (`absorb` is for the other types).")
    if se_type in ("CR0", "stata"):
        U = np.add.reduceat(Xs * es[:, None], starts[:-1], axis=0)  # G x p cluster scores
        V = xtx_inv @ (U.T @ U) @ xtx_inv
        if se_type == "stata":
            V = V * (G / (G - 1)) * ((n - 1) / (n - k))
        return OLSFit(coef, V, np.full(p, G - 1, dtype=float), e, se_type, n_clusters=G)
    V, df = _cr2(Xs, xtx_inv, es, starts, df_for)
    return OLSFit(coef, V, df, e, se_type, n_clusters=G)


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of labels (hash-based, O(n): sorting a million text labels took seconds)."""
    codes, uniq = pd.factorize(np.asarray(labels), use_na_sentinel=False)
    return codes, np.asarray(uniq)


def _cluster_slices(cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order that sorts the clusters together, and the start of each cluster in it (plus n)."""
    codes, _ = _codes(cluster)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    return np.concatenate([[0], np.cumsum(sizes)]), order


def _f_inv_sqrt(lam: np.ndarray) -> np.ndarray:
    """f with 1 + lam f = (1 - lam)^(-1/2) (pseudo-inverse: 0 where 1 - lam <= 1e-10), smooth at lam = 0."""
    lam = np.asarray(lam, dtype=float)
    out = np.empty_like(lam)
    small = np.abs(lam) < 1e-8
    out[small] = 0.5 + 0.375 * lam[small]
    sing = lam >= 1 - 1e-10
    mid = ~small & ~sing
    out[mid] = np.expm1(-0.5 * np.log1p(-lam[mid])) / lam[mid]
    out[sing] = -1.0 / lam[sing]
    return out


def _cr2(Xs, M, es, starts, df_for):
    """CR2 variance and Bell-McCaffrey df from rows sorted by cluster (``starts`` delimit them).

    For coefficient j with c = M e_j the Satterthwaite df is (tr B)^2 / tr(B^2), B the G x G matrix
    B_gh = [g = h] c'X_g'A_g^2 X_g c - c'X_g'A_g X_g M X_h'A_h X_h c (Bell & McCaffrey 2002;
    Pustejovsky & Tipton 2018, eq. 11; B = G'G of the n x G construction, which is never formed):
    with s_g the diagonal term and w_g = X_g'A_g X_g c,
    tr B = sum s_g - sum w_g'M w_g and tr B^2 = sum s_g^2 - 2 sum s_g w_g'M w_g + tr((M W W')^2).
    The df is NaN where tr B is numerically zero (coefficients of dummies nested within clusters).
    """
    p = Xs.shape[1]
    js = list(range(p)) if df_for is None else list(df_for)
    m = len(js)
    Mc = M[:, js]
    L = np.linalg.cholesky((M + M.T) / 2)
    meat = np.zeros((p, p))
    sum_s = np.zeros(m)
    sum_s2 = np.zeros(m)
    sum_q = np.zeros(m)
    sum_sq = np.zeros(m)
    WW = np.zeros((m, p, p))
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        Xg, eg = Xs[a:b], es[a:b]
        if b - a > p:  # rank(H_gg) <= p < n_g: work with p x p matrices
            C = Xg.T @ Xg
            E = L.T @ C @ L
            lam, Vv = np.linalg.eigh((E + E.T) / 2)
            f = _f_inv_sqrt(lam)
            T = L @ Vv
            CT = C @ T
            r = Xg.T @ eg
            u = r + CT @ (f * (T.T @ r))  # X_g' A_g e_g
            CM = C @ Mc
            yv = T.T @ CM
            w = CM + CT @ (f[:, None] * yv)  # X_g' A_g X_g M[:, js]
            s = np.einsum("ij,ij->j", Mc, CM) + ((2 * f + lam * f**2)[:, None] * yv**2).sum(axis=0)
        else:
            Hgg = Xg @ M @ Xg.T
            A = _inv_sqrt_psd(np.eye(b - a) - Hgg)
            u = Xg.T @ (A @ eg)
            AZ = A @ (Xg @ Mc)
            w = Xg.T @ AZ
            s = (AZ**2).sum(axis=0)
        meat += np.outer(u, u)
        q = np.einsum("ij,ik,kj->j", w, M, w)
        sum_s += s
        sum_s2 += s**2
        sum_q += q
        sum_sq += s * q
        WW += np.einsum("pj,qj->jpq", w, w)
    V = M @ meat @ M
    df = np.full(p, np.nan)
    MWW = M[None, :, :] @ WW
    tr2 = sum_s2 - 2 * sum_sq + np.einsum("jpq,jqp->j", MWW, MWW)
    tr1 = sum_s - sum_q
    # A coefficient on dummies nested within clusters has a CR2 variance of rounding size; its df is
    # then 0/0 (every implementation prints noise there, R's included): report NaN instead.
    ok = tr1 > 1e-12 * np.diag(M)[js]
    df[np.asarray(js)[ok]] = tr1[ok] ** 2 / tr2[ok]
    return V, df
