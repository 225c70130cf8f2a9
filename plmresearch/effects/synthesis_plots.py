"""Orchard plot of a synthesis by category (Nakagawa et al. 2021, *Res. Synth. Methods* 12(1)).

One row per category: every effect size as a jittered point (area ∝ precision ``1/v``), the pooled
estimate with its confidence interval (thick bar) and its 95% prediction interval (thin bar,
``estimate ± t_df · sqrt(SE² + τ²)``), and ``k`` (studies) / ``n`` (effect sizes).
Returns a matplotlib Figure; pass ``ax=`` to draw into an existing Axes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from plmresearch._plotting import figure_axes
from plmresearch.effects.robust_meta import RobustMeta
from plmresearch.errors import InputError


def orchard_plot(data: pd.DataFrame, yi: str, vi: str, groups: Mapping[str, str], fits: Mapping[str, RobustMeta], *,
                 ax=None, xlabel: str = "Effect size (Hedges' g)", xlim: tuple[float, float] = (-1.5, 2.5),
                 random_seed: int = 0, figsize=None):
    """Orchard plot.

    Parameters
    ----------
    data : one row per effect size.
    yi, vi : effect-size and variance columns.
    groups : label -> 0/1 indicator column of ``data`` (an effect size may belong to several groups).
    fits : label -> the :class:`RobustMeta` (intercept-only) fitted to that group's effect sizes.
    xlim : axis range; effect sizes outside it are counted in the axis label, not drawn.
    """
    missing = [g for g in groups if g not in fits]
    if missing:
        raise InputError(f"No fitted result for group(s) {missing}; pass one RobustMeta per group in `fits`.")
    for col in list(groups.values()) + [yi, vi]:
        if col not in data.columns:
            raise InputError(f"Column {col!r} is not in the data.")
    fig, ax = figure_axes(ax, figsize or (7.5, 0.55 * len(groups) + 1.5))
    rng = np.random.default_rng(random_seed)
    labels = list(groups)
    for row, label in enumerate(labels):
        sub = data[data[groups[label]] == 1]
        y = sub[yi].to_numpy(float)
        prec = 1 / sub[vi].to_numpy(float)
        size = 4 + 40 * prec / prec.max()
        ax.scatter(y, row + rng.uniform(-0.28, 0.28, len(y)), s=size, alpha=0.25, color="tab:blue", lw=0)
        fit = fits[label]
        c = fit.coefficients.iloc[0]
        half = stats.t.ppf(0.975, c["df"]) * np.sqrt(c["std_error"] ** 2 + fit.tau2)
        ax.hlines(row, c["estimate"] - half, c["estimate"] + half, color="black", lw=1)
        ax.hlines(row, c["ci_low"], c["ci_high"], color="black", lw=4)
        ax.plot(c["estimate"], row, "o", color="white", mec="black", ms=8, zorder=3)
        ax.annotate(f"k = {fit.n_studies}, n = {fit.n_effects}", (1.0, row), xycoords=("axes fraction", "data"),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    shown = data[data[list(groups.values())].eq(1).any(axis=1)][yi]
    outside = int(((shown < xlim[0]) | (shown > xlim[1])).sum())
    ax.set_xlabel(xlabel + (f"  ({outside} effect size(s) outside the axis not drawn)" if outside else ""))
    ax.set_xlim(*xlim)
    return fig
