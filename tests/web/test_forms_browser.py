"""The extraction and risk-of-bias forms, and the full-text reader, in headless Chromium.

A reviewer fills the extraction form (a draft is kept as they type and restored on reload,
never stored as their answer), saves it with one button, answers RoB 2 and ROBINS-I questions
that appear and disappear as the tools say, overrides the algorithm with a reason; then reads
a PDF and a JATS article beside the full-text decision and decides with the keyboard.
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from metasift.extraction import drafts, store
from metasift.workflow import decisions as wd
from metasift.workflow.decisions import FULL_TEXT
from tests.fulltext.conftest import FIXTURES as TEXTS
from tests.web.conftest import browser_login, reader_project, start_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PDF, JATS = TEXTS / "pone.0000217.pdf", TEXTS / "1472-6831-8-11.nxml"


def _project(tmp_path, *, included: bool):
    """Records 1 (a PDF) and 2 (a JATS article) at full text; 1 included there if asked."""
    done = [1] if included else []
    return reader_project(tmp_path / "forms", "Forms review", {1: PDF, 2: JATS}, included=done)


def _engine(server):
    return server.app.state.served.projects["forms"].project.engine


def test_forms_keep_drafts_save_once_and_follow_the_tools(tmp_path, browser, artifacts):
    root = _project(tmp_path, included=True)
    errors: list[str] = []
    with start_server([root]) as server:
        context, page = browser_login(browser, server, "ben", errors)
        engine = _engine(server)
        page.goto("/p/forms/extract/1")
        form = page.locator("#values-form")
        # Human labels, one Save, a widget per type, no placeholders.
        labels = form.locator("label[for^=f-], legend").all_inner_texts()
        assert "Total sample size" in labels and "Study design" in " ".join(labels)
        assert "sample_size" not in form.inner_text() and "multi_choice" not in page.content()
        assert form.get_by_role("button", name=re.compile("^Save")).count() == 1
        assert form.locator("input[type=number][name='field:sample_size']").count() == 1
        assert form.locator("select[name='field:design'], input[type=radio]").count() >= 1

        # Typing keeps a draft on the server, not an answer; a reload restores it.
        page.fill("#f-sample_size", "12")
        page.fill("#f-country", "France")
        status = form.locator("[data-draft-status]")
        status.filter(has_text="Draft kept").wait_for()
        assert store.get_values(engine, [1]) == []
        page.reload()
        assert page.locator("#f-sample_size").input_value() == "12"
        assert page.locator("#f-country").input_value() == "France"
        assert "Restored your unsaved draft" in page.locator("#values-form").inner_text()

        # Saving: a wrong field says why beside it and nothing is stored; then it is saved.
        page.fill("#f-sample_size", "-3")
        page.locator("#values-form button.save").click()
        error = page.locator("#field-sample_size .field-error")
        assert error.inner_text() == "Expected a whole number >= 0."
        assert store.get_values(engine, [1]) == []
        page.fill("#f-sample_size", "30")
        page.locator("#values-form button.save").click()
        page.locator("#values-form [role=status]", has_text="Saved.").wait_for()
        saved = {v.field: v.value for v in store.get_values(engine, [1], "ben")}
        assert saved == {"sample_size": 30, "country": "France"}
        assert drafts.get_drafts(engine, 1, "ben") == {}
        page.reload()
        assert "Restored" not in page.locator("#values-form").inner_text()
        assert page.locator("#f-sample_size").input_value() == "30"
        context.storage_state()  # the session stays valid across reloads

        # RoB 2: conditional questions appear and disappear as the answers change.
        page.locator("#rob-rob2 > summary").click()
        rob2 = page.locator("#rob-rob2")

        def shown(domain: str, question: str) -> bool:
            return rob2.locator(
                f"fieldset[data-domain={domain}] [data-question='{question}']"
            ).is_visible()

        def answer(domain: str, question: str, value: str) -> None:
            rob2.locator(f"select[name='{domain}:answer:{question}']").select_option(value)

        assert not shown("D2", "2.3") and shown("D2", "2.6")
        answer("D2", "2.1", "Y")
        assert shown("D2", "2.3") and not shown("D2", "2.4")
        answer("D2", "2.3", "Y")
        assert shown("D2", "2.4")
        answer("D2", "2.1", "N")
        answer("D2", "2.2", "N")
        assert not shown("D2", "2.3") and not shown("D2", "2.4")
        answer("D4", "4.1", "N")
        assert not shown("D4", "4.3")
        answer("D4", "4.2", "NI")
        assert shown("D4", "4.3")
        # Domain 1 asks all three questions; the algorithm's judgement shows beside the form.
        for q, a in (("1.1", "Y"), ("1.2", "Y"), ("1.3", "N")):
            answer("D1", q, a)
        rob2.locator("[data-proposal=D1]", has_text="Low").wait_for()
        rob2.locator("select[name='D1:judgement']").select_option("High")
        rob2.get_by_role("button", name="Save RoB 2").click()
        message = page.locator("#rob-rob2 fieldset[data-domain=D1] .field-error")
        assert "The algorithm proposes Low; say why you judge High" in message.inner_text()
        page.locator("#rob-rob2 input[name='D1:support']").fill("baseline imbalance in IgE")
        # D2 and D4 are half answered: clear them so that only D1 is saved.
        for q in ("2.1", "2.2"):
            page.locator(f"#rob-rob2 select[name='D2:answer:{q}']").select_option("")
        for q in ("4.1", "4.2"):
            page.locator(f"#rob-rob2 select[name='D4:answer:{q}']").select_option("")
        page.locator("#rob-rob2").get_by_role("button", name="Save RoB 2").click()
        page.locator("#rob-rob2 [role=status]", has_text="Saved.").wait_for()
        (judged,) = store.get_judgements(engine, [1], "rob2")
        assert (judged.domain, judged.algorithm, judged.judgement) == ("D1", "Low", "High")
        assert judged.support == "baseline imbalance in IgE"

        # ROBINS-I: the effect assessed decides which half of domain 4 is asked.
        page.locator("#rob-robins-i > summary").click()
        robins = page.locator("#rob-robins-i")
        d4 = robins.locator("fieldset[data-domain=D4]")
        assert not d4.locator("[data-question='4.1']").is_visible()
        d4.locator("select[name='D4:answer:aim']").select_option("assignment")
        assert d4.locator("[data-question='4.1']").is_visible()
        assert not d4.locator("[data-question='4.3']").is_visible()
        d1 = robins.locator("fieldset[data-domain=D1]")
        d1.locator("select[name='D1:answer:1.1']").select_option("Y")
        d1.locator("select[name='D1:answer:1.2']").select_option("N")
        assert d1.locator("[data-question='1.4']").is_visible()
        assert not d1.locator("[data-question='1.7']").is_visible()
        page.screenshot(path=artifacts / "web-forms-study.png", full_page=True)
        context.close()
    assert errors == []


def test_reader_shows_the_text_beside_the_decision_and_takes_keys(tmp_path, browser, artifacts):
    root = _project(tmp_path, included=False)
    sha = hashlib.sha256(PDF.read_bytes()).hexdigest()
    errors: list[str] = []
    with start_server([root]) as server:
        context, page = browser_login(browser, server, "ben", errors)
        engine = _engine(server)

        # The PDF: the browser's viewer in a frame, served inline from the store.
        page.goto("/p/forms/fulltext/1/read")
        frame = page.locator("#fulltext iframe")
        src = frame.get_attribute("src")
        assert src == f"/p/forms/fulltext/1/file/{sha}"
        got = page.request.get(src)
        assert got.status == 200 and got.body() == PDF.read_bytes()
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"].startswith("inline")
        assert got.headers["x-frame-options"] == "SAMEORIGIN"
        assert page.request.get(f"/p/forms/fulltext/2/file/{sha}").status == 404
        assert page.request.get("/p/forms/fulltext/1/file/..%2F..%2Freview.toml").status == 404
        # Chromium's own PDF viewer (an extension page inside the frame) shows it.
        deadline = time.monotonic() + 15
        while not any(f.url.startswith("chrome-extension://") for f in page.frames):
            assert time.monotonic() < deadline, [f.url for f in page.frames]
            page.wait_for_timeout(100)
        page.screenshot(path=artifacts / "web-reader-pdf.png")

        # Keys decide as on the screening page, but not while typing in a field.
        page.locator("#fulltext").focus()
        page.keyboard.press("i")
        # Included: the page comes back with the extraction form beside the text.
        page.locator("#values-form").wait_for()
        assert wd.verdicts(engine, server_protocol(server), FULL_TEXT)[1].decision == "include"
        page.locator("#f-country").click()
        page.keyboard.type("Italy")
        assert page.locator("#f-country").input_value() == "Italy"
        assert "Your decision: include" in page.locator("#decision").inner_text()

        # The JATS article, rendered: sections and tables, no script.
        page.keyboard.press("Escape")
        page.locator("#fulltext").focus()
        page.keyboard.press("n")
        page.wait_for_url(re.compile(r"/fulltext/2/read$"))
        article = page.locator("#suggestion-highlights article.jats")
        assert article.locator("section[data-section='Abstract']").count() == 1
        assert article.locator("section[data-section^='Methods']").count() >= 1
        assert article.locator("figure.table table").count() >= 1
        assert article.locator("script, [onclick], a").count() == 0
        page.screenshot(path=artifacts / "web-reader-jats.png")

        # Exclude by keys: "e" arms the reasons, a digit picks one; a digit alone does nothing.
        page.locator("#fulltext").focus()
        page.keyboard.press("2")
        assert "You have not decided" in page.locator("#decision").inner_text()
        page.keyboard.press("e")
        page.keyboard.press("2")
        page.locator("#decision [role=status]", has_text="Recorded: exclude").wait_for()
        verdict = wd.verdicts(engine, server_protocol(server), FULL_TEXT)[2]
        assert (verdict.decision, verdict.reason) == ("exclude", "wrong condition")
        context.close()
    assert errors == []


def server_protocol(server):
    return server.app.state.served.projects["forms"].project.protocol
