"""Accepting full-text suggestions into the form, on SQLite and on PostgreSQL: an effect with
its CI becomes a generic outcome's effect and SE, an arm's size its n, a follow-up the field."""

from __future__ import annotations

import json
import math

import pytest

from metasift.extraction import stage, store
from metasift.extraction.fulltext import suggest_fulltext
from metasift.protocol import parse_protocol
from metasift.records.importing import import_file
from metasift.store import create_db_engine, migrate
from tests.extraction.test_fulltext_suggest import HR_SENTENCE

PROTOCOL = parse_protocol(
    """
[review]
title = "Oral contraceptives and colorectal cancer"

[[extraction.outcomes]]
name = "crc"
kind = "generic"
"""
)
SHA = "5c" * 32
# 6605965a: Materials and Methods, and Results.
GROUPS = (
    "Study participants included 1878 female colorectal cancer cases (1295 colon and 583 "
    "rectal cancers) and 335 924 female non-cases recruited into EPIC."
)
FOLLOW_UP = (
    "The mean ages at recruitment and diagnosis for the colorectal cancer cases were 57 and 63 "
    "years, respectively, and the mean length of follow-up in the whole cohort was 9 years."
)


@pytest.fixture
def engine(db_url, tmp_path):
    engine = create_db_engine(db_url)
    migrate(engine)
    path = tmp_path / "records.jsonl"
    record = {"title": "Oral contraceptives, reproductive history and risk of colorectal cancer"}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    import_file(engine, path)
    parts = [(1, "Abstract", HR_SENTENCE), (3, "Materials and Methods", GROUPS)]
    for index, name, text in [*parts, (4, "Results", FOLLOW_UP)]:
        found = suggest_fulltext([(name, text)])
        store.add_suggestions(engine, 1, found, fulltext_sha256=SHA, part_index=index)
    yield engine
    engine.dispose()


def _find(engine, field, **value):
    return next(
        s
        for s in store.get_suggestions(engine, fulltext_sha256=SHA)
        if s.field == field and all(s.value.get(k) == v for k, v in value.items())
    )


def test_an_effect_fills_the_generic_outcome(engine) -> None:
    hr = _find(engine, "effect", estimate=0.84)
    done = stage.review_suggestion(engine, PROTOCOL, hr.id, "accept", "ana", outcome="crc")
    assert done.final_value == {"effect": round(math.log(0.84), 6), "se": 0.063729}
    values = {(v.field, v.outcome): v for v in store.get_values(engine, [1])}
    assert values[("effect", "crc")].value == round(math.log(0.84), 6)
    assert values[("se", "crc")].source_detail["suggestion"]["part_index"] == 1


def test_an_arm_size_and_a_follow_up(engine) -> None:
    cases = _find(engine, "arm_size", n=1878)
    stage.review_suggestion(engine, PROTOCOL, cases.id, "accept", "ana")
    follow = _find(engine, "follow_up", low=9.0)
    stage.review_suggestion(engine, PROTOCOL, follow.id, "accept", "ana")
    got = sorted((v.field, v.arm, v.value) for v in store.get_values(engine, [1]))
    assert got == [("follow_up", "", "9 years"), ("n", "female colorectal cancer cases", 1878)]
    # Rejected suggestions fill nothing and keep their place in the list.
    other = _find(engine, "arm_size", n=335924)
    done = stage.review_suggestion(engine, PROTOCOL, other.id, "reject", "ana")
    assert (done.status, done.final_value) == ("rejected", None)
    assert len(store.get_values(engine, [1])) == 2
