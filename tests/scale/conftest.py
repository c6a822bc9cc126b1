"""Fixtures of the Dask tests: one real cluster of separate processes for the module, the
records of the fixture exports as shards, and a project with a trained screening model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the scale extra is not installed")

from metasift.records.formats import read_records
from metasift.records.shards import write_shards
from tests.conftest import FIXTURES
from tests.scale.cluster import Cluster, real_cluster

FORMATS = FIXTURES / "formats"
# Real exports of overlapping collections (one library as BibTeX and RIS, one search as RIS,
# MEDLINE and EndNote XML): duplicates within and across files, some 2,500 records.
EXPORTS = [
    FORMATS / "bibtex/ASySD/zotero_export.bib",
    FORMATS / "ris/ASySD/zotero_export.ris",
    FORMATS / "ris/RefLib/blue-light.ris",
    FORMATS / "medline/RefLib/blue-light.nbib",
    FORMATS / "endnote_xml/RefLib/blue-light.xml",
    FORMATS / "endnote_xml/dedupe-sweep/tafenoquine.xml",
    FORMATS / "scopus_csv/litstudy/scopus_v2.csv",
]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with real_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture(scope="session")
def record_shards(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("shards")
    items = (
        (f"{path.name}:{i}", record)
        for path in EXPORTS
        for i, record in enumerate(read_records(path), start=1)
    )
    return write_shards(items, folder, rows_per_shard=250)
