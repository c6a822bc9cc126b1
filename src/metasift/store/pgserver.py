"""A throw-away PostgreSQL server on 127.0.0.1, for the test suite and the benchmarks.

metasift's PostgreSQL code is exercised against a real server, never a mock; the tests and
the load benchmark start that server the same way, from here. It needs the server binaries
(Debian: ``apt-get install postgresql``); as root, the server runs as the ``postgres`` user,
because initdb refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bindir() -> Path | None:
    """The directory of initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_server(*, durable: bool = False, max_connections: int = 100) -> Iterator[str]:
    """Start a server in a fresh temporary cluster; yields its URL without a database name.

    ``durable=False`` turns fsync off, which is right for tests; benchmarks keep it on so that
    commit latency is what a real server has. The cluster is deleted on exit.
    """
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    # Not under a private temporary directory: the server may run as another user.
    base = Path(tempfile.mkdtemp(prefix="metasift-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        base.chmod(0o755)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E"]
    subprocess.run(
        [*prefix, *initdb, "UTF8", *([] if durable else ["--no-sync"])],
        check=True,
        capture_output=True,
    )
    pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
    options = f"-p {port} -k {sock} -h 127.0.0.1 -c max_connections={max_connections}"
    if not durable:
        options += " -F"
    subprocess.run(
        [*pg_ctl, "-w", "-l", str(base / "log"), "-o", options, "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server at ``server_url``; returns the database's URL."""
    import psycopg

    plain = server_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"
