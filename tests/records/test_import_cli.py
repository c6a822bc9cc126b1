"""`metasift import` with its PRISMA-S details, as a reviewer uses it, through to `searchlog`
and the PRISMA counts."""

import json
from pathlib import Path

from typer.testing import CliRunner

from metasift.cli import app

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_imports_record_their_details_and_searchlog_and_prisma_use_them(tmp_path, monkeypatch):
    monkeypatch.setenv("METASIFT_REVIEWER", "ana")
    project = str(tmp_path / "p")
    run("init", project, "--title", "Blue light for acne")
    query = tmp_path / "pubmed.txt"
    query.write_text('("blue light"[tiab] OR phototherapy[mh]) AND acne[mh]\n', encoding="utf-8")
    out = run(
        "import",
        "-p",
        project,
        str(FORMATS / "ris/RefLib/blue-light.ris"),
        "--searched",
        "2024-02-01",
        "--query-file",
        str(query),
        "--limits",
        "English; 2000 to 2024",
    )
    assert "source PubMed (stated by the export), platform PubMed, searched 2024-02-01" in out
    out = run("import", "-p", project, str(FORMATS / "ris/asreview/pubmed_zotero.ris"))
    assert "the export names no database; give --source" in out
    assert "note: source not stated" in out
    broken = tmp_path / "trunc.ris"
    broken.write_text("TY  - JOUR\nER  - \n", encoding="utf-8")
    run("import", "-p", project, str(broken), "--source", "CINAHL", "--platform", "EBSCOhost")
    run(
        "import",
        "-p",
        project,
        str(FORMATS / "ris/asreview/pubmed_endnote.txt"),
        "--source",
        "Handsearching",
        "--source-type",
        "other",
    )

    log = run("searchlog", "-p", project)
    order = [line.split("|")[2].strip() for line in log.splitlines() if line.startswith("| import")]
    assert order == ["PubMed", "pubmed_zotero.ris", "CINAHL", "Handsearching"]
    assert '("blue light"[tiab] OR phototherapy[mh]) AND acne[mh]' in log
    assert "- Limits and filters: English; 2000 to 2024" in log
    assert "source not stated; date searched not stated; search string not stated" in log
    assert "gave no records" in log and "| imported, no records |" in log
    entries = json.loads(run("searchlog", "-p", project, "--format", "json"))
    assert [e["kind"] for e in entries] == ["import"] * 4

    run("report", "-p", project)
    report = (Path(project) / "report" / "report.md").read_text(encoding="utf-8")
    appendix = report[report.index("Search appendix (PRISMA-S)") :]
    assert '| PubMed | PubMed | 2024-02-01 | ("blue light"[tiab] OR phototherapy[mh])' in appendix
    assert "(source not stated; date searched not stated; search string not stated)" in appendix

    status = run("status", "-p", project)
    assert "Source not stated" in status and "pubmed_zotero.ris" in status

    counts = json.loads(run("prisma", "-p", project, "--json", "--draft"))
    identification = counts["identification"]
    # The corrupt file gave nothing: it is no database of the diagram.
    assert identification["databases"] == {"PubMed": 102, "pubmed_zotero.ris": 6}
    assert identification["other_methods"] == {"Handsearching": 6}
    assert counts["removed_before_screening"]["other"] == 0


def test_the_studies_of_a_previous_version_are_not_screened_again(tmp_path, monkeypatch):
    from metasift.project import Project
    from metasift.store.records import screenable_ids

    monkeypatch.setenv("METASIFT_REVIEWER", "ana")
    project = str(tmp_path / "p")
    run("init", project)
    run(
        "import",
        "-p",
        project,
        str(FORMATS / "ris/RefLib/blue-light.ris"),
        "--source",
        "Included in the 2021 version",
        "--source-type",
        "previous",
    )
    run("import", "-p", project, str(FORMATS / "ris/asreview/pubmed_endnote.txt"))
    with Project.open(project) as proj:
        assert len(screenable_ids(proj.engine)) == 6
    counts = json.loads(run("prisma", "-p", project, "--json", "--draft"))
    assert counts["previous_version"] == {
        "studies": 102,
        "reports": 102,
        "reports_carried_over": 0,
    }
    assert counts["identification"]["databases"] == {"PubMed": 6}
    assert counts["total_studies"] == 102
