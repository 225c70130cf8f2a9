"""Acceptance 3: bad input raises a PlmError naming the argument and the value."""

import numpy as np
import pandas as pd
import pytest

from plmresearch.effects import (
    attrition_check,
    baseline_equivalence,
    benjamini_hochberg,
    clustering_corrected_test,
    cohens_d,
    cox_index,
    glass_delta,
    hedges_correction,
    hedges_g,
    hedges_g_from_data,
    log_odds_ratio,
    mdes_cluster_rct,
    mdes_cluster_rct3,
    mdes_individual_rct,
    mdes_multisite_rct,
    pooled_sd,
    meta_analysis,
    meta_regression,
    power_curve,
    r_to_d,
    required_clusters_cluster_rct,
    wwc_cluster_adjusted_g,
)
from plmresearch.errors import ColumnError, InputError, PlmError

GOOD = dict(mean_t=1.0, sd_t=1.0, n_t=10, mean_c=0.0, sd_c=1.0, n_c=10)
TABLE = pd.DataFrame({"overall": [0, 10, 20], "cautious": [5.0, 5.0, 4.0], "optimistic": [10.0, 10.0, 9.0]})


@pytest.mark.parametrize(
    "call,names",
    [
        (lambda: hedges_g(**(GOOD | {"sd_t": -1.0})), ["sd_t", "-1.0"]),
        (lambda: hedges_g(**(GOOD | {"sd_t": 0, "sd_c": 0})), ["sd_t", "sd_c", "0"]),
        (lambda: glass_delta(**(GOOD | {"sd_c": 0})), ["sd_c", "0"]),
        (lambda: pooled_sd(-2, 10, 1, 10), ["sd_t", "-2"]),
        (lambda: hedges_g(**(GOOD | {"n_t": 1})), ["n_t", "1"]),
        (lambda: hedges_g(**(GOOD | {"mean_c": float("nan")})), ["mean_c", "nan"]),
        (lambda: cohens_d(**GOOD, ci_level=1.5), ["ci_level", "1.5"]),
        (lambda: cohens_d(**GOOD, ci_method="bootstrap"), ["ci_method", "bootstrap"]),
        (lambda: hedges_correction(0.5), ["df", "0.5"]),
        (lambda: cox_index(1.2, 0.4), ["p_t", "1.2"]),
        (lambda: log_odds_ratio(-1, 2, 3, 4), ["a", "-1"]),
        (lambda: r_to_d(1.0), ["r", "1.0"]),
        (lambda: wwc_cluster_adjusted_g(0.3, 100, 100, 10, icc=1.3), ["icc", "1.3"]),
        (lambda: wwc_cluster_adjusted_g(0.3, 100, 100, 10, icc=-0.1), ["icc", "-0.1"]),
        (lambda: clustering_corrected_test(0.3, 100, 100, 5, 5, icc=2), ["icc", "2"]),
        (lambda: mdes_cluster_rct(20, 40, icc=1.5), ["icc", "1.5"]),
        (lambda: mdes_cluster_rct(20, 40, icc=0.2, r2_level2=1.0), ["r2_level2", "1.0"]),
        (lambda: mdes_cluster_rct3(20, 3, 40, 0.6, 0.6), ["icc_level2", "icc_level3"]),
        (lambda: mdes_multisite_rct(20, 40, 0.2, effect_heterogeneity=-0.1), ["effect_heterogeneity", "-0.1"]),
        (lambda: mdes_individual_rct(n=1), ["n", "1"]),
        (lambda: mdes_individual_rct(n=400, power=1.2), ["power", "1.2"]),
        (lambda: mdes_individual_rct(n=400, n_covariates=-1), ["n_covariates", "-1"]),
        (lambda: required_clusters_cluster_rct(-0.2, 20, 0.2), ["effect_size", "-0.2"]),
        (lambda: mdes_cluster_rct(20, 4, 0.2, n_covariates=3), ["feasible"]),
        (lambda: meta_analysis([0.1, 0.2], [0.01, -0.02]), ["vi", "-0.02"]),
        (lambda: meta_analysis([0.1, 0.2, 0.3], [0.01, 0.02]), ["Lengths differ", "yi", "vi"]),
        (lambda: meta_analysis([0.1, np.nan], [0.01, 0.02]), ["yi", "NaN"]),
        (lambda: meta_analysis([0.1, 0.2], [0.01, 0.02], method="SJIT"), ["method", "SJIT"]),
        (lambda: meta_analysis([0.1, 0.2], [0.01, 0.02], test="t"), ["test", "'t'"]),
        (lambda: meta_regression([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], [1, 2]), ["Moderators", "2 rows"]),
        (lambda: benjamini_hochberg([0.01, 1.2]), ["p_values", "1.2"]),
        (lambda: attrition_check(100, 100, 120, 80, TABLE), ["n_analyzed_t", "120", "n_randomized_t"]),
        (lambda: attrition_check(100, 100, 90, 80, TABLE, assumption="neutral"), ["assumption", "neutral"]),
        (lambda: power_curve("cluster", "n_clusters", [10, 20], effect_size=0.2, n_per_cluster=20, icc=7),
         ["icc", "7"]),
    ],
)
def test_bad_input_is_named(call, names):
    with pytest.raises(PlmError) as err:
        call()
    msg = str(err.value)
    for n in names:
        assert n in msg, f"{n!r} not in {msg!r}"


def test_classify_attrition_over_100_percent():
    from plmresearch.effects import classify_attrition

    with pytest.raises(InputError, match=r"`overall`.*1\.2"):
        classify_attrition(1.2, 0.05, TABLE, "cautious")


def test_from_data_errors():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "arm": ["a", "b", "a", "b"]})
    with pytest.raises(ColumnError, match="score"):
        hedges_g_from_data(df, outcome="score", treatment="arm")
    with pytest.raises(InputError, match="arm"):
        hedges_g_from_data(df, outcome="y", treatment="arm")
    with pytest.raises(InputError, match="DataFrame"):
        hedges_g_from_data([1, 2], outcome="y", treatment="arm")
    with pytest.raises(ColumnError, match="pretest"):
        baseline_equivalence(df, "arm", ["pretest"])


def test_binary_from_data_errors():
    from plmresearch.effects import cox_index_from_data

    df = pd.DataFrame({"y": [0, 1, 2, 1], "t": [0, 0, 1, 1]})
    with pytest.raises(InputError, match=r"'y'.*binary.*2"):
        cox_index_from_data(df, "y", "t")
    ones = pd.DataFrame({"y": [1, 1, 0, 1], "t": [1, 1, 0, 0]})
    with pytest.raises(InputError, match="infinite"):
        cox_index_from_data(ones, "y", "t")
