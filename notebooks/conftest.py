"""Under ``pytest --nbval-lax notebooks``: after each notebook's last cell, count the images its cells
showed (from the outputs nbval collected while running them) against the table in
tests/notebooks/test_notebook_figures.py. The notebooks run once; nbval checks that every cell
runs, this item that the figures appear."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_TABLE = Path(__file__).resolve().parents[1] / "tests" / "notebooks" / "test_notebook_figures.py"


def _load_table():
    spec = importlib.util.spec_from_file_location("_notebook_figure_table", _TABLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FigureCount(pytest.Item):
    """Sums image outputs over the notebook's cells (run just before, in the same kernel)."""

    def runtest(self):
        table = _load_table()
        cells = [i for i in self.parent.session.items if i.parent is self.parent and i is not self]
        not_run = [c.name for c in cells if getattr(c, "test_outputs", None) is None]
        if not_run:
            pytest.skip(f"{len(not_run)} cell(s) did not run (see their failures), e.g. {not_run[:3]}")
        per_cell = [table.count_images(c.test_outputs) for c in cells]
        name = self.parent.path.name
        if name not in table.FIGURES:
            raise AssertionError(f"{name} has no row in FIGURES ({_TABLE}); it shows {sum(per_cell)} image(s).")
        assert sum(per_cell) == table.FIGURES[name], (
            f"{name}: {sum(per_cell)} image(s) shown, FIGURES expects {table.FIGURES[name]}; "
            f"images per code cell {per_cell}"
        )

    def reportinfo(self):
        return self.path, None, f"{self.parent.path.name}::figures"


def pytest_collection_modifyitems(session, config, items):
    if not (config.getoption("nbval", False) or config.getoption("nbval_lax", False)):
        return
    out, last = [], {}
    for item in items:
        out.append(item)
        if type(item.parent).__name__ == "IPyNbFile":
            last[item.parent] = len(out)
    # insert from the back so earlier positions stay valid
    for parent, pos in sorted(last.items(), key=lambda kv: -kv[1]):
        out.insert(pos, FigureCount.from_parent(parent, name="figures"))
    items[:] = out
