"""A real Dask cluster for tests: a ``dask scheduler`` and ``dask worker`` processes on
127.0.0.1, on free ports, stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    address: str
    workers: list[subprocess.Popen] = field(default_factory=list)

    def kill_worker(self, index: int) -> None:
        """SIGKILL one worker process: no goodbye to the scheduler."""
        os.kill(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait(timeout=30)


@contextmanager
def real_cluster(tmp: Path, n_workers: int = 2) -> Iterator[Cluster]:
    """A scheduler and ``n_workers`` single-threaded workers (without nannies, so that a
    killed worker stays dead), each a process of its own."""
    from distributed import Client

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp / "dask-logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen] = []
    cluster = Cluster(address)

    def start(name: str, args: list[str]) -> subprocess.Popen:
        log = (logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", *args], env=env, cwd=tmp, stdout=log, stderr=log
        )
        procs.append(proc)
        return proc

    try:
        start(
            "scheduler",
            [
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
        )
        for i in range(n_workers):
            cluster.workers.append(
                start(
                    f"worker-{i}",
                    [
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"worker-{i}",
                        "--memory-limit",
                        "2GB",
                        "--local-directory",
                        str(tmp / f"w{i}"),
                    ],
                )
            )
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(n_workers, timeout=120)
        yield cluster
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
