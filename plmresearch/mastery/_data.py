"""Checks and packing of long response tables (student, skill, correct, order).

A *sequence* is one student's responses on one skill, in order. Packing sorts the
rows by (skill, student) while keeping each student's order, so every skill is a
contiguous block of sequences and every sequence a contiguous block of responses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from plmresearch.errors import InputError
from plmresearch.validation import require_columns, require_frame, require_no_missing, unique_columns


@dataclass(frozen=True)
class Packed:
    """Responses grouped by skill and student; ``rows[i]`` is the source row of response i."""

    obs: np.ndarray  # int8, 0/1, packed order
    rows: np.ndarray  # positions in the caller's frame
    seq_start: np.ndarray  # int64, n_seq + 1
    seq_skill: np.ndarray  # int64 code of each sequence's skill
    skill_q: np.ndarray  # int64, n_skill + 1: first sequence of each skill
    skills: pd.Index  # skill labels by code
    students: np.ndarray  # student label of each sequence

    @property
    def skill_maxlen(self) -> np.ndarray:
        lengths = np.diff(self.seq_start)
        return np.array(
            [lengths[self.skill_q[s]:self.skill_q[s + 1]].max() for s in range(len(self.skills))], dtype=np.int64
        )


def correct_values(df: pd.DataFrame, correct: str) -> np.ndarray:
    """The response column as int8 0/1; anything else is an InputError naming the values."""
    s = df[correct]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.int8)
    if pd.api.types.is_numeric_dtype(s):
        a = s.to_numpy(dtype=float)
        bad = (a != 0) & (a != 1)
        if not bad.any():
            return a.astype(np.int8)
        values = sorted(set(a[bad].tolist()))[:5]
    else:
        values = sorted(map(str, pd.unique(s)))[:5]
    raise InputError(
        f"Column '{correct}' must hold 0/1 (or False/True) responses; found other values such as {values}. "
        "Recode partial credit to 0/1 (e.g. df['correct'] = (df['score'] == 1).astype(int))."
    )


def check_order(df: pd.DataFrame, student: str, order: str, skill: str) -> None:
    """Each student's rows on a skill must appear in strictly increasing ``order``.

    Only the order within a (student, skill) sequence matters to BKT, so rows of
    different skills may share an order value (a multi-skill item).
    """
    o = df[order]
    if not (pd.api.types.is_numeric_dtype(o) or pd.api.types.is_datetime64_any_dtype(o)):
        raise InputError(f"Order column '{order}' must be numeric or datetime, got dtype {o.dtype}.")
    codes = pd.factorize(df[student])[0].astype(np.int64) * (int(df[skill].nunique()) + 1) + pd.factorize(df[skill])[0]
    idx = np.argsort(codes, kind="stable")
    c = codes[idx]
    ov = o.to_numpy()[idx]
    bad = (c[1:] == c[:-1]) & ~(ov[1:] > ov[:-1])
    if bad.any():
        first = int(idx[1:][bad][0])
        raise InputError(
            f"Rows are not in increasing '{order}' within student and skill: student "
            f"{df[student].iloc[first]!r} on skill {df[skill].iloc[first]!r} has {order}={o.iloc[first]!r} "
            f"at row {first} after an equal or later value ({int(bad.sum())} such row(s)). "
            f"Sort first: df.sort_values(['{student}', '{order}']), and remove duplicated opportunities."
        )


def validate(df, skill: str, student: str, correct: str, order: str | None) -> np.ndarray:
    """Run every input check; return the 0/1 responses."""
    require_frame(df)
    for name, value in (("skill", skill), ("student", student), ("correct", correct)):
        if not isinstance(value, str):
            raise InputError(f"`{name}` must be a column name, got {value!r}.")
    cols = [skill, student, correct] + ([order] if order is not None else [])
    require_columns(df, cols, what="response table")
    unique_columns(df, cols, what="response table")
    require_no_missing(
        df, cols, hint="Knowledge tracing needs every response's skill, student, correctness and order; "
        "drop incomplete rows first (df.dropna(subset=[...]))."
    )
    y = correct_values(df, correct)
    if order is not None:
        check_order(df, student, order, skill)
    return y


def pack(df: pd.DataFrame, skill: str, student: str, y: np.ndarray, skills: pd.Index | None = None) -> Packed:
    """Group responses into per-(skill, student) sequences, keeping row order inside each."""
    if skills is None:
        skill_codes, skill_index = pd.factorize(df[skill], sort=True)
    else:
        skill_index = skills
        skill_codes = skills.get_indexer(df[skill])
    student_codes, student_index = pd.factorize(df[student])
    rows = np.lexsort((np.arange(len(df)), student_codes, skill_codes))
    sk = skill_codes[rows]
    st = student_codes[rows]
    new_seq = np.ones(len(rows), dtype=bool)
    new_seq[1:] = (sk[1:] != sk[:-1]) | (st[1:] != st[:-1])
    starts = np.flatnonzero(new_seq)
    seq_start = np.append(starts, len(rows)).astype(np.int64)
    seq_skill = sk[starts].astype(np.int64)
    skill_q = np.searchsorted(seq_skill, np.arange(len(skill_index) + 1), side="left").astype(np.int64)
    return Packed(
        obs=np.ascontiguousarray(y[rows], dtype=np.int8),
        rows=rows,
        seq_start=seq_start,
        seq_skill=seq_skill,
        skill_q=skill_q,
        skills=pd.Index(skill_index, name=skill),
        students=np.asarray(student_index)[st[starts]],
    )
