"""Every notebook shows its figures: executed in fast mode, each one must produce exactly the number
of images in FIGURES (one row per notebook; the count of image/png outputs across its cells).

nbval only checks that cells run: a figure cell that draws nothing, a trailing ``;`` that swallows
the returned Figure, or a backend that hides pyplot figures all pass it. This test catches them.

One execution per notebook in the full suite. ``pytest --nbval-lax tests notebooks`` (``make test``)
already runs every notebook in a kernel; notebooks/conftest.py adds a "figures" item after each
notebook's last cell that counts the images in the outputs nbval collected (``count_images``, the
same function and table as here), and the nbclient test below skips itself. Run without nbval on the
notebooks (``pytest tests/notebooks``), the nbclient test executes each notebook itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: Images each notebook shows when executed with PLMRESEARCH_FAST=1 (image/png outputs, all cells).
FIGURES = {
    "pilot_report.ipynb": 5,  # sample flow, baseline, main effect, posterior, subgroups
    "repro_assistments_2009_bkt.ipynb": 1,  # reproduction plot
    "repro_assistments_mastery_ab.ipynb": 2,  # reproduction plot, three estimators
    "repro_dietrichson2021.ipynb": 1,  # orchard plot by component
    "repro_eight_schools_rubin1981.ipynb": 3,  # reproduction plot, caterpillar, p(tau | y)
    "repro_hsb_raudenbush_bryk.ipynb": 1,  # reproduction plot
    "repro_mindspark_msg2019.ipynb": 3,  # Figure 1 (level vs grade), Figure 3 (by baseline percentile), attendance
    "repro_reading_methods_baumann.ipynb": 2,  # scores by method, reproduction plot
    "repro_star_krueger1999.ipynb": 2,  # percentile densities, reproduction plot
    "tutorial_crossed_irt_verbagg.ipynb": 1,  # item residuals caterpillar
    "tutorial_causal_designs.ipynb": 4,  # simulated outcomes, love plot, event study, RD plot
    "tutorial_effect_sizes.ipynb": 2,  # forest, funnel
    "tutorial_knowledge_tracing.ipynb": 3,  # parameters, learning curves, trajectories
    "tutorial_multilevel_hsb.ipynb": 2,  # caterpillar, posterior with ROPE
    "tutorial_power.ipynb": 1,  # power curve
}


def count_images(outputs) -> int:
    """Image outputs (display_data or execute_result carrying image/png) in a list of cell outputs."""
    return sum(
        1 for out in outputs
        if out.get("output_type") in ("display_data", "execute_result") and "image/png" in out.get("data", {})
    )


def test_every_notebook_has_a_row():
    assert sorted(FIGURES) == [p.name for p in NOTEBOOKS]


def _nbval_runs(config, path: Path) -> bool:
    """Whether nbval executes this notebook in this session (then notebooks/conftest.py counts)."""
    if not (config.getoption("nbval", False) or config.getoption("nbval_lax", False)):
        return False
    args = {Path(a.split("::")[0]).resolve() for a in config.args}
    return bool(args & {NOTEBOOK_DIR, NOTEBOOK_DIR.parent, path})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_shows_its_figures(path, request, monkeypatch):
    if _nbval_runs(request.config, path):
        pytest.skip("counted on nbval's execution of the notebook (notebooks/conftest.py)")
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("PLMRESEARCH_FAST", "1")  # the kernel inherits this process's environment
    # run where nbval runs it: in the notebook's folder
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    out = os.environ.get("PLMRESEARCH_EXECUTED_NOTEBOOKS")
    if out:  # keep the executed copy (e.g. to render it to HTML)
        Path(out).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(out) / path.name)
    per_cell = [count_images(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code"]
    assert sum(per_cell) == FIGURES[path.name], f"{path.name}: images per code cell {per_cell}"
