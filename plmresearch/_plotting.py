"""The one plotting convention of plmresearch.

Every plotting function takes ``ax=`` and returns the :class:`matplotlib.figure.Figure`:

* ``ax`` given: draw on it and return ``ax.figure``; nothing else is touched (no pyplot
  state, no layout change of the caller's figure);
* ``ax=None``: draw on a new standalone ``Figure`` (constrained layout), never registered
  with pyplot, so nothing needs closing and notebooks show it once (as the cell's value).

Multi-panel functions take a sequence of Axes (one per panel) as ``ax``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from plmresearch.errors import InputError


def figure_axes(ax: Axes | None = None, figsize: tuple[float, float] = (6, 4)) -> tuple[Figure, Axes]:
    """The Figure and Axes to draw on (see the module docstring)."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise InputError(f"`ax` must be a matplotlib Axes, got {type(ax).__name__}.")
    return ax.figure, ax


def figure_axes_grid(ax: Any, nrows: int, ncols: int, figsize: tuple[float, float],
                     **subplots: Any) -> tuple[Figure, np.ndarray]:
    """A figure and an ``(nrows, ncols)`` array of Axes: new, or the ``nrows * ncols`` Axes passed as ``ax``."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, np.asarray(fig.subplots(nrows, ncols, squeeze=False, **subplots))
    axes = np.asarray(ax, dtype=object).reshape(-1)
    if axes.size != nrows * ncols or not all(isinstance(a, Axes) for a in axes):
        raise InputError(f"`ax` must hold {nrows * ncols} matplotlib Axes ({nrows} x {ncols} panels), "
                         f"got {axes.size} object(s).")
    return axes[0].figure, axes.reshape(nrows, ncols)
