"""Linear mixed models by penalized least squares with a sparse Cholesky factor (lme4's ``lmer``).

The formulation of Bates, Mächler, Bolker & Walker (2015, *J. Stat. Softw.* 67(1),
sec. 3): the random effects are b = Lambda_theta u with u ~ N(0, sigma^2 I), and for
each theta the sparse matrix Lambda' Z' Z Lambda + I is factored (CHOLMOD, through
``cvxopt.cholmod``: the same supernodal Cholesky lme4 calls through the Matrix
package; scikit-sparse needs SuiteSparse headers this machine does not have, cvxopt
ships CHOLMOD in its wheel). beta and sigma are profiled out, so the optimizer only
sees theta (eq. 34 for ML, eq. 41 for REML).

This engine fits what statsmodels' MixedLM cannot: independent intercept and slopes
``(x || g)``, several terms on one factor ``(1 | g) + (0 + x | g)``, and crossed
factors ``(1 | student) + (1 | item)``. :func:`~plmresearch.models.frequentist.fit_mixedlm`
hands such formulas here.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import optimize, stats

from plmresearch.errors import InputError, ModelError
from plmresearch.models.formula import MixedFormula, check_data, design, group_key, parse_formula
from plmresearch.models.mixed_fit import MultilevelFit
from plmresearch.validation import check_ci_level, check_flag, count


class LmmFit(MultilevelFit):
    """A :class:`~plmresearch.models.frequentist.MultilevelFit` from the sparse PLS engine."""

    @property
    def method(self) -> str:
        crit = "REML" if self.reml else "ML"
        return (f"multilevel model ({crit}, penalized least squares with a sparse Cholesky factor as in lme4; "
                f"optimizer {self.optimizer})")


# --------------------------------------------------------------------------- structure
@dataclass
class ReTerm:
    """One block of Lambda: a grouping factor with p columns and a p x p lower-triangular template."""

    group: str
    columns: list[str]
    codes: np.ndarray  # level index of each row
    levels: np.ndarray
    z: np.ndarray  # n x p values
    offset: int = 0

    @property
    def p(self) -> int:
        return len(self.columns)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def n_theta(self) -> int:
        return self.p * (self.p + 1) // 2

    def template(self, theta: np.ndarray) -> np.ndarray:
        """Lower-triangular T with theta filled column by column (lme4's order)."""
        t = np.zeros((self.p, self.p))
        rows, cols = _lower_colmajor(self.p)
        t[rows, cols] = theta
        return t


def _lower_colmajor(p: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = [], []
    for c in range(p):
        for r in range(c, p):
            rows.append(r)
            cols.append(c)
    return np.array(rows, dtype=int), np.array(cols, dtype=int)


def random_terms(mf: MixedFormula, data: pd.DataFrame) -> list[ReTerm]:
    """Expand the formula's grouping terms into Lambda blocks; ``||`` splits into scalar terms
    (as lme4 does: ``(x || g)`` is ``(1 | g) + (0 + x | g)``)."""
    out: list[ReTerm] = []
    for t in mf.random:
        z = design(f"~ {t.expr}", data)
        if z.shape[1] == 0:
            raise ModelError(f"The term {t.label} has no intercept or slope.")
        key = group_key(data, t)
        codes, levels = pd.factorize(key, sort=True)
        blocks = [[c] for c in z.columns] if not t.correlated else [list(z.columns)]
        for cols in blocks:
            out.append(ReTerm(t.group, cols, codes.astype(np.int64), np.asarray(levels), z[cols].to_numpy(float)))
    off = 0
    for r in out:
        r.offset = off
        off += r.n_levels * r.p
    return out


class PLSProblem:
    """Profiled (RE)ML deviance of a linear mixed model as a function of theta.

    Precomputes Z'Z, Z'X, Z'y, X'X, X'y once; each evaluation updates Lambda, refactors
    Lambda'Z'Z Lambda + I numerically on a fixed symbolic analysis, and solves.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, terms: list[ReTerm], reml: bool):
        from cvxopt import cholmod, matrix, spmatrix

        self._cholmod, self._matrix = cholmod, matrix
        self.y, self.X, self.terms, self.reml = y, X, terms, reml
        self.n, self.p = X.shape
        self.q = sum(t.n_levels * t.p for t in terms)
        # Z has one entry per row and (term, coefficient): column cols[k][i], value vals[k][i]
        cols = [t.offset + t.codes * t.p + c for t in terms for c in range(t.p)]
        vals = [t.z[:, c] for t in terms for c in range(t.p)]
        rows = np.arange(self.n)
        self.Z = sp.csc_matrix((np.concatenate(vals), (np.tile(rows, len(cols)), np.concatenate(cols))),
                               shape=(self.n, self.q))
        self.ZtZ = (self.Z.T @ self.Z).tocsc()
        self.ZtX = np.asarray(self.Z.T @ X)
        self.Zty = np.asarray(self.Z.T @ y)
        self.XtX, self.Xty = X.T @ X, X.T @ y
        # Lambda's fixed pattern: data = theta[lam_idx]
        lr, lc, li = [], [], []
        self.theta_slices, k = [], 0
        self.lower = []
        for t in terms:
            r0, c0 = _lower_colmajor(t.p)
            lev = np.arange(t.n_levels)
            for j, (r, c) in enumerate(zip(r0, c0)):
                lr.append(t.offset + lev * t.p + r)
                lc.append(t.offset + lev * t.p + c)
                li.append(np.full(t.n_levels, k + j))
            self.theta_slices.append(slice(k, k + t.n_theta))
            self.lower += [0.0 if r == c else -np.inf for r, c in zip(r0, c0)]
            k += t.n_theta
        self.n_theta = k
        lr, lc, li = np.concatenate(lr), np.concatenate(lc), np.concatenate(li)
        pos = sp.csc_matrix((np.arange(1, len(lr) + 1, dtype=float), (lr, lc)), shape=(self.q, self.q))
        self.Lam = pos.copy()
        self.lam_idx = li[pos.data.astype(int) - 1]
        self.diagonal = all(t.p == 1 for t in terms)
        if self.diagonal:
            # Lambda is diagonal, so A = Lambda Z'WZ Lambda + I has the structural pattern of Z'Z
            # (from |Z|'|Z|, where nothing cancels) and its values are scaled entries of Z'WZ
            self.lam_of_col = np.empty(self.q, dtype=np.int64)
            self.lam_of_col[lr] = li
            pattern = self.Z.copy()
            pattern.data[:] = 1.0
            S = sp.tril(pattern.T @ pattern, format="coo")
            self.A_keys = np.sort(S.col.astype(np.int64) * self.q + S.row)
            self._pairs, self._P = (cols, vals), None
        else:
            # symbolic analysis on the pattern of Lambda'Z'Z Lambda + I at a generic theta
            rng = np.random.default_rng(0)
            A = sp.tril(self._A(rng.uniform(0.5, 1.5, self.n_theta)), format="coo")
            self.A_keys = np.sort(A.col.astype(np.int64) * self.q + A.row)
        self.A_rows, self.A_cols = self.A_keys % self.q, self.A_keys // self.q
        if self.diagonal:
            self.ZtZ_lower = self._lower_values(self.ZtZ)
            self._on_diag = (self.A_rows == self.A_cols).astype(float)
        # one CHOLMOD matrix whose values are overwritten at each evaluation (the triplets are
        # already in its column-major order, so the values are stored in the order given)
        self._Asp = spmatrix(matrix(np.ones(len(self.A_keys)) + (self.A_rows == self.A_cols) * self.q),
                             matrix(self.A_rows.astype(int).tolist(), tc="i"),
                             matrix(self.A_cols.astype(int).tolist(), tc="i"), (self.q, self.q))
        with self._supernodal():
            self.F = cholmod.symbolic(self._Asp)
        self.n_evals = 0

    @contextlib.contextmanager
    def _supernodal(self):
        old = dict(self._cholmod.options)
        self._cholmod.options["supernodal"] = 2
        try:
            yield
        finally:
            self._cholmod.options.clear()
            self._cholmod.options.update(old)

    # ---------------------------------------------------------------- pieces
    def lam(self, theta: np.ndarray) -> sp.csc_matrix:
        L = self.Lam.copy()
        L.data = np.asarray(theta, float)[self.lam_idx]
        return L

    def _A(self, theta, ZtZ=None):
        """Lambda' ZtZ Lambda + I for a general (block-diagonal) Lambda."""
        ZtZ = self.ZtZ if ZtZ is None else ZtZ
        L = self.lam(theta)
        return (L.T @ ZtZ @ L + sp.identity(self.q)).tocsc()

    def _lower_values(self, M: sp.spmatrix) -> np.ndarray:
        """The lower triangle of a symmetric sparse M in the order of A's stored entries."""
        T = sp.tril(M, format="coo")
        vals = np.zeros(len(self.A_keys))
        vals[np.searchsorted(self.A_keys, T.col.astype(np.int64) * self.q + T.row)] = T.data
        return vals

    def _weighted_crossprod(self, weights: np.ndarray) -> np.ndarray:
        """Lower triangle of Z'WZ in A's order for a diagonal Lambda, as P @ w: row k of P holds
        z_ia z_ib for the observations i that enter entry k (built on first use, by a GLMM's PIRLS),
        so no sparse product is formed per iteration."""
        if self._P is None:
            cols, vals = self._pairs
            pr, pc, pv = [], [], []
            for a in range(len(cols)):
                for b in range(a, len(cols)):
                    pr.append(np.maximum(cols[a], cols[b]))
                    pc.append(np.minimum(cols[a], cols[b]))
                    pv.append(vals[a] * vals[b])
            entry = np.searchsorted(self.A_keys, np.concatenate(pc) * self.q + np.concatenate(pr))
            self._P = sp.csr_matrix((np.concatenate(pv), (entry, np.tile(np.arange(self.n), len(pv)))),
                                    shape=(len(self.A_keys), self.n))
        return self._P @ weights

    def _factor(self, theta, weights: np.ndarray | None = None) -> float:
        """Factor Lambda' Z'WZ Lambda + I (W = I unless ``weights`` are given, as in a GLMM's PIRLS);
        return its log-determinant."""
        theta = np.asarray(theta, float)
        if self.diagonal:
            lam = theta[self.lam_of_col]
            m = self.ZtZ_lower if weights is None else self._weighted_crossprod(weights)
            vals = lam[self.A_rows] * m * lam[self.A_cols] + self._on_diag
        else:
            ZtZ = None if weights is None else (self.Z.T @ sp.diags(weights) @ self.Z).tocsc()
            vals = self._lower_values(self._A(theta, ZtZ=ZtZ))
        self._Asp.V = self._matrix(vals)
        with self._supernodal():
            self._cholmod.numeric(self._Asp, self.F)
        return 2.0 * float(np.sum(np.log(np.asarray(self._cholmod.diag(self.F)).ravel())))

    def solve(self, B: np.ndarray) -> np.ndarray:
        Bm = self._matrix(np.asfortranarray(B, dtype=float))
        self._cholmod.solve(self.F, Bm)
        return np.asarray(Bm).reshape(B.shape)

    def fit_at(self, theta: np.ndarray) -> dict:
        """Everything at theta: deviance, beta, u, sigma^2, RX'RX, log-determinants."""
        theta = np.asarray(theta, float)
        logdet_a = self._factor(theta)
        L = self.lam(theta)
        LtZtX, LtZty = np.asarray(L.T @ self.ZtX), np.asarray(L.T @ self.Zty)
        M = self.solve(np.column_stack([LtZtX, LtZty]).reshape(self.q, self.p + 1))
        MX, My = M[:, : self.p], M[:, self.p]
        RXtRX = self.XtX - LtZtX.T @ MX
        RXtRX = (RXtRX + RXtRX.T) / 2
        try:
            cx = np.linalg.cholesky(RXtRX)
        except np.linalg.LinAlgError:
            raise ModelError("The fixed-effects design is rank deficient given the random effects; "
                             "drop a collinear predictor.") from None
        beta = np.linalg.solve(RXtRX, self.Xty - LtZtX.T @ My)
        u = My - MX @ beta
        resid = self.y - self.X @ beta - self.Z @ (L @ u)
        r2 = float(resid @ resid + u @ u)
        logdet_x = 2.0 * float(np.sum(np.log(np.diag(cx))))
        if self.reml:
            nu = self.n - self.p
            dev = logdet_a + logdet_x + nu * (1 + math.log(2 * math.pi * r2 / nu))
            sigma2 = r2 / nu
        else:
            dev = logdet_a + self.n * (1 + math.log(2 * math.pi * r2 / self.n))
            sigma2 = r2 / self.n
        return {"deviance": dev, "beta": beta, "u": u, "b": L @ u, "sigma2": sigma2, "RXtRX": RXtRX,
                "logdet_a": logdet_a, "logdet_x": logdet_x, "r2": r2, "resid": resid}

    def deviance(self, theta) -> float:
        self.n_evals += 1
        try:
            return self.fit_at(theta)["deviance"]
        except (ArithmeticError, ModelError):
            return np.inf

    def start(self) -> np.ndarray:
        return np.array([0.0 if lo == -np.inf else 1.0 for lo in self.lower])

    def bounds(self) -> list[tuple[float | None, float | None]]:
        return [(None if lo == -np.inf else 0.0, None) for lo in self.lower]


# --------------------------------------------------------------------------- optimizer
def minimize_theta(fun, x0, bounds, tol: float = 1e-12) -> tuple[np.ndarray, float, pd.DataFrame]:
    """Bounded minimization of a profiled deviance: L-BFGS-B, then Nelder-Mead, then Newton polish.

    Returns the best point, its value and one row per stage (the value each stage reached).
    The Newton polish (central differences) takes the estimate to the precision the
    deviance allows, where lme4's BOBYQA stops at about 1e-7 relative.
    """
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    trials = []
    x, fx = np.asarray(x0, float), fun(x0)
    trials.append({"optimizer": "start", "llf": -fx / 2, "converged": True, "error": None})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for meth, opts in (("L-BFGS-B", {"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9}),
                           ("Nelder-Mead", {"maxiter": 4000, "xatol": 1e-9, "fatol": 1e-12, "adaptive": True})):
            if meth == "Nelder-Mead" and trials[-1]["converged"]:
                continue  # the derivative-free fallback runs only when L-BFGS-B did not converge
            try:
                r = optimize.minimize(fun, x, method=meth, bounds=bounds, options=opts)
                trials.append({"optimizer": meth.lower(), "llf": -float(r.fun) / 2, "converged": bool(r.success),
                               "error": None})
                if np.isfinite(r.fun) and r.fun <= fx:
                    x, fx = np.maximum(np.asarray(r.x, float), lo), float(r.fun)
            except Exception as exc:  # a failed stage is recorded, not fatal
                trials.append({"optimizer": meth.lower(), "llf": np.nan, "converged": False, "error": str(exc)[:200]})
    x, fx, ok = _newton_polish(fun, x, fx, lo)
    trials.append({"optimizer": "newton polish", "llf": -fx / 2, "converged": ok, "error": None})
    return x, fx, pd.DataFrame(trials)


def _newton_polish(fun, x, fx, lo, iters: int = 8):
    """Newton steps on the free (off-boundary) coordinates with central-difference derivatives."""
    ok = False
    for _ in range(iters):
        free = ~(np.isclose(x, lo) & np.isfinite(lo))
        idx = np.flatnonzero(free)
        if len(idx) == 0:
            return x, fx, True
        h = 1e-4 * np.maximum(np.abs(x[idx]), 1e-2)
        k = len(idx)
        g = np.zeros(k)
        H = np.zeros((k, k))
        fp = np.zeros(k)
        fm = np.zeros(k)
        for a in range(k):
            e = np.zeros_like(x)
            e[idx[a]] = h[a]
            fp[a], fm[a] = fun(x + e), fun(x - e)
            g[a] = (fp[a] - fm[a]) / (2 * h[a])
            H[a, a] = (fp[a] - 2 * fx + fm[a]) / h[a] ** 2
        for a in range(k):
            for b in range(a + 1, k):
                ea, eb = np.zeros_like(x), np.zeros_like(x)
                ea[idx[a]], eb[idx[b]] = h[a], h[b]
                H[a, b] = H[b, a] = (fun(x + ea + eb) - fp[a] - fp[b] + 2 * fx - fm[a] - fm[b] + fun(x - ea - eb)) / (2 * h[a] * h[b])
        try:
            if np.any(np.linalg.eigvalsh(H) <= 0):
                break
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        # a step is kept when the deviance does not rise beyond its rounding noise: near the
        # optimum the deviance is flat to 1e-14 while the gradient still points the way
        noise = 1e-13 * max(1.0, abs(fx))
        t = 1.0
        moved = False
        for _ in range(20):
            xn = x.copy()
            xn[idx] -= t * step
            xn = np.maximum(xn, lo)
            fn = fun(xn)
            if fn <= fx + noise:
                moved = True
                x, fx = xn, min(fn, fx)
                break
            t /= 2
        if not moved or np.max(np.abs(t * step)) < 1e-10 * max(1.0, float(np.max(np.abs(x)))):
            ok = bool(np.max(np.abs(g)) < 1e-4)
            break
    return x, fx, ok


# --------------------------------------------------------------------------- fit
def fit_lmm(formula: str | MixedFormula, data: pd.DataFrame, *, reml: bool = True, ci_level: float = 0.95,
            threads: int | None = 1):
    """Fit a linear mixed model by penalized least squares (Bates et al. 2015), lme4's ``lmer``.

    Any grouping structure: correlated or independent (``||``) terms, several terms on
    one factor, nested and crossed factors. Returns a
    :class:`~plmresearch.models.frequentist.MultilevelFit` whose ``vcov`` is lme4's
    ``vcov`` (sigma^2 (R_X' R_X)^{-1}) and whose ``optimizer_trials`` lists each stage.
    """
    mf = parse_formula(formula) if isinstance(formula, str) else formula
    reml = check_flag(reml, "reml")
    check_ci_level(ci_level)
    check_threads(threads)
    used = check_data(mf, data)
    x = design(f"~ {mf.fixed_rhs}", used)
    terms = random_terms(mf, used)
    if len(used) <= x.shape[1]:
        raise InputError(f"{len(used)} complete rows for {x.shape[1]} fixed effects; the model cannot be estimated.")
    with blas_threads(threads):
        prob = PLSProblem(used[mf.outcome].to_numpy(float), x.to_numpy(), terms, reml)
        theta, dev, trials = minimize_theta(prob.deviance, prob.start(), prob.bounds())
        st = prob.fit_at(theta)
        return _result(LmmFit, mf, used, x, terms, prob, theta, st, trials, reml, ci_level)


def check_threads(threads: int | None) -> None:
    """``threads``: None (BLAS decides) or a whole number >= 1."""
    if threads is not None:
        count(threads, "threads")


def blas_threads(threads: int | None):
    """Limit BLAS threads during a fit: the dense pieces are small, and on a loaded machine
    oversubscribed BLAS threads made each InstEval evaluation 5 times slower."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def variance_table(terms: list[ReTerm], theta: np.ndarray, slices, sigma2: float | None) -> pd.DataFrame:
    """lme4 ``VarCorr`` layout: sigma^2 T T' per block (T T' when ``sigma2`` is None, as in a GLMM)."""
    rows = []
    scale = 1.0 if sigma2 is None else sigma2
    for t, sl in zip(terms, slices):
        T = t.template(theta[sl])
        S = scale * T @ T.T
        for i, a in enumerate(t.columns):
            rows.append({"group": t.group, "term1": a, "term2": None, "variance": S[i, i],
                         "sd_cor": math.sqrt(max(S[i, i], 0))})
        for i in range(t.p):
            for j in range(i + 1, t.p):
                den = math.sqrt(max(S[i, i] * S[j, j], 0))
                rows.append({"group": t.group, "term1": t.columns[i], "term2": t.columns[j], "variance": S[i, j],
                             "sd_cor": S[i, j] / den if den > 0 else np.nan})
    if sigma2 is not None:
        rows.append({"group": "Residual", "term1": None, "term2": None, "variance": sigma2,
                     "sd_cor": math.sqrt(sigma2)})
    return pd.DataFrame(rows)


def fixed_table(names, beta, vcov, ci_level) -> pd.DataFrame:
    zcrit = stats.norm.ppf(0.5 + ci_level / 2)
    se = np.sqrt(np.diag(vcov))
    fixed = pd.DataFrame({"term": names, "estimate": beta, "std_error": se})
    fixed["statistic"] = fixed["estimate"] / fixed["std_error"]
    fixed["p_value"] = 2 * stats.norm.sf(np.abs(fixed["statistic"]))
    fixed["ci_low"] = fixed["estimate"] - zcrit * fixed["std_error"]
    fixed["ci_high"] = fixed["estimate"] + zcrit * fixed["std_error"]
    return fixed


def random_effects_table(terms: list[ReTerm], b: np.ndarray, cond_sd: np.ndarray | None) -> pd.DataFrame:
    rows = []
    for t in terms:
        for c, name in enumerate(t.columns):
            ix = t.offset + np.arange(t.n_levels) * t.p + c
            rows.append(pd.DataFrame({"level": t.group, "group": t.levels.astype(str), "term": name,
                                      "estimate": b[ix], "std_error": np.nan if cond_sd is None else cond_sd[ix]}))
    return pd.concat(rows, ignore_index=True)


def conditional_sd(prob: PLSProblem, theta: np.ndarray, scale: float, max_q: int = 1000) -> np.ndarray | None:
    """SDs of b given y: sqrt(diag(scale * Lambda A^{-1} Lambda')), lme4's ``condVar`` (q <= max_q)."""
    if prob.q > max_q:
        return None
    L = prob.lam(theta).toarray()
    Ainv = prob.solve(np.eye(prob.q))
    return np.sqrt(np.clip(scale * np.einsum("ij,jk,ik->i", L, Ainv, L), 0, None))


def _result(cls, mf, used, x, terms, prob, theta, st, trials, reml, ci_level):
    sigma2 = st["sigma2"]
    vcov = sigma2 * np.linalg.inv(st["RXtRX"])
    names = list(x.columns)
    fixed = fixed_table(names, st["beta"], vcov, ci_level)
    vc = variance_table(terms, theta, prob.theta_slices, sigma2)
    prob.fit_at(theta)  # refactor at the optimum for the conditional SDs
    re = random_effects_table(terms, st["b"], conditional_sd(prob, theta, sigma2))
    n_groups = {}
    for t in terms:
        n_groups.setdefault(t.group, t.n_levels)
    n_params = prob.p + prob.n_theta + 1
    notes = []
    if used.attrs.get("n_dropped"):
        notes.append(f"{used.attrs['n_dropped']} row(s) with missing values in the formula's columns were dropped.")
    diag_theta = [theta[sl][np.r_[[r == c for r, c in zip(*_lower_colmajor(t.p))]]] for t, sl in zip(terms, prob.theta_slices)]
    if np.any(np.concatenate(diag_theta) < 1e-4):
        notes.append("A variance component is estimated at (or near) zero: a singular fit; consider a simpler random part.")
    opt = " + ".join(str(o) for o in trials["optimizer"] if o != "start")
    fit = cls(formula=mf.formula, fixed_effects=fixed, variance_components=vc, sigma2=sigma2, llf=-st["deviance"] / 2,
              reml=reml, optimizer=opt, optimizer_trials=trials, n_obs=prob.n, n_groups=n_groups, n_params=n_params,
              ci_level=ci_level, notes=tuple(notes), random_effects=re, reliability_by_group=None,
              extra={"engine": "pls", "theta": theta, "parsed": mf, "vcov": pd.DataFrame(vcov, index=names, columns=names),
                     "n_evaluations": prob.n_evals, "problem": prob})
    return fit


def needs_pls(mf: MixedFormula, data: pd.DataFrame) -> bool:
    """True when statsmodels' MixedLM cannot express the random part: independent terms at the
    outermost level, several terms on one factor, or crossed factors."""
    groups = [t.group for t in mf.random]
    if len(set(groups)) < len(groups):
        return True
    used = data.dropna(subset=[c for c in mf.variables() if c in data.columns])
    keys = {t.group: group_key(used, t) for t in mf.random}
    terms = sorted(mf.random, key=lambda t: keys[t.group].nunique())
    if not terms[0].correlated and design(f"~ {terms[0].expr}", used.head(50)).shape[1] > 1:
        return True
    for outer, inner in zip(terms, terms[1:]):
        per_inner = pd.Series(keys[outer.group].values).groupby(keys[inner.group].values).nunique()
        if (per_inner > 1).any():
            return True
    return False


__all__ = ["LmmFit", "PLSProblem", "ReTerm", "fit_lmm", "minimize_theta", "needs_pls", "profile_ci", "random_terms"]


# --------------------------------------------------------------------------- profile intervals
def _deviance_sigma(prob: PLSProblem, theta, sigma) -> float:
    """(RE)ML deviance at (theta, sigma) with beta at its conditional optimum (Bates et al. 2015, eq. 32/39
    before sigma is profiled out)."""
    st = prob.fit_at(theta)
    nu = prob.n - prob.p if prob.reml else prob.n
    dev = st["logdet_a"] + st["r2"] / sigma**2 + nu * math.log(2 * math.pi * sigma**2)
    return dev + (st["logdet_x"] if prob.reml else 0.0)


def profile_ci(fit, level: float | None = None) -> pd.DataFrame:
    """Profile-likelihood intervals for the random-effect SDs and the residual SD (lme4's
    ``confint(fit, method = "profile")``), for fits of the PLS engine whose random terms are all
    scalar (random intercepts, independent ``||`` slopes).

    For each SD s the (RE)ML deviance is minimized over the other SDs with s held fixed;
    the interval is where that profile stays within ``chi2_1(level)`` of the minimum
    (Bates et al. 2015, sec. 5.1; Bates, *lme4* book, ch. 1.5).
    """
    prob = fit.extra.get("problem") if isinstance(getattr(fit, "extra", None), dict) else None
    if prob is None:
        raise ModelError("profile_ci needs a fit of the PLS engine: multilevel(..., engine='pls').")
    if not prob.diagonal:
        raise ModelError("Profile intervals are implemented for scalar random terms only (intercepts and "
                         "independent '||' slopes); this fit has a correlated term.")
    level = fit.ci_level if level is None else level
    check_ci_level(level, "level")
    crit = stats.chi2.ppf(level, 1)
    theta_hat = np.asarray(fit.extra["theta"], float)
    sigma_hat = math.sqrt(fit.sigma2)
    s_hat = np.r_[sigma_hat * theta_hat, sigma_hat]  # SDs of the terms, then sigma
    d_min = _deviance_sigma(prob, theta_hat, sigma_hat)
    k = len(theta_hat)

    def profile(j: int, value: float) -> float:
        # free parameters: log of the other SDs (and sigma, unless it is the target)
        others = [i for i in range(k + 1) if i != j]

        def dev(z):
            s = np.empty(k + 1)
            s[j] = value
            s[others] = np.exp(z)
            return _deviance_sigma(prob, s[:k] / s[k], s[k])

        z0 = np.log(np.maximum(s_hat[others], 1e-8 * sigma_hat))
        r = optimize.minimize(dev, z0, method="L-BFGS-B", options={"ftol": 1e-13, "gtol": 1e-9})
        return float(r.fun) - d_min - crit

    rows = []
    names = [f"sd_({t.columns[0]}|{t.group})" for t in prob.terms] + ["sigma"]
    groups = [t.group for t in prob.terms] + ["Residual"]
    terms = [t.columns[0] for t in prob.terms] + [None]
    for j in range(k + 1):
        est = s_hat[j]
        lo = 0.0
        if est > 0 and (j == k or profile(j, 1e-8 * max(est, sigma_hat)) > 0):
            a = est
            while profile(j, a / 2) < 0 and a > 1e-8:
                a /= 2
            lo = optimize.brentq(lambda v: profile(j, v), a / 2, est, xtol=1e-10 * est) if a > 1e-8 else 0.0
        b = max(est, 1e-3 * sigma_hat) * 2
        while profile(j, b) < 0:
            b *= 2
        hi = optimize.brentq(lambda v: profile(j, v), est if est > 0 else 1e-12, b, xtol=1e-10 * b)
        rows.append({"parameter": names[j], "group": groups[j], "term": terms[j], "estimate": est,
                     "ci_low": lo, "ci_high": hi, "ci_level": level, "method": "profile likelihood"})
    return pd.DataFrame(rows)
