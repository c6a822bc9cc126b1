"""Error types users see. Each message names the file, line or record, and what to do."""

from __future__ import annotations


class MetasiftError(Exception):
    """Base of every error metasift raises on purpose; the CLI prints it without a traceback."""


class ImportFileError(MetasiftError):
    """A file cannot be read at all (unknown format, empty, binary, undecodable).

    Problems confined to one record are not errors: they become rejections in the import report.
    """

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {message}")


class ProtocolError(MetasiftError):
    """review.toml is missing or invalid."""


class ProjectError(MetasiftError):
    """The project directory or its store is missing or unusable."""
