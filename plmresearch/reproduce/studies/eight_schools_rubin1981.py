"""Eight schools, Rubin (1981) as analysed in BDA3 section 5.5: complete pooling, no pooling and
the hierarchical model on the eight site estimates (school A is the one BDA discusses)."""

from __future__ import annotations

import numpy as np

from plmresearch.reproduce.registry import register


def _site_columns(df, rounded):
    suffix = "_rounded" if rounded else ""
    return df["school"].astype(str).tolist(), df[f"effect{suffix}"].to_numpy(float), df[f"std_error{suffix}"].to_numpy(float)


@register(values=("complete_pooling", "complete_pooling_variance", "no_pooling_A", "no_pooling_A_se", "tau2_reml"))
def site_pooling(df, study, *, fast=False, rounded=True):
    """Complete pooling (inverse-variance fixed effect) and no pooling (each site's own estimate)."""
    from plmresearch.effects import meta_analysis

    sites, y, se = _site_columns(df, rounded)
    fe = meta_analysis(y, se**2, method="FE")
    re = meta_analysis(y, se**2, method="REML")
    return {"complete_pooling": fe.estimate, "complete_pooling_variance": fe.std_error**2,
            "no_pooling_A": float(y[sites.index("A")]), "no_pooling_A_se": float(se[sites.index("A")]),
            "tau2_reml": re.tau2}


@register(values=("mu_mean", "tau_mean", "tau_median", "theta_A_mean", "theta_A_median", "prob_A_largest"))
def site_hierarchical(df, study, *, fast=False, rounded=True, method="mcmc", draws=2000, random_seed=8):
    """The eight-schools hierarchical model, p(mu, tau) ∝ 1 (BDA3 5.5): exactly by integration over
    tau (``method="exact"``) or by MCMC with PyMC (``"mcmc"``; 4 chains, fewer draws with ``fast``)."""
    from plmresearch.models import exact_site_posterior, pool_site_estimates

    sites, y, se = _site_columns(df, rounded)
    if method == "exact":
        ex = exact_site_posterior(y, se, sites)
        return {"mu_mean": ex["mu_mean"], "tau_mean": ex["tau_mean"], "tau_median": ex["tau_quantiles"][0.5],
                "theta_A_mean": float(ex["theta_mean"]["A"])}
    fit = pool_site_estimates(y, se, sites, tau_prior="uniform", draws=500 if fast else draws,
                              tune=500 if fast else 1000, chains=4 if not fast else 2, random_seed=random_seed, warn=False)
    theta = fit.idata["posterior"]["theta"].stack(sample=("chain", "draw")).transpose("sample", "site").values
    a = sites.index("A")
    return {"mu_mean": fit.average_effect.estimate, "tau_mean": fit.cross_site_sd.estimate,
            "tau_median": float(np.median(fit.cross_site_sd.draws)),
            "theta_A_mean": float(theta[:, a].mean()), "theta_A_median": float(np.median(theta[:, a])),
            "prob_A_largest": float(np.mean(theta.argmax(axis=1) == a))}
