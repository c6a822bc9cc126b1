"""De-duplication of a list of records, start to finish, without I/O.

keys -> candidate pairs (blocking) -> title prefilter (rapidfuzz, vectorised) -> pair scoring
-> guarded clustering -> primary record and merged metadata per cluster. Records are addressed
by their index in the input list; the store adapter maps indices to record ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from metasift.dedup.blocking import candidate_pairs
from metasift.dedup.cluster import cluster
from metasift.dedup.keys import RecordKeys, record_keys
from metasift.dedup.merge import choose_primary, merged_fields
from metasift.dedup.scoring import (
    CONFERENCE,
    DISTINCT,
    DUPLICATE,
    PREPRINT,
    REVIEW,
    PairEvidence,
    hard_conflict,
    score_pair,
)
from metasift.dedup.settings import DedupSettings
from metasift.records.model import Record

# Title-blocked pairs under this title similarity cannot reach the review threshold: their
# title alone costs 6 points (see scoring), more than the other fields can win back.
PREFILTER = 75.0

Progress = Callable[[str, int, int], None]
"""progress(step, done, total): called as long steps advance."""


@dataclass(slots=True)
class Member:
    index: int
    # The member it was matched with (None for the primary) and that pair's evidence.
    matched_with: int | None
    evidence: PairEvidence | None


@dataclass(slots=True)
class Cluster:
    primary: int
    members: list[Member]
    merged: dict[str, Any]
    filled_from: dict[str, int]

    @property
    def indices(self) -> list[int]:
        return sorted(m.index for m in self.members)


@dataclass(slots=True)
class Pair:
    a: int
    b: int
    evidence: PairEvidence
    reason: str = ""


@dataclass
class DedupResult:
    n_records: int
    clusters: list[Cluster] = field(default_factory=list)
    review: list[Pair] = field(default_factory=list)
    links: list[Pair] = field(default_factory=list)
    n_candidates: int = 0
    n_scored: int = 0

    @property
    def duplicates_removed(self) -> int:
        return sum(len(c.members) - 1 for c in self.clusters)

    def labels(self) -> list[int]:
        """A cluster number per record (1-based, in order of first appearance)."""
        return cluster_labels(self.n_records, [c.indices for c in self.clusters])


def cluster_labels(n: int, clusters: Iterable[Sequence[int]]) -> list[int]:
    """A cluster number per record (1-based, in order of first appearance).

    Args:
        n: the number of records.
        clusters: each cluster's members (sorted), two or more; other records stand alone.
    """
    owner: dict[int, int] = {}
    for members in clusters:
        first = members[0]
        for m in members:
            owner[m] = first
    numbers: dict[int, int] = {}
    out = []
    for i in range(n):
        root = owner.get(i, i)
        out.append(numbers.setdefault(root, len(numbers) + 1))
    return out


def _noop(step: str, done: int, total: int) -> None:
    return None


def compute_keys(records: Sequence[Record], progress: Progress = _noop) -> list[RecordKeys]:
    keys = []
    total = len(records)
    for i, record in enumerate(records):
        keys.append(record_keys(record))
        if i % 20000 == 0:
            progress("normalising", i, total)
    progress("normalising", total, total)
    return keys


def score_candidates(
    keys: Sequence[RecordKeys],
    pairs: np.ndarray,
    from_exact: np.ndarray,
    settings: DedupSettings,
    progress: Progress = _noop,
    keep_distinct: bool = False,
) -> list[tuple[int, int, PairEvidence]]:
    """Evidence for every candidate pair that survives the title prefilter.

    Args:
        keys: the comparison keys of every record.
        pairs: candidate pairs (lo, hi) from blocking.
        from_exact: per pair, whether an exact key (DOI, PMID, locator) proposed it.
        settings: the stage's settings (thresholds, what may merge).
        progress: called as the steps advance.
        keep_distinct: keep pairs judged distinct too (a pair model re-judges them);
            by default they are dropped, since nothing downstream reads them.
    """
    if len(pairs) == 0:
        return []
    titles = [k.title for k in keys]
    lo, hi = pairs[:, 0], pairs[:, 1]
    ratios = np.zeros(len(pairs), dtype=np.float32)
    step = 1_000_000
    for start in range(0, len(pairs), step):
        chunk = slice(start, start + step)
        ratios[chunk] = cpdist(
            [titles[i] for i in lo[chunk].tolist()],
            [titles[j] for j in hi[chunk].tolist()],
            scorer=fuzz.ratio,
            workers=-1,
        ).ravel()
        progress("comparing titles", min(start + step, len(pairs)), len(pairs))
    # Pairs from exact keys are always scored; title-blocked pairs only when their titles
    # are close, or plausibly one a truncation of the other.
    keep = from_exact | (ratios >= PREFILTER)
    # A title cut short by a database's field limit: the short one matches the long one's
    # start. Checked on the remaining pairs whose lengths and first words allow it.
    lengths = np.fromiter((len(t) for t in titles), dtype=np.int64, count=len(titles))
    short = np.minimum(lengths[lo], lengths[hi])
    maybe = np.flatnonzero(
        ~keep & (short >= 40) & (np.maximum(lengths[lo], lengths[hi]) > short + 5)
    )
    # The same first 24 characters, compared on these pairs only: coding every title's start
    # (a sort of all of them) cost more, above all on Dask, where each task has its own keys.
    same_start = np.fromiter(
        (titles[lo[p]][:24] == titles[hi[p]][:24] for p in maybe.tolist()),
        dtype=bool,
        count=len(maybe),
    )
    maybe = maybe[same_start]
    if len(maybe):
        shorts, prefixes = [], []
        for p in maybe.tolist():
            a, b = titles[lo[p]], titles[hi[p]]
            if len(a) > len(b):
                a, b = b, a
            shorts.append(a)
            prefixes.append(b[: len(a)])
        prefix_ratio = cpdist(shorts, prefixes, scorer=fuzz.ratio, workers=-1).ravel()
        keep[maybe[prefix_ratio >= 97]] = True
    idx = np.flatnonzero(keep)
    out = []
    total = len(idx)
    score = score_pair
    for n, (a, b, ratio) in enumerate(
        zip(lo[idx].tolist(), hi[idx].tolist(), ratios[idx].tolist(), strict=True)
    ):
        evidence = score(keys[a], keys[b], settings, ratio)
        if keep_distinct or evidence.verdict != "distinct":
            out.append((a, b, evidence))
        if n % 50000 == 0:
            progress("scoring pairs", n, total)
    progress("scoring pairs", total, total)
    return out


def conflict_rule(
    keys: Sequence[RecordKeys] | Mapping[int, RecordKeys], settings: DedupSettings
) -> Callable[[int, int], str | None]:
    """The guard of clustering: why records ``x`` and ``y`` cannot be one work (or None).

    Args:
        keys: the records' keys by index (every index clustering may ask about).
        settings: whether preprints and conference abstracts merge with their papers.
    """
    merge_links = {
        PREPRINT: settings.merge_preprints,
        CONFERENCE: settings.merge_conference_abstracts,
    }

    def conflict(x: int, y: int) -> str | None:
        kx, ky = keys[x], keys[y]
        if (merge_links[PREPRINT] and kx.preprint != ky.preprint) or (
            merge_links[CONFERENCE] and kx.conference != ky.conference
        ):
            # Another version of the same work may differ in DOI, year, volume and pages.
            return "kind" if kx.kind != ky.kind else None
        return hard_conflict(kx, ky)

    return conflict


def deduplicate(
    records: Sequence[Record],
    settings: DedupSettings | None = None,
    decisions: Iterable[tuple[int, int, str]] = (),
    progress: Progress = _noop,
    tiers: Sequence[int] | None = None,
) -> DedupResult:
    """Cluster duplicate ``records``.

    Args:
        records: the records, addressed by their index in this sequence.
        settings: the stage's settings; the defaults when None.
        decisions: reviewers' verdicts as (index, index, "same" | "different").
        progress: called as long steps advance.
        tiers: one per record, lower first: ranks the members that may be a cluster's primary
            before completeness does. A living review passes each record's round, so that a
            record already screened stays the primary and those found again later are its
            duplicates.
    """
    settings = settings or DedupSettings()
    keys = compute_keys(records, progress)
    progress("blocking", 0, 1)
    pairs, from_exact = candidate_pairs(keys, settings.window)
    progress("blocking", 1, 1)
    scored = score_candidates(keys, pairs, from_exact, settings, progress)
    return assemble(records, keys, scored, settings, decisions, len(pairs), progress, tiers)


def assemble(
    records: Sequence[Record],
    keys: Sequence[RecordKeys],
    scored: Sequence[tuple[int, int, PairEvidence]],
    settings: DedupSettings,
    decisions: Iterable[tuple[int, int, str]] = (),
    n_candidates: int = 0,
    progress: Progress = _noop,
    tiers: Sequence[int] | None = None,
) -> DedupResult:
    """Clusters, manual queue and links from judged pairs (the steps after scoring).

    Args:
        records: the records the pairs index.
        keys: their comparison keys (the chaining guard reads them).
        scored: (index, index, evidence) of judged pairs; those judged distinct are passed over.
        settings: the stage's settings (whether preprints and abstracts merge).
        decisions: reviewers' verdicts as (index, index, "same" | "different").
        n_candidates: how many candidate pairs blocking proposed (reported only).
        progress: called as long steps advance.
        tiers: ranks the members that may be a cluster's primary (see :func:`deduplicate`).
    """
    scored = [s for s in scored if s[2].verdict != DISTINCT]
    result = DedupResult(n_records=len(records), n_candidates=n_candidates, n_scored=len(scored))

    decided: dict[tuple[int, int], str] = {}
    for a, b, verdict in decisions:
        decided[(min(a, b), max(a, b))] = verdict
    must = [p for p, v in decided.items() if v == "same"]
    cannot = [p for p, v in decided.items() if v == "different"]

    accepted = [(a, b, e) for a, b, e in scored if e.verdict == DUPLICATE]
    progress("clustering", 0, 1)
    clustering = cluster(len(records), accepted, conflict_rule(keys, settings), must, cannot)
    progress("clustering", 1, 1)

    owner: dict[int, int] = {}
    for number, members in enumerate(clustering.clusters):
        for m in members:
            owner[m] = number
    edges: dict[int, list[tuple[int, PairEvidence]]] = {}
    for join in clustering.joins:
        edges.setdefault(join.a, []).append((join.b, join.evidence))
        edges.setdefault(join.b, []).append((join.a, join.evidence))
    for members in clustering.clusters:
        primary = choose_primary(members, records, tiers)
        # Orient the spanning tree from the primary: each member records the pair that tied it.
        found = {primary: Member(primary, None, None)}
        queue = [primary]
        while queue:
            current = queue.pop(0)
            for other, evidence in sorted(edges.get(current, []), key=lambda e: e[0]):
                if other not in found:
                    found[other] = Member(other, current, evidence)
                    queue.append(other)
        values, sources = merged_fields(primary, members, records)
        result.clusters.append(Cluster(primary, [found[i] for i in sorted(found)], values, sources))

    for a, b, evidence in scored:
        if (a, b) in decided:
            continue
        same_cluster = a in owner and owner.get(a) == owner.get(b)
        if evidence.verdict == REVIEW and not same_cluster:
            result.review.append(Pair(a, b, evidence, "borderline score"))
        elif evidence.verdict in (PREPRINT, CONFERENCE):
            result.links.append(Pair(a, b, evidence, evidence.verdict))
    for refusal in clustering.refused:
        pair = (refusal.a, refusal.b)
        if pair in decided:
            continue
        if not (refusal.a in owner and owner.get(refusal.a) == owner.get(refusal.b)):
            result.review.append(Pair(*pair, refusal.evidence, f"kept apart: {refusal.reason}"))
    result.review.sort(key=lambda p: (p.a, p.b))
    result.links.sort(key=lambda p: (p.a, p.b))
    return result
