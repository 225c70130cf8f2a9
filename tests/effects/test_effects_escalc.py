"""Effect sizes users bring, against metafor's escalc (R 4.2.2, metafor 3.8.1, Debian bookworm).

[RUN] values: tests/effects/r_reference/escalc_ref.R prints yi and vi of each call quoted below.
"""

import math

import pytest

from plmresearch.effects.escalc import (
    cles_from_d,
    correlation,
    d_from_f_total,
    d_from_t_total,
    d_to_eta2,
    eta2_to_d,
    fisher_z,
    ft_proportion,
    log_ratio_of_means,
    log_risk_ratio,
    logit_proportion,
    mean_difference,
    z_to_r,
)
from plmresearch.effects import d_to_r
from plmresearch.errors import InputError

CASES = [
    ('escalc("MD", m1i = 103, sd1i = 15, n1i = 40, m2i = 98, sd2i = 12, n2i = 35)',
     lambda: mean_difference(103, 15, 40, 98, 12, 35), 5.0000000000, 9.7392857143),
    ('escalc("RR", ai = 12, bi = 38, ci = 20, di = 30)', lambda: log_risk_ratio(12, 38, 20, 30),
     -0.5108256238, 0.0933333333),
    ('escalc("RR", ai = 0, bi = 50, ci = 6, di = 44)  (1/2 added to each cell)', lambda: log_risk_ratio(0, 50, 6, 44),
     -2.5649493575, 2.1146304676),
    ('escalc("ROM", m1i = 24.5, sd1i = 6.1, n1i = 30, m2i = 20.2, sd2i = 5.4, n2i = 28)',
     lambda: log_ratio_of_means(24.5, 6.1, 30, 20.2, 5.4, 28), 0.1929905131, 0.0046186320),
    ('escalc("PLO", xi = 17, ni = 60)', lambda: logit_proportion(17, 60), -0.9279867716, 0.0820793434),
    ('escalc("PLO", xi = 0, ni = 25)', lambda: logit_proportion(0, 25), -3.9318256327, 2.0392156863),
    ('escalc("PFT", xi = 17, ni = 60)', lambda: ft_proportion(17, 60), 0.5651991653, 0.0041322314),
    ('escalc("PFT", xi = 0, ni = 25)', lambda: ft_proportion(0, 25), 0.0986977799, 0.0098039216),
    ('escalc("COR", ri = 0.42, ni = 85)', lambda: correlation(0.42, 85), 0.4200000000, 0.0080752019),
    ('escalc("ZCOR", ri = 0.42, ni = 85)', lambda: fisher_z(0.42, 85), 0.4476920235, 0.0121951220),
    ('escalc("SMD", ti = 2.31, n1i = 32, n2i = 32)', lambda: d_from_t_total(2.31, 64), 0.5704810800, 0.0650425677),
    ('escalc("SMD", ti = -sqrt(5.2), n1i = 45, n2i = 45)', lambda: d_from_f_total(5.2, 90, sign=-1),
     -0.4766293235, 0.0457065306),
]


@pytest.mark.parametrize("call, fn, yi, vi", CASES, ids=[c[0].split(",")[0] for c in CASES])
def test_escalc_measures(call, fn, yi, vi):
    e = fn()
    assert e.estimate == pytest.approx(yi, abs=1e-9), call
    assert e.variance == pytest.approx(vi, abs=1e-9), call
    assert e.ci_low == pytest.approx(yi - 1.959963984540054 * math.sqrt(vi), abs=1e-9)


def test_conversions_named_sources():
    """Cohen (1988): eta^2 = r^2 = d^2/(d^2 + 4) for two equal groups (d = 0.5 -> 0.0588235294, r = 0.2425356);
    McGraw & Wong (1992): CL = Phi(d/sqrt(2)); their height example d = 2.0 gives 0.92 (Phi(1.41421) = 0.9213504).
    Fisher: tanh(atanh(r)) = r."""
    assert d_to_eta2(0.5) == pytest.approx(0.0588235294, abs=1e-10)
    assert d_to_eta2(0.5) == pytest.approx(d_to_r(0.5) ** 2, abs=1e-12)
    assert eta2_to_d(d_to_eta2(0.8)) == pytest.approx(0.8, abs=1e-12)
    assert cles_from_d(2.0) == pytest.approx(0.9213503964748575, abs=1e-12)
    assert round(cles_from_d(2.0), 2) == 0.92
    assert cles_from_d(0.0) == 0.5
    assert z_to_r(fisher_z(0.42, 85).estimate) == pytest.approx(0.42, abs=1e-12)


def test_escalc_bad_input():
    with pytest.raises(InputError, match="between -1 and 1"):
        fisher_z(1.0, 30)
    with pytest.raises(InputError, match="between 0 and n"):
        logit_proportion(12, 10)
    with pytest.raises(InputError, match="positive means"):
        log_ratio_of_means(-1, 1, 10, 2, 1, 10)
    with pytest.raises(InputError, match="cannot be negative"):
        d_from_f_total(-2, 40)
    with pytest.raises(InputError, match="`c`"):
        log_risk_ratio(3, 4, -1, 5)
    with pytest.raises(InputError, match="eta"):
        eta2_to_d(1.2)
