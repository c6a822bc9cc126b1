"""JATS full texts read by section, from the real articles copied as fixtures."""

from __future__ import annotations

from metasift.fulltext import jats_sections
from metasift.fulltext.files import sniff
from tests.fulltext.conftest import FIXTURES


def test_sections_tables_and_words_of_a_real_article():
    sections = dict(jats_sections(FIXTURES / "1472-6831-8-11.nxml"))
    assert sections["Title"].startswith("The Dutch version of the Oral Health Impact Profile")
    assert sections["Abstract"].startswith("Background The purpose of this study")
    sample = sections["Methods / Study sample and procedure"]
    assert "a convenience sample of 119" in sample
    table = next(text for name, text in sections.items() if name.startswith("Table 1 "))
    assert "Total OHIP-NL (49) | 44.1 | 40.2 | 0.9 | 0.8" in table


def test_sniff_says_what_content_is():
    assert sniff(b"%PDF-1.4\n") == "application/pdf"
    assert sniff(b"\n  <!DOCTYPE html><html>") == "text/html"
    assert sniff(b'<?xml version="1.0"?><article>') == "application/xml"
    assert sniff(b"PK\x03\x04") == "a ZIP archive"
    assert sniff(b"") == "empty"


def test_text_parts_of_stored_texts_name_their_page_or_section(project):
    from metasift.fulltext import text_parts
    from metasift.workflow.fulltext import attach_report

    def attach(record_id, name):
        return attach_report(
            project.engine, project.protocol, project.root, record_id, FIXTURES / name, "ana"
        )

    pdf = text_parts(project.root, attach(1, "pone.0000217.pdf"))
    assert [name for name, _ in pdf] == ["page 1", "page 2", "page 3"]
    assert "Population Genetic Approach" in pdf[0][1]
    xml = dict(text_parts(project.root, attach(2, "1472-6831-8-11.nxml")))
    assert "a convenience sample of 119" in xml["Methods / Study sample and procedure"]


def test_a_changed_file_is_not_read(project):
    import pytest

    from metasift.errors import RetrievalError
    from metasift.fulltext import text_parts
    from metasift.workflow.fulltext import attach_report

    text = attach_report(
        project.engine, project.protocol, project.root, 1, FIXTURES / "pone.0000217.pdf", "ana"
    )
    with (project.root / text.path).open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(RetrievalError, match="no longer matches its checksum"):
        text_parts(project.root, text)
