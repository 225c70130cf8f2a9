"""`plm pilot report`: from a config to a new folder holding the HTML report and CSV tables.

Everything is written into a temporary folder beside the target and renamed at the end, so a
failed run leaves nothing behind; the input file is only read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from plmresearch.errors import SpecError
from plmresearch.pilot.analysis import PilotAnalysis, analyse_pilot
from plmresearch.pilot.config import PilotConfig
from plmresearch.pilot.prepare import load_pilot_data
from plmresearch.report.pilot_html import render_pilot_report


def write_report(config: PilotConfig, output: str | Path | None = None, fast: bool = False,
                 bayesian: bool = True, progress=None) -> tuple[Path, PilotAnalysis]:
    """Analyse the pilot and write ``report.html`` and one CSV per table into a NEW folder."""
    target = Path(output) if output is not None else Path(config.output_folder)
    if target.exists():
        raise SpecError(f"Output folder {target} already exists. Fix: choose a new folder (output.folder in the "
                        "config, or --output); reports never overwrite earlier ones.")
    if not target.parent.exists():
        raise SpecError(f"The folder {target.parent} does not exist. Fix: create it or choose another output folder.")
    if progress:
        progress(f"reading {Path(config.data_file).name}")
    pilot = load_pilot_data(config)
    analysis = analyse_pilot(pilot, fast=fast, bayesian=bayesian, progress=progress)
    if progress:
        progress("writing the report")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        (tmp / "report.html").write_text(
            render_pilot_report(analysis, source=Path(config.data_file).name), encoding="utf-8")
        for name, table in analysis.tables().items():
            table.to_csv(tmp / f"{name}.csv", index=False)
        (tmp / "limitations.txt").write_text("\n".join(analysis.limitations) + "\n", encoding="utf-8")
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target, analysis
