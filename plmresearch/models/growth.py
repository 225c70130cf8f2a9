"""Growth models: repeated measures within students within schools.

Linear growth with random intercepts and slopes at the student and school levels
(Raudenbush & Bryk 2002, ch. 8, the three-level growth model; the Sustaining
Effects data, ``mlmRev::egsingle``, are their Table 8.8 example):

    y_tij = pi_0ij + pi_1ij time_tij + e_tij
    pi_pij = beta_p0j + r_pij          (student level)
    beta_p0j = gamma_p00 + u_p0j       (school level)

The statsmodels engine cannot correlate the student-level intercept and slope
(nested level), so it fits them as independent components; ``engine="bayes"``
fits the full covariance at both levels.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from plmresearch.errors import InputError
from plmresearch.models.multilevel import ENGINES, multilevel
from plmresearch.validation import check_choice, check_text, require_columns, require_frame, require_numeric


def growth_formula(outcome: str, time: str, student: str, school: str | None = None,
                   covariates: list[str] | None = None, engine: str = "statsmodels") -> str:
    """The lme4 formula of the linear growth model (see the module docstring)."""
    for name, value in (("outcome", outcome), ("time", time), ("student", student)):
        check_text(value, name)
    if school is not None:
        check_text(school, "school")
    check_choice(engine, "engine", ENGINES)
    if covariates is not None and (isinstance(covariates, str) or not all(isinstance(c, str) for c in covariates)):
        raise InputError(f"`covariates` must be a list of column names, got {covariates!r}.")
    named = [outcome, time, student, school, *(covariates or [])]
    repeated = sorted({c for c in named if c is not None and named.count(c) > 1})
    if repeated:
        raise InputError(f"{repeated} is given for more than one role among outcome, time, student, school and "
                         "covariates; each role needs its own column.")
    fixed = " + ".join([time] + [f"{c} * {time}" for c in (covariates or [])])
    bar = "||" if engine == "statsmodels" and school is not None else "|"
    if school is None:
        return f"{outcome} ~ {fixed} + (1 + {time} | {student})"
    return f"{outcome} ~ {fixed} + (1 + {time} | {school}) + (1 + {time} {bar} {school}:{student})"


def growth_model(
    data: pd.DataFrame,
    outcome: str,
    time: str,
    student: str,
    school: str | None = None,
    *,
    covariates: list[str] | None = None,
    engine: str = "statsmodels",
    **kwargs: Any,
):
    """Fit linear growth with random intercepts and slopes for students (and schools).

    ``covariates`` enter as main effects and interactions with ``time`` (they
    predict initial status and growth rate). Other keyword arguments go to
    :func:`~plmresearch.models.multilevel`. Returns its fit object.
    """
    f = growth_formula(outcome, time, student, school, covariates, engine)  # checks the names first
    require_frame(data, "data")
    require_columns(data, [outcome, time, student, school, *(covariates or [])])
    require_numeric(data, time)
    per_student = data.groupby(student)[time].nunique()
    if (per_student < 2).all():
        raise InputError(f"Every student has a single value of '{time}'; growth needs repeated measures.")
    return multilevel(f, data, engine=engine, **kwargs)
