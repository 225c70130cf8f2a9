"""The Gaussian multilevel likelihood with the group effects integrated out.

For a linear mixed model ``y = X theta + sum_f Z_f b_f + e`` with ``b_f ~ N(0, G_f)``
and ``e ~ N(0, sigma^2 I)``, the group effects can be integrated out exactly:
``y ~ N(X theta, V)`` with ``V = sigma^2 I + sum_f Z_f G_f Z_f'``. When the grouping
factors are nested (one factor, or an inner factor such as ``school:class`` inside an
outer one such as ``school``), ``V`` is block diagonal and its log-determinant and
quadratic form follow from the Woodbury identity applied once per level, using only
per-group cross-products of the data (Henderson 1975, *Biometrics* 31: 423-447;
Bates, Maechler, Bolker & Walker 2015, *J. Stat. Softw.* 67(1), sec. 3, which does
the same with a sparse Cholesky factor). With ``G = L L'``:

* inner groups i: ``M_i = I + L_I' Z_i'Z_i L_I / sigma^2``; ``D_i = sigma^2 I + Z_i G_I Z_i'``
  has ``log|D_i| = n_i log sigma^2 + log|M_i|``;
* outer groups s: ``P_s = I + L_O' (W_s' D_s^{-1} W_s) L_O``, ``log|V_s| = log|D_s| + log|P_s|``.

The sampler then explores only the fixed effects, the covariance parameters and
sigma, a low-dimensional posterior without the funnel that non-centring works
around. The group effects are drawn afterwards, draw by draw, from their exact
Gaussian conditional posterior (outer level first, then the inner level given it),
so the joint posterior is the same as the one sampled with latent effects
(composition sampling; Gelman et al. 2013, *BDA3* sec. 3.2).

The small k x k systems (k = coefficients per group) are solved by an unrolled
Cholesky factorization written with element-wise tensor operations over all groups
at once, which PyTensor compiles to a few fused loops with exact gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Level:
    """One grouping factor's design: ``codes`` (row -> group), ``z`` (row -> coefficients)."""

    codes: np.ndarray
    z: np.ndarray
    n_levels: int


@dataclass(frozen=True)
class CrossProducts:
    """Per-inner-group sufficient statistics of a one- or two-level nested design.

    Arrays are indexed by inner group first. ``W`` terms (outer design) are None for
    a single grouping factor; ``outer_of`` maps each inner group to its outer group.
    """

    n_obs: int
    yy: float
    Xy: np.ndarray
    XX: np.ndarray
    ZZ: np.ndarray
    ZX: np.ndarray
    Zy: np.ndarray
    WW: np.ndarray | None = None
    WZ: np.ndarray | None = None
    WX: np.ndarray | None = None
    Wy: np.ndarray | None = None
    outer_of: np.ndarray | None = None
    n_outer: int = 0


def _group_sum(codes: np.ndarray, n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over rows of group g of outer(a_row, b_row): shape (n, a.shape[1], b.shape[1])."""
    out = np.zeros((n, a.shape[1], b.shape[1]))
    np.add.at(out, codes, a[:, :, None] * b[:, None, :])
    return out


def cross_products(y: np.ndarray, X: np.ndarray, inner: Level, outer: Level | None = None) -> CrossProducts:
    """The per-group cross-products the integrated likelihood needs (computed once)."""
    y1 = y[:, None]
    ci, n = inner.codes, inner.n_levels
    kw: dict = {}
    if outer is not None:
        outer_of = np.zeros(n, dtype=int)
        outer_of[ci] = outer.codes
        kw = dict(WW=_group_sum(ci, n, outer.z, outer.z), WZ=_group_sum(ci, n, outer.z, inner.z),
                  WX=_group_sum(ci, n, outer.z, X), Wy=_group_sum(ci, n, outer.z, y1)[..., 0],
                  outer_of=outer_of, n_outer=outer.n_levels)
    return CrossProducts(n_obs=len(y), yy=float(y @ y), Xy=X.T @ y, XX=X.T @ X,
                         ZZ=_group_sum(ci, n, inner.z, inner.z), ZX=_group_sum(ci, n, inner.z, X),
                         Zy=_group_sum(ci, n, inner.z, y1)[..., 0], **kw)


# --- batched small-matrix algebra, unrolled over the k x k entries ------------------------

def _chol(M, k: int):
    """Lower Cholesky factors of a batch of SPD matrices M[..., k, k], as nested lists."""
    import pytensor.tensor as pt

    L = [[None] * k for _ in range(k)]
    for j in range(k):
        s = M[..., j, j]
        for m in range(j):
            s = s - L[j][m] ** 2
        L[j][j] = pt.sqrt(s)
        for i in range(j + 1, k):
            s = M[..., i, j]
            for m in range(j):
                s = s - L[i][m] * L[j][m]
            L[i][j] = s / L[j][j]
    return L


def _forward(L, b, k: int):
    """Solve L x = b for lower-triangular L (nested lists); b is a list of k batched entries."""
    x = []
    for i in range(k):
        s = b[i]
        for m in range(i):
            s = s - L[i][m] * x[m]
        x.append(s / L[i][i])
    return x


def _logdet(L, k: int):
    import pytensor.tensor as pt

    return 2 * sum(pt.log(L[i][i]) for i in range(k))


def _sandwich(Lc, A):
    """Lc' A Lc for a batch of symmetric A[..., k, k] and one k x k PyTensor matrix Lc."""
    import pytensor.tensor as pt

    AL = pt.dot(A, Lc)                     # tensordot over A's last axis
    return pt.dot(pt.swapaxes(AL, -1, -2), Lc)


def loglik(cp: CrossProducts, theta, sigma, L_inner, L_outer=None):
    """PyTensor graph of log p(y | theta, sigma, G) with the group effects integrated out.

    ``L_inner``/``L_outer`` are the (lower) Cholesky factors of the inner/outer group
    covariance matrices; see the module docstring for the algebra.
    """
    import pytensor.tensor as pt

    kI = cp.ZZ.shape[-1]
    s2 = sigma**2
    rr = cp.yy - 2 * pt.dot(cp.Xy, theta) + pt.dot(theta, pt.dot(cp.XX, theta))
    Zr = cp.Zy - pt.dot(cp.ZX, theta)                      # (nI, kI)
    M = pt.eye(kI) + _sandwich(L_inner, pt.as_tensor(cp.ZZ)) / s2
    C = _chol(M, kI)
    c = pt.dot(Zr, L_inner)                                # rows are L' Z'r
    w = _forward(C, [c[:, i] for i in range(kI)], kI)
    quad = (rr - sum(pt.sum(wi**2) for wi in w) / s2) / s2
    logdet = cp.n_obs * pt.log(s2) + pt.sum(_logdet(C, kI))
    if L_outer is not None:
        kO = cp.WW.shape[-1]
        B = pt.dot(pt.as_tensor(cp.WZ), L_inner)           # (nI, kO, kI) = W'Z L
        # F = C^{-1} B' column by column (one column per outer coefficient)
        F = [_forward(C, [B[:, o, i] for i in range(kI)], kI) for o in range(kO)]
        FtF = pt.stack([pt.stack([sum(F[a][i] * F[b][i] for i in range(kI)) for b in range(kO)], axis=-1)
                        for a in range(kO)], axis=-2)
        Ftw = pt.stack([sum(F[a][i] * w[i] for i in range(kI)) for a in range(kO)], axis=-1)
        H = (cp.WW - FtF / s2) / s2                         # W' D^{-1} W per inner group
        g = (cp.Wy - pt.dot(cp.WX, theta) - Ftw / s2) / s2  # W' D^{-1} r per inner group
        onehot = np.zeros((cp.n_outer, len(cp.outer_of)))
        onehot[cp.outer_of, np.arange(len(cp.outer_of))] = 1.0
        Hs = pt.tensordot(onehot, H, axes=1)
        gs = pt.dot(onehot, g)
        P = pt.eye(kO) + _sandwich(L_outer, Hs)
        Cs = _chol(P, kO)
        e = pt.dot(gs, L_outer)
        ws = _forward(Cs, [e[:, i] for i in range(kO)], kO)
        quad = quad - sum(pt.sum(wi**2) for wi in ws)
        logdet = logdet + pt.sum(_logdet(Cs, kO))
    return -0.5 * (cp.n_obs * LOG_2PI + logdet + quad)


def _draw_standardized(M, rhs, rng):
    """v ~ N(M^{-1} rhs, M^{-1}) for batches of SPD M[..., k, k] and rhs[..., k]."""
    C = np.linalg.cholesky(M)
    w = np.linalg.solve(C, rhs[..., None])[..., 0]
    eps = rng.standard_normal(rhs.shape)
    return np.linalg.solve(np.swapaxes(C, -1, -2), (w + eps)[..., None])[..., 0]


def draw_group_effects(cp: CrossProducts, theta, sigma, L_inner, L_outer=None, *, rng):
    """Draws of the group effects from their conditional posterior, one per posterior draw.

    ``theta`` (D, p), ``sigma`` (D,), ``L_inner`` (D, kI, kI), ``L_outer`` (D, kO, kO).
    Returns ``(b_inner (D, nI, kI), b_outer (D, nO, kO) or None)``.
    """
    s2 = (sigma**2)[:, None, None]
    kI = cp.ZZ.shape[-1]
    Zr = cp.Zy[None] - np.einsum("gkp,dp->dgk", cp.ZX, theta)
    M = np.eye(kI) + np.einsum("dak,gab,dbl->dgkl", L_inner, cp.ZZ, L_inner) / s2[..., None]
    b_outer = None
    if L_outer is not None:
        kO = cp.WW.shape[-1]
        B = np.einsum("gok,dkl->dgol", cp.WZ, L_inner)                       # W'Z L
        Minv_Bt = np.linalg.solve(M, np.swapaxes(B, -1, -2))                # (D, g, kI, kO)
        c = np.einsum("dgk,dkl->dgl", Zr, L_inner)
        Minv_c = np.linalg.solve(M, c[..., None])[..., 0]
        H = (cp.WW[None] - np.einsum("dgok,dgkq->dgoq", B, Minv_Bt) / s2[..., None]) / s2[..., None]
        g = (cp.Wy[None] - np.einsum("gop,dp->dgo", cp.WX, theta)
             - np.einsum("dgok,dgk->dgo", B, Minv_c) / s2) / s2
        Hs = np.zeros((H.shape[0], cp.n_outer, kO, kO))
        gs = np.zeros((H.shape[0], cp.n_outer, kO))
        np.add.at(Hs, (slice(None), cp.outer_of), H)
        np.add.at(gs, (slice(None), cp.outer_of), g)
        P = np.eye(kO) + np.einsum("dak,dsab,dbl->dskl", L_outer, Hs, L_outer)
        e = np.einsum("dsk,dkl->dsl", gs, L_outer)
        b_outer = np.einsum("dkl,dsl->dsk", L_outer, _draw_standardized(P, e, rng))
        Zr = Zr - np.einsum("gok,dgo->dgk", cp.WZ, b_outer[:, cp.outer_of])
    c = np.einsum("dgk,dkl->dgl", Zr, L_inner)
    v = _draw_standardized(M, c / s2, rng)
    return np.einsum("dkl,dgl->dgk", L_inner, v), b_outer
