"""Posterior results: :class:`PosteriorEstimate` and plain-words MCMC diagnostics.

Convergence thresholds follow Vehtari, Gelman, Simpson, Carpenter & Bürkner
(2021), "Rank-normalization, folding, and localization: an improved R-hat",
*Bayesian Analysis* 16(2): r_hat < 1.01 and bulk/tail ESS of at least 100 per
chain. Divergent transitions after warm-up mean the sampler could not explore
part of the posterior (Betancourt 2017, "A conceptual introduction to
Hamiltonian Monte Carlo", sec. 6.2).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

import arviz as az
import numpy as np
import pandas as pd

from plmresearch.errors import InputError, PlmWarning
from plmresearch.results import ESTIMATE_COLUMNS, Estimate

RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100

#: Extra columns of ``PosteriorEstimate.to_frame()`` after the ``Estimate`` ones.
POSTERIOR_COLUMNS = ["posterior_median", "prob_positive", "r_hat", "ess_bulk", "ess_tail", "n_divergences"]


class SamplingWarning(PlmWarning):
    """The sampler's diagnostics say the draws may not be trustworthy."""


def draws_of(idata: Any, var: str, coords: dict | None = None) -> np.ndarray:
    """Flattened posterior draws (chain x draw) of one scalar (after ``coords`` selection)."""
    post = idata["posterior"] if "posterior" in getattr(idata, "children", {}) else idata.posterior
    if var not in post.data_vars:
        raise InputError(f"No posterior variable '{var}'. Variables: {list(post.data_vars)}.")
    da = post[var]
    if coords:
        da = da.sel(coords)
    extra = [d for d in da.dims if d not in ("chain", "draw")]
    if extra:
        raise InputError(f"Posterior variable '{var}' has dimensions {extra}; select one element with `coords`.")
    return np.asarray(da.values, dtype=float).reshape(-1)


def n_divergences(idata: Any) -> int:
    try:
        return int(np.asarray(idata["sample_stats"]["diverging"].values).sum())
    except (KeyError, AttributeError):
        return 0


def posterior_group(idata: Any, name: str = "idata"):
    """The ``posterior`` group of an ArviZ DataTree/InferenceData, or an InputError naming ``name``."""
    try:
        return idata["posterior"]
    except Exception:  # noqa: BLE001 - anything without a posterior group is the wrong object
        raise InputError(f"`{name}` must be the ArviZ DataTree of a Bayesian fit (e.g. fit.idata), with a "
                         f"'posterior' group; got {type(idata).__name__}.") from None


def check_var_names(idata: Any, var_names: Any) -> list[str] | None:
    """``var_names``: None or a list of posterior variables of ``idata``."""
    post = posterior_group(idata)
    if var_names is None:
        return None
    if isinstance(var_names, str) or not all(isinstance(v, str) for v in var_names):
        raise InputError(f"`var_names` must be a list of variable names, got {var_names!r}.")
    for v in var_names:
        if v not in post.data_vars:
            raise InputError(f"No posterior variable '{v}' (in `var_names`). Variables: {list(post.data_vars)}.")
    return list(var_names)


def diagnostics(idata: Any, var_names: list[str] | None = None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """r_hat and ESS of every scalar in ``var_names``, and plain-words warnings.

    Returns
    -------
    table : DataFrame
        variable, r_hat, ess_bulk, ess_tail (one row per scalar element).
    notes : tuple of str
        Sentences a reader can act on; empty when all checks pass.
    """
    var_names = check_var_names(idata, var_names)
    rhat = az.rhat(idata, var_names=var_names)
    ess_b = az.ess(idata, var_names=var_names, method="bulk")
    ess_t = az.ess(idata, var_names=var_names, method="tail")
    rhat = rhat.to_dataset() if hasattr(rhat, "to_dataset") else rhat
    ess_b = ess_b.to_dataset() if hasattr(ess_b, "to_dataset") else ess_b
    ess_t = ess_t.to_dataset() if hasattr(ess_t, "to_dataset") else ess_t
    rows = []
    for v in rhat.data_vars:
        r = rhat[v].to_series() if rhat[v].ndim else pd.Series([float(rhat[v])], index=[""])
        b = ess_b[v].to_series() if ess_b[v].ndim else pd.Series([float(ess_b[v])], index=[""])
        t = ess_t[v].to_series() if ess_t[v].ndim else pd.Series([float(ess_t[v])], index=[""])
        for key in r.index:
            name = v if key == "" else f"{v}[{key if not isinstance(key, tuple) else ', '.join(map(str, key))}]"
            rows.append({"variable": name, "r_hat": float(r[key]), "ess_bulk": float(b[key]), "ess_tail": float(t[key])})
    table = pd.DataFrame(rows)
    post = idata["posterior"]
    n_chains = int(post.sizes.get("chain", 1))
    n_draws = int(post.sizes.get("draw", 0))
    notes = []
    ndiv = n_divergences(idata)
    if ndiv:
        notes.append(
            f"{ndiv} divergent transition(s) out of {n_chains * n_draws} draws: the sampler could not explore part "
            "of the posterior, so estimates may be biased. Raise target_accept (e.g. 0.95-0.99) or simplify the model."
        )
    if len(table):
        bad = table[table["r_hat"] > RHAT_MAX]
        if len(bad):
            worst = bad.sort_values("r_hat").iloc[-1]
            notes.append(
                f"r_hat above {RHAT_MAX} for {len(bad)} quantity(ies) (worst: {worst['variable']} = {worst['r_hat']:.3f}): "
                "the chains disagree, so they have not converged. Run more tuning and draws before trusting the results."
            )
        need = ESS_PER_CHAIN_MIN * n_chains
        low = table[(table["ess_bulk"] < need) | (table["ess_tail"] < need)]
        if len(low):
            worst = low.assign(m=low[["ess_bulk", "ess_tail"]].min(axis=1)).sort_values("m").iloc[0]
            notes.append(
                f"Effective sample size below {need} ({ESS_PER_CHAIN_MIN} per chain) for {len(low)} quantity(ies) "
                f"(lowest: {worst['variable']}, {worst['m']:.0f}): posterior means and intervals are imprecise. "
                "Draw more samples."
            )
    return table, tuple(notes)


def warn_notes(notes: tuple[str, ...]) -> None:
    for n in notes:
        warnings.warn(n, SamplingWarning, stacklevel=3)


@dataclass(frozen=True)
class PosteriorEstimate(Estimate):
    """A Bayesian :class:`~plmresearch.results.Estimate`: the same fields plus posterior summaries.

    ``estimate`` is the posterior mean, ``std_error`` the posterior SD and
    ``ci_low``/``ci_high`` the equal-tailed credible interval of level ``ci_level``.
    ``draws`` holds the posterior draws (chains stacked), ``idata`` the ArviZ DataTree.
    """

    _columns: ClassVar[list[str]] = ["parameter"] + ESTIMATE_COLUMNS + POSTERIOR_COLUMNS + ["notes"]
    _hidden: ClassVar[frozenset[str]] = frozenset({"draws", "effect_size_draws", "idata", "extra"})

    parameter: str = ""
    posterior_median: float = float("nan")
    r_hat: float = float("nan")
    ess_bulk: float = float("nan")
    ess_tail: float = float("nan")
    n_divergences: int = 0
    draws: np.ndarray = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    effect_size_draws: np.ndarray | None = field(default=None, compare=False, repr=False)
    idata: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_draws(
        cls,
        draws: np.ndarray,
        *,
        method: str,
        parameter: str,
        ci_level: float = 0.95,
        idata: Any = None,
        r_hat: float = float("nan"),
        ess_bulk: float = float("nan"),
        ess_tail: float = float("nan"),
        effect_size_draws: np.ndarray | None = None,
        effect_size_type: str | None = None,
        notes: tuple[str, ...] = (),
        **kw: Any,
    ) -> PosteriorEstimate:
        d = np.asarray(draws, dtype=float).reshape(-1)
        if d.size == 0:
            raise InputError("`draws` is empty.")
        a = (1 - ci_level) / 2
        lo, med, hi = np.quantile(d, [a, 0.5, 1 - a])
        es = {}
        if effect_size_draws is not None:
            e = np.asarray(effect_size_draws, dtype=float).reshape(-1)
            elo, ehi = np.quantile(e, [a, 1 - a])
            es = dict(effect_size=float(e.mean()), effect_size_ci_low=float(elo), effect_size_ci_high=float(ehi),
                      effect_size_type=effect_size_type, effect_size_draws=e)
        return cls(
            estimate=float(d.mean()), std_error=float(d.std(ddof=1)), ci_low=float(lo), ci_high=float(hi),
            method=method, ci_level=ci_level, parameter=parameter, posterior_median=float(med),
            r_hat=float(r_hat), ess_bulk=float(ess_bulk), ess_tail=float(ess_tail),
            n_divergences=n_divergences(idata) if idata is not None else 0, draws=d, idata=idata,
            notes=tuple(notes), **es, **kw,
        )

    @property
    def mcse(self) -> float:
        """Monte Carlo standard error of the posterior mean (posterior SD / sqrt(bulk ESS))."""
        return self.std_error / np.sqrt(self.ess_bulk) if self.ess_bulk > 0 else float("nan")

    def prob_greater(self, x: float = 0.0, scale: str = "outcome") -> float:
        """Posterior probability that the quantity exceeds ``x``.

        ``scale="effect_size"`` compares the standardized draws instead, e.g.
        ``prob_greater(0.1, scale="effect_size")``: the probability that the effect
        exceeds 0.1 SD.
        """
        d = self._scale(scale)
        return float(np.mean(d > float(x)))

    def prob_less(self, x: float = 0.0, scale: str = "outcome") -> float:
        return float(np.mean(self._scale(scale) < float(x)))

    def prob_in_rope(self, low: float, high: float, scale: str = "outcome") -> float:
        """Posterior mass inside the region of practical equivalence [low, high] (Kruschke 2018)."""
        if not low < high:
            raise InputError(f"The ROPE needs low < high, got ({low}, {high}).")
        d = self._scale(scale)
        return float(np.mean((d >= low) & (d <= high)))

    def _scale(self, scale: str) -> np.ndarray:
        if scale == "outcome":
            return self.draws
        if scale == "effect_size":
            if self.effect_size_draws is None:
                raise InputError(
                    f"'{self.parameter}' has no standardized draws; use scale='outcome' or fit with standardize=True."
                )
            return self.effect_size_draws
        raise InputError(f"`scale` must be 'outcome' or 'effect_size', got {scale!r}.")

    def to_dict(self) -> dict[str, Any]:
        """The ``Estimate`` fields, the posterior summaries and ``prob_positive`` (no draws)."""
        return super().to_dict() | {"prob_positive": self.prob_greater(0.0)}

    def _summary_lines(self) -> list[str]:
        lvl = int(round(self.ci_level * 100))
        lines = [
            f"{self.method}: {self.parameter}",
            f"posterior mean {self.estimate: .4f}  (sd {self.std_error:.4f}, median {self.posterior_median:.4f})",
            f"{lvl}% credible interval [{self.ci_low:.4f}, {self.ci_high:.4f}]",
            f"P(> 0) = {self.prob_greater(0):.3f}",
            f"r_hat {self.r_hat:.3f}; ESS bulk {self.ess_bulk:.0f}, tail {self.ess_tail:.0f}; divergences {self.n_divergences}",
        ]
        if self.effect_size is not None:
            lines.append(f"{self.effect_size_type or 'effect size'} {self.effect_size:.3f} "
                         f"[{self.effect_size_ci_low:.3f}, {self.effect_size_ci_high:.3f}]")
        return lines


def element_diagnostics(table: pd.DataFrame, name: str) -> dict[str, float]:
    row = table[table["variable"] == name]
    if row.empty:
        return {"r_hat": float("nan"), "ess_bulk": float("nan"), "ess_tail": float("nan")}
    r = row.iloc[0]
    return {"r_hat": float(r["r_hat"]), "ess_bulk": float(r["ess_bulk"]), "ess_tail": float(r["ess_tail"])}


__all__ = ["POSTERIOR_COLUMNS", "PosteriorEstimate", "SamplingWarning", "diagnostics", "draws_of"]
