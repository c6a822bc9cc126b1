"""Records: the bibliographic Record model, its normalisation, and reading and writing exports.

Entry points: :class:`Record`; :func:`read_file` / :func:`read_records` (any supported export,
format detected from content) and :func:`write_records`; :func:`import_file` /
:func:`import_files` (an export into a project store, reporting read, imported and rejected
records, with the PRISMA-S details of each import: :class:`SearchDetails`, :func:`resolve`);
:func:`reference` (a record as a formatted reference); :func:`write_shards` /
:func:`read_shard` (records as Parquet shards, for work on a Dask cluster); the normalisers
(:func:`normalize_doi`, :func:`normalize_pmid`, :func:`clean_text`).
Names load on first use, so importing the package stays cheap.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    cite=["Reference", "reference", "study_label", "study_labels", "vancouver_name"],
    formats=[
        "FORMAT_NAMES",
        "ReadOptions",
        "Rejection",
        "canonical_format",
        "detect_format",
        "read_file",
        "read_records",
        "write_records",
    ],
    importing=["ImportSummary", "file_checksum", "import_file", "import_files"],
    provenance=["ExportTally", "Provenance", "SearchDetails", "declared_details", "resolve"],
    model=["RECORD_FIELDS", "Record"],
    shards=["read_shard", "shard_rows", "write_shard", "write_shards"],
    normalize=[
        "clean_text",
        "normalize_author",
        "normalize_doi",
        "normalize_pmcid",
        "normalize_pmid",
    ],
)
