"""Valid but unusual XML around the records: DOCTYPEs with internal subsets, comments, CDATA.

Records are split at the byte level (metasift.records.formats.xmlstream): a record's tag that
sits inside a DOCTYPE's entity value, a comment or a CDATA section is text, not a record
boundary. Each case must import exactly the records of the undamaged file, field for field.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metasift.records.formats import read_file
from metasift.records.formats.base import Rejection
from metasift.records.importing import import_file
from metasift.store import create_db_engine, migrate

FORMATS = Path(__file__).parents[1] / "fixtures" / "formats"
SAMPLES = {
    "pubmed-xml": (FORMATS / "pubmed_xml/asreview/pubmed.xml", b"PubmedArticleSet"),
    "endnote-xml": (FORMATS / "endnote_xml/RefLib/blue-light.xml", b"xml"),
}
# Internal subsets an export never writes but XML allows; none may add or drop a record.
SUBSETS = {
    "parameter entity declaring an entity": b"""<!ENTITY % e "<!ENTITY x 'y'>"> %e;""",
    "']' in an entity value": b'<!ENTITY x "a]b">',
    "'>' and ']>' in a comment": b"<!-- a > b ]> c -->",
    "']>' in a processing instruction": b"<?pi ]> ?>",
    "record tags in an entity value": (
        b'<!ENTITY x "<PubmedArticle></PubmedArticle><record></record>">'
    ),
    "external entity (XXE)": b'<!ENTITY x SYSTEM "file:///etc/passwd">',
    "billion laughs": b'<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">',
}


def _fields(items: list) -> list[dict]:
    out = []
    for item in items:
        assert not isinstance(item, Rejection), item.describe()
        fields = item.to_dict()
        fields.pop("source_file")
        out.append(fields)
    return out


def _with_doctype(data: bytes, root: bytes, subset: bytes) -> bytes:
    at = data.index(b"<" + root)
    declaration = data[: data.index(b"?>") + 2] if data.startswith(b"<?xml") else b""
    doctype = b"<!DOCTYPE " + root + b" [\n" + subset + b"\n]>\n"
    return declaration + b"\n" + doctype + data[at:]


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
@pytest.mark.parametrize("case", sorted(SUBSETS))
def test_internal_subsets_neither_add_nor_drop_records(tmp_path, fmt, case):
    sample, root = SAMPLES[fmt]
    data = sample.read_bytes()
    expected = _fields(list(read_file(sample, fmt)))
    path = tmp_path / "doctype.xml"
    path.write_bytes(_with_doctype(data, root, SUBSETS[case]))
    assert _fields(list(read_file(path, fmt))) == expected


def test_parameter_entity_dtd_imports_every_article_once(tmp_path):
    # A fuzzer's find: "read 20, imported 20" from 10 articles behind this DOCTYPE.
    sample, root = SAMPLES["pubmed-xml"]
    path = tmp_path / "pe.xml"
    path.write_bytes(
        _with_doctype(sample.read_bytes(), root, SUBSETS["parameter entity declaring an entity"])
    )
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(engine)
    summary = import_file(engine, path)
    assert (summary.read, summary.imported, summary.rejected, summary.merged) == (10, 10, 0, 0)


def test_entity_declared_in_the_doctype_is_not_expanded_in_a_record(tmp_path):
    sample, root = SAMPLES["pubmed-xml"]
    data = _with_doctype(sample.read_bytes(), root, SUBSETS["parameter entity declaring an entity"])
    path = tmp_path / "use.xml"
    path.write_bytes(data.replace(b"<ArticleTitle>", b"<ArticleTitle>&x;", 1))
    items = list(read_file(path, "pubmed-xml"))
    assert len(items) == 10
    (rejection,) = [i for i in items if isinstance(i, Rejection)]
    assert rejection.position == 1 and "Entity 'x' not defined" in rejection.reason


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_record_tags_in_comments_and_cdata_between_records_are_text(tmp_path, fmt):
    sample, _ = SAMPLES[fmt]
    data = sample.read_bytes()
    expected = _fields(list(read_file(sample, fmt)))
    tag = b"PubmedArticle" if fmt == "pubmed-xml" else b"record"
    second = data.index(b"<" + tag + b">", data.index(b"<" + tag + b">") + 1)
    hiding = b"<!-- <" + tag + b"> a commented-out record </" + tag + b"> -->\n"
    path = tmp_path / "comment.xml"
    path.write_bytes(data[:second] + hiding + data[second:])
    assert _fields(list(read_file(path, fmt))) == expected
