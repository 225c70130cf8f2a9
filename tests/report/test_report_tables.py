"""Display tables: counts as integers, estimates at fixed decimals, text in full."""

import numpy as np
import pandas as pd
import pytest

from plmresearch.errors import InputError
from plmresearch.report import format_number, tidy_table


@pytest.mark.parametrize("value, text", [
    (5874.0, "5,874"), (5874, "5,874"), (np.int64(12), "12"), (1.28456, "1.285"), (-0.0004, "-4.0e-04"),
    (7.12e-13, "7.1e-13"), (-0.0006, "-0.001"), (float("inf"), "inf"),
    (np.nan, ""), (None, ""), (pd.NA, ""), (True, "True"), ("small-class SE", "small-class SE"),
])
def test_format_number(value, text):
    assert format_number(value) == text


def test_tidy_table_keeps_data_and_shows_long_labels_in_full():
    label = "grade K, col 2: small-class SE (clustered by class) and a long tail of words"
    df = pd.DataFrame({"quantity": [label, "students in the regression"], "reproduced": [1.28456, 5874.0]})
    html = tidy_table(df).to_html()
    assert label in html and "5,874" in html and "1.285" in html and "5874.000" not in html
    assert df["reproduced"].tolist() == [1.28456, 5874.0]  # input untouched
    assert ">1.28<" in tidy_table(df, digits=2).to_html()
    mixed = tidy_table(pd.DataFrame({"est": [5.0, 4.82], "n": [66.0, 120.0]})).to_html()
    assert ">5.000<" in mixed and ">66<" in mixed and ">120<" in mixed


def test_tidy_table_bad_input():
    with pytest.raises(InputError, match="DataFrame"):
        tidy_table([1, 2])
    with pytest.raises(InputError, match="digits"):
        tidy_table(pd.DataFrame({"a": [1.0]}), digits=-1)
