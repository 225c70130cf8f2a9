"""Bayesian multilevel models in PyMC (NUTS; nutpie when installed, for the latent-effects models).

Default priors (weakly informative, scaled by the data as in rstanarm's
``autoscale``; Gelman, Hill & Vehtari 2020, *Regression and Other Stories*, sec. 9.5):

* intercept at the predictors' means: Normal(mean(y), 2.5 sd(y));
* slope of predictor x: Normal(0, 2.5 sd(y) / sd(x));
* residual SD: Exponential(rate = 1 / sd(y));
* group-level SD of an intercept: HalfNormal(sd(y)); of a slope on z: HalfNormal(sd(y) / sd(z));
* correlations of a group's intercept and slopes: LKJ(eta = 2) (Lewandowski, Kurowicka & Joe 2009).

How the group effects are handled (``parameterization``):

* ``"marginal"`` (the default whenever it applies: one grouping factor, or two nested
  ones such as ``(1 | school/class)`` or students within schools): the Gaussian group
  effects are integrated out of the likelihood analytically, so NUTS samples only the
  fixed effects, the group covariances and sigma; the group effects are then drawn
  from their exact conditional posterior (:mod:`plmresearch.models.marginal`). Same
  model, same posterior, several times the effective samples per second.
* ``"noncentred"`` (crossed factors, three or more levels, or on request): b_j = L z_j
  with z_j ~ Normal(0, I) and L the Cholesky factor of the group covariance
  (Papaspiliopoulos, Roberts & Sköld 2007; Betancourt & Girolami 2015).

Predictors are centred inside the model (the reported intercept is mapped back),
which removes most intercept-slope posterior correlation.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.errors import InputError, ModelError
from plmresearch.models._views import MultilevelViews, fixed_effects_frame
from plmresearch.models import marginal
from plmresearch.models.formula import MixedFormula, check_data, design, group_key, nesting, parse_formula
from plmresearch.models.posterior import (
    PosteriorEstimate,
    diagnostics,
    element_diagnostics,
    warn_notes,
)
from plmresearch.validation import (
    check_choice,
    check_ci_level,
    check_flag,
    check_seed,
    count,
    positive,
    probability,
)


def default_sampler() -> str:
    """``"nutpie"`` when the nutpie package is importable, else PyMC's own NUTS."""
    return "nutpie" if importlib.util.find_spec("nutpie") is not None else "pymc"


@contextlib.contextmanager
def _quiet_pymc_logs():
    """PyMC's own INFO lines and convergence warnings go to stderr (red boxes in notebooks); the
    progress bar shows the sampling, and :func:`diagnostics` reports convergence in plain words."""
    loggers = [logging.getLogger(name) for name in ("pymc", "pymc.sampling.mcmc", "pymc.stats.convergence")]
    old = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, old):
            lg.setLevel(level)


def sample_model(model, *, draws: int, tune: int, chains: int, random_seed, target_accept: float,
                 sampler: str | None = None, progress: bool = True):
    """Run NUTS on a PyMC model and return the ArviZ DataTree.

    ``progress`` shows one bar over every iteration of every chain (tuning included), drawn
    with the package's bar (:mod:`plmresearch.progress`) from PyMC's per-draw callback;
    nutpie gets a one-step bar (it reports no draws to Python while it runs).
    """
    import pymc as pm

    from plmresearch.progress import progress_bar

    draws, tune, chains, random_seed = check_sampling(draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                                                      target_accept=target_accept, sampler=sampler)
    sampler = sampler or default_sampler()
    kw: dict[str, Any] = dict(model=model, draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                              progressbar=False, nuts_sampler=sampler, target_accept=target_accept)
    total = chains * (tune + draws) if sampler == "pymc" else 1
    bar = progress_bar(total=total, desc=f"sampling ({chains} chain(s), {sampler})", unit="draw",
                       progress=progress)
    if sampler == "pymc":
        kw["cores"] = 1
        if not bar.disable:
            kw["callback"] = lambda trace, draw: bar.update(1)
    try:
        with bar, _quiet_pymc_logs():
            idata = pm.sample(**kw)
            bar.update(max(0, bar.total - bar.n))  # nutpie reports nothing; PyMC may skip a last callback
            return idata
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]  # PyMC's messages run to many lines (starting values...)
        raise ModelError(f"Sampling failed ({type(exc).__name__}: {first}). Check the data for extreme values "
                         "and the priors' scales.") from exc


def check_sampling(*, draws: Any, tune: Any, chains: Any, random_seed: Any, target_accept: Any,
                   sampler: Any) -> tuple[int, int, int, int | None]:
    """Check MCMC settings before a model is built; return (draws, tune, chains, random_seed)."""
    draws = count(draws, "draws")
    tune = count(tune, "tune", minimum=0)
    chains = count(chains, "chains")
    probability(target_accept, "target_accept", open_low=True, open_high=True)
    if sampler is not None:
        check_choice(sampler, "sampler", ("nutpie", "pymc"))
    return draws, tune, chains, check_seed(random_seed)


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


@dataclass
class BayesMultilevelFit(MultilevelViews):
    """Result of :func:`fit_bayes`: posterior tables, diagnostics, and the ArviZ DataTree.

    ``fixed_effects`` has one row per term with the ``Estimate`` columns (posterior
    mean as ``estimate``, posterior SD as ``std_error``, equal-tailed credible interval)
    plus r_hat and ESS; ``variance_components`` follows lme4's ``VarCorr`` layout with
    posterior means. ``notes`` holds the plain-words convergence warnings.
    ``parameterization`` is ``"marginal"`` or ``"noncentred"``; ``groups`` the grouping
    factors in formula order; ``sd_y`` the outcome's SD (the scale of the standardized
    draws); ``n_divergences`` the divergent transitions; ``model`` the PyMC model.
    """

    _fixed_title = "Fixed effects (posterior):"
    _vc_title = "Variance components (posterior means):"

    formula: str
    fixed_effects: pd.DataFrame
    variance_components: pd.DataFrame
    idata: Any
    diagnostics: pd.DataFrame
    n_obs: int
    n_groups: dict[str, int]
    priors: dict[str, str]
    sampler: str
    ci_level: float = 0.95
    notes: tuple[str, ...] = ()
    parameterization: str = "noncentred"
    groups: tuple[str, ...] = ()
    sd_y: float = float("nan")
    n_divergences: int = 0
    model: Any = field(default=None, repr=False)

    @property
    def method(self) -> str:
        how = {"marginal": "group effects integrated out", "noncentred": "non-centred"}[self.parameterization]
        return f"Bayesian multilevel model (PyMC, {how}, sampler {self.sampler})"

    @property
    def params(self) -> pd.Series:
        return self.fixed_effects.set_index("term")["estimate"]

    def estimate(self, term: str) -> PosteriorEstimate:
        """The posterior of one fixed effect as a :class:`PosteriorEstimate`."""
        terms = list(self.fixed_effects["term"])
        if term not in terms:
            raise InputError(f"No fixed effect named '{term}'. Terms: {terms}.")
        draws = self.idata["posterior"]["fixed"].sel(term=term).values.reshape(-1)
        diag = element_diagnostics(self.diagnostics, f"fixed[{term}]")
        sd_y = self.sd_y
        return PosteriorEstimate.from_draws(
            draws, method=self.method, parameter=term, ci_level=self.ci_level, idata=self.idata,
            effect_size_draws=None if term == "Intercept" else draws / sd_y,
            effect_size_type="coefficient / SD of outcome" if term != "Intercept" else None,
            n_clusters=next(iter(self.n_groups.values())), notes=self.notes, **diag,
        )

    @property
    def sigma2(self) -> float:
        """Posterior mean of the level-1 (residual) variance, as ``MultilevelFit.sigma2``."""
        return float(self.variance_components.query("group == 'Residual'")["variance"].iloc[0])

    def group_effects(self, group: str | None = None) -> pd.DataFrame:
        """Posterior mean, SD and interval of each group's deviation (for caterpillar plots)."""
        groups = list(self.groups)
        group = group or groups[0]
        if group not in groups:
            raise InputError(f"No grouping term '{group}'. Terms: {groups}.")
        da = self.idata["posterior"][f"b_{_safe(group)}"]
        lo, hi = (1 - self.ci_level) / 2, 1 - (1 - self.ci_level) / 2
        m = da.mean(("chain", "draw")).to_series()
        s = da.std(("chain", "draw")).to_series()
        ql = da.quantile(lo, ("chain", "draw")).drop_vars("quantile").to_series()
        qh = da.quantile(hi, ("chain", "draw")).drop_vars("quantile").to_series()
        out = pd.DataFrame({"estimate": m, "std_error": s, "ci_low": ql, "ci_high": qh}).reset_index()
        out.columns = ["group", "term", "estimate", "std_error", "ci_low", "ci_high"]
        return out

    def posterior_predictive_check(self) -> pd.DataFrame:
        """Observed statistics of the outcome vs their posterior predictive distribution.

        ``p_value`` is the posterior predictive p-value P(T(y_rep) >= T(y)) (Gelman et al.
        2013, *BDA3* sec. 6.3); values near 0 or 1 flag misfit.
        """
        if "posterior_predictive" not in self.idata.children:
            raise ModelError("No posterior predictive draws; refit with posterior_predictive=True.")
        yrep = np.asarray(self.idata["posterior_predictive"]["y"].values)
        yrep = yrep.reshape(-1, yrep.shape[-1])
        y = np.asarray(self.idata["observed_data"]["y"].values)
        stats_ = {"mean": np.mean, "sd": lambda a, axis=None: np.std(a, axis=axis, ddof=1),
                  "min": np.min, "max": np.max,
                  "q10": lambda a, axis=None: np.quantile(a, 0.1, axis=axis),
                  "q90": lambda a, axis=None: np.quantile(a, 0.9, axis=axis)}
        rows = []
        for name, f in stats_.items():
            t_obs = float(f(y))
            t_rep = np.asarray(f(yrep, axis=1))
            rows.append({"statistic": name, "observed": t_obs, "replicated_mean": float(t_rep.mean()),
                         "replicated_low": float(np.quantile(t_rep, 0.025)),
                         "replicated_high": float(np.quantile(t_rep, 0.975)),
                         "p_value": float(np.mean(t_rep >= t_obs))})
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        fe = self.fixed_effects
        out = fixed_effects_frame(self)
        for c in ("posterior_median", "prob_positive", "r_hat", "ess_bulk", "ess_tail"):
            out[c] = fe[c]
        out["n_divergences"] = self.n_divergences
        out["notes"] = "; ".join(self.notes)
        return out


PARAMETERIZATIONS = ("auto", "marginal", "noncentred")


@dataclass(frozen=True)
class ModelParts:
    """What :func:`build_model` hands back besides the PyMC model (used after sampling)."""

    parameterization: str
    x: np.ndarray                       # fixed-effects design (uncentred, with the intercept column)
    y: np.ndarray
    levels: dict[str, tuple[np.ndarray, np.ndarray]]   # group -> (row codes, coefficient design)
    level_labels: dict[str, list[str]]
    cross_products: marginal.CrossProducts | None = None
    marginal_order: tuple[str, ...] = ()                # inner group first, then the outer one


def _marginal_order(mf: MixedFormula, used: pd.DataFrame, parameterization: str) -> tuple[str, ...]:
    """Groups (inner first) when the effects can be integrated out, else ``()``."""
    if parameterization == "noncentred":
        return ()
    try:
        terms = nesting(mf, used)
    except ModelError as exc:
        why = str(exc)
    else:
        if len(terms) <= 2:
            return tuple(t.group for t in reversed(terms))
        why = f"the formula has {len(terms)} nested grouping factors; integration is implemented for one or two"
    if parameterization == "marginal":
        raise ModelError(f"Cannot integrate the group effects out: {why}. Use parameterization='noncentred'.")
    return ()


def _fixed_design(x: pd.DataFrame):
    """Intercept flag, slope names, centred slopes, their means and SDs (a constant slope is refused)."""
    has_int = "Intercept" in x.columns
    slopes = [c for c in x.columns if c != "Intercept"]
    xs = x[slopes].to_numpy()
    xmean = xs.mean(axis=0) if slopes else np.zeros(0)
    xsd = xs.std(axis=0, ddof=1) if slopes else np.zeros(0)
    if np.any(xsd == 0):
        raise InputError(f"Predictor(s) {[s for s, v in zip(slopes, xsd) if v == 0]} are constant; drop them.")
    return has_int, slopes, xs - xmean, xmean, xsd


def _group_designs(mf: MixedFormula, used: pd.DataFrame, coords: dict) -> list:
    """Per random term: (term, safe name, Z values, level codes, SD of each Z column with 1 for the
    intercept); adds the term's level and coefficient coordinates to ``coords``."""
    out = []
    for t in mf.random:
        z = design(f"~ {t.expr}", used)
        codes, levels = pd.factorize(group_key(used, t), sort=True)
        g = _safe(t.group)
        coords[f"{g}__level"] = [str(v) for v in levels]
        coords[f"{g}__term"] = list(z.columns)
        coords[f"{g}__term_bis"] = list(z.columns)
        zsd = np.array([1.0 if c == "Intercept" else z[c].std(ddof=1) for c in z.columns])
        zsd[zsd == 0] = 1.0
        out.append((t, g, z.to_numpy(), codes, zsd))
    return out


def _fixed_effects_prior(has_int: bool, slopes: list, xc: np.ndarray, xmean: np.ndarray, *,
                         intercept_mean: float, intercept_sd: float, slope_sd: np.ndarray):
    """Inside a PyMC model: alpha ~ Normal(intercept_mean, intercept_sd) at the centred predictors
    and beta ~ Normal(0, slope_sd); records the uncentred coefficients as ``fixed`` (intercept
    alpha - xmean' beta) and returns (alpha, beta, linear predictor)."""
    import pymc as pm
    import pytensor.tensor as pt

    alpha = pm.Normal("alpha", intercept_mean, intercept_sd) if has_int else 0.0
    beta = pm.Normal("beta", 0.0, slope_sd, dims="slope_term") if slopes else None
    eta = alpha + (pt.dot(xc, beta) if slopes else pt.zeros(len(xc)))
    parts = []
    if has_int:
        parts.append(pt.reshape(alpha - (pt.dot(xmean, beta) if slopes else 0.0), (1,)))
    if slopes:
        parts.append(beta)
    pm.Deterministic("fixed", pt.concatenate(parts), dims="term")
    return alpha, beta, eta


def _group_covariance_prior(t, g: str, k: int, sd_dist, **sd_args):
    """Inside a PyMC model: the Cholesky factor of a group's covariance, with SDs from ``sd_dist``
    (a PyMC distribution class, parameters ``sd_args``) and LKJ(eta = 2) correlations for a
    correlated term."""
    import pymc as pm
    import pytensor.tensor as pt

    if k > 1 and t.correlated:
        chol, corr, sds = pm.LKJCholeskyCov(f"chol_{g}", n=k, eta=2.0, sd_dist=sd_dist.dist(**sd_args, shape=k),
                                            compute_corr=True)
        pm.Deterministic(f"sd_{g}", sds, dims=f"{g}__term")
        pm.Deterministic(f"corr_{g}", corr, dims=(f"{g}__term", f"{g}__term_bis"))
        return chol
    return pt.diag(sd_dist(f"sd_{g}", **sd_args, dims=f"{g}__term"))


def _noncentred_effects(g: str, z: np.ndarray, codes: np.ndarray, chol):
    """Inside a PyMC model: b = z_raw L' with z_raw ~ Normal(0, 1), recorded as ``b_<g>``; returns
    each observation's Z b."""
    import pymc as pm
    import pytensor.tensor as pt

    zraw = pm.Normal(f"z_{g}", 0.0, 1.0, dims=(f"{g}__level", f"{g}__term"))
    b = pt.dot(zraw, chol.T)
    pm.Deterministic(f"b_{g}", b, dims=(f"{g}__level", f"{g}__term"))
    return (pt.as_tensor_variable(z) * b[codes]).sum(axis=1)


def build_model(mf: MixedFormula, used: pd.DataFrame, prior_scale: float = 2.5, parameterization: str = "auto"):
    """The PyMC model for a parsed formula (see the module docstring for priors).

    ``parameterization="auto"`` integrates the group effects out when the grouping
    factors nest (at most two levels), else samples them non-centred.
    """
    import pymc as pm
    import pytensor.tensor as pt

    if parameterization not in PARAMETERIZATIONS:
        raise InputError(f"`parameterization` must be one of {PARAMETERIZATIONS}, got {parameterization!r}.")
    x = design(f"~ {mf.fixed_rhs}", used)
    y = used[mf.outcome].to_numpy(dtype=float)
    my, sy = float(y.mean()), float(y.std(ddof=1))
    if not sy > 0:
        raise InputError(f"The outcome '{mf.outcome}' is constant; there is nothing to model.")
    has_int, slopes, xc, xmean, xsd = _fixed_design(x)
    order = _marginal_order(mf, used, parameterization)
    coords: dict[str, Any] = {"term": list(x.columns), "slope_term": slopes, "obs": np.arange(len(y))}
    priors = {
        "Intercept": f"Normal({my:.4g}, {prior_scale * sy:.4g}) at centred predictors",
        "slopes": f"Normal(0, {prior_scale} * sd(y) / sd(x)) with sd(y) = {sy:.4g}",
        "sigma": f"Exponential(rate = 1 / {sy:.4g})",
        "group SDs": "HalfNormal(sd(y)) for intercepts, HalfNormal(sd(y) / sd(z)) for slopes",
        "correlations": "LKJ(eta = 2)",
    }
    groups_info = _group_designs(mf, used, coords)
    chol_of = {}
    with pm.Model(coords=coords) as model:
        alpha, beta, mu = _fixed_effects_prior(has_int, slopes, xc, xmean, intercept_mean=my,
                                               intercept_sd=prior_scale * sy, slope_sd=prior_scale * sy / xsd)
        for t, g, z, codes, zsd in groups_info:
            chol = _group_covariance_prior(t, g, z.shape[1], pm.HalfNormal, sigma=sy / zsd)
            if order:
                chol_of[t.group] = pm.Deterministic(f"L_{g}", chol, dims=(f"{g}__term", f"{g}__term_bis"))
                continue
            mu = mu + _noncentred_effects(g, z, codes, chol)
        sigma = pm.Exponential("sigma", 1.0 / sy)
        cp = None
        if order:
            info = {t.group: marginal.Level(codes, z, len(coords[f"{g}__level"])) for t, g, z, codes, _ in groups_info}
            xm = np.column_stack([np.ones((len(y), int(has_int))), xc])
            cp = marginal.cross_products(y, xm, info[order[0]], info[order[1]] if len(order) > 1 else None)
            cols = ([pt.reshape(alpha, (1,))] if has_int else []) + ([beta] if slopes else [])
            theta = pt.concatenate(cols) if cols else pt.zeros(0)
            pm.Potential("y_marginal_loglik", marginal.loglik(cp, theta, sigma, chol_of[order[0]],
                                                              chol_of[order[1]] if len(order) > 1 else None))
        else:
            pm.Normal("y", mu, sigma, observed=y, dims="obs")
    parts = ModelParts(
        parameterization="marginal" if order else "noncentred", x=x.to_numpy(), y=y,
        levels={t.group: (codes, z) for t, _, z, codes, _ in groups_info},
        level_labels={t.group: coords[f"{g}__level"] for t, g, _, _, _ in groups_info},
        cross_products=cp, marginal_order=order,
    )
    return model, priors, {"sd_y": sy, "mean_y": my, "groups": [t.group for t in mf.random],
                           "group_terms": {t.group: list(design(f"~ {t.expr}", used.head(5)).columns) for t in mf.random},
                           "parts": parts}


def _add_group_effects(idata, parts: ModelParts, random_seed) -> None:
    """Draw the integrated-out group effects from their conditional posterior into ``b_<group>``."""
    import xarray as xr

    post = idata["posterior"]
    n_chain, n_draw = post["sigma"].shape
    n = n_chain * n_draw
    flat = {v: post[v].values.reshape(n, *post[v].shape[2:]) for v in post.data_vars}
    cols = ([flat["alpha"][:, None]] if "alpha" in flat else []) + ([flat["beta"]] if "beta" in flat else [])
    theta = np.concatenate(cols, axis=1) if cols else np.zeros((n, 0))
    Ls = [flat[f"L_{_safe(g)}"] for g in parts.marginal_order]
    cp = parts.cross_products
    rng = np.random.default_rng(random_seed)
    step = max(1, 2_000_000 // (cp.ZZ.size + 1))          # bounds the memory of one chunk of draws
    chunks = [marginal.draw_group_effects(cp, theta[i:i + step], flat["sigma"][i:i + step], Ls[0][i:i + step],
                                          Ls[1][i:i + step] if len(Ls) > 1 else None, rng=rng)
              for i in range(0, n, step)]
    for j, g in enumerate(parts.marginal_order):
        s = _safe(g)
        b = np.concatenate([c[j] for c in chunks]).reshape(n_chain, n_draw, -1, len(post[f"{s}__term"]))
        post[f"b_{s}"] = xr.DataArray(b, dims=("chain", "draw", f"{s}__level", f"{s}__term"),
                                      coords={f"{s}__level": parts.level_labels[g]})


def _posterior_predictive(idata, parts: ModelParts, random_seed) -> None:
    """Replicated outcomes y_rep ~ Normal(X beta + sum Z b, sigma) for every posterior draw."""
    import xarray as xr

    post = idata["posterior"]
    n_chain, n_draw = post["sigma"].shape
    fixed = post["fixed"].values.reshape(n_chain * n_draw, -1)
    sigma = post["sigma"].values.reshape(-1)
    bs = {g: post[f"b_{_safe(g)}"].values.reshape(n_chain * n_draw, *post[f"b_{_safe(g)}"].shape[2:])
          for g in parts.levels}
    rng = np.random.default_rng(None if random_seed is None else random_seed + 1)
    yrep = np.empty((len(sigma), len(parts.y)))
    step = max(1, 5_000_000 // len(parts.y))
    for i in range(0, len(sigma), step):
        sl = slice(i, i + step)
        mu = fixed[sl] @ parts.x.T
        for g, (codes, z) in parts.levels.items():
            mu += np.einsum("dnk,nk->dn", bs[g][sl][:, codes], z)
        yrep[sl] = mu + sigma[sl, None] * rng.standard_normal(mu.shape)
    dims = ("chain", "draw", "obs")
    idata["posterior_predictive"] = xr.DataTree(xr.Dataset(
        {"y": (dims, yrep.reshape(n_chain, n_draw, -1))},
        coords={"chain": post["chain"].values, "draw": post["draw"].values, "obs": np.arange(len(parts.y))}))
    idata["observed_data"] = xr.DataTree(xr.Dataset({"y": (("obs",), parts.y)}, coords={"obs": np.arange(len(parts.y))}))


def _fixed_summary(post, diag: pd.DataFrame, ci_level: float) -> pd.DataFrame:
    """One row per fixed effect: posterior mean, SD, equal-tailed interval, median, P(> 0), diagnostics."""
    a = (1 - ci_level) / 2
    rows = []
    for term in post["fixed"].coords["term"].values:
        d = post["fixed"].sel(term=term).values.reshape(-1)
        rows.append({"term": str(term), "estimate": d.mean(), "std_error": d.std(ddof=1),
                     "ci_low": np.quantile(d, a), "ci_high": np.quantile(d, 1 - a), "posterior_median": np.median(d),
                     "prob_positive": float(np.mean(d > 0)), **element_diagnostics(diag, f"fixed[{term}]")})
    return pd.DataFrame(rows)


def _group_sd_summary(post, groups: list[str]) -> list[dict]:
    """``VarCorr``-style rows per group: posterior mean of each variance (and SD), and of each
    covariance (and correlation) of a correlated term."""
    vc_rows = []
    for g in groups:
        s = _safe(g)
        sds = post[f"sd_{s}"]
        terms = list(sds.coords[f"{s}__term"].values)
        for t in terms:
            v = sds.sel({f"{s}__term": t}).values.reshape(-1)
            vc_rows.append({"group": g, "term1": str(t), "term2": None, "variance": float(np.mean(v**2)),
                            "sd_cor": float(np.mean(v))})
        if f"corr_{s}" in post:
            c = post[f"corr_{s}"]
            for i in range(len(terms)):
                for j in range(i + 1, len(terms)):
                    r = c.values[..., i, j].reshape(-1)
                    vi, vj = sds.values[..., i].reshape(-1), sds.values[..., j].reshape(-1)
                    vc_rows.append({"group": g, "term1": str(terms[i]), "term2": str(terms[j]),
                                    "variance": float(np.mean(r * vi * vj)), "sd_cor": float(np.mean(r))})
    return vc_rows


def fit_bayes(
    formula: str | MixedFormula,
    data: pd.DataFrame,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    random_seed: int | None = None,
    target_accept: float = 0.9,
    sampler: str | None = None,
    posterior_predictive: bool = True,
    ci_level: float = 0.95,
    prior_scale: float = 2.5,
    parameterization: str = "auto",
    warn: bool = True,
    progress: bool = True,
) -> BayesMultilevelFit:
    """Fit an lme4-style multilevel model by MCMC (see the module docstring for priors).

    Parameters
    ----------
    sampler : {"nutpie", "pymc"}, optional
        Default: PyMC's NUTS for the marginal parameterization (compiled once and cached,
        see ``benchmarks/multilevel.py``); otherwise nutpie when installed, else PyMC's NUTS.
    parameterization : {"auto", "marginal", "noncentred"}
        ``"marginal"`` integrates the group effects out of the likelihood and draws them
        afterwards from their exact conditional posterior (:mod:`plmresearch.models.marginal`);
        it needs nested grouping factors, at most two of them. ``"noncentred"`` samples them
        as latent variables. ``"auto"`` (default) takes the first that applies. Both give
        the same posterior; the marginal one mixes far faster.
    posterior_predictive : bool
        Also draw replicated outcomes, for :meth:`BayesMultilevelFit.posterior_predictive_check`.
    warn : bool
        Also emit the convergence notes as :class:`SamplingWarning` (they are always in ``notes``).
    progress : bool
        Show a progress bar while sampling (``False`` turns it off).
    """
    mf = parse_formula(formula) if isinstance(formula, str) else formula
    check_ci_level(ci_level)
    check_sampling(draws=draws, tune=tune, chains=chains, random_seed=random_seed, target_accept=target_accept,
                   sampler=sampler)
    positive(prior_scale, "prior_scale")
    check_flag(posterior_predictive, "posterior_predictive")
    check_flag(warn, "warn")
    check_flag(progress, "progress")
    used = check_data(mf, data)
    model, priors, info = build_model(mf, used, prior_scale=prior_scale, parameterization=parameterization)
    parts = info["parts"]
    # With the effects integrated out the posterior has a handful of dimensions and NUTS
    # finishes in about a second; nutpie's numba compile (about 12 s on HSB, redone on every
    # fit) would then dominate, while PyMC's C backend caches compiled code across fits.
    sampler = sampler or ("pymc" if parts.parameterization == "marginal" else default_sampler())
    idata = sample_model(model, draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                         target_accept=target_accept, sampler=sampler, progress=progress)
    if parts.parameterization == "marginal":
        _add_group_effects(idata, parts, random_seed)
    if posterior_predictive:
        _posterior_predictive(idata, parts, random_seed)
    sd_names = [f"sd_{_safe(g)}" for g in info["groups"]]
    diag, notes = diagnostics(idata, var_names=["fixed", "sigma", *sd_names])
    if warn:
        warn_notes(notes)
    post = idata["posterior"]
    fixed = _fixed_summary(post, diag, ci_level)
    vc_rows = _group_sd_summary(post, list(reversed(info["groups"])))
    sig = post["sigma"].values.reshape(-1)
    vc_rows.append({"group": "Residual", "term1": None, "term2": None, "variance": float(np.mean(sig**2)),
                    "sd_cor": float(np.mean(sig))})
    n_groups = {t.group: int(group_key(used, t).nunique()) for t in sorted(
        mf.random, key=lambda t: group_key(used, t).nunique())}
    all_notes = list(notes)
    if used.attrs.get("n_dropped"):
        all_notes.append(f"{used.attrs['n_dropped']} row(s) with missing values in the formula's columns were dropped.")
    return BayesMultilevelFit(
        formula=mf.formula, fixed_effects=fixed, variance_components=pd.DataFrame(vc_rows), idata=idata,
        diagnostics=diag, n_obs=len(used), n_groups=n_groups, priors=priors, sampler=sampler, ci_level=ci_level,
        notes=tuple(all_notes), parameterization=parts.parameterization, groups=tuple(info["groups"]),
        sd_y=info["sd_y"], n_divergences=int(np.asarray(idata["sample_stats"]["diverging"].values).sum()), model=model,
    )
