"""What a report shows, as plain data: built from the store, rendered to HTML and Markdown.

Keeping the content separate from the rendering means the HTML report, the Markdown report
and the web app's report page show the same numbers from one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from metasift.records.cite import Reference
from metasift.workflow.prisma import PrismaCounts

if TYPE_CHECKING:
    from metasift.synthesis.sof import SummaryOfFindings


@dataclass
class Table:
    """A titled table: column headers and rows of cell text."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Figure:
    """An inline SVG figure with a caption."""

    caption: str
    svg: str


@dataclass
class Download:
    """A file offered for download from the self-contained report (embedded as a data URI)."""

    label: str
    filename: str
    mime: str
    content: str


@dataclass
class StudyReferences:
    """One study of a reference list: its label, the references of its reports, and a note
    (why it awaits classification)."""

    study: str
    references: list[Reference]
    note: str = ""


@dataclass
class ReferenceList:
    """A titled list of studies with their references (included, excluded, awaiting)."""

    title: str
    studies: list[StudyReferences]


@dataclass
class Analysis:
    name: str
    summary: Table
    figures: list[Figure] = field(default_factory=list)


@dataclass
class ReportContext:
    title: str
    generated_at: str
    protocol: Table
    prisma: PrismaCounts
    prisma_svg: str
    search_log: Table | None = None
    # PRISMA-S: each live search exactly as run.
    searches: Table | None = None
    screening: Table | None = None
    screening_figures: list[Figure] = field(default_factory=list)
    characteristics: Table | None = None
    # One row per report excluded at full text: the study and the reason.
    excluded: Table | None = None
    references: list[ReferenceList] = field(default_factory=list)
    evidence_map: Figure | None = None
    evidence_table: Table | None = None
    risk_of_bias: list[Figure] = field(default_factory=list)
    # Said when included studies have no risk-of-bias judgements yet (what to do about it).
    risk_of_bias_note: str = ""
    # Every included study's risk of bias, one row per study and tool ("not assessed" plainly).
    risk_of_bias_studies: Table | None = None
    analyses: list[Analysis] = field(default_factory=list)
    # GRADE: each analysis' domains (proposed, judged, footnote), and the Summary of Findings.
    certainty: list[Table] = field(default_factory=list)
    summary_of_findings: SummaryOfFindings | None = None
    downloads: list[Download] = field(default_factory=list)
    # Plain statements the reader must see (e.g. "decisions were simulated from labels").
    notices: list[str] = field(default_factory=list)
