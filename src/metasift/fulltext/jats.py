"""JATS XML full texts (what Europe PMC's ``fullTextXML`` and PMC return): checked and read.

The parser loads no DTD, resolves no entity and reaches no network, so a hostile XML file
cannot read local files or call out (XXE) nor inflate itself (billion laughs); lxml's default
limits on tree depth and text size stay on.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from metasift.errors import FileRefusedError

# Elements whose text is not the article's prose.
_SKIP = {"xref", "fn", "table-wrap", "table-wrap-foot", "object-id", "label"}
_SPACE = re.compile(r"\s+")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
    )


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _root(path: Path, shown: str) -> etree._Element:
    try:
        root = etree.parse(str(path), _parser()).getroot()
    except (etree.XMLSyntaxError, OSError) as exc:
        raise FileRefusedError(shown, f"not well-formed XML ({exc})") from exc
    if _local(root.tag) != "article":
        raise FileRefusedError(
            shown, f"XML whose root is <{_local(root.tag)}>, not a JATS <article>"
        )
    return root


def check_jats(path: Path, *, shown: str | None = None) -> None:
    """Refuse ``path`` unless it is well-formed XML with an ``<article>`` root.

    Args:
        path: the file.
        shown: how the file is named in errors.
    """
    _root(path, shown or str(path))


def _text(element: etree._Element) -> str:
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node is not element and _local(node.tag) in _SKIP:
            if node.tail:
                parts.append(node.tail)
            return
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if _local(child.tag) in ("title", "p", "sec"):
                parts.append(" ")  # a heading runs into its paragraph otherwise
        if node.tail and node is not element:
            parts.append(node.tail)

    walk(element)
    return _SPACE.sub(" ", "".join(parts)).strip()


def jats_sections(path: Path, *, shown: str | None = None) -> list[tuple[str, str]]:
    """The text of a JATS article by section: ``[(section title, text)]`` in reading order.

    The title and abstract come first; each ``<sec>`` of the body is one entry named by its
    titles from the top ("Methods / Statistical analysis"), holding its own paragraphs (not
    its subsections'); each table is one entry named by its label and caption.

    Args:
        path: a JATS XML file.
        shown: how the file is named in errors.
    """
    root = _root(path, shown or str(path))
    out: list[tuple[str, str]] = []
    title = root.find(".//{*}article-meta/{*}title-group/{*}article-title")
    if title is not None:
        out.append(("Title", _text(title)))
    for abstract in root.iterfind(".//{*}article-meta/{*}abstract"):
        text = _text(abstract)
        if text:
            out.append(("Abstract", text))
    body = root.find("{*}body")
    if body is not None:
        _body(body, [], out)
    for table in root.iter("{*}table-wrap"):
        label = table.find("{*}label")
        caption = table.find("{*}caption")
        name = " ".join(_text(e) for e in (label, caption) if e is not None) or "Table"
        rows = [
            " | ".join(_text(cell) for cell in row if _local(cell.tag) in ("td", "th"))
            for row in table.iter("{*}tr")
        ]
        out.append((name, "\n".join(r for r in rows if r)))
    return out


def _body(node: etree._Element, trail: list[str], out: list[tuple[str, str]]) -> None:
    own = [
        _text(child)
        for child in node
        if _local(child.tag) in ("p", "list", "disp-quote", "statement")
    ]
    name = " / ".join(trail) or "Body"
    if any(own):
        out.append((name, "\n".join(t for t in own if t)))
    for child in node:
        if _local(child.tag) == "sec":
            title = child.find("{*}title")
            _body(child, [*trail, _text(title) if title is not None else "Section"], out)


def jats_identifiers(path: Path, *, shown: str | None = None) -> dict[str, str]:
    """The article's own ids from ``<article-meta>``: ``{"doi": ..., "pmid": ..., "pmc": ...}``.

    Args:
        path: a JATS XML file.
        shown: how the file is named in errors.
    """
    root = _root(path, shown or str(path))
    ids = {}
    for element in root.iterfind(".//{*}article-meta/{*}article-id"):
        kind = element.get("pub-id-type")
        if kind and element.text and kind not in ids:
            ids[kind] = element.text.strip()
    return ids
