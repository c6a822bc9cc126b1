"""A calibrated pair model over the evidence pair scoring already gathers.

Pair scoring (:mod:`~metasift.dedup.scoring`) reads every field of a pair once and says which
agreed, which contradicted, which rule decided and how many points of evidence it found. A
logistic regression over those facts turns them into a probability that the two records are
one publication; two thresholds on it send a pair to the merge (at or above ``merge``), to the
manual queue (at or above ``queue``) or nowhere. The weights and both thresholds are plain
numbers, fitted and chosen by ``benchmarks/dedup_heldout.py`` leave-one-library-out; nothing
here reads data.

Facts stay facts: a pair of different kinds (an erratum and its article), whose titles carry
different numbers (Part I and Part II) or whose journal and volume or first page differ is
never merged by the model, and pairs that the rules
judged another version of the work (preprint, conference abstract) keep that verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metasift.dedup.scoring import CONFERENCE, DISTINCT, DUPLICATE, PREPRINT, REVIEW, PairEvidence

# The fields pair scoring names as agreeing or contradicting, and the rules that decide.
MATCHED = (
    "title",
    "authors",
    "first author",
    "some authors",
    "year",
    "journal",
    "volume",
    "pages",
    "issue",
    "abstract",
    "doi",
    "pmid",
    "pmcid",
)
CONFLICTS = (
    "title",
    "title numbers",
    "authors",
    "year",
    "journal",
    "volume",
    "pages",
    "issue",
    "doi",
    "pmid",
    "pmcid",
)
RULES = ("score", "pmid", "pmcid", "doi", "wrong doi", "doi, titles differ", "pmid, titles differ")
FEATURES = (
    "points",
    *(f"agree: {f}" for f in MATCHED),
    *(f"differ: {f}" for f in CONFLICTS),
    *(f"rule: {r}" for r in RULES),
)
# Rules whose verdict the model never turns into a merge: they state facts, not likelihoods.
VETOES = frozenset({"kind", "title numbers differ", "journal and place differ"})
# Versions of one work are linked or merged as the protocol says, not as the model guesses.
KEPT = frozenset({PREPRINT, CONFERENCE})
# Points beyond these bounds say nothing more (a PMID match adds 10 to any score).
POINTS_RANGE = (-30.0, 30.0)


def pair_features(evidence: Sequence[PairEvidence]) -> np.ndarray:
    """One row of :data:`FEATURES` per pair: its points and 0/1 for each field and rule.

    Args:
        evidence: what pair scoring found for each pair.

    Returns:
        A float array of shape (len(evidence), len(FEATURES)).
    """
    column = {name: i for i, name in enumerate(FEATURES)}
    out = np.zeros((len(evidence), len(FEATURES)), dtype=np.float64)
    for row, e in enumerate(evidence):
        out[row, 0] = min(max(e.score, POINTS_RANGE[0]), POINTS_RANGE[1])
        for f in e.matched:
            out[row, column[f"agree: {f}"]] = 1.0
        for f in e.conflicts:
            j = column.get(f"differ: {f}")
            if j is not None:
                out[row, j] = 1.0
        j = column.get(f"rule: {e.rule}")
        if j is not None:
            out[row, j] = 1.0
    return out


@dataclass(frozen=True, slots=True)
class PairModel:
    """Logistic weights over :data:`FEATURES` and the two thresholds on its probability.

    Attributes:
        weights: one weight per feature, in the order of :data:`FEATURES`.
        intercept: the model's intercept.
        merge: probability at and above which a pair is merged.
        queue: probability at and above which a pair goes to the manual queue.
    """

    weights: tuple[float, ...]
    intercept: float
    merge: float
    queue: float

    def probability(self, evidence: Sequence[PairEvidence]) -> np.ndarray:
        """The probability that each pair is one publication.

        Args:
            evidence: what pair scoring found for each pair.
        """
        if not evidence:
            return np.zeros(0)
        z = pair_features(evidence) @ np.asarray(self.weights) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def judge(
        self,
        scored: Sequence[tuple[int, int, PairEvidence]],
        probabilities: Sequence[float] | np.ndarray | None = None,
    ) -> list[tuple[int, int, PairEvidence]]:
        """The pairs again, each with the model's verdict in place of the rules' one.

        Args:
            scored: (index, index, evidence) as pair scoring judged them, distinct ones
                included (the model may think better of them).
            probabilities: each pair's probability when already known (another model's, or
                computed once for many thresholds); by default this model's.
        """
        p = self.probability([e for _, _, e in scored]) if probabilities is None else probabilities
        out = []
        for (a, b, e), prob in zip(scored, np.asarray(p, dtype=float).tolist(), strict=True):
            if e.verdict in KEPT or e.rule in KEPT:
                out.append((a, b, e))
                continue
            if prob >= self.merge and e.rule not in VETOES:
                verdict = DUPLICATE
            elif prob >= self.queue and e.rule != "kind":
                verdict = REVIEW
            else:
                verdict = DISTINCT
            rule = f"pair model p={prob:.3f}"
            out.append((a, b, PairEvidence(verdict, e.score, rule, e.matched, e.conflicts)))
        return out


def fit_pair_model(
    evidence: Sequence[PairEvidence], same: Sequence[bool], c: float = 1.0, seed: int = 0
) -> PairModel:
    """Fit the logistic weights on labelled pairs (thresholds left at 0.5; choose them apart).

    Args:
        evidence: what pair scoring found for each labelled pair.
        same: for each pair, whether the two records are one publication.
        c: inverse regularisation strength of scikit-learn's LogisticRegression.
        seed: its random state (the lbfgs solver is deterministic; kept for form).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = pair_features(evidence)
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    model.fit((x - scaler.mean_) / scale, np.asarray(same, dtype=bool))
    # Fold the scaling into the weights so the model needs no scaler at run time.
    weights = model.coef_[0] / scale
    intercept = float(model.intercept_[0] - np.sum(model.coef_[0] * scaler.mean_ / scale))
    return PairModel(tuple(float(w) for w in weights), intercept, 0.5, 0.5)
