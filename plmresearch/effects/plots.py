"""Forest plot, funnel plot and power curve (matplotlib Figures).

Each function takes ``ax=`` and returns a :class:`matplotlib.figure.Figure` (the package's one
convention, :mod:`plmresearch._plotting`); none calls ``plt.show()``. Save with ``fig.savefig(path)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from plmresearch._plotting import figure_axes
from plmresearch.effects.meta import MetaAnalysis, egger_test, meta_analysis
from plmresearch.errors import InputError
from plmresearch.validation import probability


def _as_meta(result: Any, vi: Any = None, labels: Any = None, method: str = "REML") -> MetaAnalysis:
    if isinstance(result, MetaAnalysis):
        return result
    if vi is None:
        raise InputError("Pass a MetaAnalysis result, or effect sizes `yi` together with variances `vi`.")
    return meta_analysis(result, vi, method=method, labels=labels)


def forest_plot(result: Any, vi: Any = None, *, labels: Any = None, method: str = "REML",
                xlabel: str = "Effect size", figsize: tuple[float, float] | None = None,
                show_prediction_interval: bool = True, ax=None):
    """Forest plot: one row per study (estimate and normal CI, marker area ∝ weight),
    the pooled estimate as a diamond and, for random-effects models, the prediction interval
    (the layout of metafor's ``forest.rma``; Viechtbauer 2010, *J. Stat. Softw.* 36(3)).

    ``result`` is a :class:`~plmresearch.effects.meta.MetaAnalysis`, or effect sizes with ``vi``.
    """
    r = _as_meta(result, vi, labels, method)
    tab = r.studies()
    k = len(tab)
    fig, ax = figure_axes(ax, figsize or (7.5, 1.2 + 0.32 * (k + 2)))
    ypos = np.arange(k, 0, -1) + 1
    sizes = 20 + 280 * tab["weight_pct"].to_numpy() / max(tab["weight_pct"].max(), 1e-12)
    ax.hlines(ypos, tab["ci_low"], tab["ci_high"], color="0.25", lw=1)
    ax.scatter(tab["yi"], ypos, s=sizes, marker="s", color="0.25", zorder=3)
    d = 0.35
    ax.fill([r.ci_low, r.estimate, r.ci_high, r.estimate], [1, 1 + d, 1, 1 - d], color="tab:blue", zorder=3)
    if show_prediction_interval and not np.isnan(r.pi_low):
        ax.hlines(1, r.pi_low, r.pi_high, color="tab:blue", lw=1, linestyles="dotted")
    ax.axvline(0, color="0.6", lw=0.8)
    ax.axvline(r.estimate, color="tab:blue", lw=0.6, ls="--")
    model = "FE model" if r.method == "FE" else f"RE model ({r.method}{', HK' if r.test == 'knha' else ''})"
    ax.set_yticks(list(ypos) + [1], list(tab["study"]) + [model])
    ax.set_ylim(0.3, k + 1.7)
    ax.set_xlabel(xlabel)
    lvl = round(r.ci_level * 100)
    ax.set_title(f"{r.estimate:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}] ({lvl}% CI); "
                 f"tau\u00b2 = {r.tau2:.3f}, I\u00b2 = {r.i2:.0f}%", fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def funnel_plot(result: Any, vi: Any = None, *, labels: Any = None, method: str = "REML",
                xlabel: str = "Effect size", figsize: tuple[float, float] = (6, 5), egger: bool = True, ax=None):
    """Funnel plot (effect vs standard error, inverted axis) with the pseudo-95% region
    around the pooled estimate and, optionally, Egger's test (metafor ``regtest``) in the title."""
    r = _as_meta(result, vi, labels, method)
    se = np.sqrt(r.vi)
    fig, ax = figure_axes(ax, figsize)
    top = float(se.max()) * 1.05
    z = stats.norm.ppf(0.975)
    grid = np.linspace(0, top, 50)
    ax.fill_betweenx(grid, r.estimate - z * grid, r.estimate + z * grid, color="0.92")
    ax.plot(r.estimate - z * grid, grid, color="0.5", lw=0.8, ls="--")
    ax.plot(r.estimate + z * grid, grid, color="0.5", lw=0.8, ls="--")
    ax.axvline(r.estimate, color="tab:blue", lw=1)
    ax.scatter(r.yi, se, color="0.15", zorder=3, s=22)
    ax.set_ylim(top, 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Standard error")
    if egger and r.k >= 3:
        e = egger_test(r.yi, r.vi, model="rma", method=r.method).iloc[0]
        ax.set_title(f"Egger's test: z = {e['statistic']:.2f}, p = {e['p_value']:.3f}", fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def power_curve_plot(design: str, vary: str, values: Any, *, target_power: float = 0.8,
                     figsize: tuple[float, float] = (6, 4), ax=None, **params: Any):
    """Power curve: power against ``vary`` for a design of :func:`plmresearch.effects.power.power_curve`
    (the PowerUp! formulas of Dong & Maynard 2013, *J. Res. Educ. Eff.* 6(1)).

    Example: ``power_curve_plot("cluster", "n_clusters", range(10, 81), effect_size=0.25,
    n_per_cluster=25, icc=0.2)``.
    """
    from plmresearch.effects.power import power_curve

    target_power = probability(target_power, "target_power", open_low=True, open_high=True)
    tab = power_curve(design, vary, values, **params)
    fig, ax = figure_axes(ax, figsize)
    ax.plot(tab[vary], tab["power"], color="tab:blue", lw=2)
    ax.axhline(target_power, color="0.5", ls="--", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel(vary.replace("_", " "))
    ax.set_ylabel("Power")
    shown = {k: v for k, v in params.items() if k in ("effect_size", "icc", "n_per_cluster", "n_per_site", "n")}
    ax.set_title(f"{design} design: " + ", ".join(f"{k} = {v:g}" for k, v in shown.items()), fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig
