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
