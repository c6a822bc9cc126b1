"""A Dask distributed client: on the cluster at a scheduler's address, or on a local cluster
this process starts and stops (the embedded default).

Work spread this way (``metasift score``, ``metasift dedup FILE... --scheduler``) ships only
small task specs through the scheduler, file paths and row ranges: workers read their shards
and the model file themselves, so the machines must see the same files (one machine, or a
shared file system). A worker lost mid-run costs its tasks, which the scheduler runs again on
the others; the results do not depend on which worker ran what.

Needs the ``scale`` extra (dask, distributed, pyarrow).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from metasift.errors import MetasiftError


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MetasiftError(
            "running on Dask needs the scale extra: pip install 'metasift[scale]'."
        ) from exc
    return distributed


@contextmanager
def dask_client(
    scheduler: str | None = None,
    n_workers: int | None = None,
    processes: bool = True,
    memory_limit: str | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client``, closed (and a local cluster stopped) on exit.

    Args:
        scheduler: a scheduler's address (``tcp://HOST:PORT``); None starts a local cluster.
        n_workers: the local cluster's workers (default: one per core), one thread each,
            since the work is Python that holds the interpreter lock.
        processes: local workers in processes of their own (True) or threads of this one.
        memory_limit: each local worker's memory limit (Dask's form, e.g. "4GB"; default:
            the machine's memory shared among the workers).
    """
    distributed = _distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except OSError as exc:
            raise MetasiftError(
                f"no Dask scheduler answers at {scheduler} ({exc}); start one with "
                "'dask scheduler' and workers with 'dask worker ADDRESS', or leave out "
                "--scheduler to run on this machine."
            ) from exc
        with client:
            yield client
        return
    options: dict[str, Any] = {"memory_limit": memory_limit} if memory_limit else {}
    import dask

    with (
        # Dask's statistical profiler samples each worker's stack every 10 ms for the
        # dashboard, which is off: measured, it cost 2-3% of a scoring worker's CPU.
        dask.config.set({"distributed.worker.profile.enabled": False}),
        distributed.LocalCluster(
            n_workers=n_workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=processes,
            # No web dashboard: nobody looks at it, and its port may be taken.
            dashboard_address=None,
            **options,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
