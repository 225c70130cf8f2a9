"""From a validated config to the analysis frame: read, protect identifiers, check.

The one entry point the report and the notebook use, so that every run applies the
same privacy steps in the same order: read the file (never modified) -> refuse or drop
direct identifiers -> pseudonymize the student ID with a key that lives only in memory
-> check roles and count what is set aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from plmresearch.data.files import IntakeLog, read_table
from plmresearch.errors import ColumnError, InputError
from plmresearch.pilot.config import PilotConfig
from plmresearch.pilot.intake import DataChecks, prepare_pilot_data, protect_identifiers

__all__ = ["PilotData", "load_pilot_data"]


@dataclass(frozen=True)
class PilotData:
    """The prepared pilot. ``frame`` is row-level (pseudonymized) and must never be written or shown."""

    frame: pd.DataFrame = field(repr=False)
    checks: DataChecks = field(repr=False)
    intake: IntakeLog
    config: PilotConfig

    @property
    def analytic(self) -> pd.DataFrame:
        """Students with the primary outcome (a copy)."""
        return self.frame[self.frame["in_analytic_sample"]].copy()


def _check_sheet(raw: pd.DataFrame, config: PilotConfig) -> None:
    """An Excel file whose student data sit on another sheet: say which sheet, not 'column missing'."""
    if config.data_file.suffix.lower() not in (".xlsx", ".xlsm"):
        return
    needed = [c for c in config.analysis_columns]
    if all(c in raw.columns for c in needed):
        return
    import openpyxl

    book = openpyxl.load_workbook(config.data_file, read_only=True)
    try:
        for i, ws in enumerate(book.worksheets):
            header = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
            if i and set(needed) <= {str(h) for h in header if h is not None}:
                shown = config.sheet if config.sheet is not None else book.sheetnames[0]
                raise ColumnError(
                    f"{config.data_file.name}: the columns named in the config are on sheet '{ws.title}', not on "
                    f"sheet '{shown}' that was read. Fix: set `sheet: {ws.title}` under data: in the config.")
    finally:
        book.close()


def load_pilot_data(config: PilotConfig, key: bytes | str | None = None) -> PilotData:
    """Read ``config.data_file``, apply the identifier policy and pseudonyms, and check the data.

    ``key=None`` pseudonymizes with a random key for this run only (never stored).
    Raises the intake/privacy errors of :func:`read_table`, :func:`protect_identifiers`
    and :func:`prepare_pilot_data`; nothing is written.
    """
    if not isinstance(config, PilotConfig):
        raise InputError(f"`config` must be a PilotConfig from load_config('pilot.yaml'), got {type(config).__name__}.")
    text = [c for c in (config.student_id, config.school, config.class_column) if c]
    raw, log = read_table(config.data_file, sheet=config.sheet, text_columns=text)
    _check_sheet(raw, config)
    safe = protect_identifiers(raw, config, key=key)
    frame, checks = prepare_pilot_data(safe, config)
    return PilotData(frame=frame, checks=checks, intake=log, config=config)
