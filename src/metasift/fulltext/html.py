"""A JATS article as HTML for reading: sections, paragraphs, lists, tables; nothing active.

The HTML is built element by element from an allow-list: each JATS element maps to one plain
HTML element (``sec`` -> ``section``, ``p`` -> ``p``, ``italic`` -> ``em``, table cells to
cells) and every other element gives only its text. No attribute of the source is copied but a
cell's numeric ``colspan``/``rowspan``, so no script, event handler, link or style of the file
reaches the page; the text is escaped by the serialiser. Links and images are left out (the
file is read, not browsed). Parsing is :mod:`~metasift.fulltext.jats`'s (no DTD, entities or
network).

Each section carries ``data-section``, the name :func:`~metasift.fulltext.jats.jats_sections`
gives it ("Methods / Statistical analysis"; a table by its label and caption), so that what
was found in a section (an extraction suggestion's provenance) can be shown where it is.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree, html

from metasift.fulltext.jats import _local, _root, _text

# JATS element -> HTML element; what is not listed keeps its text only.
_INLINE = {
    "italic": "em",
    "bold": "strong",
    "sup": "sup",
    "sub": "sub",
    "underline": "u",
    "monospace": "code",
    "sc": "span",
}
_BLOCK = {"p": "p", "disp-quote": "blockquote", "boxed-text": "aside", "def-list": "dl"}
# Not text to read; "script" and "style" can only come from a foreign namespace, and their
# text is dropped with them rather than shown as words.
_DROP = {"object-id", "alt-text", "graphic", "inline-graphic", "media", "label", "script", "style"}
_MAX_HEADING = 6


def _copy(node: etree._Element, into: html.HtmlElement) -> None:
    """Append ``node``'s content (not the node) to ``into``: text, allowed inline elements."""
    _append_text(into, node.text)
    for child in node:
        _child(child, into)
        _append_text(into, child.tail)


def _append_text(into: html.HtmlElement, text: str | None) -> None:
    if not text:
        return
    if len(into):
        into[-1].tail = (into[-1].tail or "") + text
    else:
        into.text = (into.text or "") + text


def _child(node: etree._Element, into: html.HtmlElement) -> None:
    tag = _local(node.tag)
    if not tag or tag in _DROP:
        return
    if tag in _INLINE:
        _copy(node, etree.SubElement(into, _INLINE[tag]))
    elif tag == "break":
        etree.SubElement(into, "br")
    elif tag in _BLOCK:
        _copy(node, etree.SubElement(into, _BLOCK[tag]))
    elif tag == "list":
        kind = "ol" if node.get("list-type") in ("order", "alpha-lower", "roman-lower") else "ul"
        out = etree.SubElement(into, kind)
        for item in node:
            if _local(item.tag) == "list-item":
                _copy(item, etree.SubElement(out, "li"))
    elif tag == "table-wrap":
        _table(node, into)
    elif tag == "fig":
        _figure(node, into)
    else:
        _copy(node, into)


def _span(value: str | None) -> str | None:
    return value if value and value.isdigit() and 0 < int(value) < 1000 else None


def _table(node: etree._Element, into: html.HtmlElement) -> None:
    label, caption = node.find("{*}label"), node.find("{*}caption")
    name = " ".join(_text(e) for e in (label, caption) if e is not None) or "Table"
    figure = etree.SubElement(into, "figure", {"class": "table", "data-section": name})
    heading = etree.SubElement(figure, "figcaption")
    heading.text = name
    for table in node.iter("{*}table"):
        out = etree.SubElement(figure, "table")
        for part in ("thead", "tbody", "tfoot"):
            for group in table.iter(f"{{*}}{part}"):
                _rows(group, etree.SubElement(out, part))
        for row in table.findall("{*}tr"):  # rows outside any group
            _row(row, out)
    for foot in node.iter("{*}table-wrap-foot"):
        _copy(foot, etree.SubElement(figure, "p", {"class": "table-foot"}))


def _rows(group: etree._Element, out: html.HtmlElement) -> None:
    for row in group.iter("{*}tr"):
        _row(row, out)


def _row(row: etree._Element, out: html.HtmlElement) -> None:
    tr = etree.SubElement(out, "tr")
    for cell in row:
        tag = _local(cell.tag)
        if tag not in ("td", "th"):
            continue
        spans = {k: _span(cell.get(k)) for k in ("colspan", "rowspan")}
        _copy(cell, etree.SubElement(tr, tag, {k: v for k, v in spans.items() if v}))


def _figure(node: etree._Element, into: html.HtmlElement) -> None:
    label, caption = node.find("{*}label"), node.find("{*}caption")
    text = " ".join(_text(e) for e in (label, caption) if e is not None)
    if text:
        figure = etree.SubElement(into, "figure", {"class": "figure"})
        etree.SubElement(figure, "figcaption").text = text


def _section(node: etree._Element, trail: list[str], into: html.HtmlElement) -> None:
    title = node.find("{*}title")
    name = _text(title) if title is not None else "Section"
    path = [*trail, name]
    out = etree.SubElement(into, "section", {"data-section": " / ".join(path)})
    heading = etree.SubElement(out, f"h{min(len(path) + 2, _MAX_HEADING)}")
    heading.text = name
    _content(node, path, out)


def _content(node: etree._Element, trail: list[str], out: html.HtmlElement) -> None:
    for child in node:
        tag = _local(child.tag)
        if tag == "sec":
            _section(child, trail, out)
        elif tag not in ("title", "label"):
            _child(child, out)


def jats_html(path: Path, *, shown: str | None = None) -> str:
    """The article of a JATS file as an HTML fragment (an ``<article class="jats">``).

    Args:
        path: a JATS XML file (checked when it was stored).
        shown: how the file is named in errors.
    """
    root = _root(path, shown or str(path))
    article = html.Element("article", {"class": "jats"})
    title = root.find(".//{*}article-meta/{*}title-group/{*}article-title")
    if title is not None:
        header = etree.SubElement(article, "header", {"data-section": "Title"})
        _copy(title, etree.SubElement(header, "h2"))
    for abstract in root.iterfind(".//{*}article-meta/{*}abstract"):
        section = etree.SubElement(article, "section", {"data-section": "Abstract"})
        etree.SubElement(section, "h3").text = "Abstract"
        _content(abstract, ["Abstract"], section)
    body = root.find("{*}body")
    if body is not None:
        loose = [c for c in body if _local(c.tag) != "sec"]
        if loose:
            # Paragraphs outside any section: jats_sections names them "Body".
            section = etree.SubElement(article, "section", {"data-section": "Body"})
            for child in loose:
                _child(child, section)
        for child in body:
            if _local(child.tag) == "sec":
                _section(child, [], article)
    return html.tostring(article, encoding="unicode", method="html")
