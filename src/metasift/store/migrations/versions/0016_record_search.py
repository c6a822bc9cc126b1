"""Full-text search over records: title, abstract, authors, journal and keywords.

SQLite: an FTS5 index (``records_fts``, external content: it stores no second copy of the
text) kept in step with ``records`` by triggers. Authors and keywords are JSON lists; the
triggers index their items (``json_each``), not the JSON text, whose escapes (``\\u00fc``)
would split names with accents. The delete and update triggers give FTS5 the same values the
insert gave, as external-content tables require.

PostgreSQL: a GIN index on the ``to_tsvector`` expression that
:func:`metasift.store.records.text_match` queries; the JSON lists are cast to jsonb, whose
text form has the escapes decoded.

A later migration that rebuilds ``records`` in SQLite (a batch ``ALTER``) drops these triggers
with the old table and must create them again.

Revision ID: 0016_record_search
Revises: 0015_fulltext_suggestions
"""

from alembic import op

revision = "0016_record_search"
down_revision = "0015_fulltext_suggestions"
branch_labels = None
depends_on = None

_SQLITE_VALUES = (
    "{row}.id, {row}.title, {row}.abstract, "
    "(SELECT group_concat(value, ' ') FROM json_each({row}.authors)), {row}.journal, "
    "(SELECT group_concat(value, ' ') FROM json_each({row}.keywords))"
)
# The expression metasift.store.records.PG_SEARCH_VECTOR queries (a test checks the index is
# used): written out here, as a migration stays what it was when it ran.
_PG_VECTOR = (
    "to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(abstract, '') "
    "|| ' ' || coalesce(journal, '') || ' ' || (authors::jsonb)::text || ' ' "
    "|| (keywords::jsonb)::text)"
)
_COLUMNS = "rowid, title, abstract, authors, journal, keywords"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE records_fts USING fts5(title, abstract, authors, journal, "
            "keywords, content='records', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        new, old = _SQLITE_VALUES.format(row="new"), _SQLITE_VALUES.format(row="old")
        remove = f"INSERT INTO records_fts(records_fts, {_COLUMNS}) VALUES ('delete', {old});"
        add = f"INSERT INTO records_fts({_COLUMNS}) VALUES ({new});"
        op.execute(f"CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN {add} END")
        op.execute(f"CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN {remove} END")
        op.execute(
            "CREATE TRIGGER records_fts_update AFTER UPDATE OF title, abstract, authors, "
            f"journal, keywords ON records BEGIN {remove} {add} END"
        )
        op.execute(
            f"INSERT INTO records_fts({_COLUMNS}) SELECT {_SQLITE_VALUES.format(row='records')} "
            "FROM records"
        )
    else:
        op.execute(f"CREATE INDEX ix_records_search ON records USING gin (({_PG_VECTOR}))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS records_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS records_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_records_search")
