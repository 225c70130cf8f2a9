"""Mindspark RCT data (Muralidharan, Singh & Ganimian 2019, AER 109(4)): counts and Table 1.

Published numbers: ../shared/references/mindspark_msg2019.md (read in the article).
"""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from plmresearch import load_dataset
from plmresearch.data import fetch_file
from plmresearch.errors import ChecksumError


@pytest.fixture(scope="module")
def wide():
    return load_dataset("mindspark_msg2019")


def test_counts_baseline_endline_and_analysis_samples(wide):
    """Table 1: 619 at baseline (314 T / 305 C), 539 at endline (266 / 273); Table 2: N 535 / 537."""
    assert len(wide) == 619 and wide["st_id"].is_unique
    assert wide["treat"].value_counts().to_dict() == {1: 314, 0: 305}
    assert wide["strata"].nunique() == 19
    present = wide[wide["present_endline"] == 1]
    assert present["treat"].value_counts().to_dict() == {0: 273, 1: 266}
    assert len(wide.dropna(subset=["m_theta_mle1", "m_theta_mle2"])) == 535
    assert len(wide.dropna(subset=["h_theta_mle1", "h_theta_mle2"])) == 537
    # value labels kept as categories; 0/1 floats as integers
    assert list(wide["st_tui_math_hrs1"].cat.categories)[0] == "Less than 1 hour"
    assert wide["st_female1"].dtype == "Int64"


def test_side_tables_join_the_treatment_group(wide):
    att = load_dataset("mindspark_msg2019_attendance")
    lev = load_dataset("mindspark_msg2019_levels")
    items = load_dataset("mindspark_msg2019_items")
    winners = set(wide.loc[wide["treat"] == 1, "st_id"])
    assert len(att) == 313 and set(att["st_id"]) <= winners
    assert len(lev) == 313 and set(lev["st_id"]) <= winners
    assert items.groupby("round", observed=True).size().to_dict() == {"baseline": 619, "endline": 619}
    # enrolled grade of the levels file is the main file's grade (Figure 1's x axis)
    m = lev.merge(wide[["st_id", "st_grade1"]], on="st_id")
    assert (m["enrolled_grade"] == m["st_grade1"]).all()
    # Table 9 note: about 13% of lottery winners attended at most one day
    assert (att["att_tot"] <= 1).mean() == pytest.approx(0.13, abs=0.01)


# Table 1 (difference T - C, SE). The SEs are those of a two-sample t-test with equal variances
# (Stata `ttest`, = classical OLS SE): HC1 gives 0.081 for the Hindi row, which prints 0.080.
PANEL_A = [
    ("st_female1", 0.004, 0.034),
    ("st_age1", 0.267, 0.143),
    ("ses_index", -0.070, 0.137),
    ("m_theta_mle1", -0.016, 0.081),
    ("h_theta_mle1", 0.096, 0.080),
    ("present_endline", -0.048, 0.027),
]
PANEL_B = [
    ("st_female1", 0.013, 0.036),
    ("ses_index", -0.193, 0.142),
    ("m_theta_mle1", -0.031, 0.086),
    ("h_theta_mle1", 0.124, 0.084),
]


def _balance(d, col):
    s = d[[col, "treat"]].dropna().astype(float)
    fit = smf.ols(f"{col} ~ treat", s).fit()
    return fit.params["treat"], fit.bse["treat"], s.groupby("treat").size().to_dict()


@pytest.mark.parametrize("col,diff,se", PANEL_A)
def test_table1_panel_a_balance(wide, col, diff, se):
    est, std, _ = _balance(wide, col)
    assert round(est, 3) == pytest.approx(diff, abs=1e-9)
    assert round(std, 3) == pytest.approx(se, abs=1e-9)


@pytest.mark.parametrize("col,diff,se", PANEL_B)
def test_table1_panel_b_balance(wide, col, diff, se):
    est, std, _ = _balance(wide[wide["present_endline"] == 1], col)
    assert round(est, 3) == pytest.approx(diff, abs=1e-9)
    assert round(std, 3) == pytest.approx(se, abs=1e-9)


def test_table1_cell_sizes(wide):
    assert _balance(wide, "st_age1")[2] == {1.0: 230, 0.0: 231}
    assert _balance(wide, "m_theta_mle1")[2] == {1.0: 313, 0.0: 304}
    assert _balance(wide, "h_theta_mle1")[2] == {1.0: 312, 0.0: 305}
    rates = wide.groupby("treat")["present_endline"].mean()
    assert round(rates[1], 2) == 0.85 and round(rates[0], 2) == 0.90


def test_wrong_checksum_is_an_error(tmp_path, monkeypatch):
    bad = tmp_path / "mindspark_msg2019" / "ms_levels.dta"
    bad.parent.mkdir()
    bad.write_bytes(b"not the published file")
    monkeypatch.setenv("PLMRESEARCH_DATA_DIR", str(tmp_path))
    with pytest.raises(ChecksumError, match="ms_levels.dta"):
        fetch_file("mindspark_msg2019_levels", "ms_levels.dta")
