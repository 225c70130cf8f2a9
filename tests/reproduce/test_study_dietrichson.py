"""Dietrichson et al. (2021): the sample, the effect-size column and the study module's tables."""

import pytest

from plmresearch.reproduce import load_study
from plmresearch.reproduce.studies.dietrichson2021 import analysis_sample, table3, table4
from plmresearch.errors import SpecError


@pytest.fixture(scope="module")
def data():
    return load_study("dietrichson2021").load_data()


def test_post_test_sample(data):
    s = analysis_sample(data)
    assert (len(s), s["study_id"].nunique()) == (1041, 189)
    with pytest.raises(SpecError, match="es_column"):
        analysis_sample(data, "adj2")


def test_cai_row_equals_table3_with_adjusted_effect_sizes(data):
    """Dietrichson et al. (2021) Table 3, CAI: ES 0.151, k 28, df 19.6, tau^2 0.014, I^2 31.5 (printed precision);
    with the raw g the same code gives robumeta's 38.4095816299 for I^2 (R robu(..., CORR, rho = 0.8),
    tests/effects/r_reference/robust_meta_ref.R), which the table does not print: the review used adj1."""
    cai = table3(analysis_sample(data)).set_index("label").loc["CAI"]
    assert round(cai["es"], 3) == 0.151 and cai["k"] == 28
    assert round(cai["df"], 1) == 19.6 and round(cai["tau2"], 3) == 0.014 and round(cai["i2"], 1) == 31.5
    raw = table3(analysis_sample(data, "raw")).set_index("label").loc["CAI"]
    assert raw["i2"] == pytest.approx(38.4095816299, abs=1e-7)


def test_single_component_rows_equal_table4(data):
    """Table 4, Peer-assisted: ES 0.387 [0.257, 0.518], k 16, n 54, df 12.6, tau^2 0.023, I^2 19.8."""
    pa = table4(analysis_sample(data)).set_index("label").loc["Peer-assisted"]
    assert (round(pa["es"], 3), round(pa["ci_low"], 3), round(pa["ci_high"], 3)) == (0.387, 0.257, 0.518)
    assert (pa["k"], pa["n"], round(pa["df"], 1), round(pa["tau2"], 3), round(pa["i2"], 1)) == (16, 54, 12.6, 0.023,
                                                                                                 19.8)
