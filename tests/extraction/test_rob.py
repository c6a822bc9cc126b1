"""The risk-of-bias algorithms on the published decision paths."""

import pytest

from metasift.extraction import rob
from metasift.extraction.rob import HIGH, LOW, SOME, RobError


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"1.1": "Y", "1.2": "Y", "1.3": "N"}, LOW),
        ({"1.1": "NI", "1.2": "PY", "1.3": "NI"}, LOW),
        ({"1.1": "Y", "1.2": "Y", "1.3": "PY"}, SOME),
        ({"1.1": "N", "1.2": "Y", "1.3": "N"}, SOME),
        ({"1.1": "PN", "1.2": "PY", "1.3": "Y"}, SOME),
        ({"1.1": "Y", "1.2": "NI", "1.3": "N"}, SOME),
        ({"1.1": "Y", "1.2": "NI", "1.3": "NI"}, SOME),
        ({"1.1": "Y", "1.2": "NI", "1.3": "Y"}, HIGH),
        ({"1.1": "Y", "1.2": "N", "1.3": "N"}, HIGH),
        ({"1.1": "Y", "1.2": "PN", "1.3": "NI"}, HIGH),
    ],
)
def test_rob2_domain1(answers, expected):
    assert rob.rob2_domain1(answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        # Part 1 low (blinded), part 2 low (ITT).
        ({"2.1": "N", "2.2": "PN", "2.6": "Y"}, LOW),
        # Aware, but no deviations due to the trial context.
        ({"2.1": "Y", "2.2": "Y", "2.3": "N", "2.6": "PY"}, LOW),
        # No information on deviations -> some concerns.
        ({"2.1": "Y", "2.2": "N", "2.3": "NI", "2.6": "Y"}, SOME),
        # Deviations that did not affect the outcome.
        ({"2.1": "NI", "2.2": "N", "2.3": "Y", "2.4": "PN", "2.6": "Y"}, SOME),
        # Deviations affecting the outcome, balanced.
        ({"2.1": "Y", "2.2": "Y", "2.3": "Y", "2.4": "Y", "2.5": "PY", "2.6": "Y"}, SOME),
        # ... unbalanced or unknown.
        ({"2.1": "Y", "2.2": "Y", "2.3": "PY", "2.4": "NI", "2.5": "NI", "2.6": "Y"}, HIGH),
        # Part 2: inappropriate analysis without substantial impact, then with.
        ({"2.1": "N", "2.2": "N", "2.6": "N", "2.7": "PN"}, SOME),
        ({"2.1": "N", "2.2": "N", "2.6": "NI", "2.7": "NI"}, HIGH),
    ],
)
def test_rob2_domain2(answers, expected):
    assert rob.rob2_domain2(answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"3.1": "Y"}, LOW),
        ({"3.1": "N", "3.2": "PY"}, LOW),
        ({"3.1": "NI", "3.2": "N", "3.3": "PN"}, LOW),
        ({"3.1": "N", "3.2": "N", "3.3": "Y", "3.4": "PN"}, SOME),
        ({"3.1": "N", "3.2": "PN", "3.3": "NI", "3.4": "NI"}, HIGH),
        ({"3.1": "PN", "3.2": "N", "3.3": "PY", "3.4": "Y"}, HIGH),
    ],
)
def test_rob2_domain3(answers, expected):
    assert rob.rob2_domain3(answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"4.1": "Y"}, HIGH),
        ({"4.1": "N", "4.2": "PY"}, HIGH),
        ({"4.1": "N", "4.2": "N", "4.3": "N"}, LOW),
        ({"4.1": "PN", "4.2": "N", "4.3": "Y", "4.4": "PN"}, LOW),
        ({"4.1": "N", "4.2": "PN", "4.3": "Y", "4.4": "Y", "4.5": "N"}, SOME),
        ({"4.1": "N", "4.2": "N", "4.3": "NI", "4.4": "PY", "4.5": "NI"}, HIGH),
        # 4.2 without information: at best some concerns.
        ({"4.1": "N", "4.2": "NI", "4.3": "N"}, SOME),
        ({"4.1": "NI", "4.2": "NI", "4.3": "Y", "4.4": "N"}, SOME),
        ({"4.1": "N", "4.2": "NI", "4.3": "Y", "4.4": "Y", "4.5": "PN"}, SOME),
        ({"4.1": "N", "4.2": "NI", "4.3": "Y", "4.4": "Y", "4.5": "Y"}, HIGH),
    ],
)
def test_rob2_domain4(answers, expected):
    assert rob.rob2_domain4(answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"5.1": "Y", "5.2": "N", "5.3": "PN"}, LOW),
        ({"5.1": "NI", "5.2": "N", "5.3": "N"}, SOME),
        ({"5.1": "Y", "5.2": "NI", "5.3": "N"}, SOME),
        ({"5.1": "Y", "5.2": "N", "5.3": "PY"}, HIGH),
        ({"5.1": "N", "5.2": "Y", "5.3": "NI"}, HIGH),
    ],
)
def test_rob2_domain5(answers, expected):
    assert rob.rob2_domain5(answers) == expected


def test_rob2_overall_rule():
    low = {f"D{i}": LOW for i in range(1, 6)}
    assert rob.rob2_overall(low) == LOW
    assert rob.rob2_overall({**low, "D3": SOME}) == SOME
    assert rob.rob2_overall({**low, "D2": SOME, "D4": HIGH}) == HIGH
    two = {**low, "D2": SOME, "D5": SOME}
    assert rob.rob2_overall(two) == SOME
    assert rob.rob2_overall(two, multiple_concerns_high=True) == HIGH
    assert rob.rob2_overall({**low, "D2": SOME}, multiple_concerns_high=True) == SOME
    with pytest.raises(RobError, match="missing D5"):
        rob.rob2_overall({f"D{i}": LOW for i in range(1, 5)})


def test_rob2_answers_are_checked():
    with pytest.raises(RobError, match=r"question 1\.3 needs an answer"):
        rob.rob2_domain1({"1.1": "Y", "1.2": "Y"})
    with pytest.raises(RobError, match="'MAYBE' is not one of"):
        rob.rob2_domain1({"1.1": "Y", "1.2": "maybe", "1.3": "N"})


def test_robins_i_overall():
    low = {f"D{i}": "Low" for i in range(1, 8)}
    assert rob.robins_i_overall(low) == "Low"
    assert rob.robins_i_overall({**low, "D1": "Moderate"}) == "Moderate"
    assert rob.robins_i_overall({**low, "D1": "Moderate", "D6": "Serious"}) == "Serious"
    assert rob.robins_i_overall({**low, "D6": "Serious", "D2": "Critical"}) == "Critical"
    assert rob.robins_i_overall({**low, "D5": "No information"}) == "No information"
    assert rob.robins_i_overall({**low, "D5": "No information", "D1": "Serious"}) == "Serious"
    # Missing information only outside the key domains does not decide.
    assert (
        rob.robins_i_overall(
            {**low, "D5": "No information", "D3": "Moderate"}, key_domains=["D1", "D2"]
        )
        == "Moderate"
    )


def test_syrcle_items():
    assert [rob.syrcle_item(a) for a in ("Yes", "no", "Unclear")] == ["Low", "High", "Unclear"]
    assert rob.domain_judgement("syrcle", "4", {"4": "No"}) == "High"
    assert rob.overall_judgement("syrcle", {"1": "Low"}) is None
    assert len(rob.SYRCLE_ITEMS) == 10 and len(rob.ROBINS_I_DOMAINS) == 7
    assert [len(d.questions) for d in rob.ROB2_DOMAINS] == [3, 7, 4, 5, 3]
