"""The ``[dedup]`` section of review.toml.

```toml
[dedup]
merge_preprints = false            # a preprint and its published version: linked, not merged
merge_conference_abstracts = false # a conference abstract and the full paper: linked
window = 10                        # sorted-neighbourhood window of the blocking passes

[dedup.thresholds]
duplicate = 9.0                    # evidence score at and above which a pair is merged
review = 6.0                       # scores in [review, duplicate) go to the manual queue
```
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from metasift.protocol import validate_section


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Points of evidence (see metasift.dedup.scoring): a long identical title alone gives 8,
    # matching authors 3, year 1, journal 1.5, volume 1.5, first page 2.5. The duplicate
    # threshold is the one benchmarks/dedup_heldout.py chooses on the labelled libraries (the
    # most permissive keeping pairwise precision >= 0.999 on each); it chose 9 on every
    # leave-one-library-out split too.
    duplicate: float = Field(9.0, ge=0)
    review: float = Field(6.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.duplicate:
            raise ValueError(f"review ({self.review}) must not exceed duplicate ({self.duplicate})")
        return self


class DedupSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    merge_preprints: bool = False
    merge_conference_abstracts: bool = False
    window: int = Field(10, ge=2, le=100)
    thresholds: Thresholds = Thresholds()


def parse_settings(section: dict[str, Any], origin: str = "review.toml") -> DedupSettings:
    """Validate the protocol's ``[dedup]`` dict; errors name the key path."""
    return validate_section(DedupSettings, section, "dedup", origin)
