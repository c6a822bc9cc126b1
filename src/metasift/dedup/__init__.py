"""De-duplication: cluster records of the same publication, keep one merged record each.

Pure core: :mod:`~metasift.dedup.keys` (normalised comparison keys),
:mod:`~metasift.dedup.blocking` (candidate pairs), :mod:`~metasift.dedup.scoring` (pair
verdicts with evidence), :mod:`~metasift.dedup.cluster` (guarded union-find),
:mod:`~metasift.dedup.merge` (primary record, merged metadata) and
:func:`~metasift.dedup.core.deduplicate`, which chains them. Adapters:
:mod:`~metasift.dedup.store` (the stage on a project store) and
:mod:`~metasift.dedup.standalone` (export files to a clusters CSV).
"""

from metasift.dedup.core import DedupResult, deduplicate
from metasift.dedup.settings import DedupSettings, parse_settings

__all__ = ["DedupResult", "DedupSettings", "deduplicate", "parse_settings"]
