"""PRISMA 2020 flow counts, and the arithmetic that ties the boxes together.

The counts are computed from the store (see :func:`metasift.workflow.prisma_counts`); this
module holds the data and the checks, so that a diagram can never show boxes that do not add
up: every box must equal the sum of its parts, and a mismatch names the box.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from metasift.errors import PrismaError

# What may be pending (the keys of ``PrismaCounts.pending``): records and reports not counted in
# a box yet.
AWAITING_SCREENING = "records awaiting title/abstract screening"
TA_CONFLICTS = "title/abstract conflicts to resolve"
AWAITING_SECOND = "records awaiting a second reviewer's title/abstract decision"
AWAITING_FULL_TEXT = "reports awaiting full-text assessment"
FT_CONFLICTS = "full-text conflicts to resolve"
TITLE_ABSTRACT_PENDING = (AWAITING_SCREENING, TA_CONFLICTS, AWAITING_SECOND)
FULL_TEXT_PENDING = (AWAITING_FULL_TEXT, FT_CONFLICTS)
# The box of an updated review's reports that its previous version left to classify; they join
# "Reports sought for retrieval". The template for updated reviews has no box for them (it
# counts the new searches' records only), so the diagram adds one; Cochrane reviews call such
# reports "awaiting classification".
CARRIED_LABEL = "Reports awaiting classification in previous version of review"


@dataclass
class OtherMethodsFlow:
    """The right-hand column of the 'with other methods' template."""

    sought: int = 0
    not_retrieved: int = 0
    assessed: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    included_reports: int = 0
    # Of ``sought``, the reports the previous version left to classify (see PrismaCounts).
    carried_over: int = 0


@dataclass
class PrismaCounts:
    databases: dict[str, int] = field(default_factory=dict)
    registers: dict[str, int] = field(default_factory=dict)
    other_methods: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    automation_ineligible: int = 0
    other_removed: int = 0
    screened: int = 0
    excluded_screening: int = 0
    sought: int = 0
    not_retrieved: int = 0
    assessed: int = 0
    excluded_full_text: dict[str, int] = field(default_factory=dict)
    included_studies: int = 0
    included_reports: int = 0
    other_flow: OtherMethodsFlow = field(default_factory=OtherMethodsFlow)
    # An updated review: the studies (and their reports) included in its previous version.
    previous_studies: int = 0
    previous_reports: int = 0
    # Of ``sought``, the reports of earlier rounds the previous version left to classify (not
    # retrieved, or without a final full-text verdict, when this round started): sought again
    # in this round and counted in its boxes from there on, so each report is counted once.
    carried_over: int = 0
    # Stopping rule that left records unscreened (e.g. "hypergeometric test, recall >= 95%").
    automation_note: str = ""
    # Work not finished yet (what -> how many); a final diagram needs none.
    pending: dict[str, int] = field(default_factory=dict)

    @property
    def identified(self) -> int:
        return sum(self.databases.values()) + sum(self.registers.values())

    @property
    def removed_before_screening(self) -> int:
        return self.duplicates + self.automation_ineligible + self.other_removed

    @property
    def updated(self) -> bool:
        """Whether this is an updated review (the PRISMA 2020 template with previous studies)."""
        carried = self.carried_over + self.other_flow.carried_over
        return self.previous_studies > 0 or self.previous_reports > 0 or carried > 0

    @property
    def total_studies(self) -> int:
        """Studies included in the review: new ones and those of the previous version."""
        return self.included_studies + self.previous_studies

    @property
    def total_reports(self) -> int:
        return self.included_reports + self.previous_reports

    @property
    def with_other_methods(self) -> bool:
        return bool(self.other_methods) or self.other_flow.sought > 0

    def rows(self) -> list[tuple[str, int]]:
        """The boxes as (label, count), in the diagram's order and with its wording: what the
        web app, ``metasift status`` and the report list."""
        out = []
        if self.updated:
            out += [
                ("Studies included in previous version of review", self.previous_studies),
                (
                    "Reports of studies included in previous version of review",
                    self.previous_reports,
                ),
            ]
        out += [
            ("Records identified", self.identified),
            ("Duplicates removed", self.duplicates),
            ("Records marked ineligible by automation tools", self.automation_ineligible),
            ("Records removed for other reasons", self.other_removed),
            ("Records screened", self.screened),
            ("Records excluded", self.excluded_screening),
        ]
        if self.carried_over:
            out.append((CARRIED_LABEL, self.carried_over))
        out += [
            ("Reports sought for retrieval", self.sought),
            ("Reports not retrieved", self.not_retrieved),
            ("Reports assessed for eligibility", self.assessed),
        ]
        out += [(f"Reports excluded: {r}", n) for r, n in self.excluded_full_text.items()]
        if self.with_other_methods:
            o = self.other_flow
            out += [
                ("Records identified from other methods", sum(self.other_methods.values())),
            ]
            if o.carried_over:
                out.append((f"{CARRIED_LABEL} (other methods)", o.carried_over))
            out += [
                ("Reports sought for retrieval (other methods)", o.sought),
                ("Reports not retrieved (other methods)", o.not_retrieved),
                ("Reports assessed for eligibility (other methods)", o.assessed),
            ]
            out += [(f"Reports excluded (other methods): {r}", n) for r, n in o.excluded.items()]
        if self.updated:
            out += [
                ("New studies included in review", self.included_studies),
                ("Reports of new included studies", self.included_reports),
                ("Total studies included in review", self.total_studies),
                ("Reports of total included studies", self.total_reports),
            ]
        else:
            out += [
                ("Studies included in review", self.included_studies),
                ("Reports of included studies", self.included_reports),
            ]
        return out

    def check(self, *, final: bool = True) -> None:
        """Raise PrismaError naming the first box that is not the sum of its parts.

        Args:
            final: also refuse a review with work pending (the diagram of a finished review);
                with False, a draft's boxes must add up once the records and reports still
                pending are counted in.
        """
        if self.pending and final:
            todo = "; ".join(f"{n} {what}" for what, n in self.pending.items())
            raise PrismaError(f"the review is not finished: {todo}.")
        ta_open = sum(self.pending.get(k, 0) for k in TITLE_ABSTRACT_PENDING)
        ft_open = sum(self.pending.get(k, 0) for k in FULL_TEXT_PENDING)
        o = self.other_flow
        rules = [
            (
                "Records screened",
                self.screened,
                self.identified - self.removed_before_screening - ta_open,
                "records identified minus records removed before screening (and still pending)",
            ),
            (
                "Reports sought for retrieval",
                self.sought,
                self.screened - self.excluded_screening + self.carried_over,
                "records screened minus records excluded (plus reports the previous version left "
                "to classify)",
            ),
        ]
        if ft_open:
            # Pending reports are not told apart by column: the columns add up together.
            rules.append(
                (
                    "Reports assessed for eligibility",
                    self.assessed + o.assessed,
                    self.sought + o.sought - self.not_retrieved - o.not_retrieved - ft_open,
                    "reports sought minus reports not retrieved and still pending (both columns)",
                )
            )
        else:
            rules += [
                (
                    "Reports assessed for eligibility",
                    self.assessed,
                    self.sought - self.not_retrieved,
                    "reports sought minus reports not retrieved",
                ),
                (
                    "Reports assessed (other methods)",
                    o.assessed,
                    o.sought - o.not_retrieved,
                    "reports sought minus reports not retrieved, other methods",
                ),
            ]
        rules += [
            (
                "Reports of included studies",
                self.included_reports,
                self.assessed
                - sum(self.excluded_full_text.values())
                + self.other_flow.included_reports,
                "reports assessed minus reports excluded (plus reports from other methods)",
            ),
            (
                "Reports of included studies (other methods)",
                self.other_flow.included_reports,
                self.other_flow.assessed - sum(self.other_flow.excluded.values()),
                "reports assessed minus reports excluded, other methods",
            ),
        ]
        for box, shown, expected, parts in rules:
            if shown != expected:
                raise PrismaError(
                    f"PRISMA box '{box}' is {shown} but {parts} gives {expected}; "
                    "the store holds inconsistent decisions: check 'metasift log'."
                )
        if self.included_studies > self.included_reports:
            raise PrismaError(
                f"PRISMA box 'Studies included in review' is {self.included_studies}, more than "
                f"the {self.included_reports} reports of included studies."
            )
        negative = [k for k, v in self.as_json().items() if isinstance(v, int) and v < 0]
        if negative:
            raise PrismaError(f"PRISMA box '{negative[0]}' is negative.")

    def as_json(self) -> dict[str, Any]:
        return {
            "identification": {
                "databases": dict(self.databases),
                "registers": dict(self.registers),
                "other_methods": dict(self.other_methods),
            },
            "removed_before_screening": {
                "duplicates": self.duplicates,
                "automation_ineligible": self.automation_ineligible,
                "other": self.other_removed,
            },
            "screened": self.screened,
            "excluded_screening": self.excluded_screening,
            "sought": self.sought,
            "not_retrieved": self.not_retrieved,
            "assessed": self.assessed,
            "excluded_full_text": dict(self.excluded_full_text),
            "included_studies": self.included_studies,
            "included_reports": self.included_reports,
            "other_methods_flow": asdict(self.other_flow),
            "previous_version": {
                "studies": self.previous_studies,
                "reports": self.previous_reports,
                "reports_carried_over": self.carried_over,
            },
            "total_studies": self.total_studies,
            "total_reports": self.total_reports,
            "automation_note": self.automation_note,
            "pending": dict(self.pending),
        }
