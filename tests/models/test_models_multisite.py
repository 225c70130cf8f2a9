"""Multisite trial from unit-level data: partially pooled site effects.

No published anchor exists for a simulated trial; the check is recovery of known
parameters and agreement with REML (statsmodels MixedLM, `y ~ t + (1 + t | site)`),
plus internal consistency of the standardized scale (effect / pooled within-arm SD).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plmresearch.errors import InputError
from plmresearch.models import multilevel, multisite_trial, posterior_rope_plot


@pytest.fixture(scope="module")
def trial():
    rng = np.random.default_rng(2026)
    n_sites, n = 24, 60
    site_effect = 5.0 + 3.0 * rng.normal(size=n_sites)
    site_mean = 50 + 8 * rng.normal(size=n_sites)
    rows = []
    for j in range(n_sites):
        t = rng.permutation(np.repeat([0, 1], n // 2))
        y = site_mean[j] + site_effect[j] * t + 15 * rng.normal(size=n)
        rows.append(pd.DataFrame({"site": f"s{j:02d}", "treat": t, "score": y}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def fit(trial):
    return multisite_trial(trial, "score", "treat", "site", draws=400, tune=400, chains=2, random_seed=3,
                           sampler="pymc", warn=False)


def test_average_effect_agrees_with_reml(fit, trial):
    reml = multilevel("score ~ treat + (1 + treat | site)", trial)
    mu = fit.average_effect
    print(mu.summary(), reml.params["treat"], reml.bse["treat"])
    assert abs(mu.estimate - reml.params["treat"]) < 2 * mu.std_error
    assert mu.std_error == pytest.approx(reml.bse["treat"], rel=0.3)
    assert mu.ci_low < 5.0 < mu.ci_high  # the true average effect
    assert fit.cross_site_sd.estimate < 8
    assert len(fit.site_effects) == 24 and (fit.site_effects["n_treated"] == 30).all()


def test_effect_size_scale(fit, trial, tmp_path):
    mu = fit.average_effect
    t = trial["treat"].to_numpy()
    y = trial["score"].to_numpy()
    sd = np.sqrt(((t.sum() - 1) * y[t == 1].var(ddof=1) + ((1 - t).sum() - 1) * y[t == 0].var(ddof=1)) / (len(t) - 2))
    assert mu.effect_size == pytest.approx(mu.estimate / sd, rel=1e-9)
    assert mu.prob_greater(0.1, scale="effect_size") == pytest.approx(np.mean(mu.draws / sd > 0.1))
    out = tmp_path / "rope.png"
    posterior_rope_plot(mu, rope=(-0.05, 0.05)).savefig(out)
    assert out.stat().st_size > 5000
    assert fit.to_frame()["parameter"].iloc[0] == "average effect (mu)"


def test_multisite_bad_input(trial):
    with pytest.raises(InputError, match="only one arm"):
        bad = trial[~((trial["site"] == "s03") & (trial["treat"] == 1))]
        multisite_trial(bad, "score", "treat", "site")
    with pytest.raises(InputError, match="binary"):
        multisite_trial(trial.assign(treat=trial["treat"] * 2), "score", "treat", "site")
