"""Bayesian engine: the R&B Table 4.5 model agrees with REML, results carry diagnostics.

Anchor: the frequentist fit (itself matched to lme4 in test_models_frequentist_hsb.py).
With 160 schools and weakly informative priors the posterior means of the fixed effects
should lie within 2 posterior SDs of the REML estimates (acceptance item 2 of issue 5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from plmresearch.models import PosteriorEstimate, diagnostics
from plmresearch.models.posterior import POSTERIOR_COLUMNS
from plmresearch.results import ESTIMATE_COLUMNS


def test_fixed_effects_agree_with_reml(hsb_45_bayes, hsb_45_freq):
    b = hsb_45_bayes.fixed_effects.set_index("term")
    f = hsb_45_freq.fixed_effects.set_index("term")
    z = (b["estimate"] - f["estimate"]) / b["std_error"]
    print(pd.DataFrame({"bayes": b["estimate"], "post_sd": b["std_error"], "reml": f["estimate"],
                        "reml_se": f["std_error"], "z": z}))
    assert list(b.index) == list(f.index)
    assert (z.abs() < 2).all()
    # posterior SDs close to the REML standard errors (large-sample agreement)
    assert np.allclose(b["std_error"], f["std_error"], rtol=0.25)
    # variance components in the same place (REML tau00 2.379, sigma^2 36.72)
    assert hsb_45_bayes.variance_components.set_index("group").loc["Residual", "variance"] == pytest.approx(36.72, rel=0.03)
    assert hsb_45_bayes.sigma2 == pytest.approx(36.72, rel=0.03)
    tau00 = hsb_45_bayes.variance_components.query("group == 'school' and term1 == 'Intercept' and term2.isna()")
    assert float(tau00["variance"].iloc[0]) == pytest.approx(2.379, rel=0.35)


@pytest.mark.parametrize("formula", ["mathach ~ 1 + (1 | school)", "mathach ~ meanses + (1 | school)",
                                     "mathach ~ cses + (1 + cses | school)"], ids=["4.2 one-way ANOVA", "4.3 means as outcomes",
                                                       "4.4 random coefficients"])
def test_chapter4_models_agree_with_reml(hsb_chapter4_bayes, hsb_chapter4_freq, formula):
    """Tables 4.2-4.4: posterior means within 2 posterior SDs of REML, SDs near the SEs.

    REML itself matches lme4 to 2e-4 (test_models_frequentist_hsb.py)."""
    b, f = hsb_chapter4_bayes[formula], hsb_chapter4_freq[formula]
    fb, ff = b.fixed_effects.set_index("term"), f.fixed_effects.set_index("term")
    z = (fb["estimate"] - ff["estimate"]) / fb["std_error"]
    print(formula, pd.DataFrame({"bayes": fb["estimate"], "post_sd": fb["std_error"], "reml": ff["estimate"],
                                 "reml_se": ff["std_error"], "z": z}), b.variance_components, sep="\n")
    assert list(fb.index) == list(ff.index)
    assert (z.abs() < 2).all()
    assert np.allclose(fb["std_error"], ff["std_error"], rtol=0.25)
    residual = b.variance_components.query("group == 'Residual'")["variance"].iloc[0]
    assert residual == pytest.approx(f.variance("Residual"), rel=0.03)
    assert b.variance_components.query("group == 'school' and term1 == 'Intercept' and term2.isna()")[
        "variance"].iloc[0] == pytest.approx(f.variance("school", "Intercept"), rel=0.3)
    assert (b.diagnostics["r_hat"] < 1.05).all()


def test_posterior_estimate_table_and_probabilities(hsb_45_bayes):
    est = hsb_45_bayes.estimate("catholic")
    assert isinstance(est, PosteriorEstimate)
    tab = est.to_frame()
    assert list(tab.columns) == ["parameter"] + ESTIMATE_COLUMNS + POSTERIOR_COLUMNS + ["notes"]
    assert est.ci_low < est.posterior_median < est.ci_high
    assert est.prob_greater(0) == pytest.approx(np.mean(est.draws > 0))
    assert 0 <= est.prob_greater(0.1, scale="effect_size") <= 1
    assert est.prob_greater(0.1, scale="effect_size") == pytest.approx(np.mean(est.draws / hsb_45_bayes.sd_y > 0.1))
    assert est.idata is hsb_45_bayes.idata
    assert np.isfinite(est.r_hat) and est.ess_bulk > 0
    full = hsb_45_bayes.to_frame()
    assert list(full.columns[: len(ESTIMATE_COLUMNS) + 1]) == ["term"] + ESTIMATE_COLUMNS
    assert "<table" in hsb_45_bayes._repr_html_()


def test_posterior_predictive_check(hsb_45_bayes):
    ppc = hsb_45_bayes.posterior_predictive_check()
    print(ppc)
    row = ppc.set_index("statistic")
    # the normal model reproduces the mean and SD of math achievement ...
    assert 0.05 < row.loc["mean", "p_value"] < 0.95
    assert 0.05 < row.loc["sd", "p_value"] < 0.95
    # ... but not its bounded range (achievement scores lie in about [-3, 25])
    assert row.loc["max", "p_value"] > 0.95


def test_caterpillar_from_bayes(hsb_45_bayes, tmp_path):
    from plmresearch.models import caterpillar_plot

    eff = hsb_45_bayes.group_effects()
    assert len(eff) == 2 * 160
    fig = caterpillar_plot(hsb_45_bayes, term="cses")
    out = tmp_path / "cat.png"
    fig.savefig(out)
    assert out.stat().st_size > 5000


def _fake_idata(shift: float, diverging: int):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 200))
    x[1] += shift
    post = xr.Dataset({"theta": (("chain", "draw"), x)}, coords={"chain": [0, 1], "draw": np.arange(200)})
    div = np.zeros((2, 200), dtype=bool)
    div[0, :diverging] = True
    ss = xr.Dataset({"diverging": (("chain", "draw"), div)}, coords={"chain": [0, 1], "draw": np.arange(200)})
    return xr.DataTree.from_dict({"posterior": post, "sample_stats": ss})


def test_poor_rhat_and_divergences_reported_in_plain_words():
    _, notes = diagnostics(_fake_idata(shift=3.0, diverging=7))
    text = " ".join(notes)
    print(notes)
    assert "7 divergent transition(s)" in text and "target_accept" in text
    assert "r_hat above 1.01" in text and "chains disagree" in text
    est = PosteriorEstimate.from_draws(np.arange(10.0), method="m", parameter="theta", notes=notes)
    assert "chains disagree" in est.to_frame()["notes"].iloc[0]
    _, ok = diagnostics(_fake_idata(shift=0.0, diverging=0))
    assert ok == ()
