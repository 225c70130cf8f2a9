"""Tests that pin the package's conventions (DESIGN.md; issue 12 items 3, 5 and 6).

* every ``causal.*`` estimator returns an :class:`~plmresearch.results.Estimate` and honours ``ci_level``;
* every plotting function accepts ``ax=``, returns the ``Figure`` and never touches pyplot state;
* every public function and class has a docstring, and those that compute something
  (effects, causal, models, mastery) name their source (a cited year or reference package);
* one result base, one warning base, one ``ci_level`` check.
"""

from __future__ import annotations

import importlib
import inspect
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

import plmresearch  # noqa: E402
from plmresearch import causal, effects, mastery, models  # noqa: E402
from plmresearch.errors import InputError, PlmWarning  # noqa: E402
from plmresearch.results import EffectSize, Estimate, Result, estimates_table  # noqa: E402
from plmresearch.validation import check_ci_level  # noqa: E402

# --------------------------------------------------------------------------- causal estimators


def _trial(n: int = 400, seed: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(20), n // 20)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = np.zeros(n, dtype=int)
    for s in range(20):  # half treated within each school
        idx = np.flatnonzero(school == s)
        t[rng.choice(idx, size=len(idx) // 2, replace=False)] = 1
    received = np.where(rng.random(n) < 0.85, t, 0)
    running = rng.uniform(-1, 1, n)
    y = 0.3 * received + 0.5 * x1 + 0.2 * x2 + 0.4 * (running >= 0) + rng.normal(size=n) + 0.3 * rng.normal(size=20)[school]
    return pd.DataFrame({"y": y, "t": t, "received": received, "x1": x1, "x2": x2, "school": school,
                         "running": running, "id": np.arange(n)})


def _panel(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units, years = np.arange(40), np.arange(2015, 2021)
    first = np.where(units < 20, 2018, np.nan)      # half adopt in 2018, half never (NaN)
    rows = [(u, yr, first[u]) for u in units for yr in years]
    p = pd.DataFrame(rows, columns=["unit", "year", "first_treated"])
    p["treated"] = (p["year"] >= p["first_treated"]).astype(int)   # NaN compares False
    p["group"] = p["first_treated"].notna().astype(int)
    p["post"] = (p["year"] >= 2018).astype(int)
    p["y"] = 0.5 * p["treated"] + 0.1 * (p["year"] - 2015) + rng.normal(size=len(p))
    return p


#: One call per estimator in ``causal.__all__``; a new estimator without a case here fails the test below.
ESTIMATOR_CALLS = {
    "difference_in_means": lambda d, p, **k: causal.difference_in_means(d, "y", "t", **k),
    "ancova": lambda d, p, **k: causal.ancova(d, "y", "t", "x1", **k),
    "lin_adjusted": lambda d, p, **k: causal.lin_adjusted(d, "y", "t", ["x1", "x2"], **k),
    "cluster_means": lambda d, p, **k: causal.cluster_means(d.assign(t=(d["school"] % 2).astype(int)), "y", "t",
                                                            "school", **k),
    "block_effects": lambda d, p, **k: causal.block_effects(d, "y", "t", "school", **k),
    "block_fixed_effects": lambda d, p, **k: causal.block_fixed_effects(d, "y", "t", "school", **k),
    "blocked_difference_in_means": lambda d, p, **k: causal.blocked_difference_in_means(d, "y", "t", "school", **k),
    "permutation_test": lambda d, p, **k: causal.permutation_test(d, "y", "t", n_permutations=200, random_seed=1, **k),
    "iv_late": lambda d, p, **k: causal.iv_late(d, "y", "received", "t", **k),
    "ipw": lambda d, p, **k: causal.ipw(d, "y", "t", ["x1", "x2"], **k),
    "aipw": lambda d, p, **k: causal.aipw(d, "y", "t", ["x1", "x2"], **k),
    "match": lambda d, p, **k: causal.match(d, "y", "t", ["x1", "x2"], random_seed=1, **k),
    "loop": lambda d, p, **k: causal.loop(d, "y", "t", ["x1", "x2"], random_seed=1, **k),
    "regression_discontinuity": lambda d, p, **k: causal.regression_discontinuity(d, "y", "running", 0.0,
                                                                                  bandwidth=0.5, **k),
    "did_2x2": lambda d, p, **k: causal.did_2x2(p, "y", "group", "post", cluster="unit", **k),
    "twfe": lambda d, p, **k: causal.twfe(p, "y", "treated", "unit", "year", cluster="unit", **k),
}
#: Estimators whose result is a table of Estimate-like rows (one per relative period), not one Estimate.
TABLE_ESTIMATORS = {"event_study"}


def _causal_estimators() -> set[str]:
    out = set()
    for name in causal.__all__:
        f = getattr(causal, name)
        if (inspect.isfunction(f) and not name.endswith("_plot")
                and list(inspect.signature(f).parameters)[:2] == ["df", "outcome"]):
            out.add(name)
    return out


def test_every_causal_estimator_is_covered_here():
    assert _causal_estimators() - TABLE_ESTIMATORS == set(ESTIMATOR_CALLS)


@pytest.mark.parametrize("name", sorted(ESTIMATOR_CALLS))
def test_causal_estimator_returns_an_estimate_at_the_requested_ci_level(name):
    """Each estimator returns an Estimate whose interval is at the level asked for.

    A 90% interval must be narrower than the 95% one around the same estimate, and for the
    normal/t estimators (df given or not) it equals estimate ± q_{0.95} · SE.
    """
    d, p = _trial(), _panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlmWarning)
        e90 = ESTIMATOR_CALLS[name](d, p, ci_level=0.9)
        e95 = ESTIMATOR_CALLS[name](d, p)
    assert isinstance(e90, Estimate) and type(e90) is Estimate
    assert e90.ci_level == 0.9 and e95.ci_level == 0.95
    assert e90.estimate == pytest.approx(e95.estimate)
    if name == "permutation_test":  # a randomization p-value, no interval
        return
    assert e95.ci_low < e90.ci_low < e90.ci_high < e95.ci_high
    if name != "regression_discontinuity":  # rdrobust's robust bias-corrected CI is not estimate ± q·SE
        q = stats.norm.ppf(0.95) if e90.df is None else stats.t.ppf(0.95, e90.df)
        assert e90.ci_high - e90.ci_low == pytest.approx(2 * q * e90.std_error, rel=1e-6)
    with pytest.raises(InputError, match="ci_level"):
        ESTIMATOR_CALLS[name](d, p, ci_level=95)


def test_event_study_accepts_ci_level():
    p = _panel()
    t90 = causal.event_study(p, "y", "unit", "year", "first_treated", ci_level=0.9)
    t95 = causal.event_study(p, "y", "unit", "year", "first_treated")
    inner = t90["std_error"] > 0
    assert ((t90.loc[inner, "ci_high"] - t90.loc[inner, "ci_low"])
            < (t95.loc[inner, "ci_high"] - t95.loc[inner, "ci_low"])).all()


def test_one_ci_level_check():
    assert check_ci_level(0.9) == 0.9
    for bad in (0, 1, 95, -0.1, float("nan"), "0.9x"):
        with pytest.raises(InputError, match="ci_level"):
            check_ci_level(bad)


# --------------------------------------------------------------------------- plots


def _plot_cases():
    rng = np.random.default_rng(0)
    d = _trial()
    bal = causal.balance_table(d, "t", ["x1", "x2"])
    es = causal.event_study(_panel(), "y", "unit", "year", "first_treated")
    draws = rng.normal(0.2, 0.1, 800)
    post = models.PosteriorEstimate.from_draws(draws, method="test", parameter="b", effect_size_draws=draws / 2,
                                               effect_size_type="g")
    idata = {"posterior": xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(2, 100)))})}
    groups = pd.DataFrame({"group": list("abcdef"), "estimate": np.linspace(-1, 1, 6)}).assign(
        ci_low=lambda t: t.estimate - 0.3, ci_high=lambda t: t.estimate + 0.3, term="Intercept")
    pred = pd.DataFrame({"skill": "s", "student": np.repeat(np.arange(12), 5), "correct": rng.integers(0, 2, 60),
                         "p_correct": rng.uniform(0.3, 0.9, 60), "p_mastered": rng.uniform(0, 1, 60)})
    params = pd.DataFrame({"prior": [0.2, 0.4], "learn": [0.1, 0.2], "forget": [0.0, 0.0], "guess": [0.2, 0.1],
                           "slip": [0.1, 0.05]})
    yi, vi = np.array([0.1, 0.3, 0.2, 0.5, -0.1]), np.array([0.02, 0.03, 0.01, 0.05, 0.04])
    return {
        effects.forest_plot: (lambda ax: effects.forest_plot(yi, vi, ax=ax), 1),
        effects.funnel_plot: (lambda ax: effects.funnel_plot(yi, vi, ax=ax), 1),
        effects.power_curve_plot: (lambda ax: effects.power_curve_plot(
            "cluster", "n_clusters", range(10, 40, 5), effect_size=0.25, n_per_cluster=20, icc=0.2, ax=ax), 1),
        causal.love_plot: (lambda ax: causal.love_plot(bal, ax=ax), 1),
        causal.event_study_plot: (lambda ax: causal.event_study_plot(es, ax=ax), 1),
        causal.rd_plot: (lambda ax: causal.rd_plot(d, "y", "running", 0.0, bandwidth=0.5, ax=ax), 1),
        models.caterpillar_plot: (lambda ax: models.caterpillar_plot(groups, ax=ax), 1),
        models.posterior_rope_plot: (lambda ax: models.posterior_rope_plot(post, ax=ax), 1),
        models.trace_rank_plot: (lambda ax: models.trace_rank_plot(idata, ["mu"], ax=ax), 2),
        mastery.learning_curve: (lambda ax: mastery.learning_curve(pred, min_students=1, ax=ax), 1),
        mastery.mastery_trajectories: (lambda ax: mastery.mastery_trajectories(pred, [0, 1], "s", ax=ax), 1),
        mastery.parameter_plot: (lambda ax: mastery.parameter_plot(params, ax=ax), 4),
    }


def _plotting_functions() -> set:
    out = set()
    for mod in ("plmresearch.effects.plots", "plmresearch.models.plots", "plmresearch.mastery.plots"):
        m = importlib.import_module(mod)
        out |= {f for n, f in vars(m).items() if inspect.isfunction(f) and not n.startswith("_")
                and f.__module__ == mod}
    return out | {f for n in causal.__all__ if n.endswith("_plot") for f in [getattr(causal, n)]}


def test_every_plotting_function_is_covered_here():
    assert _plotting_functions() == set(_plot_cases())


@pytest.mark.parametrize("case", range(12))
def test_plot_accepts_ax_returns_the_figure_and_leaves_pyplot_alone(case):
    f, (draw, n_axes) = list(_plot_cases().items())[case]
    assert "ax" in inspect.signature(f).parameters
    plt.close("all")
    own = draw(None)                           # no ax: a standalone Figure, not registered with pyplot
    assert isinstance(own, Figure) and plt.get_fignums() == []
    host = Figure()
    axes = host.subplots(1, n_axes)
    fig = draw(axes)                           # ax given: drawn there, that figure returned, pyplot untouched
    assert fig is host and plt.get_fignums() == []
    assert all(a.has_data() or a.get_title() for a in np.atleast_1d(axes))


# --------------------------------------------------------------------------- docstrings

#: A cited year (1900-2099) or a named reference package/handbook: what "naming its source" means here.
SOURCE = re.compile(r"\b(19|20)\d\d\b|[Hh]andbook|metafor|lme4|PowerUp|rdrobust|statsmodels|estimatr")
COMPUTING = ("effects", "causal", "models", "mastery")


def _public(pkg: str):
    m = importlib.import_module(f"plmresearch.{pkg}")
    for name in m.__all__:
        obj = getattr(m, name)
        if inspect.isfunction(obj) or (inspect.isclass(obj) and not issubclass(obj, BaseException | Warning)):
            yield name, obj


@pytest.mark.parametrize("pkg", ["effects", "causal", "models", "mastery", "data", "pilot"])
def test_every_public_function_has_a_docstring_and_computing_ones_name_their_source(pkg):
    missing, unsourced = [], []
    for name, obj in _public(pkg):
        doc = inspect.getdoc(obj) or ""
        if not doc.strip():
            missing.append(name)
        module_doc = inspect.getmodule(obj).__doc__ or ""
        if pkg in COMPUTING and not (SOURCE.search(doc) or SOURCE.search(module_doc)):
            unsourced.append(name)
    assert missing == [], f"public names without a docstring in plmresearch.{pkg}: {missing}"
    assert unsourced == [], f"public names in plmresearch.{pkg} whose docstrings name no source: {unsourced}"


# --------------------------------------------------------------------------- one result base, one warning base


def test_every_result_type_shares_the_base_and_stacks_in_one_table():
    from plmresearch.effects.meta import MetaAnalysis, MetaRegression
    from plmresearch.models import BayesMultilevelFit, MultilevelFit, MultisiteFit, PosteriorEstimate

    for cls in (Estimate, EffectSize, PosteriorEstimate, MetaAnalysis, MetaRegression, MultilevelFit,
                BayesMultilevelFit, MultisiteFit):
        assert issubclass(cls, Result), cls
    assert issubclass(PosteriorEstimate, Estimate)
    d = _trial()
    est = causal.difference_in_means(d, "y", "t", ci_level=0.9)
    g = effects.hedges_g(1.0, 2.0, 30, 0.5, 2.0, 30)
    meta = effects.meta_analysis([0.1, 0.3, 0.2, 0.5], [0.02, 0.03, 0.01, 0.05])
    draws = np.random.default_rng(1).normal(size=400)
    post = PosteriorEstimate.from_draws(draws, method="test", parameter="b")
    tab = estimates_table({"dim": est, "g": g, "meta": meta, "post": post})
    assert list(tab["label"]) == ["dim", "g", "meta", "post"]
    assert tab.set_index("label").loc["dim", "ci_level"] == 0.9
    assert tab.set_index("label").loc["post", "parameter"] == "b"
    for r in (est, g, meta, post):
        assert str(r) == r.summary() and r._repr_html_().startswith("<p><b>")
    assert "90% CI" in est.summary()
    with pytest.raises(InputError):
        estimates_table([object()])


def test_every_package_warning_is_a_plm_warning():
    from plmresearch.causal import StaggeredTimingWarning
    from plmresearch.models import SamplingWarning

    assert plmresearch.PlmWarning is PlmWarning
    assert issubclass(StaggeredTimingWarning, PlmWarning) and issubclass(SamplingWarning, PlmWarning)
    assert issubclass(PlmWarning, UserWarning)


def test_no_broad_except_swallows_errors():
    """``except Exception: pass`` hides bugs: catch a PlmError, or translate and re-raise."""
    import ast
    from pathlib import Path

    root = Path(plmresearch.__file__).parent
    known: set[str] = set()  # file names allowed a silent broad except: none
    silent = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler):
                broad = node.type is None or (isinstance(node.type, ast.Name)
                                              and node.type.id in ("Exception", "BaseException"))
                if (broad and path.name not in known
                        and all(isinstance(s, (ast.Pass, ast.Continue)) for s in node.body)):
                    silent.append(f"{path.relative_to(root)}:{node.lineno}")
    assert silent == []
