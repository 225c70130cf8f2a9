"""The dataset layer: cards, catalogue, CLI and errors."""

import re
from pathlib import Path

import pytest

import plmresearch
from plmresearch.cli import main
from plmresearch.data import dataset_card, list_datasets, load_dataset
from plmresearch.errors import PlmError, UnknownDatasetError

EXPECTED = {
    "star", "star_long", "hsb", "eight_schools", "london_exam", "sustaining_effects",
    "reading_methods", "assistments_mastery_ab", "assistments_2009", "dietrichson2021",
    "mindspark_msg2019", "mindspark_msg2019_attendance", "mindspark_msg2019_levels", "mindspark_msg2019_items",
}
SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def test_catalogue_lists_every_dataset_with_rows():
    cat = list_datasets()
    assert set(cat["name"]) == EXPECTED
    assert list(cat.columns) == ["name", "title", "rows", "unit", "source", "license"]
    assert (cat["rows"] > 0).all()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loader_matches_its_card(name):
    """Every column is documented in the codebook, in order, and the row count is the card's."""
    card = dataset_card(name)
    df = load_dataset(name)
    assert list(df.columns) == list(card.codebook)
    assert len(df) == card.rows
    for col, spec in card.codebook.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", col), col
        if "values" in spec:
            assert set(df[col].dropna().astype(str)) <= set(map(str, spec["values"])), col


def test_load_dataset_returns_a_fresh_copy():
    a = load_dataset("eight_schools")
    a.loc[0, "effect"] = -999
    assert load_dataset("eight_schools").loc[0, "effect"] == pytest.approx(28.39)


def test_top_level_reexports():
    assert plmresearch.load_dataset is load_dataset
    assert issubclass(UnknownDatasetError, PlmError)


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownDatasetError, match=r"Did you mean 'star'\?") as err:
        load_dataset("stra")
    assert "hsb" in str(err.value)  # lists the known names
    with pytest.raises(UnknownDatasetError, match="eight_schools"):
        dataset_card("eight_school")


@pytest.mark.parametrize("folder,name", [("assistments_mastery_ab", "assistments_mastery_ab"),
                                         ("assistments_2009_dkt", "assistments_2009"),
                                         ("mindspark_msg2019", "mindspark_msg2019"),
                                         ("mindspark_msg2019", "mindspark_msg2019_attendance"),
                                         ("mindspark_msg2019", "mindspark_msg2019_levels"),
                                         ("mindspark_msg2019", "mindspark_msg2019_items")])
def test_card_urls_and_checksums_are_the_canonical_ones(folder, name):
    """The card's URLs and SHA-256 are those of the mirror's CARD.md (the canonical public copies)."""
    text = (SHARED / folder / "CARD.md").read_text()
    for f in dataset_card(name).source["files"]:
        # a CARD.md may give the folder URL once, with <FILE> standing for each file name
        assert f["url"] in text or f["url"].rsplit("/", 1)[0] + "/<FILE>" in text
        assert f["sha256"] in text


def test_cli_list_and_show(capsys):
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    for name in EXPECTED:
        assert name in out
    assert "11,598" in out and "7,185" in out
    assert main(["datasets", "show", "star"]) == 0
    out = capsys.readouterr().out
    assert "Codebook:" in out and "class_type_k" in out and "Stanford Achievement Test" in out


def test_cli_unknown_dataset_is_one_clear_message(capsys):
    assert main(["datasets", "show", "hsbb"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'hsb'?" in err and "Traceback" not in err


def test_cli_fetch_from_mirror(capsys):
    assert main(["datasets", "fetch", "assistments_mastery_ab"]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and "683 rows" in out
