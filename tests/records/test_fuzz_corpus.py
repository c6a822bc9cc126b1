"""The hostile files of tests/fixtures/fuzz import as expected, with every record accounted for.

Each file (see tests/fixtures/fuzz/README.md) is imported into a fresh store: the counts must
be those of expected.json, ``read = imported + rejected + merged`` must hold, every rejection
must name its record and line, and nothing but an ImportFileError may escape.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from metasift.errors import ImportFileError
from metasift.records.formats import read_records
from metasift.records.importing import import_file
from metasift.store import create_db_engine, migrate
from metasift.store.schema import records

FUZZ = Path(__file__).parents[1] / "fixtures" / "fuzz"
EXPECTED = json.loads((FUZZ / "expected.json").read_text("utf-8"))


def test_every_file_has_an_expectation():
    files = {p.name for p in FUZZ.iterdir() if p.suffix not in {".md", ".json"}}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file_imports_as_expected(tmp_path, name):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(engine)
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(ImportFileError, match=expected):
            import_file(engine, FUZZ / name)
        return
    summary = import_file(engine, FUZZ / name)
    fmt, read, imported, rejected, untitled = expected
    assert (summary.format, summary.read, summary.imported, summary.rejected) == (
        fmt,
        read,
        imported,
        rejected,
    )
    assert summary.untitled == untitled
    assert summary.read == summary.imported + summary.rejected + summary.merged
    for rejection in summary.rejections:
        assert rejection.position >= 1 and rejection.line and rejection.line >= 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(records)).scalar() == imported


def test_sici_dois_survive_import_whole():
    dois = [r.doi for r in read_records(FUZZ / "ris_sici_dois.ris")]
    assert dois == [
        "10.1002/(sici)1098-2795(199907)53:3<266::aid-mrd2>3.0.co;2-6",
        "10.1892/0891-6640(2007)21[394:gcoarh]2.0.co;2",
        "10.1002/(sici)1097-0215(19960729)67:3<327::aid-ijc4>3.0.co;2-t",
    ]


def test_invalid_bytes_cost_only_their_record():
    # Cut from the first three records of ASySD's Zotero RIS; the second one was damaged.
    clean = read_records(FUZZ.parent / "formats" / "ris" / "ASySD" / "zotero_export.ris")[:3]
    damaged = read_records(FUZZ / "ris_invalid_bytes.ris")
    for before, after in ((clean[0], damaged[0]), (clean[2], damaged[2])):
        assert (after.title, after.abstract, after.authors, after.doi, after.raw) == (
            before.title,
            before.abstract,
            before.authors,
            before.doi,
            before.raw,
        )
    assert damaged[1].title == clean[1].title  # the damage fell in its abstract
