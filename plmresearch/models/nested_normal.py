"""Exact posterior of a Gaussian random-intercept model of students in classes in schools,
computed from sufficient statistics (cost independent of the number of students).

Model (outcome standardized, y* = (y - mean y) / sd y; predictors centred)::

    y_i = x_i' theta + u_school(i) + v_class(i) + e_i,   e ~ N(0, sigma^2),  v ~ N(0, tau_c^2),
    u ~ N(0, omega),   omega = tau_s^2 (a school group level) + b^2 (schools as blocks, fixed effects)

with the priors of :mod:`plmresearch.models.bayes` (rstanarm-style autoscaling; Gelman, Hill &
Vehtari 2020, sec. 9.5): intercept at centred predictors ~ N(0, 2.5^2), slope of x ~
N(0, (2.5 / sd x)^2), sigma ~ Exponential(1), tau_c, tau_s ~ HalfNormal(1). School blocks as fixed
effects get independent N(0, b^2) priors with b = 2.5 (one effect per school, no reference level):
a fixed effect with a Gaussian prior is a group effect whose variance is known, so it joins omega.

Given the variance parameters phi = (sigma, tau_c, tau_s) everything is Gaussian, so theta and
the group effects are integrated out exactly. With V = Cov(y | phi) block diagonal by school,
D_c = sigma^2 I + tau_c^2 11' per class and R = [X y]:

* D_c^-1 = (I - g_c 11') / sigma^2, g_c = tau_c^2 / d_c, d_c = sigma^2 + n_c tau_c^2 (Sherman-Morrison);
* V_s^-1 = D_s^-1 - k_s D_s^-1 11' D_s^-1 with h_s = sum_c n_c / d_c, k_s = omega / (1 + omega h_s);
* R'V^-1 R = (R'R - sum_c g_c S_c S_c') / sigma^2 - sum_s k_s T_s T_s', S_c the class sums of R,
  T_s = sum_c S_c / d_c; log|V| = n log sigma^2 + sum_c log(d_c / sigma^2) + sum_s log(1 + omega h_s)
  (matrix determinant lemma; Henderson 1975; Searle, Casella & McCulloch 1992, sec. 3.3);
* with theta ~ N(0, S0): P = X'V^-1 X + S0^-1, theta | phi, y ~ N(P^-1 X'V^-1 y, P^-1) and
  log p(y | phi) = -1/2 [n log 2 pi + log|V| + log|S0| + log|P| + y'V^-1 y - (X'V^-1 y)' P^-1 X'V^-1 y]
  (BDA3, Gelman et al. 2013, sec. 14.2 and 15.4).

Classes of equal size are pooled, so each evaluation costs O(schools x distinct class sizes x p),
whatever the number of students. The posterior of log phi (one to three dimensions) is integrated
on a grid in the coordinates of its Laplace approximation, extended along each axis until the log
density has dropped by 15 (the grid strategy of INLA; Rue, Martino & Chopin 2009, sec. 3.1); the
posterior of theta is then the exact mixture sum_k w_k N(mu_k, P_k^-1). The only approximation is
this quadrature of the variance parameters (its spacing is half a Laplace SD, where the trapezoid
rule is accurate far beyond the printed digits); nothing is sampled except the draws for a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from plmresearch.errors import InputError, ModelError

LOG_2PI = float(np.log(2 * np.pi))
_DROP = 15.0        # the grid reaches where the log posterior is this far below its mode
_STEP = 0.5         # grid spacing in Laplace standard deviations


@dataclass(frozen=True)
class NestedStats:
    """Sufficient statistics of [1 X y] (centred X, standardized y) for the nested design."""

    n: int
    RR: np.ndarray          # (q, q) cross-products of R = [1 X y]
    sizes: np.ndarray       # (m,) distinct class sizes
    n_classes_of_size: np.ndarray   # (m,)
    SS_of_size: np.ndarray  # (m, q, q) sum of S_c S_c' over the classes of each size
    N_sm: np.ndarray        # (schools, m) classes of each size per school
    R_sm: np.ndarray        # (schools, m, q) sum of S_c over the classes of each size per school


def nested_stats(R: np.ndarray, school: np.ndarray, cls: np.ndarray | None) -> NestedStats:
    """Sufficient statistics of the rows R (n x q) for schools and classes (codes 0..k-1)."""
    n, q = R.shape
    n_s = int(school.max()) + 1
    if cls is None:
        key = school  # no class level: one pseudo-class per school (tau_c = 0 makes the split irrelevant)
    else:
        key = school.astype(np.int64) * (int(cls.max()) + 1) + cls
    uniq, c = np.unique(key, return_inverse=True)
    n_c = np.bincount(c)
    S = np.column_stack([np.bincount(c, weights=R[:, j], minlength=len(uniq)) for j in range(q)])
    school_of = np.zeros(len(uniq), dtype=np.int64)
    school_of[c] = school
    sizes, sidx = np.unique(n_c, return_inverse=True)
    m = len(sizes)
    SS = np.zeros((m, q, q))
    np.add.at(SS, sidx, S[:, :, None] * S[:, None, :])
    N_sm = np.zeros((n_s, m))
    np.add.at(N_sm, (school_of, sidx), 1.0)
    R_sm = np.zeros((n_s, m, q))
    np.add.at(R_sm, (school_of, sidx), S)
    return NestedStats(n=n, RR=R.T @ R, sizes=sizes.astype(float), n_classes_of_size=np.bincount(sidx).astype(float),
                       SS_of_size=SS, N_sm=N_sm, R_sm=R_sm)


def conditional(st: NestedStats, prior_sd: np.ndarray, sig2, tc2, omega):
    """For arrays of variance parameters (K,): log p(y | phi), E(theta | phi, y) (K, p), Cov (K, p, p)."""
    sig2, tc2, omega = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (sig2, tc2, omega))
    n_s, m, q = st.R_sm.shape
    d = sig2[:, None] + st.sizes[None, :] * tc2[:, None]                     # (K, m)
    g = tc2[:, None] / d
    psi = (st.RR[None] - (g @ st.SS_of_size.reshape(m, q * q)).reshape(-1, q, q)) / sig2[:, None, None]
    T = ((1.0 / d) @ st.R_sm.transpose(1, 0, 2).reshape(m, n_s * q)).reshape(-1, n_s, q)   # (K, schools, q)
    h = (1.0 / d) @ (st.N_sm * st.sizes[None, :]).T                          # (K, schools)
    kap = omega[:, None] / (1 + omega[:, None] * h)
    psi = psi - np.swapaxes(kap[:, :, None] * T, 1, 2) @ T
    logdet_v = (st.n * np.log(sig2) + np.log(d / sig2[:, None]) @ st.n_classes_of_size
                + np.log1p(omega[:, None] * h).sum(axis=1))
    A, b, c = psi[:, :-1, :-1], psi[:, :-1, -1], psi[:, -1, -1]
    P = A + np.diag(1.0 / prior_sd**2)[None]
    L = np.linalg.cholesky(P)
    z = np.linalg.solve(L, b[..., None])[..., 0]
    loglik = -0.5 * (st.n * LOG_2PI + logdet_v + 2 * np.log(prior_sd).sum()
                     + 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1) + c - (z**2).sum(axis=1))
    cov = np.linalg.inv(P)
    mean = (cov @ b[..., None])[..., 0]
    return loglik, mean, (cov + np.swapaxes(cov, 1, 2)) / 2


@dataclass
class NestedPosterior:
    """The posterior as a mixture over the grid of variance parameters (weights ``w``)."""

    terms: list[str]
    w: np.ndarray                     # (K,) grid weights, sum 1
    mean: np.ndarray                  # (K, p) E(theta | phi_k, y), in outcome units
    cov: np.ndarray                   # (K, p, p)
    scales: dict[str, np.ndarray]     # sigma, tau_class, tau_school at the grid points, outcome units
    n_grid: int = 0
    notes: tuple[str, ...] = field(default=())

    def _j(self, term: str) -> int:
        if term not in self.terms:
            raise InputError(f"Unknown term {term!r}; the model has {self.terms}.")
        return self.terms.index(term)

    def posterior_mean(self, term: str) -> float:
        return float(self.w @ self.mean[:, self._j(term)])

    def posterior_sd(self, term: str) -> float:
        j = self._j(term)
        m, v = self.mean[:, j], self.cov[:, j, j]
        mu = self.w @ m
        return float(np.sqrt(self.w @ (v + (m - mu) ** 2)))

    def cdf(self, term: str, x: float) -> float:
        j = self._j(term)
        return float(self.w @ special.ndtr((x - self.mean[:, j]) / np.sqrt(self.cov[:, j, j])))

    def prob_greater(self, term: str, x: float) -> float:
        """P(theta_term > x | y), exact for the mixture."""
        return 1.0 - self.cdf(term, x)

    def quantile(self, term: str, p: float) -> float:
        j = self._j(term)
        sd = np.sqrt(self.cov[:, j, j])
        lo, hi = float((self.mean[:, j] - 12 * sd).min()), float((self.mean[:, j] + 12 * sd).max())
        return float(optimize.brentq(lambda x: self.cdf(term, x) - p, lo, hi, xtol=1e-12 * max(1.0, hi - lo)))

    def interval(self, term: str, level: float = 0.95) -> tuple[float, float]:
        a = (1 - level) / 2
        return self.quantile(term, a), self.quantile(term, 1 - a)

    def draws(self, term: str, n: int, random_seed=None) -> np.ndarray:
        """Draws of one coefficient (for pictures; the summaries above are exact)."""
        rng = np.random.default_rng(random_seed)
        j = self._j(term)
        k = rng.choice(len(self.w), size=n, p=self.w)
        return self.mean[k, j] + np.sqrt(self.cov[k, j, j]) * rng.standard_normal(n)

    def scale_mean(self, name: str) -> float:
        return float(self.w @ self.scales[name])


def fit_nested_normal(y, X, terms, school, cls=None, *, school_group: bool = True, school_blocks: bool = False,
                      prior_scale: float = 2.5) -> NestedPosterior:
    """Posterior of the nested random-intercept model (module docstring) from raw columns.

    Parameters
    ----------
    y : (n,) outcome. X : (n, p) predictors without intercept, named by ``terms`` (the intercept is
        added as "Intercept"). school, cls : integer codes (classes nested in schools; ``cls=None``
        for no class level).
    school_group : schools as a group level (tau_s sampled). school_blocks : schools as fixed
        effects with N(0, (prior_scale sd y)^2) priors (randomization blocks).
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    if len(terms) != X.shape[1]:
        raise InputError(f"`terms` names {len(terms)} columns, X has {X.shape[1]}.")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
        raise InputError("The outcome and predictors must be finite (drop missing values first).")
    my, sy = float(y.mean()), float(y.std(ddof=1))
    xsd = X.std(axis=0, ddof=1)
    if not sy > 0 or np.any(xsd == 0):
        raise InputError("The outcome and every predictor must vary.")
    school = np.unique(np.asarray(school), return_inverse=True)[1]
    cls = None if cls is None else np.unique(np.asarray(cls), return_inverse=True)[1]
    R = np.column_stack([np.ones(len(y)), X - X.mean(axis=0), (y - my) / sy])
    st = nested_stats(R, school, cls)
    prior_sd = np.concatenate([[prior_scale], prior_scale / xsd])
    b2 = prior_scale**2 if school_blocks else 0.0
    names = ["sigma"] + (["tau_class"] if cls is not None else []) + (["tau_school"] if school_group else [])

    def unpack(eta):
        s = {nm: np.exp(eta[:, i]) for i, nm in enumerate(names)}
        zero = np.zeros(len(eta))
        return s["sigma"] ** 2, s.get("tau_class", zero) ** 2, s.get("tau_school", zero) ** 2 + b2, s

    def log_post(eta):
        eta = np.atleast_2d(eta)
        sig2, tc2, om, s = unpack(eta)
        ll = conditional(st, prior_sd, sig2, tc2, om)[0]
        lp = -s["sigma"] - sum(0.5 * s[nm] ** 2 for nm in names[1:])  # Exponential(1), HalfNormal(1)
        return ll + lp + eta.sum(axis=1)                                 # + log Jacobian of exp

    def chunked(eta, size=2000):
        return np.concatenate([log_post(eta[i:i + size]) for i in range(0, len(eta), size)])

    d = len(names)
    start = np.log(np.r_[0.7, np.full(d - 1, 0.3)])
    res = optimize.minimize(lambda e: -log_post(e)[0], start, method="Nelder-Mead",
                            options=dict(xatol=1e-6, fatol=1e-8, maxiter=4000))
    res = optimize.minimize(lambda e: -log_post(e)[0], res.x, method="BFGS")
    mode = res.x
    H = _hessian(lambda e: -log_post(e)[0], mode)
    vals, vecs = np.linalg.eigh((H + H.T) / 2)
    notes = []
    if not np.all(vals > 0):
        vals = np.abs(vals) + 1e-6
        notes.append("The variance parameters' posterior is not locally quadratic at its mode; the grid was "
                     "widened accordingly.")
    B = vecs / np.sqrt(vals)                 # eta = mode + B z, z standard at the Laplace approximation
    lp0 = log_post(mode)[0]
    lo, hi = np.zeros(d), np.zeros(d)
    for i in range(d):
        for sign, bound in ((-1, lo), (1, hi)):
            z = 0.0
            while z < 60:
                z += 1.0
                if log_post(mode + B[:, i] * sign * z)[0] - lp0 < -_DROP:
                    break
            bound[i] = sign * z
    axes = [np.arange(lo[i], hi[i] + _STEP / 2, _STEP) for i in range(d)]
    Z = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    eta = mode + Z @ B.T
    lp = chunked(eta)
    w = np.exp(lp - lp.max())
    edge = np.zeros(len(Z), dtype=bool)
    for i in range(d):
        edge |= np.isclose(Z[:, i], axes[i][0]) | np.isclose(Z[:, i], axes[i][-1])
    if w[edge].sum() / w.sum() > 1e-4:
        notes.append(f"{w[edge].sum() / w.sum():.1e} of the posterior mass of the variance parameters lies on the "
                     "edge of the integration grid.")
    keep = w > 1e-14 * w.max()
    eta, w = eta[keep], w[keep] / w[keep].sum()
    sig2, tc2, om, s = unpack(eta)
    _, mean, cov = conditional(st, prior_sd, sig2, tc2, om)
    if not np.all(np.isfinite(mean)):
        raise ModelError("The nested-model posterior could not be computed (non-finite values); check the data.")
    # back to outcome units: intercept at the centred predictors, slopes per unit of x
    scale = np.full(1 + X.shape[1], sy)
    mean = mean * scale
    mean[:, 0] += my
    cov = cov * np.outer(scale, scale)[None]
    scales = {nm: s[nm] * sy for nm in names}
    return NestedPosterior(terms=["Intercept", *terms], w=w, mean=mean, cov=cov, scales=scales, n_grid=int(keep.sum()),
                           notes=tuple(notes))


def _hessian(f, x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian, with steps refined to a tenth of the resulting scale."""
    d = len(x)
    h = np.full(d, 1e-3)
    for _ in range(2):
        H = np.empty((d, d))
        f0 = f(x)
        for i in range(d):
            for j in range(i, d):
                ei, ej = np.eye(d)[i] * h[i], np.eye(d)[j] * h[j]
                if i == j:
                    H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
                else:
                    H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                        4 * h[i] * h[j])
        diag = np.abs(np.diag(H))
        h = np.clip(0.1 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1e-6, 0.1)
    return H


__all__ = ["NestedPosterior", "NestedStats", "conditional", "fit_nested_normal", "nested_stats"]
