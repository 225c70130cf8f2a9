"""The shipped WWC attrition boundary table and how attrition_check reports it (issue 13 item 4).

Reference numbers: /work/shared/references/wwc_attrition_boundaries.md (status SECONDARY): two
third-party transcriptions of WWC Standards Handbook v4.0/v4.1 Table II.1 -- A = R package
baselinr, R/attrition_boundary.R (anchors 0 %: cautious 5.7, optimistic 10.0; 30 %: 4.1, 8.2;
13 % optimistic 10.8; 65 % optimistic 0.3) and B = HaiwenChu/RWWC-v.4-Group-Designs (rows 0-57;
30 % optimistic 8.4, 13 % optimistic 10.9). Cautious columns agree in all shared rows; optimistic
columns agree for 0-12 % and from 13 % B is A shifted down one row.
"""

import numpy as np
import pandas as pd
import pytest
from test_effects_wwc import baselinr_transcription

from plmresearch import effects
from plmresearch.effects import attrition_check, classify_attrition, wwc_attrition_boundaries
from plmresearch.errors import InputError


def test_shipped_table_is_the_baselinr_transcription():
    """Equal, row by row, to the baselinr list copied independently into test_effects_wwc.py."""
    t = wwc_attrition_boundaries()
    ref = baselinr_transcription().astype(float)
    pd.testing.assert_frame_equal(t, ref, check_dtype=False)
    assert t.set_index("overall").loc[0].tolist() == [5.7, 10.0]
    assert t.set_index("overall").loc[30].tolist() == [4.1, 8.2]
    assert t.set_index("overall").loc[65, "optimistic"] == 0.3
    assert t.set_index("overall").loc[58:65, "cautious"].isna().all()
    assert "baselinr" in t.attrs["source"] and t.attrs["status"].startswith("SECONDARY")


def test_the_two_encodings_agree_where_the_reference_says():
    a = wwc_attrition_boundaries().set_index("overall")
    b = wwc_attrition_boundaries("rwwc").set_index("overall")
    assert list(b.index) == list(range(58))
    assert (a.loc[0:57, "cautious"] == b["cautious"]).all()
    assert (a.loc[0:12, "optimistic"] == b.loc[0:12, "optimistic"]).all()
    # from 13 % on, B's row r is A's row r - 1
    assert (b.loc[13:57, "optimistic"].to_numpy() == a.loc[12:56, "optimistic"].to_numpy()).all()
    assert (b.loc[30, "optimistic"], b.loc[13, "optimistic"]) == (8.4, 10.9)


def test_default_table_and_its_provenance_in_the_result():
    """baselinr's printed examples (reference/attrition_boundary.md) with the shipped table:
    (0.08, 0.03) cautious -> 0.063 low; (0.30, 0.06) cautious -> 0.041 high, optimistic -> 0.082 low."""
    assert classify_attrition(0.08, 0.03, assumption="cautious") == ("low", pytest.approx(0.063))
    assert classify_attrition(0.30, 0.06, assumption="cautious") == ("high", pytest.approx(0.041))
    assert classify_attrition(0.30, 0.06, assumption="optimistic") == ("low", pytest.approx(0.082))
    r = attrition_check(100, 100, 95, 97, boundary="cautious")
    assert r.rating == "low" and r.assumption == "cautious"
    assert "baselinr" in r.table_source and r.table_status.startswith("SECONDARY")
    assert "SECONDARY" in r.notes[0] and not r.sensitive_to_encoding
    assert "table_status" in r.to_frame().columns


def test_rating_that_rests_on_a_disputed_row_is_flagged():
    """30 % overall, 8.3 points differential (2000 per arm; 1317 and 1483 analyzed): optimistic boundary
    8.2 (A) -> high, 8.4 (B) -> low. The cautious boundary 4.1 (both) -> high, not flagged."""
    r = attrition_check(2000, 2000, 1317, 1483, boundary="optimistic")
    assert r.overall == pytest.approx(0.30) and r.differential == pytest.approx(0.083)
    assert (r.optimistic, r.optimistic_other_encoding) == ("high", "low")
    assert r.max_differential_optimistic == pytest.approx(0.082)
    assert r.sensitive_to_encoding
    assert any("optimistic rating (high) would be low" in n and "8.4" in n for n in r.notes)
    c = attrition_check(2000, 2000, 1317, 1483, boundary="cautious")
    assert c.rating == "high" and c.cautious_other_encoding == "high" and not c.sensitive_to_encoding
    assert len(c.notes) == 1


def test_overall_rates_beyond_the_second_encoding_are_flagged():
    """60 % overall, 1 point differential: A optimistic 1.4 -> low; B has no row above 57 % -> high."""
    r = attrition_check(1000, 1000, 395, 405, boundary="optimistic")
    assert r.overall == pytest.approx(0.60) and r.differential == pytest.approx(0.01)
    assert (r.optimistic, r.optimistic_other_encoding, r.cautious) == ("low", "high", "high")
    assert any("no row" in n for n in r.notes)


def test_user_table_overrides_the_shipped_one(tmp_path):
    mine = baselinr_transcription().assign(optimistic=lambda d: d.optimistic + 1)
    r = attrition_check(2000, 2000, 1317, 1483, boundary="optimistic", table=mine)
    assert r.rating == "low" and r.max_differential_optimistic == pytest.approx(0.092)
    assert r.table_status == "user-supplied table" and r.optimistic_other_encoding is None
    assert not r.sensitive_to_encoding
    path = tmp_path / "mine.csv"
    mine.to_csv(path, index=False)
    old_style = attrition_check(2000, 2000, 1317, 1483, path, assumption="optimistic")  # table as `boundary`
    assert old_style.rating == "low" and str(path) in old_style.table_source


def test_bad_boundary_arguments():
    with pytest.raises(InputError, match="'cautious' or 'optimistic'"):
        attrition_check(100, 100, 90, 80, boundary="neutral")
    with pytest.raises(InputError, match="disagree"):
        attrition_check(100, 100, 90, 80, boundary="cautious", assumption="optimistic")
    with pytest.raises(InputError, match="once"):
        attrition_check(100, 100, 90, 80, baselinr_transcription(), table=baselinr_transcription())
    with pytest.raises(InputError, match="encoding"):
        wwc_attrition_boundaries("handbook")


def test_exported():
    assert effects.wwc_attrition_boundaries is wwc_attrition_boundaries
    assert np.isnan(wwc_attrition_boundaries().cautious.iloc[-1])
