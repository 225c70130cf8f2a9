"""Binary-outcome effect sizes and conversions against metafor 3.8.1 / effectsize 0.8.3 /
pingouin 0.7.0 / baselinr output (R 4.2.2, Debian bookworm)."""

import math

import pytest

from plmresearch.effects import (
    cox_index,
    d_to_log_odds_ratio,
    d_to_odds_ratio,
    d_to_r,
    log_odds_ratio,
    log_odds_ratio_to_d,
    odds_ratio_to_d,
    r_to_d,
    risk_difference,
)


def test_log_odds_ratio_metafor():
    """metafor: escalc("OR", ai=30, bi=20, ci=20, di=30) -> yi 0.8109302162, vi 0.1666666667;
    with a zero cell escalc("OR", ai=0, bi=20, ci=5, di=15) (adds 1/2) -> -2.6774801350, 2.2951147987."""
    r = log_odds_ratio(30, 20, 20, 30)
    assert (r.estimate, r.variance) == pytest.approx((0.8109302162, 0.1666666667), abs=1e-9)
    z = log_odds_ratio(0, 20, 5, 15)
    assert (z.estimate, z.variance) == pytest.approx((-2.6774801350, 2.2951147987), abs=1e-9)


def test_risk_difference_metafor():
    """metafor: escalc("RD", ai=30, bi=20, ci=20, di=30) -> yi 0.2, vi 0.0096."""
    r = risk_difference(30, 20, 20, 30)
    assert (r.estimate, r.variance) == pytest.approx((0.2, 0.0096), abs=1e-12)


def test_cox_index_baselinr_and_wwc_omega():
    """baselinr vignette (CRAN 0.6.0, citing WWC v5.0): cox_index(p_T = 2/3, p_C = 1/3) = 0.8401784
    (no omega); with omega = 1 - 3/(4*6 - 9) = 0.8 it is 0.6721427 (sheet §1.2).
    Sheet §1.2 [PY]: p 0.6 vs 0.4 -> 0.4914728583; with omega(N = 200) -> 0.4896088652."""
    assert cox_index(2 / 3, 1 / 3).estimate == pytest.approx(0.8401784, abs=5e-8)
    assert cox_index(2 / 3, 1 / 3, 3, 3, small_sample_correction=True).estimate == pytest.approx(0.6721427, abs=5e-8)
    assert cox_index(0.6, 0.4).estimate == pytest.approx(0.4914728583, abs=1e-9)
    assert cox_index(0.6, 0.4, 100, 100, small_sample_correction=True).estimate == pytest.approx(0.4896088652, abs=1e-9)


def test_cox_variance_equals_metafor_or2dn():
    """metafor: escalc("OR2DN", ai=30, bi=20, ci=20, di=30) -> yi 0.4914728583, vi 0.0612182430."""
    c = cox_index(0.6, 0.4, 50, 50)
    assert (c.estimate, c.variance) == pytest.approx((0.4914728583, 0.0612182430), abs=1e-9)
    d, v = log_odds_ratio_to_d(0.8109302162, 0.1666666667, method="cox")
    assert (d, v) == pytest.approx((0.4914728583, 0.0612182430), abs=1e-9)


def test_log_or_to_d_logit_metafor_or2dl():
    """metafor: escalc("OR2DL", ai=30, bi=20, ci=20, di=30) -> yi 0.4470892604, vi 0.0506605918."""
    d, v = log_odds_ratio_to_d(0.8109302162, 0.1666666667)
    assert (d, v) == pytest.approx((0.4470892604, 0.0506605918), abs=1e-9)


def test_conversions_effectsize():
    """effectsize 0.8.3: d_to_r(0.5) = 0.242535625; d_to_r(0.5, n1 = 30, n2 = 70) = 0.2254938084;
    r_to_d(0.3) = 0.628970902; oddsratio_to_d(2.5) = 0.5051775571; d_to_oddsratio(0.5) = 2.476632271."""
    assert d_to_r(0.5) == pytest.approx(0.242535625, abs=1e-9)
    assert d_to_r(0.5, 30, 70) == pytest.approx(0.2254938084, abs=1e-9)
    assert r_to_d(0.3) == pytest.approx(0.628970902, abs=1e-9)
    assert odds_ratio_to_d(2.5) == pytest.approx(0.5051775571, abs=1e-9)
    assert d_to_odds_ratio(0.5) == pytest.approx(2.476632271, abs=1e-8)
    # sheet §5.6 [PY]: ln(2.5)/1.65 = 0.5553277163
    assert odds_ratio_to_d(2.5, method="cox") == pytest.approx(0.5553277163, abs=1e-9)
    assert d_to_log_odds_ratio(0.5553277163, method="cox") == pytest.approx(math.log(2.5), abs=1e-9)


def test_binary_from_data_assistments_mastery_ab():
    """ASSISTments mastery A/B test (abTestExample.csv): completion by video -> cells 205/132 vs 193/153.
    R 4.2.2, metafor 3.8.1: escalc("OR2DN", ai=205, bi=132, ci=193, di=153) -> yi 0.1260338115,
    vi 0.0088782741; escalc("RD", ...) -> 0.0505051371, 0.0014199170; escalc("OR", ...) -> 0.2079557890,
    0.0241711012."""
    import plmresearch
    from plmresearch.effects import cox_index_from_data, log_odds_ratio_from_data, risk_difference_from_data, two_by_two

    ab = plmresearch.load_dataset("assistments_mastery_ab")
    assert two_by_two(ab, "completion", "video") == (205, 132, 193, 153)
    c = cox_index_from_data(ab, "completion", "video")
    assert (c.estimate, c.variance) == pytest.approx((0.1260338115, 0.0088782741), abs=1e-9)
    rd = risk_difference_from_data(ab, "completion", "video")
    assert (rd.estimate, rd.variance) == pytest.approx((0.0505051371, 0.0014199170), abs=1e-9)
    lor = log_odds_ratio_from_data(ab, "completion", "video")
    assert (lor.estimate, lor.variance) == pytest.approx((0.2079557890, 0.0241711012), abs=1e-9)
