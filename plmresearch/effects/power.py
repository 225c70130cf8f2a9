"""Power, minimum detectable effect size (MDES) and required sample size for education trials.

Formulas: Bloom (1995, 2006), Dong & Maynard (2013, *JREE* 6(1); PowerUp!), as
implemented by PowerUpR (Bulus, Dong, Kelcey & Spybrook; functions ``ira``, ``cra2``,
``cra3``, ``bira2``, ``bira2c1``, ``bira2f1``). For a design with standardized standard
error ``SSE`` and degrees of freedom ``df``:

* ``MDES = M·SSE`` with ``M = t_{df,1-α/2} + t_{df,power}`` (two-tailed; ``t_{df,1-α}``
  one-tailed; ``t1 - t2`` when power < 0.5);
* ``power = 1 - F_t(t_crit; df, λ) + F_t(-t_crit; df, λ)``, ``λ = ES/SSE`` (noncentral t);
* required sample size: PowerUpR's fixed-point iteration (start 10, tolerance 0.10,
  halving steps, ``round()``) by default, or the smallest whole number that reaches the
  target power (``method="ceiling"``).

Effect sizes are in standard deviations of the total outcome variance (all levels).
"""

from __future__ import annotations

import inspect

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from plmresearch.effects._common import check_choice
from plmresearch.errors import InputError
from plmresearch.validation import array_1d, check_flag, finite, finite_or_input_error, number, probability


@dataclass(frozen=True)
class PowerResult:
    """A power analysis: the design, its df and SSE, and the solved quantity.

    ``mdes`` (with ``mdes_ci_low/high``, PowerUpR's "confidence interval" of the MDES),
    ``power`` for ``effect_size``, and the sample sizes (the solved one for
    ``required_*``). ``multiplier`` is M (``mdes = multiplier · standard_error``).
    """

    design: str
    mdes: float
    mdes_ci_low: float
    mdes_ci_high: float
    power: float
    effect_size: float | None
    df: float
    multiplier: float
    standard_error: float
    alpha: float
    two_tailed: bool
    sizes: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    solved_for: str = "mdes"

    def __getattr__(self, name: str) -> Any:
        sizes = object.__getattribute__(self, "sizes")
        if name in sizes:
            return sizes[name]
        raise AttributeError(name)

    def to_frame(self) -> pd.DataFrame:
        row = {"design": self.design, "solved_for": self.solved_for, "mdes": self.mdes,
               "mdes_ci_low": self.mdes_ci_low, "mdes_ci_high": self.mdes_ci_high, "power": self.power,
               "effect_size": self.effect_size, "df": self.df, "multiplier": self.multiplier,
               "standard_error": self.standard_error, "alpha": self.alpha, "two_tailed": self.two_tailed}
        return pd.DataFrame([row | self.sizes | self.parameters])

    def summary(self) -> str:
        sizes = ", ".join(f"{k} = {v:g}" for k, v in self.sizes.items())
        return (f"{self.design}: {sizes}; df = {self.df:g}; MDES = {self.mdes:.4f} "
                f"(power {self.power:.3f} at effect size {self.effect_size if self.effect_size is not None else self.mdes:.3f}, "
                f"alpha {self.alpha}, {'two' if self.two_tailed else 'one'}-tailed)")

    def __str__(self) -> str:
        return self.summary()


# ----------------------------------------------------------------------------- core


@finite_or_input_error
def multiplier(df: float, alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True) -> float:
    """The MDES multiplier M (Bloom 1995): ``t_{1-α/2} + t_{power}`` (``t1 - t2`` below power 0.5)."""
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    df = number(df, "df", low=0, low_open=True)
    t1 = abs(stats.t.ppf(alpha / 2 if two_tailed else alpha, df))
    t2 = abs(stats.t.ppf(power, df))
    return float(t1 + t2 if power >= 0.5 else t1 - t2)


def _power(es: float, sse: float, df: float, alpha: float, two_tailed: bool) -> float:
    lam = es / sse
    if two_tailed:
        tc = stats.t.isf(alpha / 2, df)
        return float(stats.nct.sf(tc, df, lam) + stats.nct.cdf(-tc, df, lam))
    return float(stats.nct.sf(stats.t.isf(alpha, df), df, lam))


_UNUSED = object()
"""Stands for `power` in the functions that compute power instead of taking it."""


def _check_common(alpha: Any, power: Any, two_tailed: Any) -> tuple[float, float | None, bool]:
    a = probability(alpha, "alpha", open_low=True, open_high=True)
    # below 1% power a design is not planned for; the solvers would diverge towards infinite sizes
    p = None if power is _UNUSED else number(power, "power", low=0.01, high=1, high_open=True)
    return a, p, check_flag(two_tailed, "two_tailed")


def _r2(v: Any, name: str) -> float:
    x = finite(v, name)
    if not 0 <= x < 1:
        raise InputError(f"`{name}` must lie in [0, 1), got {v!r}.")
    return x


def _size(v: Any, name: str, minimum: float) -> float:
    x = finite(v, name)
    if x < minimum:
        raise InputError(f"`{name}` must be at least {minimum:g}, got {v!r}.")
    if x > MAX_SIZE:
        raise InputError(f"`{name}` = {v!r} is beyond any real design (more than {MAX_SIZE:g}); check the value.")
    return x


MAX_SIZE = 1e12
"""Largest sample size accepted: beyond it the t quantiles are the normal ones and sizes are typos."""


def _ncov(v: Any) -> int:
    x = finite(v, "n_covariates")
    if x < 0 or x != int(x):
        raise InputError(f"`n_covariates` must be a whole number >= 0, got {v!r}.")
    return int(x)


# A design maps its sizes to (df, SSE); ``unit_variance`` maps the size solved for
# (n, J or K) to the variance term V with SSE² = V/size.


@dataclass(frozen=True)
class _Design:
    name: str
    df: Callable[[dict[str, float]], float]
    sse: Callable[[dict[str, float]], float]
    solve_key: str


def _result(design: _Design, sizes: dict[str, float], params: dict[str, Any], alpha: float, power: float | None,
            two_tailed: bool, effect_size: float | None, solved_for: str) -> PowerResult:
    sizes = {k: int(v) if float(v).is_integer() else v for k, v in sizes.items()}
    full = sizes | params
    try:
        df = design.df(full)
    except KeyError as missing:  # a size passed as None outside the solvers
        raise InputError(f"`{missing.args[0]}` must be a number, got None.") from None
    if not df >= 1:
        raise InputError(f"Design not feasible: {df:g} degrees of freedom ({design.name}, {sizes}). "
                         "Add units or clusters, or use fewer covariates (`n_covariates`).")
    sse = design.sse(full)
    pw = power if power is not None else 0.8
    m = multiplier(df, alpha, pw, two_tailed)
    t1 = abs(stats.t.ppf(alpha / 2 if two_tailed else alpha, df))
    mdes = m * sse
    if effect_size is not None:
        # power at effect_size; mdes/multiplier stay at the target power (0.8 unless given)
        pw = _power(effect_size, sse, df, alpha, two_tailed)
    return PowerResult(design.name, mdes, mdes * (1 - t1 / m), mdes * (1 + t1 / m), pw, effect_size, df, m, sse,
                       alpha, two_tailed, sizes, params, solved_for)


def _solve_size(design: _Design, sizes: dict[str, float], params: dict[str, Any], effect_size: float, alpha: float,
                power: float, two_tailed: bool, method: str, start: float = 10.0, tol: float = 0.10) -> PowerResult:
    key = design.solve_key
    check_choice(method, "method", ("powerup", "ceiling"))
    es = finite(effect_size, "effect_size")
    if es <= 0:
        raise InputError(f"`effect_size` must be positive to solve for a sample size, got {effect_size!r}.")

    def state(x: float) -> tuple[float, float]:
        full = sizes | params | {key: x}
        return design.df(full), design.sse(full) ** 2 * x  # df and V (SSE² = V/x)

    if method == "powerup":
        # PowerUpR mrss.*: x1 = (M/es)² V(x0); x0 <- (x0 + x1)/2 until |x1 - x0| < tol (<= 101 steps)
        x0, i, df = start, 0, math.nan
        while i <= 100:
            df, v = state(x0)
            if df <= 0 or math.isinf(df):
                break
            x1 = (multiplier(df, alpha, power, two_tailed) / es) ** 2 * v
            done = abs(x1 - x0) < tol
            x0 = (x1 + x0) / 2
            i += 1
            if done:
                break
        if not df > 0 or not x0 < MAX_SIZE:
            why = "degrees of freedom <= 0" if not df > 0 else f"it would exceed {MAX_SIZE:g}"
            raise InputError(f"No feasible {key} found for `effect_size` = {es} ({why}); "
                             f"check `effect_size`, `power` and the design parameters ({', '.join(params)}).")
        x = float(round(x0))  # R's round() is half-to-even, like Python's
    else:
        lo = 1.0
        while not design.df(sizes | params | {key: lo}) >= 1:
            lo += 1
            if lo > 1e7:
                raise InputError(f"No feasible {key}: degrees of freedom stay below 1.")

        def pw(x: float) -> float:
            df, v = state(x)
            return _power(es, math.sqrt(v / x), df, alpha, two_tailed)

        hi = lo
        while pw(hi) < power:
            hi *= 2
            if hi > 1e9:
                raise InputError(f"Power {power} is not reachable by increasing {key} alone (check icc/heterogeneity).")
        x = lo if pw(lo) >= power else math.ceil(optimize.brentq(lambda z: pw(z) - power, lo, hi, xtol=1e-9))
        while x > lo and pw(x - 1) >= power:
            x -= 1
        while pw(x) < power:
            x += 1
    try:
        return _result(design, sizes | {key: x}, params, alpha, power, two_tailed, es, f"required {key}")
    except InputError as err:  # e.g. an effect so large that the formula asks for a design with no df
        raise InputError(f"The {key} solved for `effect_size` = {es} is {x:g}, which is not a feasible design: "
                         f"{err}") from None


# ----------------------------------------------------------------------------- designs

_IRA = _Design(
    "individual RCT",
    df=lambda s: s["n"] - s["n_covariates"] - 2,
    sse=lambda s: math.sqrt((1 - s["r2"]) / (s["p_treated"] * (1 - s["p_treated"]) * s["n"])),
    solve_key="n",
)

_CRA2 = _Design(
    "two-level cluster RCT",
    df=lambda s: s["n_clusters"] - s["n_covariates"] - 2,
    sse=lambda s: math.sqrt(
        s["icc"] * (1 - s["r2_level2"]) / (s["p_treated"] * (1 - s["p_treated"]) * s["n_clusters"])
        + (1 - s["icc"]) * (1 - s["r2_level1"])
        / (s["p_treated"] * (1 - s["p_treated"]) * s["n_clusters"] * s["n_per_cluster"])),
    solve_key="n_clusters",
)

_CRA3 = _Design(
    "three-level cluster RCT (assigned at level 3)",
    df=lambda s: s["n_sites"] - s["n_covariates"] - 2,
    sse=lambda s: math.sqrt(
        s["icc_level3"] * (1 - s["r2_level3"]) / (s["p_treated"] * (1 - s["p_treated"]) * s["n_sites"])
        + s["icc_level2"] * (1 - s["r2_level2"])
        / (s["p_treated"] * (1 - s["p_treated"]) * s["n_clusters_per_site"] * s["n_sites"])
        + (1 - s["icc_level2"] - s["icc_level3"]) * (1 - s["r2_level1"])
        / (s["p_treated"] * (1 - s["p_treated"]) * s["n_clusters_per_site"] * s["n_sites"] * s["n_per_cluster"])),
    solve_key="n_sites",
)

_BIRA2_RANDOM = _Design(
    "two-level multisite RCT, random site effects",
    df=lambda s: s["n_sites"] - s["n_covariates"] - 1,
    sse=lambda s: math.sqrt(
        s["icc"] * s["effect_heterogeneity"] * (1 - s["r2_level2"]) / s["n_sites"]
        + (1 - s["icc"]) * (1 - s["r2_level1"])
        / (s["p_treated"] * (1 - s["p_treated"]) * s["n_sites"] * s["n_per_site"])),
    solve_key="n_sites",
)

_BIRA2_CONSTANT = _Design(
    "two-level multisite RCT, constant effect",
    df=lambda s: s["n_sites"] * (s["n_per_site"] - 1) - s["n_covariates"] - 1,
    sse=lambda s: math.sqrt((1 - s["r2_level1"])
                            / (s["p_treated"] * (1 - s["p_treated"]) * s["n_sites"] * s["n_per_site"])),
    solve_key="n_sites",
)

_BIRA2_FIXED = _Design(
    "two-level multisite RCT, fixed site effects",
    df=lambda s: s["n_sites"] * (s["n_per_site"] - 2) - s["n_covariates"],
    sse=_BIRA2_CONSTANT.sse,
    solve_key="n_sites",
)


def _ira_args(n, p_treated, r2, n_covariates):
    sizes = {} if n is None else {"n": _size(n, "n", 3)}
    return sizes, {"p_treated": probability(p_treated, "p_treated", True, True), "r2": _r2(r2, "r2"),
                   "n_covariates": _ncov(n_covariates)}


@finite_or_input_error
def mdes_individual_rct(n: float, p_treated: float = 0.5, r2: float = 0.0, n_covariates: int = 0,
                        alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True) -> PowerResult:
    """MDES of an individually randomized trial (PowerUpR ``mdes.ira``; Dong & Maynard 2013).

    ``df = n - g - 2``, ``SSE² = (1 - R²)/(P(1-P) n)``.
    """
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    sizes, params = _ira_args(n, p_treated, r2, n_covariates)
    return _result(_IRA, sizes, params, alpha, power, two_tailed, None, "mdes")


@finite_or_input_error
def power_individual_rct(effect_size: float, n: float, p_treated: float = 0.5, r2: float = 0.0,
                         n_covariates: int = 0, alpha: float = 0.05, two_tailed: bool = True) -> PowerResult:
    """Power of an individually randomized trial to detect ``effect_size`` (PowerUpR ``power.ira``)."""
    alpha, _, two_tailed = _check_common(alpha, _UNUSED, two_tailed)
    sizes, params = _ira_args(n, p_treated, r2, n_covariates)
    return _result(_IRA, sizes, params, alpha, None, two_tailed, finite(effect_size, "effect_size"), "power")


@finite_or_input_error
def required_n_individual_rct(effect_size: float, p_treated: float = 0.5, r2: float = 0.0, n_covariates: int = 0,
                              alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True,
                              method: str = "powerup") -> PowerResult:
    """Sample size ``n`` needed to detect ``effect_size`` (PowerUpR ``mrss.ira``); see module notes on ``method``."""
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    sizes, params = _ira_args(None, p_treated, r2, n_covariates)
    return _solve_size(_IRA, sizes, params, effect_size, alpha, power, two_tailed, method)


def _cra2_args(n_per_cluster, n_clusters, icc, p_treated, r2_level1, r2_level2, n_covariates):
    sizes = {"n_per_cluster": _size(n_per_cluster, "n_per_cluster", 1)}
    if n_clusters is not None:
        sizes["n_clusters"] = _size(n_clusters, "n_clusters", 3)
    return sizes, {"icc": probability(icc, "icc"), "p_treated": probability(p_treated, "p_treated", True, True),
                   "r2_level1": _r2(r2_level1, "r2_level1"), "r2_level2": _r2(r2_level2, "r2_level2"),
                   "n_covariates": _ncov(n_covariates)}


@finite_or_input_error
def mdes_cluster_rct(n_per_cluster: float, n_clusters: float, icc: float, p_treated: float = 0.5,
                     r2_level1: float = 0.0, r2_level2: float = 0.0, n_covariates: int = 0, alpha: float = 0.05,
                     power: float = 0.8, two_tailed: bool = True, *, n_sites: float | None = None,
                     icc_level3: float | None = None, r2_level3: float = 0.0) -> PowerResult:
    """MDES of a two-level cluster-randomized trial (Bloom 2006; PowerUpR ``mdes.cra2``).

    ``df = J - g - 2``; ``SSE² = ρ(1-R²₂)/(P(1-P)J) + (1-ρ)(1-R²₁)/(P(1-P)Jn)`` with J =
    ``n_clusters``, n = ``n_per_cluster``, ρ = ``icc``, g = ``n_covariates`` (cluster level).

    Three-level variant: give ``n_sites`` (level-3 units, randomized) and ``icc_level3``;
    then ``n_clusters`` is the number of clusters per site and ``icc`` the level-2 ICC
    (same as :func:`mdes_cluster_rct3`).
    """
    if n_sites is not None or icc_level3 is not None:
        if n_sites is None or icc_level3 is None:
            raise InputError("The three-level design needs both `n_sites` and `icc_level3`.")
        return mdes_cluster_rct3(n_per_cluster, n_clusters, n_sites, icc, icc_level3, p_treated, r2_level1,
                                 r2_level2, r2_level3, n_covariates, alpha, power, two_tailed)
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    sizes, params = _cra2_args(n_per_cluster, n_clusters, icc, p_treated, r2_level1, r2_level2, n_covariates)
    return _result(_CRA2, sizes, params, alpha, power, two_tailed, None, "mdes")


@finite_or_input_error
def power_cluster_rct(effect_size: float, n_per_cluster: float, n_clusters: float, icc: float,
                      p_treated: float = 0.5, r2_level1: float = 0.0, r2_level2: float = 0.0, n_covariates: int = 0,
                      alpha: float = 0.05, two_tailed: bool = True, *, n_sites: float | None = None,
                      icc_level3: float | None = None, r2_level3: float = 0.0) -> PowerResult:
    """Power of a two-level cluster RCT (PowerUpR ``power.cra2``); with ``n_sites`` and
    ``icc_level3`` the three-level design of :func:`power_cluster_rct3`."""
    if n_sites is not None or icc_level3 is not None:
        if n_sites is None or icc_level3 is None:
            raise InputError("The three-level design needs both `n_sites` and `icc_level3`.")
        return power_cluster_rct3(effect_size, n_per_cluster, n_clusters, n_sites, icc, icc_level3, p_treated,
                                  r2_level1, r2_level2, r2_level3, n_covariates, alpha, two_tailed)
    alpha, _, two_tailed = _check_common(alpha, _UNUSED, two_tailed)
    sizes, params = _cra2_args(n_per_cluster, n_clusters, icc, p_treated, r2_level1, r2_level2, n_covariates)
    return _result(_CRA2, sizes, params, alpha, None, two_tailed, finite(effect_size, "effect_size"), "power")


@finite_or_input_error
def required_clusters_cluster_rct(effect_size: float, n_per_cluster: float, icc: float, p_treated: float = 0.5,
                                  r2_level1: float = 0.0, r2_level2: float = 0.0, n_covariates: int = 0,
                                  alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True,
                                  method: str = "powerup") -> PowerResult:
    """Number of clusters J needed (PowerUpR ``mrss.cra2``); result in ``.n_clusters``."""
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    sizes, params = _cra2_args(n_per_cluster, None, icc, p_treated, r2_level1, r2_level2, n_covariates)
    return _solve_size(_CRA2, sizes, params, effect_size, alpha, power, two_tailed, method)


def _cra3_args(n_per_cluster, n_clusters_per_site, n_sites, icc_level2, icc_level3, p_treated, r2_level1,
               r2_level2, r2_level3, n_covariates):
    i2, i3 = probability(icc_level2, "icc_level2"), probability(icc_level3, "icc_level3")
    if i2 + i3 > 1:
        raise InputError(f"`icc_level2` + `icc_level3` must not exceed 1, got {i2} + {i3}.")
    sizes = {"n_per_cluster": _size(n_per_cluster, "n_per_cluster", 1),
             "n_clusters_per_site": _size(n_clusters_per_site, "n_clusters_per_site", 1)}
    if n_sites is not None:
        sizes["n_sites"] = _size(n_sites, "n_sites", 3)
    return sizes, {"icc_level2": i2, "icc_level3": i3, "p_treated": probability(p_treated, "p_treated", True, True),
                   "r2_level1": _r2(r2_level1, "r2_level1"), "r2_level2": _r2(r2_level2, "r2_level2"),
                   "r2_level3": _r2(r2_level3, "r2_level3"), "n_covariates": _ncov(n_covariates)}


@finite_or_input_error
def mdes_cluster_rct3(n_per_cluster: float, n_clusters_per_site: float, n_sites: float, icc_level2: float,
                      icc_level3: float, p_treated: float = 0.5, r2_level1: float = 0.0, r2_level2: float = 0.0,
                      r2_level3: float = 0.0, n_covariates: int = 0, alpha: float = 0.05, power: float = 0.8,
                      two_tailed: bool = True) -> PowerResult:
    """MDES of a three-level cluster RCT randomized at level 3 (e.g. districts; PowerUpR ``mdes.cra3``).

    ``df = K - g - 2``; ``SSE² = ρ₃(1-R²₃)/(P(1-P)K) + ρ₂(1-R²₂)/(P(1-P)JK) + (1-ρ₂-ρ₃)(1-R²₁)/(P(1-P)JKn)``
    with K = ``n_sites``, J = ``n_clusters_per_site``, n = ``n_per_cluster``.
    """
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    sizes, params = _cra3_args(n_per_cluster, n_clusters_per_site, n_sites, icc_level2, icc_level3, p_treated,
                               r2_level1, r2_level2, r2_level3, n_covariates)
    return _result(_CRA3, sizes, params, alpha, power, two_tailed, None, "mdes")


@finite_or_input_error
def power_cluster_rct3(effect_size: float, n_per_cluster: float, n_clusters_per_site: float, n_sites: float,
                       icc_level2: float, icc_level3: float, p_treated: float = 0.5, r2_level1: float = 0.0,
                       r2_level2: float = 0.0, r2_level3: float = 0.0, n_covariates: int = 0, alpha: float = 0.05,
                       two_tailed: bool = True) -> PowerResult:
    """Power of a three-level cluster RCT (PowerUpR ``power.cra3``)."""
    alpha, _, two_tailed = _check_common(alpha, _UNUSED, two_tailed)
    sizes, params = _cra3_args(n_per_cluster, n_clusters_per_site, n_sites, icc_level2, icc_level3, p_treated,
                               r2_level1, r2_level2, r2_level3, n_covariates)
    return _result(_CRA3, sizes, params, alpha, None, two_tailed, finite(effect_size, "effect_size"), "power")


@finite_or_input_error
def required_sites_cluster_rct3(effect_size: float, n_per_cluster: float, n_clusters_per_site: float,
                                icc_level2: float, icc_level3: float, p_treated: float = 0.5, r2_level1: float = 0.0,
                                r2_level2: float = 0.0, r2_level3: float = 0.0, n_covariates: int = 0,
                                alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True,
                                method: str = "powerup") -> PowerResult:
    """Number of level-3 units K needed (PowerUpR ``mrss.cra3``); result in ``.n_sites``."""
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    sizes, params = _cra3_args(n_per_cluster, n_clusters_per_site, None, icc_level2, icc_level3, p_treated,
                               r2_level1, r2_level2, r2_level3, n_covariates)
    return _solve_size(_CRA3, sizes, params, effect_size, alpha, power, two_tailed, method)


_SITE_EFFECTS = {"random": _BIRA2_RANDOM, "constant": _BIRA2_CONSTANT, "fixed": _BIRA2_FIXED}


def _bira2_args(n_per_site, n_sites, icc, effect_heterogeneity, p_treated, r2_level1, r2_level2, n_covariates,
                site_effects):
    check_choice(site_effects, "site_effects", tuple(_SITE_EFFECTS))
    omega = finite(effect_heterogeneity, "effect_heterogeneity")
    if omega < 0:
        raise InputError(f"`effect_heterogeneity` (omega, a variance ratio) must be >= 0, got {effect_heterogeneity!r}.")
    sizes = {"n_per_site": _size(n_per_site, "n_per_site", 2)}
    if n_sites is not None:
        sizes["n_sites"] = _size(n_sites, "n_sites", 2)
    return _SITE_EFFECTS[site_effects], sizes, {
        "icc": probability(icc, "icc"), "effect_heterogeneity": omega,
        "p_treated": probability(p_treated, "p_treated", True, True),
        "r2_level1": _r2(r2_level1, "r2_level1"), "r2_level2": _r2(r2_level2, "r2_level2"),
        "n_covariates": _ncov(n_covariates)}


@finite_or_input_error
def mdes_multisite_rct(n_per_site: float, n_sites: float, icc: float, effect_heterogeneity: float,
                       p_treated: float = 0.5, r2_level1: float = 0.0, r2_level2: float = 0.0, n_covariates: int = 0,
                       alpha: float = 0.05, power: float = 0.8, two_tailed: bool = True,
                       site_effects: str = "random") -> PowerResult:
    """MDES of a multisite (blocked) trial, individuals randomized within sites.

    ``site_effects="random"`` (PowerUpR ``mdes.bira2``): ``df = J - g - 1``,
    ``SSE² = ρω(1-R²_T2)/J + (1-ρ)(1-R²₁)/(P(1-P)Jn)`` where ω = ``effect_heterogeneity``
    (variance of site impacts over the level-2 outcome variance), ``r2_level2`` = R²_T2
    (site-level covariates explaining impact variation) and g = site-level covariates.
    ``"constant"`` (``bira2c1``): ``df = J(n-1) - g - 1``, ``SSE² = (1-R²₁)/(P(1-P)Jn)``;
    ``"fixed"`` (``bira2f1``): ``df = J(n-2) - g``, same SSE; here g counts level-1
    covariates and ``icc``/``effect_heterogeneity`` do not enter.
    """
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    design, sizes, params = _bira2_args(n_per_site, n_sites, icc, effect_heterogeneity, p_treated, r2_level1,
                                        r2_level2, n_covariates, site_effects)
    return _result(design, sizes, params, alpha, power, two_tailed, None, "mdes")


@finite_or_input_error
def power_multisite_rct(effect_size: float, n_per_site: float, n_sites: float, icc: float,
                        effect_heterogeneity: float, p_treated: float = 0.5, r2_level1: float = 0.0,
                        r2_level2: float = 0.0, n_covariates: int = 0, alpha: float = 0.05, two_tailed: bool = True,
                        site_effects: str = "random") -> PowerResult:
    """Power of a multisite RCT (PowerUpR ``power.bira2`` / ``bira2c1`` / ``bira2f1``)."""
    alpha, _, two_tailed = _check_common(alpha, _UNUSED, two_tailed)
    design, sizes, params = _bira2_args(n_per_site, n_sites, icc, effect_heterogeneity, p_treated, r2_level1,
                                        r2_level2, n_covariates, site_effects)
    return _result(design, sizes, params, alpha, None, two_tailed, finite(effect_size, "effect_size"), "power")


@finite_or_input_error
def required_sites_multisite_rct(effect_size: float, n_per_site: float, icc: float, effect_heterogeneity: float,
                                 p_treated: float = 0.5, r2_level1: float = 0.0, r2_level2: float = 0.0,
                                 n_covariates: int = 0, alpha: float = 0.05, power: float = 0.8,
                                 two_tailed: bool = True, site_effects: str = "random",
                                 method: str = "powerup") -> PowerResult:
    """Number of sites J needed (PowerUpR ``mrss.bira2``); result in ``.n_sites``."""
    alpha, power, two_tailed = _check_common(alpha, power, two_tailed)
    design, sizes, params = _bira2_args(n_per_site, None, icc, effect_heterogeneity, p_treated, r2_level1,
                                        r2_level2, n_covariates, site_effects)
    return _solve_size(design, sizes, params, effect_size, alpha, power, two_tailed, method)


# ----------------------------------------------------------------------------- curves

_POWER_FUNCS = {
    "individual": power_individual_rct,
    "cluster": power_cluster_rct,
    "cluster3": power_cluster_rct3,
    "multisite": power_multisite_rct,
}


def power_curve(design: str, vary: str, values: Any, **params: Any) -> pd.DataFrame:
    """Power over a range of one input (e.g. ``vary="n_clusters"`` or ``"effect_size"``).

    ``design`` is one of "individual", "cluster", "cluster3", "multisite"; ``params`` are
    the other keyword arguments of the matching ``power_*`` function.
    Returns a DataFrame with the varied column, ``power`` and ``mdes``.
    """
    check_choice(design, "design", tuple(_POWER_FUNCS))
    fn = _POWER_FUNCS[design]
    if not isinstance(vary, str) or vary not in inspect.signature(fn).parameters:
        names = [n for n in inspect.signature(fn).parameters if n not in params]
        raise InputError(f"`vary` must name an argument of the '{design}' power function, one of {names}; "
                         f"got {vary!r:.40}.")
    vals = array_1d(values, "values")
    rows = []
    for v in vals:
        try:
            r = fn(**(params | {vary: float(v)}))
        except TypeError as e:
            raise InputError(f"power_curve('{design}'): {e}. Check the names of `vary` and the other arguments.") from None
        except InputError as e:
            raise InputError(f"`values`: at {vary} = {float(v):g}: {e}") from None
        rows.append({vary: float(v), "power": r.power, "mdes": r.mdes, "df": r.df})
    return pd.DataFrame(rows)
