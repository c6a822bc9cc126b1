import pytest

from metasift.records.normalize import (
    clean_text,
    normalize_author,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
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
    ],
)
def test_normalize_author(raw, expected):
    assert normalize_author(raw) == expected


def test_parse_year():
    assert parse_year("2019//") == 2019
    assert parse_year("1999/08//undefined") == 1999
    assert parse_year("2006 Jan 12") == 2006
    assert parse_year(2020) == 2020
    assert parse_year("n.d.") is None


def test_clean_text():
    assert clean_text("  a\n  b &amp; <i>c</i> ", strip_tags=True) == "a b & c"
    assert clean_text("   ") is None
