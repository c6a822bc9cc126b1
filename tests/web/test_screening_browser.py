"""Two reviewers screen in headless Chromium on a 1400 x 900 window with the keyboard only:
the record and its decision bar stay in view, a conflict arises and a third member resolves
it, the progress dashboard and the PRISMA page show the counts. A screenshot of every page
visited is kept under the test's own output folder (``tmp_path/screens``), so that a failing
run can be looked at."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import PASSWORD, make_project, start_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
WIDTH, HEIGHT = 1400, 900


class Member:
    """One browser context (its own cookies) for one member; every page is photographed."""

    def __init__(self, browser, server, name: str, screens, errors: list[str]) -> None:
        self.context = browser.new_context(
            base_url=server.url, viewport={"width": WIDTH, "height": HEIGHT}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.name, self.screens, self.shots = name, screens, 0
        self.page.on("console", lambda m: m.type == "error" and errors.append(f"{name}: {m.text}"))
        self.page.on("pageerror", lambda e: errors.append(f"{name}: {e}"))

    def shot(self, what: str) -> None:
        self.shots += 1
        path = self.screens / f"{self.name}-{self.shots:02d}-{what}.png"
        self.page.screenshot(path=path, full_page=True)

    def visit(self, path: str, what: str) -> None:
        self.page.goto(path)
        self.page.wait_for_load_state("networkidle")
        self.shot(what)

    def log_in(self) -> None:
        """With the keyboard: the name field has the focus, Tab to the password, Enter."""
        self.visit("/login", "login")
        keyboard = self.page.keyboard
        keyboard.type(self.name)
        keyboard.press("Tab")
        keyboard.type(PASSWORD)
        keyboard.press("Enter")
        self.page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
        self.shot("logged-in")

    def screen_all(self, decide) -> dict[int, str]:
        """Screen with the keyboard until no record is left; returns record -> decision."""
        page = self.page
        self.visit("/p/team/screen", "screen")
        done: dict[int, str] = {}
        while page.locator("article.record").count():
            record_id = int(page.locator("article.record").get_attribute("data-record"))
            assert_in_view(page)
            abstract = page.locator("article.record .abstract")
            if len(abstract.inner_text()) > 3000:
                # The long one scrolls inside its box.
                assert abstract.evaluate("a => a.scrollHeight > a.clientHeight + 100")
            decision = decide(record_id)
            page.keyboard.press(decision[0])
            page.wait_for_function(
                "id => !document.querySelector(`article.record[data-record='${id}']`)",
                arg=record_id,
            )
            done[record_id] = decision
            page.wait_for_function(
                "document.querySelector('article.record') || "
                "document.querySelector('#screen').innerText.includes('No record is waiting')"
            )
            self.shot(f"after-{record_id}")
        return done


def assert_in_view(page) -> None:
    """Title, authors/journal/year line, abstract and every decision button on screen."""
    for selector in ("#record-title", "article.record .meta", "article.record .abstract"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] < HEIGHT, selector
    for value in ("include", "exclude", "maybe"):
        box = page.locator(f"#decide button[value={value}]").bounding_box()
        assert box is not None and box["y"] + box["height"] <= HEIGHT, f"{value} below the fold"
    criteria = page.locator(".criteria").bounding_box()
    assert criteria is not None and criteria["x"] > WIDTH / 2  # beside the record


def _add_long_record(root, path) -> None:
    """A tenth record whose abstract is far longer than the window: it scrolls inside its
    box, and the decision bar stays in view."""
    import json

    from metasift.project import Project
    from metasift.records.formats import ReadOptions
    from metasift.records.importing import import_file

    sentence = "Adipose-derived stem cells were injected into psoriatic plaques of mice. "
    record = {
        "title": "A long report on adipose-derived stem cells in psoriasis",
        "abstract": sentence * 80,
        "authors": ["Long, A.", "Longer, B.", "Longest, C.", "Fourth, D."],
        "journal": "Journal of Long Abstracts",
        "year": 2021,
        "source_id": "long-1",
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with Project.open(root) as project:
        import_file(
            project.engine, path, options=ReadOptions(source_database="TestDB"), name=path.name
        )


def _counts(page) -> dict[str, str]:
    rows = page.locator("#prisma-counts tr")
    return {
        rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").inner_text()
        for i in range(rows.count())
    }


def test_two_reviewers_screen_with_the_keyboard_to_prisma(tmp_path, browser):
    screens = tmp_path / "screens"
    screens.mkdir()
    root = make_project(tmp_path / "team", "Adipose stem cells for psoriasis", None)
    _add_long_record(root, tmp_path / "long.jsonl")
    errors: list[str] = []
    with start_server([root]) as server:
        ana = Member(browser, server, "ana", screens, errors)
        ana.log_in()

        # A highlight term of ana's own, kept for her next records.
        ana.visit("/p/team/screen", "screen-first")
        terms = ana.page.locator("section.terms form.inline")
        terms.locator("input[name=term]").fill("cells")
        terms.get_by_role("button", name="in green").click()
        ana.page.wait_for_selector("section.terms li mark.include")
        assert "cells" in ana.page.locator("section.terms").inner_text()
        ana_votes = ana.screen_all(lambda rid: "include" if rid % 2 == 0 else "exclude")
        assert sorted(ana_votes) == list(range(1, 11))

        ben = Member(browser, server, "ben", screens, errors)
        ben.log_in()
        ben_votes = ben.screen_all(lambda rid: "include" if rid % 3 == 0 else "exclude")
        assert sorted(ben_votes) == list(range(1, 11))
        disputed = sorted(r for r in ana_votes if ana_votes[r] != ben_votes[r])
        assert disputed

        # The dashboard: both reviewers' decisions and the conflicts waiting, with a link.
        ana.visit("/p/team/progress", "progress")
        table = ana.page.locator("#per-reviewer").inner_text()
        assert re.search(r"ana\s+5\s+0\s+5\s+10", table), table
        assert re.search(r"ben\s+3\s+0\s+7\s+10", table), table
        waiting = ana.page.locator("#conflicts-waiting a")
        assert waiting.inner_text().startswith(f"{len(disputed)} conflict")
        assert ana.page.locator("svg.recall-chart polyline").count() == 1
        assert "keep screening" in ana.page.locator("#stop-words").inner_text().lower() or (
            "may stop" in ana.page.locator("#stop-words").inner_text()
        )

        cy = Member(browser, server, "cy", screens, errors)
        cy.log_in()
        cy.visit("/p/team/conflicts", "conflicts")
        resolved = {rid: "include" if rid == disputed[0] else "exclude" for rid in disputed}
        for rid, decision in resolved.items():
            form = cy.page.locator(f"#conflict-{rid} form")
            form.locator(f"button[value={decision}]").click()
            cy.page.wait_for_load_state("networkidle")
        cy.shot("conflicts-resolved")
        assert "No conflicts." in cy.page.locator("main").inner_text()

        final = {rid: resolved.get(rid, ana_votes[rid]) for rid in ana_votes}
        included = sum(d == "include" for d in final.values())
        ana.visit("/p/team/progress", "progress-after")
        assert "No conflicts waiting" in ana.page.locator("#conflicts-waiting").inner_text()
        ana.visit("/p/team/prisma", "prisma")
        counts = _counts(ana.page)
        assert counts["Records screened"] == "10"
        assert counts["Records excluded"] == str(10 - included)
        assert counts["Reports sought for retrieval"] == str(included)
        for member in (ana, ben, cy):
            member.context.close()
    assert errors == []
    assert len(list(screens.glob("*.png"))) >= 25
