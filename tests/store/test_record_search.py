"""Full-text search over records answers alike on SQLite (FTS5) and PostgreSQL (tsvector),
and its index follows the records table."""

import sqlalchemy as sa
from alembic import command

from metasift.records.model import Record
from metasift.store import create_db_engine, migrate
from metasift.store.engine import alembic_config
from metasift.store.records import find_record_ids, insert_records, search_terms, text_match
from metasift.store.schema import imports, records

RECORDS = [
    Record(
        title="Adipose-derived stem cell exosomes in psoriasis",
        abstract="Exosomes reduced IL-17 in imiquimod mice.",
        authors=["Müller, A.", "Smith, B."],
        year=2020,
        journal="J Dermatol Sci",
        keywords=["psoriasis", "extracellular vesicles"],
    ),
    Record(
        title="Umbilical cord MSCs in atopic dermatitis",
        abstract="A trial of cells from cord tissue.",
        authors=["Garcia, C."],
        year=2019,
        journal="Stem Cell Res Ther",
        keywords=["atopic dermatitis"],
    ),
    Record(title='Cells NOT "near" anything: a title with FTS5 operators', authors=[]),
]


def _store(db_url: str):
    engine = create_db_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        import_id = conn.execute(
            imports.insert().values(
                file="a.ris",
                format="ris",
                checksum="x",
                imported_at=sa.func.now(),
                n_read=3,
                n_imported=3,
                n_rejected=0,
                options={},
            )
        ).inserted_primary_key[0]
        for position, record in enumerate(RECORDS):
            record.source_position = position
        insert_records(conn, import_id, RECORDS)
    return engine, import_id


def test_search_terms_split_words_and_quoted_phrases():
    assert search_terms('stem "cord MSCs" IL-17') == [
        (["stem"], True),
        (["cord", "mscs"], False),
        (["il"], True),
        (["17"], True),
    ]
    assert search_terms('*** "" -') == []


def test_search_finds_words_phrases_authors_journal_keywords(db_url):
    engine, import_id = _store(db_url)
    find = lambda text: find_record_ids(engine, text=text)  # noqa: E731
    assert find("psoriasis") == [1]
    assert find("exosome") == [1]  # a word is a prefix: "exosomes"
    assert find("cell psoriasis") == [1]  # every word must be there
    assert find('"stem cell exosomes"') == [1]
    assert find('"exosomes stem"') == []  # a phrase keeps its order
    assert find("garcia") == [2]  # authors
    assert find("müller") == [1]  # authors with accents, not their JSON escapes
    assert find("dermatol") == [1]  # journal
    assert find("vesicles") == [1]  # keywords
    assert find("cord tissue") == [2]  # abstract
    # FTS5's operators are plain words; an unbalanced quote is no error.
    assert find("NOT near") == [3]
    assert find('"cell') == [1, 2, 3]
    assert find("") == [1, 2, 3]
    assert find("***") == []
    assert find_record_ids(engine, text="cell", import_ids=[import_id]) == [1, 2, 3]
    assert find_record_ids(engine, import_ids=[]) == []
    engine.dispose()


def test_index_follows_updates_and_deletes(db_url):
    engine, _ = _store(db_url)
    with engine.begin() as conn:
        conn.execute(records.update().where(records.c.id == 2).values(title="Acne scars"))
    assert find_record_ids(engine, text="acne") == [2]
    assert find_record_ids(engine, text="umbilical") == []
    with engine.begin() as conn:
        conn.execute(records.delete().where(records.c.id == 3))
    assert find_record_ids(engine, text="anything") == []
    engine.dispose()


def test_migration_indexes_existing_records_and_goes_both_ways(db_url):
    engine, _ = _store(db_url)
    config = alembic_config(engine)
    command.downgrade(config, "0016_record_search-1")
    engine.dispose()
    command.upgrade(config, "heads")  # records stored before the index are found
    engine.dispose()
    assert find_record_ids(engine, text="psoriasis") == [1]
    engine.dispose()


def test_postgresql_uses_the_gin_index(postgres_url):
    engine, _ = _store(postgres_url)
    query = sa.select(records.c.id).where(text_match("postgresql", "psoriasis"))
    with engine.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(conn.execute(sa.text(f"EXPLAIN {sql}")).scalars())
    assert "ix_records_search" in plan
    engine.dispose()
