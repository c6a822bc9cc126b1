"""`metasift dedup` as users run it: project mode and stand-alone mode on real exports."""

import csv
import io
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from metasift.records.formats import FORMAT_NAMES, read_records

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
HARD_CASES = FIXTURES / "dedup" / "hard_cases.jsonl"
BLUE_LIGHT_RIS = FIXTURES / "formats" / "ris" / "RefLib" / "blue-light.ris"
BLUE_LIGHT_NBIB = FIXTURES / "formats" / "medline" / "RefLib" / "blue-light.nbib"
BLUE_LIGHT_XML = FIXTURES / "formats" / "endnote_xml" / "RefLib" / "blue-light.xml"


def metasift(*args: str, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "metasift.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def run(*args: str):
    """The command in-process (the console script is exercised by the stand-alone tests)."""
    from typer.testing import CliRunner

    from metasift.cli import app

    return CliRunner().invoke(app, list(args))


def test_project_dedup_review_decide_undo(tmp_path):
    project = tmp_path / "p"
    assert run("init", str(project)).exit_code == 0
    with (project / "review.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[dedup]\nmerge_preprints = true\n")
    assert run("import", "-p", str(project), str(HARD_CASES)).exit_code == 0
    result = run("dedup", "-p", str(project), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "records_in": 20,
        "clusters": 3,
        "duplicates_removed": 7,  # the preprint merges: the protocol says so
        "manual_queue": 0,
        "linked": 4,
        "records_out": 13,
    }
    listing = json.loads(run("dedup", "-p", str(project), "--clusters", "--json").stdout)
    assert [c["cluster"] for c in listing] == [1, 7, 19]
    assert [m["record_id"] for m in listing[0]["members"]] == [1, 2, 3, 6]
    review = run("dedup", "-p", str(project), "--review")
    assert review.exit_code == 0 and "0 pair(s) to review" in review.stdout
    decided = run(
        "dedup", "-p", str(project), "--decide", "19-20", "different", "--reviewer", "ann"
    )
    assert decided.exit_code == 0 and "records 19 and 20 are different (ann)" in decided.stdout
    undo = run("dedup", "-p", str(project), "--undo", "7")
    assert undo.exit_code == 0 and "Undid 1 cluster(s)" in undo.stdout
    again = json.loads(run("dedup", "-p", str(project), "--json").stdout)
    assert (again["clusters"], again["duplicates_removed"]) == (1, 3)
    bad = run("dedup", "-p", str(project), "--undo", "banana")
    assert bad.exit_code == 1 and "give a cluster id" in str(bad.exception)


def test_protocol_errors_name_the_key(tmp_path):
    project = tmp_path / "p"
    run("init", str(project))
    with (project / "review.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[dedup]\nmerge_preprint = true\n")
    result = run("dedup", "-p", str(project))
    assert result.exit_code == 1
    assert "key 'dedup.merge_preprint' is not a known setting" in str(result.exception)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_standalone_hard_cases_to_stdout():
    result = metasift("dedup", str(HARD_CASES))
    assert result.returncode == 0, result.stderr
    rows = rows_of(result.stdout)
    assert list(rows[0]) == ["file", "position", "source_id", "cluster"]
    assert [r["position"] for r in rows] == [str(i) for i in range(1, 21)]
    by_cluster = defaultdict(list)
    for r in rows:
        by_cluster[r["cluster"]].append(r["source_id"])
    assert sorted(v for v in by_cluster.values() if len(v) > 1) == [
        ["cho-pubmed", "cho-embase", "cho-openalex"],
        ["shin-pubmed", "shin-wrongdoi", "shin-truncated", "shin-retracted-banner"],
        ["tnf-alpha-html", "tnf-alpha-latex"],
    ]
    assert len(by_cluster) == 14


@pytest.mark.skipif("medline" not in FORMAT_NAMES, reason="MEDLINE reader not available")
def test_standalone_same_library_in_two_formats(tmp_path):
    """blue-light.nbib holds the PubMed subset of the library in blue-light.ris: every
    MEDLINE record is clustered with exactly the RIS record of the same PubMed article."""
    out = tmp_path / "clusters.csv"
    result = metasift("dedup", str(BLUE_LIGHT_RIS), str(BLUE_LIGHT_NBIB), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = rows_of(out.read_text(encoding="utf-8"))
    ris = read_records(BLUE_LIGHT_RIS)
    nbib = read_records(BLUE_LIGHT_NBIB)
    assert len(rows) == len(ris) + len(nbib) == 182
    members = defaultdict(list)
    for r in rows:
        source = ris if r["file"].endswith(".ris") else nbib
        members[r["cluster"]].append(source[int(r["position"]) - 1])
    sizes = sorted(len(m) for m in members.values())
    assert sizes == [1] * 22 + [2] * 80
    for pair in (m for m in members.values() if len(m) == 2):
        a, b = pair
        assert a.source_file != b.source_file
        assert a.title.lower()[:40] == b.title.lower()[:40] or a.doi == b.doi


@pytest.mark.skipif("endnote-xml" not in FORMAT_NAMES, reason="EndNote XML reader not available")
def test_standalone_same_library_in_three_formats(tmp_path):
    out = tmp_path / "clusters.csv"
    files = [BLUE_LIGHT_RIS, BLUE_LIGHT_NBIB, BLUE_LIGHT_XML]
    result = metasift("dedup", *map(str, files), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = rows_of(out.read_text(encoding="utf-8"))
    clusters = defaultdict(set)
    for r in rows:
        clusters[r["cluster"]].add(Path(r["file"]).suffix)
    # 102 articles: each in the RIS and the EndNote XML export, 80 also in the MEDLINE one.
    assert len(clusters) == 102
    assert sorted(len(s) for s in clusters.values()) == [2] * 22 + [3] * 80


def test_standalone_keeps_a_row_for_rejected_records(tmp_path):
    from metasift.dedup.standalone import dedup_files

    path = tmp_path / "three.jsonl"
    title = "Adipose-derived stem cells in immune-related skin disease: a review"
    path.write_text(
        json.dumps({"title": title, "authors": ["Sun T"], "year": 2024, "source_id": "a"})
        + "\n{not json\n"
        + json.dumps({"title": title, "authors": ["Tianyi Sun"], "year": 2024, "source_id": "b"})
        + "\n",
        encoding="utf-8",
    )
    rows, result = dedup_files([path])
    assert [(r["position"], r["source_id"], r["cluster"]) for r in rows] == [
        (1, "a", 1),
        (2, "", ""),
        (3, "b", 1),
    ]
    assert result.n_records == 2


def test_standalone_review_shows_both_records_side_by_side(tmp_path):
    from metasift.records.formats import write_records

    from .test_real_cases import CASES, _record

    path = tmp_path / "lookalikes.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        write_records(
            [_record(r) for r in CASES["same_title_and_page_other_authors"][1]], fh, "jsonl"
        )
    result = run("dedup", str(path), "--out", str(tmp_path / "clusters.csv"), "--review")
    assert result.exit_code == 0, result.output
    assert "pair 1-2" in result.output
    assert "Wilkinson, E. J." in result.output and "Flowers, L. C." in result.output
    assert "DIFFER" in result.output and "agree" in result.output
    assert "1 pair(s) for a reviewer" in result.output


def test_project_queue_side_by_side_in_cli_and_web_page(tmp_path):
    from types import SimpleNamespace

    from metasift.dedup import store
    from metasift.project import Project
    from metasift.records.formats import write_records
    from metasift.web.app import _environment

    from .test_real_cases import CASES, _record

    source = tmp_path / "lookalikes.jsonl"
    with source.open("w", encoding="utf-8") as fh:
        write_records(
            [_record(r) for r in CASES["same_title_and_page_other_authors"][1]], fh, "jsonl"
        )
    project = tmp_path / "p"
    assert run("init", str(project)).exit_code == 0
    assert run("import", "-p", str(project), str(source)).exit_code == 0
    assert json.loads(run("dedup", "-p", str(project), "--json").stdout)["manual_queue"] == 1
    review = run("dedup", "-p", str(project), "--review")
    assert review.exit_code == 0, review.output
    assert "pair 1-2" in review.stdout and "DIFFER" in review.stdout
    assert "Flowers, L. C." in review.stdout and "1 pair(s) to review" in review.stdout

    with Project.open(project) as proj:
        queue = store.review_queue(proj.engine)
    html = (
        _environment()
        .get_template("dedup.html")
        .render(
            queue=queue,
            clusters=[],
            served=SimpleNamespace(slug="p", title="p"),
            user=SimpleNamespace(is_owner=False, can_decide=False),
            csrf="",
        )
    )
    assert (
        '<tr class="differ"><th scope="row">authors</th><td>Wilkinson, E. J.; Raab, S. S.</td>'
        "<td>Flowers, L. C.; Tadros, T. S.</td>"
    ) in html
    assert '<tr class="agree"><th scope="row">title</th>' in html
