"""Study specs: a published evaluation, its design, and the numbers we must reproduce.

A spec (``studies/<name>.yaml``) names a dataset, the design (unit, level of
assignment, blocks, clusters), outcome, treatment and covariates, the analyses
to run (each an estimator from :mod:`plmresearch.study_estimators` with its
parameters) and the published ``targets``: each the quantity, the published
value, its source (paper, table, column), how sure we are of it (VERIFIED,
SECONDARY, UNVERIFIED, or REFERENCE-RUN for a number computed by a reference
package rather than printed in a publication), and a tolerance with its reason.
``report`` entries are quantities we compute and show without scoring them: either
nothing comparable was published, or (with ``published`` and ``source``) a number
published under a different protocol, shown for context.

A miss against a VERIFIED, SECONDARY or REFERENCE-RUN number fails the run
(``plm reproduce`` exits non-zero). A miss against an UNVERIFIED number is shown
as a miss, with the spec's explanation, but does not fail the run: the published
value itself is not established (see ../shared/references/reproduction_targets.md).

``run_studies`` runs specs and returns a :class:`Scoreboard`.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from plmresearch.errors import PlmError, SpecError
from plmresearch.validation import closest

STATUSES = ("VERIFIED", "SECONDARY", "UNVERIFIED", "REFERENCE-RUN")
STUDY_KEYS = {
    "name", "title", "question", "dataset", "design", "outcome", "treatment", "covariates",
    "analyses", "targets", "report", "notes", "citation",
}
DESIGN_KEYS = {"unit", "assignment", "blocks", "clusters", "description"}
ANALYSIS_KEYS = {"id", "estimator", "params", "label"}
TARGET_KEYS = {"quantity", "analysis", "value", "published", "source", "status", "tolerance", "tolerance_reason", "note"}
REPORT_KEYS = {"quantity", "analysis", "value", "note", "published", "source"}


def studies_dir() -> Path:
    """The repository's ``studies/`` folder (or ``PLMRESEARCH_STUDIES_DIR``)."""
    env = os.environ.get("PLMRESEARCH_STUDIES_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "studies"


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
        """Run every analysis and compare with the published targets."""
        from plmresearch.reproduce.estimators import get_estimator

        df = self.load_data() if data is None else data
        values: dict[str, dict[str, float]] = {}
        errors: dict[str, str] = {}
        timings: dict[str, float] = {}
        for a in self.analyses:
            t0 = time.perf_counter()
            try:
                values[a.id] = get_estimator(a.estimator).func(df, self, fast=fast, **a.params)
            except PlmError as err:
                errors[a.id] = str(err)
            timings[a.id] = time.perf_counter() - t0
        rows = []
        for t in self.targets:
            got = values.get(t.analysis, {}).get(t.value, np.nan)
            diff = got - t.published if np.isfinite(got) else np.nan
            within = bool(np.isfinite(diff) and abs(diff) <= t.tolerance + 1e-12)
            rows.append(
                {
                    "study": self.name, "quantity": t.quantity, "published": t.published,
                    "reproduced": got, "difference": diff, "tolerance": t.tolerance,
                    "within_tolerance": "yes" if within else "no", "status": t.status,
                    "source": t.source, "note": t.note or errors.get(t.analysis, ""),
                }
            )
        for r in self.report:
            got = values.get(r.analysis, {}).get(r.value, np.nan)
            context = r.published is not None
            rows.append(
                {
                    "study": self.name, "quantity": r.quantity,
                    "published": r.published if context else np.nan, "reproduced": got,
                    "difference": got - r.published if context else np.nan, "tolerance": np.nan,
                    "within_tolerance": "n/a", "status": "context" if context else "not published",
                    "source": r.source, "note": r.note or errors.get(r.analysis, ""),
                }
            )
        return StudyResult(self, pd.DataFrame(rows, columns=SCOREBOARD_COLUMNS), values, errors, timings)


SCOREBOARD_COLUMNS = [
    "study", "quantity", "published", "reproduced", "difference", "tolerance",
    "within_tolerance", "status", "source", "note",
]


@dataclass
class StudyResult:
    study: Study
    table: pd.DataFrame
    values: dict[str, dict[str, float]]
    errors: dict[str, str]
    timings: dict[str, float]

    @property
    def failing(self) -> pd.DataFrame:
        """Missed targets whose published value is established (not UNVERIFIED)."""
        t = self.table
        return t[(t["within_tolerance"] == "no") & (t["status"] != "UNVERIFIED")]

    @property
    def unverified_misses(self) -> pd.DataFrame:
        t = self.table
        return t[(t["within_tolerance"] == "no") & (t["status"] == "UNVERIFIED")]

    @property
    def passed(self) -> bool:
        return not self.errors and self.failing.empty


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
    """Read and validate a study spec by name (``studies/<name>.yaml``) or path.

    Every problem raises :class:`SpecError` naming the file, the key and the fix:
    unknown dataset, unknown column, unknown estimator, a target without source.
    """
    path = Path(name_or_path)
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
    from plmresearch.reproduce.estimators import ESTIMATORS

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
        if a["estimator"] not in ESTIMATORS:
            raise _fail(path, f"{where}estimator", f"unknown estimator '{a['estimator']}'{closest(a['estimator'], ESTIMATORS)}",
                        f"use one of {sorted(ESTIMATORS)}")
        params = a.get("params") or {}
        est = ESTIMATORS[a["estimator"]]
        for p in params:
            if p not in est.params:
                raise _fail(path, f"{where}params.{p}", f"estimator '{a['estimator']}' takes no parameter '{p}'{closest(p, est.params)}",
                            f"use one of {sorted(est.params)}")
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
        est = ESTIMATORS[next(a.estimator for a in analyses if a.id == a_id)]
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
        for num in ("published", "tolerance"):
            if not isinstance(t[num], (int, float)) or isinstance(t[num], bool):
                raise _fail(path, f"{where}{num}", f"must be a number, got {t[num]!r}", "write the number without quotes")
        check_analysis(where, t["analysis"], t["value"])
        targets.append(Target(t["quantity"], t["analysis"], t["value"], float(t["published"]), str(t["source"]),
                              t["status"], float(t["tolerance"]), str(t["tolerance_reason"]), t.get("note", "")))
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


# --------------------------------------------------------------------------- scoreboard

@dataclass
class Scoreboard:
    """The published numbers next to ours, for one or more studies."""

    results: list[StudyResult]

    @property
    def table(self) -> pd.DataFrame:
        return pd.concat([r.table for r in self.results], ignore_index=True)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def failures(self) -> list[str]:
        """Errors and misses that fail the run."""
        out = []
        for r in self.results:
            out += [f"{r.study.name}/{k}: {v}" for k, v in r.errors.items()]
            out += [f"{r.study.name}: {q} missed its tolerance" for q in r.failing.quantity]
        return out

    def unverified_misses(self) -> list[str]:
        """Misses against UNVERIFIED published numbers (shown, explained in the spec, not failing)."""
        return [f"{r.study.name}: {q}" for r in self.results for q in r.unverified_misses.quantity]

    def _display(self) -> pd.DataFrame:
        t = self.table.copy()
        for c in ("published", "reproduced", "difference", "tolerance"):
            t[c] = t[c].map(lambda x: "" if pd.isna(x) else f"{x:.4g}")
        return t

    def to_text(self) -> str:
        t = self._display().drop(columns=["source", "note"])
        return t.to_string(index=False)

    def to_markdown(self) -> str:
        t = self._display()
        header = "| " + " | ".join(t.columns) + " |\n|" + "---|" * len(t.columns) + "\n"
        body = "".join("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |\n" for row in t.itertuples(index=False))
        return f"# plmresearch reproduction scoreboard\n\n{self._stamp()}\n\n" + header + body

    def to_html(self) -> str:
        t = self._display()
        rows = "".join(
            "<tr class='{}'>".format({"yes": "ok", "no": "miss"}.get(r.within_tolerance, "info"))
            + "".join(f"<td>{html.escape(str(v))}</td>" for v in r)
            + "</tr>"
            for r in t.itertuples(index=False)
        )
        head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>plmresearch scoreboard</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:0.9em}"
            "td,th{border:1px solid #ccc;padding:4px 8px}tr.ok td:nth-child(7){background:#d8f0d8}"
            "tr.miss td:nth-child(7){background:#f6d0d0}</style></head><body>"
            f"<h1>plmresearch reproduction scoreboard</h1><p>{html.escape(self._stamp())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></body></html>"
        )

    @staticmethod
    def _stamp() -> str:
        from plmresearch import __version__

        versions = {"plmresearch": __version__}
        for mod in ("numpy", "pandas", "statsmodels", "pymc", "arviz"):
            try:
                versions[mod] = __import__(mod).__version__
            except Exception:  # noqa: BLE001 - an optional package may be absent
                pass
        when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"Run {when}; " + ", ".join(f"{k} {v}" for k, v in versions.items())

    def write(self, folder: str | Path = "reports") -> tuple[Path, Path]:
        """Write Markdown and HTML to new files in ``folder`` (never overwriting)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = "scoreboard-" + _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
        paths = []
        for ext, text in (("md", self.to_markdown()), ("html", self.to_html())):
            target = folder / f"{stem}.{ext}"
            k = 1
            while target.exists():
                target = folder / f"{stem}-{k}.{ext}"
                k += 1
            paths.append(_write_atomic(target, text))
        return paths[0], paths[1]


def _write_atomic(target: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, target)
    return target


def run_studies(names: list[str] | None = None, fast: bool = False, progress=None) -> Scoreboard:
    """Run the named studies (all by default) and return the scoreboard."""
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
