"""The dataset layer: cards, loaders, fetching with checksums; reading user files; privacy tools.

Nothing here knows about the district pilot: its config and data checks live in its own package.

>>> from plmresearch import load_dataset, list_datasets
>>> hsb = load_dataset("hsb")          # doctest: +SKIP
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from plmresearch.data.fetch import cache_dir, fetch_dataset, fetch_file
from plmresearch.data.files import read_table
from plmresearch.data.privacy import detect_identifier_columns, pseudonymize, suppress_small_cells
from plmresearch.data.loaders import LOADERS
from plmresearch.data.registry import DatasetCard, all_cards, dataset_card

__all__ = [
    "DatasetCard",
    "cache_dir",
    "dataset_card",
    "detect_identifier_columns",
    "fetch_dataset",
    "fetch_file",
    "list_datasets",
    "load_dataset",
    "pseudonymize",
    "read_table",
    "suppress_small_cells",
]


@lru_cache(maxsize=None)
def _load_cached(name: str) -> pd.DataFrame:
    return LOADERS[name]()


def load_dataset(name: str) -> pd.DataFrame:
    """Load dataset ``name`` as the tidy DataFrame its card documents.

    Each call returns a fresh copy, so callers may modify it freely.
    Unknown names raise ``UnknownDatasetError`` suggesting the closest name.
    """
    dataset_card(name)  # raises for unknown names
    return _load_cached(name).copy()


def list_datasets() -> pd.DataFrame:
    """The catalogue: name, title, rows, unit of observation, source, license."""
    rows = [
        {
            "name": c.name,
            "title": c.title,
            "rows": c.rows,
            "unit": c.unit,
            "source": c.source_label,
            "license": c.license.strip().splitlines()[0],
        }
        for c in all_cards().values()
    ]
    return pd.DataFrame(rows)
