"""Test-wide settings: the data mirror, a private cache, and a non-interactive plot backend."""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"

# Tests read the public data files from the local mirror, never from the network.
os.environ.setdefault("PLMRESEARCH_DATA_DIR", str(SHARED_DATASETS))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def dask_client():
    """One LocalCluster for every Dask test: two single-threaded worker processes (as CI runs them).

    Closed at the end of the session with timeouts, so a stuck worker cannot hang the run.
    """
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=40)
    client = distributed.Client(cluster, timeout=60)
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)
