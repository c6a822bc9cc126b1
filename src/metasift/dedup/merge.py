"""The primary record of a cluster and the metadata merged into it from the other members.

The primary is the most complete member (abstract, identifiers, full bibliographic data; the
earliest record breaks ties). Fields it lacks are filled from the other members, most complete
first; the records themselves are never changed, so undoing a merge restores them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metasift.records.model import Record

# Fields filled in the primary when it lacks them, in this order.
FILLED_FIELDS = (
    "abstract",
    "doi",
    "pmid",
    "pmcid",
    "journal",
    "journal_abbrev",
    "volume",
    "issue",
    "pages",
    "year",
    "language",
    "url",
)
FILLED_LISTS = ("authors", "authors_raw", "keywords", "mesh_terms", "issn", "publication_types")


def completeness(record: Record) -> int:
    """How much a record tells: identifiers and abstract weigh most."""
    score = 0
    score += 8 if record.abstract else 0
    score += 4 if record.doi else 0
    score += 4 if record.pmid else 0
    score += 1 if record.pmcid else 0
    score += 2 if record.authors else 0
    score += sum(1 for f in ("journal", "volume", "issue", "pages", "year") if getattr(record, f))
    score += 1 if record.mesh_terms or record.keywords else 0
    return score


def choose_primary(
    indices: Sequence[int], records: Sequence[Record], tiers: Sequence[int] | None = None
) -> int:
    """The member that best represents the cluster (deterministic).

    Args:
        indices: the cluster's members.
        records: every record, by index.
        tiers: when given, the members of the lowest tier (a living review's earliest round)
            come first: a record screened in an earlier round is never demoted to a duplicate
            of one found later, which would move its decisions off the review's counts.
    """
    if tiers is None:
        return min(indices, key=lambda i: (-completeness(records[i]), i))
    return min(indices, key=lambda i: (tiers[i], -completeness(records[i]), i))


def merged_fields(
    primary: int, indices: Sequence[int], records: Sequence[Record]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Values to fill in the primary (field -> value) and where each came from (field -> index)."""
    base = records[primary]
    donors = sorted(
        (i for i in indices if i != primary), key=lambda i: (-completeness(records[i]), i)
    )
    values: dict[str, Any] = {}
    sources: dict[str, int] = {}
    for name in (*FILLED_FIELDS, *FILLED_LISTS):
        if getattr(base, name):
            continue
        for donor in donors:
            value = getattr(records[donor], name)
            if value:
                values[name] = list(value) if isinstance(value, list) else value
                sources[name] = donor
                break
    # authors_raw goes with authors: a name list and its raw form must come from one record.
    if "authors" in sources and sources.get("authors_raw") != sources["authors"]:
        donor = sources["authors"]
        values["authors_raw"] = list(records[donor].authors_raw)
        sources["authors_raw"] = donor
    return values, sources


def apply_merge(record: Record, values: dict[str, Any]) -> Record:
    """A copy of ``record`` with the merged values filled in."""
    data = record.to_dict()
    data.update(values)
    return Record.from_dict(data)
