"""Fetching: mirror, cache, checksum and download errors (no network is used)."""

import shutil
from pathlib import Path

import pooch
import pytest

from plmresearch.data import fetch_file
from plmresearch.data.fetch import sha256
from plmresearch.errors import ChecksumError, DownloadError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
GOOD = "632be483637447789da55a4066dc3b80198c6c3d2b251277a0ebb562d85fbc9d"  # CARD.md of the mirror


@pytest.fixture
def no_mirror(monkeypatch, tmp_path):
    monkeypatch.delenv("PLMRESEARCH_DATA_DIR", raising=False)
    monkeypatch.setenv("PLMRESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_mirror_file_is_verified():
    assert sha256(fetch_file("assistments_mastery_ab", "abTestExample.csv")) == GOOD


def test_corrupted_mirror_copy_raises_checksum_error(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror" / "assistments_mastery_ab"
    mirror.mkdir(parents=True)
    bad = mirror / "abTestExample.csv"
    shutil.copy(SHARED / "assistments_mastery_ab" / "abTestExample.csv", bad)
    with open(bad, "r+b") as f:  # flip one byte
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 1]))
    before = bad.read_bytes()
    monkeypatch.setenv("PLMRESEARCH_DATA_DIR", str(tmp_path / "mirror"))
    with pytest.raises(ChecksumError) as err:
        fetch_file("assistments_mastery_ab", "abTestExample.csv")
    msg = str(err.value)
    assert GOOD in msg and sha256(bad) in msg and "not used" in msg
    assert bad.read_bytes() == before  # the user's file is left alone


def test_corrupted_cached_download_raises_checksum_error(no_mirror):
    cached = no_mirror / "assistments_mastery_ab" / "abTestExample.csv"
    cached.parent.mkdir(parents=True)
    cached.write_text("user_id,video,completion\n1,TRUE,1\n")
    with pytest.raises(ChecksumError, match=GOOD):
        fetch_file("assistments_mastery_ab", "abTestExample.csv")


def test_download_failure_names_url_and_where_to_put_the_file(no_mirror, monkeypatch):
    def offline(**kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(DownloadError) as err:
        fetch_file("assistments_2009", "builder_test.csv")
    msg = str(err.value)
    assert "https://raw.githubusercontent.com/chrispiech/DeepKnowledgeTracing" in msg
    assert str(no_mirror / "assistments_2009" / "builder_test.csv") in msg
    assert "PLMRESEARCH_DATA_DIR" in msg


def test_download_with_wrong_hash_raises_checksum_error(no_mirror, monkeypatch):
    def tampered(**kwargs):  # what pooch raises when the download's hash differs
        raise ValueError("SHA256 hash of downloaded file (abc) does not match the known hash")

    monkeypatch.setattr(pooch, "retrieve", tampered)
    with pytest.raises(ChecksumError, match="discarded"):
        fetch_file("assistments_mastery_ab", "abTestExample.csv")


def test_download_uses_the_canonical_url(no_mirror, monkeypatch):
    """Users (no mirror) download from the card's real URL, with the card's checksum."""
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        target = Path(kwargs["path"]) / kwargs["fname"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED / "assistments_mastery_ab" / "abTestExample.csv", target)
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", fake)
    path = fetch_file("assistments_mastery_ab", "abTestExample.csv")
    assert seen["url"].startswith("https://raw.githubusercontent.com/adamSales/drct-tutorial/")
    assert seen["known_hash"] == f"sha256:{GOOD}"
    assert path.parent == no_mirror / "assistments_mastery_ab"
