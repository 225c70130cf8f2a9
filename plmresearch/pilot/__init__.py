"""District pilot evaluation: configuration, intake (identifier policy, data checks), synthetic districts, report.

>>> from plmresearch.pilot import simulate_district, load_config   # doctest: +SKIP
"""

from __future__ import annotations

from plmresearch.pilot.config import DESIGNS, PilotConfig, init_template, load_config, write_template
from plmresearch.pilot.demo import SimulatedDistrict, simulate_district, write_demo
from plmresearch.pilot.prepare import PilotData, load_pilot_data

__all__ = [
    "DESIGNS",
    "PilotConfig",
    "PilotData",
    "SimulatedDistrict",
    "init_template",
    "load_config",
    "load_pilot_data",
    "simulate_district",
    "write_demo",
    "write_template",
]
