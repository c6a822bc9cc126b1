"""Which signalling questions apply, as RoB 2 and ROBINS-I say, and the proposal built on them."""

import pytest

from metasift.extraction import rob
from metasift.extraction.rob import HIGH, LOW, SOME, RobError


@pytest.mark.parametrize(
    ("domain", "answers", "shown"),
    [
        # Domain 1 asks all three questions whatever the answers.
        ("D1", {}, ["1.1", "1.2", "1.3"]),
        ("D1", {"1.1": "Y", "1.2": "Y"}, ["1.1", "1.2", "1.3"]),
        # 2.3 once 2.1 or 2.2 is Y/PY/NI; 2.4 after Y/PY to 2.3; 2.5 after Y/PY/NI to 2.4.
        ("D2", {}, ["2.1", "2.2", "2.6"]),
        ("D2", {"2.1": "N", "2.2": "PN"}, ["2.1", "2.2", "2.6"]),
        ("D2", {"2.1": "N", "2.2": "NI"}, ["2.1", "2.2", "2.3", "2.6"]),
        ("D2", {"2.1": "Y", "2.3": "NI"}, ["2.1", "2.2", "2.3", "2.6"]),
        ("D2", {"2.1": "Y", "2.3": "PY", "2.4": "PN"}, ["2.1", "2.2", "2.3", "2.4", "2.6"]),
        (
            "D2",
            {"2.1": "Y", "2.3": "Y", "2.4": "NI", "2.6": "N"},
            ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"],
        ),
        # An answer to a question that no longer applies opens nothing after it.
        ("D2", {"2.1": "N", "2.2": "N", "2.3": "Y", "2.4": "Y"}, ["2.1", "2.2", "2.6"]),
        ("D3", {"3.1": "Y"}, ["3.1"]),
        ("D3", {"3.1": "NI", "3.2": "N", "3.3": "N"}, ["3.1", "3.2", "3.3"]),
        ("D3", {"3.1": "N", "3.2": "PN", "3.3": "NI"}, ["3.1", "3.2", "3.3", "3.4"]),
        # 4.3 only when both 4.1 and 4.2 are N/PN/NI.
        ("D4", {"4.1": "N"}, ["4.1", "4.2"]),
        ("D4", {"4.1": "N", "4.2": "Y"}, ["4.1", "4.2"]),
        (
            "D4",
            {"4.1": "N", "4.2": "NI", "4.3": "Y", "4.4": "PY"},
            ["4.1", "4.2", "4.3", "4.4", "4.5"],
        ),
        ("D5", {}, ["5.1", "5.2", "5.3"]),
    ],
)
def test_rob2_questions_follow_the_tool(domain, answers, shown):
    assert rob.applicable_questions("rob2", domain, answers) == shown


@pytest.mark.parametrize(
    ("domain", "answers", "shown"),
    [
        # No potential for confounding: nothing more to ask.
        ("D1", {"1.1": "N"}, ["1.1"]),
        ("D1", {"1.1": "Y"}, ["1.1", "1.2"]),
        # Baseline confounding only.
        ("D1", {"1.1": "Y", "1.2": "N"}, ["1.1", "1.2", "1.4", "1.6"]),
        (
            "D1",
            {"1.1": "PY", "1.2": "PY", "1.3": "PN", "1.4": "Y"},
            ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6"],
        ),
        # Time-varying confounding too.
        (
            "D1",
            {"1.1": "Y", "1.2": "Y", "1.3": "Y", "1.7": "PY"},
            ["1.1", "1.2", "1.3", "1.7", "1.8"],
        ),
        ("D2", {"2.1": "N", "2.4": "Y"}, ["2.1", "2.4"]),
        ("D2", {"2.1": "N", "2.4": "N"}, ["2.1", "2.4", "2.5"]),
        (
            "D2",
            {"2.1": "Y", "2.2": "Y", "2.3": "PY", "2.4": "Y"},
            ["2.1", "2.2", "2.3", "2.4", "2.5"],
        ),
        ("D2", {"2.1": "Y", "2.2": "N", "2.4": "Y"}, ["2.1", "2.2", "2.4"]),
        # The effect assessed decides which half of domain 4 is asked.
        ("D4", {}, ["aim"]),
        ("D4", {"aim": "assignment", "4.1": "Y"}, ["aim", "4.1", "4.2"]),
        (
            "D4",
            {"aim": "adherence", "4.3": "Y", "4.4": "Y", "4.5": "Y"},
            ["aim", "4.3", "4.4", "4.5"],
        ),
        ("D4", {"aim": "adherence", "4.3": "Y", "4.4": "PN"}, ["aim", "4.3", "4.4", "4.5", "4.6"]),
        ("D5", {"5.1": "Y", "5.2": "N", "5.3": "N"}, ["5.1", "5.2", "5.3"]),
        ("D5", {"5.1": "Y", "5.2": "N", "5.3": "PY"}, ["5.1", "5.2", "5.3", "5.4", "5.5"]),
        ("D7", {}, ["7.1", "7.2", "7.3"]),
    ],
)
def test_robins_i_questions_follow_the_tool(domain, answers, shown):
    assert rob.applicable_questions("robins-i", domain, answers) == shown


def test_settled_answers_mark_what_does_not_apply():
    settled = rob.settled_answers("rob2", "D2", {"2.1": "n", "2.2": "N", "2.4": "Y", "2.6": "Y"})
    assert settled == {
        "2.1": "N",
        "2.2": "N",
        "2.3": "NA",
        "2.4": "NA",
        "2.5": "NA",
        "2.6": "Y",
        "2.7": "NA",
    }
    # 3.2 offers no "no information" in RoB 2; an unknown question is named.
    with pytest.raises(RobError, match=r"question 3\.2: 'NI' is not one of Y, PY, PN, N"):
        rob.settled_answers("rob2", "D3", {"3.1": "N", "3.2": "NI"})
    with pytest.raises(RobError, match=r"D1 has no question 9\.9"):
        rob.settled_answers("rob2", "D1", {"9.9": "Y"})
    with pytest.raises(RobError, match="not 'D9'"):
        rob.applicable_questions("rob2", "D9", {})


def test_the_proposal_reads_only_what_applies():
    # 2.4 and 2.5 answered before 2.3 turned N: they are NA and do not change the judgement.
    answers = {"2.1": "Y", "2.2": "Y", "2.3": "N", "2.4": "Y", "2.5": "N", "2.6": "Y"}
    assert rob.proposal("rob2", "D2", answers) == (LOW, "")
    assert rob.proposal("rob2", "D1", {"1.1": "Y", "1.2": "Y", "1.3": "Y"}) == (SOME, "")
    assert rob.proposal("rob2", "D4", {"4.1": "Y"}) == (HIGH, "")
    judged, why = rob.proposal("rob2", "D1", {"1.1": "Y", "1.2": "Y"})
    assert judged is None and "1.3 needs an answer" in why
    judged, why = rob.proposal("robins-i", "D1", {"1.1": "N"})
    assert judged is None and "judge" in why
    assert rob.proposal("syrcle", "7", {"7": "yes"}) == ("Low", "")


def test_every_algorithm_question_is_answerable_when_it_applies():
    """Walking every answer path of each RoB 2 domain: whenever the shown questions are all
    answered, the algorithm has what it needs (it never asks for a hidden question)."""
    import itertools

    for domain in rob.ROB2_DOMAINS:
        keys = [k for k, _ in domain.questions]
        for combo in itertools.product(("Y", "N", "NI"), repeat=len(keys)):
            answers = dict(zip(keys, combo, strict=True))
            if domain.key == "D3" and answers["3.2"] == "NI":
                continue
            shown = rob.applicable_questions("rob2", domain.key, answers)
            given = {k: answers[k] for k in shown}
            judged, why = rob.proposal("rob2", domain.key, given)
            assert judged in (LOW, SOME, HIGH), (domain.key, given, why)


def test_rules_go_to_the_page_as_data():
    rules = rob.question_rules("rob2")
    assert rules["4.3"] == {
        "mode": "all",
        "when": [["4.1", ["N", "PN", "NI"]], ["4.2", ["N", "PN", "NI"]]],
    }
    assert "1.3" not in rules
    assert rob.question_rules("robins-i")["4.1"] == {
        "mode": "any",
        "when": [["aim", ["assignment"]]],
    }
    assert rob.answer_options("robins-i", "aim") == ("assignment", "adherence")
    assert rob.answer_options("syrcle", "3") == ("Yes", "No", "Unclear")
