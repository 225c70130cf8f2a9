"""The Dask plumbing shared by BKT at scale and simulation studies: a client, and futures gathered with a bar.

Dask (``dask[dataframe]`` and ``distributed``) is the ``scale`` extra; it is imported only when a
Dask input or a ``client=`` is used, so the rest of the package runs without it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from plmresearch.errors import InputError, ModelError


def require_dask() -> None:
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:  # pragma: no cover - dask is in the scale and dev extras
        raise InputError("Dask inputs and `client=` need dask and distributed: pip install 'plmresearch[scale]'.") from None


@contextmanager
def session(client):
    """The given client; else the default client, if one is running; else a LocalCluster with one
    single-threaded worker process per core, closed on exit."""
    require_dask()
    from distributed import Client, LocalCluster, default_client

    if client is None:
        try:
            client = default_client()
        except ValueError:  # no client running
            client = None
    if client is not None:
        if not isinstance(client, Client):
            raise InputError(f"`client` must be a dask.distributed.Client, got {type(client).__name__}.")
        yield client
        return
    try:
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    except RuntimeError as exc:  # distributed: "Nanny failed to start." when worker processes cannot be spawned
        raise ModelError(
            f"Could not start a local Dask cluster ({exc}). Dask starts its workers as new Python processes, "
            "which re-import the calling script: in a script, put the code under `if __name__ == \"__main__\":`; "
            "code piped to `python -` cannot be re-imported. Or start a cluster yourself and pass `client=`."
        ) from None
    with cluster, Client(cluster) as c:
        yield c


def n_workers(client) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def gather(futures: list, desc: str, progress: bool) -> list:
    """Results of ``futures`` in their order, each released as soon as it arrives, with a progress bar.

    A worker that dies mid-task is replaced and its tasks rerun (distributed's retries); a task that
    kills ``distributed.scheduler.allowed-failures`` workers becomes a ModelError. An exception raised
    inside a task (a PlmError on bad data) reaches the caller as it is.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    from plmresearch.progress import progress_bar

    index = {f.key: i for i, f in enumerate(futures)}
    out: list = [None] * len(futures)
    try:
        with progress_bar(total=len(futures), desc=desc, unit="task", progress=progress) as bar:
            for fut in as_completed(futures):
                try:
                    out[index[fut.key]] = fut.result()
                except KilledWorker as exc:
                    raise ModelError(
                        f"A Dask worker died on every try of task {exc.task!r} ({desc}); most often it ran out of "
                        "memory. Give workers more memory or split the work into smaller pieces."
                    ) from None
                fut.release()
                bar.update(1)
    finally:
        for f in futures:
            f.release()
    return out
