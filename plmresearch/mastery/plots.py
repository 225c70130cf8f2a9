"""Figures for knowledge-tracing models: learning curves, P(mastered) trajectories, parameters.

Each function takes ``ax=`` and returns a matplotlib Figure (:mod:`plmresearch._plotting`);
none calls ``plt.show``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from plmresearch._plotting import figure_axes, figure_axes_grid
from plmresearch.errors import InputError
from plmresearch.mastery.afm import opportunity_counts
from plmresearch.validation import count, probability, require_columns, require_frame, require_numeric, unique_columns


def learning_curve(pred: pd.DataFrame, skill: str = "skill", student: str = "student", correct: str = "correct",
                   p_correct: str = "p_correct", max_opportunity: int = 20, min_students: int = 10,
                   skills=None, ax=None) -> Figure:
    """Observed vs predicted error rate by opportunity (1 = first response on the skill): the learning
    curve of Martin, Mitrovic, Koedinger & Mathan (2011), *User Model. User-Adapt. Interact.* 21(3).

    ``pred`` is the output of ``model.predict(df)`` (rows in order within student).
    Opportunities with fewer than ``min_students`` responses are not drawn (small
    cells are noisy and could identify students).
    """
    require_frame(pred, "pred")
    require_columns(pred, [skill, student, correct, p_correct], what="predictions")
    unique_columns(pred, [skill, student, correct, p_correct], what="predictions")
    require_numeric(pred, correct)
    require_numeric(pred, p_correct)
    max_opportunity = count(max_opportunity, "max_opportunity")
    min_students = count(min_students, "min_students")
    if skills is not None and (isinstance(skills, str) or not hasattr(skills, "__iter__")):
        raise InputError(f"`skills` must be a list of skill labels, got {skills!r}.")
    d = pred if skills is None else pred[pred[skill].isin(list(skills))]
    if len(d) == 0:
        raise InputError(f"None of the skills {list(skills)[:5]} are in column '{skill}'.")
    d = pd.DataFrame({"opp": opportunity_counts(d, skill, student) + 1, "obs": 1 - d[correct].astype(float),
                      "pred": 1 - d[p_correct].astype(float)})
    g = d[d["opp"] <= max_opportunity].groupby("opp").agg(observed=("obs", "mean"), predicted=("pred", "mean"),
                                                          n=("obs", "size"))
    g = g[g["n"] >= min_students]
    fig, ax = figure_axes(ax, (6, 4))
    ax.plot(g.index, g["observed"], "o-", label="observed")
    ax.plot(g.index, g["predicted"], "s--", label="predicted")
    ax.set_xlabel("opportunity")
    ax.set_ylabel("error rate")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Learning curve" + ("" if skills is None else f" (skills {', '.join(map(str, list(skills)[:5]))})"))
    return fig


def mastery_trajectories(pred: pd.DataFrame, students, skill_value, skill: str = "skill", student: str = "student",
                         correct: str = "correct", p_mastered: str = "p_mastered", threshold: float = 0.95,
                         ax=None) -> Figure:
    """P(mastered) after each opportunity for a few students on one skill, with the mastery threshold
    (the BKT posterior of Corbett & Anderson 1995; 0.95 is their mastery criterion).

    Wrong answers are marked with an x.
    """
    require_frame(pred, "pred")
    require_columns(pred, [skill, student, correct, p_mastered], what="predictions")
    unique_columns(pred, [skill, student, correct, p_mastered], what="predictions")
    require_numeric(pred, p_mastered)
    probability(threshold, "threshold")
    if isinstance(students, str) or not hasattr(students, "__iter__"):
        raise InputError(f"`students` must be a list of student labels, got {students!r}; e.g. [{students!r}].")
    d = pred[(pred[skill] == skill_value) & pred[student].isin(list(students))]
    if len(d) == 0:
        raise InputError(f"No rows for skill {skill_value!r} and students {list(students)[:5]}.")
    fig, ax = figure_axes(ax, (7, 4))
    for s, g in d.groupby(student, sort=False):
        x = np.arange(1, len(g) + 1)
        line, = ax.plot(x, g[p_mastered].to_numpy(), "-", label=f"student {s}")
        wrong = g[correct].to_numpy() == 0
        ax.plot(x[wrong], g[p_mastered].to_numpy()[wrong], "x", color=line.get_color())
    ax.axhline(threshold, color="grey", ls=":", label=f"threshold {threshold:g}")
    ax.set_xlabel("opportunity")
    ax.set_ylabel("P(mastered)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Skill {skill_value}: P(mastered) trajectories")
    ax.legend(fontsize="small")
    return fig


def parameter_plot(params: pd.DataFrame, columns=("prior", "learn", "forget", "guess", "slip"), ax=None) -> Figure:
    """One panel per BKT parameter (Corbett & Anderson 1995): its value for each skill, sorted (``model.params``).

    ``ax``, when given, holds one Axes per parameter drawn.
    """
    require_frame(params, "params")
    cols = [c for c in columns if c in params.columns and not (c == "forget" and (params[c] == 0).all())]
    if not cols:
        raise InputError(f"`params` has none of the columns {list(columns)}.")
    fig, grid = figure_axes_grid(ax, 1, len(cols), (3 * len(cols), 3.2), sharey=True)
    axes = grid[0]
    for ax, c in zip(axes, cols):
        v = np.sort(params[c].to_numpy())
        ax.plot(v, np.arange(len(v)), ".")
        ax.set_xlim(0, 1)
        ax.set_title(c)
        ax.set_xlabel("value")
    axes[0].set_ylabel("skills (sorted)")
    fig.suptitle(f"BKT parameters across {len(params)} skill(s)")
    return fig
