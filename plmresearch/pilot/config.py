"""The pilot configuration: a YAML file describing a district's pilot and how to analyse it.

``init_template()`` gives the commented template written by ``plm pilot init``;
``load_config(path)`` reads and validates a filled-in copy, raising
:class:`~plmresearch.errors.SpecError` that names the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from plmresearch.errors import SpecError
from plmresearch.validation import check_path

__all__ = ["DESIGNS", "PilotConfig", "init_template", "load_config", "write_template"]

DESIGNS = ("individual_rct", "cluster_rct", "multisite", "comparison_schools")
UNITS = ("student", "class", "school")
# Which units each design may assign to treatment; the first is the default.
_DESIGN_UNITS = {
    "individual_rct": ("student",),
    "cluster_rct": ("school", "class"),
    "multisite": ("student", "class"),
    "comparison_schools": ("school",),
}
BOUNDARIES = ("cautious", "optimistic")

_TEMPLATE = """\
# plm pilot configuration
# -----------------------
# Describes a district pilot so that `plm pilot report CONFIG` can analyse it.
# Paths are relative to the folder of this file. Lines starting with # are comments.
# Keys marked (required) must be filled in; the others have the defaults shown.

data:
  file: pilot_data.csv        # (required) the student file: .csv, .xlsx or .parquet
  sheet: null                 # Excel only: sheet name or 0-based number (null = first sheet)

columns:                      # column names as they appear in the file's header
  student_id: student_id      # (required) one row per student; pseudonymized before analysis
  school: school              # (required) school of each student
  class: class                # class/section/teacher of each student (null if unknown)
  treatment: treatment        # (required) who received the program (see treatment_values)
  outcomes: [posttest]        # (required) one or more outcome scores; the first is the primary one
  pretests: [pretest]         # baseline scores on the same or a related test ([] if none)
  covariates: []              # other 0/1 or numeric baseline characteristics the impact model adjusts for
                              # (e.g. [frl, ell]); WWC: a baseline difference of 0.05-0.25 SD is acceptable
                              # only if the model adjusts for that characteristic
  subgroups: [frl, ell, sped, race_ethnicity, gender]   # equity view; [] for none

treatment_values:             # how the treatment column is coded
  treated: 1                  # value meaning "in the program" (e.g. 1, Y, yes, treatment)
  control: 0                  # value meaning "comparison"     (e.g. 0, N, no, control)

design:
  type: cluster_rct           # (required) one of:
                              #   individual_rct     - students randomly assigned, district-wide
                              #   cluster_rct        - whole classes or schools randomly assigned
                              #   multisite          - students (or classes) randomly assigned within each school
                              #   comparison_schools - program schools chosen, not random, compared with others
  assigned_unit: school       # what was assigned: student | class | school
  blocked_by_school: false    # true if assignment was done separately within each school
  drop_single_arm_blocks: false  # multisite: true drops schools where every student is in one arm (they
                              # hold no within-school comparison); the data checks count them

attrition:                    # who left the study: students with a missing primary outcome
  boundary: cautious          # WWC attrition boundary: cautious | optimistic. The WWC's rule: use cautious
                              # when the program itself may affect who leaves (e.g. students can opt out of
                              # it, or it changes attendance); optimistic when leaving is unlikely to depend
                              # on the program (e.g. moving away). The review protocol of the topic decides;
                              # if unsure, keep cautious. The report also shows the rating under the other.
  boundary_table: null        # null: the WWC boundary table shipped with plmresearch (Handbook v4.1 Table II.1,
                              # a third-party transcription; the report names its source and status). Or a CSV
                              # of your own (columns overall, cautious, optimistic, in percentage points),
                              # transcribed from the handbook you apply; it overrides the shipped one.
  left_study_column: null     # optional column marking students who left (else: missing outcome); accepted
                              # values: 1/0, true/false, yes/no, y/n, left/stayed (any case); anything
                              # else is refused
  left_study_blank: null      # what a blank cell in left_study_column means: stayed | left (null: refuse blanks)

privacy:
  drop_columns: [student_name]  # direct identifiers to remove before anything else (names, e-mail, birth dates...)
  keep_columns: []              # identifier-like columns you decide to keep (they are never shown)
  suppression_threshold: 10     # counts below this are masked in every table and figure

analysis:
  effect_threshold: 0.1       # report P(effect > this), in standard-deviation units
  ci_level: 0.95              # confidence/credible level
  random_seed: 20240901       # makes the Bayesian estimate reproducible

output:
  folder: pilot_report        # a NEW folder for the HTML report and CSV tables (must not exist)
"""

# key -> (type(s), required, default); nested sections are dicts.
_SCHEMA: dict[str, dict[str, tuple[Any, bool, Any]]] = {
    "data": {"file": (str, True, None), "sheet": ((str, int, type(None)), False, None)},
    "columns": {
        "student_id": (str, True, None),
        "school": (str, True, None),
        "class": ((str, type(None)), False, None),
        "treatment": (str, True, None),
        "outcomes": ("strlist", True, None),
        "pretests": ("strlist", False, ()),
        "covariates": ("strlist", False, ()),
        "subgroups": ("strlist", False, ()),
    },
    "treatment_values": {
        "treated": ((str, int, float, bool), False, 1),
        "control": ((str, int, float, bool), False, 0),
    },
    "design": {
        "type": (str, True, None),
        "assigned_unit": ((str, type(None)), False, None),
        "blocked_by_school": (bool, False, None),
        "drop_single_arm_blocks": (bool, False, False),
    },
    "attrition": {
        "boundary": (str, False, "cautious"),
        "left_study_column": ((str, type(None)), False, None),
        "boundary_table": ((str, type(None)), False, None),
        "left_study_blank": ((str, type(None)), False, None),
    },
    "privacy": {
        "drop_columns": ("strlist", False, ()),
        "keep_columns": ("strlist", False, ()),
        "suppression_threshold": (int, False, 10),
    },
    "analysis": {
        "effect_threshold": ((int, float), False, 0.1),
        "ci_level": (float, False, 0.95),
        "random_seed": ((int, type(None)), False, None),
    },
    "output": {"folder": (str, False, "pilot_report")},
}
_REQUIRED_SECTIONS = ("data", "columns", "design")


@dataclass(frozen=True)
class PilotConfig:
    """A validated pilot configuration (paths resolved against the config file's folder)."""

    data_file: Path
    student_id: str
    school: str
    treatment: str
    outcomes: tuple[str, ...]
    design: str
    assigned_unit: str
    blocked_by_school: bool
    class_column: str | None = None
    pretests: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    subgroups: tuple[str, ...] = ()
    sheet: str | int | None = None
    treated_value: Any = 1
    control_value: Any = 0
    attrition_boundary: str = "cautious"
    attrition_boundary_table: Path | None = None
    left_study_column: str | None = None
    left_study_blank: str | None = None
    drop_single_arm_blocks: bool = False
    drop_columns: tuple[str, ...] = ()
    keep_columns: tuple[str, ...] = ()
    suppression_threshold: int = 10
    effect_threshold: float = 0.1
    effect_threshold_set: bool = False  # True when the config states analysis.effect_threshold itself
    ci_level: float = 0.95
    random_seed: int | None = None
    output_folder: Path = Path("pilot_report")
    source: str | None = field(default=None, compare=False)

    @property
    def primary_outcome(self) -> str:
        return self.outcomes[0]

    @property
    def model_covariates(self) -> tuple[str, ...]:
        """What the impact model adjusts for: the pretests, then the other covariates."""
        return tuple(self.pretests) + tuple(self.covariates)

    @property
    def needs_within_school_comparison(self) -> bool:
        """True when treated and control students must be compared inside each school."""
        return self.design == "multisite" or (self.blocked_by_school and self.assigned_unit != "school")

    @property
    def analysis_columns(self) -> tuple[str, ...]:
        """Every data column the analysis reads, in role order, without repeats."""
        cols = [self.student_id, self.school, self.class_column, self.treatment, *self.outcomes,
                *self.pretests, *self.covariates, *self.subgroups, self.left_study_column]
        return tuple(dict.fromkeys(c for c in cols if c is not None))

    def with_overrides(self, **changes: Any) -> PilotConfig:
        """A copy with some fields changed (e.g. ``output_folder`` for a demo run)."""
        return replace(self, **changes)

    @classmethod
    def from_mapping(cls, mapping: Any, *, source: str | os.PathLike | None = None,
                     base_dir: str | os.PathLike | None = None) -> PilotConfig:
        """Validate a parsed YAML mapping (see :func:`load_config`)."""
        return _validate(mapping, str(source) if source is not None else "<config>",
                         Path(base_dir) if base_dir is not None else Path.cwd())


def _fail(where: str, key: str, problem: str, fix: str) -> SpecError:
    return SpecError(f"{where}: key '{key}': {problem} Fix: {fix}")


def _hint(name: str, choices: Any) -> str:
    m = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return f"Did you mean '{m[0]}'? " if m else ""


def _type_name(t: Any) -> str:
    if t == "strlist":
        return "a column name or a list of column names"
    ts = t if isinstance(t, tuple) else (t,)
    names = {str: "text", int: "a whole number", float: "a number", bool: "true/false", type(None): "null"}
    return " or ".join(dict.fromkeys(names.get(x, x.__name__) for x in ts))


def _check_value(where: str, key: str, value: Any, expected: Any) -> Any:
    if expected == "strlist":
        items = [value] if isinstance(value, str) else value
        if value is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
            raise _fail(where, key, f"expected {_type_name(expected)}, got {value!r}.",
                        f"write e.g. `[col_a, col_b]` (column names from your file's header).")
        if len(set(items)) < len(items):
            raise _fail(where, key, f"a column is listed twice in {items}.", "list each column once.")
        return tuple(items)
    ts = expected if isinstance(expected, tuple) else (expected,)
    ok = isinstance(value, ts) and not (isinstance(value, bool) and bool not in ts)
    if float in ts and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise _fail(where, key, f"expected {_type_name(expected)}, got {value!r} ({type(value).__name__}).",
                    f"give {_type_name(expected)}.")
    if isinstance(value, str) and not value.strip():
        raise _fail(where, key, "is empty.", "give a value or remove the key to use the default.")
    return value


def _validate(raw: Any, where: str, base_dir: Path) -> PilotConfig:
    if raw is None:
        raise SpecError(f"{where}: the config is empty. Fix: start from the template (`plm pilot init`).")
    if not isinstance(raw, Mapping):
        raise SpecError(f"{where}: the config must be a mapping of sections (data:, columns:, design:, ...), "
                        f"got {type(raw).__name__}. Fix: start from the template (`plm pilot init`).")
    for key in raw:
        if key not in _SCHEMA:
            raise _fail(where, str(key), "unknown section.",
                        f"{_hint(key, _SCHEMA)}Allowed sections: {', '.join(_SCHEMA)}.")
    for sec in _REQUIRED_SECTIONS:
        if sec not in raw or raw[sec] is None:
            raise _fail(where, sec, "required section is missing.",
                        f"add a `{sec}:` section (see the template from `plm pilot init`).")
    values: dict[str, Any] = {}
    for sec, keys in _SCHEMA.items():
        body = raw.get(sec) or {}
        if not isinstance(body, Mapping):
            raise _fail(where, sec, f"expected a section of keys, got {body!r}.",
                        f"indent the keys of `{sec}:` under it ({', '.join(keys)}).")
        for key in body:
            if key not in keys:
                raise _fail(where, f"{sec}.{key}", "unknown key.",
                            f"{_hint(key, keys)}Allowed keys in `{sec}`: {', '.join(keys)}.")
        for key, (expected, required, default) in keys.items():
            path = f"{sec}.{key}"
            if key not in body or (body[key] is None and required):
                if required:
                    raise _fail(where, path, "required key is missing.", f"add `{key}:` under `{sec}:`.")
                values[path] = default
                continue
            values[path] = _check_value(where, path, body[key], expected)

    design = values["design.type"]
    if design not in DESIGNS:
        raise _fail(where, "design.type", f"unknown design {design!r}.",
                    f"{_hint(design, DESIGNS)}Use one of: {', '.join(DESIGNS)}.")
    unit = values["design.assigned_unit"] or _DESIGN_UNITS[design][0]
    if unit not in _DESIGN_UNITS[design]:
        raise _fail(where, "design.assigned_unit", f"{unit!r} does not fit design '{design}'.",
                    f"use {' or '.join(_DESIGN_UNITS[design])} (or change design.type).")
    blocked = values["design.blocked_by_school"]
    if blocked is None:
        blocked = design == "multisite"
    if design == "multisite" and not blocked:
        raise _fail(where, "design.blocked_by_school", "a multisite design assigns within each school.",
                    "set it to true, or use design.type: individual_rct.")
    if blocked and unit == "school":
        raise _fail(where, "design.blocked_by_school", "schools cannot be assigned within schools.",
                    "set it to false, or set design.assigned_unit: class.")
    class_col = values["columns.class"]
    if unit == "class" and class_col is None:
        raise _fail(where, "columns.class", "classes were assigned, but no class column is named.",
                    "name the class/section column of your file.")
    if not values["columns.outcomes"]:
        raise _fail(where, "columns.outcomes", "is empty: the report needs at least one outcome.",
                    "name the outcome column(s), e.g. `outcomes: [spring_score]` (the first is the primary one).")
    pretests = values["columns.pretests"]
    if design == "comparison_schools" and not pretests:
        raise _fail(where, "columns.pretests",
                    "a non-random comparison needs a baseline score to check and adjust group differences.",
                    "name the pretest column(s), e.g. `pretests: [fall_score]`.")

    roles = {"columns.student_id": values["columns.student_id"], "columns.school": values["columns.school"],
             "columns.class": class_col, "columns.treatment": values["columns.treatment"],
             "attrition.left_study_column": values["attrition.left_study_column"]}
    seen: dict[str, str] = {}
    for role, col in [*roles.items(), *((f"columns.outcomes", c) for c in values["columns.outcomes"]),
                      *((f"columns.pretests", c) for c in pretests),
                      *((f"columns.covariates", c) for c in values["columns.covariates"])]:
        if col is None:
            continue
        if col in seen:
            raise _fail(where, role, f"column '{col}' is already used as {seen[col]}.",
                        "give each role its own column.")
        seen[col] = role
    for col in values["columns.subgroups"]:
        if col in seen and seen[col] in ("columns.student_id", "columns.treatment", "columns.outcomes"):
            raise _fail(where, "columns.subgroups", f"'{col}' is the {seen[col]} column, not a subgroup.",
                        "list only descriptive columns (e.g. frl, ell, sped).")

    drop, keep = values["privacy.drop_columns"], values["privacy.keep_columns"]
    both = sorted(set(drop) & set(keep))
    if both:
        raise _fail(where, "privacy.keep_columns", f"{both} are listed in both drop_columns and keep_columns.",
                    "decide: list each column in one of them only.")
    used = set(seen) | set(values["columns.subgroups"])
    dropped_used = sorted(set(drop) & used)
    if dropped_used:
        raise _fail(where, "privacy.drop_columns", f"{dropped_used} are needed by the analysis (columns:).",
                    "remove them from drop_columns or from the columns section.")
    if values["treatment_values.treated"] == values["treatment_values.control"]:
        raise _fail(where, "treatment_values", "treated and control have the same value.",
                    "give the two different codes used in the treatment column.")
    if values["attrition.boundary"] not in BOUNDARIES:
        raise _fail(where, "attrition.boundary", f"unknown boundary {values['attrition.boundary']!r}.",
                    "use cautious (the program may affect who stays) or optimistic.")
    if values["attrition.left_study_blank"] not in (None, "stayed", "left"):
        raise _fail(where, "attrition.left_study_blank", f"unknown value {values['attrition.left_study_blank']!r}.",
                    "use stayed, left, or null (blank cells are then refused).")
    if values["design.drop_single_arm_blocks"] and not (design == "multisite" or blocked):
        raise _fail(where, "design.drop_single_arm_blocks", "only applies when assignment was within schools.",
                    "remove it, or set design.type: multisite.")
    threshold = values["privacy.suppression_threshold"]
    if threshold < 1:
        raise _fail(where, "privacy.suppression_threshold", f"must be a positive whole number, got {threshold}.",
                    "use 10 (the usual minimum cell size) or more.")
    effect = float(values["analysis.effect_threshold"])
    if not math.isfinite(effect):
        raise _fail(where, "analysis.effect_threshold", f"must be a finite number, got {effect}.",
                    "give an effect size in SD units, e.g. 0.1.")
    level = float(values["analysis.ci_level"])
    if not 0.5 <= level < 1:
        raise _fail(where, "analysis.ci_level", f"must lie in [0.5, 1), got {level}.", "use e.g. 0.95.")
    sheet = values["data.sheet"]
    data_file = Path(values["data.file"]).expanduser()
    if data_file.suffix.lower() not in (".xlsx", ".xlsm") and sheet is not None:
        raise _fail(where, "data.sheet", "a sheet is only meaningful for an Excel (.xlsx) file.",
                    "remove `sheet:` or point data.file at the .xlsx file.")
    out = Path(values["output.folder"]).expanduser()
    return PilotConfig(
        data_file=data_file if data_file.is_absolute() else base_dir / data_file,
        student_id=values["columns.student_id"],
        school=values["columns.school"],
        treatment=values["columns.treatment"],
        outcomes=values["columns.outcomes"],
        design=design,
        assigned_unit=unit,
        blocked_by_school=bool(blocked),
        class_column=class_col,
        pretests=pretests,
        covariates=values["columns.covariates"],
        subgroups=values["columns.subgroups"],
        sheet=sheet,
        treated_value=values["treatment_values.treated"],
        control_value=values["treatment_values.control"],
        attrition_boundary=values["attrition.boundary"],
        attrition_boundary_table=(None if values["attrition.boundary_table"] is None else
                                  Path(values["attrition.boundary_table"]) if Path(values["attrition.boundary_table"]).is_absolute()
                                  else base_dir / values["attrition.boundary_table"]),
        left_study_column=values["attrition.left_study_column"],
        left_study_blank=values["attrition.left_study_blank"],
        drop_single_arm_blocks=bool(values["design.drop_single_arm_blocks"]),
        drop_columns=drop,
        keep_columns=keep,
        suppression_threshold=int(threshold),
        effect_threshold=effect,
        effect_threshold_set="effect_threshold" in (raw.get("analysis") or {}),
        ci_level=level,
        random_seed=values["analysis.random_seed"],
        output_folder=out if out.is_absolute() else base_dir / out,
        source=where,
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key repeated in one mapping (YAML says keys are unique; PyYAML
    would silently keep the last one, so a config could say two things and mean the second)."""


def _construct_unique(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key '{key}' appears twice (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique)


def load_config(path: str | os.PathLike) -> PilotConfig:
    """Read and validate a pilot config (YAML).

    Relative paths in it (data file, output folder) are resolved against the config's
    folder. Every problem raises :class:`SpecError` naming the file, the key and the fix;
    the data file itself is checked when it is read (:func:`plmresearch.data.files.read_table`).
    """
    p = Path(check_path(path))
    if p.is_dir():
        raise SpecError(f"{p}: is a folder, not a config file. Fix: give the path of the YAML file inside it "
                        f"(e.g. {p / 'pilot.yaml'}), or create one with `plm pilot init`.")
    if not p.is_file():
        raise SpecError(f"{p}: config file not found. Fix: check the path, or create one with `plm pilot init`.")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{p}: cannot read the config ({exc}). Fix: save it as UTF-8 text.") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{p}: not valid YAML{at}: {problem}. Fix: check the indentation and colons there "
                        "(compare with the template from `plm pilot init`).") from None
    return _validate(raw, str(p), p.resolve().parent)


def init_template() -> str:
    """The commented YAML template written by ``plm pilot init``."""
    return _TEMPLATE


def write_template(path: str | os.PathLike) -> Path:
    """Write :func:`init_template` to a new file ``path``; an existing file is never overwritten."""
    p = Path(check_path(path))
    if p.exists():
        raise SpecError(f"{p}: already exists; it was left untouched. Fix: choose another file name, "
                        "or delete/rename the existing file yourself.")
    if not p.parent.is_dir():
        raise SpecError(f"{p}: folder {p.parent} does not exist. Fix: create it first or choose another path.")
    try:
        with open(p, "x", encoding="utf-8") as f:  # 'x' fails rather than overwrite, even in a race
            f.write(_TEMPLATE)
    except FileExistsError:
        raise SpecError(f"{p}: already exists; it was left untouched. Fix: choose another file name.") from None
    return p
