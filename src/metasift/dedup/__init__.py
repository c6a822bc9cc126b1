"""De-duplication: cluster records of the same publication, keep one merged record each.

Entry points: :func:`run_dedup` runs the stage on a project store (with :func:`undo`,
:func:`decide` for a reviewer's verdict on a pair, :func:`review_queue` and
:func:`list_clusters`); :func:`deduplicate` is the pure core over records;
:func:`dedup_files` and :func:`write_clusters` de-duplicate export files without a project,
:func:`dedup_files_distributed` the same on a Dask cluster.

Pure core: :mod:`~metasift.dedup.keys` (normalised comparison keys),
:mod:`~metasift.dedup.blocking` (candidate pairs), :mod:`~metasift.dedup.scoring` (pair
verdicts with evidence), :mod:`~metasift.dedup.cluster` (guarded union-find),
:mod:`~metasift.dedup.merge` (primary record, merged metadata) and
:func:`~metasift.dedup.core.deduplicate`, which chains them. Adapters:
:mod:`~metasift.dedup.store` (the stage on a project store) and
:mod:`~metasift.dedup.standalone` (export files to a clusters CSV).
Names load on first use, so importing the package stays cheap.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    compare=["FieldRow", "record_fields", "side_by_side"],
    core=["DedupResult", "cluster_labels", "conflict_rule", "deduplicate"],
    distributed=["dedup_files_distributed"],
    settings=["DedupSettings", "parse_settings"],
    standalone=["dedup_files", "queued_pairs", "write_clusters"],
    store=[
        "DedupSummary",
        "compare_clusters",
        "decide",
        "list_clusters",
        "review_queue",
        "run_dedup",
        "undo",
    ],
)
