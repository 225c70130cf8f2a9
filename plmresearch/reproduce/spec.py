"""Study specs: a published evaluation, its design, and the numbers we must reproduce.

A spec (``plmresearch/reproduce/studies/<name>.yaml``) names a dataset, the design (unit, level of
assignment, blocks, clusters), outcome, treatment and covariates, the analyses
to run (each an estimator of :mod:`plmresearch.reproduce.registry` with its
parameters) and the published ``targets``: each the quantity, the published
value, its source (publication, table, column; or the reference package, its
version and the call), how sure we are of it (VERIFIED, SECONDARY, UNVERIFIED, or
REFERENCE-RUN for a number computed by a reference package rather than printed in
a publication), and a tolerance with its reason.
``report`` entries are quantities we compute and show without scoring them: either
nothing comparable was published, or (with ``published`` and ``source``) a number
published under a different protocol, shown for context.

:func:`load_study` reads a spec and checks it against the dataset's columns and the
estimators' signatures before anything runs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from plmresearch.errors import PlmError, SpecError
from plmresearch.reproduce.run import run_study
from plmresearch.reproduce.scoreboard import Scoreboard
from plmresearch.validation import closest

if TYPE_CHECKING:
    from plmresearch.reproduce.scoreboard import StudyResult

STATUSES = ("VERIFIED", "SECONDARY", "UNVERIFIED", "REFERENCE-RUN")
STUDY_KEYS = {
    "name", "title", "question", "dataset", "design", "outcome", "treatment", "covariates",
    "analyses", "targets", "report", "notes", "citation",
}
DESIGN_KEYS = {"unit", "assignment", "blocks", "clusters", "description"}
ANALYSIS_KEYS = {"id", "estimator", "params", "label"}
TARGET_KEYS = {"quantity", "analysis", "value", "published", "source", "status", "tolerance", "tolerance_reason", "note",
               "known_miss"}
REPORT_KEYS = {"quantity", "analysis", "value", "note", "published", "source"}


def studies_dir() -> Path:
    """The folder of study specs: ``PLMRESEARCH_STUDIES_DIR`` when set, else the specs shipped
    inside the package (``plmresearch/reproduce/studies/*.yaml``, beside each study's module;
    package data of the wheel, so a checkout and an installed package read the same files)."""
    env = os.environ.get("PLMRESEARCH_STUDIES_DIR")
    return Path(env) if env else Path(__file__).resolve().parent / "studies"


@dataclass(frozen=True)
class Analysis:
    id: str
    estimator: str
    params: dict[str, Any]
    label: str = ""


@dataclass(frozen=True)
class Target:
    quantity: str
    analysis: str
    value: str
    published: float
    source: str
    status: str
    tolerance: float
    tolerance_reason: str
    note: str = ""
    #: Why this target is expected to miss (e.g. the public data differ from the paper's analysis file).
    #: A known miss is shown and does not fail the run; a known miss that starts to hit does, so the
    #: explanation cannot outlive its cause (like a strict ``xfail``).
    known_miss: str = ""


@dataclass(frozen=True)
class Reported:
    quantity: str
    analysis: str
    value: str
    note: str = ""
    published: float | None = None
    source: str = ""


@dataclass(frozen=True)
class Study:
    """One reproduction: dataset + design + analyses + published targets."""

    name: str
    title: str
    path: Path
    dataset: str
    design: dict[str, Any]
    outcome: str | list[str]
    treatment: str | None
    covariates: list[str]
    analyses: list[Analysis]
    targets: list[Target]
    report: list[Reported] = field(default_factory=list)
    question: str = ""
    citation: str = ""
    notes: str = ""

    def load_data(self) -> pd.DataFrame:
        from plmresearch.data import load_dataset

        return load_dataset(self.dataset)

    def run(self, fast: bool = False, data: pd.DataFrame | None = None) -> StudyResult:
        """Run every analysis and compare with the published targets (see :func:`~plmresearch.reproduce.run_study`)."""
        return run_study(self, fast=fast, data=data)


# --------------------------------------------------------------------------- parsing

def _fail(path: Path, key: str, problem: str, fix: str) -> SpecError:
    return SpecError(f"{path}: key '{key}': {problem}. Fix: {fix}")


def _check_keys(path: Path, where: str, raw: dict, allowed: set[str], required: set[str]) -> None:
    for k in raw:
        if k not in allowed:
            raise _fail(path, f"{where}{k}", "unknown key", f"remove it or use one of {sorted(allowed)}{closest(k, allowed)}")
    for k in sorted(required):
        if k not in raw or raw[k] in (None, ""):
            raise _fail(path, f"{where}{k}", "missing", f"add '{k}' to {where.rstrip('.') or 'the spec'}")


def load_study(name_or_path: str | Path) -> Study:
    """Read and validate a study spec by name (a spec in :func:`studies_dir`) or path.

    Every problem raises :class:`SpecError` naming the file, the key and the fix:
    unknown dataset, unknown column, unknown estimator, a target without source.
    """
    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path).strip():
        raise SpecError(f"`name_or_path` must be a study name (see list_studies()) or a path to a .yaml spec, "
                        f"got {type(name_or_path).__name__} {name_or_path!r}.")
    path = Path(name_or_path)
    if path.is_dir():
        raise SpecError(f"`name_or_path` {str(path)!r} is a folder; pass a study spec file (.yaml) or a study name.")
    if path.suffix not in (".yaml", ".yml"):
        path = studies_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in studies_dir().glob("*.yaml"))
        raise SpecError(f"No study spec '{name_or_path}' ({path}).{closest(str(name_or_path), known)} Known studies: {', '.join(known)}.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML ({err}).") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a study spec must be a YAML mapping of keys to values.")
    _check_keys(path, "", raw, STUDY_KEYS, {"name", "title", "dataset", "design", "outcome", "analyses", "targets"})
    return _validate(path, raw)


def _validate(path: Path, raw: dict) -> Study:
    from plmresearch.data import dataset_card, load_dataset
    from plmresearch.reproduce.registry import all_estimators

    registered = all_estimators()

    try:
        dataset_card(raw["dataset"])
    except PlmError as err:
        raise _fail(path, "dataset", str(err), "name one of the datasets of `plm datasets list`") from None
    columns = set(load_dataset(raw["dataset"]).columns)

    def check_column(key: str, col: Any) -> None:
        if col is not None and col not in columns:
            raise _fail(path, key, f"column '{col}' is not in dataset '{raw['dataset']}'{closest(str(col), columns)}",
                        f"use one of the codebook's columns (`plm datasets show {raw['dataset']}`)")

    design = raw["design"]
    if not isinstance(design, dict):
        raise _fail(path, "design", "must be a mapping", "give unit, assignment, blocks, clusters")
    _check_keys(path, "design.", design, DESIGN_KEYS, {"unit", "assignment"})
    for key in ("blocks", "clusters"):
        check_column(f"design.{key}", design.get(key))
    outcomes = raw["outcome"] if isinstance(raw["outcome"], list) else [raw["outcome"]]
    for o in outcomes:
        check_column("outcome", o)
    check_column("treatment", raw.get("treatment"))
    covariates = raw.get("covariates") or []
    for c in covariates:
        check_column("covariates", c)

    analyses = []
    for i, a in enumerate(raw["analyses"] or []):
        where = f"analyses[{i}]."
        _check_keys(path, where, a, ANALYSIS_KEYS, {"id", "estimator"})
        if a["estimator"] not in registered:
            raise _fail(path, f"{where}estimator", f"unknown estimator '{a['estimator']}'{closest(a['estimator'], registered)}",
                        f"use one of {sorted(registered)}")
        params = a.get("params") or {}
        if not isinstance(params, dict):
            raise _fail(path, f"{where}params", "must be a mapping of parameter names to values", "write params: {name: value, ...}")
        est = registered[a["estimator"]]
        for p in params:
            if p not in est.params:
                raise _fail(path, f"{where}params.{p}", f"estimator '{a['estimator']}' takes no parameter '{p}'{closest(p, est.params)}",
                            f"use one of {list(est.params)}")
        for p in est.required:
            if p not in params:
                raise _fail(path, f"{where}params.{p}", f"estimator '{a['estimator']}' needs parameter '{p}'",
                            f"add '{p}' under params")
        for p in est.column_params:
            vals = params.get(p)
            for v in vals if isinstance(vals, list) else [vals]:
                check_column(f"{where}params.{p}", v)
        analyses.append(Analysis(a["id"], a["estimator"], params, a.get("label", "")))
    ids = [a.id for a in analyses]
    if len(set(ids)) != len(ids):
        raise _fail(path, "analyses", f"duplicate analysis ids {sorted({i for i in ids if ids.count(i) > 1})}", "give each analysis its own id")

    def check_analysis(where: str, a_id: str, value: str) -> None:
        if a_id not in ids:
            raise _fail(path, f"{where}analysis", f"no analysis with id '{a_id}'{closest(a_id, ids)}", f"use one of {ids}")
        est = registered[next(a.estimator for a in analyses if a.id == a_id)]
        if est.values and value not in est.values:
            raise _fail(path, f"{where}value", f"estimator '{est.name}' produces no value '{value}'{closest(value, est.values)}",
                        f"use one of {sorted(est.values)}")

    targets = []
    for i, t in enumerate(raw["targets"] or []):
        where = f"targets[{i}]."
        _check_keys(path, where, t, TARGET_KEYS,
                    {"quantity", "analysis", "value", "published", "source", "status", "tolerance", "tolerance_reason"})
        if t["status"] not in STATUSES:
            raise _fail(path, f"{where}status", f"'{t['status']}' is not a status", f"use one of {list(STATUSES)}")
        known_miss = t.get("known_miss", "")
        if "known_miss" in t and (not isinstance(known_miss, str) or not known_miss.strip()):
            raise _fail(path, f"{where}known_miss", "must say why the target misses", "write the reason as text")
        for num in ("published", "tolerance"):
            if not isinstance(t[num], (int, float)) or isinstance(t[num], bool):
                raise _fail(path, f"{where}{num}", f"must be a number, got {t[num]!r}", "write the number without quotes")
        check_analysis(where, t["analysis"], t["value"])
        targets.append(Target(t["quantity"], t["analysis"], t["value"], float(t["published"]), str(t["source"]),
                              t["status"], float(t["tolerance"]), str(t["tolerance_reason"]), t.get("note", ""),
                              known_miss))
    reported = []
    for i, r in enumerate(raw.get("report") or []):
        where = f"report[{i}]."
        _check_keys(path, where, r, REPORT_KEYS, {"quantity", "analysis", "value"})
        check_analysis(where, r["analysis"], r["value"])
        if "published" in r and not r.get("source"):
            raise _fail(path, f"{where}source", "a context value needs its source", "add 'source' (paper, table, column)")
        reported.append(Reported(r["quantity"], r["analysis"], r["value"], r.get("note", ""),
                                 float(r["published"]) if "published" in r else None, str(r.get("source", ""))))
    if raw["name"] != path.stem:
        raise _fail(path, "name", f"'{raw['name']}' differs from the file name '{path.stem}'", f"set name: {path.stem}")
    return Study(
        name=raw["name"], title=raw["title"], path=path, dataset=raw["dataset"], design=design,
        outcome=raw["outcome"], treatment=raw.get("treatment"), covariates=covariates, analyses=analyses,
        targets=targets, report=reported, question=raw.get("question", ""), citation=raw.get("citation", ""),
        notes=raw.get("notes", ""),
    )


def list_studies() -> list[str]:
    return sorted(p.stem for p in studies_dir().glob("*.yaml"))


def run_studies(names: list[str] | None = None, fast: bool = False, progress=None) -> Scoreboard:
    """Run the named studies (all by default) and return the scoreboard."""
    if isinstance(names, (str, Path)):
        names = [names]  # one study, not its letters
    elif names is not None and not isinstance(names, (list, tuple)):
        raise SpecError(f"`names` must be a list of study names, got {type(names).__name__}.")
    names = names or list_studies()
    studies = [load_study(n) for n in names]  # validate every spec before running any
    results = []
    for s in studies:
        if progress:
            progress(f"running {s.name} ...")
        t0 = time.perf_counter()
        results.append(s.run(fast=fast))
        if progress:
            progress(f"  {s.name} done in {time.perf_counter() - t0:.1f} s")
    return Scoreboard(results)
