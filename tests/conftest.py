"""Test-wide settings: the data mirror, a private cache, and a non-interactive plot backend."""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"

# Tests read the public data files from the local mirror, never from the network.
os.environ.setdefault("PLMRESEARCH_DATA_DIR", str(SHARED_DATASETS))
