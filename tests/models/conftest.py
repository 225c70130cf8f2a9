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


@pytest.fixture(scope="session")
def hsb_45_bayes(hsb):
    """One compiled PyMC model; PyMC's C backend caches the compiled code across runs."""
    from plmresearch.models import multilevel

    return multilevel(HSB_45, hsb, engine="bayes", draws=300, tune=300, chains=2, random_seed=20261122,
                      sampler="pymc", warn=False)
