"""Every page of the web app checked with axe-core, run in the page in headless Chromium: no
serious or critical violation. The review is brought to a state where each page has content:
records, decisions and a conflict, a duplicate cluster, reports at full text (a JATS article
and a PDF to read), an included study, notes and labels on a record, and the audit log."""

from __future__ import annotations

import pytest

from metasift.project import Project
from metasift.workflow.annotations import add_label, add_note
from metasift.workflow.decisions import FULL_TEXT, decide, resolve
from metasift.workflow.fulltext import attach_report, set_location
from tests.fulltext.conftest import FIXTURES as TEXTS
from tests.web.conftest import PASSWORD, make_project, start_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BLOCKING = ("serious", "critical")


def _review_with_content(root) -> None:
    with Project.open(root) as project:
        engine, protocol = project.engine, project.protocol
        for reviewer, votes in {
            "ana": {1: "include", 2: "include", 3: "exclude", 4: "include"},
            "ben": {1: "include", 2: "exclude", 3: "exclude", 4: "include"},
        }.items():
            for record_id, decision in votes.items():
                decide(
                    engine,
                    protocol,
                    record_id=record_id,
                    reviewer=reviewer,
                    decision=decision,
                    reason="wrong condition" if decision == "exclude" else None,
                )
        set_location(engine, protocol, 1, "pdfs/1.pdf", "ana")
        attach_report(engine, protocol, root, 1, TEXTS / "1472-6831-8-11.nxml", "ana")
        attach_report(engine, protocol, root, 4, TEXTS / "pone.0000217.pdf", "ana")
        for label in ("animal study", "ask the team"):
            add_label(engine, 1, label, "ana")
        add_note(engine, 1, "ben", "The mice had induced dermatitis; check the model.")
        for reviewer in ("ana", "ben"):
            decide(
                engine,
                protocol,
                record_id=1,
                reviewer=reviewer,
                decision="include",
                stage=FULL_TEXT,
            )
        resolve(
            engine,
            protocol,
            record_id=2,
            resolver="cy",
            decision="exclude",
            reason="wrong condition",
        )


def test_every_page_has_no_serious_accessibility_violation(tmp_path, browser, artifacts):
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python (dev extra)")
    from axe_playwright_python.sync_playwright import Axe

    root = make_project(tmp_path / "a11y", "Accessible review", None)
    _review_with_content(root)
    pages = [
        "/",
        "/p/a11y/",
        "/p/a11y/import",
        "/p/a11y/records",
        "/p/a11y/records?q=adipose&decision=include",
        "/p/a11y/records?label=animal+study&label=ask+the+team",
        "/p/a11y/records/1",  # with notes and labels
        "/p/a11y/dedup",
        "/p/a11y/screen",  # with a record shown
        "/p/a11y/progress",
        "/p/a11y/decisions",
        "/p/a11y/decisions?stage=full_text",
        "/p/a11y/conflicts",
        "/p/a11y/fulltext",
        "/p/a11y/fulltext/held",
        "/p/a11y/fulltext/1/read",  # a JATS article, with the study's forms
        "/p/a11y/fulltext/4/read",  # a PDF in a frame
        "/p/a11y/extract",
        "/p/a11y/extract/1",
        "/p/a11y/prisma",
        "/p/a11y/report",
        "/p/a11y/report/document",
        "/p/a11y/log",
        "/p/a11y/records/999",  # an error page
    ]
    axe = Axe()
    found: dict[str, list[str]] = {}
    with start_server([root]) as server:
        context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login")
        checked = ["/login"]
        found["/login"] = _blocking(axe.run(page))
        page.fill("input[name=name]", "ana")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/")
        for path in pages:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            _has_content(page, path)
            found[path] = _blocking(axe.run(page))
            checked.append(path)
        # The check itself sees a violation when there is one: a field without a label.
        page.evaluate("document.querySelector('main').append(document.createElement('input'))")
        assert any(v.startswith("label (critical)") for v in _blocking(axe.run(page)))
        context.close()
    assert len(checked) == len(pages) + 1
    assert {path: v for path, v in found.items() if v} == {}


def _has_content(page, path: str) -> None:
    """The newest pages are checked with what makes them what they are on screen."""
    wanted = {
        "/p/a11y/screen": "article.record",
        "/p/a11y/records?label=animal+study&label=ask+the+team": "#record-1",
        "/p/a11y/records/1": "#notes .record-note",
        "/p/a11y/fulltext/1/read": "article.jats",
        "/p/a11y/fulltext/4/read": "iframe",
    }
    if path in wanted:
        assert page.locator(wanted[path]).count() > 0, path


def _blocking(results) -> list[str]:
    """The serious and critical violations, each as 'rule: the first elements concerned'."""
    out = []
    for violation in results.response["violations"]:
        if violation.get("impact") in BLOCKING:
            targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
            out.append(f"{violation['id']} ({violation['impact']}): {'; '.join(targets)}")
    return out
