"""Generalized linear mixed models (binomial-logit, Poisson-log): lme4's ``glmer``.

The random effects are b = Lambda_theta u, u ~ N(0, I) (Bates et al. 2015, *J. Stat.
Softw.* 67(1); Bates, *lme4: Mixed-effects modeling with R*, ch. 6). For given
(theta, beta) penalized iteratively reweighted least squares (PIRLS) finds the
conditional mode u-hat of

    log p(y | u) - ||u||^2 / 2,

with the sparse factor of Lambda' Z' W Z Lambda + I (CHOLMOD, shared with
:mod:`plmresearch.models.lmm_pls`). The marginal log-likelihood is then

* ``nAGQ = 1``: the Laplace approximation
  log p(y | u-hat) - ||u-hat||^2 / 2 - log|L|, for any random-effects structure
  (crossed factors included);
* ``nAGQ > 1``: adaptive Gauss-Hermite quadrature around the same modes
  (:mod:`plmresearch._quadrature`; Pinheiro & Bates 1995), for a single scalar
  random effect such as ``(1 | herd)``.

theta and beta are optimized jointly (lme4's second stage), from a first stage that
optimizes theta with beta left to PIRLS (lme4's ``nAGQ = 0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import optimize
from scipy.special import expit, gammaln, logsumexp

from plmresearch._quadrature import adaptive_nodes, adaptive_terms, gauss_hermite
from plmresearch.errors import ColumnError, InputError, ModelError
from plmresearch.models.formula import MixedFormula, check_data, design, parse_formula
from plmresearch.models.mixed_fit import MultilevelFit
from plmresearch.models.lmm_pls import (
    PLSProblem,
    _newton_polish,
    blas_threads,
    check_threads,
    conditional_sd,
    fixed_table,
    random_effects_table,
    random_terms,
    variance_table,
)
from plmresearch.validation import check_ci_level

FAMILIES = ("binomial", "poisson")


@dataclass
class GlmmFit(MultilevelFit):
    """A fitted GLMM. ``variance_components`` hold the random-effect (co)variances on the
    link scale; there is no residual variance (``sigma2`` is NaN).

    ``llf`` is the full marginal log-likelihood, binomial coefficients and log(y!)
    included (lme4's ``logLik`` for ``nAGQ = 1``; for ``nAGQ > 1`` lme4 drops those
    constants, see ``constant`` in ``extra``).
    """

    family: str = "binomial"
    nAGQ: int = 1

    @property
    def method(self) -> str:
        how = "Laplace" if self.nAGQ == 1 else f"adaptive Gauss-Hermite, {self.nAGQ} nodes"
        link = "logit" if self.family == "binomial" else "log"
        return f"generalized linear mixed model ({self.family}, {link} link; ML, {how}; PIRLS + CHOLMOD)"

    def variance_decomposition(self) -> pd.DataFrame:
        """Intercept variances with the latent residual pi^2/3 of the logistic model
        (Snijders & Bosker 2012, sec. 17.3); only for ``family="binomial"``."""
        if self.family != "binomial":
            raise ModelError("A variance decomposition needs a latent residual variance; it is defined here "
                             "for the logistic model (family='binomial') only.")
        vc = self.variance_components
        rows = vc[vc["term2"].isna() & (vc["term1"] == "Intercept")]
        out = pd.DataFrame({"level": list(rows["group"]) + ["Residual (latent logistic)"],
                            "variance": list(rows["variance"]) + [math.pi**2 / 3]})
        out["proportion"] = out["variance"] / out["variance"].sum()
        return out


class _Family:
    def __init__(self, name: str, y: np.ndarray, trials: np.ndarray):
        self.name, self.y, self.m = name, y, trials
        if name == "binomial":
            self.const = float(np.sum(gammaln(trials + 1) - gammaln(y + 1) - gammaln(trials - y + 1)))
        else:
            self.const = float(-np.sum(gammaln(y + 1)))

    def loglik_terms(self, eta: np.ndarray, y=None, m=None) -> np.ndarray:
        """Per-observation log p(y | eta), without the constants (log binomial coefficient, -log y!)."""
        y = self.y if y is None else y
        m = self.m if m is None else m
        if self.name == "binomial":
            return y * eta - m * np.logaddexp(0.0, eta)
        return y * eta - np.exp(eta)

    def mean_weight(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """E(y | eta) and the IRLS weight (the variance, canonical links)."""
        if self.name == "binomial":
            p = expit(eta)
            return self.m * p, self.m * p * (1 - p)
        mu = np.exp(eta)
        return mu, mu


class LaplaceProblem:
    """-2 x (Laplace or adaptive-GHQ) log-likelihood as a function of (theta, beta)."""

    def __init__(self, pls: PLSProblem, fam: _Family, offset: np.ndarray, n_agq: int):
        self.pls, self.fam, self.offset, self.n_agq = pls, fam, offset, n_agq
        self.Z, self.X = pls.Z, pls.X
        self.Zt = pls.Z.T.tocsr()
        self.u = np.zeros(pls.q)
        self.n_evals = 0
        if n_agq > 1:
            t = pls.terms[0]
            self.group_codes = t.codes
            self.z = t.z[:, 0]
            self.G = sp.csr_matrix((np.ones(pls.n), (t.codes, np.arange(pls.n))), shape=(t.n_levels, pls.n))
            self.gh_x, self.gh_logw = gauss_hermite(n_agq)

    def pirls(self, theta, beta, u0=None, tol=1e-10, maxit=200):
        """Conditional modes u-hat by penalized IRLS with step halving; returns (u, eta, logdet)."""
        L = self.pls.lam(theta)
        eta0 = self.X @ beta + self.offset
        u = self.u.copy() if u0 is None else u0.copy()

        def pdev(uu):
            e = eta0 + self.Z @ (L @ uu)
            return -2 * float(np.sum(self.fam.loglik_terms(e))) + float(uu @ uu), e

        f, eta = pdev(u)
        for _ in range(maxit):
            mu, w = self.fam.mean_weight(eta)
            g = L.T @ (self.Zt @ (self.fam.y - mu)) - u
            self.pls._factor(theta, weights=w)
            delta = self.pls.solve(g.reshape(-1, 1)).ravel()
            t = 1.0
            for _ in range(30):
                fn, en = pdev(u + t * delta)
                if fn <= f + 1e-12 * abs(f):
                    break
                t /= 2
            else:
                break
            u, dec = u + t * delta, f - fn
            f, eta = fn, en
            if dec < tol * (abs(f) + tol) and np.max(np.abs(t * delta)) < 1e-6:
                break
        mu, w = self.fam.mean_weight(eta)
        logdet = self.pls._factor(theta, weights=w)
        return u, eta, logdet, w

    def loglik(self, theta, beta) -> float:
        u, eta, logdet, w = self.pirls(theta, beta)
        if not np.all(np.isfinite(u)):
            raise ArithmeticError("PIRLS diverged")
        self.u = u
        if self.n_agq == 1:
            return float(np.sum(self.fam.loglik_terms(eta)) - 0.5 * u @ u - 0.5 * logdet) + self.fam.const
        # single scalar term: H is diagonal, h_j = 1 + theta^2 sum_i w_i z_i^2
        th = float(theta[0])
        h = 1.0 + th**2 * (self.G @ (w * self.z**2))
        s = 1.0 / np.sqrt(h)
        nodes = adaptive_nodes(u, s, self.gh_x)  # J x Q
        eta_fixed = eta - th * self.z * u[self.group_codes]
        eta_q = eta_fixed[:, None] + th * self.z[:, None] * nodes[self.group_codes]
        ll = self.G @ self.fam.loglik_terms(eta_q, self.fam.y[:, None], self.fam.m[:, None])
        log_int = ll - 0.5 * nodes**2 - 0.5 * math.log(2 * math.pi)
        return float(np.sum(logsumexp(adaptive_terms(log_int, s, self.gh_logw), axis=1))) + self.fam.const

    def deviance(self, par) -> float:
        self.n_evals += 1
        k = self.pls.n_theta
        try:
            v = -2 * self.loglik(par[:k], par[k:])
        except (ArithmeticError, ModelError, ValueError):
            return np.inf
        return v if np.isfinite(v) else np.inf


def _response(mf: MixedFormula, used: pd.DataFrame, data: pd.DataFrame, family: str, trials):
    y = used[mf.outcome].to_numpy(float)
    if np.any(y < 0) or np.any(y != np.round(y)):
        raise InputError(f"The outcome '{mf.outcome}' must hold non-negative whole numbers (counts, or 0/1) "
                         f"for family={family!r}.")
    if family == "poisson":
        if trials is not None:
            raise InputError("`trials` is only for family='binomial'.")
        return y, np.ones_like(y)
    if trials is None:
        if np.any(y > 1):
            raise InputError(f"The outcome '{mf.outcome}' has values above 1; for counts of successes pass "
                             "trials='column with the number of trials' (lme4's cbind(successes, failures)).")
        return y, np.ones_like(y)
    if trials not in data.columns:
        raise ColumnError(f"Column '{trials}' (trials=) is not in the data; available: {list(data.columns)[:20]}.")
    m = pd.to_numeric(data.loc[used.index, trials], errors="coerce").to_numpy(float)
    if np.any(~np.isfinite(m)) or np.any(m < y) or np.any(m != np.round(m)):
        raise InputError(f"Column '{trials}' must hold whole numbers of trials, at least the outcome '{mf.outcome}'.")
    return y, m


def fit_glmm(formula: str | MixedFormula, data: pd.DataFrame, *, family: str = "binomial", nAGQ: int = 1,
             trials: str | None = None, ci_level: float = 0.95, threads: int | None = 1) -> GlmmFit:
    """Fit a GLMM by maximum likelihood (Laplace or adaptive Gauss-Hermite quadrature), like ``glmer``.

    Parameters
    ----------
    formula : str
        lme4 style, e.g. ``"r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)"``.
    family : {"binomial", "poisson"}
        Logit or log link.
    nAGQ : int
        1 = Laplace (any random part); > 1 = adaptive Gauss-Hermite with that many nodes,
        for one scalar random effect (lme4's rule).
    trials : str, optional
        Binomial: column with the number of trials when the outcome counts successes
        (lme4's ``cbind(successes, trials - successes)``); 0/1 outcomes need none.
    """
    if family not in FAMILIES:
        raise InputError(f"`family` must be one of {FAMILIES}, got {family!r}.")
    if not isinstance(nAGQ, (int, np.integer)) or isinstance(nAGQ, bool) or not 1 <= nAGQ <= 100:
        raise InputError(f"`nAGQ` must be a whole number from 1 (Laplace) to 100, got {nAGQ!r}.")
    check_ci_level(ci_level)
    check_threads(threads)
    mf = parse_formula(formula) if isinstance(formula, str) else formula
    used = check_data(mf, data)
    y, m = _response(mf, used, data, family, trials)
    x = design(f"~ {mf.fixed_rhs}", used)
    terms = random_terms(mf, used)
    if nAGQ > 1 and (len(terms) != 1 or terms[0].p != 1):
        raise InputError(f"nAGQ = {nAGQ} needs a single scalar random effect such as (1 | herd); "
                         f"{mf.formula!r} has {sum(t.p for t in terms)} random-effect columns. Use nAGQ=1 (Laplace).")
    fam = _Family(family, y, m)
    with blas_threads(threads):
        pls = PLSProblem(y, x.to_numpy(), terms, reml=False)
        prob = LaplaceProblem(pls, fam, np.zeros(len(y)), int(nAGQ))
        beta0 = _glm_start(x.to_numpy(), y, m, family)
        k = pls.n_theta
        bounds = pls.bounds() + [(None, None)] * pls.p
        # stage 1: theta with beta fixed at the GLM start; stage 2: theta and beta jointly
        s1 = optimize.minimize(lambda th: prob.deviance(np.r_[th, beta0]), pls.start(), method="L-BFGS-B",
                               bounds=pls.bounds(), options={"maxiter": 500})
        par0 = np.r_[np.maximum(s1.x, 0.0) if k else s1.x, beta0]
        par0[:k] = np.where(np.isfinite([b[0] if b[0] is not None else -np.inf for b in pls.bounds()]),
                            np.maximum(par0[:k], 0), par0[:k])
        trials_rows = [{"optimizer": "stage 1 (theta, beta at GLM)", "llf": -float(s1.fun) / 2,
                        "converged": bool(s1.success), "error": None}]
        s2 = optimize.minimize(prob.deviance, par0, method="L-BFGS-B", bounds=bounds,
                               options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9})
        par, fx = (s2.x, float(s2.fun)) if s2.fun <= prob.deviance(par0) else (par0, prob.deviance(par0))
        trials_rows.append({"optimizer": "stage 2 L-BFGS-B (theta, beta)", "llf": -float(s2.fun) / 2,
                            "converged": bool(s2.success), "error": None})
        if not s2.success:
            nm = optimize.minimize(prob.deviance, par, method="Nelder-Mead", bounds=bounds,
                                   options={"maxiter": 20000, "xatol": 1e-9, "fatol": 1e-12, "adaptive": True})
            trials_rows.append({"optimizer": "Nelder-Mead", "llf": -float(nm.fun) / 2, "converged": bool(nm.success),
                                "error": None})
            if nm.fun < fx:
                par, fx = nm.x, float(nm.fun)
        lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
        if len(par) <= 6:
            # two Newton steps: each costs about 2 k^2 deviance evaluations, and PIRLS makes those dear
            par, fx, ok = _newton_polish(prob.deviance, np.asarray(par, float), fx, lo, iters=2)
            trials_rows.append({"optimizer": "newton polish", "llf": -fx / 2, "converged": ok, "error": None})
        theta, beta = par[:k], par[k:]
        vcov = _vcov_beta(prob, theta, beta)
        prob.loglik(theta, beta)
        u = prob.u
        b = pls.lam(theta) @ u
        # the factor now holds Lambda'Z'WZ Lambda + I at the modes: lme4's condVar with scale 1
        cond_sd = conditional_sd(pls, theta, 1.0)
    names = list(x.columns)
    fixed = fixed_table(names, beta, vcov, ci_level)
    vc = variance_table(terms, theta, pls.theta_slices, None)
    re = random_effects_table(terms, b, cond_sd)
    n_groups: dict[str, int] = {}
    for t in terms:
        n_groups.setdefault(t.group, t.n_levels)
    notes = []
    if used.attrs.get("n_dropped"):
        notes.append(f"{used.attrs['n_dropped']} row(s) with missing values in the formula's columns were dropped.")
    if np.any(theta[[i for i, lo_ in enumerate(pls.lower) if lo_ == 0.0]] < 1e-4):
        notes.append("A random-effect variance is estimated at (or near) zero: a singular fit.")
    return GlmmFit(
        formula=mf.formula, fixed_effects=fixed, variance_components=vc, sigma2=float("nan"), llf=-fx / 2,
        reml=False, optimizer="PIRLS + L-BFGS-B (theta, beta), Newton polish for <= 6 parameters", optimizer_trials=pd.DataFrame(trials_rows),
        n_obs=len(y), n_groups=n_groups, n_params=pls.p + k, ci_level=ci_level, notes=tuple(notes),
        random_effects=re, reliability_by_group=None, family=family, nAGQ=int(nAGQ),
        extra={"engine": "glmm", "theta": theta, "parsed": mf, "constant": fam.const,
               "vcov": pd.DataFrame(vcov, index=names, columns=names), "n_evaluations": prob.n_evals})


def _glm_start(X, y, m, family):
    """beta of the GLM without random effects (statsmodels), the usual start."""
    import statsmodels.api as smapi

    fam = smapi.families.Binomial() if family == "binomial" else smapi.families.Poisson()
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    try:
        if family == "binomial":
            r = smapi.GLM(y / m, X, family=fam, var_weights=m).fit()
        else:
            r = smapi.GLM(y, X, family=fam).fit()
    except (PerfectSeparationError, np.linalg.LinAlgError, ValueError):
        return np.zeros(X.shape[1])  # separation or a singular start: zeros are a valid start
    b = np.asarray(r.params, float)
    return b if np.all(np.isfinite(b)) else np.zeros(X.shape[1])


def _vcov_beta(prob: LaplaceProblem, theta, beta) -> np.ndarray:
    """Covariance of beta from the Hessian of the (Laplace / AGQ) deviance in beta at the optimum
    (theta held fixed), by central differences of the deviance: lme4's ``vcov`` for ``glmer``
    (``use.hessian = TRUE``) uses the Hessian of the deviance in (theta, beta) and takes the beta block
    of its inverse; we do the same."""
    k = len(theta)
    par = np.r_[theta, beta]
    f = prob.deviance
    n = len(par)
    h = 1e-4 * np.maximum(np.abs(par), 0.1)
    f0 = f(par)
    H = np.zeros((n, n))
    fp, fm = np.zeros(n), np.zeros(n)
    for a in range(n):
        e = np.zeros(n)
        e[a] = h[a]
        fp[a], fm[a] = f(par + e), f(par - e)
        H[a, a] = (fp[a] - 2 * f0 + fm[a]) / h[a] ** 2
    for a in range(n):
        for c in range(a + 1, n):
            ea, ec = np.zeros(n), np.zeros(n)
            ea[a], ec[c] = h[a], h[c]
            H[a, c] = H[c, a] = (f(par + ea + ec) - fp[a] - fp[c] + 2 * f0 - fm[a] - fm[c] + f(par - ea - ec)) / (2 * h[a] * h[c])
    try:
        cov = np.linalg.inv(H / 2)
    except np.linalg.LinAlgError:
        raise ModelError("The Hessian of the deviance is singular; the fixed effects are not identified.") from None
    return cov[k:, k:]
