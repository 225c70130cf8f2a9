"""The scoreboard: published numbers next to ours, per study and for a whole run.

A :class:`StudyResult` is one study's table (one row per target or reported quantity);
a :class:`Scoreboard` gathers them, says which misses fail the run, and writes Markdown and
HTML stamped with the run time and the versions of the packages that computed the numbers.

A miss against a VERIFIED, SECONDARY or REFERENCE-RUN number fails the run (``plm reproduce``
exits non-zero). A miss against an UNVERIFIED number is shown as a miss, with the spec's
explanation, but does not fail the run: the published value itself is not established.
"""

from __future__ import annotations

import datetime as _dt
import html
from importlib import metadata
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from plmresearch.reproduce.spec import Study

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
        versions.update({name: metadata.version(name) for name in ("numpy", "pandas", "statsmodels", "pymc", "arviz")})
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
