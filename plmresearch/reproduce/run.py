"""Running one spec: each analysis's estimator on the study's data, then the comparison with the targets.

:func:`plmresearch.reproduce.spec.run_studies` runs several and builds the scoreboard."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from plmresearch.errors import PlmError, SpecError
from plmresearch.reproduce.registry import get_estimator
from plmresearch.reproduce.scoreboard import SCOREBOARD_COLUMNS, StudyResult

if TYPE_CHECKING:
    from plmresearch.reproduce.spec import Study


def run_study(study: Study, fast: bool = False, data: pd.DataFrame | None = None) -> StudyResult:
    """Run every analysis of ``study`` and compare with its published targets.

    An estimator's :class:`~plmresearch.errors.PlmError` is recorded against its analysis (its
    targets show as misses with the message) instead of stopping the other analyses.
    """
    if not (hasattr(study, "analyses") and hasattr(study, "load_data")):  # a Study (imported lazily: no cycle)
        hint = f" Use run_study(load_study({study!r}))." if isinstance(study, str) else ""
        raise SpecError(f"`study` must be a Study from load_study, got {type(study).__name__}.{hint}")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise SpecError(f"`data` must be a pandas DataFrame or None, got {type(data).__name__}.")
    df = study.load_data() if data is None else data
    values: dict[str, dict[str, float]] = {}
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}
    for a in study.analyses:
        t0 = time.perf_counter()
        try:
            values[a.id] = get_estimator(a.estimator).func(df, study, fast=fast, **a.params)
        except PlmError as err:
            errors[a.id] = str(err)
        timings[a.id] = time.perf_counter() - t0
    rows = []
    for t in study.targets:
        got = values.get(t.analysis, {}).get(t.value, np.nan)
        diff = got - t.published if np.isfinite(got) else np.nan
        within = bool(np.isfinite(diff) and abs(diff) <= t.tolerance + 1e-12)
        rows.append(
            {
                "study": study.name, "quantity": t.quantity, "published": t.published,
                "reproduced": got, "difference": diff, "tolerance": t.tolerance,
                "within_tolerance": _verdict(within, t.known_miss), "status": t.status,
                "source": t.source, "note": t.note or t.known_miss or errors.get(t.analysis, ""),
            }
        )
    for r in study.report:
        got = values.get(r.analysis, {}).get(r.value, np.nan)
        context = r.published is not None
        rows.append(
            {
                "study": study.name, "quantity": r.quantity,
                "published": r.published if context else np.nan, "reproduced": got,
                "difference": got - r.published if context else np.nan, "tolerance": np.nan,
                "within_tolerance": "n/a", "status": "context" if context else "not published",
                "source": r.source, "note": r.note or errors.get(r.analysis, ""),
            }
        )
    return StudyResult(study, pd.DataFrame(rows, columns=SCOREBOARD_COLUMNS), values, errors, timings)


def _verdict(within: bool, known_miss: str) -> str:
    """'yes'/'no'; for a target the spec expects to miss, 'known miss' or 'unexpectedly yes'."""
    if known_miss:
        return "unexpectedly yes" if within else "known miss"
    return "yes" if within else "no"
