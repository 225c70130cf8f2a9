"""Frequentist multilevel models: statsmodels MixedLM with a guarded optimizer.

statsmodels' default (BFGS) and L-BFGS optimizers can stop at a wrong optimum
on the High School and Beyond random-slope model while reporting success, and
L-BFGS can return an infinite likelihood on the null model (see
``shared/references/reproduction_targets.md`` section 2). :func:`fit_mixedlm`
therefore runs several derivative-free optimizers (Powell, Nelder-Mead), keeps
the best *finite* (restricted) log-likelihood, polishes it with a gradient
method from those start values, and records every attempt and the winner.

Three levels: the outermost grouping factor gets a full covariance matrix
(``re_formula``); nested factors become statsmodels variance components
(independent intercept and slopes). A correlated intercept and slope at a
nested level cannot be expressed in MixedLM; ask for ``engine="bayes"``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

from plmresearch.errors import InputError, ModelError
from plmresearch.models.formula import (
    MixedFormula,
    check_data,
    design,
    group_key,
    nesting,
    parse_formula,
)
from plmresearch.models.mixed_fit import MultilevelFit
from plmresearch.validation import check_choice, check_ci_level, check_flag, count

__all__ = ["MultilevelFit", "fit_mixedlm", "likelihood_ratio_test"]

DEFAULT_OPTIMIZERS = ("powell", "lbfgs")
DEFAULT_POLISH = "lbfgs"
#: the scipy methods statsmodels' MixedLM.fit accepts
OPTIMIZERS = ("powell", "nm", "bfgs", "lbfgs", "cg", "newton", "ncg", "basinhopping", "minimize")


def _build(mf: MixedFormula, used: pd.DataFrame):
    terms = nesting(mf, used)
    data = used.copy()
    outer = terms[0]
    data["_g0"] = group_key(data, outer).to_numpy()
    z_outer = design(f"~ {outer.expr}", data)
    if z_outer.shape[1] == 0:
        raise ModelError(f"The term {outer.label} has no intercept or slope.")
    z_names = list(z_outer.columns)
    exog_re = z_outer.to_numpy()
    free = None
    vc: dict[str, tuple[str, str | None]] = {}
    vc_labels: dict[str, tuple[str, str]] = {}
    for i, t in enumerate(terms[1:], start=1):
        z = design(f"~ {t.expr}", data)
        if t.correlated and z.shape[1] > 1:
            raise ModelError(
                f"statsmodels MixedLM cannot fit a correlated intercept and slope at the nested level "
                f"{t.label}. Use engine='bayes', or make them independent with '({t.expr} || {t.group})'."
            )
        data[f"_g{i}"] = group_key(data, t).to_numpy()
        for k, col in enumerate(z.columns):
            name = f"_vc{i}_{k}"
            if col == "Intercept":
                vc[name] = (f"_g{i}", None)
            else:
                data[f"_z{i}_{k}"] = z[col].to_numpy()
                vc[name] = (f"_g{i}", f"_z{i}_{k}")
            vc_labels[name] = (t.group, col)
    return terms, data, exog_re, z_names, vc, vc_labels, free


def _vcspec(d: pd.DataFrame, vc: dict[str, tuple[str, str | None]]) -> VCSpec:
    """statsmodels variance-component design: one indicator (or slope) matrix per outer group."""
    g0 = d["_g0"].to_numpy()
    labels = list(pd.unique(pd.Series(g0)))
    labels = sorted(labels)
    idx = pd.Series(np.arange(len(g0))).groupby(g0).indices
    names, colnames, mats = [], [], []
    for name, (gcol, zcol) in vc.items():
        cn, mt = [], []
        for lab in labels:
            rows = idx[lab]
            codes, uniq = pd.factorize(d[gcol].to_numpy()[rows])
            m = np.zeros((len(rows), len(uniq)))
            m[np.arange(len(rows)), codes] = 1.0 if zcol is None else d[zcol].to_numpy()[rows]
            mt.append(m)
            cn.append([str(u) for u in uniq])
        names.append(name)
        colnames.append(cn)
        mats.append(mt)
    return VCSpec(names, colnames, mats)


def fit_mixedlm(
    formula: str | MixedFormula,
    data: pd.DataFrame,
    *,
    reml: bool = True,
    optimizers: tuple[str, ...] = DEFAULT_OPTIMIZERS,
    polish: str | None = DEFAULT_POLISH,
    maxiter: int = 5000,
    ci_level: float = 0.95,
) -> MultilevelFit:
    """Fit a two- or three-level linear mixed model by (RE)ML with statsmodels.

    Parameters
    ----------
    formula : str
        lme4 style, e.g. ``"mathach ~ cses * meanses + (1 + cses | school)"``.
        Nested levels: ``(1 | school) + (1 | school:class)`` or ``(1 | school/class)``;
        a nested slope must be independent of the intercept: ``(1 + x || school:class)``.
        Independent terms at the outer level (``(x || g)``), several terms on one factor
        and crossed factors go to the sparse penalized-least-squares engine
        (:func:`~plmresearch.models.lmm_pls.fit_lmm`), which ignores ``optimizers``/``polish``.
    reml : bool
        Restricted ML (HLM's and lme4's default) or full ML (for likelihood-ratio
        tests of fixed effects).
    optimizers, polish : str
        scipy methods tried in turn (``"powell"``, ``"nm"``, ``"bfgs"``, ``"lbfgs"``, ``"cg"``);
        the best finite log-likelihood is refined with ``polish`` and kept only if it
        does not get worse.

    Notes
    -----
    Estimator: Lindstrom & Bates (1988) REML, statsmodels ``MixedLM``.
    """
    mf = parse_formula(formula) if isinstance(formula, str) else formula
    reml = check_flag(reml, "reml")
    check_ci_level(ci_level)
    if isinstance(optimizers, str) or not isinstance(optimizers, (tuple, list)) or not optimizers:
        raise InputError(f"`optimizers` must be a non-empty tuple of method names such as ('powell', 'nm'), "
                         f"got {optimizers!r}.")
    for meth in optimizers:
        check_choice(meth, "optimizers", OPTIMIZERS)
    if polish is not None:
        check_choice(polish, "polish", OPTIMIZERS)
    maxiter = count(maxiter, "maxiter")
    used = check_data(mf, data)
    from plmresearch.models.lmm_pls import fit_lmm, needs_pls

    if needs_pls(mf, used):  # (x || g), two terms on one factor, crossed factors: MixedLM would refuse or misfit
        return fit_lmm(mf, data, reml=reml, ci_level=ci_level)
    terms, d, exog_re, z_names, vc, vc_labels, free = _build(mf, used)
    x = design(f"~ {mf.fixed_rhs}", d)
    fe_names = list(x.columns)
    vcspec = _vcspec(d, vc) if vc else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = MixedLM(d[mf.outcome].to_numpy(dtype=float), x.to_numpy(), groups=d["_g0"].to_numpy(),
                            exog_re=exog_re, exog_vc=vcspec)
        except Exception as exc:
            raise ModelError(f"statsmodels could not set up the model {mf.formula!r}: {exc}") from None
    trials, results = [], []
    for meth in optimizers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = model.fit(reml=reml, method=meth, maxiter=maxiter, free=free)
                trials.append({"optimizer": meth, "llf": float(r.llf), "converged": bool(r.converged), "error": None})
                results.append((meth, r))
            except Exception as exc:  # a failed optimizer is recorded, not fatal
                trials.append({"optimizer": meth, "llf": np.nan, "converged": False, "error": str(exc)[:200]})
    finite = [(m, r) for m, r in results if np.isfinite(r.llf) and np.all(np.isfinite(r.fe_params))]
    if not finite:
        raise ModelError(
            f"No optimizer reached a finite likelihood for {mf.formula!r}; attempts: "
            + "; ".join(f"{t['optimizer']}: {t['error'] or t['llf']}" for t in trials)
            + ". Check for a grouping factor with too few groups or a constant predictor."
        )
    best_name, best = max(finite, key=lambda mr: mr[1].llf)
    if polish:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = model.fit(reml=reml, method=polish, start_params=best.params_object, maxiter=maxiter, free=free)
                ok = np.isfinite(r.llf) and np.all(np.isfinite(r.fe_params)) and np.all(np.isfinite(r.bse_fe))
                trials.append({"optimizer": f"{best_name} + {polish} polish", "llf": float(r.llf),
                               "converged": bool(r.converged), "error": None})
                if ok and r.llf >= best.llf - 1e-9:
                    best_name, best = f"{best_name} + {polish} polish", r
            except Exception as exc:
                trials.append({"optimizer": f"{best_name} + {polish} polish", "llf": np.nan,
                               "converged": False, "error": str(exc)[:200]})
    # Final BFGS from the winner with a tight gradient tolerance: the default tolerances stop about 1e-6
    # (relative) short on flat surfaces, e.g. Dyestuff by ML (issue 17); kept only if it does not get worse.
    # polish=None turns every polish off (the optimizer-trap test relies on that).
    if polish:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = model.fit(reml=reml, method="bfgs", start_params=best.params_object, maxiter=maxiter, free=free,
                              gtol=1e-10)
                ok = np.isfinite(r.llf) and np.all(np.isfinite(r.fe_params)) and np.all(np.isfinite(r.bse_fe))
                trials.append({"optimizer": f"{best_name} + bfgs fine polish", "llf": float(r.llf),
                               "converged": bool(r.converged), "error": None})
                if ok and r.llf >= best.llf - 1e-12:
                    best_name, best = f"{best_name} + bfgs fine polish", r
            except Exception as exc:
                trials.append({"optimizer": f"{best_name} + bfgs fine polish", "llf": np.nan, "converged": False,
                               "error": str(exc)[:200]})
    return _collect(mf, d, terms, best, best_name, pd.DataFrame(trials), z_names, vc_labels, fe_names,
                    reml, ci_level, free is not None)


def _collect(mf, d, terms, r, opt_name, trials, z_names, vc_labels, fe_names, reml, ci_level, diagonal):
    zcrit = stats.norm.ppf(0.5 + ci_level / 2)
    fe = np.asarray(r.fe_params, dtype=float)
    fe_cov = _gls_cov(r)
    se = np.sqrt(np.diag(fe_cov))
    fixed = pd.DataFrame({"term": fe_names, "estimate": fe, "std_error": se})
    fixed["statistic"] = fixed["estimate"] / fixed["std_error"]
    fixed["p_value"] = 2 * stats.norm.sf(np.abs(fixed["statistic"]))
    fixed["ci_low"] = fixed["estimate"] - zcrit * fixed["std_error"]
    fixed["ci_high"] = fixed["estimate"] + zcrit * fixed["std_error"]

    outer = terms[0].group
    cov = np.asarray(r.cov_re, dtype=float)
    rows = []
    for i, a in enumerate(z_names):
        rows.append({"group": outer, "term1": a, "term2": None, "variance": cov[i, i], "sd_cor": math.sqrt(max(cov[i, i], 0))})
    if not diagonal:
        for i in range(len(z_names)):
            for j in range(i + 1, len(z_names)):
                den = math.sqrt(max(cov[i, i] * cov[j, j], 0))
                rows.append({"group": outer, "term1": z_names[i], "term2": z_names[j], "variance": cov[i, j],
                             "sd_cor": cov[i, j] / den if den > 0 else np.nan})
    vcomp = np.asarray(r.vcomp, dtype=float) if len(vc_labels) else np.array([])
    vc_names = list(r.model.exog_vc.names) if len(vc_labels) else []
    inner_rows = []
    for name, v in zip(vc_names, vcomp):
        g, col = vc_labels[name]
        inner_rows.append({"group": g, "term1": col, "term2": None, "variance": v, "sd_cor": math.sqrt(max(v, 0))})
    # innermost level first, like lme4's VarCorr
    vc_table = pd.DataFrame(inner_rows + rows + [
        {"group": "Residual", "term1": None, "term2": None, "variance": float(r.scale), "sd_cor": math.sqrt(r.scale)}])
    vc_table = _order_levels(vc_table, [t.group for t in terms])

    # empirical-Bayes (conditional) outer-level effects with their conditional SDs
    re_rows = []
    re_cov = r.random_effects_cov
    for g, s in r.random_effects.items():
        sd = np.sqrt(np.clip(np.diag(np.asarray(re_cov[g]))[: len(z_names)], 0, None))
        for k, name in enumerate(z_names):
            re_rows.append({"group": g, "term": name, "estimate": float(np.asarray(s)[k]), "std_error": float(sd[k])})
    random_effects = pd.DataFrame(re_rows)

    rel = _reliability(d, terms, z_names, cov, vc_table, float(r.scale))
    n_groups = {t.group: int(group_key(d, t).nunique()) for t in terms}
    k_cov = len(z_names) if diagonal else len(z_names) * (len(z_names) + 1) // 2
    n_params = len(fe_names) + k_cov + len(vc_labels) + 1
    notes = []
    if d.attrs.get("n_dropped"):
        notes.append(f"{d.attrs['n_dropped']} row(s) with missing values in the formula's columns were dropped.")
    if not r.converged:
        notes.append(f"The kept optimizer ({opt_name}) did not report convergence; compare llf across optimizer_trials.")
    if np.any(np.diag(cov) < 1e-8 * max(r.scale, 1e-12)):
        notes.append("A variance component is estimated at (or near) zero: a singular fit; consider a simpler random part.")
    return MultilevelFit(
        formula=mf.formula, fixed_effects=fixed, variance_components=vc_table, sigma2=float(r.scale),
        llf=float(r.llf), reml=reml, optimizer=opt_name, optimizer_trials=trials, n_obs=int(r.model.nobs),
        n_groups=n_groups, n_params=n_params, ci_level=ci_level, notes=tuple(notes), random_effects=random_effects,
        reliability_by_group=rel, extra={"statsmodels_result": r, "parsed": mf, "diagonal": diagonal,
                                         "vcov": pd.DataFrame(fe_cov, index=fe_names, columns=fe_names)},
    )


def _gls_cov(r) -> np.ndarray:
    """(sum_j X_j' V_j^{-1} X_j)^{-1} at the estimated variances: the fixed-effect covariance
    that lme4 (``vcov``) and HLM report (R&B 2002, eq. 3.49). statsmodels' ``bse_fe`` instead
    inverts the joint observed information, which differs in the third significant digit."""
    m = r.model
    tau = np.asarray(r.cov_re, dtype=float)
    vcomp = np.asarray(r.vcomp, dtype=float) if m.exog_vc is not None and len(r.vcomp) else np.array([])
    k = m.exog.shape[1]
    info = np.zeros((k, k))
    for j, lab in enumerate(m.group_labels):
        x = m.exog_li[j]
        z = m.exog_re_li[j]
        v = z @ tau @ z.T + r.scale * np.eye(len(x))
        for c, comp in enumerate(vcomp):
            mat = m.exog_vc.mats[c][j]
            v += comp * (mat @ mat.T)
        info += x.T @ np.linalg.solve(v, x)
    return np.linalg.inv(info)


def _order_levels(vc: pd.DataFrame, groups_outer_first: list[str]) -> pd.DataFrame:
    rank = {g: i for i, g in enumerate(reversed(groups_outer_first))}
    rank["Residual"] = len(rank)
    vc = vc.assign(_r=vc["group"].map(rank)).sort_values("_r", kind="stable").drop(columns="_r")
    return vc.reset_index(drop=True)


def _reliability(d, terms, z_names, cov, vc_table, sigma2) -> pd.DataFrame:
    """Raudenbush & Bryk (2002, eq. 3.59 and 3.63) reliability of each group's OLS coefficients.

    lambda_qj = tau_qq / (tau_qq + v_qqj), with V_j = sigma^2 (Z_j' Z_j)^{-1}; for a random
    intercept only this is tau00 / (tau00 + sigma^2 / n_j). Nested (inner) levels use their
    intercept variance and group sizes; the outer level's tau ignores inner variances, as in HLM2.
    """
    outer = terms[0]
    z = design(f"~ {outer.expr}", d).to_numpy()
    rows = []
    for g, idx in d.groupby("_g0", sort=False).indices.items():
        zj = z[idx]
        row = {"level": outer.group, "group": g, "n": len(idx)}
        xtx = zj.T @ zj
        try:
            v = sigma2 * np.linalg.inv(xtx)
            diag_v = np.diag(v)
        except np.linalg.LinAlgError:
            diag_v = np.full(len(z_names), np.inf)
        for k, name in enumerate(z_names):
            row[name] = cov[k, k] / (cov[k, k] + diag_v[k]) if np.isfinite(diag_v[k]) else 0.0
        rows.append(row)
    for i, t in enumerate(terms[1:], start=1):
        sel = vc_table[(vc_table["group"] == t.group) & (vc_table["term1"] == "Intercept")]
        if sel.empty:
            continue
        tau = float(sel["variance"].iloc[0])
        for g, n in d.groupby(f"_g{i}", sort=False).size().items():
            rows.append({"level": t.group, "group": g, "n": int(n), "Intercept": tau / (tau + sigma2 / n)})
    return pd.DataFrame(rows)


def likelihood_ratio_test(restricted: MultilevelFit, full: MultilevelFit, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """Likelihood-ratio (deviance) test between nested models, in R ``anova()`` layout.

    REML likelihoods are comparable only when the fixed parts agree; when they do
    not, both models are refitted by ML from ``data`` (as lme4's ``anova`` does).
    The chi-square p-value is conservative for variance components on the boundary
    (Self & Liang 1987; Snijders & Bosker 2012, sec. 6.2.1), which is noted.
    """
    for name, f in (("restricted", restricted), ("full", full)):
        if not isinstance(f, MultilevelFit):
            raise InputError(f"`{name}` must be a MultilevelFit from multilevel(..., engine='statsmodels'), got {type(f).__name__}.")
    fixed_same = list(restricted.fixed_effects["term"]) == list(full.fixed_effects["term"])
    if restricted.reml != full.reml:
        raise InputError("One model was fitted by REML and the other by ML; fit both the same way.")
    if (restricted.reml or full.reml) and not fixed_same:
        if data is None:
            raise InputError(
                "The models differ in their fixed effects and were fitted by REML, whose likelihoods are not "
                "comparable. Pass `data=` so they can be refitted by ML, or fit both with reml=False."
            )
        restricted = fit_mixedlm(restricted.formula, data, reml=False)
        full = fit_mixedlm(full.formula, data, reml=False)
    if full.n_params <= restricted.n_params:
        raise InputError(
            f"`full` ({full.n_params} parameters) must have more parameters than `restricted` "
            f"({restricted.n_params}); swap them or check the formulas."
        )
    if full.n_obs != restricted.n_obs:
        raise InputError(f"The models use different rows ({restricted.n_obs} vs {full.n_obs}); fit them to the same data.")
    chisq = max(2 * (full.llf - restricted.llf), 0.0)
    df = full.n_params - restricted.n_params
    p = float(stats.chi2.sf(chisq, df))
    out = pd.DataFrame({
        "model": [restricted.formula, full.formula],
        "npar": [restricted.n_params, full.n_params],
        "AIC": [restricted.aic, full.aic], "BIC": [restricted.bic, full.bic],
        "logLik": [restricted.llf, full.llf], "deviance": [-2 * restricted.llf, -2 * full.llf],
        "Chisq": [np.nan, chisq], "Df": [np.nan, df], "p_value": [np.nan, p],
    })
    out.attrs["criterion"] = "REML" if full.reml else "ML"
    out.attrs["note"] = ("p-value from chi-square(Df); conservative when the test sets a variance to zero "
                         "(boundary of the parameter space).")
    return out
