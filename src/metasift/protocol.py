"""The review protocol: ``review.toml`` read with tomllib and validated by pydantic.

Every section rejects unknown keys, so a typo is an error that names the key path rather than
a setting silently ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from metasift.errors import ProtocolError

PROTOCOL_FILE = "review.toml"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Review(Section):
    title: str
    question: str = ""
    authors: list[str] = []
    registration: str = ""


class Pico(Section):
    population: str = ""
    intervention: str = ""
    comparator: str = ""
    outcomes: str = ""
    study_designs: str = ""


class Criteria(Section):
    include: list[str] = []
    exclude: list[str] = []
    # Reasons reviewers pick from when excluding, in the order they are checked.
    exclusion_reasons: list[str] = []
    # Terms highlighted while screening.
    include_terms: list[str] = []
    exclude_terms: list[str] = []

    @field_validator("exclusion_reasons")
    @classmethod
    def _unique_reasons(cls, value: list[str]) -> list[str]:
        seen = set()
        for reason in value:
            if reason in seen:
                raise ValueError(f"exclusion reason {reason!r} is listed twice")
            seen.add(reason)
        return value


class Source(Section):
    """A database searched (live) or a file exported from one (bundled)."""

    name: str
    kind: Literal["pubmed", "europepmc", "openalex", "file"] = "file"
    # Where the PRISMA diagram counts it: bibliographic databases, trial registers, other
    # methods (citation searching, websites, organisations), or the studies included in the
    # review's previous version (an updated review).
    category: Literal["database", "register", "other", "previous"] = "database"
    query: str = ""
    platform: str = ""
    date_from: str = ""
    date_to: str = ""
    filters: dict[str, Any] = {}
    # Export files of this source, relative to the project directory.
    files: list[str] = []
    format: str = ""
    base_url: str = ""
    # PRISMA-S details of a search run by hand and exported (kind = "file"): the date it was
    # run (YYYY-MM-DD), the search string in a file (relative to the project directory) when
    # not given as ``query``, and the limits applied.
    searched: str = ""
    query_file: str = ""
    limits: str = ""

    @field_validator("searched")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError("write the date searched as YYYY-MM-DD") from None
        return value


class ProjectSettings(Section):
    database_url: str = ""


class Simulation(Section):
    """Demonstration mode for `metasift run`: reviewers' decisions are simulated.

    Title/abstract decisions follow the include label each record carries (SYNERGY labels, a
    label column, a JSONL 'eligible' key); full-text decisions follow the `full_text` CSV (doi,
    pmid or title -> decision, reason, note) and are "include" for records it does not list.
    Extraction and risk of bias are simulated only when files give them: ``extraction`` is a
    CSV in the extraction template's columns whose ``study_id`` holds each record's source id,
    ``risk_of_bias`` a CSV of (study_id, tool, domain, answers "1.1=Y; 1.2=NI", judgement,
    support); ``confirm_grade`` has the simulated reviewer confirm each GRADE proposal, its
    rule as the footnote. Reports say plainly that decisions were simulated.
    """

    enabled: bool = False
    reviewer: str = "simulated reviewer"
    # Raw field of a record that holds its exclusion reason, if the data has one.
    reason_field: str = ""
    full_text: str = ""
    # Close title/abstract screening as soon as the stopping rule recommends it.
    stop_with_rule: bool = True
    extraction: str = ""
    risk_of_bias: str = ""
    confirm_grade: bool = False


class Protocol(Section):
    review: Review
    pico: Pico = Pico()
    criteria: Criteria = Criteria()
    sources: list[Source] = Field(default_factory=list)
    project: ProjectSettings = ProjectSettings()
    simulation: Simulation = Simulation()
    # Stage settings read by later stages; each stage validates its own section.
    dedup: dict[str, Any] = {}
    screening: dict[str, Any] = {}
    extraction: dict[str, Any] = {}
    analysis: dict[str, Any] = {}
    # The folder of the review.toml this protocol was read from (load_protocol sets it): files
    # the protocol names (vocabularies, full-text decisions) are relative to it.
    _folder: Path | None = PrivateAttr(default=None)

    @property
    def folder(self) -> Path:
        """The folder paths in the protocol are relative to (the working folder when the
        protocol was not read from a file)."""
        return self._folder if self._folder is not None else Path(".")

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name.lower() == name.lower():
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ProtocolError(f"review.toml has no source named {name!r} (sources: {known}).")


def describe_error(error: Mapping[str, Any], section: str = "") -> str:
    """One pydantic error as a sentence naming the key path in review.toml."""
    path = ".".join([*([section] if section else []), *(str(p) for p in error["loc"])])
    kind = error["type"]
    if kind == "missing":
        return f"key '{path}' is required"
    if kind == "extra_forbidden":
        return f"key '{path}' is not a known setting (check the spelling)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"key '{path}': {message} (got {error.get('input')!r})"


M = TypeVar("M", bound=BaseModel)


def validate_section(
    model: type[M], data: Mapping[str, Any] | None, section: str, origin: str = PROTOCOL_FILE
) -> M:
    """Validate one stage's section of the protocol (kept as a plain table by
    :class:`Protocol`, so that each stage owns its settings); errors name the key path."""
    try:
        return model.model_validate(dict(data or {}))
    except ValidationError as exc:
        problems = "; ".join(describe_error(e, section) for e in exc.errors())
        raise ProtocolError(f"{origin}: {problems}") from exc


def parse_protocol(text: str, origin: str = PROTOCOL_FILE) -> Protocol:
    """Validate TOML text; errors name the file, the key path and what is expected."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{origin}: not valid TOML: {exc}") from exc
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(describe_error(e) for e in exc.errors())
        raise ProtocolError(f"{origin}: {problems}") from exc


def load_protocol(path: Path) -> Protocol:
    if path.is_dir():
        path = path / PROTOCOL_FILE
    if not path.exists():
        raise ProtocolError(
            f"{path}: no protocol file; run 'metasift init {path.parent}' to create one."
        )
    protocol = parse_protocol(path.read_text(encoding="utf-8"), str(path))
    protocol._folder = path.parent
    return protocol


TEMPLATE = """\
# metasift review protocol. Every stage reads its settings from this file.
# Lines starting with # are comments; remove the # to use a setting.

[review]
title = "{title}"
# The review question in one sentence.
question = ""
# authors = ["First Author", "Second Author"]
# registration = "PROSPERO CRD42..."

[pico]
population = ""
intervention = ""
comparator = ""
outcomes = ""
study_designs = ""

[criteria]
# Eligibility criteria, as reviewers will read them.
include = []
exclude = []
# Reasons offered when excluding a record, checked in this order.
exclusion_reasons = ["wrong population", "wrong intervention", "wrong study design"]
# Words highlighted while screening.
include_terms = []
exclude_terms = []

# One [[sources]] table per database. kind = "pubmed", "europepmc" or "openalex" searches
# live; kind = "file" imports exports listed in `files` (paths relative to this folder).
# [[sources]]
# name = "PubMed"
# kind = "pubmed"
# query = "(term1[tiab] OR term2[tiab]) AND term3[mh]"
# date_from = "2000/01/01"
# date_to = "2025/12/31"
# An export of a search run by hand (Ovid, Embase.com, Web of Science, Scopus...), with the
# PRISMA-S details the export does not carry:
# [[sources]]
# name = "Embase"
# kind = "file"
# files = ["exports/embase.ris"]
# platform = "Embase.com"
# searched = "2025-03-01"
# query_file = "searches/embase.txt"
# limits = "English; 2000 to 2025"
# category = "database"  # or "register", "other" (citation searching...), "previous"
# Credentials never go here: set NCBI_API_KEY, OPENALEX_API_KEY and METASIFT_EMAIL in the
# environment or in ~/.config/metasift/config.toml. 'metasift search' runs these queries.

# [project]
# Leave unset for the default SQLite store in this folder; set to share it with a team:
# database_url = "postgresql://user@host/dbname"

# [screening]
# model = "default"                 # 'metasift simulate --list-models' lists the models
# seed = 0
# stopping_rule = "hypergeometric"  # or "biased-urn", "knee", "safe", "consecutive"
# target_recall = 0.95              # the statistical rules' target and confidence
# confidence = 0.95
# consecutive_irrelevant = 50
# seed_studies = ["10.1000/xyz123"]  # DOIs or PMIDs of studies known to be relevant

[extraction]
# Data extraction ('metasift extract template' writes the form as CSV/XLSX). A review that
# lists no fields of its own gets the generic form: design, population, intervention,
# comparator, country, follow-up, sample size, funding.
reviewers = 2                       # 2 = double extraction with reconciliation, 1 = single
# vocabulary_files = ["vocab/diseases.toml"]  # topic vocabularies for choices and suggestions
# map_fields = ["population", "intervention", "design"]  # what the evidence map crosses

# A study-level field of your own (type: text, number, integer, choice, multi_choice, date):
# [[extraction.fields]]
# name = "risk_group"
# type = "choice"
# choices = ["low", "high"]

# Outcomes, extracted per arm: "dichotomous" (events of n), "continuous" (mean, sd, n; or
# median with quartiles), or "generic" (a comparison's effect and se, e.g. a log hazard ratio).
# [[extraction.outcomes]]
# name = "mortality"
# kind = "dichotomous"
# timepoints = ["12 months"]

[analysis]
# Meta-analyses over the extracted data ('metasift meta', the report, 'metasift grade' and
# 'metasift sof'). `arms` = [intervention, comparator] as named in the extraction: OR, RR and
# RD come from events/n, MD and SMD from mean/sd/n; without a measure, from effect/se.
# [[analysis.analyses]]
# name = "Mortality at 12 months"
# measure = "RR"                    # OR, RR, RD, MD, SMD, ... ('metasift meta --help')
# method = "REML"                   # or DL, PM, EE, MH, PETO, ...
# arms = ["treatment", "control"]
# where = {{ outcome = "mortality", timepoint = "12 months" }}
# bias = true                       # Egger's test etc. (Cochrane: only with 10+ studies)
# [analysis.analyses.grade]         # GRADE and the Summary of Findings
# randomised = true                 # certainty starts high (randomised) or low
# thresholds = [0.75, 1.25]         # decision thresholds (here RR); default GRADE's 0.75/1.25
# outcome = "All-cause mortality"   # the Summary of Findings row label
# follow_up = "12 months"
# rate = false                      # a sensitivity analysis: not rated, no row of its own
"""


def template(title: str = "Untitled review") -> str:
    return TEMPLATE.format(title=title.replace('"', "'"))
