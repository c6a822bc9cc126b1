"""The text of a stored full text, part by part: ``[(page or section, text)]``.

A PDF is read page by page (:func:`~metasift.fulltext.pdfsafe.pdf_pages`, in the confined
child); JATS XML section by section (:func:`~metasift.fulltext.jats.jats_sections`). Each part
is named so that a suggestion taken from it can say where it came from ("page 3",
"Methods / Study sample and procedure").
"""

from __future__ import annotations

from pathlib import Path

from metasift.errors import RetrievalError
from metasift.fulltext.files import JATS, PDF, FileStore
from metasift.fulltext.jats import jats_identifiers, jats_sections
from metasift.fulltext.pdfsafe import PdfLimits, pdf_pages
from metasift.fulltext.store import StoredText


def text_parts(
    root: Path, text: StoredText, limits: PdfLimits | None = None
) -> list[tuple[str, str]]:
    """The parts of ``text`` with their names, after checking the file against its checksum.

    Args:
        root: the project folder.
        text: a full text recorded in the store.
        limits: what reading a PDF may cost (default :class:`PdfLimits`).
    """
    path = FileStore(root).verified_path(text.sha256, text.media_type)
    if text.media_type == PDF:
        return [(f"page {n}", t) for n, t in pdf_pages(path, limits, shown=text.path)]
    if text.media_type == JATS:
        return jats_sections(path, shown=text.path)
    raise RetrievalError(f"{text.path}: no reader for {text.media_type}.")


def opening_text(path: Path, media_type: str, limits: PdfLimits | None = None) -> str:
    """What identifies a full text: a PDF's first two pages; a JATS article's ids, title and
    abstract. Matching an upload to its report reads this.

    Args:
        path: a checked full text.
        media_type: ``application/pdf`` or ``application/jats+xml``.
        limits: what reading a PDF may cost.
    """
    if media_type == PDF:
        return "\n".join(t for _, t in pdf_pages(path, limits, first=2))
    ids = jats_identifiers(path)
    head = [f"DOI {ids['doi']}"] if "doi" in ids else []
    head += [f"PMID: {ids['pmid']}"] if "pmid" in ids else []
    parts = [t for name, t in jats_sections(path) if name in ("Title", "Abstract")]
    return "\n".join(head + parts)
