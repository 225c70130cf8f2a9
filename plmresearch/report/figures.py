"""Figures shared by notebooks and reports."""

from __future__ import annotations

import textwrap

import numpy as np

from plmresearch._plotting import figure_axes
from plmresearch.errors import InputError
from plmresearch.reproduce import StudyResult


def plot_reproduction(result: StudyResult, ax=None, title: str | None = None):
    """How far each reproduced number lies from the published one, in units of its tolerance.

    Quantities on different scales (a coefficient, a standard error, an AUC) share one
    axis this way: the grey band is the tolerance the spec justifies (|difference| <= 1
    tolerance), green dots are within it, red dots are misses (clipped at ±3, marked ▶/◀).
    Each label gives the published value and ours.
    """
    if not isinstance(result, StudyResult):
        raise InputError(f"`result` must be a StudyResult (from run_study), got {type(result).__name__}.")
    t = result.table[result.table["within_tolerance"] != "n/a"].reset_index(drop=True)
    fig, ax = figure_axes(ax, (9, 0.32 * len(t) + 1.4))
    y = np.arange(len(t))[::-1]
    z = (t["reproduced"] - t["published"]) / t["tolerance"].where(t["tolerance"] > 0)
    zc = z.clip(-3, 3).fillna(0).to_numpy()
    ok = (t["within_tolerance"] == "yes").to_numpy()
    ax.axvspan(-1, 1, color="0.88", label="within tolerance")
    ax.axvline(0, color="0.4", lw=0.8)
    ax.scatter(zc[ok], y[ok], color="tab:green", zorder=3, label="reproduced (within)")
    ax.scatter(zc[~ok], y[~ok], color="tab:red", zorder=3, label="reproduced (miss)")
    for yi, zi, zraw in zip(y, zc, z):
        if np.isfinite(zraw) and abs(zraw) > 3:
            ax.annotate("▶" if zraw > 0 else "◀", (zi, yi), fontsize=9, ha="center", va="center", color="tab:red")
    labels = [
        f"{q}  (pub. {p:.4g}, ours {r:.4g}) [{s}]"
        for q, p, r, s in zip(t["quantity"], t["published"], t["reproduced"], t["status"])
    ]
    ax.set_yticks(y, labels, fontsize=7.5)
    ax.set_xlim(-3.3, 3.3)
    ax.set_xlabel("(reproduced − published) / tolerance")
    ax.legend(loc="upper right", fontsize=7, framealpha=0.9)
    ax.set_title("\n".join(textwrap.wrap(title or result.study.title, 90)), fontsize=9)
    return fig
