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


def load_pilot_data(config: PilotConfig, key: bytes | str | None = None) -> PilotData:
    """Read ``config.data_file``, apply the identifier policy and pseudonyms, and check the data.

    ``key=None`` pseudonymizes with a random key for this run only (never stored).
    Raises the intake/privacy errors of :func:`read_table`, :func:`protect_identifiers`
    and :func:`prepare_pilot_data`; nothing is written.
    """
    text = [c for c in (config.student_id, config.school, config.class_column) if c]
    raw, log = read_table(config.data_file, sheet=config.sheet, text_columns=text)
    safe = protect_identifiers(raw, config, key=key)
    frame, checks = prepare_pilot_data(safe, config)
    return PilotData(frame=frame, checks=checks, intake=log, config=config)
