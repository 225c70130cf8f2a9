"""Interpretation labels.

Cohen (1988) rules as in effectsize 0.8.3 `interpret_cohens_d(rules = "cohen1988")`:
rules(c(0.2, 0.5, 0.8), c("very small", "small", "medium", "large"), right = FALSE).
R: effectsize::interpret_cohens_d(c(0.1, 0.2, 0.49, 0.5, 0.8, -0.9), rules = "cohen1988")
-> "very small" "small" "small" "medium" "large" "large".
Kraft (2020) cut points are marked UNVERIFIED by the module (not read in the paper); only
their labelling is tested here, not their correctness.
"""

import pandas as pd

from plmresearch.effects import interpret
from plmresearch.effects.interpret import label


def test_cohen1988_matches_effectsize():
    got = [label(x, "cohen1988") for x in (0.1, 0.2, 0.49, 0.5, 0.8, -0.9)]
    assert got == ["very small", "small", "small", "medium", "large", "large"]


def test_interpret_scalar_and_array():
    r = interpret(0.12)
    assert r.cohen1988 == "very small" and r.kraft2020 == "medium"
    assert round(r.improvement_index) == 5
    text = str(r)
    assert "UNVERIFIED" in text and "not universal" in text
    assert interpret(-0.3).direction == "favours the comparison"
    tab = interpret([0.03, 0.3])
    assert isinstance(tab, pd.DataFrame) and list(tab["kraft2020 (unverified)"]) == ["small", "large"]
