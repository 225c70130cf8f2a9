"""Multisite and cluster trials: site-specific treatment effects, partially pooled.

Two entry points share one model, theta_j ~ Normal(mu, tau):

* :func:`pool_site_estimates` from site summaries (estimate and SE per site): the
  random-effects meta-analysis / "eight schools" model (Rubin 1981, *JEBS* 6:377-401;
  Gelman et al. 2013, *BDA3* sec. 5.5), with BDA's uniform prior on tau by default.
  :func:`exact_site_posterior` computes the same posterior by one-dimensional
  integration over tau (BDA3 eqs. 5.17-5.21), a deterministic check on the sampler.
* :func:`multisite_trial` from student-level data:
  y_ij = a_j + theta_j T_ij + e_ij, with site intercepts a_j and site effects theta_j
  partially pooled (Raudenbush & Bloom 2015, "Learning about and from a distribution
  of program impacts using multisite trials", *Am. J. Eval.* 36(4)), on the raw outcome
  or standardized by the pooled within-arm SD (WWC Procedures Handbook v5.0, eq. 6.1).

Both are non-centred (theta_j = mu + tau z_j).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate

from plmresearch.errors import InputError
from plmresearch.models.bayes import check_sampling, default_sampler, sample_model
from plmresearch.models.posterior import PosteriorEstimate, diagnostics, element_diagnostics, warn_notes
from plmresearch.results import Result
from plmresearch.validation import (
    array_1d,
    check_ci_level,
    check_flag,
    count,
    binary_indicator,
    positive,
    require_clusters,
    require_columns,
    require_frame,
    require_no_missing,
    require_numeric,
    same_length,
    unique_columns,
)

TAU_PRIORS = ("uniform", "half_cauchy", "half_normal")


@dataclass
class MultisiteFit(Result):
    """Partially pooled site effects.

    Attributes
    ----------
    average_effect, cross_site_sd : PosteriorEstimate
        mu and tau.
    site_effects : DataFrame
        site, (raw estimate and SE when known), posterior mean, SD and interval of
        theta_j (shrunken toward mu), and P(theta_j > 0).
    """

    average_effect: PosteriorEstimate
    cross_site_sd: PosteriorEstimate
    site_effects: pd.DataFrame
    idata: Any
    scale: str
    priors: dict[str, str]
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def prob_greater(self, x: float = 0.0, scale: str = "outcome") -> float:
        """Probability the average effect exceeds ``x``."""
        return self.average_effect.prob_greater(x, scale=scale)

    def to_frame(self) -> pd.DataFrame:
        """Average effect, cross-site SD, then one row per site."""
        top = pd.concat([self.average_effect.to_frame(), self.cross_site_sd.to_frame()], ignore_index=True)
        sites = self.site_effects.rename(columns={"site": "parameter"})
        sites["parameter"] = "theta[" + sites["parameter"].astype(str) + "]"
        keep = [c for c in top.columns if c in sites.columns]
        return pd.concat([top, sites[keep]], ignore_index=True)

    def summary(self) -> str:
        """The average effect's and the cross-site SD's summaries (with the notes), then the sites."""
        return "\n\n".join([self.average_effect.summary(), self.cross_site_sd.summary(),
                            self.site_effects.to_string(index=False, float_format=lambda x: f"{x:.3f}")])

    def _title(self) -> str:
        return self.average_effect.method


def _tau_prior(pm, tau_prior: str, tau_scale: float | None):
    if tau_prior == "uniform":
        return pm.HalfFlat("tau"), "uniform on [0, inf) (BDA3 sec. 5.5)"
    if tau_scale is None:
        raise InputError(f"tau_prior='{tau_prior}' needs `tau_scale` (the prior's scale, in outcome units).")
    positive(tau_scale, "tau_scale")
    if tau_prior == "half_cauchy":
        return pm.HalfCauchy("tau", beta=tau_scale), f"HalfCauchy({tau_scale})"
    return pm.HalfNormal("tau", sigma=tau_scale), f"HalfNormal({tau_scale})"


def _check_prior(tau_prior: str) -> None:
    if tau_prior not in TAU_PRIORS:
        raise InputError(f"`tau_prior` must be one of {TAU_PRIORS}, got {tau_prior!r}.")


def _site_inputs(estimates, std_errors, sites, what: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Site estimates, their standard errors (finite, positive) and distinct site labels."""
    y = array_1d(estimates, "estimates")
    se = array_1d(std_errors, "std_errors")
    same_length([y, se], ["estimates", "std_errors"])
    if np.any(se <= 0):
        raise InputError(f"`std_errors` must all be positive; position {int(np.argmin(se))} is {se.min()}.")
    if len(y) < 3:
        raise InputError(f"{what} needs at least 3 sites (one estimate each in `estimates`), got {len(y)}.")
    if sites is not None and (isinstance(sites, str) or not hasattr(sites, "__len__")):
        raise InputError(f"`sites` must be a list of {len(y)} labels, got {sites!r:.200}.")
    labels = [str(s) for s in (sites if sites is not None else range(1, len(y) + 1))]
    if len(labels) != len(y) or len(set(labels)) != len(labels):
        raise InputError(f"`sites` must give {len(y)} distinct labels, got {labels!r:.200}.")
    return y, se, labels


def _site_table(theta, sites, ci_level, extra_cols=None) -> pd.DataFrame:
    a = (1 - ci_level) / 2
    th = np.asarray(theta).reshape(-1, len(sites))
    out = pd.DataFrame({"site": sites})
    if extra_cols:
        for k, v in extra_cols.items():
            out[k] = v
    out["estimate"] = th.mean(axis=0)
    out["std_error"] = th.std(axis=0, ddof=1)
    out["ci_low"] = np.quantile(th, a, axis=0)
    out["ci_high"] = np.quantile(th, 1 - a, axis=0)
    out["prob_positive"] = (th > 0).mean(axis=0)
    return out


def pool_site_estimates(
    estimates,
    std_errors,
    sites=None,
    *,
    tau_prior: str = "uniform",
    tau_scale: float | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    random_seed: int | None = None,
    target_accept: float = 0.95,
    sampler: str | None = None,
    ci_level: float = 0.95,
    warn: bool = True,
    progress: bool = True,
    parameterization: str = "marginal",
) -> MultisiteFit:
    """Bayesian random-effects pooling of site estimates (the eight-schools model).

    ``parameterization="marginal"`` (default) samples (mu, tau) from the likelihood with
    the site effects integrated out, y_j ~ Normal(mu, sqrt(se_j^2 + tau^2)) (BDA3 eq. 5.17),
    then draws each theta_j from its exact conditional Normal (BDA3 eq. 5.20);
    ``"noncentred"`` samples theta_j = mu + tau z_j as latent variables. Same posterior.

    y_j ~ Normal(theta_j, se_j), theta_j = mu + tau z_j, z_j ~ Normal(0, 1),
    p(mu) flat, and p(tau) uniform on [0, inf) (BDA3 sec. 5.5; the posterior is
    proper for three or more sites) unless ``tau_prior`` is ``"half_cauchy"`` or
    ``"half_normal"`` with scale ``tau_scale`` (Gelman 2006, *Bayesian Analysis* 1(3)).
    """
    import pymc as pm

    y, se, sites = _site_inputs(estimates, std_errors, sites, "Partial pooling")
    _check_prior(tau_prior)
    if tau_scale is not None or tau_prior != "uniform":
        if tau_scale is None:
            raise InputError(f"tau_prior='{tau_prior}' needs `tau_scale` (the prior's scale, in outcome units).")
        positive(tau_scale, "tau_scale")
    check_ci_level(ci_level)
    check_sampling(draws=draws, tune=tune, chains=chains, random_seed=random_seed, target_accept=target_accept,
                   sampler=sampler)
    check_flag(warn, "warn")
    check_flag(progress, "progress")
    _check_parameterization(parameterization)
    with pm.Model(coords={"site": sites}) as model:
        mu = pm.Flat("mu")
        tau, tau_desc = _tau_prior(pm, tau_prior, tau_scale)
        if parameterization == "marginal":
            pm.Normal("y", mu, pm.math.sqrt(se**2 + tau**2), observed=y, dims="site")
        else:
            z = pm.Normal("z", 0.0, 1.0, dims="site")
            theta = pm.Deterministic("theta", mu + tau * z, dims="site")
            pm.Normal("y", theta, se, observed=y, dims="site")
    sampler = sampler or ("pymc" if parameterization == "marginal" else default_sampler())
    idata = sample_model(model, draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                         target_accept=target_accept, sampler=sampler, progress=progress)
    if parameterization == "marginal":
        _draw_pooled_theta(idata, y, se, sites, random_seed)
    diag, notes = diagnostics(idata, var_names=["mu", "tau", "theta"])
    if warn:
        warn_notes(notes)
    post = idata["posterior"]
    how = "site effects integrated out" if parameterization == "marginal" else "non-centred"
    method = f"Bayesian random-effects pooling of site estimates ({how}, tau prior {tau_desc}, {sampler})"
    common = dict(method=method, ci_level=ci_level, idata=idata, n_clusters=len(y), notes=notes)
    mu_est = PosteriorEstimate.from_draws(post["mu"].values, parameter="average effect (mu)",
                                          **element_diagnostics(diag, "mu"), **common)
    tau_est = PosteriorEstimate.from_draws(post["tau"].values, parameter="cross-site SD (tau)",
                                           **element_diagnostics(diag, "tau"), **common)
    table = _site_table(post["theta"].transpose("chain", "draw", "site").values, sites, ci_level,
                        {"observed": y, "observed_se": se})
    return MultisiteFit(mu_est, tau_est, table, idata, scale="outcome",
                        priors={"mu": "flat", "tau": tau_desc}, notes=notes, extra={"model": model})


PARAMETERIZATIONS = ("marginal", "noncentred")


def _check_parameterization(parameterization: str) -> None:
    if parameterization not in PARAMETERIZATIONS:
        raise InputError(f"`parameterization` must be one of {PARAMETERIZATIONS}, got {parameterization!r}.")


def _draw_pooled_theta(idata, y, se, sites, random_seed) -> None:
    """theta_j | mu, tau, y ~ Normal((y_j / se_j^2 + mu / tau^2) / P_j, 1 / P_j), P_j = 1/se_j^2 + 1/tau^2
    (BDA3 eq. 5.20), one draw per posterior draw, stored as ``theta`` in the posterior."""
    import xarray as xr

    post = idata["posterior"]
    mu = post["mu"].values[..., None]
    tau = post["tau"].values[..., None]
    rng = np.random.default_rng(None if random_seed is None else random_seed + 7)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = 1.0 / se**2 + 1.0 / tau**2
        mean = np.where(tau > 0, (y / se**2 + mu / tau**2) / prec, mu + 0 * y)
        sd = np.where(tau > 0, 1.0 / np.sqrt(prec), 0.0)
    theta = mean + sd * rng.standard_normal(mean.shape)
    post["theta"] = xr.DataArray(theta, dims=("chain", "draw", "site"), coords={"site": sites})


def exact_site_posterior(estimates, std_errors, sites=None, *, tau_max: float | None = None,
                         grid_size: int = 60001) -> dict[str, Any]:
    """Posterior of the eight-schools model under p(mu, tau) ∝ 1, by integration over tau.

    Uses BDA3 eqs. 5.17-5.21: p(tau | y) ∝ V_mu^{1/2} prod_j (se_j^2 + tau^2)^{-1/2}
    exp(-(y_j - mu_hat)^2 / (2 (se_j^2 + tau^2))), E(mu | tau, y) = mu_hat(tau) and
    E(theta_j | tau, y) = (y_j / se_j^2 + mu_hat / tau^2) / (1 / se_j^2 + 1 / tau^2).

    Returns
    -------
    dict with ``tau_mean``, ``mu_mean``, ``tau_quantiles`` (2.5/25/50/75/97.5%) and
    ``theta_mean`` (a Series indexed by site).
    """
    y, se, sites = _site_inputs(estimates, std_errors, sites, "The flat prior on tau (a proper posterior)")
    tau_max = positive(tau_max, "tau_max") if tau_max is not None else 60.0 * float(np.max(se)) / 4.0
    # the trapezoid rule needs a grid; below ~100 points the posterior moments are too coarse to report
    grid_size = count(grid_size, "grid_size", minimum=101)
    tau = np.linspace(0.0, tau_max, grid_size)
    v = se[None, :] ** 2 + tau[:, None] ** 2
    w = 1.0 / v
    mu_hat = (w * y).sum(axis=1) / w.sum(axis=1)
    v_mu = 1.0 / w.sum(axis=1)
    logp = 0.5 * np.log(v_mu) - 0.5 * np.log(v).sum(axis=1) - 0.5 * ((y[None, :] - mu_hat[:, None]) ** 2 * w).sum(axis=1)
    p = np.exp(logp - logp.max())
    norm = integrate.trapezoid(p, tau)
    p /= norm
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = 1.0 / se[None, :] ** 2 + np.where(tau[:, None] > 0, 1.0 / tau[:, None] ** 2, np.inf)
        theta_cond = np.where(tau[:, None] > 0,
                              (y[None, :] / se[None, :] ** 2 + mu_hat[:, None] / tau[:, None] ** 2) / prec,
                              mu_hat[:, None])
    cdf = integrate.cumulative_trapezoid(p, tau, initial=0.0)
    qs = [0.025, 0.25, 0.5, 0.75, 0.975]
    return {
        "tau_mean": float(integrate.trapezoid(p * tau, tau)),
        "mu_mean": float(integrate.trapezoid(p * mu_hat, tau)),
        "tau_quantiles": dict(zip(qs, np.interp(qs, cdf, tau))),
        "theta_mean": pd.Series(integrate.trapezoid(p[:, None] * theta_cond, tau, axis=0), index=sites),
        "tau_grid": tau,
        "tau_density": p,
    }


def pooled_within_sd(y: np.ndarray, t: np.ndarray) -> float:
    """Unadjusted pooled within-arm SD (WWC Procedures Handbook v5.0, eq. 6.1 denominator)."""
    y1, y0 = y[t == 1], y[t == 0]
    n1, n0 = len(y1), len(y0)
    return float(np.sqrt(((n1 - 1) * y1.var(ddof=1) + (n0 - 1) * y0.var(ddof=1)) / (n1 + n0 - 2)))


def multisite_trial(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    site: str,
    *,
    standardize: bool = False,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    random_seed: int | None = None,
    target_accept: float = 0.9,
    sampler: str | None = None,
    ci_level: float = 0.95,
    warn: bool = True,
    progress: bool = True,
    parameterization: str = "marginal",
) -> MultisiteFit:
    """Site-specific treatment effects from unit-level data, partially pooled.

    y_ij = a_j + theta_j T_ij + e_ij; a_j = a + s_a u_j; theta_j = mu + tau z_j;
    u_j, z_j ~ Normal(0, 1); e_ij ~ Normal(0, sigma). Priors (weakly informative,
    scaled by the outcome SD s): a ~ Normal(mean y, 2.5 s), mu ~ Normal(0, 2.5 s),
    s_a, tau ~ HalfNormal(s), sigma ~ Exponential(1 / s).

    ``standardize=True`` divides the outcome by the pooled within-arm SD first, so
    mu, tau and the site effects are in SD units. Either way ``average_effect``
    carries effect-size draws (mu / pooled SD) for ``prob_greater(0.1, scale="effect_size")``.

    ``parameterization="marginal"`` (default) integrates the site intercepts and effects out
    of the likelihood (the model is ``y ~ T + (1 + T || site)``; :mod:`plmresearch.models.marginal`)
    and draws them afterwards from their exact conditional posterior; ``"noncentred"``
    samples them as latent variables. Same posterior (see ``benchmarks/multisite.py``).
    """
    import pymc as pm

    require_frame(data, "data")
    require_columns(data, [outcome, treatment, site])
    unique_columns(data, [outcome, treatment, site])
    check_flag(standardize, "standardize")
    check_ci_level(ci_level)
    check_sampling(draws=draws, tune=tune, chains=chains, random_seed=random_seed, target_accept=target_accept,
                   sampler=sampler)
    check_flag(warn, "warn")
    check_flag(progress, "progress")
    _check_parameterization(parameterization)
    require_numeric(data, outcome)
    require_no_missing(data, [outcome, treatment, site])
    require_clusters(data, site, minimum=3)
    t = binary_indicator(data, treatment)
    y_raw = data[outcome].to_numpy(dtype=float)
    codes, levels = pd.factorize(data[site].astype(str), sort=True)
    arms = pd.DataFrame({"s": codes, "t": t}).groupby("s")["t"].agg(["min", "max"])
    one_arm = arms[arms["min"] == arms["max"]]
    if len(one_arm):
        raise InputError(
            f"{len(one_arm)} site(s) in '{site}' have only one arm (e.g. {levels[one_arm.index[0]]!r}); a site-specific "
            "effect needs treated and control units in every site. Drop those sites or pool them."
        )
    sd_pooled = pooled_within_sd(y_raw, t)
    y = (y_raw - y_raw.mean()) / sd_pooled if standardize else y_raw
    my, sy = float(y.mean()), float(y.std(ddof=1))
    sites = [str(s) for s in levels]
    _check_parameterization(parameterization)
    with pm.Model(coords={"site": sites}) as model:
        a = pm.Normal("a", my, 2.5 * sy)
        s_a = pm.HalfNormal("sd_site_intercept", sy)
        mu = pm.Normal("mu", 0.0, 2.5 * sy)
        tau = pm.HalfNormal("tau", sy)
        sigma = pm.Exponential("sigma", 1.0 / sy)
        if parameterization == "marginal":
            import pytensor.tensor as pt

            from plmresearch.models import marginal

            zmat = np.column_stack([np.ones(len(y)), t.astype(float)])
            cp = marginal.cross_products(y, zmat, marginal.Level(codes, zmat, len(sites)))
            L = pt.diag(pt.stack([s_a, tau]))
            pm.Potential("y_marginal_loglik", marginal.loglik(cp, pt.stack([a, mu]), sigma, L))
        else:
            u = pm.Normal("u", 0.0, 1.0, dims="site")
            z = pm.Normal("z", 0.0, 1.0, dims="site")
            theta = pm.Deterministic("theta", mu + tau * z, dims="site")
            pm.Normal("y", a + s_a * u[codes] + theta[codes] * t, sigma, observed=y)
    sampler = sampler or ("pymc" if parameterization == "marginal" else default_sampler())
    idata = sample_model(model, draws=draws, tune=tune, chains=chains, random_seed=random_seed,
                         target_accept=target_accept, sampler=sampler, progress=progress)
    if parameterization == "marginal":
        _draw_site_effects(idata, cp, sites, random_seed)
    diag, notes = diagnostics(idata, var_names=["mu", "tau", "theta", "sigma"])
    if warn:
        warn_notes(notes)
    post = idata["posterior"]
    unit = "SD units (pooled within-arm SD)" if standardize else f"'{outcome}' units"
    how = "site effects integrated out" if parameterization == "marginal" else "non-centred"
    method = f"Bayesian multisite trial, partially pooled site effects ({unit}; {how}; {sampler})"
    to_es = 1.0 if standardize else 1.0 / sd_pooled
    n1 = int(t.sum())
    common = dict(method=method, ci_level=ci_level, idata=idata, n_clusters=len(sites), notes=notes,
                  n_treated=n1, n_control=len(t) - n1, effect_size_type="mu / pooled within-arm SD")
    mu_d = post["mu"].values
    mu_est = PosteriorEstimate.from_draws(mu_d, parameter="average effect (mu)", effect_size_draws=mu_d * to_es,
                                          **element_diagnostics(diag, "mu"), **common)
    tau_d = post["tau"].values
    tau_est = PosteriorEstimate.from_draws(tau_d, parameter="cross-site SD (tau)", effect_size_draws=tau_d * to_es,
                                           **element_diagnostics(diag, "tau"), **common)
    counts = pd.DataFrame({"s": codes, "t": t}).groupby("s")["t"].agg(["sum", "count"])
    table = _site_table(post["theta"].transpose("chain", "draw", "site").values, sites, ci_level,
                        {"n_treated": counts["sum"].astype(int).to_numpy(),
                         "n_control": (counts["count"] - counts["sum"]).astype(int).to_numpy()})
    return MultisiteFit(mu_est, tau_est, table, idata, scale="effect size" if standardize else "outcome",
                        priors={"a": "Normal(mean y, 2.5 sd y)", "mu": "Normal(0, 2.5 sd y)",
                                "tau, sd_site_intercept": "HalfNormal(sd y)", "sigma": "Exponential(1 / sd y)"},
                        notes=notes, extra={"model": model, "sd_pooled": sd_pooled})


def _draw_site_effects(idata, cp, sites, random_seed) -> None:
    """Draw (intercept, effect) deviations of each site from their exact conditional posterior
    (:func:`plmresearch.models.marginal.draw_group_effects`); theta_j = mu + effect deviation."""
    import xarray as xr

    from plmresearch.models import marginal

    post = idata["posterior"]
    n_chain, n_draw = post["mu"].shape
    flat = {v: post[v].values.reshape(-1) for v in ("a", "mu", "sd_site_intercept", "tau", "sigma")}
    n = n_chain * n_draw
    L = np.zeros((n, 2, 2))
    L[:, 0, 0], L[:, 1, 1] = flat["sd_site_intercept"], flat["tau"]
    b, _ = marginal.draw_group_effects(cp, np.column_stack([flat["a"], flat["mu"]]), flat["sigma"], L,
                                       rng=np.random.default_rng(None if random_seed is None else random_seed + 7))
    theta = (flat["mu"][:, None] + b[:, :, 1]).reshape(n_chain, n_draw, len(sites))
    post["theta"] = xr.DataArray(theta, dims=("chain", "draw", "site"), coords={"site": sites})
