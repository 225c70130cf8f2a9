"""The Dietrichson et al. (2021) loader: counts printed in the review (Table 1: 195 studies, 1,334 effect sizes)."""

from plmresearch.data import load_dataset


def test_dietrichson2021_counts_match_the_review():
    d = load_dataset("dietrichson2021")
    assert len(d) == 1334
    assert d["study_id"].nunique() == 195
    assert set(d["post"].unique()) == {0.0, 1.0}
    assert (d["se_g"] > 0).all() and d["effectsize_g_adj1"].notna().all()
    # one CAI flag per row, adaptive software among them (CARD: 240 rows have it)
    assert int(d["cai"].sum()) == 240
