"""Shared data and session-scoped (compiled once) model fits for tests/models."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import plmresearch  # noqa: E402


def _load(name: str):
    loader = getattr(plmresearch, "load_dataset", None)
    if loader is None:  # the package-level re-export may not be there yet
        from plmresearch.data import load_dataset as loader
    return loader(name)


@pytest.fixture(scope="session")
def hsb():
    return _load("hsb")


@pytest.fixture(scope="session")
def eight_schools():
    return _load("eight_schools")


@pytest.fixture(scope="session")
def star_k():
    s = _load("star_long")
    k = s[s["grade"] == "K"].copy()
    k["small"] = (k["class_type"] == "small").astype(int)
    k["aide"] = (k["class_type"] == "regular+aide").astype(int)
    return k


@pytest.fixture(scope="session")
def sustaining_effects():
    return _load("sustaining_effects")


HSB_45 = "mathach ~ meanses * cses + catholic * cses + (1 + cses | school)"


@pytest.fixture(scope="session")
def hsb_45_freq(hsb):
    from plmresearch.models import multilevel

    return multilevel(HSB_45, hsb)


#: Raudenbush & Bryk (2002) Tables 4.2-4.5: one-way ANOVA, means as outcomes, random
#: coefficients, intercepts and slopes as outcomes (MEANSES and SECTOR).
HSB_CHAPTER4 = ["mathach ~ 1 + (1 | school)", "mathach ~ meanses + (1 | school)",
                "mathach ~ cses + (1 + cses | school)", HSB_45]


@pytest.fixture(scope="session")
def hsb_chapter4_freq(hsb, hsb_45_freq):
    from plmresearch.models import multilevel

    return {f: (hsb_45_freq if f == HSB_45 else multilevel(f, hsb)) for f in HSB_CHAPTER4}


@pytest.fixture(scope="session")
def hsb_chapter4_bayes(hsb, hsb_45_bayes):
    """Tables 4.2-4.4 by MCMC (Table 4.5 is ``hsb_45_bayes``); group effects integrated out."""
    from plmresearch.models import multilevel

    return {f: (hsb_45_bayes if f == HSB_45 else multilevel(
        f, hsb, engine="bayes", draws=300, tune=300, chains=2, random_seed=20261201, sampler="pymc", warn=False,
        posterior_predictive=False)) for f in HSB_CHAPTER4}


@pytest.fixture(scope="session")
def hsb_45_bayes(hsb):
    """One compiled PyMC model; PyMC's C backend caches the compiled code across runs."""
    from plmresearch.models import multilevel

    return multilevel(HSB_45, hsb, engine="bayes", draws=300, tune=300, chains=2, random_seed=20261122,
                      sampler="pymc", warn=False)


@pytest.fixture(scope="session")
def star_k_bayes(star_k):
    """Students in classes in schools: both intercept levels integrated out (the default)."""
    from plmresearch.models import multilevel

    return multilevel("math ~ small + aide + (1 | school/teacher)", star_k, engine="bayes", draws=300, tune=300,
                      chains=2, random_seed=20261201, sampler="pymc", warn=False)


@pytest.fixture(scope="session")
def growth_bayes(sustaining_effects):
    """The growth model with correlated intercepts and slopes at both levels (Bayesian engine only)."""
    from plmresearch.models import growth_model

    return growth_model(sustaining_effects, "math", "year", student="student", school="school", engine="bayes",
                        draws=300, tune=300, chains=2, random_seed=20261201, sampler="pymc", warn=False)
