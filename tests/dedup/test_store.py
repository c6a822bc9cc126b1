"""The dedup stage on the project store, on SQLite and on a real PostgreSQL server."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from metasift.dedup import store
from metasift.dedup.settings import DedupSettings
from metasift.records.importing import import_file
from metasift.store import create_db_engine, migrate
from metasift.store.audit import iter_log
from metasift.store.records import iter_screenable
from metasift.store.schema import (
    dedup_clusters,
    dedup_decisions,
    dedup_links,
    dedup_members,
    dedup_queue,
)

HARD_CASES = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "hard_cases.jsonl"


@pytest.fixture
def engine(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    import_file(engine, HARD_CASES)
    yield engine
    engine.dispose()


def ids_by_source(engine) -> dict[str, int]:
    from metasift.store.records import iter_records

    return {record.source_id: rid for rid, record in iter_records(engine)}


def snapshot(engine) -> dict[str, list]:
    with engine.connect() as conn:
        return {
            # Everything but the run number.
            t.name: [
                tuple(v for k, v in r._mapping.items() if k != "run_id")
                for r in conn.execute(sa.select(t).order_by(*t.primary_key))
            ]
            for t in (dedup_clusters, dedup_members, dedup_links, dedup_queue)
        }


def test_run_writes_clusters_evidence_and_screenable_records(engine):
    summary = store.run_dedup(engine)
    assert summary.to_dict() == {
        "records_in": 20,
        "clusters": 3,
        "duplicates_removed": 6,
        "manual_queue": 0,
        "linked": 7,
        "records_out": 14,
    }
    ids = ids_by_source(engine)
    listing = store.list_clusters(engine)
    assert [c["cluster"] for c in listing] == [
        ids["cho-pubmed"],
        ids["shin-pubmed"],
        ids["tnf-alpha-html"],
    ]
    cho = listing[0]
    assert cho["primary"] == ids["cho-pubmed"]
    embase = next(m for m in cho["members"] if m["record_id"] == ids["cho-embase"])
    assert embase["role"] == "duplicate" and embase["rule"] == "score"
    assert {"title", "authors", "year", "journal", "volume", "pages"} <= set(embase["fields"])
    screenable = dict(iter_screenable(engine))
    assert len(screenable) == 14
    assert ids["cho-embase"] not in screenable and ids["cho-pubmed"] in screenable
    assert ids["cho-preprint"] in screenable  # linked, not merged


def test_screenable_primary_carries_merged_metadata(db_url, tmp_path):
    engine = create_db_engine(db_url)
    migrate(engine)
    path = tmp_path / "two.jsonl"
    title = (
        "Adipose-derived stem cells in immune-related skin disease: a review of current research"
    )
    rows = [
        {
            "title": title,
            "authors": ["Sun T", "Zhou C"],
            "year": 2024,
            "journal": "Stem Cell Res Ther",
            "volume": "15",
            "pages": "37",
            "abstract": "Immune-related skin diseases " * 10,
        },
        {
            "title": title,
            "authors": ["Tianyi Sun", "Cheng Zhou"],
            "year": 2024,
            "journal": "Stem Cell Research & Therapy",
            "volume": "15",
            "pages": "37",
            "doi": "10.1186/s13287-023-03561-8",
            "pmid": "38311713",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    import_file(engine, path)
    store.run_dedup(engine)
    ((rid, record),) = list(iter_screenable(engine))
    assert rid == 1
    assert record.abstract.startswith("Immune-related")
    assert (record.doi, record.pmid) == ("10.1186/s13287-023-03561-8", "38311713")
    with engine.connect() as conn:
        row = conn.execute(sa.select(dedup_clusters)).one()
    assert row.filled_from == {"doi": 2, "pmid": 2}
    # Undo restores both records exactly as imported.
    assert store.undo(engine, "all", "ann") == [1]
    restored = dict(iter_screenable(engine))
    assert sorted(restored) == [1, 2] and restored[1].doi is None
    engine.dispose()


def test_undo_is_kept_by_later_runs_and_new_imports(engine, tmp_path):
    store.run_dedup(engine)
    ids = ids_by_source(engine)
    undone = store.undo(engine, ids["cho-pubmed"], "ann")
    assert undone == [ids["cho-pubmed"]]
    assert len(dict(iter_screenable(engine))) == 16
    with engine.connect() as conn:
        decisions = conn.execute(sa.select(dedup_decisions).order_by(dedup_decisions.c.id)).all()
    assert [(d.decision, d.source, d.reviewer) for d in decisions] == [
        ("different", "undo", "ann")
    ] * 3
    assert all(d.decided_at is not None for d in decisions)
    (entry,) = iter_log(engine, action="dedup.undo")
    assert (entry.actor, entry.entity_id) == ("ann", str(ids["cho-pubmed"]))
    assert len(entry.previous["members"]) == 3
    # A new import of another copy: the undone records stay apart, the copy joins one of them.
    extra = tmp_path / "more.jsonl"
    first = json.loads(HARD_CASES.read_text(encoding="utf-8").splitlines()[1])
    extra.write_text(json.dumps({**first, "source_id": "cho-embase-2"}) + "\n", encoding="utf-8")
    import_file(engine, extra)
    summary = store.run_dedup(engine)
    assert summary.records_in == 21 and summary.clusters == 3
    ids = ids_by_source(engine)
    clusters = [sorted(m["record_id"] for m in c["members"]) for c in store.list_clusters(engine)]
    undone = {ids["cho-pubmed"], ids["cho-embase"], ids["cho-openalex"]}
    (joined,) = [c for c in clusters if ids["cho-embase-2"] in c]
    assert len(joined) == 2 and len(undone & set(joined)) == 1
    with pytest.raises(store.DedupError, match="no duplicate cluster 999"):
        store.undo(engine, 999)


def test_manual_queue_round_trip(engine):
    # Strict thresholds: only identifier rules merge, content matches wait for a reviewer.
    settings = DedupSettings(thresholds={"duplicate": 30, "review": 10})
    summary = store.run_dedup(engine, settings)
    assert (summary.clusters, summary.manual_queue) == (2, 8)
    ids = ids_by_source(engine)
    queue = store.review_queue(engine)
    cho = f"{ids['cho-pubmed']}-{ids['cho-embase']}"
    tnf = f"{ids['tnf-alpha-html']}-{ids['tnf-alpha-latex']}"
    assert {cho, tnf} <= {q.pair for q in queue}
    item = next(q for q in queue if q.pair == cho)
    assert (item.score, item.rule, item.reason) == (20.0, "score", "borderline score")
    assert [r["id"] for r in item.records] == [ids["cho-pubmed"], ids["cho-embase"]]
    assert item.records[1]["title"].startswith("Exosomes derived")
    store.decide(engine, cho, "same", "ann")
    store.decide(engine, tnf, "different", "bob")
    assert len(store.review_queue(engine)) == 6
    summary = store.run_dedup(engine, settings)
    # The "same" pair joins the PubMed/OpenAlex cluster, which settles Embase-OpenAlex too.
    assert (summary.clusters, summary.manual_queue) == (2, 5)
    members = {c["cluster"]: c["members"] for c in store.list_clusters(engine)}
    assert sorted(m["record_id"] for m in members[ids["cho-pubmed"]]) == sorted(
        ids[k] for k in ("cho-pubmed", "cho-embase", "cho-openalex")
    )
    manual = next(m for m in members[ids["cho-pubmed"]] if m["record_id"] == ids["cho-embase"])
    assert manual["rule"] == "manual"
    assert tnf not in {q.pair for q in store.review_queue(engine)}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(dedup_decisions).order_by(dedup_decisions.c.id)).all()
    assert [(r.decision, r.source, r.reviewer) for r in rows] == [
        ("same", "review", "ann"),
        ("different", "review", "bob"),
    ]
    with pytest.raises(store.DedupError, match="use 'same' or 'different'"):
        store.decide(engine, cho, "maybe")
    with pytest.raises(store.DedupError, match="two record ids like 12-57"):
        store.decide(engine, "twelve", "same")
    with pytest.raises(store.DedupError, match="no record with one of these ids"):
        store.decide(engine, "1-999", "same")


def test_reruns_are_deterministic(engine):
    store.run_dedup(engine)
    first = snapshot(engine)
    store.run_dedup(engine)
    assert snapshot(engine) == first
