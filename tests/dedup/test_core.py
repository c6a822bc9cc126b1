"""The pure de-duplication core on realistic records: every hard case, exact clusters."""

from pathlib import Path

import pytest

from metasift.dedup.cluster import cluster
from metasift.dedup.core import deduplicate
from metasift.dedup.keys import journal_tokens, journals_compatible, normalize_title, record_keys
from metasift.dedup.scoring import DISTINCT, DUPLICATE, PairEvidence, score_pair
from metasift.dedup.settings import DedupSettings, parse_settings
from metasift.errors import ProtocolError
from metasift.records.formats import read_records

HARD_CASES = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "hard_cases.jsonl"


@pytest.fixture(scope="module")
def records():
    return read_records(HARD_CASES)


def groups(result, records) -> list[list[str]]:
    return [[records[i].source_id for i in c.indices] for c in result.clusters]


def pair(result, records, kind: str) -> set[tuple[str, str]]:
    pairs = result.review if kind == "review" else result.links
    return {(records[p.a].source_id, records[p.b].source_id) for p in pairs}


def by_id(records, source_id):
    return next(r for r in records if r.source_id == source_id)


def test_exact_clusters_of_the_hard_cases(records):
    result = deduplicate(records)
    assert groups(result, records) == [
        ["cho-pubmed", "cho-embase", "cho-openalex"],
        ["shin-pubmed", "shin-wrongdoi", "shin-truncated", "shin-retracted-banner"],
        ["tnf-alpha-html", "tnf-alpha-latex"],
    ]
    assert result.duplicates_removed == 6
    assert result.review == []
    # The preprint and the conference abstract are linked to the work, not merged.
    assert pair(result, records, "links") == {
        ("cho-pubmed", "cho-preprint"),
        ("cho-embase", "cho-preprint"),
        ("cho-openalex", "cho-preprint"),
        ("shin-pubmed", "shin-abstract"),
        ("shin-wrongdoi", "shin-abstract"),
        ("shin-truncated", "shin-abstract"),
        ("shin-abstract", "shin-retracted-banner"),
    }
    assert {p.reason for p in result.links} == {"preprint", "conference"}


def test_primary_is_most_complete_and_missing_fields_are_filled(records):
    result = deduplicate(records)
    cho = result.clusters[0]
    assert records[cho.primary].source_id == "cho-pubmed"
    assert cho.merged == {}  # the PubMed record already has abstract, DOI and PMID
    shin = result.clusters[1]
    assert records[shin.primary].source_id == "shin-pubmed"
    # Shin's PubMed record lacks only the abstract, and no member has one: nothing invented.
    assert shin.merged == {} and shin.filled_from == {}


def test_merge_fills_abstract_doi_and_pmid_from_members(records):
    embase = by_id(records, "cho-embase")
    pubmed = by_id(records, "cho-pubmed")
    pubmed_without_abstract = type(pubmed).from_dict({**pubmed.to_dict(), "abstract": None})
    embase_with_abstract = type(embase).from_dict({**embase.to_dict(), "abstract": pubmed.abstract})
    result = deduplicate([embase_with_abstract, pubmed_without_abstract])
    (c,) = result.clusters
    # An abstract weighs as much as DOI and PMID together: the earlier record leads.
    assert c.primary == 0
    assert c.merged == {
        "doi": "10.1186/s13287-018-0939-5",
        "pmid": "29996938",
        "journal_abbrev": "Stem Cell Res Ther",
    }
    assert c.filled_from == {"doi": 1, "pmid": 1, "journal_abbrev": 1}


def test_every_merge_records_its_evidence(records):
    result = deduplicate(records)
    members = {records[m.index].source_id: m for c in result.clusters for m in c.members}
    assert members["cho-pubmed"].evidence is None  # the primary
    embase = members["cho-embase"].evidence
    assert embase.verdict == DUPLICATE and embase.rule == "score"
    assert {"title", "abstract"} - set(embase.matched) == {"abstract"}
    assert {"title", "authors", "year", "journal", "volume", "pages", "issue"} <= set(
        embase.matched
    )
    wrong = members["shin-wrongdoi"].evidence
    assert wrong.rule == "wrong doi" and "doi" in wrong.conflicts


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("cho-pubmed", "cho-correction"),  # erratum sharing the article's DOI
        ("cho-pubmed", "cho-comment"),
        ("shin-pubmed", "shin-retraction"),
        ("editorial-2019", "editorial-2020"),
        ("reply-a", "reply-b"),
        ("review-2017", "review-2021"),
    ],
)
def test_not_duplicates(records, a, b):
    evidence = score_pair(
        record_keys(by_id(records, a)), record_keys(by_id(records, b)), DedupSettings()
    )
    assert evidence.verdict == DISTINCT, evidence


def test_erratum_flagged_only_by_publication_type_is_kept_apart(records):
    article = by_id(records, "cho-pubmed")
    erratum = type(article).from_dict(
        {**article.to_dict(), "pages": "242", "publication_types": ["Published Erratum"]}
    )
    evidence = score_pair(record_keys(article), record_keys(erratum), DedupSettings())
    assert (evidence.verdict, evidence.rule) == (DISTINCT, "kind")


def test_preprints_and_abstracts_merge_only_when_the_protocol_says_so(records):
    settings = DedupSettings(merge_preprints=True)
    result = deduplicate(records, settings)
    assert ["cho-pubmed", "cho-embase", "cho-openalex", "cho-preprint"] in groups(result, records)
    assert not any("shin-abstract" in g for g in groups(result, records))
    settings = DedupSettings(merge_conference_abstracts=True)
    result = deduplicate(records, settings)
    assert [
        "shin-pubmed",
        "shin-wrongdoi",
        "shin-truncated",
        "shin-abstract",
        "shin-retracted-banner",
    ] in groups(result, records)


def test_identical_generic_records_still_merge():
    from metasift.records.model import Record

    editorial = dict(
        title="Editorial",
        authors=["Griffiths, C. E. M."],
        year=2019,
        journal="British Journal of Dermatology",
        volume="180",
        issue="1",
        pages="1-2",
    )
    result = deduplicate([Record(**editorial), Record(**{**editorial, "journal": "Br J Dermatol"})])
    assert [c.indices for c in result.clusters] == [[0, 1]]


def test_title_normalisation_of_markup_and_unicode():
    html = "Adipose stem cells suppress <i>TNF-α</i>–induced inflammation <sup>1</sup>"
    latex = r"Adipose stem cells suppress \emph{TNF-$\alpha$}-induced inflammation {1}"
    plain = "ADIPOSE STEM CELLS SUPPRESS TNF-ALPHA-INDUCED INFLAMMATION 1."
    assert normalize_title(html) == normalize_title(latex) == normalize_title(plain)
    assert normalize_title("Ｓｔｅｍ ｃｅｌｌｓ in Ärzte") == "stem cells in arzte"
    assert normalize_title("[Stammzellen bei Neurodermitis].") == "stammzellen bei neurodermitis"
    assert normalize_title("Терапия стволовыми клетками") == "терапия стволовыми клетками"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Am J Cardiol", "The American journal of cardiology", True),
        (
            "Proc Natl Acad Sci U S A",
            "Proceedings of the National Academy of Sciences of the USA",
            False,
        ),
        ("Proc Natl Acad Sci U S A", "Proceedings of the National Academy of Sciences U S A", True),
        ("JAMA", "Journal of the American Medical Association", True),
        ("J Clin Endocrinol Metab", "Journal of Clinical Endocrinology & Metabolism", True),
        ("Circulation. Conference: American Heart Association 2012", "Circulation", True),
        ("J Cardiol", "Journal of Interventional Cardiology", False),
        ("Diabetologia", "Diabetes", False),
    ],
)
def test_journal_abbreviations(a, b, same):
    assert journals_compatible(journal_tokens(a), journal_tokens(b)) is same


def test_authors_in_other_formats_agree(records):
    a = record_keys(by_id(records, "cho-pubmed"))  # "Cho BS"
    b = record_keys(by_id(records, "cho-openalex"))  # "Byong Seung Cho"
    assert a.authors == b.authors == (("cho", "b"), ("kim", "j"), ("ha", "d"), ("yi", "y"))


def test_chaining_guard_keeps_two_studies_apart(records):
    """B resembles A and C, but A and C are different articles: B joins A, C stays out."""
    from metasift.records.model import Record

    title = "Mesenchymal stem cell therapy for atopic dermatitis: a systematic review"
    a = Record(
        title=title,
        authors=["Kim, H."],
        year=2020,
        journal="Stem Cell Res Ther",
        volume="11",
        pages="100",
        doi="10.1186/s13287-020-01111-1",
    )
    b = Record(title=title, authors=["Kim, H."], year=2020, journal="Stem Cell Res Ther")
    c = Record(
        title=title,
        authors=["Kim, H."],
        year=2020,
        journal="Stem Cell Res Ther",
        volume="11",
        pages="250",
        doi="10.1186/s13287-020-02222-2",
    )
    result = deduplicate([a, b, c])
    assert [cl.indices for cl in result.clusters] == [[0, 1]]
    ((x, y, reason),) = [(p.a, p.b, p.reason) for p in result.review]
    assert (x, y) == (1, 2) and reason.startswith("kept apart: doi differ")


def test_cluster_guard_and_decisions_on_the_pure_function():
    dup = PairEvidence(DUPLICATE, 12.0, "score", ("title",), ())
    weaker = PairEvidence(DUPLICATE, 11.0, "score", ("title",), ())
    conflicts = {(0, 2): "doi"}

    def conflict(x, y):
        return conflicts.get((min(x, y), max(x, y)))

    out = cluster(4, [(0, 1, dup), (1, 2, weaker)], conflict)
    assert out.clusters == [[0, 1]]
    assert [(r.a, r.b) for r in out.refused] == [(1, 2)]
    # A reviewer's "different" is never crossed, "same" joins without a score.
    out = cluster(4, [(0, 1, dup)], conflict, must_link=[(2, 3)], cannot_link=[(0, 1)])
    assert out.clusters == [[2, 3]]


def test_deterministic_and_independent_of_input_order(records):
    first = deduplicate(records)
    again = deduplicate(records)
    assert groups(first, records) == groups(again, records)
    assert [(p.a, p.b) for p in first.links] == [(p.a, p.b) for p in again.links]
    reversed_records = list(reversed(records))
    flipped = deduplicate(reversed_records)
    assert sorted(sorted(g) for g in groups(flipped, reversed_records)) == sorted(
        sorted(g) for g in groups(first, records)
    )


def test_labels_number_clusters_in_order_of_appearance(records):
    labels = deduplicate(records).labels()
    assert labels[:4] == [1, 1, 1, 2]
    assert len(set(labels)) == len(records) - 6


def test_protocol_section_is_validated_with_key_paths():
    settings = parse_settings({"merge_preprints": True, "thresholds": {"duplicate": 12}})
    assert settings.merge_preprints and settings.thresholds.duplicate == 12
    with pytest.raises(ProtocolError, match=r"key 'dedup\.thresholds\.reviw' is not a known"):
        parse_settings({"thresholds": {"reviw": 3}})
    with pytest.raises(ProtocolError, match=r"key 'dedup\.merge_preprints'"):
        parse_settings({"merge_preprints": "sometimes"})
    with pytest.raises(ProtocolError, match=r"dedup\.thresholds.*must not exceed"):
        parse_settings({"thresholds": {"review": 11, "duplicate": 10}})


def test_blocking_does_not_change_with_string_hashing():
    """Candidate pairs (MinHash bands) are the same in every process, whatever the hash seed."""
    import os
    import subprocess
    import sys

    code = (
        "from metasift.dedup.blocking import minhash_bands\n"
        "owners, bands = minhash_bands(['effect of x on y in mice', 'y on x effect in rats',"
        " 'a randomised trial of z in adults'])\n"
        "print(owners.tolist(), bands.tolist())"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1
