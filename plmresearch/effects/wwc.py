"""What Works Clearinghouse (WWC) procedures.

Improvement index, cluster-adjusted effect sizes (Hedges 2007), the clustering
correction of a mismatched significance test, baseline equivalence, the attrition
standard and Benjamini-Hochberg across outcomes.

Sources: WWC Procedures Handbook v4.1 (2020) Appendix E/F and its 2021 supplement,
WWC Procedures and Standards Handbook v5.0 (2022), as transcribed with equation
numbers by the R packages baselinr (``cluster_correction``, ``wwc_classify``) and
VIVECampbell (``df_h``, WWC 2022 eq. E.21); WWC Handbook v2.0 Appendix F (improvement
index example). See each function for what could and could not be verified.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from plmresearch.effects._common import EffectSize, check_choice, check_icc, check_level, check_n, normal_ci
from plmresearch.effects.binary import cox_index
from plmresearch.effects.smd import hedges_correction, pooled_sd
from plmresearch.errors import InputError
from plmresearch.results import Estimate
from plmresearch.validation import (
    finite_or_input_error,
    numeric_values,
    require_scale,
    require_column_args,
    array_1d,
    binary_indicator,
    count,
    finite,
    require_columns,
    require_frame,
    require_numeric,
)

#: Default ICCs the WWC imputes when a study reports none: 0.20 for achievement
#: outcomes, 0.10 for all others. Taken from baselinr ``cluster_correction()``
#: (zl1212-ship-it/baselinr, R/cluster_correction.R), which cites the WWC Procedures
#: Handbook v4.1 App. F; not re-read in the handbook text itself.
WWC_DEFAULT_ICC: dict[str, float] = {"achievement": 0.20, "other": 0.10}

OUTCOME_TYPES = ("achievement", "other")


@finite_or_input_error
def wwc_omega(n_total: float) -> float:
    """WWC small-sample correction ``ω = 1 - 3/(4N - 9)`` (WWC Handbook v4.1 App. E)."""
    n = check_n(n_total, "n_total", 3)
    return 1 - 3 / (4 * n - 9)


def improvement_index(g: Any) -> Any:
    """WWC improvement index: ``100·(Φ(g) - 0.5)``, in percentile points (-50 to +50).

    The expected change in percentile rank of an average comparison-group student had
    they received the intervention (WWC Handbook v2.0 App. F: g = 0.25 -> U3 = 60%
    -> index 10; the WWC reports whole points, round the result to show it that way).
    Accepts a number or an array.

    >>> round(improvement_index(0.25), 2)
    9.87
    """
    if np.ndim(g) == 0:
        return 100 * (float(stats.norm.cdf(finite(g, "g"))) - 0.5)
    a = array_1d(g, "g")
    return 100 * (stats.norm.cdf(a) - 0.5)


def _require_adjustable(n_total: float, n: float, rho: float) -> None:
    """The Hedges (2007) factor (N-2) - 2(n-1)ρ must be positive: otherwise there are too few
    clusters for the ICC (e.g. icc = 1 with two clusters) and the adjusted g, its variance and
    df are undefined."""
    if (n_total - 2) - 2 * (n - 1) * rho <= 0 or (rho == 1 and n_total <= 2 * n):
        raise InputError(
            f"`icc` = {rho:g} with `cluster_size` = {n:g} and N = {n_total:g} (about {n_total / n:.3g} clusters) leaves "
            "no information for the cluster adjustment ((N-2) - 2(n-1)*icc <= 0): the adjusted effect is undefined. "
            "Check `icc` (1 means every unit of a cluster is identical) and `cluster_size`."
        )


def _resolve_icc(icc: float | None, outcome_type: str) -> tuple[float, tuple[str, ...]]:
    check_choice(outcome_type, "outcome_type", OUTCOME_TYPES)
    if icc is None:
        rho = WWC_DEFAULT_ICC[outcome_type]
        return rho, (f"ICC not reported: WWC default {rho:.2f} for {outcome_type} outcomes imputed",)
    return check_icc(icc), ()


@finite_or_input_error
def cluster_adjusted_df(n_total: float, cluster_size: float, icc: float) -> float:
    """Degrees of freedom ``h`` of a cluster-adjusted t test (Hedges 2007).

    ``h = [(N-2) - 2(n-1)ρ]² / [(N-2)(1-ρ)² + n(N-2n)ρ² + 2(N-2n)ρ(1-ρ)]``
    (WWC 2022, eq. E.21; VIVECampbell ``df_h``).
    """
    n_total = check_n(n_total, "n_total", 3)
    n = check_n(cluster_size, "cluster_size", 1)
    rho = check_icc(icc)
    if n > n_total / 2:
        raise InputError(f"`cluster_size` ({cluster_size!r}) cannot exceed half of `n_total` ({n_total!r}).")
    _require_adjustable(n_total, n, rho)
    a = (n_total - 2) - 2 * (n - 1) * rho
    b = (n_total - 2) * (1 - rho) ** 2 + n * (n_total - 2 * n) * rho**2 + 2 * (n_total - 2 * n) * rho * (1 - rho)
    return a**2 / b


@finite_or_input_error
def wwc_cluster_adjusted_g(g: float, n_t: float, n_c: float, cluster_size: float, icc: float | None = None, *,
                           outcome_type: str = "achievement", ci_level: float = 0.95) -> EffectSize:
    """Cluster-adjusted effect size when both arms were assigned by cluster (Hedges 2007).

    ``g_T = g · sqrt(1 - 2(n-1)ρ/(N-2))`` with ``n`` the average cluster size and
    ``N = n_t + n_c`` (Hedges 2007, *JEBS* 32(4), eq. for d_T2; WWC Handbook v4.1 App. E).
    ``icc=None`` imputes the WWC default (:data:`WWC_DEFAULT_ICC`).

    Variance (Hedges 2007):
    ``(N/(n_t n_c))·(1 + (n-1)ρ) + g_T²·[(N-2)(1-ρ)² + n(N-2n)ρ² + 2(N-2n)ρ(1-ρ)] / (2(N-2)[(N-2) - 2(n-1)ρ])``.
    This variance (Hedges 2007 eq. 16) could not be checked against the article text in
    this project; it agrees term by term with an independent R implementation
    (``hedges2007()``, found in public code, that cites eq. 15-16 — which however omits
    the square root of the eq. 15 factor; the square root is kept here because
    ``E[S_T²] = σ_T²(1 - 2(n-1)ρ/(N-2))``). The df ``h`` is verified (WWC 2022 eq. E.21).
    """
    g = finite(g, "g")
    n_t, n_c = check_n(n_t, "n_t"), check_n(n_c, "n_c")
    ci_level = check_level(ci_level)
    rho, notes = _resolve_icc(icc, outcome_type)
    N = n_t + n_c
    n = check_n(cluster_size, "cluster_size", 1)
    _require_adjustable(N, n, rho)
    h = cluster_adjusted_df(N, n, rho)
    a = (N - 2) - 2 * (n - 1) * rho
    factor = math.sqrt(a / (N - 2))
    g_t = g * factor
    b = (N - 2) * (1 - rho) ** 2 + n * (N - 2 * n) * rho**2 + 2 * (N - 2 * n) * rho * (1 - rho)
    var = N / (n_t * n_c) * (1 + (n - 1) * rho) + g_t**2 * b / (2 * (N - 2) * a)
    lo, hi = normal_ci(g_t, math.sqrt(var), ci_level)
    return EffectSize(g_t, var, math.sqrt(var), lo, hi, "Hedges' g (cluster-adjusted)", ci_level=ci_level,
                      df=h, correction=factor, n_treated=n_t, n_control=n_c, notes=notes,
                      extra={"icc": rho, "cluster_size": n})


@dataclass(frozen=True)
class ClusteringCorrection:
    """Result of :func:`clustering_corrected_test`."""

    t: float
    t_corrected: float
    df: float
    p_value: float
    significant: bool
    icc: float
    alpha: float
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        d = {k: getattr(self, k) for k in ("t", "t_corrected", "df", "p_value", "significant", "icc", "alpha")}
        d["notes"] = "; ".join(self.notes)
        return pd.DataFrame([d])


@finite_or_input_error
def clustering_corrected_test(g: float, n_t: float, n_c: float, n_clusters_t: float, n_clusters_c: float,
                              icc: float | None = None, *, outcome_type: str = "achievement",
                              alpha: float = 0.05) -> ClusteringCorrection:
    """WWC clustering correction of a 'mismatched' analysis (clusters assigned, students analyzed).

    ``t = g / sqrt(N/(n_t n_c) + g²/(2N))``; ``t_A = t·sqrt([(N-2) - 2(n-1)ρ] / [(N-2)(1 + (n-1)ρ)])``
    with ``n = N/M`` the average cluster size; df ``h`` (:func:`cluster_adjusted_df`);
    two-sided ``p = 2 P(T_h > |t_A|)``. WWC Procedures Handbook v4.1 App. F eqs F.1.0-F.1.4
    as implemented by baselinr ``cluster_correction``; Hedges (2007).
    The WWC applies the correction only to findings reported as significant.
    """
    g = finite(g, "g")
    n_t, n_c = check_n(n_t, "n_t"), check_n(n_c, "n_c")
    m_t, m_c = count(n_clusters_t, "n_clusters_t"), count(n_clusters_c, "n_clusters_c")
    for arm, k, n_arm in (("t", m_t, n_t), ("c", m_c, n_c)):
        if k > n_arm:
            raise InputError(f"`n_clusters_{arm}` = {k} exceeds `n_{arm}` = {n_arm}: an arm cannot have more clusters "
                             "than units. Check the arguments' order.")
    m = m_t + m_c
    alpha = check_level(alpha, "alpha")
    rho, notes = _resolve_icc(icc, outcome_type)
    N = n_t + n_c
    n = N / m
    _require_adjustable(N, n, rho)
    t = g / math.sqrt(N / (n_t * n_c) + g**2 / (2 * N))
    a = (N - 2) - 2 * (n - 1) * rho
    t_a = t * math.sqrt(a / ((N - 2) * (1 + (n - 1) * rho)))
    h = cluster_adjusted_df(N, n, rho)
    p = float(2 * stats.t.sf(abs(t_a), h))
    return ClusteringCorrection(t, t_a, h, p, p < alpha, rho, alpha, notes)


def add_wwc_effect_size(estimate: Estimate, sd_t: float, n_t: float, sd_c: float, n_c: float, *,
                        exact: bool = False) -> Estimate:
    """Return a copy of an :class:`~plmresearch.results.Estimate` with its WWC effect size filled in.

    ``g = ω · estimate / S_p`` with ``S_p`` the unadjusted pooled within-arm SD of the
    outcome (WWC Procedures Handbook v4.1 App. E); the CI of g is the estimate's CI
    rescaled by the same factor. ``exact=True`` uses the gamma-function J instead of ω.
    A posterior estimate's draws are rescaled too, so ``prob_greater(x, scale="effect_size")``
    answers on the g scale.
    """
    if not isinstance(estimate, Estimate):
        raise InputError(f"`estimate` must be a plmresearch Estimate, got {type(estimate).__name__}.")
    sp = pooled_sd(sd_t, n_t, sd_c, n_c)
    j = hedges_correction(float(n_t) + float(n_c) - 2, exact=exact)
    k = j / sp
    changes = dict(effect_size=estimate.estimate * k,
                   effect_size_type="Hedges' g" if exact else "Hedges' g (WWC)",
                   effect_size_ci_low=estimate.ci_low * k, effect_size_ci_high=estimate.ci_high * k)
    draws = getattr(estimate, "draws", None)
    if draws is not None and hasattr(estimate, "effect_size_draws"):  # a PosteriorEstimate
        changes["effect_size_draws"] = np.asarray(draws, dtype=float) * k
    return replace(estimate, **changes)


# ----------------------------------------------------------------------------- baseline equivalence

BASELINE_LABELS = ("satisfied", "satisfied with adjustment", "not satisfied")


def classify_baseline_difference(g: Any) -> Any:
    """WWC baseline-equivalence category of a baseline effect size (Hedges' g or Cox index).

    ``|g| <= 0.05``: "satisfied"; ``0.05 < |g| <= 0.25``: "satisfied with adjustment"
    (the covariate must be adjusted for in the impact model); ``> 0.25``: "not satisfied"
    (WWC Standards Handbook v4.1/v5.0; cut points and inclusivity as in baselinr
    ``wwc_classify``). Accepts a number or an array (returns a list).
    """
    def one(x: float) -> str:
        ax = abs(x)
        # round to 12 dp so a difference of exactly 0.05 is not pushed over by float error
        ax = round(ax, 12)
        return BASELINE_LABELS[0] if ax <= 0.05 else BASELINE_LABELS[1] if ax <= 0.25 else BASELINE_LABELS[2]

    if np.ndim(g) == 0:
        return one(finite(g, "g"))
    return [one(x) for x in array_1d(g, "g")]


def baseline_equivalence(df: pd.DataFrame, treatment: str, covariates: list[str] | str, *,
                         binary: str = "auto") -> pd.DataFrame:
    """WWC baseline-equivalence table, one row per baseline covariate.

    Continuous covariates: Hedges' g with the WWC ω (:func:`wwc_omega`) and the pooled
    SD; 0/1 covariates: the Cox index (:func:`~plmresearch.effects.binary.cox_index`,
    without ω). ``binary="auto"`` treats a covariate with only the values 0 and 1 as
    dichotomous; "never" treats every covariate as continuous. Rows with a missing
    covariate are dropped for that covariate (counts are reported).
    """
    require_frame(df)
    if isinstance(covariates, str):
        covs = [covariates]
    elif isinstance(covariates, (list, tuple, pd.Index)):
        covs = list(covariates)
    else:
        raise InputError(f"`covariates` must be a column name or a list of them, got {covariates!r:.40}.")
    if not covs:
        raise InputError("`covariates` is empty; name at least one baseline column.")
    df = require_column_args(df, {"treatment": treatment, "covariates": covs})
    check_choice(binary, "binary", ("auto", "never"))
    rows = []
    for cov in covs:
        require_numeric(df, cov)
        sub = df[[cov, treatment]].dropna(subset=[cov])
        if not len(sub):
            raise InputError(f"Covariate '{cov}' is missing in every row; drop it from `covariates`.")
        z = binary_indicator(sub, treatment)
        x = numeric_values(sub[cov], cov)
        require_scale(x, cov, "Covariate")
        xt, xc = x[z == 1], x[z == 0]
        if len(xt) < 2 or len(xc) < 2:
            raise InputError(f"Covariate '{cov}' has fewer than 2 non-missing values in an arm.")
        is_bin = binary == "auto" and set(np.unique(x)) <= {0.0, 1.0}
        row = {"covariate": cov, "n_treated": len(xt), "n_control": len(xc),
               "mean_treated": xt.mean(), "mean_control": xc.mean()}
        if is_bin:
            pt, pc = xt.mean(), xc.mean()
            if pt in (0.0, 1.0) or pc in (0.0, 1.0):
                raise InputError(f"Binary covariate '{cov}' is constant within an arm; the Cox index is infinite.")
            es, kind = cox_index(pt, pc).estimate, "Cox index"
            row.update(sd_treated=np.nan, sd_control=np.nan)
        else:
            sdt, sdc = xt.std(ddof=1), xc.std(ddof=1)
            if sdt == 0 and sdc == 0:
                raise InputError(f"Covariate '{cov}' is constant within each arm: its standardized difference is "
                                 "undefined. Drop it from `covariates` and compare its values directly.")
            sp = pooled_sd(sdt, len(xt), sdc, len(xc))
            es = wwc_omega(len(xt) + len(xc)) * (xt.mean() - xc.mean()) / sp
            kind = "Hedges' g (WWC)"
            row.update(sd_treated=sdt, sd_control=sdc)
        row.update(effect_size=es, effect_size_type=kind, status=classify_baseline_difference(es))
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- attrition

BOUNDARY_COLUMNS = ("overall", "cautious", "optimistic")
BOUNDARIES = ("cautious", "optimistic")

#: Where the shipped boundary table comes from and how far it can be trusted
#: (plmresearch/effects/data/WWC_ATTRITION_BOUNDARIES.md).
SHIPPED_TABLE_SOURCE = ("WWC Standards Handbook v4.1 Table II.1 as transcribed by the R package baselinr "
                        "(R/attrition_boundary.R); plmresearch/effects/data/wwc_attrition_boundaries.csv")
SHIPPED_TABLE_STATUS = ("SECONDARY: a third-party transcription, not the handbook itself; the cautious column is "
                        "corroborated by a second transcription (RWWC, rows 0-57), the optimistic column is "
                        "disputed from 13 % overall attrition (RWWC's values are baselinr's shifted down one row, "
                        "e.g. 30 %: 8.4 vs 8.2)")
USER_TABLE_STATUS = "user-supplied table"


def _data_file(name: str):
    from importlib import resources

    return resources.files("plmresearch.effects").joinpath("data", name)


def wwc_attrition_boundaries(encoding: str = "baselinr") -> pd.DataFrame:
    """The shipped WWC attrition boundary table (percentage points), with its provenance.

    ``encoding="baselinr"`` (default, encoding A) is the table :func:`attrition_check` uses;
    ``encoding="rwwc"`` is the second third-party transcription (HaiwenChu/RWWC-v.4-Group-Designs,
    rows 0-57) whose optimistic column differs from 13 % on. Status SECONDARY: the handbook's
    Table II.1 itself could not be read (see plmresearch/effects/data/WWC_ATTRITION_BOUNDARIES.md).
    ``.attrs`` holds ``source`` and ``status``.
    """
    check_choice(encoding, "encoding", ("baselinr", "rwwc"))
    if encoding == "baselinr":
        with _data_file("wwc_attrition_boundaries.csv").open() as f:
            t = pd.read_csv(f)
        source = SHIPPED_TABLE_SOURCE
    else:
        with _data_file("wwc_attrition_boundaries_two_encodings.csv").open() as f:
            two = pd.read_csv(f)
        t = two.rename(columns={"overall_attrition_pct": "overall", "cautious_WWCr": "cautious",
                                "optimistic_WWCr": "optimistic"})[list(BOUNDARY_COLUMNS)]
        t = t.dropna(subset=["cautious", "optimistic"], how="all")
        source = ("WWC Standards Handbook v4.0 Table II.1 as transcribed by HaiwenChu/RWWC-v.4-Group-Designs "
                  "(2018); plmresearch/effects/data/wwc_attrition_boundaries_two_encodings.csv")
    t = attrition_boundary_table(t)
    t.attrs.update(source=source, status=SHIPPED_TABLE_STATUS)
    return t


def attrition_boundary_table(table: pd.DataFrame | str | Path | None = None) -> pd.DataFrame:
    """Validate (or read from CSV) a WWC attrition boundary table; None gives the shipped one.

    The table must have the columns ``overall``, ``cautious`` and ``optimistic``, all in
    **percentage points**: for each overall attrition rate, the highest differential
    attrition that still counts as "low attrition" under each assumption (WWC
    Standards Handbook v4.1, Table II.1 / v5.0). A missing (NaN) boundary means the
    overall rate is high attrition under that assumption whatever the differential.

    The shipped table (:func:`wwc_attrition_boundaries`) is a third-party transcription
    (status SECONDARY); transcribe the table from the handbook you are applying and pass it
    here to override it.
    """
    if table is None:
        return wwc_attrition_boundaries()
    if isinstance(table, (str, Path)):
        path = Path(table)
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise InputError(f"`table`: the attrition boundary file '{path}' {what}. "
                             "Pass a CSV file with the columns " + ", ".join(BOUNDARY_COLUMNS) + ".")
        try:
            table = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
            raise InputError(f"`table`: the attrition boundary file '{path}' cannot be read as CSV "
                             f"({type(exc).__name__}: {str(exc)[:80]}).") from None
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"`table` must be a DataFrame or a CSV path, got {type(table).__name__}.")
    require_columns(table, BOUNDARY_COLUMNS, what="attrition boundary table")
    t = table[list(BOUNDARY_COLUMNS)].astype(float).sort_values("overall").reset_index(drop=True)
    if t["overall"].isna().any() or t["overall"].duplicated().any():
        raise InputError("The boundary table's `overall` column must hold distinct, non-missing percentages.")
    for col in BOUNDARY_COLUMNS:
        v = t[col].dropna()
        if ((v < 0) | (v > 100)).any():
            raise InputError(f"Boundary column '{col}' must be in percentage points (0-100); found {v.max()!r}.")
    t.attrs.update(getattr(table, "attrs", {}))
    return t


@dataclass(frozen=True)
class AttritionResult:
    """Result of :func:`attrition_check` (rates are proportions; boundaries too).

    ``table_source``/``table_status`` name the boundary table used. With the shipped table,
    ``cautious_other_encoding``/``optimistic_other_encoding`` are the ratings under the second
    transcription and ``notes`` says when a rating would change under it.
    """

    overall: float
    attrition_treated: float
    attrition_control: float
    differential: float
    max_differential_cautious: float
    max_differential_optimistic: float
    cautious: str
    optimistic: str
    assumption: str | None = None
    table_source: str = SHIPPED_TABLE_SOURCE
    table_status: str = SHIPPED_TABLE_STATUS
    cautious_other_encoding: str | None = None
    optimistic_other_encoding: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def rating(self) -> str | None:
        """The low/high rating under the chosen ``assumption`` (None if none was chosen)."""
        return None if self.assumption is None else getattr(self, self.assumption)

    @property
    def sensitive_to_encoding(self) -> bool:
        """True when the chosen boundary's rating (either, if none chosen) differs under the other encoding."""
        pairs = {"cautious": (self.cautious, self.cautious_other_encoding),
                 "optimistic": (self.optimistic, self.optimistic_other_encoding)}
        keys = [self.assumption] if self.assumption else list(pairs)
        return any(pairs[k][1] is not None and pairs[k][0] != pairs[k][1] for k in keys)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__ | {"rating": self.rating, "notes": "; ".join(self.notes)}])


@finite_or_input_error
def attrition_rates(n_randomized_t: float, n_randomized_c: float, n_analyzed_t: float,
                    n_analyzed_c: float) -> dict[str, float]:
    """Overall, per-arm and differential attrition (proportions).

    overall ``= 1 - (a_t + a_c)/(r_t + r_c)``; per arm ``1 - a/r``; differential ``|att_t - att_c|``
    (WWC Standards Handbook v5.0; baselinr ``attrition``).
    """
    r_t, r_c = count(n_randomized_t, "n_randomized_t"), count(n_randomized_c, "n_randomized_c")
    a_t, a_c = count(n_analyzed_t, "n_analyzed_t", 0), count(n_analyzed_c, "n_analyzed_c", 0)
    for a, r, an, rn in ((a_t, r_t, "n_analyzed_t", "n_randomized_t"), (a_c, r_c, "n_analyzed_c", "n_randomized_c")):
        if a > r:
            raise InputError(f"`{an}` ({a}) exceeds `{rn}` ({r}): more units analyzed than randomized.")
    att_t, att_c = 1 - a_t / r_t, 1 - a_c / r_c
    return {"overall": 1 - (a_t + a_c) / (r_t + r_c), "attrition_treated": att_t,
            "attrition_control": att_c, "differential": abs(att_t - att_c)}


def classify_attrition(overall: float, differential: float, boundary: pd.DataFrame | str | Path | None = None,
                       assumption: str = "cautious") -> tuple[str, float]:
    """Low/high attrition for rates given as proportions, against a boundary table.

    ``boundary`` is a table (DataFrame or CSV path); None uses the shipped (SECONDARY) table.
    The overall rate is rounded to the table's nearest row (whole percentage points for
    the handbook's table, as baselinr does); a differential at or below the boundary is
    "low". Overall rates beyond the table, or with a missing boundary, are "high".
    Returns ``(rating, max_differential)`` with the boundary as a proportion (NaN when none).
    """
    o = finite(overall, "overall")
    dif = finite(differential, "differential")
    if not 0 <= o <= 1:
        raise InputError(f"`overall` attrition must be a proportion in [0, 1], got {overall!r}.")
    if not 0 <= dif <= 1:
        raise InputError(f"`differential` attrition must be a proportion in [0, 1], got {differential!r}.")
    check_choice(assumption, "assumption", BOUNDARIES)
    tab = attrition_boundary_table(boundary)
    o_pct = o * 100
    if o_pct > tab["overall"].max() + 0.5 or o_pct < tab["overall"].min() - 0.5:
        return "high", float("nan")
    i = int(np.argmin(np.abs(tab["overall"].to_numpy() - np.round(o_pct))))
    b = float(tab.loc[i, assumption])
    if math.isnan(b):
        return "high", float("nan")
    # tolerance so a differential exactly on the boundary is not pushed over by float error
    return ("low" if dif * 100 <= b + 1e-8 else "high"), b / 100


def attrition_check(n_randomized_t: float, n_randomized_c: float, n_analyzed_t: float, n_analyzed_c: float,
                    boundary: str | pd.DataFrame | Path | None = None, assumption: str | None = None, *,
                    table: pd.DataFrame | str | Path | None = None) -> AttritionResult:
    """WWC attrition standard: overall and differential attrition against both boundaries.

    Parameters
    ----------
    n_randomized_t, n_randomized_c, n_analyzed_t, n_analyzed_c : counts per arm.
    boundary : "cautious" or "optimistic" -- the boundary the review protocol prescribes
        (cautious when the intervention may affect who stays in the sample); it sets
        ``.rating``. (A DataFrame or CSV path here is read as ``table``, as in earlier versions.)
    assumption : the same choice under its former name.
    table : a user boundary table (see :func:`attrition_boundary_table`); it overrides the
        shipped one. Default: the shipped table, a SECONDARY third-party transcription of WWC
        Standards Handbook v4.1 Table II.1 (:func:`wwc_attrition_boundaries`).

    Returns
    -------
    AttritionResult
        Rates, the rating ("low"/"high") under both boundaries, the table's source and status.
        With the shipped table it also rates against the second transcription and, where a
        rating would change under it, says so in ``notes`` (``sensitive_to_encoding``).
    """
    if isinstance(boundary, str) and boundary in BOUNDARIES:
        if assumption is not None and assumption != boundary:
            raise InputError(f"`boundary`={boundary!r} and `assumption`={assumption!r} disagree; give one of them.")
        assumption = boundary
    elif boundary is not None:
        if not isinstance(boundary, (str, Path, pd.DataFrame)):
            raise InputError(f"`boundary` must be 'cautious' or 'optimistic' (or a boundary table), got {boundary!r:.40}.")
        if isinstance(boundary, str) and not Path(boundary).suffix and not Path(boundary).exists():
            raise InputError(f"`boundary` must be 'cautious' or 'optimistic' (or a boundary table), got {boundary!r}.")
        if table is not None:
            raise InputError("Give the boundary table once: as `table=` (preferred) or as `boundary`.")
        table = boundary
    if assumption is not None:
        check_choice(assumption, "assumption", BOUNDARIES)
    rates = attrition_rates(n_randomized_t, n_randomized_c, n_analyzed_t, n_analyzed_c)
    shipped = table is None
    tab = attrition_boundary_table(table)
    c, bc = classify_attrition(rates["overall"], rates["differential"], tab, "cautious")
    o, bo = classify_attrition(rates["overall"], rates["differential"], tab, "optimistic")
    extra: dict[str, Any] = {}
    if shipped:
        alt = wwc_attrition_boundaries("rwwc")
        c2, _ = classify_attrition(rates["overall"], rates["differential"], alt, "cautious")
        o2, bo2 = classify_attrition(rates["overall"], rates["differential"], alt, "optimistic")
        notes = [f"Boundaries: {SHIPPED_TABLE_SOURCE}. Status {SHIPPED_TABLE_STATUS}."]
        for name, r1, r2 in (("cautious", c, c2), ("optimistic", o, o2)):
            if r1 != r2 and assumption in (None, name):
                b2 = "no row" if math.isnan(bo2) or name == "cautious" else f"{100 * bo2:.1f} points"
                notes.append(f"The {name} rating ({r1}) would be {r2} under the second transcription (RWWC: {b2} "
                             f"at {round(100 * rates['overall'])} % overall attrition): it rests on a disputed "
                             "row; check the handbook's Table II.1.")
        extra = dict(table_source=SHIPPED_TABLE_SOURCE, table_status=SHIPPED_TABLE_STATUS,
                     cautious_other_encoding=c2, optimistic_other_encoding=o2, notes=tuple(notes))
    else:
        src = tab.attrs.get("source") or (f"user file {table}" if isinstance(table, (str, Path)) else "user table")
        extra = dict(table_source=src, table_status=tab.attrs.get("status", USER_TABLE_STATUS),
                     notes=(f"Boundaries: {src} (user-supplied).",))
    return AttritionResult(**rates, max_differential_cautious=bc, max_differential_optimistic=bo,
                           cautious=c, optimistic=o, assumption=assumption, **extra)


# ----------------------------------------------------------------------------- multiple outcomes


def benjamini_hochberg(p_values: Any, alpha: float = 0.05, labels: Any = None) -> pd.DataFrame:
    """Benjamini-Hochberg (1995) step-up procedure across outcomes in a domain.

    Returns a table with the p-values, BH-adjusted p-values
    ``min_{j>=i} min(1, m p_(j)/j)`` and whether each is rejected at ``alpha``
    (statsmodels ``multipletests(method="fdr_bh")``). The WWC applies BH within an
    outcome domain.
    """
    from statsmodels.stats.multitest import multipletests

    p = array_1d(p_values, "p_values")
    if ((p < 0) | (p > 1)).any():
        bad = p[(p < 0) | (p > 1)][0]
        raise InputError(f"`p_values` must lie in [0, 1]; found {bad!r}.")
    alpha = check_level(alpha, "alpha")
    reject, p_adj, _, _ = multipletests(p, alpha=alpha, method="fdr_bh")
    out = pd.DataFrame({"p_value": p, "p_adjusted": p_adj, "reject": reject})
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(p):
            raise InputError(f"`labels` has {len(labels)} entries but `p_values` has {len(p)}.")
        out.insert(0, "outcome", labels)
    return out
