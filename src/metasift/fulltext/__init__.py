"""Full texts: open-access copies found and downloaded, files attached by hand, read safely.

Entry points: :func:`fetch_texts` (Europe PMC, PMC OA, Unpaywall; resumable, rate-limited),
:func:`attach_text` (a file a reviewer has), :func:`stored_texts` and :func:`last_fetches` (what
the store holds), :func:`check_file` (what may be stored), :func:`text_parts` (a stored text as
``[(page or section, text)]``, from :func:`pdf_pages` or :func:`jats_sections`), :func:`jats_html`
(a JATS article as inert HTML for reading). Which records
are fetched, and how their retrieval counts in PRISMA, is workflow's rule
(:mod:`metasift.workflow.fulltext`).
Names load on first use, so importing the package does not import the HTTP client.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    fetch=["FetchReport", "RecordFetch", "Services", "attach_text", "fetch_texts"],
    files=["FileStore", "Limits", "check_file"],
    html=["jats_html"],
    jats=["jats_sections"],
    pdfsafe=["PdfLimits", "pdf_pages"],
    store=["LastFetch", "StoredText", "Try", "last_fetches", "stored_texts"],
    text=["text_parts"],
)
