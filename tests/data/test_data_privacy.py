"""Privacy tools of the data layer: keyed pseudonyms, identifier detection, small-cell suppression.

The pilot's identifier policy and the end-to-end test of its intake are in
tests/pilot/test_pilot_intake.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plmresearch.data.privacy import (
    detect_identifier_columns,
    new_key,
    pseudonymize,
    suppress_small_cells,
    suppression_mask,
)
from plmresearch.errors import ColumnError, InputError, PrivacyError

# --------------------------------------------------------------------------- pseudonymize


@pytest.mark.parametrize(
    "key, message, length, expected",
    [
        # RFC 4231 (HMAC-SHA-256 test vectors), test case 1
        (b"\x0b" * 20, "Hi There", 64, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        # RFC 4231, test case 2
        ("Jefe", "what do ya want for nothing?", 64, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        # RFC 4231, test case 5: output truncated to 128 bits
        (b"\x0c" * 20, "Test With Truncation", 32, "a3b6167473100ee06e0c796c2955552b"),
    ],
)
def test_pseudonymize_matches_rfc4231(key, message, length, expected):
    out = pseudonymize(pd.Series([message]), key, length=length)
    assert out.iloc[0] == expected


def test_pseudonymize_properties():
    ids = pd.Series([1001, 1002, 1001, np.nan, 1003], name="sid", index=[5, 6, 7, 8, 9])
    key = new_key()
    a, b = pseudonymize(ids, key), pseudonymize(ids, key)
    pd.testing.assert_series_equal(a, b)  # same key: same pseudonyms (tables can be linked in a run)
    assert a.name == "sid" and list(a.index) == [5, 6, 7, 8, 9]
    assert a.iloc[0] == a.iloc[2] != a.iloc[1] and pd.isna(a.iloc[3])
    assert all(len(x) == 16 for x in a.dropna())
    # A float read from a file and the text form of the same ID agree.
    assert pseudonymize(pd.Series(["1001"]), key).iloc[0] == a.iloc[0]
    # No key: a fresh random key per call, so two runs cannot be linked.
    assert pseudonymize(ids).iloc[0] != pseudonymize(ids).iloc[0]
    assert ids.tolist()[:3] == [1001, 1002, 1001]  # input untouched
    with pytest.raises(InputError, match="length"):
        pseudonymize(ids, key, length=4)
    with pytest.raises(InputError, match="key"):
        pseudonymize(ids, b"")


def test_pseudonym_collisions_are_refused():
    # With 32-bit pseudonyms, collisions become likely past ~77,000 IDs (birthday bound). With this
    # fixed key, IDs 4055 and 39456 share their first 8 hex digits (found by enumeration), so they
    # must be refused, and IDs 0..39455 (no collision) accepted.
    key = b"fixed test key"
    with pytest.raises(PrivacyError, match="larger `length`"):
        pseudonymize(pd.Series(np.arange(39_457)), key, length=8)
    assert pseudonymize(pd.Series(np.arange(39_456)), key, length=8).is_unique
    assert pseudonymize(pd.Series([4055, 39456]), key, length=16).is_unique


# --------------------------------------------------------------------------- detection


def _planted(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Elijah", "Mia", "Lucas", "Zoe", "Omar"]
    last = ["Smith", "Garcia", "Nguyen", "Patel", "Okafor", "Kim", "Lopez", "Chen", "Rivera", "Walker"]
    names = [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(n)]
    return pd.DataFrame(
        {
            "sid": [f"{100000 + i}" for i in range(n)],
            "Student Name": names,
            "who": [f"{nm.split()[1]}, {nm.split()[0]}" for nm in names],  # names under a neutral header
            "contact": [f"{nm.replace(' ', '.').lower()}{i}@district.k12.us" for i, nm in enumerate(names)],
            "x7": [f"({rng.integers(200, 999)}) {rng.integers(200, 999)}-{rng.integers(1000, 9999)}" for _ in range(n)],
            "d1": [f"{rng.integers(2010, 2016)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}" for _ in range(n)],
            "DOB": pd.date_range("2012-01-01", periods=n, freq="5D"),
            "school_name": rng.choice(["Maple Elementary", "Cedar Elementary", "Oak Grove Elementary"], n),
            "test_date": rng.choice(["2024-05-13", "2024-05-14", "2024-05-15"], n),
            "local_id": [str(rng.integers(10**9, 10**10)) for _ in range(n)],  # 10 digits, not a phone
            "race_ethnicity": rng.choice(["White", "Hispanic", "Black", "Asian"], n),
            "score": rng.normal(200, 10, n),
        }
    )


def test_detect_identifiers_by_name_and_content():
    found = detect_identifier_columns(_planted()).set_index("column")
    assert found.loc["Student Name", "identifier_type"] == "name"
    assert found.loc["Student Name", "detected_by"] == "name+content"
    assert found.loc["who", ["identifier_type", "detected_by"]].tolist() == ["person name", "content"]
    assert found.loc["contact", ["identifier_type", "detected_by"]].tolist() == ["e-mail", "content"]
    assert found.loc["x7", "identifier_type"] == "phone number"
    assert found.loc["d1", "identifier_type"] == "date of birth"
    assert found.loc["DOB", "detected_by"] == "name+content"
    assert set(found.index) == {"Student Name", "who", "contact", "x7", "d1", "DOB"}  # no false positives
    assert found["share_matching"].dropna().between(0.5, 1).all()


@pytest.mark.parametrize(
    "column, kind",
    [("first_name", "name"), ("LastName", "name"), ("e-mail", "e-mail"), ("Email Address", "e-mail"),
     ("date_of_birth", "date of birth"), ("birthdate", "date of birth"), ("parent_phone", "phone number"),
     ("home_address", "address"), ("SSN", "social security number"), ("teacher_name", "name")],
)
def test_identifier_names(column, kind):
    df = pd.DataFrame({column: [1, 2, 3]})
    assert detect_identifier_columns(df)["identifier_type"].tolist() == [kind]


def test_no_false_positives_on_research_data():
    """The HSB and Sustaining Effects files hold no direct identifiers."""
    from plmresearch import load_dataset

    for name in ("hsb", "sustaining_effects"):
        assert detect_identifier_columns(load_dataset(name)).empty, name


def test_decided_columns_are_left_out():
    """``drop``, ``keep`` and ``id_column`` leave the result; names not in the data are refused.

    2,500 rows, so the content checks sample (2,000 values per column): the rows left must
    equal those of the full scan."""
    df = _planted(2500)
    before = df.copy()
    everything = detect_identifier_columns(df)
    assert {"Student Name", "contact", "x7", "d1", "DOB"} <= set(everything["column"])
    undecided = detect_identifier_columns(df, drop=["Student Name", "who", "contact"], keep=["DOB"], id_column="x7")
    assert undecided["column"].tolist() == ["d1"]
    pd.testing.assert_frame_equal(undecided, everything[everything["column"] == "d1"].reset_index(drop=True))
    rest = detect_identifier_columns(df, drop="d1", keep=("DOB",))
    pd.testing.assert_frame_equal(rest, everything[~everything["column"].isin(["d1", "DOB"])].reset_index(drop=True))
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(ColumnError, match="`drop` names column.*Did you mean 'contact'"):
        detect_identifier_columns(df, drop=["contacts"])
    with pytest.raises(ColumnError, match="`id_column`"):
        detect_identifier_columns(df, id_column="student_id")


# --------------------------------------------------------------------------- suppression


def test_subgroup_of_seven_is_masked_with_its_statistics():
    table = pd.DataFrame(
        {
            "subgroup": ["ell", "ell", "sped", "sped"],
            "level": ["yes", "no", "yes", "no"],
            "n": [7, 293, 45, 255],
            "mean": [201.5, 220.1, 205.0, 221.0],
            "effect": [0.31, 0.18, 0.22, 0.19],
        }
    )
    before = table.copy()
    out = suppress_small_cells(table, "n", groups="subgroup")
    pd.testing.assert_frame_equal(table, before)
    assert out.loc[0].tolist() == ["ell", "yes", "<10", "suppressed", "suppressed"]
    # ell "no" = N - 7 would give the 7 away when N is published: complementary suppression.
    assert out.loc[1, ["n", "mean", "effect"]].tolist() == ["suppressed"] * 3
    assert out.loc[2:].values.tolist() == table.loc[2:].values.tolist()  # large cells untouched
    assert out.attrs["n_suppressed"] == 6


def test_row_total_and_group_complementary_suppression():
    table = pd.DataFrame({"group": ["a", "b", "c"], "treated": [3, 40, 50], "control": [30, 45, 12],
                          "total": [33, 85, 62]})
    out = suppress_small_cells(table, ["treated", "control"], total_column="total")
    # row a: treated 3 hidden; total 33 - control 30 would reveal it -> the smaller of them (30) also hidden
    assert out.loc[0, "treated"] == "<10" and out.loc[0, "control"] == "suppressed" and out.loc[0, "total"] == 33
    # threshold 15 hides control 12 in row c as well
    out15 = suppress_small_cells(table, ["treated", "control"], 15, total_column="total")
    assert out15.loc[2, "control"] == "<15" and out15.loc[2, "treated"] == "suppressed"


def test_numeric_labels_are_not_masked():
    table = pd.DataFrame({"subgroup": ["frl", "frl"], "level": [1, 0], "n": [8, 200], "mean": [1.0, 2.0]})
    out = suppress_small_cells(table, "n", label_columns="level", groups="subgroup")
    assert out["level"].tolist() == [1, 0] and out["mean"].tolist() == ["suppressed", "suppressed"]
    assert suppress_small_cells(table, "n")["level"].tolist() == ["suppressed", 0]  # default: numeric = statistic


def test_zero_counts_shown_unless_asked():
    table = pd.DataFrame({"n": [0, 12]})
    assert suppress_small_cells(table, "n")["n"].tolist() == [0, 12]
    assert suppress_small_cells(table, "n", mask_zero=True)["n"].tolist() == ["<10", 12]


def test_suppression_bad_input():
    with pytest.raises(ColumnError, match="Did you mean 'n'"):
        suppress_small_cells(pd.DataFrame({"n": [1]}), "nn")
    with pytest.raises(InputError, match="non-negative whole numbers"):
        suppress_small_cells(pd.DataFrame({"n": [1.5]}), "n")
    with pytest.raises(InputError, match="threshold"):
        suppress_small_cells(pd.DataFrame({"n": [1]}), "n", threshold=0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=2, max_size=8),
    st.integers(2, 15),
)
def test_suppression_invariants(cells, threshold):
    """No visible count lies in (0, threshold); no relation has exactly one hidden cell."""
    table = pd.DataFrame(cells, columns=["t", "c"])
    table["n"] = table["t"] + table["c"]
    table["g"] = "all"
    primary, comp = suppression_mask(table, ["t", "c"], threshold, total_column="n", groups="g")
    hidden = primary | comp
    visible = table[["t", "c", "n"]].where(~hidden)
    assert not ((visible > 0) & (visible < threshold)).any(axis=None)
    for i in range(len(table)):  # row relations t + c = n
        others = table.loc[i, ["t", "c", "n"]][~hidden.loc[i].to_numpy()]
        assert hidden.loc[i].sum() != 1 or (others == 0).all()  # only zeros left: nothing can be hidden
    for col in ("t", "c", "n"):  # column relations within the group
        k = hidden[col].sum()
        assert k != 1 or (table.loc[~hidden[col], col] == 0).all()
