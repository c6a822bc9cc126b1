"""Small PDFs for the tests: an article's real text rendered by matplotlib, and hostile files
written object by object (scripts, a huge page tree, a decompression bomb, a broken xref)."""

from __future__ import annotations

import textwrap
import zlib
from pathlib import Path


def render_article(sections: list[tuple[str, str]], path: Path, *, pages: int = 3) -> Path:
    """Render the text of ``sections`` (an article's own words) into an A4 PDF of ``pages``."""
    import matplotlib

    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    lines: list[str] = []
    for title, text in sections:
        lines += ["", title.upper(), *textwrap.wrap(text, 95)]
    per_page = 60
    with PdfPages(path) as pdf:
        for n in range(pages):
            fig = plt.figure(figsize=(8.27, 11.69))
            chunk = lines[n * per_page : (n + 1) * per_page]
            for i, line in enumerate(chunk):
                fig.text(0.06, 0.96 - i * 0.0155, line, fontsize=8, family="DejaVu Sans")
            pdf.savefig(fig)
            plt.close(fig)
    return path


def write_pdf(objects: list[bytes], path: Path, *, startxref_shift: int = 0) -> Path:
    """A PDF of ``objects`` (object 1 is the catalog) with a correct xref table, unless
    ``startxref_shift`` moves the pointer to it."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % (xref + startxref_shift)
    path.write_bytes(bytes(out))
    return path


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def one_page(
    path: Path,
    *,
    catalog_extra: bytes = b"",
    content: bytes | None = None,
    line: bytes = b"Adipose-derived stem cells, n = 24",
) -> Path:
    """A one-page PDF saying ``line``; ``catalog_extra`` goes into the catalog."""
    text = b"BT /F1 12 Tf 72 720 Td (" + line + b") Tj ET"
    return write_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            content if content is not None else _stream(text),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
        path,
    )


def with_javascript(path: Path) -> Path:
    return one_page(path, catalog_extra=b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> ")


def huge_page_tree(path: Path, pages: int = 10_000, *, count: int | None = None) -> Path:
    """A page tree of ``pages`` pages; ``count`` is what its /Count claims (default: true)."""
    first = 3
    kids = b" ".join(b"%d 0 R" % (first + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % (count or pages),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    return write_pdf(objects, path)


def decompression_bomb(path: Path, inflated: int = 60_000_000) -> Path:
    """A page whose content stream inflates ~1000-fold to ``inflated`` bytes (the default is
    above the reader's 50 MB limit)."""
    packer = zlib.compressobj(9)
    block = b"\0" * 1_000_000
    packed = b"".join(packer.compress(block) for _ in range(inflated // len(block)))
    packed += packer.flush()
    return one_page(path, content=_stream(packed, b"/Filter /FlateDecode "))


def broken_xref(path: Path) -> Path:
    """A one-page PDF whose startxref points into the middle of an object."""
    return (
        one_page(path)
        if False
        else write_pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            ],
            path,
            startxref_shift=-37,
        )
    )


if __name__ == "__main__":  # python -m tests.fulltext.pdfs: renders the PDF fixture again
    import warnings

    from metasift.fulltext.jats import jats_sections

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "fulltext"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs DejaVu Sans lacks are drawn as boxes
        render_article(jats_sections(fixtures / "pone.0000217.nxml"), fixtures / "pone.0000217.pdf")
