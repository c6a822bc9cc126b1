"""Suggestions from a report's full text under the review's rules: who may compute and review
them, through which report, and only for an included study."""

from __future__ import annotations

import pytest

from metasift.errors import ExtractionError, PermissionDeniedError
from metasift.project import Project
from metasift.workflow import decisions as wd
from metasift.workflow.decisions import FULL_TEXT
from metasift.workflow.fulltext import attach_report
from metasift.workflow.text_suggestions import review_report_suggestion, suggest_report
from tests.fulltext.conftest import FIXTURES as TEXTS
from tests.web.conftest import make_project


def test_only_deciders_review_and_only_an_included_study_through_its_own_report(tmp_path):
    root = make_project(tmp_path / "p", "Rules review", None, reviewers=1)
    with Project.open(root) as p:
        engine, protocol = p.engine, p.protocol
        for rid in (1, 2):
            wd.decide(engine, protocol, record_id=rid, reviewer="ana", decision="include")
        attach_report(engine, protocol, root, 1, TEXTS / "pone.0000217.pdf", "ana")
        attach_report(engine, protocol, root, 2, TEXTS / "1472-6831-8-11.nxml", "ana")
        with pytest.raises(PermissionDeniedError):
            suggest_report(engine, protocol, root, 2, "vic")
        found = suggest_report(engine, protocol, root, 2, "ben")
        assert found.study_id == 2 and found.added == len(found.suggestions) > 0
        first = found.suggestions[0]
        with pytest.raises(ExtractionError, match="not included at full text"):
            review_report_suggestion(engine, protocol, 2, first.id, "reject", "ben")
        wd.decide(
            engine, protocol, record_id=2, reviewer="ben", decision="include", stage=FULL_TEXT
        )
        with pytest.raises(PermissionDeniedError):
            review_report_suggestion(engine, protocol, 2, first.id, "reject", "vic")
        with pytest.raises(ExtractionError, match="not read from the full text of record 1"):
            review_report_suggestion(engine, protocol, 1, first.id, "reject", "ben")
        done = review_report_suggestion(engine, protocol, 2, first.id, "reject", "ben")
        assert (done.status, done.reviewer) == ("rejected", "ben")
