"""Three-level (multilevel) random-effects meta-analysis and the CHE working model.

The model (Konstantopoulos 2011; Van den Noortgate et al. 2013) for effect size ``i`` of study ``j``
is ``y_ij = x_ij'β + u_j + w_ij + e_ij`` with ``u_j ~ N(0, σ²_study)``, ``w_ij ~ N(0, σ²_es)`` and
sampling errors ``e_j ~ N(0, S_j)``. ``S_j`` is diagonal (``v_ij``), or, for the
correlated-and-hierarchical-effects (CHE) working model of Pustejovsky & Tipton (2022,
*Prev. Sci.* 23), has a constant correlation ``ρ``: ``S_j[i,k] = ρ sqrt(v_ij v_kj)`` (clubSandwich
``impute_covariance_matrix(vi, cluster, r = ρ)``, metafor ``vcalc``).

Variance components are estimated by restricted maximum likelihood (REML; bounded quasi-Newton
search with the analytic REML score, polished by Fisher scoring), as metafor
``rma.mv(yi, V, random = ~ 1 | study/es, method = "REML")``; model-based inference uses
``(X'Σ⁻¹X)⁻¹`` and z tests. ``robust()`` gives CR2 cluster-robust standard errors with Satterthwaite
df and HTZ Wald tests with the fitted marginal covariance as working model and its inverse as
weights (clubSandwich ``coef_test(fit, vcov = "CR2")``, ``Wald_test(..., test = "HTZ")``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from plmresearch.effects._common import check_level
from plmresearch.effects.cluster_robust import CR2, cr2
from plmresearch.effects.meta import _design
from plmresearch.effects.robust_meta import _blocks, _dependent_inputs
from plmresearch.errors import InputError, ModelError
from plmresearch.validation import number
from plmresearch.results import Result


def _group_blocks(ys, xs, ss) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Stack the study blocks by size: (indices, Y m x n, X m x n x p, S m x n x n) per block size."""
    sizes = np.array([len(y) for y in ys])
    out = []
    for n in np.unique(sizes):
        idx = np.flatnonzero(sizes == n)
        out.append((idx, np.stack([ys[i] for i in idx]), np.stack([xs[i] for i in idx]),
                    np.stack([ss[i] for i in idx])))
    return out


def _reml_parts(theta: np.ndarray, groups) -> tuple[float, np.ndarray, np.ndarray, dict]:
    """-2 * restricted log-likelihood (without constants), its score and Fisher information.

    Blockwise with ``P_jk = δ_jk B_j - F_j M F_k'`` (``B_j = Σ_j⁻¹``, ``F_j = B_j X_j``,
    ``M = (Σ X_j'B_jX_j)⁻¹``); the derivative matrices are ``J`` (study) and ``I`` (effect size).
    """
    s_study, s_es = theta
    p = groups[0][2].shape[2]
    logdet = 0.0
    xbx = np.zeros((p, p))
    xby = np.zeros(p)
    inv = []
    for _, y, x, s in groups:
        n = y.shape[1]
        sig = s + s_study * np.ones((n, n)) + s_es * np.eye(n)
        sign, ld = np.linalg.slogdet(sig)
        logdet += float(ld.sum())
        b = np.linalg.inv(sig)
        f = b @ x
        xbx += np.einsum("mnp,mnq->pq", x, f)
        xby += np.einsum("mnp,mn->p", f, y)
        inv.append((b, f))
    m = np.linalg.inv(xbx)
    beta = m @ xby
    ld_x = np.linalg.slogdet(xbx)[1]
    quad = 0.0
    ypdpy = np.zeros(2)
    tr_bd = np.zeros(2)
    g_mats = np.zeros((2, p, p))
    tr_bdbd = np.zeros((2, 2))
    cross = np.zeros((2, 2))
    for (_, y, x, _), (b, f) in zip(groups, inv):
        r = y - x @ beta
        py = np.einsum("mij,mj->mi", b, r)
        quad += float(np.sum(r * py))
        ypdpy += [float(np.sum(py.sum(axis=1) ** 2)), float(np.sum(py * py))]
        bj = b.sum(axis=2)  # B J = row sums broadcast; tr(B J) = 1'B1
        tr_bd += [float(b.sum()), float(np.trace(b, axis1=1, axis2=2).sum())]
        fs = f.sum(axis=1)  # 1'F  (m x p)
        g_mats[0] += fs.T @ fs
        g_mats[1] += np.einsum("mnp,mnq->pq", f, f)
        # tr(B D_a B D_c): a = c = J: (1'B1)^2; J, I: 1'BB1; I, I: tr(BB)
        one_b_one = b.sum(axis=(1, 2))
        tr_bdbd[0, 0] += float(np.sum(one_b_one**2))
        v = float(np.sum(bj**2))
        tr_bdbd[0, 1] += v
        tr_bdbd[1, 0] += v
        tr_bdbd[1, 1] += float(np.sum(b * b))
        # cross[a, c] = Σ tr(M F' D_a B D_c F)
        bf = b @ f  # B F
        bfs = bf.sum(axis=1)  # 1'B F
        cross[0, 0] += float(np.einsum("pq,mq,m,mp->", m, fs, one_b_one, fs))  # F'J B J F = (1'F)'(1'B1)(1'F)
        cross[0, 1] += float(np.einsum("pq,mq,mp->", m, fs, bfs))  # F'J B F = (1'F)'(1'BF)
        cross[1, 0] += float(np.einsum("pq,mq,mp->", m, np.einsum("mn,mnp->mp", bj, f), fs))  # F'B J F
        cross[1, 1] += float(np.einsum("pq,mnq,mnp->", m, f, bf))  # F'B F
    tr_p = tr_bd - np.array([np.trace(m @ g) for g in g_mats])
    score = 0.5 * (ypdpy - tr_p)
    info = np.empty((2, 2))
    for a in range(2):
        for c in range(2):
            info[a, c] = 0.5 * (tr_bdbd[a, c] - cross[a, c] - cross[c, a] + np.trace(m @ g_mats[a] @ m @ g_mats[c]))
    return logdet + ld_x + quad, score, info, {"b": beta, "vb": m, "inv": inv}


def _fit_reml(groups, start: np.ndarray) -> np.ndarray:
    """Fisher scoring with step halving, components on the boundary held at 0; a bounded
    quasi-Newton search (L-BFGS-B) takes over if scoring stalls."""
    theta = start.copy()
    f_old, score, info, _ = _reml_parts(theta, groups)
    for _ in range(200):
        free = ~((theta <= 0) & (score <= 0))
        if not free.any():
            return theta
        step = np.zeros(2)
        step[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
        for _ in range(40):
            new = np.clip(theta + step, 0, None)
            f_new, s_new, i_new, _ = _reml_parts(new, groups)
            if f_new <= f_old + 1e-12 * abs(f_old):
                break
            step /= 2
        else:
            break
        done = np.max(np.abs(new - theta)) < 1e-12
        theta, f_old, score, info = new, f_new, s_new, i_new
        if done:
            return theta

    def fun(t):
        f, g, _, _ = _reml_parts(t, groups)
        return f, -2 * g

    opt = optimize.minimize(fun, theta, jac=True, method="L-BFGS-B", bounds=[(0, None)] * 2,
                            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000})
    if not opt.success:
        raise ModelError(f"REML estimation of the variance components did not converge ({opt.message}).")
    return np.clip(opt.x, 0, None)


@dataclass(frozen=True)
class MultilevelMeta(Result):
    """Result of :func:`multilevel_meta`: fixed effects, variance components, robust inference."""

    coefficients: pd.DataFrame
    sigma2_study: float
    sigma2_es: float
    qe: float
    qe_df: int
    qe_p_value: float
    qm: float | None
    qm_df: int
    qm_p_value: float | None
    log_likelihood: float
    rho: float | None
    n_studies: int
    n_effects: int
    ci_level: float
    _blocks: tuple = field(default=(), repr=False, compare=False)

    @property
    def estimate(self) -> float:
        return float(self.coefficients["estimate"].iloc[0])

    @property
    def std_error(self) -> float:
        return float(self.coefficients["std_error"].iloc[0])

    def robust(self) -> "RobustInference":
        """CR2 standard errors, Satterthwaite df and HTZ tests, clustered by study (clubSandwich)."""
        xs, ws, phis, es = self._blocks
        b = self.coefficients["estimate"].to_numpy()
        fit = cr2(list(xs), list(ws), list(phis), list(es), b, list(self.coefficients["term"]))
        return RobustInference(fit, fit.coef_table(self.ci_level))

    def to_frame(self) -> pd.DataFrame:
        out = self.coefficients.copy()
        out.insert(0, "model", "three-level REML" if self.rho is None else f"CHE (rho = {self.rho}) REML")
        out["sigma2_study"] = self.sigma2_study
        out["sigma2_es"] = self.sigma2_es
        out["n_studies"] = self.n_studies
        out["n_effects"] = self.n_effects
        return out

    def _title(self) -> str:
        model = "Three-level" if self.rho is None else f"CHE (rho = {self.rho})"
        return f"{model} random-effects meta-analysis, REML"

    def _summary_lines(self) -> list[str]:
        return [f"{self._title()}: {self.n_studies} studies, {self.n_effects} effect sizes",
                f"sigma^2 study {self.sigma2_study:.4f}, sigma^2 effect size {self.sigma2_es:.4f}; "
                f"QE({self.qe_df}) = {self.qe:.4f}, p = {self.qe_p_value:.4g}",
                self.coefficients.to_string(index=False, float_format=lambda x: f"{x:.4f}")]


@dataclass(frozen=True)
class RobustInference(Result):
    """CR2 coefficient table (``coefficients``) and HTZ ``wald_test`` of a multilevel fit."""

    cr2: CR2
    coefficients: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.coefficients.copy()

    def wald_test(self, constraints) -> pd.DataFrame:
        """HTZ test that the named coefficients (or ``C β``) are all 0 (clubSandwich ``Wald_test``)."""
        return self.cr2.wald_test(constraints)

    def _title(self) -> str:
        return f"CR2 cluster-robust inference ({self.cr2.n_clusters} studies, Satterthwaite df)"

    def _summary_lines(self) -> list[str]:
        return [self._title(), self.coefficients.to_string(index=False, float_format=lambda x: f"{x:.4f}")]


def multilevel_meta(data: pd.DataFrame, yi: str, vi: str, study: str, moderators: Any = None, *,
                    rho: float | None = None, ci_level: float = 0.95) -> MultilevelMeta:
    """Three-level random-effects meta-analysis / meta-regression by REML.

    Parameters
    ----------
    data : one row per effect size.
    yi, vi, study : columns of effect sizes, sampling variances and the study id.
    moderators : column name(s) (an intercept is added) or None.
    rho : None for independent sampling errors (metafor ``rma.mv(yi, vi, random = ~ 1 | study/es)``);
        a number in [0, 1) for the CHE working model with that within-study correlation of the
        sampling errors (``rma.mv(yi, V = impute_covariance_matrix(vi, study, r = rho), ...)``).

    See the module docstring; call ``.robust()`` for CR2 inference.
    """
    ci_level = check_level(ci_level)
    rho = number(rho, "rho", low=0, high=1, high_open=True, allow_none=True)
    y, v, codes, _ = _dependent_inputs(data, yi, vi, study)
    X, names = _design(moderators, data, len(y))
    n, p = X.shape
    n_st = int(codes.max()) + 1
    if n - p < 2:
        raise InputError(f"{n} effect sizes are too few for {p} coefficient(s) and two variance components.")
    blocks = _blocks(codes, n_st)
    ys = [y[ix] for ix in blocks]
    xs = [X[ix] for ix in blocks]
    r = 0.0 if rho is None else rho
    ss = []
    for ix in blocks:
        sd = np.sqrt(v[ix])
        s = r * np.outer(sd, sd)
        np.fill_diagonal(s, v[ix])
        ss.append(s)

    groups = _group_blocks(ys, xs, ss)
    theta = _fit_reml(groups, start=np.full(2, max(float(np.var(y)) - float(np.mean(v)), 0.01) / 2))
    neg2ll, _, _, parts = _reml_parts(theta, groups)
    b, vb = parts["b"], parts["vb"]
    se = np.sqrt(np.diag(vb))
    z = b / se
    crit = stats.norm.ppf(0.5 + ci_level / 2)
    coef = pd.DataFrame({"term": names, "estimate": b, "std_error": se, "statistic": z,
                         "p_value": 2 * stats.norm.sf(np.abs(z)), "ci_low": b - crit * se, "ci_high": b + crit * se})
    # QE: residual heterogeneity of the fixed-effects fit with weights S^-1 (metafor rma.mv)
    s_inv = [np.linalg.inv(s) for s in ss]
    a = sum(xj.T @ si @ xj for xj, si in zip(xs, s_inv))
    b0 = np.linalg.solve(a, sum(xj.T @ si @ yj for xj, si, yj in zip(xs, s_inv, ys)))
    qe = float(sum((yj - xj @ b0) @ si @ (yj - xj @ b0) for xj, si, yj in zip(xs, s_inv, ys)))
    qm = qm_p = None
    if p > 1:
        qm = float(b[1:] @ np.linalg.solve(vb[1:, 1:], b[1:]))
        qm_p = float(stats.chi2.sf(qm, p - 1))
    # REML log-likelihood as metafor reports it (with the constants)
    loglik = -0.5 * (neg2ll + (n - p) * math.log(2 * math.pi) - np.linalg.slogdet(X.T @ X)[1])
    sig: list = [None] * n_st
    for (idx, *_), (b_inv, _) in zip(groups, parts["inv"]):
        for j, i in enumerate(idx):
            sig[i] = b_inv[j]
    resid = [yj - xj @ b for yj, xj in zip(ys, xs)]
    phis = [np.linalg.inv(w) for w in sig]
    return MultilevelMeta(coef, float(theta[0]), float(theta[1]), qe, n - p, float(stats.chi2.sf(qe, n - p)), qm,
                          p - 1, qm_p, float(loglik), rho, n_st, n, ci_level,
                          (tuple(xs), tuple(sig), tuple(phis), tuple(resid)))
