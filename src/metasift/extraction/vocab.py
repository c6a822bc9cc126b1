"""Curated vocabularies (the TOML files in ``vocab/``) and the tagger that finds them in text.

Each file is one category (diseases, interventions, species, models, outcomes, mediators) and
lists concepts with three kinds of synonyms:

* ``terms`` match case-insensitively, treating spaces and hyphens alike, with an optional
  plural ("adipose-derived stem cell" finds "Adipose derived stem cells");
* ``abbreviations`` match case-sensitively as whole tokens ("ASC" finds "ASCs" and
  "ASC-exosomes", not "ASCE");
* ``patterns`` are regular expressions for what the two lists cannot say.

Overlapping matches within a category keep the leftmost, then longest, so "localized
scleroderma" is one mention, not also "scleroderma". The protocol extends the files through
``[extraction.vocabularies.CATEGORY]`` (concept -> synonyms): a synonym with no lower-case
letter is an abbreviation, anything else a term.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

_SEP = r"[\s\-‐‑–]*"
_LEFT = r"(?<![A-Za-z0-9])"
_RIGHT = r"(?![A-Za-z0-9])"


@dataclass(frozen=True, slots=True)
class Mention:
    category: str
    concept: str
    start: int
    end: int
    text: str
    role: str = ""


@dataclass
class Concept:
    name: str
    role: str = ""
    terms: list[str] = field(default_factory=list)
    abbreviations: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)

    def regexes(self) -> list[tuple[str | None, bool, re.Pattern[str]]]:
        """(literal that must occur, whether to look for it lower-cased, regex) per synonym.

        The literal lets the tagger skip the many synonyms absent from a text without running
        their regular expressions.
        """
        out: list[tuple[str | None, bool, re.Pattern[str]]] = []
        for term in self.terms:
            first = re.split(r"[\s\-]+", term.strip())[0].lower()
            out.append((first, True, re.compile(_term_regex(term), re.IGNORECASE)))
        for abbreviation in self.abbreviations:
            regex = re.compile(_LEFT + re.escape(abbreviation) + r"s?" + _RIGHT)
            out.append((abbreviation, False, regex))
        out += [(None, False, re.compile(p)) for p in self.patterns]
        return out


def _term_regex(term: str) -> str:
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", term.strip()) if p]
    body = _SEP.join(parts)
    if term[-1:].isalpha():
        body += r"(?:s|es)?"
    return _LEFT + body + _RIGHT


class Category:
    """The concepts of one category, compiled for tagging."""

    def __init__(self, name: str, concepts: Iterable[Concept]) -> None:
        self.name = name
        self.concepts = list(concepts)
        self._compiled = [(c, r) for c in self.concepts for r in c.regexes()]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.concepts]

    def concept(self, name: str) -> Concept | None:
        for concept in self.concepts:
            if concept.name.lower() == name.lower():
                return concept
        return None

    def find(self, text: str, offset: int = 0) -> list[Mention]:
        """Non-overlapping mentions in ``text``, positions shifted by ``offset``."""
        lowered = text.lower()
        found: list[tuple[int, int, Concept]] = []
        for concept, (needle, lower, regex) in self._compiled:
            if needle is not None and needle not in (lowered if lower else text):
                continue
            for match in regex.finditer(text):
                if match.end() > match.start():
                    found.append((match.start(), match.end(), concept))
        found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
        mentions: list[Mention] = []
        last_end = -1
        for start, end, concept in found:
            if start < last_end:
                continue
            mentions.append(
                Mention(
                    self.name,
                    concept.name,
                    start + offset,
                    end + offset,
                    text[start:end],
                    concept.role,
                )
            )
            last_end = end
        return mentions


class Vocabularies(Mapping[str, Category]):
    """All categories, the packaged files merged with the protocol's additions."""

    def __init__(self, categories: Mapping[str, Category]) -> None:
        self._categories = dict(categories)

    def __getitem__(self, key: str) -> Category:
        return self._categories[key]

    def __iter__(self):
        return iter(self._categories)

    def __len__(self) -> int:
        return len(self._categories)

    def find(self, text: str, categories: Iterable[str] | None = None) -> list[Mention]:
        names = list(categories) if categories is not None else list(self._categories)
        out: list[Mention] = []
        for name in names:
            out.extend(self._categories[name].find(text))
        return sorted(out, key=lambda m: (m.start, m.category))


def parse_vocabulary(text: str, origin: str) -> tuple[str, list[Concept]]:
    data = tomllib.loads(text)
    category = data.get("category") or origin
    concepts = []
    for i, item in enumerate(data.get("concept", [])):
        unknown = set(item) - {"name", "role", "terms", "abbreviations", "patterns"}
        if "name" not in item or unknown:
            raise ValueError(f"{origin}: concept {i + 1} needs a name and no keys {unknown}")
        concepts.append(
            Concept(
                name=item["name"],
                role=item.get("role", ""),
                terms=list(item.get("terms", [])),
                abbreviations=list(item.get("abbreviations", [])),
                patterns=list(item.get("patterns", [])),
            )
        )
    return category, concepts


def packaged_vocabularies() -> dict[str, list[Concept]]:
    out: dict[str, list[Concept]] = {}
    folder = resources.files("metasift.extraction") / "vocab"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            category, concepts = parse_vocabulary(entry.read_text(encoding="utf-8"), entry.name)
            out[category] = concepts
    return out


def load_vocabularies(extra: Mapping[str, Mapping[str, list[str]]] | None = None) -> Vocabularies:
    """The packaged vocabularies, extended by ``extra`` (category -> concept -> synonyms).

    Compiling several hundred synonyms takes a second, so the result is memoised per ``extra``
    (vocabularies are never changed after they are built).
    """
    return _load(json.dumps(extra or {}, sort_keys=True))


@functools.lru_cache(maxsize=8)
def _load(extra_json: str) -> Vocabularies:
    extra: dict[str, dict[str, list[str]]] = json.loads(extra_json)
    base = packaged_vocabularies()
    for category, concepts in extra.items():
        existing = base.setdefault(category, [])
        by_name = {c.name.lower(): c for c in existing}
        for name, synonyms in concepts.items():
            concept = by_name.get(name.lower())
            if concept is None:
                concept = Concept(name=name, terms=[name])
                existing.append(concept)
                by_name[name.lower()] = concept
            for synonym in synonyms:
                if any(ch.islower() for ch in synonym):
                    concept.terms.append(synonym)
                else:
                    concept.abbreviations.append(synonym)
    return Vocabularies({name: Category(name, concepts) for name, concepts in base.items()})
