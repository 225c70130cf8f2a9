"""Adaptive Gauss-Hermite quadrature for one scalar random effect per group.

For group j with integrand f_j(u) (the conditional likelihood times the N(0, 1)
density of the effect u), centred at the conditional mode m_j with scale s_j
(the curvature there), Pinheiro & Bates (1995, J. Comput. Graph. Stat. 4:12-35, eq. 10):

    log int f_j(u) du ~= log sum_k w_k exp(x_k^2) sqrt(2) s_j f_j(m_j + sqrt(2) s_j x_k)

with (x_k, w_k) the Gauss-Hermite nodes and weights. One node is the Laplace
approximation. Used by the AFM (:mod:`plmresearch.mastery.afm`) and the GLMMs
(:mod:`plmresearch.models.glmm`, lme4's ``glmer(nAGQ = n)``).
"""

from __future__ import annotations

import numpy as np


def gauss_hermite(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x_k and log(w_k) + x_k^2 (the weights of the adaptive rule)."""
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    return x, np.log(w) + x**2


def adaptive_nodes(mode: np.ndarray, scale: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Groups x nodes matrix of evaluation points m_j + sqrt(2) s_j x_k."""
    return np.asarray(mode)[:, None] + np.sqrt(2) * np.asarray(scale)[:, None] * x[None, :]


def adaptive_terms(log_integrand: np.ndarray, scale: np.ndarray, log_w: np.ndarray) -> np.ndarray:
    """log of each summand; ``logsumexp(..., axis=1)`` is the log integral per group."""
    return log_integrand + log_w[None, :] + np.log(np.sqrt(2) * np.asarray(scale))[:, None]
