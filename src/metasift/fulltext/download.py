"""Downloading one offered copy: within a size limit, resumed when cut short, then checked.

The body is streamed to a partial file kept in the store (``fulltexts/.partial``, named by the
URL's hash) and never held in memory. An answer that ends before its ``Content-Length`` (the
connection dropped, or the server lied) is asked again from where it stopped with a ``Range``
request; a server that ignores the range sends the whole file again, which replaces the part.
A partial file left by an interrupted run is resumed the same way on the next fetch. Only a
complete download that :func:`~metasift.fulltext.files.check_file` accepts becomes a full text:
a copy still short after the last try, larger than the limit, or not what was promised (an
HTML landing page where a PDF was promised) is refused and named in the listing.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from metasift.errors import FileRefusedError, SearchHTTPError
from metasift.fulltext.files import Checked, FileStore, Limits, check_file, size_text
from metasift.fulltext.sources import Candidate
from metasift.search.http import HttpClient

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Incomplete(Exception):
    """The download ended short after its last try; the part is kept for the next fetch."""


@dataclass(frozen=True)
class Downloaded:
    """A complete, checked download: the file in the partial folder and what it is."""

    path: Path
    checked: Checked
    url: str


def download(
    http: HttpClient,
    candidate: Candidate,
    store: FileStore,
    limits: Limits,
    *,
    tries: int = 3,
) -> Downloaded:
    """Download ``candidate`` with ``http``; raises FileRefusedError, Incomplete or SearchError.

    Args:
        http: the client to fetch with (the service's own for its URLs, else the download
            client, which carries no credentials).
        candidate: the copy offered.
        store: the project's file store (holds the partial file).
        limits: size and PDF limits.
        tries: requests for one copy, resumed ones included, before it counts as incomplete.
    """
    shown = http.shown_url(candidate.url)
    part = store.partial(hashlib.sha256(shown.encode()).hexdigest())
    limit = (
        limits.max_pdf_bytes if candidate.media_type == "application/pdf" else limits.max_xml_bytes
    )
    # One deadline for all tries: a server that sends a byte now and then, each within the
    # read timeout, cannot keep the fetch forever.
    deadline = time.monotonic() + limits.download_seconds
    for attempt in range(1, tries + 1):
        have = part.stat().st_size if part.exists() else 0
        # Identity encoding: the length and ranges then count the file's own bytes.
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            response = http.request(
                "GET", candidate.url, what=f"download of {shown}", headers=headers, stream=True
            )
        except SearchHTTPError as exc:
            if exc.status == 416 and have:  # the part kept is not a prefix of the file now
                part.unlink(missing_ok=True)
                continue
            raise
        try:
            expected = _receive(response, part, have, limit, shown, deadline)
        finally:
            response.close()
        size = part.stat().st_size
        if expected is None or size == expected:
            try:
                checked = check_file(part, limits, shown=shown, expect=candidate.media_type)
            except FileRefusedError:
                part.unlink(missing_ok=True)
                raise
            return Downloaded(part, checked, shown)
        if attempt == tries:
            raise Incomplete(
                f"download cut short: {size:,} of {expected:,} bytes after {tries} tries "
                "(the part is kept; the next fetch resumes it)"
            )
    raise Incomplete(f"the download did not complete in {tries} tries")


def _receive(
    response: httpx.Response, part: Path, have: int, limit: int, shown: str, deadline: float
) -> int | None:
    """Write the body to ``part`` (appending to a resumed range); the size expected in all.

    Returns None when the server gave no length (the body is then whole when it ends). Raises
    Incomplete, keeping what arrived, when the body is still coming at ``deadline``.
    """
    length = response.headers.get("Content-Length")
    if response.status_code == 206 and have:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if not match or int(match[1]) != have:
            part.unlink(missing_ok=True)
            raise FileRefusedError(shown, "the server answered a resumed download out of range")
        total = None if match[3] == "*" else int(match[3])
        mode = "ab"
    else:
        have, mode = 0, "wb"  # a whole answer replaces what was kept
        total = int(length) if length and length.isdigit() else None
    if total is not None and total > limit:
        part.unlink(missing_ok=True)
        raise FileRefusedError(
            shown, f"the file is {size_text(total)}; at most {size_text(limit)} is accepted"
        )
    written = have
    with part.open(mode) as out:
        try:
            for chunk in response.iter_bytes():
                written += len(chunk)
                if written > limit:
                    break
                out.write(chunk)
                if time.monotonic() > deadline:
                    raise Incomplete(
                        f"the server sent too slowly: {written:,} bytes by the deadline "
                        "(the part is kept; the next fetch resumes it)"
                    )
        except httpx.HTTPError:
            pass  # cut short: what arrived is kept and resumed
    if written > limit:
        part.unlink(missing_ok=True)
        raise FileRefusedError(shown, f"the file is larger than {size_text(limit)}")
    return total
