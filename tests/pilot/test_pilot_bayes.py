"""The Bayesian section mirrors the design (issue 13, item 2)."""

import pandas as pd
import pytest

from plmresearch.pilot import PilotConfig
from plmresearch.pilot.analysis import _prob, bayes_formula, bayes_levels


def cfg(design, unit, cls="class", covariates=()):
    return PilotConfig.from_mapping({
        "data": {"file": "x.csv"},
        "columns": {"student_id": "id", "school": "school", "class": cls, "treatment": "t", "outcomes": ["y"],
                    "pretests": ["pre"], "covariates": list(covariates)},
        "design": {"type": design, "assigned_unit": unit}})


@pytest.mark.parametrize("design, unit, expected", [
    ("cluster_rct", "school", "y ~ t + pre_c + frl_c + (1 | _school)"),
    ("cluster_rct", "class", "y ~ t + pre_c + frl_c + (1 | _school/_class)"),
    ("individual_rct", "student", "y ~ t + pre_c + frl_c + (1 | _school/_class)"),
    ("multisite", "student", "y ~ t + pre_c + frl_c + C(_school) + (1 | _school:_class)"),
    ("multisite", "class", "y ~ t + pre_c + frl_c + C(_school) + (1 | _school:_class)"),
    ("comparison_schools", "school", "y ~ t + pre_c + frl_c + (1 | _school/_class)"),
])
def test_bayes_formula_has_the_assigned_unit_and_levels_above_blocks_fixed_same_covariates(design, unit, expected):
    """The assigned unit (and the levels above it the data name) are group levels; schools that are
    randomization blocks are fixed effects; the covariates are those of the design-based model."""
    data = pd.DataFrame({"class": ["a"]})
    formula, words = bayes_formula(cfg(design, unit, covariates=["frl"]), data)
    assert formula == expected and words


@pytest.mark.parametrize("design, unit, levels", [
    ("cluster_rct", "school", (False, True, False)),
    ("cluster_rct", "class", (True, True, False)),
    ("individual_rct", "student", (True, True, False)),
    ("multisite", "student", (True, False, True)),     # schools are blocks only, not also a group level
    ("comparison_schools", "school", (True, True, False)),
])
def test_the_fitted_levels_are_the_formulas(design, unit, levels):
    """The sufficient-statistics fit gets exactly the group levels and blocks the formula names
    (class level, school level, school blocks)."""
    formula, _ = bayes_formula(cfg(design, unit), pd.DataFrame({"class": ["a"]}))
    assert bayes_levels(formula) == levels


def test_probabilities_are_never_printed_as_0_or_1():
    assert _prob(1.0, 800) == "> 0.999" and _prob(0.0, 800) == "< 0.001"
    assert _prob(0.9995, 4000) == "> 0.999" and _prob(0.5, 800) == "0.500"
