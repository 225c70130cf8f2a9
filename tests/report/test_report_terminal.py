"""Terminal text fits the width it is given."""

import pandas as pd

from plmresearch.report.terminal import STATUS_LEGEND, number, scoreboard_text, table, wrap_text

BOARD = pd.DataFrame({
    "study": ["star", "star", "star", "hsb"],
    "quantity": ["grade K, col 2: small-class SE (clustered by class) with a long explanation of it",
                 "grade K, col 1: students in the regression", "small-class effect", "ICC"],
    "published": [1.29, 5874.0, 5.37, 0.18],
    "reproduced": [1.28456, 5874.0, 5.3700000001, None],
    "difference": [-0.00544, 0.0, 1e-10, None],
    "tolerance": [0.01, 0.5, 0.005, None],
    "within_tolerance": ["yes", "yes", "yes", "n/a"],
    "status": ["SECONDARY", "VERIFIED", "VERIFIED", "UNVERIFIED"],
    "source": ["Krueger (1999) Table V, grade K, column 2", "Krueger (1999) Table V, grade K, column 1",
               "Krueger (1999) Table V, grade K, column 2", ""],
    "note": ["", "", "", ""],
})


def test_scoreboard_fits_and_groups_by_study():
    for width in (80, 100, 140):
        text = scoreboard_text(BOARD, width=width, titles={"star": "Project STAR class size"})
        assert max(len(line) for line in text.splitlines()) <= width, width
    text = scoreboard_text(BOARD, width=100, titles={"star": "Project STAR class size"})
    assert text.count("star: Project STAR class size") == 1 and text.splitlines().count("hsb") == 1
    assert "5,874" in text and "5874.000" not in text and "1.285" in text
    # one numbered note per distinct source, referenced from its rows
    assert text.count("[1] Krueger (1999) Table V, grade K, column 2") == 1
    assert text.count("[2] Krueger (1999) Table V, grade K, column 1") == 1
    for word in ("VERIFIED", "SECONDARY", "UNVERIFIED"):
        assert f"{word}  " in text.split("Status of each published number:")[1]
    assert "REFERENCE-RUN" not in text  # only the words used are explained

    from plmresearch.reproduce import STATUSES

    assert set(STATUSES) | {"context", "not published"} == set(STATUS_LEGEND)  # every word the scoreboard prints


def test_number_and_table_and_wrap():
    assert [number(x) for x in (5874.0, 0.000123456, 1.28456, float("nan"))] == ["5,874", "0.0001235", "1.285", ""]
    t = table([["a", "x" * 200, "1"]], ["name", "title", "n"], width=60, align="<<>", wrap=[1])
    assert max(len(line) for line in t.splitlines()) <= 60 and t.count("x") == 200
    card = "Citation            : " + "word " * 80 + "\n  read_k   float     " + "reading score " * 20
    wrapped = wrap_text(card, width=70)
    assert max(len(line) for line in wrapped.splitlines()) <= 70
    assert all(line.startswith(" " * 22) for line in wrapped.splitlines()[1:4])
