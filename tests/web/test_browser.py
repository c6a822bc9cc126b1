"""The whole review in headless Chromium against a real server: an owner imports a file and
screens with the keyboard, a second reviewer screens blind, a third resolves the conflicts,
full texts are assessed with reasons, a risk-of-bias judgement is recorded, and the PRISMA
page shows the counts. A screenshot of each main page goes to test-artifacts/."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import FIXTURES
from tests.web.conftest import PASSWORD, make_project, start_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Reviewer:
    """One browser context (its own cookies) for one user; collects console errors."""

    def __init__(self, browser, server, name: str, artifacts, errors: list[str]) -> None:
        self.context = browser.new_context(
            base_url=server.url, viewport={"width": 1200, "height": 900}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.name, self.artifacts = name, artifacts
        self.page.on("console", lambda m: m.type == "error" and errors.append(f"{name}: {m.text}"))
        self.page.on("pageerror", lambda e: errors.append(f"{name}: {e}"))

    def shot(self, what: str) -> None:
        self.page.screenshot(path=self.artifacts / f"web-{what}.png", full_page=True)

    def log_in(self, shot: bool = False) -> None:
        self.page.goto("/login")
        if shot:
            self.shot("login")
        self.page.fill("input[name=name]", self.name)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r"/$"))

    def screen_all(self, decide) -> dict[int, str]:
        """Screen with the keyboard until no record is left; returns record -> decision."""
        page = self.page
        page.goto("/p/e2e/screen")
        done: dict[int, str] = {}
        while page.locator("article.record").count():
            record_id = int(page.locator("article.record").get_attribute("data-record"))
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
        return done


def _counts(page) -> dict[str, str]:
    rows = page.locator("#prisma-counts tr")
    return {
        rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").inner_text()
        for i in range(rows.count())
    }


def test_a_team_runs_the_review_in_the_browser(tmp_path, browser, artifacts):
    root = make_project(tmp_path / "e2e", "Adipose stem cells for psoriasis", None, records=False)
    errors: list[str] = []
    with start_server([root]) as server:
        ana = Reviewer(browser, server, "ana", artifacts, errors)
        ana.log_in(shot=True)
        ana.shot("projects")
        assert ana.page.locator("a", has_text="Adipose stem cells for psoriasis").count() == 1

        # Import by upload: ten records; the one with no title and no usable DOI is rejected as
        # empty, with its reason.
        ana.page.goto("/p/e2e/import")
        upload = tmp_path / "upload" / "records.jsonl"
        upload.parent.mkdir()
        shutil.copy(FIXTURES / "workflow" / "records.jsonl", upload)
        ana.page.set_input_files("input[name=file]", str(upload))
        ana.page.fill("input[name=source]", "TestDB")
        ana.page.click("form.stack button[type=submit]")
        summary = ana.page.locator("section.summary").inner_text()
        assert "read 10, imported 9, rejected 1" in summary
        ana.shot("import")

        ana.page.goto("/p/e2e/dedup")
        ana.shot("dedup")

        # Screening page: terms highlighted, progress and the stopping rule shown.
        ana.page.goto("/p/e2e/screen")
        assert ana.page.locator("article.record").count() == 1
        ana.page.wait_for_selector("#status progress")  # the status loads after the page
        assert ana.page.locator("#status progress").count() == 1
        status = ana.page.locator("#status").inner_text()
        assert "Screened 0 of 9" in status and "Estimated recall" in status
        ana.shot("screen")
        highlighted = ana.page.locator("article.record mark").all_inner_texts()
        text = ana.page.locator("article.record").inner_text().lower()
        for term in ("adipose", "psoriasis", "umbilical"):
            assert (term in text) == (term in [h.lower() for h in highlighted])

        ana_votes = ana.screen_all(lambda rid: "include" if rid % 2 == 0 else "exclude")
        assert sorted(ana_votes) == list(range(1, 10))

        ben = Reviewer(browser, server, "ben", artifacts, errors)
        ben.log_in()
        ben_votes = ben.screen_all(lambda rid: "include" if rid % 3 == 0 else "exclude")
        assert sorted(ben_votes) == list(range(1, 10))
        ben.page.goto("/p/e2e/conflicts")
        disputed = sorted(r for r in ana_votes if ana_votes[r] != ben_votes[r])
        assert disputed == [2, 3, 4, 8, 9]
        # Blind: ben sees that there are conflicts, not ana's votes.
        assert "ana:" not in ben.page.locator("main").inner_text()

        ana.page.goto("/p/e2e/")
        # The overview shows the PRISMA numbers: records in conflict are not screened yet.
        screened = ana.page.locator("#review-state tr", has_text="Records screened")
        assert screened.locator("td").inner_text() == str(9 - len(disputed))
        left = ana.page.locator("main").inner_text()
        assert f"{len(disputed)} title/abstract conflicts to resolve" in left
        ana.shot("overview")

        # A third reviewer resolves them.
        cy = Reviewer(browser, server, "cy", artifacts, errors)
        cy.log_in()
        cy.page.goto("/p/e2e/conflicts")
        assert cy.page.locator("section.conflict").count() == len(disputed)
        cy.shot("conflicts")
        resolved = {rid: "include" if rid in (2, 3) else "exclude" for rid in disputed}
        for rid, decision in resolved.items():
            form = cy.page.locator(f"#conflict-{rid} form")
            if decision == "exclude":
                form.locator("select[name=reason]").select_option("wrong condition")
            form.locator(f"button[value={decision}]").click()
            cy.page.wait_for_load_state()
        assert "No conflicts." in cy.page.locator("main").inner_text()

        final = {rid: resolved.get(rid, ana_votes[rid]) for rid in ana_votes}
        sought = sorted(rid for rid, d in final.items() if d == "include")
        assert sought == [2, 3, 6]

        # Full text: one report cannot be found, the others are assessed by two reviewers.
        ana.page.goto("/p/e2e/fulltext")
        assert ana.page.locator("tbody tr[id^=report-]").count() == len(sought)
        missing, *assessed = sought
        row = ana.page.locator(f"#report-{missing}")
        row.locator("input[name=reason]").fill("not in any library")
        row.get_by_role("button", name="Not retrieved").click()
        ana.page.wait_for_load_state()
        for rid in assessed:
            row = ana.page.locator(f"#report-{rid}")
            row.locator("input[name=location]").fill(f"pdfs/{rid}.pdf")
            row.get_by_role("button", name="Retrieved", exact=True).click()
            ana.page.wait_for_load_state()
        excluded_ft = assessed[0]
        for reviewer in (ana, ben):
            reviewer.page.goto("/p/e2e/fulltext")
            for rid in assessed:
                row = reviewer.page.locator(f"#report-{rid}")
                if rid == excluded_ft:
                    row.locator("select[name=reason]").select_option("wrong study type")
                    row.get_by_role("button", name="Exclude", exact=True).click()
                else:
                    row.get_by_role("button", name="Include", exact=True).click()
                reviewer.page.wait_for_load_state()
        ana.shot("fulltext")
        included = [rid for rid in assessed if rid != excluded_ft]
        assert f"pdfs/{included[0]}.pdf" in ana.page.locator(f"#report-{included[0]}").inner_text()

        # Extraction and risk of bias for the included study.
        ana.page.goto("/p/e2e/extract")
        links = ana.page.locator("main ul li a")
        assert links.count() == len(included)
        links.first.click()
        ana.page.wait_for_load_state()
        ana.page.locator("details:has(form.rob) > summary").first.click()
        rob = ana.page.locator("form.rob").first
        judgement = rob.locator("select[name='D1:judgement'] option").nth(1).inner_text()
        rob.locator("select[name='D1:judgement']").select_option(judgement)
        rob.locator("input[name='D1:support']").fill("allocation concealed by sealed envelopes")
        rob.get_by_role("button", name="Save RoB 2").click()
        ana.page.locator("#rob-rob2 [role=status]", has_text="Saved.").wait_for()
        ana.shot("study")
        ana.page.goto("/p/e2e/extract")
        assert judgement in ana.page.locator("main").inner_text()
        ana.shot("extraction")

        ana.page.goto("/p/e2e/prisma")
        counts = _counts(ana.page)
        assert counts == {
            "Records identified": "10",  # read from the database's export, rejected one too
            "Duplicates removed": "0",
            "Records marked ineligible by automation tools": "0",
            "Records removed for other reasons": "1",
            "Records screened": "9",
            "Records excluded": str(9 - len(sought)),
            "Reports sought for retrieval": str(len(sought)),
            "Reports not retrieved": "1",
            "Reports assessed for eligibility": str(len(assessed)),
            "Reports excluded: wrong study type": "1",
            "Studies included in review": str(len(included)),
            "Reports of included studies": str(len(included)),
        }
        assert ana.page.locator("figure.prisma svg").count() == 1
        ana.shot("prisma")

        ana.page.goto("/p/e2e/report")
        assert "Adipose stem cells for psoriasis" in ana.page.content()
        ana.shot("report")
        ana.page.goto("/p/e2e/log")
        log = ana.page.locator("main").inner_text()
        assert "cy" in log and "ana" in log
        ana.shot("log")
        for reviewer in (ana, ben, cy):
            reviewer.context.close()
    assert errors == []
