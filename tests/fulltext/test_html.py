"""A JATS article rendered for reading: its sections and tables, and nothing active."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html

from metasift.fulltext.html import jats_html
from metasift.fulltext.jats import jats_sections
from tests.fulltext.conftest import FIXTURES

HOSTILE = """<?xml version="1.0"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:h="http://www.w3.org/1999/xhtml">
<front><article-meta><title-group>
<article-title onmouseover="alert(1)">Trial <italic>of</italic> cells</article-title></title-group>
<abstract><p>Forty mice<script>alert(2)</script> were treated.</p></abstract></article-meta></front>
<body>
<p>Loose paragraph with <ext-link xlink:href="javascript:alert(3)">a link</ext-link>.</p>
<sec><title>Methods</title><p style="x" onclick="alert(4)">We gave <bold>10 mg</bold>.</p>
<h:script>alert(5)</h:script><h:img src="x" onerror="alert(6)"/>
<sec><title>Statistics</title><p>t-tests<xref ref-type="bibr" rid="b1">[1]</xref>.</p></sec></sec>
<sec><title>Results</title><table-wrap><label>Table 1</label><caption><p>Outcomes</p></caption>
<table><thead><tr><th colspan="2">Arm</th><th rowspan="javascript:1">SD</th></tr></thead>
<tbody><tr><td>ADSC</td><td>12</td><td>3.1</td></tr></tbody></table></table-wrap></sec>
</body></article>
"""


@pytest.mark.parametrize("name", ["pone.0000217.nxml", "1472-6831-8-11.nxml"])
def test_sections_paragraphs_and_tables_of_a_real_article(name):
    path = FIXTURES / name
    doc = html.fromstring(jats_html(path))
    assert doc.tag == "article" and doc.get("class") == "jats"
    names = [s.get("data-section") for s in doc.iter("section", "header", "figure")]
    # Every text section and table of jats_sections is there, under the same name.
    wanted = [name for name, _ in jats_sections(path)]
    assert set(wanted) <= set(names), set(wanted) - set(names)
    assert len(doc.findall(".//p")) > 20
    assert doc.find(".//h2").text_content() == dict(jats_sections(path))["Title"]
    tables = [name for name in wanted if name.startswith("Table")]
    assert len(doc.findall(".//figure/table")) >= len(tables)


def test_nothing_active_reaches_the_page(tmp_path: Path):
    path = tmp_path / "hostile.xml"
    path.write_text(HOSTILE, encoding="utf-8")
    out = jats_html(path)
    lowered = out.lower()
    for bad in (
        "<script",
        "alert(",
        "onclick",
        "onmouseover",
        "onerror",
        "javascript:",
        "<img",
        "style=",
    ):
        assert bad not in lowered, bad
    doc = html.fromstring(out)
    assert [s.get("data-section") for s in doc.iter("section")] == [
        "Abstract",
        "Body",
        "Methods",
        "Methods / Statistics",
        "Results",
    ]
    assert doc.find(".//header/h2").text_content() == "Trial of cells"
    assert doc.find(".//strong").text == "10 mg"
    assert "a link" in out and "[1]" in out
    figure = doc.find(".//figure")
    assert figure.get("data-section") == "Table 1 Outcomes"
    th = figure.findall(".//th")
    assert th[0].get("colspan") == "2" and th[1].get("rowspan") is None
    assert [td.text for td in figure.findall(".//td")] == ["ADSC", "12", "3.1"]
