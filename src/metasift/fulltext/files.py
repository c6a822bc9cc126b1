"""The project's full-text files: content-addressed, checked by content, never named by users.

A full text is stored as ``<project>/fulltexts/<sha256>.<ext>``: the name is the SHA-256 of the
bytes and the extension follows what the content was found to be (``.pdf`` or ``.xml``), so no
name, path or media type given by a user or a server reaches the file system. Two copies of one
file are one file. Writing goes through a temporary file in the same folder and an atomic
rename, so an interrupted write leaves no half file under a checksum name; reading checks the
checksum again (:func:`verified_path`).

What may be stored is decided here too (:func:`check_file`): a PDF must start with ``%PDF-``
and read within :class:`~metasift.fulltext.pdfsafe.PdfLimits`; a JATS full text must be XML
whose root is ``<article>``; anything else (an HTML landing page, an image, a ZIP) is refused
with what it looked like.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from metasift.errors import FileRefusedError, RetrievalError
from metasift.fulltext.jats import check_jats
from metasift.fulltext.pdfsafe import PdfLimits, inspect_pdf

FOLDER = "fulltexts"
HELD = ".held"  # uploads waiting for a reviewer to say whose report they are
PDF = "application/pdf"
JATS = "application/jats+xml"
EXTENSION = {PDF: ".pdf", JATS: ".xml"}
CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    """How large a full text may be, and what reading a PDF may cost.

    Args:
        max_pdf_bytes: largest PDF accepted (downloaded or attached).
        max_xml_bytes: largest JATS XML accepted.
        pdf: limits of the PDF reader (pages, inflated stream size, time, memory).
        download_seconds: time one download may take, its resumed tries included.
    """

    max_pdf_bytes: int = 100_000_000
    max_xml_bytes: int = 20_000_000
    download_seconds: float = 600.0
    pdf: PdfLimits = field(default_factory=PdfLimits)

    @property
    def max_bytes(self) -> int:
        return max(self.max_pdf_bytes, self.max_xml_bytes)


@dataclass(frozen=True)
class Checked:
    """A file found fit to store: its media type, checksum, size and (for a PDF) pages."""

    media_type: str
    sha256: str
    size: int
    pages: int | None = None


def sniff(head: bytes) -> str:
    """What the first bytes of a file say it is, for messages and routing.

    Returns ``application/pdf``, ``text/html``, ``application/xml`` or a short description
    (``"a ZIP archive"``, ``"empty"``, ``"unknown binary data"``).

    Args:
        head: the first bytes of the file (a few hundred suffice).
    """
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%PDF-"):
        return PDF
    if not head:
        return "empty"
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:1024]:
        return "text/html"
    if text.startswith((b"<?xml", b"<!doctype", b"<article")):
        return "application/xml"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive"
    return "unknown binary data" if b"\x00" in head[:512] else "text"


def digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks.

    Args:
        path: the file.
    """
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def check_file(
    path: Path, limits: Limits | None = None, *, shown: str | None = None, expect: str = ""
) -> Checked:
    """Check that ``path`` is a full text that may be stored; raises FileRefusedError.

    Args:
        path: the file (a download in progress, or a file a user attaches).
        limits: size and PDF limits (default :class:`Limits`).
        shown: how the file is named in errors (the user's name for it, or its URL).
        expect: ``application/pdf`` or ``application/jats+xml`` when a source promised one;
            another kind of content is then refused as not what was promised.
    """
    limits = limits or Limits()
    shown = shown or str(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(1024)
    kind = sniff(head)
    if expect == PDF and kind != PDF:
        raise FileRefusedError(shown, f"a PDF was promised but the content is {_said(kind)}")
    if expect == JATS and kind not in ("application/xml",):
        raise FileRefusedError(shown, f"JATS XML was promised but the content is {_said(kind)}")
    if kind == PDF:
        if size > limits.max_pdf_bytes:
            raise FileRefusedError(shown, _too_large(size, limits.max_pdf_bytes, "PDF"))
        info = inspect_pdf(path, limits.pdf, shown=shown)
        return Checked(PDF, *digest(path), pages=info.pages)
    if kind == "application/xml":
        if size > limits.max_xml_bytes:
            raise FileRefusedError(shown, _too_large(size, limits.max_xml_bytes, "XML file"))
        check_jats(path, shown=shown)
        return Checked(JATS, *digest(path))
    raise FileRefusedError(
        shown, f"not a full text: the content is {_said(kind)}, not a PDF or JATS XML"
    )


def _said(kind: str) -> str:
    names = {"text/html": "an HTML page", PDF: "a PDF", "application/xml": "XML"}
    return names.get(kind, kind)


def size_text(size: int) -> str:
    """A byte count for people: "350 kB", "12.5 MB"."""
    return f"{size / 1e6:.1f} MB" if size >= 1_000_000 else f"{max(1, round(size / 1e3))} kB"


def _too_large(size: int, limit: int, what: str) -> str:
    return f"the {what} is {size_text(size)}; at most {size_text(limit)} is accepted"


class FileStore:
    """The content-addressed folder of one project's full texts.

    Args:
        root: the project folder; files go to ``root/fulltexts``.
    """

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise RetrievalError(f"{root}: no project folder to store full texts in.")
        self.folder = root / FOLDER

    def path(self, sha256: str, media_type: str) -> Path:
        """Where the file of that checksum and media type lives (it may not exist).

        Args:
            sha256: the file's checksum, 64 hex digits (anything else is refused).
            media_type: ``application/pdf`` or ``application/jats+xml``.
        """
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise RetrievalError(f"{sha256!r} is not a SHA-256 checksum.")
        return self.folder / f"{sha256}{EXTENSION[media_type]}"

    def put(self, source: Path, checked: Checked, *, held: bool = False) -> Path:
        """Copy ``source`` into the store under its checksum; returns the stored path.

        The copy is hashed as it is written: a file that changed since it was checked is
        refused instead of being stored under a name that does not match its bytes.

        Args:
            source: the checked file.
            checked: what :func:`check_file` found for it.
            held: put it among the files held for a reviewer to say whose report they are
                (an upload matched uncertainly), not among the reports' full texts.
        """
        target = self.path(checked.sha256, checked.media_type)
        if held:
            target = self.folder / HELD / target.name
        if target.is_file() and digest(target)[0] == checked.sha256:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            h = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, source.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != checked.sha256:
                raise FileRefusedError(str(source), "the file changed while it was being stored")
            os.replace(temp, target)
        finally:
            Path(temp).unlink(missing_ok=True)
        return target

    def verified_path(self, sha256: str, media_type: str) -> Path:
        """The stored file, after checking that its bytes still match its checksum.

        Args:
            sha256: the checksum recorded in the store.
            media_type: the media type recorded with it.
        """
        path = self.path(sha256, media_type)
        if not path.is_file():
            raise RetrievalError(f"{path}: the full text is missing from the project folder.")
        if digest(path)[0] != sha256:
            raise RetrievalError(
                f"{path}: the file no longer matches its checksum; fetch or attach it again."
            )
        return path

    def held(self) -> list[tuple[str, str, Path]]:
        """The files held for a reviewer: ``(sha256, media type, path)``, oldest first."""
        folder = self.folder / HELD
        kinds = {ext: media for media, ext in EXTENSION.items()}
        found = [
            (p.stem, kinds[p.suffix], p)
            for p in (folder.iterdir() if folder.is_dir() else [])
            if p.suffix in kinds and not p.name.startswith(".")
        ]
        return sorted(found, key=lambda item: item[2].stat().st_mtime)

    def held_file(self, sha256: str) -> tuple[str, Path]:
        """The media type and path of the held file ``sha256``; RetrievalError if none.

        Args:
            sha256: the file's checksum (anything but 64 hex digits is refused).
        """
        for media_type in EXTENSION:
            path = self.folder / HELD / self.path(sha256, media_type).name
            if path.is_file():
                return media_type, path
        raise RetrievalError(f"no uploaded file {sha256[:12]}... is waiting to be matched.")

    def partial(self, key: str) -> Path:
        """A file for a download in progress, kept between runs so that it can resume.

        Args:
            key: a name made by the caller from the URL (hex digits only).
        """
        folder = self.folder / ".partial"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / key


def copy_limited(source: Path, target: Path, limit: int, shown: str) -> None:
    """Copy at most ``limit`` bytes of ``source``; a larger file is refused before it is read.

    Args:
        source: the file a user named.
        target: where the copy goes.
        limit: bytes allowed.
        shown: how the file is named in errors.
    """
    size = source.stat().st_size
    if size > limit:
        raise FileRefusedError(shown, _too_large(size, limit, "file"))
    with source.open("rb") as fh, target.open("wb") as out:
        shutil.copyfileobj(fh, out, CHUNK)
