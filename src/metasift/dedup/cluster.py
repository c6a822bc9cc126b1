"""Clustering accepted pairs with union-find, guarded against chaining.

Union-find alone merges A and C whenever A~B and B~C, even if A and C are two different
studies that a generic or incomplete record B resembles. Before two clusters are joined,
every cross pair of members that was not itself accepted is checked for a hard conflict
(different PMIDs or DOIs, years more than one apart, unrelated titles, different volume and
pages, different kinds): one conflict keeps the clusters apart and sends the pair to the
manual queue. Pairs are joined strongest first, so the weak link is the one refused.
Reviewers' decisions come first: "same" joins unconditionally (except across a "different"
decision), "different" is never crossed. The result depends only on the inputs' order, not on
hashing or timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from metasift.dedup.scoring import PairEvidence

# Joining clusters whose cross product exceeds this goes to review instead: real duplicate
# sets are small, large ones are generic titles chained together.
MAX_CROSS_CHECKS = 2500


@dataclass(slots=True)
class Join:
    """An accepted edge between two records and its evidence."""

    a: int
    b: int
    evidence: PairEvidence


@dataclass(slots=True)
class Refusal:
    """An accepted pair the guard kept apart, and the conflict that kept it apart."""

    a: int
    b: int
    evidence: PairEvidence
    reason: str


@dataclass
class Clustering:
    clusters: list[list[int]]
    joins: list[Join] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def cluster(
    n: int,
    accepted: Iterable[tuple[int, int, PairEvidence]],
    conflict: Callable[[int, int], str | None],
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
) -> Clustering:
    """Clusters (each a sorted list of size >= 2, ordered by first member) of ``n`` records."""
    parent = list(range(n))
    members: dict[int, list[int]] = {}
    cannot = {(min(a, b), max(a, b)) for a, b in cannot_link}
    direct: set[tuple[int, int]] = set()
    result = Clustering(clusters=[])

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def group(root: int) -> list[int]:
        return members.get(root, [root])

    def blocked(ra: int, rb: int, guard: bool) -> str | None:
        left, right = group(ra), group(rb)
        if guard and len(left) * len(right) > MAX_CROSS_CHECKS:
            return "cluster too large to check"
        for x in left:
            for y in right:
                pair = (min(x, y), max(x, y))
                if pair in cannot:
                    return f"decided different: records {pair[0]} and {pair[1]}"
                if guard and pair not in direct:
                    reason = conflict(x, y)
                    if reason:
                        return f"{reason} differ: records {pair[0]} and {pair[1]}"
        return None

    def join(ra: int, rb: int) -> None:
        small, large = (ra, rb) if len(group(ra)) <= len(group(rb)) else (rb, ra)
        merged = group(large) + group(small)
        parent[small] = large
        members[large] = merged
        members.pop(small, None)

    manual = PairEvidence("duplicate", 0.0, "manual", (), ())
    for a, b in sorted({(min(a, b), max(a, b)) for a, b in must_link}):
        ra, rb = find(a), find(b)
        if ra == rb or (a, b) in cannot:
            continue
        if blocked(ra, rb, guard=False) is None:
            direct.add((a, b))
            join(ra, rb)
            result.joins.append(Join(a, b, manual))

    ordered = sorted(accepted, key=lambda item: (-item[2].score, min(item[0], item[1]), item[1]))
    for a, b, _ in ordered:
        a, b = min(a, b), max(a, b)
        if (a, b) in cannot:
            continue
        direct.add((a, b))
    for a, b, evidence in ordered:
        a, b = min(a, b), max(a, b)
        if (a, b) in cannot:
            continue
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        reason = blocked(ra, rb, guard=True)
        if reason is None:
            join(ra, rb)
            result.joins.append(Join(a, b, evidence))
        else:
            direct.discard((a, b))
            result.refused.append(Refusal(a, b, evidence, reason))

    result.clusters = sorted(sorted(m) for m in members.values() if len(m) > 1)
    return result
