"""The pilot's intake: its config's identifier policy, then its data checks.

:func:`enforce_identifier_policy`/:func:`protect_identifiers` refuse direct identifiers the
config does not decide, drop the ones it drops and pseudonymize the student ID (the
generic tools are in :mod:`plmresearch.data.privacy`). :func:`check_pilot_data`/
:func:`prepare_pilot_data` apply the config's roles and report, as counts only, what was
read and what was set aside and why. Files are read by :func:`plmresearch.data.files.read_table`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.data.privacy import detect_identifier_columns, pseudonymize, suppress_small_cells
from plmresearch.errors import ColumnError, InputError, PrivacyError
from plmresearch.pilot.config import PilotConfig
from plmresearch.validation import closest

__all__ = ["DataChecks", "check_pilot_data", "enforce_identifier_policy", "prepare_pilot_data", "protect_identifiers"]


def _cfg(config: PilotConfig | Mapping[str, Any]) -> PilotConfig:
    if isinstance(config, Mapping):
        return PilotConfig.from_mapping(config)
    if not isinstance(config, PilotConfig):
        raise InputError(f"`config` must be a PilotConfig (plmresearch.pilot.load_config) or a mapping in its YAML "
                         f"layout, got {type(config).__name__}.")
    return config


# --------------------------------------------------------------------------- identifier policy


def _where(cfg: PilotConfig) -> str:
    return f"the config {cfg.source or ''}".rstrip()


def enforce_identifier_policy(df: pd.DataFrame, config: PilotConfig | Mapping[str, Any]) -> pd.DataFrame:
    """Refuse data with direct identifiers unless the config drops or keeps each one.

    Parameters
    ----------
    df
        Data as read from the district's file (not modified).
    config
        A :class:`~plmresearch.pilot.config.PilotConfig` (or a mapping in its YAML layout):
        ``privacy: {drop_columns: [...], keep_columns: [...]}``. The student-ID column is
        exempt: it is pseudonymized before analysis (:func:`protect_identifiers`).

    Returns
    -------
    A copy of ``df`` without the columns listed in ``drop_columns``.

    Raises
    ------
    PrivacyError
        listing every flagged column (:func:`~plmresearch.data.privacy.detect_identifier_columns`)
        that the config neither drops nor keeps.
    ColumnError
        when ``drop_columns`` or ``keep_columns`` names a column that is not in the data
        (a typo there could let an identifier through).
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"`df` must be a pandas DataFrame, got {type(df).__name__}.")
    cfg = _cfg(config)
    drop, keep, sid, where = list(cfg.drop_columns), list(cfg.keep_columns), cfg.student_id, _where(cfg)
    for listname, cols in (("drop_columns", drop), ("keep_columns", keep)):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ColumnError(
                f"privacy.{listname} in {where} names column(s) {missing} that are not in the data."
                f"{closest(missing[0], map(str, df.columns))} Correct the name(s) so the policy applies."
            )
    # A missing student-ID column is reported by protect_identifiers/prepare_pilot_data.
    refused = detect_identifier_columns(df, drop=drop, keep=keep, id_column=sid if sid in df.columns else None)
    if len(refused):
        listing = ", ".join(f"'{r.column}' ({r.identifier_type}, by {r.detected_by})" for r in refused.itertuples())
        raise PrivacyError(
            f"The data holds column(s) that look like direct identifiers: {listing}. "
            f"List each under privacy: drop_columns (recommended) or keep_columns in {where}; "
            "nothing is analysed until every one is decided."
        )
    return df.drop(columns=drop).copy()


def protect_identifiers(df: pd.DataFrame, config: PilotConfig | Mapping[str, Any],
                        key: bytes | str | None = None) -> pd.DataFrame:
    """:func:`enforce_identifier_policy`, then replace the student-ID column by pseudonyms.

    ``key=None`` uses a random key for this run (never written anywhere); see
    :func:`~plmresearch.data.privacy.pseudonymize`.
    """
    cfg = _cfg(config)
    out = enforce_identifier_policy(df, cfg)
    sid = cfg.student_id
    if sid not in out.columns:
        raise ColumnError(f"Student-ID column '{sid}' not found in the data.{closest(sid, map(str, out.columns))}")
    out[sid] = pseudonymize(out[sid], key)
    return out


# --------------------------------------------------------------------------- data checks

@dataclass
class DataChecks:
    """The "data checks" section: what was read and what was set aside, as counts only.

    ``steps`` has one row per check: ``check``, ``action`` ('dropped', 'attrition' or
    'kept'), ``n_rows``, ``n_treated``, ``n_control`` (arms are NaN when unknown).
    """

    rows_read: int
    n_columns: int
    steps: pd.DataFrame
    n_randomized_treated: int
    n_randomized_control: int
    n_analyzed_treated: int
    n_analyzed_control: int
    n_schools: int
    n_classes: int | None

    @property
    def n_randomized(self) -> int:
        return self.n_randomized_treated + self.n_randomized_control

    @property
    def n_analyzed(self) -> int:
        return self.n_analyzed_treated + self.n_analyzed_control

    def attrition_rates(self) -> dict[str, float]:
        """Overall and differential attrition (share of the assigned sample without outcome)."""
        a_t = 1 - self.n_analyzed_treated / self.n_randomized_treated
        a_c = 1 - self.n_analyzed_control / self.n_randomized_control
        overall = 1 - self.n_analyzed / self.n_randomized
        return {"overall": overall, "treated": a_t, "control": a_c, "differential": abs(a_t - a_c)}

    def to_frame(self, threshold: int | None = None) -> pd.DataFrame:
        """Summary table; with ``threshold``, counts below it are masked (data.privacy.suppress_small_cells)."""
        head = pd.DataFrame(
            [
                {"check": "rows read", "action": "read", "n_rows": self.rows_read,
                 "n_treated": np.nan, "n_control": np.nan},
                *self.steps.to_dict("records"),
                {"check": "assigned sample (treatment known)", "action": "kept", "n_rows": self.n_randomized,
                 "n_treated": self.n_randomized_treated, "n_control": self.n_randomized_control},
                {"check": "analytic sample (primary outcome present)", "action": "kept", "n_rows": self.n_analyzed,
                 "n_treated": self.n_analyzed_treated, "n_control": self.n_analyzed_control},
            ]
        )
        if threshold is None:
            return head
        # Relations for complementary suppression: the dropped rows and the assigned sample add
        # up to the rows read; attrition and the analytic sample add up to the assigned sample.
        action = head["action"].tolist()
        relation = [
            "read" if a == "dropped" or c.startswith("assigned") else
            "assigned" if a == "attrition" or c.startswith("analytic") else f"single-{i}"
            for i, (a, c) in enumerate(zip(action, head["check"]))
        ]
        head["_relation"] = relation
        out = suppress_small_cells(head, ["n_treated", "n_control"], threshold, total_column="n_rows",
                                   groups="_relation")
        return out.drop(columns="_relation")


def _matches(values: pd.Series, code: Any) -> pd.Series:
    """Which values equal a config code, comparing text case- and space-insensitively."""
    if isinstance(code, bool):
        words = {True: {"true", "yes", "y", "1"}, False: {"false", "no", "n", "0"}}[code]
        return values.map(lambda v: v is code or v == int(code) or str(v).strip().lower() in words)
    if isinstance(code, (int, float)):
        num = pd.to_numeric(values, errors="coerce")
        return num == code
    return values.astype(str).str.strip().str.casefold() == str(code).strip().casefold()


def _describe_values(s: pd.Series, limit: int = 8) -> str:
    counts = s.astype(object).where(s.notna(), "").map(lambda v: "" if str(v).strip() == "" else v).value_counts()
    if len(counts) > 2 * limit:
        # Many distinct values: probably the wrong column (names, IDs); do not echo them.
        return f"{len(counts)} distinct values (this does not look like a treatment indicator)"
    parts = [("blank" if v == "" else repr(v)) + f" ({n} rows)" for v, n in counts.head(limit).items()]
    return ", ".join(parts) + (" ..." if len(counts) > limit else "")


def _treatment(df: pd.DataFrame, cfg: PilotConfig) -> pd.Series:
    """0/1 (float, NaN where missing); raises for codes the config does not explain."""
    col = cfg.treatment
    s = df[col]
    treated, control = _matches(s, cfg.treated_value), _matches(s, cfg.control_value)
    blank = s.isna() | (s.astype(str).str.strip() == "")
    other = ~(treated | control | blank)
    if other.any():
        found = _describe_values(s)
        text_codes = not pd.api.types.is_numeric_dtype(s)
        fix = (
            f"recode the column to {cfg.treated_value!r} (program) / {cfg.control_value!r} (comparison), or set "
            "`treatment_values: {treated: ..., control: ...}` in the config to the codes your file uses"
            + (" (e.g. treated: Y, control: N)" if text_codes else "")
        )
        if blank.any():
            fix += f"; the {int(blank.sum())} blank row(s) need an arm or must be removed from the file"
        raise InputError(
            f"Treatment column '{col}' holds values the config does not explain: {found}. "
            f"Expected {cfg.treated_value!r} for treated and {cfg.control_value!r} for control. Fix: {fix}."
        )
    out = pd.Series(np.nan, index=df.index)
    out[treated] = 1.0
    out[control] = 0.0
    return out


_LEFT = {"1": True, "0": False, "true": True, "false": False, "yes": True, "no": False, "y": True, "n": False,
         "left": True, "stayed": False, "1.0": True, "0.0": False}


def _left_study(s: pd.Series, cfg: PilotConfig) -> pd.Series:
    """The left-study column as booleans, from an explicit list of codes only (blank per the config)."""
    text = s.astype(object).map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                                else str(v).strip().casefold())
    blank = text == ""
    known = text.isin(_LEFT)
    bad = ~known & ~blank
    problems = []
    if bad.any():
        problems.append(f"values the config does not explain: {_describe_values(s[bad])}")
    if blank.any() and cfg.left_study_blank is None:
        problems.append(f"{int(blank.sum())} blank cell(s), and attrition.left_study_blank does not say what "
                        "blank means")
    if problems:
        raise InputError(
            f"Left-study column '{cfg.left_study_column}' has {'; '.join(problems)}. Accepted codes: 1/0, "
            "true/false, yes/no, y/n, left/stayed (any case). Fix: recode the column, or set "
            "attrition.left_study_blank: stayed (or left) if blank cells have one meaning."
        )
    out = text.map(_LEFT).astype(object)
    out[blank] = cfg.left_study_blank == "left"
    return out.astype(bool)


def _numeric_scores(df: pd.DataFrame, col: str, role: str) -> pd.Series:
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        raise InputError(f"{role.capitalize()} column '{col}' holds true/false values, not scores. "
                         "Fix: name the score column in the config.")
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    stripped = s.astype(str).str.strip().where(s.notna())
    num = pd.to_numeric(stripped.where(stripped != ""), errors="coerce")
    bad = num.isna() & stripped.notna() & (stripped != "")
    if bad.any():
        examples = [v if len(v) <= 20 else v[:17] + "..." for v in sorted(map(str, pd.unique(stripped[bad])))[:3]]
        raise InputError(
            f"{role.capitalize()} column '{col}' holds text in {int(bad.sum())} row(s), e.g. {examples}; "
            "scores must be numbers. Fix: replace codes such as 'absent' by a blank cell (a missing score), "
            "and remove units or symbols, then run again."
        )
    return num.astype(float)


def prepare_pilot_data(df: pd.DataFrame,
                       config: PilotConfig | Mapping[str, Any]) -> tuple[pd.DataFrame, DataChecks]:
    """Apply a pilot config to the district's data: check roles, code treatment, count drops.

    Parameters
    ----------
    df
        The data as read (:func:`~plmresearch.data.files.read_table`), ideally after
        :func:`protect_identifiers`. Not modified.
    config
        A :class:`~plmresearch.pilot.config.PilotConfig` (or a mapping in its YAML layout).

    Returns
    -------
    (frame, checks)
        ``frame``: the assigned sample (rows with a known arm and school), with the
        treatment column recoded to 0/1 and score columns numeric; students without the
        primary outcome (attrition) are kept, so attrition can be computed, and an
        ``in_analytic_sample`` column (bool) marks the analytic sample. ``checks``: counts only.

    Raises
    ------
    ColumnError
        a configured column is missing (named, with the closest match and the config key).
    InputError
        a treatment coding the config does not explain (e.g. "Y"/"N"/"" mixed), duplicate
        student IDs, text in an outcome or pretest, treatment and control both absent,
        treatment varying inside an assigned cluster, or a school with only treated (or only
        control) students in a design that compares students within schools.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"`df` must be a pandas DataFrame, got {type(df).__name__}.")
    if len(df) == 0:
        raise InputError("The data has no rows. Fix: check the data file.")
    cfg = _cfg(config)
    where = f" in {cfg.source}" if cfg.source else ""
    roles = {
        "columns.student_id": [cfg.student_id], "columns.school": [cfg.school],
        "columns.class": [cfg.class_column] if cfg.class_column else [], "columns.treatment": [cfg.treatment],
        "columns.outcomes": list(cfg.outcomes), "columns.pretests": list(cfg.pretests),
        "columns.covariates": list(cfg.covariates), "columns.subgroups": list(cfg.subgroups),
        "attrition.left_study_column": [cfg.left_study_column] if cfg.left_study_column else [],
    }
    for key, cols in roles.items():
        for c in cols:
            if c not in df.columns:
                raise ColumnError(
                    f"Column '{c}' (config key {key}{where}) is not in the data.{closest(c, df.columns)} "
                    f"Fix: correct the name in the config or the file header. Columns in the file: "
                    f"{list(map(str, df.columns))[:30]}."
                )

    ids = df[cfg.student_id]
    present = ids.notna() & (ids.astype(str).str.strip() != "")
    canon = ids[present].astype(str).str.strip()
    dup = canon.duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"Student-ID column '{cfg.student_id}' has {int(canon[dup].nunique())} ID(s) that appear more than once "
            f"({int(dup.sum())} rows). Fix: keep one row per student (e.g. the latest record) before running; "
            "repeated rows would count a student twice."
        )
    treat = _treatment(df, cfg)
    outcomes = {c: _numeric_scores(df, c, "outcome") for c in cfg.outcomes}
    pretests = {c: _numeric_scores(df, c, "pretest") for c in cfg.pretests}
    pretests |= {c: _numeric_scores(df, c, "covariate") for c in cfg.covariates if c not in pretests}

    steps: list[dict[str, Any]] = []

    def arms(mask: pd.Series) -> tuple[float, float]:
        t = treat[mask]
        return float((t == 1).sum()), float((t == 0).sum())

    def add(check: str, action: str, mask: pd.Series, by_arm: bool = True) -> None:
        n_t, n_c = arms(mask) if by_arm else (np.nan, np.nan)
        steps.append({"check": check, "action": action, "n_rows": int(mask.sum()), "n_treated": n_t, "n_control": n_c})

    keep = pd.Series(True, index=df.index)
    for mask, label in (
        (~present, "student ID missing"),
        (treat.isna(), "treatment missing"),
        (df[cfg.school].isna(), "school missing"),
    ):
        m = mask & keep
        if m.any() or label == "treatment missing":
            add(label, "dropped", m, by_arm=label != "treatment missing")
        keep &= ~mask
    if cfg.class_column:
        m = df[cfg.class_column].isna() & keep
        if m.any():
            add("class missing", "dropped", m)
            keep &= ~m
    frame = df.loc[keep].copy()
    frame[cfg.treatment] = treat[keep].astype(int)
    for c, s in {**outcomes, **pretests}.items():
        frame[c] = s[keep]
    if frame[cfg.treatment].nunique() < 2:
        arm = "control" if frame[cfg.treatment].iloc[0] == 1 else "treated"
        raise InputError(f"No {arm} students remain in '{cfg.treatment}'. Fix: check the treatment coding "
                         f"(treated = {cfg.treated_value!r}, control = {cfg.control_value!r}).")

    t = frame[cfg.treatment]
    cluster = {"school": cfg.school, "class": cfg.class_column}.get(cfg.assigned_unit)
    if cluster is not None and (cfg.design in ("cluster_rct", "comparison_schools")):
        mixed = frame.groupby(cluster)[cfg.treatment].nunique()
        mixed = mixed[mixed > 1]
        if len(mixed):
            raise InputError(
                f"Design '{cfg.design}' assigns whole {cfg.assigned_unit}s, but {len(mixed)} {cfg.assigned_unit}(s) "
                f"in column '{cluster}' have both treated and control students (e.g. {list(map(str, mixed.index[:3]))}). "
                "Fix: correct the treatment column, or set design.type to multisite (assignment within schools)."
            )
    if cluster is not None and cfg.design in ("cluster_rct", "comparison_schools"):
        per_arm = frame.groupby(cfg.treatment)[cluster].nunique()
        if per_arm.min() < 2:
            arm = "treated" if per_arm.idxmin() == 1 else "control"
            raise InputError(
                f"Design '{cfg.design}' has only {int(per_arm.min())} {arm} {cfg.assigned_unit} (column '{cluster}'): "
                f"with a single {cfg.assigned_unit} in an arm, the program cannot be told apart from that "
                f"{cfg.assigned_unit}'s own differences. Fix: include at least 2 {cfg.assigned_unit}s per arm "
                "(more is much better), or describe the comparison without an impact estimate."
            )
    if cfg.needs_within_school_comparison:
        share = frame.groupby(cfg.school)[cfg.treatment].mean()
        only_t, only_c = share[share == 1].index.tolist(), share[share == 0].index.tolist()
        if (only_t or only_c) and cfg.drop_single_arm_blocks:
            m = frame[cfg.school].isin(only_t + only_c)
            tm = frame[cfg.treatment]
            steps.append({"check": f"school with students in one arm only ({len(only_t) + len(only_c)} school(s); "
                                   "design.drop_single_arm_blocks: true)", "action": "dropped",
                          "n_rows": int(m.sum()), "n_treated": float((m & (tm == 1)).sum()),
                          "n_control": float((m & (tm == 0)).sum())})
            frame = frame.loc[~m].copy()
            if frame.empty or frame[cfg.treatment].nunique() < 2:
                raise InputError("After dropping the schools with a single arm, no within-school comparison is "
                                 "left. Fix: check the treatment column and design.type.")
        elif only_t or only_c:
            which = []
            if only_t:
                which.append(f"{len(only_t)} school(s) with only treated students: {list(map(str, only_t[:5]))}")
            if only_c:
                which.append(f"{len(only_c)} school(s) with only control students: {list(map(str, only_c[:5]))}")
            raise InputError(
                f"Design '{cfg.design}' compares treated and control students within each school, but there "
                f"are {'; '.join(which)}. Fix: set design.drop_single_arm_blocks: true to leave them out (they "
                "cannot contribute a within-school comparison; the data checks count them), remove them from "
                "the file, or, if whole schools were assigned, set design.type to cluster_rct (random) or "
                "comparison_schools (not random)."
            )

    t = frame[cfg.treatment]
    n_rand_t, n_rand_c = int((t == 1).sum()), int((t == 0).sum())
    primary = frame[cfg.primary_outcome]
    left = primary.isna()
    if cfg.left_study_column:
        left = left | _left_study(frame[cfg.left_study_column], cfg)
    mt, mc = int(((t == 1) & left).sum()), int(((t == 0) & left).sum())
    steps.append({"check": f"primary outcome '{cfg.primary_outcome}' missing (left the study)",
                  "action": "attrition", "n_rows": mt + mc, "n_treated": float(mt), "n_control": float(mc)})
    for c in cfg.outcomes[1:]:
        m = frame[c].isna() & ~left
        steps.append({"check": f"outcome '{c}' missing (analyses of '{c}' only)", "action": "kept",
                      "n_rows": int(m.sum()), "n_treated": float((m & (t == 1)).sum()),
                      "n_control": float((m & (t == 0)).sum())})
    for c in cfg.pretests:
        m = frame[c].isna() & ~left
        steps.append({"check": f"pretest '{c}' missing", "action": "kept", "n_rows": int(m.sum()),
                      "n_treated": float((m & (t == 1)).sum()), "n_control": float((m & (t == 0)).sum())})
    frame["in_analytic_sample"] = ~left
    checks = DataChecks(
        rows_read=len(df),
        n_columns=df.shape[1],
        steps=pd.DataFrame(steps, columns=["check", "action", "n_rows", "n_treated", "n_control"]),
        n_randomized_treated=n_rand_t,
        n_randomized_control=n_rand_c,
        n_analyzed_treated=n_rand_t - mt,
        n_analyzed_control=n_rand_c - mc,
        n_schools=int(frame[cfg.school].nunique()),
        n_classes=int(frame[cfg.class_column].nunique()) if cfg.class_column else None,
    )
    return frame, checks


def check_pilot_data(df: pd.DataFrame, config: PilotConfig | Mapping[str, Any]) -> DataChecks:
    """The data-checks section (counts only) of :func:`prepare_pilot_data`; raises on bad input."""
    return prepare_pilot_data(df, config)[1]
