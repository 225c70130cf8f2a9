"""Notebooks are committed without outputs (no data rows or images in the repository) and read the
study specs instead of copying published numbers."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_tutorials_and_a_reproduction_per_study():
    from plmresearch.reproduce import list_studies

    names = {p.stem for p in NOTEBOOKS}
    for tutorial in ("effect_sizes", "power", "multilevel_hsb", "causal_designs", "knowledge_tracing"):
        assert f"tutorial_{tutorial}" in names
    for study in list_studies():
        assert f"repro_{study}" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, path.name


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem.startswith("repro_")], ids=lambda p: p.name)
def test_reproduction_notebook_reads_its_spec(path):
    source = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    assert f'load_study("{path.stem.removeprefix("repro_")}")' in source
