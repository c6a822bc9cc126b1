"""Tables of the project store (SQLAlchemy Core). Alembic migrations create and evolve them.

Lists and the raw fields of a record are JSON columns: the store is read back into
:class:`~metasift.records.model.Record` objects, never queried inside those values.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("n_read", sa.Integer, nullable=False),
    sa.Column("n_imported", sa.Integer, nullable=False),
    sa.Column("n_rejected", sa.Integer, nullable=False),
    sa.Column("n_merged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("options", sa.JSON, nullable=False),
    # PRISMA-S details (revision 0011_import_details). ``source`` is the name the import is
    # reported under; ``source_origin`` says whether the reviewer gave it ("user"), the export
    # stated it ("export"), a live search ran it ("search") or none did ("file name", flagged).
    # ``database`` is what the export states, kept even when the reviewer named it otherwise.
    sa.Column("source_origin", sa.String(16)),
    sa.Column("database", sa.Text),
    sa.Column("platform", sa.Text),
    sa.Column("searched", sa.String(10)),
    sa.Column("query", sa.Text),
    sa.Column("limits", sa.Text),
    # database, register, other or previous; None: as review.toml's source of that name says.
    sa.Column("source_type", sa.String(16)),
    # The round of a living review the import belongs to (revision 0017_rounds): the round
    # current when it was made; 1 before any update.
    sa.Column("round", sa.Integer, nullable=False, server_default="1"),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("abstract", sa.Text),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("authors_raw", sa.JSON, nullable=False),
    sa.Column("year", sa.Integer),
    sa.Column("journal", sa.Text),
    sa.Column("journal_abbrev", sa.Text),
    sa.Column("volume", sa.Text),
    sa.Column("issue", sa.Text),
    sa.Column("pages", sa.Text),
    sa.Column("doi", sa.Text, index=True),
    sa.Column("pmid", sa.String(16), index=True),
    sa.Column("pmcid", sa.String(16)),
    sa.Column("issn", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("mesh_terms", sa.JSON, nullable=False),
    sa.Column("language", sa.Text),
    sa.Column("publication_types", sa.JSON, nullable=False),
    sa.Column("record_type", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("source_database", sa.Text),
    sa.Column("source_file", sa.Text),
    sa.Column("source_id", sa.Text),
    sa.Column("label", sa.Integer),
    sa.Column("raw", sa.JSON, nullable=False),
    sa.UniqueConstraint("import_id", "position", name="uq_records_import_position"),
)

rejections = sa.Table(
    "rejections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("reason", sa.Text, nullable=False),
)

# --- search: live database searches and their provenance (PRISMA-S) ---------------------------
# One row per run of a search. `query` is the query parameter exactly as sent; `state` is where
# paging stands (WebEnv/query_key/retstart, or a cursor) so that an interrupted run resumes;
# `import_id` is the import holding the records the run added to the project.
searches = sa.Table(
    "searches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("database", sa.Text, nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("base_url", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("query_input", sa.Text, nullable=False),
    sa.Column("filters", sa.JSON, nullable=False),
    sa.Column("adhoc", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("n_reported", sa.Integer),
    sa.Column("n_retrieved", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_imported", sa.Integer),
    sa.Column("n_merged", sa.Integer),
    sa.Column("n_rejected", sa.Integer),
    sa.Column("n_batches", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_resumed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("state", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("warning", sa.Text),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), index=True),
)

# Records of a run not yet imported: each fetched batch lands here with the run's new state in
# one transaction; the finished run moves them into `records` in one import, then clears them.
search_records = sa.Table(
    "search_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("search_id", sa.Integer, sa.ForeignKey("searches.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("item", sa.JSON, nullable=False),
    sa.UniqueConstraint("search_id", "key", name="uq_search_records_search_key"),
)

# --- dedup: clusters of duplicate records, their evidence, the manual queue, decisions -------
# A cluster's id is the smallest record id among its members, so that it stays the same when
# de-duplication runs again after new imports. Records are never changed: the primary's merged
# metadata lives in ``dedup_clusters.merged`` (only the filled fields), so undo is a delete.

dedup_runs = sa.Table(
    "dedup_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("records_in", sa.Integer, nullable=False),
    sa.Column("clusters", sa.Integer, nullable=False),
    sa.Column("duplicates_removed", sa.Integer, nullable=False),
    sa.Column("manual_queue", sa.Integer, nullable=False),
    sa.Column("linked", sa.Integer, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
)

dedup_clusters = sa.Table(
    "dedup_clusters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("primary_record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("merged", sa.JSON, nullable=False),
    sa.Column("filled_from", sa.JSON, nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("dedup_runs.id"), nullable=False),
)

dedup_members = sa.Table(
    "dedup_members",
    metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column(
        "cluster_id",
        sa.Integer,
        sa.ForeignKey("dedup_clusters.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("matched_with", sa.Integer),
    sa.Column("score", sa.Float),
    sa.Column("rule", sa.Text),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("conflicts", sa.JSON, nullable=False),
)

dedup_links = sa.Table(
    "dedup_links",
    metadata,
    sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("relation", sa.String(16), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),
)

dedup_queue = sa.Table(
    "dedup_queue",
    metadata,
    sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("conflicts", sa.JSON, nullable=False),
)

dedup_decisions = sa.Table(
    "dedup_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_a", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("record_b", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cluster_id", sa.Integer),
    sa.Index("ix_dedup_decisions_pair", "record_a", "record_b"),
)

# -- screening ---------------------------------------------------------------------------------
# A model run is one state of the screening model (the ranking that proposed records); a decision
# is one reviewer's verdict on one record at one stage. Decisions are never deleted: an undo sets
# ``retracted_at``, so the history of every verdict stays in the store for the audit log.
SCREENING_STAGES = ("title_abstract", "full_text")
SCREENING_DECISIONS = ("include", "exclude", "maybe")

model_runs = sa.Table(
    "model_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("n_records", sa.Integer, nullable=False),
    sa.Column("n_labelled", sa.Integer, nullable=False),
    sa.Column("n_included", sa.Integer, nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("decision", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model_run_id", sa.Integer, sa.ForeignKey("model_runs.id"), index=True),
    sa.Column("rank", sa.Integer),
    sa.Column("retracted_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("stage IN ('title_abstract', 'full_text')", name="ck_decisions_stage"),
    sa.CheckConstraint("decision IN ('include', 'exclude', 'maybe')", name="ck_decisions_decision"),
    sa.Index("ix_decisions_stage_reviewer", "stage", "reviewer"),
)

# --- extraction and risk of bias (revision 0006_extraction) --------------------------------
# ``study_id`` is the key of a study. Until studies group several reports it is the record id
# of the study's report, hence no foreign key.

extraction_values = sa.Table(
    "extraction_values",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("study_id", sa.Integer, nullable=False, index=True),
    sa.Column("field", sa.String(100), nullable=False),
    sa.Column("arm", sa.String(200), nullable=False, server_default=""),
    sa.Column("outcome", sa.String(100), nullable=False, server_default=""),
    sa.Column("timepoint", sa.String(100), nullable=False, server_default=""),
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("value", sa.JSON, nullable=False),
    # reviewer | import | suggestion | reconciled
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("source_detail", sa.JSON, nullable=False),
    sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(
        "study_id",
        "field",
        "arm",
        "outcome",
        "timepoint",
        "reviewer",
        name="uq_extraction_values_key",
    ),
)

extraction_suggestions = sa.Table(
    "extraction_suggestions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("study_id", sa.Integer, nullable=False, index=True),
    sa.Column("field", sa.String(100), nullable=False),
    sa.Column("arm", sa.String(200), nullable=False, server_default=""),
    sa.Column("outcome", sa.String(100), nullable=False, server_default=""),
    sa.Column("timepoint", sa.String(100), nullable=False, server_default=""),
    sa.Column("value", sa.JSON, nullable=False),
    # Where the evidence is: title, abstract or text:<file>, the sentence and both spans.
    sa.Column("text_source", sa.Text, nullable=False),
    sa.Column("sentence", sa.Text, nullable=False),
    sa.Column("sentence_start", sa.Integer, nullable=False),
    sa.Column("span_start", sa.Integer, nullable=False),
    sa.Column("span_end", sa.Integer, nullable=False),
    sa.Column("method", sa.String(100), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # pending | accepted | edited | rejected
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("reviewer", sa.String(100)),
    sa.Column("reviewed_at", sa.DateTime(timezone=True)),
    sa.Column("final_value", sa.JSON),
    # From a stored full text (revision 0014): its checksum and the part's position in it;
    # text_source then names the part ("page 3", "Results / Safety", "Table 2 ...").
    sa.Column("fulltext_sha256", sa.String(64), index=True),
    sa.Column("part_index", sa.Integer),
    sa.UniqueConstraint("key", name="uq_extraction_suggestions_key"),
)

rob_judgements = sa.Table(
    "rob_judgements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("study_id", sa.Integer, nullable=False, index=True),
    # rob2 | robins-i | syrcle
    sa.Column("tool", sa.String(16), nullable=False),
    # The result assessed (RoB 2 and ROBINS-I judge a result); "" for the whole study.
    sa.Column("result", sa.String(200), nullable=False, server_default=""),
    sa.Column("domain", sa.String(32), nullable=False),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("algorithm", sa.String(32)),
    sa.Column("judgement", sa.String(32), nullable=False),
    sa.Column("support", sa.Text, nullable=False),
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(
        "study_id", "tool", "result", "domain", "reviewer", name="uq_rob_judgements_key"
    ),
)

# Drafts (revision 0014_extraction_drafts): what a reviewer typed into a form (the extraction
# form, or one risk-of-bias tool) and has not saved yet, kept so that a reload or a lost
# connection loses nothing. A draft is never read as an answer; saving the form deletes it.
extraction_drafts = sa.Table(
    "extraction_drafts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("study_id", sa.Integer, nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("study_id", "reviewer", "form", name="uq_extraction_drafts_key"),
)

# --- review workflow: the team (owner, reviewer, viewer) and the append-only audit log ---

reviewers = sa.Table(
    "reviewers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64)),
    sa.Column("previous", sa.JSON),
    sa.Column("value", sa.JSON),
    sa.Column("note", sa.Text),
)

# --- review workflow: conflict resolutions, stage closures, full text (0007_fulltext) ---------
# A resolution settles a conflict between reviewers' decisions on one record at one stage; a
# closure ends a screening stage (with the stopping rule's verdict) so that records left
# unscreened count as "marked ineligible by automation tools". Reports are the full texts of
# records sought for retrieval; several reports of one study share a study id.

resolutions = sa.Table(
    "resolutions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("decision", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("resolved_by", sa.String(128), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
)

stage_closures = sa.Table(
    "stage_closures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_by", sa.String(128), nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("estimated_recall", sa.Float),
    sa.Column("recall_lower_bound", sa.Float),
    sa.Column("n_screened", sa.Integer, nullable=False),
    sa.Column("n_unscreened", sa.Integer, nullable=False),
    sa.Column("reopened_at", sa.DateTime(timezone=True)),
    # A closure closes its round's stage (revision 0017_rounds): an update's new records are
    # screened in a round of their own, open until that round is closed.
    sa.Column("round", sa.Integer, nullable=False, server_default="1"),
)

# --- rounds of a living review (revision 0017_rounds) -------------------------------------------
# Round 1 is the review as first searched and screened (no row needed); each ``metasift update``
# adds a round: the date windows its searches covered, per source, whether its searches are
# still running ("searching") or done ("searched"), and which earlier reports were settled when
# it started. Records belong to the round of their import.
rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_by", sa.String(128), nullable=False),
    sa.Column("windows", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    # The record ids of the earlier rounds' reports that had a final full-text verdict when
    # the round started (revision 0019_round_reports): the previous version's assessed reports.
    # The others were still to classify, and the round's PRISMA flow takes them over. NULL for
    # rounds started before that revision.
    sa.Column("settled_reports", sa.JSON),
)

studies = sa.Table(
    "studies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

reports = sa.Table(
    "reports",
    metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id"), index=True),
    sa.Column("location", sa.Text),
    sa.Column("retrieval", sa.String(16), nullable=False),
    sa.Column("not_retrieved_reason", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        "retrieval IN ('pending', 'retrieved', 'not_retrieved')", name="ck_reports_retrieval"
    ),
)

# --- full texts (revision 0013_fulltext_files) ------------------------------------------------
# A full text is a file in the project folder named by its SHA-256 (fulltexts/<sha256>.pdf or
# .xml), checked when stored and when read; a row says whose report it is, where it came from
# (europepmc, pmc_oa, unpaywall, or upload for a file attached by hand), its URL and licence.
# A look-up is one try at one source for one record in one fetch run; the latest run's rows of
# a record say whether its open-access copy was found, not found, or could not be fetched.

fulltext_files = sa.Table(
    "fulltext_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("licence", sa.Text),
    sa.Column("pages", sa.Integer),
    sa.Column("stored_by", sa.String(128), nullable=False),
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("record_id", "sha256", name="uq_fulltext_files_record_id"),
)

fulltext_lookups = sa.Table(
    "fulltext_lookups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fetch_run", sa.Integer, nullable=False),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        "outcome IN ('stored', 'not_found', 'refused', 'failed')",
        name="ck_fulltext_lookups_outcome",
    ),
)

# --- web app: users, sessions, screening assignments (revisions 0008_web, 0009_roles) ----------
# Each project store holds its own users: a user is a member of the review team (``reviewers``,
# whose role applies to the web app as to the CLI) with a password, so that a server with
# several projects lets a user into exactly the projects whose team knows them. A session is
# stored under the SHA-256 of its cookie value, never the value itself.

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# Login attempts (revision 0010_logins): a row per attempt, written before the password is
# checked and deleted when it succeeds, so that the rows of a name or an address are its recent
# failures. Every server process serving the project counts the same rows. ``account`` is the
# name as typed, known or not, so that a lockout says nothing about which names exist.
login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("account", sa.String(128), nullable=False, index=True),
    sa.Column("address", sa.String(64), nullable=False, index=True),
)

# Who is screening which record: a slot per reviewer a record needs (one, or two and more under
# dual screening). A slot is leased while its reviewer reads the record and kept once they
# decided; the unique constraints make a record go to no more reviewers than it needs, and to
# no reviewer twice, however many servers or threads hand records out at once.
assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("slot", sa.Integer, nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("leased_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("rank", sa.Integer),
    sa.Column("model_run_id", sa.Integer),
    sa.UniqueConstraint("record_id", "stage", "slot", name="uq_assignments_slot"),
    sa.UniqueConstraint("record_id", "stage", "reviewer", name="uq_assignments_reviewer"),
    sa.CheckConstraint("state IN ('leased', 'decided')", name="ck_assignments_state"),
    sa.Index("ix_assignments_reviewer", "stage", "reviewer", "state"),
    # The leases being read now, without scanning every decided slot.
    sa.Index("ix_assignments_state", "stage", "state", "expires_at"),
)

# GRADE (revision 0012_grade): the judgement a reviewer confirmed or set for one domain of one
# analysis of the plan, beside what metasift proposed then and the rule it used, so that the
# Summary of Findings shows both when they differ. One row per analysis and domain; earlier
# judgements live in the audit log.
grade_judgements = sa.Table(
    "grade_judgements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("analysis", sa.String(200), nullable=False),
    sa.Column("domain", sa.String(32), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("proposed_level", sa.Integer, nullable=False),
    sa.Column("proposed_rule", sa.Text, nullable=False),
    sa.Column("footnote", sa.Text, nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("analysis", "domain", name="uq_grade_judgements_key"),
)

# Notes and labels on records, and each reviewer's highlight terms (revision
# 0018_annotations). A note is kept as written; a label is on a record or not (who added it,
# and removals, are in the audit log); highlight terms are a reviewer's own reading aid.
record_notes = sa.Table(
    "record_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
)

record_labels = sa.Table(
    "record_labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False),
    sa.Column("label", sa.String(64), nullable=False, index=True),
    sa.Column("added_by", sa.String(128), nullable=False),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("record_id", "label", name="uq_record_labels_record_id"),
)

highlight_terms = sa.Table(
    "highlight_terms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("term", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.UniqueConstraint("reviewer", "term", name="uq_highlight_terms_reviewer"),
    sa.CheckConstraint("kind IN ('include', 'exclude')", name="ck_highlight_terms_kind"),
)
