"""The ``[screening]`` section of review.toml, validated here (the protocol keeps it a dict)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from metasift.protocol import Protocol, validate_section


class ScreeningSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "default"
    seed: int = 0
    # Stopping: the rule whose verdict the screen loop shows, and the statistical target.
    # "hypergeometric" assumes only that the ranking is no worse than random; "biased-urn"
    # that it keeps an edge down to the records screened last (stopping.BiasedUrnStop), which
    # did not hold out of sample for every model (benchmarks/stopping_rules.py --choose-bias).
    stopping_rule: Literal["hypergeometric", "biased-urn", "knee", "safe", "consecutive"] = (
        "hypergeometric"
    )
    target_recall: float = Field(0.95, gt=0.0, lt=1.0)
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    consecutive_irrelevant: int = Field(50, ge=1)
    # Known relevant studies (DOIs or PMIDs) that rank similar records first before any label.
    seed_studies: list[str] = []
    # Independent reviewers needed per record (2 = dual screening), and whether each reviewer
    # sees only their own decisions until conflicts are reconciled.
    reviewers_per_record: int = Field(1, ge=1, le=10)
    blind: bool = True


def screening_settings(protocol: Protocol, origin: str = "review.toml") -> ScreeningSettings:
    return validate_section(ScreeningSettings, protocol.screening, "screening", origin)


def protocol_query(protocol: Protocol) -> str:
    """The text records are compared with before any label: question, PICO, inclusion criteria.

    Exclusion criteria are left out on purpose: their words describe records to push down, and a
    similarity ranking cannot tell "mentions X" from "is about X".
    """
    pico = protocol.pico
    parts = [
        protocol.review.title,
        protocol.review.question,
        pico.population,
        pico.intervention,
        pico.comparator,
        pico.outcomes,
        pico.study_designs,
        *protocol.criteria.include,
        *protocol.criteria.include_terms,
    ]
    return "\n".join(p for p in parts if p)
