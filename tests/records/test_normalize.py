import pytest

from metasift.records.model import Record
from metasift.records.normalize import (
    clean_text,
    normalize_author,
    normalize_doi,
    normalize_pages,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
    set_authors,
    split_author_run,
    split_issns,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1186/S13287-018-0939-5", "10.1186/s13287-018-0939-5"),
        ("https://doi.org/10.3389/fimmu.2025.1617157", "10.3389/fimmu.2025.1617157"),
        ("http://dx.doi.org/10.1002/dmrr.2604.", "10.1002/dmrr.2604"),
        ("doi: 10.1000/XYZ123", "10.1000/xyz123"),
        ("10.1016/j.jaad.2019.01.001 [doi]", "10.1016/j.jaad.2019.01.001"),
        ("https://doi.org/10.1002%2Fabc.1", "10.1002/abc.1"),
        ("not a doi", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_doi(raw, expected):
    assert normalize_doi(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("32164386", "32164386"),
        ("PMID: 32164386", "32164386"),
        ("https://pubmed.ncbi.nlm.nih.gov/31793330", "31793330"),
        (12345, "12345"),
        ("NA", None),
        ("", None),
    ],
)
def test_normalize_pmid(raw, expected):
    assert normalize_pmid(raw) == expected


def test_normalize_pmcid():
    assert normalize_pmcid("pmc 12411529") == "PMC12411529"
    assert normalize_pmcid("https://pmc.ncbi.nlm.nih.gov/articles/PMC12411529/") == "PMC12411529"
    assert normalize_pmcid("12411529") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Smith, John Andrew", "Smith, J. A."),
        ("Smith, J.A.", "Smith, J. A."),
        ("Smith JA", "Smith, J. A."),
        ("Smith J", "Smith, J."),
        ("John Smith", "Smith, J."),
        ("Jean-Paul Sartre", "Sartre, J.-P."),
        ("Ludwig van Beethoven", "van Beethoven, L."),
        ("van der Berg J", "van der Berg, J."),
        ("Parkes-Loach, PS", "Parkes-Loach, P. S."),
        ("Smith, John, Jr.", "Smith, J."),
        ("WHO Study Group on Tuberculosis", "WHO Study Group on Tuberculosis"),
        ("Cochrane", "Cochrane"),
        # Group authors from real exports (MEDLINE CN, Web of Science CA).
        ("IADVL Task Force", "IADVL Task Force"),
        ("SPRINT Research Group", "SPRINT Research Group"),
        # Web of Science / MEDLINE initials that spell a suffix are initials.
        ("Platt, SR", "Platt, S. R."),
        ("Coates JR", "Coates, J. R."),
        ("Smith JR Jr", "Smith, J. R."),
        ("Smith, Jr.", "Smith"),
        ("Smith Jr.", "Smith"),
        # Surname first with spaced or run-together initials (Embase, EndNote).
        ("Adler D.G.", "Adler, D. G."),
        ("Lamb B. T.", "Lamb, B. T."),
        ("Moeller Chávez G.", "Moeller Chávez, G."),
        ("LI J", "LI, J."),
        ("de Jong, Elke M G J", "de Jong, E. M. G. J."),
    ],
)
def test_normalize_author(raw, expected):
    assert normalize_author(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # EndNote: the last word taken for the surname and moved to the front.
        (
            "J., Kass N. Faden R. Fabi R. E. Pitcavage",
            ["Kass N.", "Faden R.", "Fabi R. E.", "Pitcavage J."],
        ),
        (
            "M., Mijaylova Nacheva P. Moeller Chávez G. Juárez Herrera",
            ["Mijaylova Nacheva P.", "Moeller Chávez G.", "Juárez Herrera M."],
        ),
        ("J., Selkoe D. J.Hardy", ["Selkoe D. J.", "Hardy J."]),
        (
            "Wagner, Lamb B. T. Call L. M. Holtz G.",
            ["Lamb B. T.", "Call L. M.", "Holtz G.", "Wagner"],
        ),
        ("Golde T. E., DeKosky S. T., Galasko D.", ["Golde T. E.", "DeKosky S. T.", "Galasko D."]),
        (
            "GotzJurgen, MatamalesMiriam, GotzNaeman",
            ["GotzJurgen", "MatamalesMiriam", "GotzNaeman"],
        ),
        # Single names stay whole.
        ("Smith, John, Jr.", ["Smith, John, Jr."]),
        ("Utens, Elisabeth M. W. J", ["Utens, Elisabeth M. W. J"]),
        ("de la Cruz, Maria", ["de la Cruz, Maria"]),
        ("", []),
    ],
)
def test_split_author_run(raw, expected):
    assert split_author_run(raw) == expected


def test_set_authors_splits_packed_values():
    record = Record()
    set_authors(record, ["Golde T. E., DeKosky S. T., Galasko D.", "  ", "Smith, John"])
    assert record.authors_raw == ["Golde T. E.", "DeKosky S. T.", "Galasko D.", "Smith, John"]
    assert record.authors == ["Golde, T. E.", "DeKosky, S. T.", "Galasko, D.", "Smith, J."]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0964-6906 (Print)0964-6906", ["0964-6906"]),
        ("0894-9867, 0894-9867", ["0894-9867"]),
        ("03064530 (ISSN)", ["0306-4530"]),
        (["2211-3681", "2211-369x"], ["2211-3681", "2211-369X"]),
        ("0094-2405 (Linking)", ["0094-2405"]),
        ("978-0-12-345678-9", []),
        ("9780123456789", []),
        (None, []),
    ],
)
def test_split_issns(raw, expected):
    assert split_issns(raw) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("152", "160", "152-160"),
        ("349-69", None, "349-69"),
        ("22-22", None, "22"),
        ("1165 -- 1188", None, "1165-1188"),
        ("12–15", None, "12-15"),
        ("No", "Specified", None),
        ("e16231", None, "e16231"),
        ("S1", "S1", "S1"),
        ("12-15", "20", "12-15"),
        (None, "5", "5"),
        ("", None, None),
    ],
)
def test_normalize_pages(start, end, expected):
    assert normalize_pages(start, end) == expected


def test_parse_year():
    assert parse_year("2019//") == 2019
    assert parse_year("1999/08//undefined") == 1999
    assert parse_year("2006 Jan 12") == 2006
    assert parse_year(2020) == 2020
    assert parse_year("n.d.") is None


def test_clean_text():
    assert clean_text("  a\n  b &amp; <i>c</i> ", strip_tags=True) == "a b & c"
    assert clean_text("   ") is None


def test_a_citation_with_authors_year_and_an_id_is_content():
    from metasift.records.normalize import record_has_content

    trial = Record(authors=["Aronson"], year=1948, source_id="dat.bcg trial 1")
    assert record_has_content(trial)
    assert not record_has_content(Record(authors=["Aronson"], year=1948))
    assert not record_has_content(Record(year=1948, source_id="7"))
