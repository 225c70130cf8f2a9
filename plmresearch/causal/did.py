"""Difference-in-differences: the 2x2 design, two-way fixed effects, and event studies.

* :func:`did_2x2`: OLS of y on group, post and group x post (Card & Krueger 1994;
  Angrist & Pischke 2009, sec. 5.2); the interaction is the DiD estimate.
* :func:`twfe`: y_it = a_i + g_t + b D_it + e_it with unit and period dummies and CR2
  cluster-robust SEs (Bell-McCaffrey df), clustered by unit by default (Bertrand, Duflo &
  Mullainathan 2004). With staggered adoption the TWFE coefficient is a weighted average of
  2x2 comparisons, some with negative weights (Goodman-Bacon 2021, J. Econometrics 225(2)),
  so a warning is raised.
* :func:`event_study` / :func:`event_study_plot`: leads and lags relative to the first
  treated period, reference period -1.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from plmresearch.causal._effect import build_estimate
from plmresearch.causal._ols import check_se_type, ols, se_label
from plmresearch.causal._prepare import check_ci_level, prepare
from plmresearch.errors import InputError, ModelError, PlmWarning
from plmresearch.results import Estimate
from plmresearch.validation import (
    binary_indicator,
    check_choice,
    finite,
    numeric_values,
    require_column_args,
    require_scale,
    require_variation,
    require_frame,
)


class StaggeredTimingWarning(PlmWarning):
    """Treatment starts at different periods for different units (TWFE may be biased)."""


def did_2x2(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    post: str,
    *,
    cluster: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
    se_type: str | None = None,
) -> Estimate:
    """Two-group, two-period difference in differences.

    ``group`` (0/1: ever treated) and ``post`` (0/1: after the start) are columns; rows may be
    repeated cross-sections or a panel (then pass ``cluster`` = the unit ID). SE: HC2, or CR2
    with Bell-McCaffrey df; ``se_type`` takes the ``estimatr`` names ("HC0", "HC1"/"stata", "HC2",
    "HC3", "classical"; with ``cluster`` "CR0", "stata", "CR2"). The effect size divides by the
    unadjusted pooled SD of the post-period outcome between groups (WWC).
    """
    ci_level = check_ci_level(ci_level)
    p = prepare(df, outcome, group, cluster=cluster, extra_columns={"post": post}, missing=missing,
                treatment_arg="group")
    post_v = binary_indicator(p.data, post, what="period", levels=("pre-period", "post-period"))
    g = p.t
    cells = pd.crosstab(g, post_v)
    if cells.shape != (2, 2) or (cells.to_numpy() < 2).any():
        raise InputError(f"Each group x period cell needs at least 2 observations; got\n{cells}")
    X = np.column_stack([np.ones_like(g), g, post_v, g * post_v])
    se_type = check_se_type(se_type, cluster is not None)
    fit = ols(p.y, X, se_type=se_type, cluster=None if cluster is None else p.data[cluster].to_numpy(), df_for=[3])
    means = pd.DataFrame({"y": p.y, "group": g, "post": post_v}).groupby(["group", "post"]).y.mean().unstack()
    post_rows = post_v == 1
    return build_estimate(
        estimate=fit.coef[3], std_error=fit.se(3), df=fit.df[3],
        method=f"difference in differences (2x2), {se_label(se_type)} SE", ci_level=ci_level,
        y=p.y[post_rows], t=g[post_rows], n_treated=int(g.sum()), n_control=int(len(g) - g.sum()),
        n_clusters=fit.n_clusters, notes=p.notes,
        extra={"cell_means": means} | ({"attrition": p.attrition} if p.attrition else {}),
    )


def _panel(df, outcome, unit, time, cols: dict, missing):
    require_frame(df)
    check_choice(missing, "missing", ("raise", "drop"))
    df = require_column_args(df, {"outcome": outcome, "unit": unit, "time": time} | cols)
    y = numeric_values(df[outcome], outcome)
    require_scale(y, outcome, "Outcome")
    require_variation(y, outcome, "outcome")
    for c in (unit, time):
        if df[c].isna().any():
            raise InputError(f"Column '{c}' has {int(df[c].isna().sum())} missing value(s).")
    dup = df.duplicated([unit, time])
    if dup.any():
        raise InputError(f"{int(dup.sum())} duplicated ({unit}, {time}) row(s): a panel has one row per unit and period.")
    notes = []
    miss = df[outcome].isna()
    if miss.any():
        msg = f"Outcome '{outcome}' is missing in {int(miss.sum())} of {len(df)} unit-periods ({int(df.loc[miss, unit].nunique())} units)."
        if missing == "raise":
            raise InputError(msg + " Pass missing='drop' to analyse the observed unit-periods (attrition is recorded).")
        if missing != "drop":
            raise InputError(f"`missing` must be 'raise' or 'drop', got {missing!r}.")
        notes.append("attrition: " + msg + " They were dropped.")
    return df.loc[~miss].copy(), notes


def _staggered(data: pd.DataFrame, unit: str, time: str, d: np.ndarray, notes: list[str]) -> None:
    first = pd.Series(np.where(d == 1, data[time].to_numpy(), np.nan)).groupby(data[unit].to_numpy()).min().dropna()
    if first.nunique() > 1:
        msg = (f"Staggered treatment timing: units start treatment in {first.nunique()} different periods. The TWFE "
               "coefficient then mixes comparisons with already-treated units and can be biased when effects vary "
               "over time (Goodman-Bacon 2021); consider an event study or a heterogeneity-robust estimator "
               "(Callaway & Sant'Anna 2021).")
        warnings.warn(msg, StaggeredTimingWarning, stacklevel=3)
        notes.append(msg)
    rev = pd.Series(d).groupby(data[unit].to_numpy()).apply(lambda s: bool((np.diff(s.to_numpy()) < 0).any()))
    if rev.any():
        notes.append(f"{int(rev.sum())} unit(s) switch treatment off again; the TWFE estimate assumes no carry-over.")


def twfe(
    df: pd.DataFrame,
    outcome: str,
    treatment: str,
    unit: str,
    time: str,
    *,
    cluster: str | None = None,
    missing: str = "raise",
    ci_level: float = 0.95,
    se_type: str = "CR2",
    stata_fe: str = "areg",
) -> Estimate:
    """Two-way fixed effects regression of the outcome on a 0/1 treatment indicator.

    ``treatment`` is D_it (1 in periods when the unit is treated). SE: CR2 with
    Bell-McCaffrey df clustered by ``cluster`` (default: ``unit``), as
    ``estimatr::lm_robust(y ~ D + factor(unit) + factor(time), clusters = unit, se_type = "CR2")``.
    Warns (:class:`StaggeredTimingWarning`) when treatment timing is staggered.

    Parameters
    ----------
    se_type : "CR2" (default), "CR0" or "stata" (CR1: G/(G-1) (N-1)/(N-K), G - 1 df).
    stata_fe : which Stata command's K the "stata" factor copies. "areg" (default; also
        ``regress`` with dummies and ``estimatr`` with or without ``fixed_effects =``): K counts
        every unit and period effect. "xtreg": ``xtreg y D i.time, fe vce(cluster unit)`` leaves
        out the unit effects nested within the clusters and counts its constant, K = 1 + 1 +
        (periods - 1). Only allowed when units are nested within clusters.
    """
    ci_level = check_ci_level(ci_level)
    se_type = check_se_type(se_type, clustered=True)
    if stata_fe not in ("areg", "xtreg"):
        raise InputError(f"`stata_fe` must be 'areg' or 'xtreg', got {stata_fe!r}.")
    data, notes = _panel(df, outcome, unit, time, {"treatment": treatment}, missing)
    cluster = cluster or unit
    data = require_column_args(data, {"cluster": cluster})
    if stata_fe == "xtreg" and (data.groupby(unit)[cluster].nunique() > 1).any():
        raise InputError(f"stata_fe='xtreg' needs every unit of '{unit}' inside one cluster of '{cluster}' "
                         "(Stata's xtreg refuses panels not nested within clusters); use stata_fe='areg'.")
    d = binary_indicator(data, treatment)
    data = data.assign(_d=d).sort_values([unit, time])
    d = data["_d"].to_numpy()
    _staggered(data, unit, time, d, notes)
    U = pd.get_dummies(data[unit].astype(str), drop_first=True, dtype=float).to_numpy()
    T = pd.get_dummies(data[time].astype(str), drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([np.ones(len(d)), d, U, T])
    y = data[outcome].to_numpy(dtype=float)
    k = X.shape[1] - U.shape[1] if stata_fe == "xtreg" else None
    fit = ols(y, X, se_type=se_type, cluster=data[cluster].to_numpy(), df_for=[1], small_sample_k=k)
    treated_units = data.groupby(unit)["_d"].max()
    label = se_label(se_type) + (f", K = {k} as xtreg, fe" if se_type == "stata" and k is not None else "")
    return build_estimate(
        estimate=fit.coef[1], std_error=fit.se(1), df=fit.df[1],
        method=f"two-way fixed effects ({U.shape[1] + 1} units, {T.shape[1] + 1} periods), {label} SE clustered by "
        f"{cluster}",
        ci_level=ci_level, y=y, t=d, n_treated=int(treated_units.sum()), n_control=int((treated_units == 0).sum()),
        n_clusters=fit.n_clusters, notes=notes,
    )


def event_study(
    df: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    *,
    window: tuple[int, int] | None = None,
    reference: int = -1,
    missing: str = "raise",
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Event-study (dynamic TWFE) coefficients by time relative to the first treated period.

    ``first_treated`` holds each unit's first treated period (NaN for never-treated units);
    ``time`` must be numeric. Relative times outside ``window`` = (lo, hi) are binned into the
    end points. Returns one row per relative time (estimate, std_error, df, ci_low, ci_high;
    the reference period has estimate 0), CR2 SEs clustered by unit.
    """
    ci_level = check_ci_level(ci_level)
    reference_v = finite(reference, "reference")
    if not reference_v.is_integer():
        raise InputError(f"`reference` must be a whole number of periods (e.g. -1), got {reference!r}.")
    reference = int(reference_v)
    data, notes = _panel(df, outcome, unit, time, {"first_treated": first_treated}, missing)
    for c in (time, first_treated):
        v = numeric_values(data[c], c)
        require_scale(v, c)
        if not np.all(np.isnan(v) | (v == np.round(v))) or np.nanmax(np.abs(v), initial=0) > 1e9:
            raise InputError(f"Column '{c}' must hold whole-number periods (e.g. years or terms numbered 1, 2, ...); "
                             "recode it before the event study.")
    ft = data.groupby(unit)[first_treated].nunique(dropna=False)
    if (ft > 1).any():
        raise InputError(f"'{first_treated}' must be constant within each unit of '{unit}'.")
    rel = data[time].to_numpy(float) - data[first_treated].to_numpy(float)
    treated = ~np.isnan(rel)
    if not treated.any():
        raise InputError(f"No unit has a first treated period in '{first_treated}'.")
    r = np.where(treated, rel, 0).astype(int)
    if window is not None:
        lo, hi = int(window[0]), int(window[1])
        if not lo < reference < hi + 1:
            raise InputError(f"`window` {window} must contain the reference period {reference}.")
        r = np.clip(r, lo, hi)
    if reference not in set(r[treated]):
        raise InputError(f"`reference` = {reference} is not a relative time observed in the data (`time` minus "
                         f"`first_treated` '{first_treated}': {[int(v) for v in sorted(set(r[treated]))][:12]}); "
                         "pick one of them (usually -1), or check the `first_treated` column.")
    levels = sorted(set(r[treated]) - {reference})
    if len(data.loc[treated, first_treated].unique()) > 1:
        warnings.warn("Staggered treatment timing: event-study TWFE coefficients can be contaminated by effects from "
                      "other periods (Sun & Abraham 2021).", StaggeredTimingWarning, stacklevel=2)
    E = np.column_stack([(treated & (r == k)).astype(float) for k in levels])
    U = pd.get_dummies(data[unit].astype(str), drop_first=True, dtype=float).to_numpy()
    T = pd.get_dummies(data[time].astype(str), drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([np.ones(len(r)), E, U, T])
    y = data[outcome].to_numpy(float)
    idx = list(range(1, len(levels) + 1))
    try:
        fit = ols(y, X, se_type="CR2", cluster=data[unit].to_numpy(), df_for=idx)
    except ModelError as err:
        raise ModelError(f"{err} In an event study this means the relative times of `first_treated` "
                         f"('{first_treated}') are not separable from the periods of `time` ('{time}'): "
                         "e.g. no never-treated or not-yet-treated comparison; check both columns.") from None
    from scipy import stats

    se = np.sqrt(np.diag(fit.vcov)[idx])
    crit = stats.t.ppf(0.5 + ci_level / 2, fit.df[idx])
    out = pd.DataFrame({"relative_time": levels, "estimate": fit.coef[idx], "std_error": se, "df": fit.df[idx],
                        "ci_low": fit.coef[idx] - crit * se, "ci_high": fit.coef[idx] + crit * se})
    ref = pd.DataFrame({"relative_time": [reference], "estimate": [0.0], "std_error": [0.0], "df": [np.nan],
                        "ci_low": [0.0], "ci_high": [0.0]})
    out = pd.concat([out, ref], ignore_index=True).sort_values("relative_time", ignore_index=True)
    out.attrs["notes"] = notes
    return out


def event_study_plot(table: pd.DataFrame, *, ax=None, title: str = "Event study"):
    """Plot event-study coefficients with their CIs; returns a matplotlib Figure."""
    from plmresearch._plotting import figure_axes

    need = {"relative_time", "estimate", "ci_low", "ci_high"}
    if not isinstance(table, pd.DataFrame) or not need <= set(table.columns):
        raise InputError(f"`table` must be the output of event_study() with columns {sorted(need)}.")
    fig, ax = figure_axes(ax, (6, 4))
    t = table.sort_values("relative_time")
    ax.errorbar(t.relative_time, t.estimate, yerr=[t.estimate - t.ci_low, t.ci_high - t.estimate], fmt="o",
                capsize=3, color="C0")
    ax.axhline(0, color="grey", linewidth=1)
    ax.axvline(-0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("periods relative to first treatment")
    ax.set_ylabel("effect")
    ax.set_title(title)
    return fig
