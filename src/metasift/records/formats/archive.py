"""Reading members of zip archives within size limits, so that a zip bomb is refused, not run.

A 4 MB archive can unpack to gigabytes; reading it whole ends in a MemoryError (or a machine
swapping). Each archive is checked twice: from its headers before anything is unpacked (the
declared sizes), and while streaming each member (the headers can lie), against

- :data:`MAX_MEMBER_BYTES`, the size of one member unpacked;
- :data:`MAX_TOTAL_BYTES`, all members of one archive unpacked;
- :data:`MAX_RATIO`, unpacked size over packed size of a member larger than
  :data:`RATIO_FLOOR` (a tiny member may compress very well and harm no one).

The limits are far above real data: the OpenAlex pages of the SYNERGY datasets are under 1 MiB
a member and compress about 6:1; the largest SYNERGY dataset is a few hundred MiB unpacked.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from metasift.errors import ImportFileError

MAX_MEMBER_BYTES = 512 * 2**20
MAX_TOTAL_BYTES = 4 * 2**30
MAX_RATIO = 100
RATIO_FLOOR = 2**20
_CHUNK = 2**20


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def _refuse(archive: Path, member: str, what: str) -> ImportFileError:
    return ImportFileError(
        f"{archive}:{member}",
        f"{what}; refused as a possible zip bomb. Check the archive (download it again), or "
        "unpack it yourself and import the files.",
    )


class LimitedArchive:
    """An open zip archive whose members are read within the limits.

    Args:
        zf: the open archive.
        archive: its path, named in every message.
        members: the names of the members that will be read; their declared sizes are
            checked here, before anything is unpacked.
    """

    def __init__(self, zf: zipfile.ZipFile, archive: Path, members: list[str]) -> None:
        self._zf = zf
        self._archive = archive
        self._left = MAX_TOTAL_BYTES  # bytes the archive may still unpack to
        total = 0
        for name in members:
            info = zf.getinfo(name)
            self._check(info, info.file_size)
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise self._too_big_in_all(name)

    def read(self, name: str) -> bytes:
        """The unpacked bytes of member ``name``, read in chunks, stopped at the first limit."""
        info = self._zf.getinfo(name)
        parts: list[bytes] = []
        size = 0
        with self._zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                size += len(chunk)
                self._check(info, size)
                if size > self._left:
                    raise self._too_big_in_all(name)
                parts.append(chunk)
        self._left -= size
        return b"".join(parts)

    def _check(self, info: zipfile.ZipInfo, size: int) -> None:
        if size > MAX_MEMBER_BYTES:
            raise _refuse(
                self._archive, info.filename, f"it unpacks to more than {_mib(MAX_MEMBER_BYTES)}"
            )
        if size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
            raise _refuse(
                self._archive,
                info.filename,
                f"it unpacks to {_mib(size)} from {info.compress_size:,} bytes, more than "
                f"{MAX_RATIO} times its packed size",
            )

    def _too_big_in_all(self, name: str) -> ImportFileError:
        return _refuse(
            self._archive, name, f"the members unpack to more than {_mib(MAX_TOTAL_BYTES)} in all"
        )


__all__ = ["MAX_MEMBER_BYTES", "MAX_RATIO", "MAX_TOTAL_BYTES", "LimitedArchive"]
