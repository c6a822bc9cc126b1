"""OpenAlex works JSON and SYNERGY dataset folders, on real works."""

from __future__ import annotations

import csv
import functools
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from metasift.records.formats import detect_format, read_file, read_records
from metasift.records.formats.base import Rejection
from metasift.records.formats.openalex import abstract_from_index, record_from_work
from metasift.records.formats.synergy import criteria_text
from tests.conftest import FIXTURES, shared

MINI = FIXTURES / "synergy_mini"


@functools.cache
def _read(folder: Path) -> list:
    """Each dataset is read once per test session (the tests only look at the records)."""
    return list(read_file(folder))


def dataset_items(name: str) -> list:
    return _read(shared("synergy", name))


def mini_works() -> list[dict]:
    with zipfile.ZipFile(MINI / "works_1.zip") as zf:
        return json.loads(zf.read("works_0_25.json")) + json.loads(zf.read("works_25_40.json"))


def test_abstract_is_rebuilt_from_word_positions():
    index = {"Memory": [0], "of": [2, 5], "is": [3], "context": [1], "the": [4], "rat.": [6]}
    assert abstract_from_index(index) == "Memory context of is the of rat."
    assert abstract_from_index({}) is None
    assert abstract_from_index(None) is None


def test_work_maps_to_record():
    work = mini_works()[0]
    record = record_from_work(work)
    assert record.title == (
        "Noradrenergic activation of the basolateral amygdala modulates the consolidation "
        "of object-in-context recognition memory"
    )
    assert record.abstract.startswith(
        "Noradrenergic activation of the basolateral complex of the amygdala (BLA) is well known"
    )
    assert record.authors == ["Barsegyan, A.", "McGaugh, J. L.", "Roozendaal, B."]
    assert record.authors_raw == ["Areg Barsegyan", "James L. McGaugh", "Benno Roozendaal"]
    assert (record.year, record.journal, record.volume) == (
        2014,
        "Frontiers in Behavioral Neuroscience",
        "8",
    )
    assert (record.doi, record.pmid, record.source_id) == (
        "10.3389/fnbeh.2014.00160",
        "24847228",
        "W2126189390",
    )
    assert record.record_type == "journal-article"
    assert record.keywords[:2] == ["Memory consolidation", "Basolateral amygdala"]
    assert record.raw is work


@pytest.mark.parametrize("shape", ["list", "page", "lines"])
def test_openalex_file_shapes(tmp_path, shape):
    works = mini_works()[:5]
    path = tmp_path / "works.json"
    if shape == "list":
        path.write_text(json.dumps(works), encoding="utf-8")
    elif shape == "page":
        path.write_text(json.dumps({"meta": {"count": 5}, "results": works}), encoding="utf-8")
    else:
        path.write_text("\n".join(json.dumps(w) for w in works) + "\n", encoding="utf-8")
    assert detect_format(path) == "openalex"
    records = read_records(path)
    assert [r.source_id for r in records] == [
        "W2126189390",
        "W2017993797",
        "W2766428986",
        "W2902837106",
        "W1937888283",
    ]
    assert [r.source_position for r in records] == [1, 2, 3, 4, 5]
    assert all(r.source_database == "OpenAlex" for r in records)


def test_openalex_bad_items_are_rejections(tmp_path):
    path = tmp_path / "works.jsonl"
    work = json.dumps(mini_works()[0])
    path.write_text(f"{work}\n42\n{{not json\n{work}\n", encoding="utf-8")
    items = list(read_file(path, "openalex"))
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["Record", "Rejection", "Rejection", "Record"]
    assert items[1].line == 2 and "JSON object" in items[1].reason
    assert items[2].line == 3 and "not valid JSON" in items[2].reason


def test_synergy_mini_folder():
    assert detect_format(MINI) == "synergy"
    items = list(read_file(MINI))
    assert all(not isinstance(i, Rejection) for i in items)
    assert len(items) == 40 and sum(r.label for r in items) == 10
    with (MINI / "labels.csv").open() as fh:
        order = [row["openalex_id"].rsplit("/", 1)[1] for row in csv.DictReader(fh)]
    assert [r.source_id for r in items] == order
    assert items[0].label == 1 and items[1].label == 0
    assert criteria_text(MINI).startswith("Inclusion criteria for the systematic review were")


def test_synergy_missing_work_and_bad_label_are_rejections(tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(MINI, folder)
    with (folder / "labels.csv").open("a") as fh:
        fh.write("https://openalex.org/W1,https://doi.org/10.1/missing,,1\n")
    lines = (folder / "labels.csv").read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",maybe"
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    items = list(read_file(folder))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert len(items) == 42
    assert [r.line for r in rejected] == [4, 42, None]
    assert "label_included is 'maybe'" in rejected[0].reason
    assert "W1" in rejected[1].reason and "10.1/missing" in rejected[1].reason
    # The work of the row whose label was damaged is now unlabelled: accounted for, not dropped.
    assert "has no row in labels.csv" in rejected[2].reason


def test_folder_that_is_not_synergy_is_refused(tmp_path):
    from metasift.errors import ImportFileError

    with pytest.raises(ImportFileError, match="not a SYNERGY dataset"):
        detect_format(tmp_path)


SYNERGY_COUNTS = {
    "Donners_2021": (258, 15),
    "Jeyaraman_2020": (1175, 96),
    "Meijboom_2021": (882, 37),
    "Nelson_2002": (366, 80),
    "Sep_2021": (271, 40),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(SYNERGY_COUNTS))
def test_synergy_datasets_counts(name):
    folder = shared("synergy", name)
    items = dataset_items(name)
    assert not [i for i in items if isinstance(i, Rejection)]
    assert (len(items), sum(r.label for r in items)) == SYNERGY_COUNTS[name]
    with (folder / "labels.csv").open() as fh:
        order = [row["openalex_id"].rsplit("/", 1)[1] for row in csv.DictReader(fh)]
    assert [r.source_id for r in items] == order


@pytest.mark.shared_data
def test_synergy_pinned_records():
    nelson = dataset_items("Nelson_2002")
    first = nelson[0]
    assert first.title.startswith("A randomized,open-label study of conjugated equine estrogens")
    assert first.authors[:3] == ["Baracat, E. C.", "Barbosa, I. C.", "Giordano, M. G."]
    assert first.authors_raw[1] == "I.C. Barbosa"
    assert (first.journal, first.volume, first.issue, first.pages) == (
        "Climacteric",
        "5",
        "1",
        "60-69",
    )
    assert (first.doi, first.pmid, first.year, first.label) == (
        "10.1080/cmt.5.1.60.69",
        "11974560",
        2002,
        0,
    )
    assert first.mesh_terms[:3] == [
        "Estrogen Replacement Therapy",
        "Estrogens, Conjugated (USP)",
        "Medroxyprogesterone Acetate",
    ]
    assert first.issn == ["1473-0804", "1369-7137"]
    jeyaraman = dataset_items("Jeyaraman_2020")
    tenth = jeyaraman[9]
    assert tenth.source_id == "W2347115686"
    assert tenth.journal == "Cell Transplantation" and tenth.pages == "2379-2390"
    assert tenth.authors[-1] == "Jülke, H."
    assert tenth.mesh_terms[-1] == "Sheep"
    donners = dataset_items("Donners_2021")
    assert donners[2].title == "Novel therapies and current clinical progress in hemophilia A"
    assert donners[2].authors == ["Balkaransingh, P.", "Young, G."]
    # A work OpenAlex has no title for is still read (the importer, not the reader, rejects it).
    assert donners[225].title is None
    assert donners[225].label in (0, 1)
