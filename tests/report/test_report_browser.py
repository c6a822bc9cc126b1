"""The flagship report opened in headless Chromium, as a reader would see it."""

import shutil
from pathlib import Path

from metasift.project import Project
from metasift.run import run_review

FLAGSHIP = Path(__file__).resolve().parents[2] / "examples" / "admsc-skin"


def test_report_renders_diagram_and_tables(tmp_path, browser, artifacts):
    root = tmp_path / "admsc-skin"
    shutil.copytree(FLAGSHIP, root, ignore=shutil.ignore_patterns("report", "*.sqlite*"))
    with Project.open(root) as project:
        report = run_review(project, offline=True).report
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(report.as_uri())
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)

    diagram = page.locator("#prisma-diagram svg")
    assert diagram.count() == 1
    assert diagram.bounding_box()["width"] > 400
    svg_text = diagram.text_content()
    assert "Records screened (n = 127)" in svg_text
    assert "Studies included in review (n = 20)" in svg_text
    assert page.locator("#characteristics tbody tr").count() == 20
    assert page.locator("#search-log tbody tr").count() == 1
    assert page.locator("#screening svg").count() == 1
    assert page.locator("#evidence svg").count() == 1
    links = page.locator("#downloads a")
    assert [links.nth(i).get_attribute("download") for i in range(links.count())] == [
        "included.csv",
        "included.ris",
        "prisma.json",
    ]
    assert "simulated" in page.locator(".notice").first.inner_text()
    page.close()
