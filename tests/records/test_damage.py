"""One damaged record costs only itself, in every real export sample.

Each sample file of ../shared/data/formats (see its SOURCES.md), cut to its first records, has
one record damaged at a time: truncated, given unclosed markup, invalid bytes, nested markup
or entities (tests/records/damage.py). Every other record must arrive unchanged, field for
field, and what the damaged record became must name a line of that record. Hypothesis draws
the record, the damage and where it falls, with a fixed budget of examples and derandomised,
so the run is the same every time and takes seconds.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metasift.errors import ImportFileError
from tests.conftest import shared
from tests.records.damage import (
    DAMAGE,
    FORMAT_OF_FOLDER,
    compare,
    damage_file,
    first_records,
    read_items,
    record_spans,
)

SAMPLES = [
    "bibtex/ASySD/zotero_export.bib",
    "bibtex/PyMARE/references.bib",
    "bibtex/robvis/references.bib",
    "csv/asreview/embase.csv",
    "endnote_xml/RefLib/Dump-Converted test.xml",
    "endnote_xml/RefLib/SpiderCite demo.xml",
    "endnote_xml/RefLib/blue-light.xml",
    "endnote_xml/dedupe-sweep/tafenoquine.xml",
    "medline/RefLib/blue-light.nbib",
    "medline/biopython/pubmed_result1.txt",
    "medline/biopython/pubmed_result2.txt",
    "medline/biopython/pubmed_result3.txt",
    "medline/biopython/pubmed_result4.txt",
    "medline/rispy/example_pubmed.txt",
    "pubmed_xml/asreview/pubmed.xml",
    "pubmed_xml/biopython/pubmed1.xml",
    "pubmed_xml/biopython/pubmed4.xml",
    "pubmed_xml/biopython/pubmed5.xml",
    "pubmed_xml/biopython/pubmed6.xml",
    "pubmed_xml/biopython/pubmed7.xml",
    "ris/ASySD/ris_export.txt",
    "ris/ASySD/scopus.ris",
    "ris/ASySD/wos_test.ris",
    "ris/ASySD/zotero_export.ris",
    "ris/RefLib/blue-light.ris",
    "ris/asreview/embase.ris",
    "ris/asreview/ovid_psycinfo.ris",
    "ris/asreview/ovid_zotero.ris",
    "ris/asreview/proquest.ris",
    "ris/asreview/pubmed_endnote.txt",
    "ris/asreview/pubmed_zotero.ris",
    "ris/asreview/ris_issue_992.txt",
    "ris/asreview/scopus.ris",
    "ris/asreview/web_of_science.txt",
    "scopus_csv/litstudy/scopus_v2.csv",
    "wos_plaintext/rispy/example_wos.ris",
]
RECORDS = 20  # records kept of each file: enough neighbours, quick to read


@pytest.mark.parametrize("sample", SAMPLES)
def test_one_damaged_record_costs_only_itself(tmp_path, sample):
    source = shared("formats", *sample.split("/"))
    fmt = FORMAT_OF_FOLDER[sample.split("/")[0]]
    data = first_records(source.read_bytes(), fmt, RECORDS)
    original = tmp_path / f"original{source.suffix}"
    original.write_bytes(data)
    before = read_items(original, fmt)
    count = len(record_spans(data, fmt))
    assert count == len(before), "the test's record split disagrees with the reader"

    @settings(
        max_examples=8,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        index=st.integers(0, count - 1),
        kind=st.sampled_from(DAMAGE),
        at=st.floats(0.0, 1.0),
    )
    def check(index: int, kind: str, at: float) -> None:
        damaged, lines = damage_file(data, fmt, index, kind, at)
        path = tmp_path / f"damaged{source.suffix}"
        path.write_bytes(damaged)
        try:
            after = read_items(path, fmt)
        except ImportFileError:
            after = []  # the only record was cut to nothing: the file holds no record at all
        outcome = compare(before, after, index + 1, lines)
        assert outcome.lost == [], f"records changed or lost by damage to record {index + 1}"
        assert outcome.misplaced == []
        assert outcome.extra_records == 0

    check()


def test_the_samples_listed_are_every_sample_file():
    root = shared("formats")
    found = sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.suffix != ".md"
    )
    assert found == sorted(SAMPLES)
