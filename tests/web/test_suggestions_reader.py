"""Extraction suggestions in the full-text reader, in headless Chromium.

A reviewer computes suggestions from a JATS article in the panel beside it, sees each one's
sentence marked in the rendered text, accepts one (the value is stored with where it came
from) and rejects another; a PDF's suggestions link to their page; a viewer sees the panel
without its buttons, and a POST from them is refused.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from metasift.extraction import fulltext_suggestions, store
from metasift.fulltext.jats import jats_sections
from metasift.workflow.text_suggestions import suggest_report
from tests.fulltext.conftest import FIXTURES as TEXTS
from tests.web.conftest import browser_login, csrf_of, reader_project, start_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
JATS = TEXTS / "1472-6831-8-11.nxml"


def _abstract_pdf(path: Path) -> Path:
    """A PDF of the article's own title and abstract (real text, drawn on one page)."""
    import matplotlib

    matplotlib.use("pdf")
    import matplotlib.pyplot as plt

    lines: list[str] = []
    for _, text in jats_sections(JATS)[:2]:
        lines += ["", *textwrap.wrap(text, 110)]
    fig = plt.figure(figsize=(8.27, 11.69))
    for i, line in enumerate(lines):
        fig.text(0.05, 0.965 - i * 0.0138, line, fontsize=7, family="DejaVu Sans")
    fig.savefig(path, format="pdf")
    plt.close(fig)
    return path


def _project(tmp_path):
    """Records 1 (a PDF) and 2 (a JATS article), both included at full text."""
    texts = {1: _abstract_pdf(tmp_path / "abstract.pdf"), 2: JATS}
    return reader_project(tmp_path / "sugg", "Suggestions review", texts, included=[1, 2])


def test_suggestions_are_marked_in_the_text_and_reviewed_beside_it(tmp_path, browser, artifacts):
    root = _project(tmp_path)
    errors: list[str] = []
    with start_server([root]) as server:
        project = server.app.state.served.projects["sugg"].project
        engine = project.engine
        context, page = browser_login(browser, server, "ben", errors)
        page.goto("/p/sugg/fulltext/2/read")
        panel = page.locator("#suggestions")
        assert "No suggestions" in panel.inner_text()
        panel.get_by_role("button", name="Suggest values from the text").click()
        panel.locator("li[data-suggestion]").first.wait_for()
        stored = fulltext_suggestions(engine, 2)
        assert len(stored) == panel.locator("li[data-suggestion]").count() > 10

        # Each suggestion's sentence is marked in its section; the 119 patients in the abstract.
        size = next(s for s in stored if s.field == "sample_size" and s.value == 119)
        item = page.locator(f"#suggestion-{size.id}")
        assert "119" in item.locator(".value").inner_text()
        assert "Abstract" in item.inner_text() and "Sample size" in item.inner_text()
        marks = page.locator(f"#suggestion-highlights mark[data-suggestion='{size.id}']")
        marks.first.wait_for()
        marked = " ".join(marks.all_inner_texts())
        assert "119 patients" in marked
        where = marks.first.evaluate("m => m.closest('[data-section]').dataset.section")
        assert where.startswith("Abstract")
        # Every sentence was found in the rendered text, tables' rows included.
        assert page.locator("li.unmarked").count() == 0
        # A click on the suggestion brings its mark into view.
        page.locator("#suggestion-highlights").evaluate(
            "e => e.closest('#fulltext').scrollTo(0, 1e6)"
        )
        item.locator(".sentence").click()
        assert marks.first.evaluate("m => m.classList.contains('current')")
        assert marks.first.is_visible()
        page.screenshot(path=artifacts / "web-reader-suggestions.png")

        # Accept: the value is stored for the reviewer with the sentence it came from.
        item.get_by_role("button", name="Accept").click()
        panel.locator("[role=status]", has_text="Accepted").wait_for()
        values = [v for v in store.get_values(engine, [2], "ben") if v.field == "sample_size"]
        assert [(v.value, v.source) for v in values] == [(119, "suggestion")]
        provenance = values[0].source_detail["suggestion"]
        assert provenance["text_source"] == "Abstract" and "119 patients" in provenance["cue"]
        assert provenance["fulltext_sha256"] == size.fulltext_sha256
        assert page.locator(f"#suggestion-{size.id} form").count() == 0
        # The marks take the new status after the answer arrives: wait for it, don't race it.
        page.locator(f"mark.status-accepted[data-suggestion='{size.id}']").first.wait_for()

        # Reject: marked rejected, nothing recorded.
        p_value = next(s for s in stored if s.field == "p_value")
        page.locator(f"#suggestion-{p_value.id}").get_by_role("button", name="Reject").click()
        panel.locator("[role=status]", has_text="Rejected").wait_for()
        after = {s.id: s.status for s in fulltext_suggestions(engine, 2)}
        assert after[p_value.id] == "rejected" and after[size.id] == "accepted"
        assert not [v for v in store.get_values(engine, [2]) if v.field == "p_value"]

        # A mean and SD needs its outcome: said in the panel, nothing recorded.
        mean = next(s for s in stored if s.field == "statistic" and s.text_source == "Abstract")
        page.locator(f"#suggestion-{mean.id}").get_by_role("button", name="Accept").click()
        panel.locator("[role=status]", has_text="Not recorded").wait_for()
        assert "outcome" in panel.locator("[role=status]").inner_text()
        assert page.locator(f"#suggestion-{mean.id} form").count() == 1

        # Edit: the value given is recorded instead, with the same provenance.
        sub = next(s for s in stored if s.field == "sample_size" and s.value == 41)
        edited = page.locator(f"#suggestion-{sub.id}")
        edited.locator("summary", has_text="Edit").click()
        edited.get_by_label("Value").fill("40")
        edited.get_by_role("button", name="Record this value").click()
        panel.locator("[role=status]", has_text="Recorded as edited").wait_for()
        values = [v for v in store.get_values(engine, [2], "ben") if v.field == "sample_size"]
        assert [v.value for v in values] == [40]
        assert values[0].source_detail["suggestion"]["suggestion_id"] == sub.id
        assert {s.id: s.status for s in fulltext_suggestions(engine, 2)}[sub.id] == "edited"
        context.close()

        # A PDF's suggestions say their page and open the PDF there, in the frame.
        suggest_report(engine, project.protocol, root, 1, "ana")
        context, page = browser_login(browser, server, "ben", errors)
        page.goto("/p/sugg/fulltext/1/read")
        link = page.locator("#suggestions a[data-page]").first
        number = link.get_attribute("data-page")
        assert link.inner_text() == f"page {number}"
        assert link.get_attribute("href").endswith(f"#page={number}")
        link.click()
        src = page.locator("#fulltext iframe").get_attribute("src")
        assert re.search(rf"/p/sugg/fulltext/1/file/[0-9a-f]{{64}}#page={number}$", src)
        context.close()

        # A viewer sees the suggestions and no button; a POST from them is refused.
        context, page = browser_login(browser, server, "vic", errors)
        page.goto("/p/sugg/fulltext/2/read")
        assert page.locator("#suggestions li[data-suggestion]").count() == len(stored)
        assert page.locator("#suggestions button:not(.link), #suggestions form").count() == 0
        context.close()
    assert errors == []


def test_a_viewer_cannot_compute_or_review_suggestions(tmp_path):
    root = _project(tmp_path)
    with start_server([root]) as server:
        project = server.app.state.served.projects["sugg"].project
        found = suggest_report(project.engine, project.protocol, root, 2, "ana")
        first = found.suggestions[0]
        vic = server.login("vic")
        token = csrf_of(vic.get("/p/sugg/fulltext/2/read").text)
        refused = vic.post(
            f"/p/sugg/fulltext/2/suggestions/{first.id}",
            data={"csrf_token": token, "review": "accept"},
        )
        assert refused.status_code == 403
        assert vic.post("/p/sugg/fulltext/2/suggest", data={"csrf_token": token}).status_code == 403
        assert fulltext_suggestions(project.engine, 2)[0].status == "pending"
        # A reviewer without the form's token is refused too; with it, a suggestion of another
        # report's text is not reviewed through this one.
        ben = server.login("ben")
        assert (
            ben.post(
                f"/p/sugg/fulltext/2/suggestions/{first.id}", data={"review": "accept"}
            ).status_code
            == 403
        )
        token = csrf_of(ben.get("/p/sugg/fulltext/1/read").text)
        wrong = ben.post(
            f"/p/sugg/fulltext/1/suggestions/{first.id}",
            data={"csrf_token": token, "review": "accept"},
        )
        assert wrong.status_code == 400
        assert fulltext_suggestions(project.engine, 2)[0].status == "pending"
