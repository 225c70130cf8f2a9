"""Orchard plot: returns a Figure, one row per group, draws into a given Axes, names a missing fit."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from plmresearch.effects.robust_meta import robust_meta
from plmresearch.effects.synthesis_plots import orchard_plot
from plmresearch.errors import InputError


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(3)
    study = np.repeat(np.arange(12), 3)
    a = (study % 2 == 0).astype(float)
    g = 0.2 + 0.3 * a + rng.normal(0, 0.15, len(study))
    return pd.DataFrame({"study": study, "g": g, "v": rng.uniform(0.01, 0.05, len(study)), "a": a, "b": 1 - a})


def test_orchard_plot(toy):
    fits = {lab: robust_meta(toy[toy[col] == 1], "g", "v", "study") for lab, col in {"A": "a", "B": "b"}.items()}
    fig = orchard_plot(toy, "g", "v", {"A": "a", "B": "b"}, fits)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    import matplotlib.pyplot as plt

    plt.close("all")
    fig2 = Figure()
    ax2 = fig2.add_subplot()
    assert orchard_plot(toy, "g", "v", {"A": "a"}, fits, ax=ax2) is fig2
    assert plt.get_fignums() == []  # pyplot state untouched (plmresearch._plotting convention)
    with pytest.raises(InputError, match="'C'"):
        orchard_plot(toy, "g", "v", {"C": "a"}, fits)
