"""Bias-reduced cluster-robust (CR2) inference for weighted linear models with a working model.

The estimators follow Pustejovsky & Tipton (2018, *J. Bus. Econ. Stat.* 36(4)) and Tipton &
Pustejovsky (2015, *J. Educ. Behav. Stat.* 40(6)) as implemented in R's ``clubSandwich``:

* CR2 adjustment ``A_j = R_j' (R_j (I - H_jj) Φ_j R_j')^(-1/2) R_j`` with ``R_j`` the upper
  Cholesky factor of the working covariance ``Φ_j`` of cluster ``j`` and
  ``H_jj = X_j M X_j' W_j``, ``M = (Σ X_j' W_j X_j)^(-1)`` (weights ``W = Φ^(-1)``: "inverse
  variance" working model);
* ``V^CR2 = M (Σ X_j' W_j A_j e_j e_j' A_j W_j X_j) M``;
* Satterthwaite degrees of freedom of a contrast (``coef_test(..., test = "Satterthwaite")``) and
  the approximate Hotelling's T² test with the "HTZ" degrees of freedom for several constraints
  (``Wald_test(..., test = "HTZ")``), both computed under the working model.

Matrix powers use a symmetric eigendecomposition with eigenvalues below 1e-12 set to zero, as
clubSandwich's ``matrix_power`` does (so a cluster fully absorbed by its own dummy is handled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from plmresearch.errors import InputError


def matrix_power_sym(a: np.ndarray, power: float, tol: float = 1e-12) -> np.ndarray:
    """``a**power`` of a symmetric matrix; eigenvalues ``<= tol`` map to 0 (clubSandwich)."""
    vals, vecs = np.linalg.eigh((a + a.T) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        vp = np.where(vals > tol, np.abs(vals) ** power, 0.0)
    return (vecs * vp) @ vecs.T


@dataclass(frozen=True)
class CR2:
    """CR2 sandwich of a weighted least-squares fit, ready for t and Wald tests.

    Build with :func:`cr2`. ``vcov`` is the bias-reduced covariance of ``beta``.
    """

    beta: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    n_clusters: int
    _g: tuple  # per cluster: M E_j L_j (p x n_j)
    _h: np.ndarray  # p x p x J: M E_j X_j L_M

    def _p_array(self, c: np.ndarray) -> np.ndarray:
        """P[a, b] (q x q x J x J) for the rows of the contrast ``c`` (q x p)."""
        hc = np.einsum("qp,puj->quj", c, self._h)  # q x u x J
        p_arr = -np.einsum("auj,buk->abjk", hc, hc)
        gg = np.stack([np.einsum("an,bn->ab", c @ g, c @ g) for g in self._g], axis=-1)  # q x q x J
        idx = np.arange(self.n_clusters)
        p_arr[:, :, idx, idx] += gg
        return p_arr

    def satterthwaite_df(self, c: np.ndarray | None = None) -> np.ndarray:
        """Satterthwaite df of each coefficient (or of each row of ``c``), as ``coef_test``."""
        c = np.eye(len(self.beta)) if c is None else np.atleast_2d(np.asarray(c, float))
        out = []
        for row in c:
            p = self._p_array(row[None, :])[0, 0]
            out.append(np.trace(p) ** 2 / np.sum(p * p))
        return np.array(out)

    def coef_table(self, ci_level: float = 0.95) -> pd.DataFrame:
        """t tests with Satterthwaite df (clubSandwich ``coef_test`` and ``conf_int``)."""
        se = np.sqrt(np.diag(self.vcov))
        df = self.satterthwaite_df()
        t = self.beta / se
        crit = stats.t.ppf(0.5 + ci_level / 2, df)
        return pd.DataFrame({"term": list(self.names), "estimate": self.beta, "std_error": se, "statistic": t,
                             "df": df, "p_value": 2 * stats.t.sf(np.abs(t), df), "ci_low": self.beta - crit * se,
                             "ci_high": self.beta + crit * se})

    def wald_test(self, constraints, null: np.ndarray | None = None) -> pd.DataFrame:
        """Approximate Hotelling's T² (HTZ) test of ``C β = 0`` (clubSandwich ``Wald_test``).

        ``constraints``: names or positions of coefficients (tests that all are 0), or a q x p
        contrast matrix. Returns one row: ``statistic`` (the F), ``df1 = q``, ``df2``, ``p_value``,
        plus the unscaled Wald ``Q`` and the HTZ ``nu``.
        """
        c = self._constraint_matrix(constraints)
        q = c.shape[0]
        cb = c @ self.beta - (0 if null is None else np.asarray(null, float))
        wald_q = float(cb @ np.linalg.solve(c @ self.vcov @ c.T, cb))
        p_arr = self._p_array(c)
        omega = np.einsum("abjj->ab", p_arr)
        on = matrix_power_sym(omega, -0.5)
        b = np.einsum("sa,abjk,bt->stjk", on, p_arr, on)
        var = np.empty((q, q))
        for s in range(q):
            for t in range(q):
                var[s, t] = np.sum(b[s, t] * b[t, s]) + np.sum(b[s, s] * b[t, t])
        nu = q * (q + 1) / var.sum()
        delta = (nu - q + 1) / nu
        df2 = nu - q + 1
        f = delta * wald_q / q
        pv = float(stats.f.sf(f, q, df2)) if df2 > 0 else float("nan")
        return pd.DataFrame([{"test": "HTZ", "statistic": f, "df1": q, "df2": df2, "p_value": pv, "wald_q": wald_q,
                              "nu": nu}])

    def _constraint_matrix(self, constraints) -> np.ndarray:
        p = len(self.beta)
        a = np.asarray(constraints)
        if a.ndim == 2:
            if a.shape[1] != p:
                raise InputError(f"A constraint matrix needs {p} columns (one per coefficient), got {a.shape[1]}.")
            return a.astype(float)
        items = [constraints] if isinstance(constraints, (str, int, np.integer)) else list(constraints)
        rows = []
        for it in items:
            if isinstance(it, str):
                if it not in self.names:
                    raise InputError(f"Unknown coefficient {it!r}; the model has {list(self.names)}.")
                rows.append(self.names.index(it))
            else:
                if not 0 <= int(it) < p:
                    raise InputError(f"Coefficient position {it} is out of range 0..{p - 1}.")
                rows.append(int(it))
        if not rows:
            raise InputError("Give at least one coefficient to test.")
        return np.eye(p)[rows]


def cr2(x_blocks: list[np.ndarray], w_blocks: list[np.ndarray], phi_blocks: list[np.ndarray],
        e_blocks: list[np.ndarray], beta: np.ndarray, names: list[str] | tuple[str, ...]) -> CR2:
    """CR2 sandwich from per-cluster design ``X_j``, weights ``W_j``, working covariance ``Φ_j`` and
    residuals ``e_j`` (all lists in cluster order). Weights must be ``Φ_j^(-1)`` (inverse-variance
    working model, clubSandwich's ``inverse_var = TRUE``)."""
    if len(x_blocks) < 2:
        raise InputError("Cluster-robust inference needs at least 2 clusters (studies).")
    m = np.linalg.inv(sum(xj.T @ wj @ xj for xj, wj in zip(x_blocks, w_blocks)))
    l_m = np.linalg.cholesky(m)
    meat = np.zeros_like(m)
    g_list, h_list = [], []
    for xj, wj, phij, ej in zip(x_blocks, w_blocks, phi_blocks, e_blocks):
        lj = np.linalg.cholesky(phij)  # lower, L L' = Φ; R = L'
        rj = lj.T
        ih = np.eye(len(ej)) - xj @ m @ xj.T @ wj
        aj = rj.T @ matrix_power_sym(rj @ ih @ phij @ rj.T, -0.5) @ rj
        ejm = xj.T @ wj @ aj
        u = ejm @ ej
        meat += np.outer(u, u)
        g_list.append(m @ ejm @ lj)
        h_list.append(m @ ejm @ xj @ l_m)
    vcov = m @ meat @ m
    return CR2(np.asarray(beta, float), vcov, tuple(names), len(x_blocks), tuple(g_list), np.stack(h_list, axis=-1))
