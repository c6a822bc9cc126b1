"""A project: a directory holding review.toml and, by default, the SQLite store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from metasift.errors import ProjectError
from metasift.protocol import PROTOCOL_FILE, Protocol, load_protocol, template
from metasift.store import create_db_engine, migrate, sqlite_url

DATABASE_FILE = "metasift.sqlite"
DATABASE_ENV = "METASIFT_DATABASE_URL"


@dataclass
class Project:
    root: Path
    protocol: Protocol
    engine: Engine

    @classmethod
    def open(cls, root: Path | str = ".") -> Project:
        """Open the project in ``root``: read the protocol, connect, migrate the store."""
        root = Path(root)
        if not root.is_dir():
            raise ProjectError(
                f"{root}: no such project folder; create one with 'metasift init {root}'."
            )
        protocol = load_protocol(root / PROTOCOL_FILE)
        url = database_url(root, protocol)
        engine = create_db_engine(url)
        migrate(engine)
        return cls(root=root, protocol=protocol, engine=engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def database_url(root: Path, protocol: Protocol) -> str:
    """The store's URL: $METASIFT_DATABASE_URL, else the protocol's, else SQLite in ``root``."""
    return (
        os.environ.get(DATABASE_ENV)
        or protocol.project.database_url
        or sqlite_url(root / DATABASE_FILE)
    )


def init_project(root: Path, title: str | None = None) -> Path:
    """Create ``root`` with a commented review.toml; refuses to overwrite an existing one."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / PROTOCOL_FILE
    if path.exists():
        raise ProjectError(f"{path} already exists; edit it instead of running init again.")
    path.write_text(template(title or root.resolve().name), encoding="utf-8")
    return path
