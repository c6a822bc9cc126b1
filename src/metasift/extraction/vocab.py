"""Topic vocabularies (TOML files a review brings) and the tagger that finds them in text.

metasift ships no topic vocabulary: a review lists its files in ``[extraction]
vocabulary_files`` (paths relative to review.toml; the flagship example's are in
``examples/admsc-skin/vocab/``) or names concepts inline. Each file is one category (e.g.
diseases, interventions, species) and lists concepts with three kinds of synonyms:

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
from pathlib import Path

from metasift.errors import ProtocolError

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
    """All categories: the review's vocabulary files merged with the protocol's additions."""

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


def read_vocabulary_files(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """(file name, text) of each vocabulary file, read once so that loading can be memoised.

    :param paths: TOML vocabulary files.
    """
    out = []
    for path in paths:
        try:
            out.append((str(path), Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise ProtocolError(
                f"{path}: vocabulary file not readable ({exc.strerror or exc}); check "
                "[extraction] vocabulary_files in review.toml (paths relative to it)"
            ) from exc
    return out


def vocabulary_folder(folder: Path) -> list[Path]:
    """The vocabulary files of a folder (``*.toml``), in name order.

    :param folder: e.g. ``examples/admsc-skin/vocab``.
    """
    return sorted(Path(folder).glob("*.toml"))


def load_vocabularies(
    extra: Mapping[str, Mapping[str, list[str]]] | None = None,
    files: Iterable[Path] = (),
) -> Vocabularies:
    """The vocabularies of ``files`` (TOML, one category each), extended by ``extra``
    (category -> concept -> synonyms).

    Compiling several hundred synonyms takes a second, so the result is memoised per files'
    contents and ``extra`` (vocabularies are never changed after they are built).

    :param extra: concepts named in review.toml's ``[extraction.vocabularies]``.
    :param files: vocabulary files (``[extraction] vocabulary_files``).
    """
    texts = read_vocabulary_files(files)
    return _load(json.dumps(extra or {}, sort_keys=True), json.dumps(texts))


@functools.lru_cache(maxsize=8)
def _load(extra_json: str, files_json: str) -> Vocabularies:
    extra: dict[str, dict[str, list[str]]] = json.loads(extra_json)
    base: dict[str, list[Concept]] = {}
    for origin, text in json.loads(files_json):
        try:
            category, concepts = parse_vocabulary(text, origin)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise ProtocolError(f"{origin}: not a vocabulary file ({exc})") from exc
        base.setdefault(category, []).extend(concepts)
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
