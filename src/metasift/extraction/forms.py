"""The extraction form: the ``[extraction]`` section of review.toml, validated by pydantic.

A form has study-level fields (typed: text, number, integer, choice, multi-choice, date),
arm-level fields (every arm also has ``n``), and outcomes measured at time points. Each arm's
result is a continuous summary (n, mean, SD, or median with quartiles) or a count of events
(events of n); a ``generic`` outcome is a comparison reported only as an effect with its
standard error (e.g. a log hazard ratio), entered without an arm.

Example::

    [extraction]
    reviewers = 2
    # topic vocabularies for choices and automatic suggestions (paths relative to review.toml)
    vocabulary_files = ["vocab/diseases.toml"]

    [[extraction.fields]]
    name = "disease"
    type = "multi_choice"
    vocabulary = "diseases"

    [[extraction.arm_fields]]
    name = "dose"
    type = "text"

    [[extraction.outcomes]]
    name = "ear_thickness"
    kind = "continuous"
    unit = "mm"
    timepoints = ["day 7", "day 14"]

    [extraction.vocabularies.interventions]
    "ADMSC" = ["adipose stromal vascular cells"]

When ``fields`` is absent the generic form of :data:`DEFAULT_FIELDS` is used (study design,
population, intervention, comparator, country, follow-up, sample size, funding): it fits any
review, and a review adds its own topic fields and vocabularies (the flagship example's are in
``examples/admsc-skin``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from metasift.protocol import validate_section

FieldType = Literal["text", "number", "integer", "choice", "multi_choice", "date"]
NAME = re.compile(r"^[a-z][a-z0-9_]*$")

DESIGNS = (
    "RCT",
    "non-randomised clinical",
    "animal in vivo",
    "in vitro",
    "review",
    "case report",
    "other",
)

# The statistics an arm can report for one outcome at one time point; a generic outcome's
# comparison reports an effect (on the scale pooled, e.g. log HR) and its standard error.
CONTINUOUS_STATS = ("n", "mean", "sd", "median", "q1", "q3")
DICHOTOMOUS_STATS = ("n", "events")
GENERIC_STATS = ("n", "effect", "se")
STATISTICS = ("n", "mean", "sd", "median", "q1", "q3", "events", "effect", "se")
INTEGER_STATS = ("n", "events")
OUTCOME_STATS = {
    "continuous": CONTINUOUS_STATS,
    "dichotomous": DICHOTOMOUS_STATS,
    "generic": GENERIC_STATS,
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Section):
    """One typed field of the form."""

    name: str
    label: str = ""
    type: FieldType = "text"
    # Allowed values of a choice or multi-choice field...
    choices: list[str] = []
    # ...or the name of a vocabulary whose concept names are the allowed values.
    vocabulary: str | None = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    unit: str = ""
    help: str = ""

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r} is not a field name: use lower-case letters, digits and _")
        return value

    @model_validator(mode="after")
    def _choices_fit_type(self) -> FieldSpec:
        is_choice = self.type in ("choice", "multi_choice")
        if is_choice and not self.choices and not self.vocabulary:
            raise ValueError(
                f"field {self.name!r}: a {self.type} field needs choices or vocabulary"
            )
        if not is_choice and (self.choices or self.vocabulary):
            raise ValueError(f"field {self.name!r}: only choice fields take choices or vocabulary")
        if (self.min is not None or self.max is not None) and self.type not in (
            "number",
            "integer",
        ):
            raise ValueError(f"field {self.name!r}: min/max apply to number and integer fields")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"field {self.name!r}: a choice is listed twice")
        return self

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")

    @property
    def form_label(self) -> str:
        """What a form shows: the label given, else the name in words ("Sample size")."""
        return self.label or self.name.replace("_", " ").capitalize()


class OutcomeSpec(_Section):
    """An outcome extracted per arm, at one or more time points."""

    name: str
    label: str = ""
    kind: Literal["continuous", "dichotomous", "generic"] = "continuous"
    unit: str = ""
    # Empty: a single, unnamed time point.
    timepoints: list[str] = []
    help: str = ""

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                f"{value!r} is not an outcome name: use lower-case letters, digits and _"
            )
        return value

    @property
    def statistics(self) -> tuple[str, ...]:
        return OUTCOME_STATS[self.kind]


class ExtractionSettings(_Section):
    """The validated ``[extraction]`` section."""

    # How many reviewers extract each study independently (2 = double extraction).
    reviewers: int = 2
    fields: list[FieldSpec] = []
    arm_fields: list[FieldSpec] = []
    outcomes: list[OutcomeSpec] = []
    # Topic vocabulary files (TOML, one category each), relative to review.toml.
    vocabulary_files: list[str] = []
    # category -> concept -> extra synonyms; a new concept or category is created if unknown.
    vocabularies: dict[str, dict[str, list[str]]] = {}
    # Which fields the evidence map crosses.
    map_fields: tuple[str, str, str] = ("population", "intervention", "design")

    @field_validator("reviewers")
    @classmethod
    def _reviewers(cls, value: int) -> int:
        if value not in (1, 2):
            raise ValueError("reviewers must be 1 (single) or 2 (double extraction)")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> ExtractionSettings:
        for group, items in (
            ("fields", self.fields),
            ("arm_fields", self.arm_fields),
            ("outcomes", self.outcomes),
        ):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"{group}: name {item.name!r} is used twice")
                seen.add(item.name)
        clash = {f.name for f in self.arm_fields} & set(STATISTICS)
        if clash:
            raise ValueError(f"arm_fields: {sorted(clash)} are statistics every arm has")
        return self

    @property
    def form(self) -> Form:
        return Form(
            fields=self.fields or list(DEFAULT_FIELDS),
            arm_fields=list(self.arm_fields),
            outcomes=list(self.outcomes),
        )


DEFAULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(name="design", label="Study design", type="choice", choices=list(DESIGNS)),
    FieldSpec(name="population", help="who was studied (condition, age, setting)"),
    FieldSpec(name="intervention", help="what the intervention groups received"),
    FieldSpec(name="comparator", help="what the comparison groups received"),
    FieldSpec(name="country"),
    FieldSpec(name="follow_up", label="Follow-up", help="e.g. 12 weeks"),
    FieldSpec(name="sample_size", label="Total sample size", type="integer", min=0),
    FieldSpec(name="funding", label="Funding source"),
)


class Form(BaseModel):
    """The fields of one review's form, with vocabulary-backed choices resolved."""

    model_config = ConfigDict(frozen=True)

    fields: list[FieldSpec]
    arm_fields: list[FieldSpec] = []
    outcomes: list[OutcomeSpec] = []

    def field(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.name == name:
                return spec
        return None

    def arm_field(self, name: str) -> FieldSpec | None:
        for spec in self.arm_fields:
            if spec.name == name:
                return spec
        return None

    def outcome(self, name: str) -> OutcomeSpec | None:
        for spec in self.outcomes:
            if spec.name == name:
                return spec
        return None


def extraction_settings(section: dict[str, Any], origin: str = "review.toml") -> ExtractionSettings:
    """Validate ``Protocol.extraction``; errors name the file and the key path."""
    return validate_section(ExtractionSettings, section, "extraction", origin)
