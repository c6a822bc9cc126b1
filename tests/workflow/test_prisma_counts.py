import pytest

from metasift.workflow.prisma import OtherMethodsFlow, PrismaCounts, PrismaError


def consistent() -> PrismaCounts:
    return PrismaCounts(
        databases={"PubMed": 120, "Europe PMC": 100, "OpenAlex": 80},
        duplicates=90,
        automation_ineligible=40,
        screened=170,
        excluded_screening=140,
        sought=30,
        not_retrieved=2,
        assessed=28,
        excluded_full_text={"wrong study type": 6, "wrong condition": 4, "wrong intervention": 3},
        included_studies=14,
        included_reports=15,
    )


def test_consistent_counts_pass_and_serialise():
    counts = consistent()
    counts.check()
    data = counts.as_json()
    assert data["identification"]["databases"] == {"PubMed": 120, "Europe PMC": 100, "OpenAlex": 80}
    assert data["removed_before_screening"] == {
        "duplicates": 90,
        "automation_ineligible": 40,
        "other": 0,
    }
    assert data["excluded_full_text"]["wrong study type"] == 6
    assert counts.identified == 300


@pytest.mark.parametrize(
    ("change", "box"),
    [
        ({"screened": 171}, "Records screened"),
        ({"sought": 29}, "Reports sought for retrieval"),
        ({"assessed": 27}, "Reports assessed for eligibility"),
        ({"included_reports": 16}, "Reports of included studies"),
    ],
)
def test_a_box_that_does_not_add_up_is_named(change, box):
    counts = consistent()
    for key, value in change.items():
        setattr(counts, key, value)
    with pytest.raises(PrismaError, match=f"PRISMA box '{box}'"):
        counts.check()


def test_more_studies_than_reports_is_an_error():
    counts = consistent()
    counts.included_studies = 16
    with pytest.raises(PrismaError, match="Studies included in review"):
        counts.check()


def test_other_methods_join_the_included_reports():
    counts = consistent()
    counts.other_methods = {"Citation searching": 12}
    counts.other_flow = OtherMethodsFlow(
        sought=12, not_retrieved=1, assessed=11, excluded={"wrong condition": 9}, included_reports=2
    )
    with pytest.raises(PrismaError, match="Reports of included studies"):
        counts.check()
    counts.included_reports = 17
    counts.check()
    assert counts.with_other_methods


def test_tally_is_a_pure_function_of_the_decisions():
    """The PRISMA arithmetic from plain data, without a store: two databases with one
    duplicate, dual screening with a conflict and a record awaiting its second reviewer, a
    report not retrieved, one excluded with a reason and a study of two reports."""
    from metasift.workflow.counts import ImportCount, Snapshot, tally
    from metasift.workflow.decisions import Verdict
    from metasift.workflow.fulltext import Report

    def final(rid, decision, reason=None):
        return Verdict(rid, "final", decision, reason, "consensus")

    def report(rid, study, verdict, retrieval="retrieved"):
        return Report(rid, study, retrieval, None, None, verdict)

    snap = Snapshot(
        imports=[
            ImportCount(1, "PubMed", "database", n_read=6, n_merged=0, n_rejected=1),
            ImportCount(2, "Embase", "database", n_read=3, n_merged=0, n_rejected=0),
        ],
        # Records 1-5 from PubMed (its 6th was rejected), 6-8 from Embase; 6 duplicates 1.
        import_of={1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 2, 7: 2, 8: 2},
        cluster_of={1: 100, 6: 100},
        screenable=[1, 2, 3, 4, 5, 7, 8],
        title_abstract={
            1: final(1, "include"),
            2: final(2, "include"),
            3: final(3, "exclude"),
            4: Verdict(4, "conflict", votes={"ana": "include", "ben": "exclude"}),
            5: Verdict(5, "pending", votes={"ana": "exclude"}),
            7: final(7, "include"),
        },
        reports=[
            report(1, 1, final(1, "include")),
            report(2, 1, final(2, "include")),
            report(7, 7, None, retrieval="not_retrieved"),
        ],
        exclusion_reasons=["wrong study type"],
    )
    counts = tally(snap)
    assert counts.databases == {"PubMed": 6, "Embase": 3}
    assert (counts.duplicates, counts.other_removed) == (1, 1)
    assert (counts.screened, counts.excluded_screening, counts.sought) == (4, 1, 3)
    assert (counts.not_retrieved, counts.assessed) == (1, 2)
    assert (counts.included_reports, counts.included_studies) == (2, 1)
    assert counts.pending == {
        "records awaiting title/abstract screening": 1,
        "title/abstract conflicts to resolve": 1,
        "records awaiting a second reviewer's title/abstract decision": 1,
    }
    counts.check(final=False)
    with pytest.raises(PrismaError, match="not finished"):
        counts.check()
    # A draft whose boxes do not add up, pending counted in, is still refused.
    counts.screened += 1
    with pytest.raises(PrismaError, match="'Records screened' is 5"):
        counts.check(final=False)


def test_an_import_that_gave_nothing_is_no_source_and_the_previous_version_is_not_counted_again():
    """A corrupt export (read 1, rejected 1) is not a database of the diagram; the studies
    of an updated review's previous version are neither identified nor screened, and a record
    found again as their duplicate is a duplicate removed."""
    from metasift.workflow.counts import ImportCount, Snapshot, tally
    from metasift.workflow.decisions import Verdict

    snap = Snapshot(
        imports=[
            ImportCount(1, "PubMed", "database", n_read=3, n_merged=0, n_rejected=0),
            ImportCount(2, "trunc.xml", "database", n_read=1, n_merged=0, n_rejected=1),
            ImportCount(3, "Review 2021", "previous", n_read=2, n_merged=0, n_rejected=0),
        ],
        # Record 3 (PubMed) is record 10 of the previous version found again.
        import_of={1: 1, 2: 1, 3: 1, 10: 3, 11: 3},
        cluster_of={3: 100, 10: 100},
        screenable=[1, 2],  # the store screens neither the previous studies nor record 3
        title_abstract={1: Verdict(1, "final", "exclude"), 2: Verdict(2, "final", "exclude")},
    )
    counts = tally(snap)
    assert counts.databases == {"PubMed": 3}
    assert (counts.duplicates, counts.other_removed, counts.screened) == (1, 0, 2)
    assert (counts.previous_studies, counts.total_studies, counts.updated) == (2, 2, True)
    counts.check()
    assert ("Total studies included in review", 2) in counts.rows()
