"""Fixed- and random-effects meta-analysis and meta-regression (inverse variance).

Estimators follow metafor's ``rma.uni`` (Viechtbauer 2005, 2010):

* ``FE`` (inverse variance), ``DL`` (DerSimonian & Laird 1986, generalized to
  moderators: ``τ² = (Q_E - (k - p))/tr(P)``), ``REML`` (Fisher scoring of the restricted
  likelihood, run to 1e-12), ``PM`` (Paule & Mandel 1982: the generalized Q equals ``k - p``);
* ``test="knha"``: Hartung & Knapp (2001) / Knapp & Hartung (2003) variance factor
  ``s² = Σw*(y - Xb)²/(k - p)`` (not truncated), t with ``k - p`` df;
* ``I² = 100 τ²/(τ² + s²)``, ``s² = (k - p)/tr(P)``, ``H² = (τ² + s²)/s²``; for FE
  ``I² = 100 (Q - df)/Q`` and ``H² = Q/df`` (Higgins & Thompson 2002);
* prediction interval ``μ̂ ± crit·sqrt(SE² + τ²)`` with crit z or ``t_{k-p}`` (metafor 3.8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from plmresearch.effects._common import check_choice, check_level
from plmresearch.errors import InputError, ModelError
from plmresearch.results import Record, Result
from plmresearch.validation import array_1d, require_columns, require_scale, same_length

METHODS = ("FE", "DL", "REML", "PM", "ML", "HE", "SJ", "HS", "EB")
TESTS = ("z", "knha")


# ----------------------------------------------------------------------------- inputs


def _inputs(yi: Any, vi: Any, data: pd.DataFrame | None, labels: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if data is not None:
        if not isinstance(data, pd.DataFrame):
            raise InputError(f"`data` must be a pandas DataFrame, got {type(data).__name__}.")
        cols = [c for c in (yi, vi, labels) if isinstance(c, str)]
        require_columns(data, cols, what="meta-analysis data")
        yi = data[yi] if isinstance(yi, str) else yi
        vi = data[vi] if isinstance(vi, str) else vi
        labels = data[labels] if isinstance(labels, str) else labels
    y, v = array_1d(yi, "yi"), array_1d(vi, "vi")
    same_length([y, v], ["yi", "vi"])
    if (v <= 0).any():
        i = int(np.argmax(v <= 0))
        raise InputError(f"`vi` must be positive sampling variances; vi[{i}] = {v[i]!r}.")
    require_scale(y, "yi", "Argument", small=False)
    require_scale(v, "vi", "Argument", each=True)  # weights 1/vi must not overflow
    if len(y) < 2:
        raise InputError(f"A meta-analysis needs at least 2 studies, got {len(y)}.")
    if labels is None:
        labs = [f"Study {i + 1}" for i in range(len(y))]
    else:
        labs = [str(x) for x in labels]
        if len(labs) != len(y):
            raise InputError(f"`labels` has {len(labs)} entries but `yi` has {len(y)}.")
    return y, v, labs


def _design(moderators: Any, data: pd.DataFrame | None, k: int) -> tuple[np.ndarray, list[str]]:
    if moderators is None:
        return np.ones((k, 1)), ["intercept"]
    if isinstance(moderators, str):
        moderators = [moderators]
    if isinstance(moderators, (list, tuple)) and all(isinstance(m, str) for m in moderators):
        if data is None:
            raise InputError("Moderators given by column name need `data`.")
        require_columns(data, moderators, what="meta-analysis data")
        mods = data[list(moderators)]
    elif isinstance(moderators, pd.Series):
        mods = moderators.to_frame()
    elif isinstance(moderators, pd.DataFrame):
        mods = moderators
    else:
        a = np.asarray(moderators, dtype=float)
        a = a.reshape(-1, 1) if a.ndim == 1 else a
        mods = pd.DataFrame(a, columns=[f"x{i + 1}" for i in range(a.shape[1])])
    try:
        m = mods.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise InputError("Moderators must be numeric; dummy-code categorical moderators first "
                         "(e.g. pandas.get_dummies(..., drop_first=True)).") from None
    if m.shape[0] != k:
        raise InputError(f"Moderators have {m.shape[0]} rows but there are {k} studies.")
    if not np.isfinite(m).all():
        raise InputError("Moderators contain NaN or infinite values.")
    X = np.column_stack([np.ones(k), m])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise InputError("The moderators are collinear (or constant); drop redundant ones.")
    return X, ["intercept"] + [str(c) for c in mods.columns]


# ----------------------------------------------------------------------------- core fit


def _p_stats(X: np.ndarray, w: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``P y``, ``tr(P)`` and ``tr(P²)`` for ``P = W - WX(X'WX)⁻¹X'W`` without forming k x k matrices."""
    A_inv = np.linalg.inv((X.T * w) @ X)
    b = A_inv @ ((X.T * w) @ y)
    py = w * (y - X @ b)
    b2 = (X.T * w**2) @ X
    b3 = (X.T * w**3) @ X
    ab2 = A_inv @ b2
    tr_p = float(w.sum() - np.trace(ab2))
    tr_pp = float((w**2).sum() - 2 * np.trace(A_inv @ b3) + np.trace(ab2 @ ab2))
    return py, tr_p, tr_pp


def _tau2(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str) -> tuple[float, int]:
    k, p = X.shape
    if method == "FE":
        return 0.0, 0
    if method == "DL":
        py, tr_p, _ = _p_stats(X, 1 / v, y)
        qe = float(y @ py)
        return max(0.0, (qe - (k - p)) / tr_p), 0
    if method == "PM":
        def gen_q(t2: float) -> float:
            return float(y @ _p_stats(X, 1 / (v + t2), y)[0]) - (k - p)

        if gen_q(0.0) <= 0:
            return 0.0, 0
        hi = max(1.0, float(np.var(y)) * 10)
        while gen_q(hi) > 0:
            hi *= 10
            if hi > 1e12:
                raise ModelError("Paule-Mandel estimator did not find a root for tau^2.")
        return float(optimize.brentq(gen_q, 0.0, hi, xtol=1e-14, rtol=1e-14)), 0
    if method == "HS":  # Hunter & Schmidt: (Q - k) / sum(w)
        py, _, _ = _p_stats(X, 1 / v, y)
        return max(0.0, (float(y @ py) - k) / float(np.sum(1 / v))), 0
    if method == "SJ":  # Sidik & Jonkman (2005), started at the variance of y (metafor rma.uni)
        t0 = float(np.var(y))
        py, _, _ = _p_stats(X, 1 / (v + t0), y)
        return t0 * float(y @ py) / (k - p), 0
    # HE (Hedges 1983, OLS residuals) is also the start of ML, REML and EB (metafor rma.uni)
    ols_inv = np.linalg.inv(X.T @ X)
    resid = y - X @ (ols_inv @ (X.T @ y))
    tr_pv = float(v.sum() - np.trace(ols_inv @ ((X.T * v) @ X)))
    t2 = max(0.0, (float(resid @ resid) - tr_pv) / (k - p))
    if method == "HE":
        return t2, 0
    # Fisher scoring (metafor rma.uni), halving steps that would go below 0:
    # REML tau2 += (y'PPy - tr(P)) / tr(PP); ML (y'PPy - sum w) / sum w^2; EB (k/(k-p) y'Py - k) / sum w.
    for it in range(1, 1001):
        w = 1 / (v + t2)
        py, tr_p, tr_pp = _p_stats(X, w, y)
        if method == "ML":
            adj = (float(py @ py) - float(w.sum())) / float(np.sum(w**2))
        elif method == "EB":
            adj = (float(y @ py) * k / (k - p) - k) / float(w.sum())
        else:
            adj = (float(py @ py) - tr_p) / tr_pp
        while t2 + adj < 0:
            adj /= 2
            if abs(adj) < 1e-15:
                adj = -t2
                break
        t2 += adj
        if abs(adj) < 1e-12:
            return max(0.0, t2), it
    raise ModelError(f"{method} estimation of tau^2 did not converge in 1000 iterations for these effect sizes (`yi`) "
                     "and variances (`vi`); check them, or use a non-iterative estimator (method='DL').")


def _se_tau2(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, tau2: float) -> float:
    """Standard error of tau^2 as metafor 3.8 ``rma.uni`` reports it (``se.tau2``), per estimator."""
    k, p = X.shape
    t = max(tau2, 0.0)

    def p_mat(w):
        xw = X.T * w
        return np.diag(w) - xw.T @ np.linalg.inv(xw @ X) @ xw

    if method == "FE":
        return float("nan")
    if method in ("HS", "DL"):
        pm = p_mat(1 / v)
        denom = float(np.sum(1 / v)) if method == "HS" else float(np.trace(pm))
        return math.sqrt((2 * (k - p) + 4 * t * np.trace(pm) + 2 * t**2 * np.sum(pm * pm)) / denom**2)
    if method == "HE":
        pv = (np.eye(k) - X @ np.linalg.inv(X.T @ X) @ X.T) * v
        return math.sqrt((2 * np.sum(pv * pv.T) + 4 * t * np.trace(pv) + 2 * t**2 * (k - p)) / (k - p) ** 2)
    if method == "SJ":
        t0 = float(np.var(y))
        pm = p_mat(1 / (v + t0))
        pv = pm * v
        return math.sqrt(t0**2 / (k - p) ** 2 * (2 * np.sum(pv * pv.T) + 4 * t * np.sum(pv * pm)
                                                   + 2 * t**2 * np.sum(pm * pm)))
    w = 1 / (v + tau2)
    if method == "ML":
        return math.sqrt(2 / float(np.sum(w**2)))
    if method == "REML":
        pm = p_mat(w)
        return math.sqrt(2 / float(np.sum(pm * pm)))
    return math.sqrt(2 * k**2 / (k - p) / float(w.sum()) ** 2)  # EB, PM


@dataclass(frozen=True)
class _Fit:
    b: np.ndarray
    vb: np.ndarray
    tau2: float
    qe: float
    qe_df: int
    s2_knha: float
    i2: float
    h2: float
    crit: float
    dist_df: float | None
    weights: np.ndarray


def _fit(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, test: str, ci_level: float) -> _Fit:
    k, p = X.shape
    if k - p < 1:
        raise InputError(f"{k} studies are too few for {p} coefficient(s); need at least {p + 1}.")
    w0 = 1 / v
    py0, tr_p0, _ = _p_stats(X, w0, y)
    qe = float(y @ py0)
    tau2, _ = _tau2(y, v, X, method)
    w = 1 / (v + tau2)
    XtW = X.T * w
    vb = np.linalg.inv(XtW @ X)
    b = vb @ (XtW @ y)
    resid = y - X @ b
    s2k = float(np.sum(w * resid**2) / (k - p))
    if test == "knha":
        vb = vb * s2k
        dist_df: float | None = k - p
        crit = float(stats.t.ppf(0.5 + ci_level / 2, k - p))
    else:
        dist_df = None
        crit = float(stats.norm.ppf(0.5 + ci_level / 2))
    if method == "FE":
        i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p)
    else:
        s2 = (k - p) / tr_p0
        i2 = 100 * tau2 / (tau2 + s2)
        h2 = (tau2 + s2) / s2
    return _Fit(b, vb, tau2, qe, k - p, s2k, i2, h2, crit, dist_df, w / w.sum())


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MetaAnalysis(Record):
    """Result of :func:`meta_analysis` (intercept-only model).

    Plot it with :func:`plmresearch.effects.plots.forest_plot` or ``funnel_plot`` (the plots
    take the fitted result; this module does not import them, so there is no import cycle).
    """

    _columns: ClassVar[list[str]] = [
        "method", "test", "k", "estimate", "std_error", "ci_low", "ci_high", "ci_level", "statistic",
        "df", "p_value", "tau2", "i2", "h2", "q", "q_df", "q_p_value", "pi_low", "pi_high"]
    _hidden: ClassVar[frozenset[str]] = frozenset({"yi", "vi", "labels", "weights"})

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    pi_low: float
    pi_high: float
    method: str
    test: str
    ci_level: float
    k: int
    df: float | None = None
    se_tau2: float = float("nan")
    yi: np.ndarray = field(default=None, repr=False, compare=False)
    vi: np.ndarray = field(default=None, repr=False, compare=False)
    labels: tuple[str, ...] = field(default=(), repr=False, compare=False)
    weights: np.ndarray = field(default=None, repr=False, compare=False)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    def studies(self) -> pd.DataFrame:
        """Per-study table: estimate, variance, CI (normal) and weight (%) in this model."""
        se = np.sqrt(self.vi)
        z = stats.norm.ppf(0.5 + self.ci_level / 2)
        return pd.DataFrame({"study": self.labels, "yi": self.yi, "vi": self.vi, "ci_low": self.yi - z * se,
                             "ci_high": self.yi + z * se, "weight_pct": 100 * self.weights})

    def _title(self) -> str:
        return f"{'Fixed-effect' if self.method == 'FE' else 'Random-effects'} meta-analysis"

    def _summary_lines(self) -> list[str]:
        lvl = round(self.ci_level * 100)
        stat = "t" if self.test == "knha" else "z"
        lines = [
            f"{'Fixed-effect' if self.method == 'FE' else 'Random-effects'} meta-analysis (k = {self.k}; "
            f"tau^2 estimator: {self.method}; test: {self.test})",
            f"estimate {self.estimate:.4f}  SE {self.std_error:.4f}  {stat} {self.statistic:.4f}  p {self.p_value:.4g}",
            f"{lvl}% CI [{self.ci_low:.4f}, {self.ci_high:.4f}]",
            f"tau^2 {self.tau2:.4f}  I^2 {self.i2:.2f}%  H^2 {self.h2:.2f}",
            f"Q({self.q_df}) = {self.q:.4f}, p = {self.q_p_value:.4g}",
        ]
        if not math.isnan(self.pi_low):
            lines.append(f"{lvl}% prediction interval [{self.pi_low:.4f}, {self.pi_high:.4f}]")
        return lines

    def egger_test(self, model: str = "rma") -> pd.DataFrame:
        """Egger's regression test for funnel-plot asymmetry (see :func:`egger_test`)."""
        return egger_test(self.yi, self.vi, model=model, method=self.method if model == "rma" else "FE")


@dataclass(frozen=True)
class MetaRegression(Result):
    """Result of :func:`meta_regression`."""

    coefficients: pd.DataFrame
    tau2: float
    i2: float
    h2: float
    qe: float
    qe_df: int
    qe_p_value: float
    qm: float
    qm_df: int
    qm_p_value: float
    method: str
    test: str
    ci_level: float
    k: int
    r2: float = float("nan")
    se_tau2: float = float("nan")
    vb: np.ndarray = field(default=None, repr=False, compare=False)
    crit: float = field(default=float("nan"), repr=False, compare=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.coefficients.copy()

    def _title(self) -> str:
        return "Meta-regression"

    def _summary_lines(self) -> list[str]:
        qm = "F" if self.test == "knha" else "QM"
        return [f"Meta-regression (k = {self.k}; {self.method}; test {self.test}); tau^2 = {self.tau2:.4f}, "
                f"I^2 = {self.i2:.2f}%\nQE({self.qe_df}) = {self.qe:.4f}, p = {self.qe_p_value:.4g}; "
                f"{qm}({self.qm_df}) = {self.qm:.4f}, p = {self.qm_p_value:.4g}\n"
                + self.coefficients.to_string(index=False, float_format=lambda x: f"{x:.4f}")]


# ----------------------------------------------------------------------------- public API


def _check_opts(method: str, test: str, ci_level: float) -> tuple[str, str, float]:
    method = check_choice(method, "method", METHODS)
    test = check_choice(test, "test", TESTS)
    return method, test, check_level(ci_level)


def meta_analysis(yi: Any, vi: Any, method: str = "REML", test: str = "z", *, data: pd.DataFrame | None = None,
                  labels: Any = None, ci_level: float = 0.95) -> MetaAnalysis:
    """Combine effect sizes ``yi`` with sampling variances ``vi``.

    Parameters
    ----------
    yi, vi : array-like, or column names of ``data``
    method : {"FE", "DL", "REML", "PM", "ML", "HE", "SJ", "HS", "EB"}
        Fixed effect, or the between-study variance estimator of a random-effects model
        (metafor's names: maximum likelihood, Hedges, Sidik-Jonkman, Hunter-Schmidt, empirical Bayes).
    test : {"z", "knha"}
        Normal-theory inference, or the Hartung-Knapp(-Sidik-Jonkman) adjustment.
    labels : study labels (or a column of ``data``), used by the plots.

    Equals metafor ``rma(yi, vi, method=..., test=...)`` (see the module docstring).
    """
    method, test, ci_level = _check_opts(method, test, ci_level)
    y, v, labs = _inputs(yi, vi, data, labels)
    k = len(y)
    f = _fit(y, v, np.ones((k, 1)), method, test, ci_level)
    est, se = float(f.b[0]), float(math.sqrt(f.vb[0, 0]))
    stat = est / se
    p = float(2 * (stats.t.sf(abs(stat), f.dist_df) if f.dist_df else stats.norm.sf(abs(stat))))
    if method == "FE":
        pi_lo = pi_hi = float("nan")
    else:
        half = f.crit * math.sqrt(se**2 + f.tau2)
        pi_lo, pi_hi = est - half, est + half
    return MetaAnalysis(
        estimate=est, std_error=se, ci_low=est - f.crit * se, ci_high=est + f.crit * se, statistic=stat,
        p_value=p, tau2=f.tau2, i2=f.i2, h2=f.h2, q=f.qe, q_df=f.qe_df,
        q_p_value=float(stats.chi2.sf(f.qe, f.qe_df)), pi_low=pi_lo, pi_high=pi_hi, method=method, test=test,
        ci_level=ci_level, k=k, df=f.dist_df, se_tau2=_se_tau2(y, v, np.ones((k, 1)), method, f.tau2), yi=y, vi=v,
        labels=tuple(labs), weights=f.weights,
    )


def meta_regression(yi: Any, vi: Any, moderators: Any, method: str = "REML", test: str = "z", *,
                    data: pd.DataFrame | None = None, ci_level: float = 0.95) -> MetaRegression:
    """Mixed-effects meta-regression of ``yi`` on ``moderators`` (an intercept is added).

    ``moderators``: column name(s) of ``data``, a DataFrame/Series, or an array.
    Omnibus test of the moderators: ``QM = b'V⁻¹b`` (chi-square, ``z`` test) or ``QM/m``
    (F with ``m, k - p`` df, ``knha``), as metafor ``rma(yi, vi, mods = ~ ...)``.
    """
    method, test, ci_level = _check_opts(method, test, ci_level)
    y, v, _ = _inputs(yi, vi, data, None)
    X, names = _design(moderators, data, len(y))
    k, p = X.shape
    f = _fit(y, v, X, method, test, ci_level)
    se = np.sqrt(np.diag(f.vb))
    stat = f.b / se
    if f.dist_df:
        pv = 2 * stats.t.sf(np.abs(stat), f.dist_df)
    else:
        pv = 2 * stats.norm.sf(np.abs(stat))
    coef = pd.DataFrame({"term": names, "estimate": f.b, "std_error": se, "statistic": stat, "p_value": pv,
                         "ci_low": f.b - f.crit * se, "ci_high": f.b + f.crit * se})
    m = p - 1
    bm = f.b[1:]
    qm = float(bm @ np.linalg.solve(f.vb[1:, 1:], bm))
    if test == "knha":
        qm = qm / m
        qm_p = float(stats.f.sf(qm, m, k - p))
    else:
        qm_p = float(stats.chi2.sf(qm, m))
    r2 = float("nan")
    if method != "FE":  # pseudo-R^2: share of tau^2 the moderators account for (Raudenbush 2009; metafor R2)
        tau2_re, _ = _tau2(y, v, np.ones((k, 1)), method)
        r2 = max(0.0, 100 * (tau2_re - f.tau2) / tau2_re) if tau2_re > 0 else float("nan")
    se_tau2 = _se_tau2(y, v, X, method, f.tau2)
    notes = []
    if method == "FE":
        notes.append("Fixed-effect model: tau^2 is 0 by assumption; r2 and se_tau2 are undefined (NaN).")
    elif not np.isfinite(r2):
        notes.append("r2 is undefined (NaN): the model without moderators estimates tau^2 = 0, "
                     "so there is no heterogeneity for the moderators to account for.")
    if method != "FE" and not np.isfinite(se_tau2):
        notes.append("se_tau2 is undefined (NaN) for this estimator of tau^2.")
    return MetaRegression(coef, f.tau2, f.i2, f.h2, f.qe, f.qe_df, float(stats.chi2.sf(f.qe, f.qe_df)), qm, m, qm_p,
                          method, test, ci_level, k, r2, se_tau2, f.vb, f.crit, tuple(notes))


def egger_test(yi: Any, vi: Any, model: str = "rma", method: str = "REML") -> pd.DataFrame:
    """Egger's regression test for funnel-plot asymmetry, as metafor ``regtest``.

    model "rma" (metafor default): meta-regression of ``yi`` on the standard error
    ``sqrt(vi)`` with the given ``method``, z test of the slope. model "lm" (Egger et
    al. 1997): weighted least squares of ``yi`` on ``sqrt(vi)`` with weights ``1/vi``,
    t test with ``k - 2`` df (statsmodels WLS). ``limit_estimate`` is the intercept
    (the effect expected for a study with SE 0).
    """
    check_choice(model, "model", ("rma", "lm"))
    y, v, _ = _inputs(yi, vi, None, None)
    if len(y) < 3:
        raise InputError(f"Egger's test needs at least 3 studies, got {len(y)}.")
    sei = np.sqrt(v)
    if model == "rma":
        r = meta_regression(y, v, sei, method=method, test="z")
        row = r.coefficients.iloc[1]
        return pd.DataFrame([{"model": "rma", "method": method, "statistic": row["statistic"], "df": None,
                              "p_value": row["p_value"], "limit_estimate": r.coefficients.iloc[0]["estimate"]}])
    import statsmodels.api as sm

    fit = sm.WLS(y, sm.add_constant(sei), weights=1 / v).fit()
    return pd.DataFrame([{"model": "lm", "method": "WLS", "statistic": float(fit.tvalues[1]), "df": int(fit.df_resid),
                          "p_value": float(fit.pvalues[1]), "limit_estimate": float(fit.params[0])}])
