"""Figures for multilevel fits; each function takes ``ax=`` and returns a matplotlib Figure.

* :func:`caterpillar_plot`: shrunken group/site effects with intervals, sorted.
* :func:`posterior_rope_plot`: posterior of an effect with the region of practical
  equivalence (Kruschke 2018, *AMPPS* 1(2):270-280).
* :func:`trace_rank_plot`: trace and rank histograms per chain (Vehtari et al. 2021,
  *Bayesian Analysis* 16(2), sec. 4.1): flat rank histograms mean well-mixed chains.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from plmresearch._plotting import figure_axes, figure_axes_grid
from plmresearch.errors import InputError
from plmresearch.models.posterior import PosteriorEstimate, check_var_names
from plmresearch.validation import count, finite


def _effects_table(fit: Any, group: str | None, term: str) -> tuple[pd.DataFrame, str]:
    from plmresearch.models.bayes import BayesMultilevelFit
    from plmresearch.models.frequentist import MultilevelFit
    from plmresearch.models.multisite import MultisiteFit

    if isinstance(fit, MultisiteFit):
        return fit.site_effects.rename(columns={"site": "group"}), "site effect (shrunken)"
    if isinstance(fit, BayesMultilevelFit):
        t = fit.group_effects(group)
        t = t[t["term"] == term]
        return t, f"{term} deviation, {group or fit.groups[0]}"
    if isinstance(fit, MultilevelFit):
        if group is not None and group not in fit.n_groups:
            raise InputError(f"No grouping factor '{group}' (`group`) in this fit; it has {list(fit.n_groups)}.")
        if fit.random_effects is None:
            raise InputError("This fit has no group effects to plot (`fit.random_effects` is empty).")
        re = fit.random_effects
        t = re[re["term"] == term].copy()
        level = next(iter(fit.n_groups))
        if "level" in re:  # the sparse engine: one row per group of every grouping factor
            levels = list(dict.fromkeys(re["level"]))
            if group is None and len(levels) > 1:
                raise InputError(f"The model has several grouping factors {levels}; pass `group=` one of them.")
            level = levels[0] if group is None else group
            t = t[t["level"] == level]
        z = stats.norm.ppf(0.5 + fit.ci_level / 2)
        t["ci_low"] = t["estimate"] - z * t["std_error"]
        t["ci_high"] = t["estimate"] + z * t["std_error"]
        return t, f"{term} deviation (empirical Bayes), {level}"
    if isinstance(fit, pd.DataFrame):
        need = {"group", "estimate", "ci_low", "ci_high"}
        if not need <= set(fit.columns):
            raise InputError(f"A table for caterpillar_plot needs columns {sorted(need)}; it has {list(fit.columns)}.")
        return fit, "effect"
    raise InputError(f"caterpillar_plot needs a fit from plmresearch.models or a DataFrame, got {type(fit).__name__}.")


def caterpillar_plot(fit: Any, group: str | None = None, term: str = "Intercept", max_groups: int = 200,
                     ax=None) -> Figure:
    """Sorted group (or site) effects with their intervals."""
    max_groups = count(max_groups, "max_groups")
    t, label = _effects_table(fit, group, term)
    if t.empty:
        raise InputError(f"No group effects for term '{term}'.")
    t = t.sort_values("estimate").tail(max_groups).reset_index(drop=True)
    n = len(t)
    fig, ax = figure_axes(ax, (6, max(3, min(0.18 * n + 1, 14))))
    pos = np.arange(n)
    ax.hlines(pos, t["ci_low"], t["ci_high"], color="0.5", lw=1)
    ax.plot(t["estimate"], pos, "o", ms=3, color="C0", label="partially pooled")
    if "observed" in t:
        ax.plot(t["observed"], pos, "x", ms=4, color="C3", label="observed (no pooling)")
        ax.legend(loc="lower right", fontsize=8)
    ax.axvline(0 if "observed" not in t else float(np.average(t["estimate"])), color="k", lw=0.8, ls=":")
    if n <= 40:
        ax.set_yticks(pos, [str(g) for g in t["group"]], fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_xlabel(label)
    ax.set_ylabel("group, sorted")
    return fig


def posterior_rope_plot(estimate: PosteriorEstimate, rope: tuple[float, float] = (-0.05, 0.05),
                        scale: str = "effect_size", bins: int = 60, ax=None) -> Figure:
    """Histogram of the posterior of an effect, the ROPE shaded, and P(in ROPE) / P(above)."""
    if not isinstance(estimate, PosteriorEstimate):
        raise InputError(f"posterior_rope_plot needs a PosteriorEstimate, got {type(estimate).__name__}.")
    try:
        lo, hi = (finite(v, "rope") for v in rope)
    except (TypeError, ValueError):
        raise InputError(f"`rope` must be a (low, high) pair of numbers, got {rope!r}.") from None
    if not lo < hi:
        raise InputError(f"`rope` must have low < high, got {rope!r}.")
    bins = count(bins, "bins")
    d = estimate._scale(scale)
    p_in = estimate.prob_in_rope(lo, hi, scale=scale)
    p_above = estimate.prob_greater(hi, scale=scale)
    fig, ax = figure_axes(ax, (6, 3.5))
    ax.hist(d, bins=bins, density=True, color="C0", alpha=0.6)
    ax.axvspan(lo, hi, color="C2", alpha=0.25, label=f"ROPE [{lo:g}, {hi:g}]")
    ax.axvline(float(np.mean(d)), color="k", lw=1, label="posterior mean")
    ax.set_title(f"{estimate.parameter}: P(in ROPE) = {p_in:.2f}, P(> {hi:g}) = {p_above:.2f}", fontsize=9)
    ax.set_xlabel("effect size (SD units)" if scale == "effect_size" else "effect (outcome units)")
    ax.set_yticks([])
    ax.legend(fontsize=8)
    return fig


def trace_rank_plot(idata: Any, var_names: list[str], max_panels: int = 8, ax=None) -> Figure:
    """Trace (left) and per-chain rank histograms (right) of scalar parameters.

    Vector variables are split into their elements (at most ``max_panels`` panels);
    ``ax``, when given, holds two Axes per panel (rows of trace, rank).
    """
    var_names = check_var_names(idata, var_names)
    if not var_names:
        raise InputError("`var_names` must name at least one posterior variable, e.g. ['mu', 'tau'].")
    max_panels = count(max_panels, "max_panels")
    post = idata["posterior"]
    series = []
    for v in var_names:
        da = post[v].transpose("chain", "draw", ...)
        arr = np.asarray(da.values)
        flat = arr.reshape(arr.shape[0], arr.shape[1], -1)
        for k in range(flat.shape[2]):
            series.append((v if flat.shape[2] == 1 else f"{v}[{k}]", flat[:, :, k]))
    series = series[:max_panels]
    fig, axes = figure_axes_grid(ax, len(series), 2, (9, 1.9 * len(series) + 0.5))
    for (name, x), (a_tr, a_rk) in zip(series, axes):
        n_chain, n_draw = x.shape
        ranks = stats.rankdata(x.reshape(-1)).reshape(x.shape)
        edges = np.linspace(0, x.size, 21)
        for c in range(n_chain):
            a_tr.plot(x[c], lw=0.5, alpha=0.8)
            a_rk.step(edges[:-1], np.histogram(ranks[c], bins=edges)[0], where="post", lw=1)
        a_rk.axhline(n_draw / 20, color="k", ls=":", lw=0.8)
        a_tr.set_ylabel(name, fontsize=8)
        a_rk.set_yticks([])
    axes[0, 0].set_title("trace by chain", fontsize=9)
    axes[0, 1].set_title("rank histogram by chain (flat = well mixed)", fontsize=9)
    return fig
