"""Automatic suggestions for the extraction form, each with the sentence and span it came from.

Pure functions over text: a study-design classifier, vocabulary tagging (diseases,
interventions, species, disease models, outcome measures, mediators), and sample sizes and
summary statistics (mean ± SD with n, median with IQR) found in abstracts or pasted results.

The design classifier is rule-based because the designs have explicit textual markers that a
reviewer can check ("randomly assigned", "case report", "imiquimod-induced ... mice"), and every
suggestion must say why it was made: each design comes with the cue that decided it and the
rule that applied. When the rules find no cue, an optional scikit-learn model
(:class:`DesignModel`, TF-IDF + logistic regression fitted on a review's own accepted designs)
may fill in; its explanation lists the words that weighed most.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metasift.extraction.text import Sentence, sentence_at, split_sentences
from metasift.extraction.vocab import Mention, Vocabularies

# Intervention labels built from a cell source and a product.
ADMSC = "ADMSC"
ADMSC_EV = "ADMSC exosomes/EVs"
ADMSC_CM = "ADMSC conditioned medium/secretome"
OTHER_MSC = "MSC (other source)"
UNSTATED_MSC = "MSC (source not stated)"
EV_PRODUCT = "exosomes/EVs"
CM_PRODUCT = "conditioned medium/secretome"

# Form fields filled from each vocabulary category.
CATEGORY_FIELDS = {
    "diseases": "disease",
    "species": "species",
    "models": "model",
    "outcomes": "outcome_measures",
    "mediators": "mediators",
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a suggestion comes from: ``text[start:end]`` of the named text is the cue."""

    text_source: str
    sentence: str
    sentence_start: int
    start: int
    end: int

    @property
    def cue(self) -> str:
        return self.sentence[self.start - self.sentence_start : self.end - self.sentence_start]


@dataclass(frozen=True, slots=True)
class Suggestion:
    field: str
    value: Any
    evidence: Evidence
    method: str
    confidence: float
    explanation: str
    arm: str = ""
    outcome: str = ""
    timepoint: str = ""

    def key(self, study_id: int) -> str:
        """Identity of the suggestion, so that running the suggesters again adds no copies."""
        parts = [
            study_id,
            self.field,
            self.arm,
            self.outcome,
            self.timepoint,
            self.evidence.text_source,
            self.evidence.start,
            self.evidence.end,
            json.dumps(self.value, sort_keys=True),
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@dataclass
class _Text:
    source: str
    text: str
    sentences: list[Sentence] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sentences = split_sentences(self.text)

    def evidence(self, start: int, end: int) -> Evidence:
        sentence = sentence_at(self.sentences, start)
        return Evidence(self.source, sentence.text, sentence.start, start, end)


def _texts(texts: Mapping[str, str | None]) -> list[_Text]:
    return [_Text(name, text) for name, text in texts.items() if text and text.strip()]


# --- study design ----------------------------------------------------------------------------

_NUM_WORD = (
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy"
    r"|eighty|ninety|hundred)(?:[\s\-](?:one|two|three|four|five|six|seven|eight|nine))?"
)
_PEOPLE = (
    r"(?:patients?|participants?|subjects?|volunteers?|individuals?|women|men|children|adults)"
)

_I = re.IGNORECASE
# (label, regex, where: "title" | "any") in the order they are tried for each label.
_OTHER = [
    re.compile(r"\bprotocol for\b|\bstudy protocol\b|\btrial protocol\b", _I),
    re.compile(r"\b(?:commentary|editorial|erratum|corrigendum|letter to the editor)\b", _I),
]
_CASE = [
    re.compile(r"\bcase (?:report|study|presentation)s?\b", _I),
    re.compile(r"\breport of (?:a|an|one|two|three|four|\d+) (?:\w+ )?cases?\b", _I),
    re.compile(
        r"\bwe (?:report|present|describe) (?:a|an|the|two|three)(?: \w+){0,2} cases?\b", _I
    ),
    re.compile(r"\ba \d+-year-old (?:male|female|man|woman|boy|girl|patient)\b", _I),
]
_REVIEW_TITLE = re.compile(
    r"\b(?:review|meta-analys[ie]s|overview|state of the art|an update|update on|perspectives?"
    r"|current status|trends and prospects|comprehensive exploration)\b",
    _I,
)
_REVIEW_TEXT = re.compile(
    r"\b(?:this (?:review|article reviews|mini-review)|in this review|we review(?:ed)? the"
    r"|this review (?:summarizes|discusses|highlights)|systematic review|meta-analysis"
    r"|narrative review|literature (?:review|search)|databases were searched"
    r"|we summari[sz]e(?:d)? the|this article reviews|was searched|were searched)\b",
    _I,
)
_PRIMARY = re.compile(
    r"\b(?:we (?:investigated|examined|evaluated|assessed|compared|explored|sought|aimed"
    r"|established|isolated|found|performed|conducted|treated|injected|observed|measured)"
    r"|were (?:enrolled|randomi[sz]ed|treated|injected|recruited|divided|included)"
    r"|(?:mice|rats|dogs|rabbits) were|in this study)\b",
    _I,
)
_HUMAN_STUDY = [
    re.compile(rf"\b{_NUM_WORD} (?:\w+ )?{_PEOPLE}\b", _I),
    re.compile(
        r"\b(?:were enrolled|enrolled (?:in|into)|were recruited|phase (?:I|1|II|2)[/ab0-9I]*"
        r"|single-arm|open-label|split-face|split-scalp|clinical (?:trial|study)|first-in-man"
        r"|retrospective(?:ly)?|prospective|cohort|case series|placebo|double-blind)\b",
        _I,
    ),
]
_RANDOMISED = re.compile(
    r"\b(?:randomi[sz]ed|randomly (?:assigned|allocated)|random allocation|randomi[sz]ation)\b",
    _I,
)
_ANIMAL = re.compile(
    r"\b(?:mice|mouse|murine|rats?|rabbits?|dogs?|canine|pigs?|porcine|minipigs?|animal models?"
    r"|in vivo|BALB/c|C57BL/6J?|NC/Nga|Sprague[- ]Dawley|Wistar|imiquimod|oxazolone|DNCB"
    r"|bleomycin)\b",
    _I,
)
_IN_VITRO = re.compile(
    r"\b(?:in vitro|cultured|co-?cultured?|cell lines?|HaCaT|THP-1|keratinocytes|fibroblasts"
    r"|PBMCs?|macrophages|reconstituted human skin|skin model|cell proliferation|flow cytometry)\b",
    _I,
)


@dataclass(frozen=True, slots=True)
class DesignCall:
    design: str | None
    rule: str
    evidence: Evidence | None
    confidence: float


def _first(patterns: Sequence[re.Pattern[str]], texts: Sequence[_Text]) -> Evidence | None:
    for text in texts:
        for pattern in patterns:
            match = pattern.search(text.text)
            if match:
                return text.evidence(match.start(), match.end())
    return None


def _count(pattern: re.Pattern[str], texts: Sequence[_Text]) -> int:
    return sum(len(pattern.findall(t.text)) for t in texts)


def classify_design_rules(texts: Mapping[str, str | None]) -> DesignCall:
    """The design of the study described by ``texts`` (``title`` first), and why."""
    items = _texts(texts)
    title = [t for t in items if t.source == "title"]
    if not items:
        return DesignCall(None, "no text", None, 0.0)
    found = _first(_OTHER, title)
    if found:
        return DesignCall("other", "title names a protocol, commentary or editorial", found, 0.9)
    case = _first(_CASE, title) or _first(_CASE, items)
    animals = _count(_ANIMAL, items)
    if case and animals == 0:
        return DesignCall("case report", "a case report is described", case, 0.85)
    primary = _PRIMARY.search(" ".join(t.text for t in items))
    review = _first([_REVIEW_TITLE], title)
    if review:
        return DesignCall("review", "the title names a review", review, 0.9)
    review = _first([_REVIEW_TEXT], items)
    if review and not primary:
        return DesignCall("review", "the abstract describes a review, not new data", review, 0.75)
    human = sum(_count(p, items) for p in _HUMAN_STUDY)
    title_animal = _first([_ANIMAL], title)
    if human and (animals == 0 or (human > animals and not title_animal)):
        randomised = _first([_RANDOMISED], items)
        if randomised:
            return DesignCall("RCT", "people were randomly allocated", randomised, 0.8)
        cue = _first(_HUMAN_STUDY, items)
        return DesignCall(
            "non-randomised clinical", "a clinical study without random allocation", cue, 0.7
        )
    if animals:
        cue = title_animal or _first([_ANIMAL], items)
        return DesignCall("animal in vivo", "animals or an animal model were treated", cue, 0.8)
    in_vitro = _first([_IN_VITRO], items)
    if in_vitro:
        return DesignCall("in vitro", "cells were studied, no animals or patients", in_vitro, 0.7)
    if review:
        return DesignCall("review", "the abstract describes a review", review, 0.6)
    return DesignCall(None, "no design cue found", None, 0.0)


class DesignModel:
    """Optional learned design classifier: TF-IDF words and bigrams, logistic regression.

    Fitted on a review's own records with accepted designs; used only when the rules abstain.
    """

    def __init__(self, C: float = 4.0, random_state: int = 0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
        self.classifier = LogisticRegression(C=C, max_iter=2000, random_state=random_state)

    def fit(self, texts: Sequence[str], designs: Sequence[str]) -> DesignModel:
        self.classifier.fit(self.vectorizer.fit_transform(texts), list(designs))
        return self

    def predict(self, text: str) -> tuple[str, float, list[str]]:
        """(design, probability, the words that weighed most for it)."""
        x = self.vectorizer.transform([text])
        proba = self.classifier.predict_proba(x)[0]
        best = int(proba.argmax())
        label = str(self.classifier.classes_[best])
        row = best if len(self.classifier.classes_) > 2 else 0
        coefs = self.classifier.coef_[row] * (
            1 if len(self.classifier.classes_) > 2 or best else -1
        )
        contributions = x.multiply(coefs).tocsr()
        order = contributions.data.argsort()[::-1][:5]
        names = self.vectorizer.get_feature_names_out()
        words = [str(names[contributions.indices[i]]) for i in order if contributions.data[i] > 0]
        return label, float(proba[best]), words


def suggest_design(
    texts: Mapping[str, str | None], model: DesignModel | None = None
) -> list[Suggestion]:
    call = classify_design_rules(texts)
    if call.design is not None and call.evidence is not None:
        return [
            Suggestion(
                "design",
                call.design,
                call.evidence,
                "rules:design",
                call.confidence,
                f"{call.rule}: cue {call.evidence.cue!r}",
            )
        ]
    items = _texts(texts)
    if model is None or not items:
        return []
    label, probability, words = model.predict(" ".join(t.text for t in items))
    first = items[0]
    return [
        Suggestion(
            "design",
            label,
            first.evidence(0, len(first.text)),
            "sklearn:design",
            probability,
            f"no rule applied; the model's strongest words: {', '.join(words) or 'none'}",
        )
    ]


# --- entities ---------------------------------------------------------------------------------

_LINK = re.compile(
    r"^(?:[\s\-\(\)\[\],'’/]|derived|secreted|isolated|obtained|produced|released|from|of|by|the"
    r"|human|and|cell|cells|s|conditioned|cultured|culture|allogeneic|autologous|mouse|murine)*$",
    _I,
)


def _linked(text: str, a: Mention, b: Mention, offset: int) -> bool:
    """Whether two mentions are one phrase ("exosomes derived from human ADSCs", "ASC-CM")."""
    first, second = (a, b) if a.start < b.start else (b, a)
    gap = text[first.end - offset : second.start - offset]
    return len(gap) <= 40 and bool(_LINK.match(gap))


def _intervention_labels(text: _Text, vocab: Vocabularies) -> list[tuple[str, Mention, str]]:
    """(label, mention, why) for each intervention mention, sources combined with products."""
    if "interventions" not in vocab:
        return []
    mentions = vocab["interventions"].find(text.text)
    out: list[tuple[str, Mention, str]] = []
    consumed: set[int] = set()
    sources = [m for m in mentions if m.role in ("adipose", "other source", "unspecified")]
    for product in (m for m in mentions if m.role == "product"):
        sentence = sentence_at(text.sentences, product.start)
        near = [
            s
            for s in sources
            if sentence.start <= s.start < sentence.end and _linked(text.text, s, product, 0)
        ]
        if not near:
            continue
        source = min(near, key=lambda s: abs(s.start - product.start))
        consumed.add(id(source))
        if source.role == "adipose":
            label = ADMSC_EV if product.concept == EV_PRODUCT else ADMSC_CM
        else:
            label = OTHER_MSC if source.role == "other source" else UNSTATED_MSC
        start, end = min(source.start, product.start), max(source.end, product.end)
        joined = Mention("interventions", label, start, end, text.text[start:end], "product")
        out.append((label, joined, f"{product.text!r} of {source.text!r}"))
    for mention in mentions:
        if id(mention) in consumed or mention.role == "product":
            continue
        out.append((mention.concept, mention, f"mention {mention.text!r}"))
    return out


def suggest_entities(texts: Mapping[str, str | None], vocab: Vocabularies) -> list[Suggestion]:
    """One suggestion per concept found, with its first mention (the title's if any)."""
    items = _texts(texts)
    out: list[Suggestion] = []
    for category, field_name in CATEGORY_FIELDS.items():
        if category not in vocab:
            continue
        out.extend(_concept_suggestions(items, vocab, category, field_name))
    out.extend(_intervention_suggestions(items, vocab))
    for category in vocab:
        if category not in CATEGORY_FIELDS and category != "interventions":
            out.extend(_concept_suggestions(items, vocab, category, category))
    return out


def _concept_suggestions(
    items: Sequence[_Text], vocab: Vocabularies, category: str, field_name: str
) -> list[Suggestion]:
    first: dict[str, tuple[_Text, Mention]] = {}
    counts: dict[str, int] = {}
    for text in items:
        for mention in vocab[category].find(text.text):
            counts[mention.concept] = counts.get(mention.concept, 0) + 1
            first.setdefault(mention.concept, (text, mention))
    title_concepts = {c for c, (t, _) in first.items() if t.source == "title"}
    out = []
    for concept, (text, mention) in first.items():
        in_title = text.source == "title"
        # When the title names what the study is about, a concept the abstract mentions only
        # once is background ("MSCs also heal wounds"), not a subject.
        if category == "diseases" and title_concepts and not in_title and counts[concept] < 2:
            continue
        confidence = 0.9 if in_title else min(0.85, 0.5 + 0.1 * counts[concept])
        out.append(
            Suggestion(
                field_name,
                concept,
                text.evidence(mention.start, mention.end),
                f"vocab:{category}",
                confidence,
                f"{counts[concept]} mention(s); first {mention.text!r}"
                + (" in the title" if in_title else ""),
            )
        )
    return out


def _intervention_suggestions(items: Sequence[_Text], vocab: Vocabularies) -> list[Suggestion]:
    labelled = [(text, *found) for text in items for found in _intervention_labels(text, vocab)]
    has_source = any(
        m.role in ("adipose", "other source") or label in (ADMSC_EV, ADMSC_CM, OTHER_MSC)
        for _, label, m, _ in labelled
    )
    # A study of exosomes or conditioned medium names the parent cells as their source, and a
    # fat-grafting study names the cells as the graft's presumed mechanism; in both the cells
    # count as an intervention of their own only when the title names them.
    adipose_product = any(
        label in (ADMSC_EV, ADMSC_CM, "fat grafting") for _, label, _, _ in labelled
    )
    cells_in_title = any(
        label == ADMSC and text.source == "title" for text, label, _, _ in labelled
    )
    first: dict[str, tuple[_Text, Mention, str]] = {}
    counts: dict[str, int] = {}
    for text, label, mention, why in labelled:
        # Generic "MSC" or "stem cell" wording counts only when no tissue source is named
        # anywhere: "ADSCs are MSCs that..." is not a second intervention.
        if label == UNSTATED_MSC and has_source:
            continue
        if label == ADMSC and adipose_product and not cells_in_title:
            continue
        counts[label] = counts.get(label, 0) + 1
        first.setdefault(label, (text, mention, why))
    out = []
    for label, (text, mention, why) in first.items():
        in_title = text.source == "title"
        confidence = 0.9 if in_title else min(0.85, 0.5 + 0.1 * counts[label])
        out.append(
            Suggestion(
                "intervention",
                label,
                text.evidence(mention.start, mention.end),
                "vocab:interventions",
                confidence,
                f"{counts[label]} mention(s); first {why}" + (" in the title" if in_title else ""),
            )
        )
    return out


# --- numbers ----------------------------------------------------------------------------------

_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
        " fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}


def word_number(text: str) -> int | None:
    """'17', 'seventeen', 'Thirty nine', 'twenty-eight' -> int; None if not a number."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    parts = re.split(r"[\s\-]+", text)
    if len(parts) == 1:
        return _WORDS.get(parts[0], _TENS.get(parts[0]))
    if len(parts) == 2 and parts[0] in _TENS and parts[1] in _WORDS and 0 < _WORDS[parts[1]] < 10:
        return _TENS[parts[0]] + _WORDS[parts[1]]
    return None


_SUBJECTS = (
    r"(?:patients?|participants?|subjects?|volunteers?|individuals?|women|men|children|adults"
    r"|mice|rats?|rabbits?|dogs?|animals?|pigs?|cases?|eyes)"
)
_N_COUNT = re.compile(
    rf"\b(?P<n>{_NUM_WORD})(?: (?:adult|female|male|healthy|consecutive|eligible|nude|BALB/c|"
    rf"C57BL/6|client-owned|atopic|\w+-old)){{0,2}} (?P<what>{_SUBJECTS})\b",
    _I,
)
_N_EQUALS = re.compile(r"\b[nN]\s*=\s*(?P<n>\d+)\b")
_NUMBER = r"-?\d+(?:[.,]\d+)?"
_UNIT = (
    r"%|mm|cm|µm|μm|nm|mL|ml|L|kg|mg|µg|μg|g|PU|years?|days?|weeks?|months?|hours?|times"
    r"|[a-zA-Zμµ]{1,5}/[a-zA-Z²0-9]{1,5}"
)
_MEAN_SD = re.compile(
    rf"(?P<mean>{_NUMBER})\s*(?:%|{_UNIT})?\s*(?:±|\+/-|\+-|\+\s(?=\d))\s*(?P<sd>{_NUMBER})"
    rf"(?:\s*(?P<unit>{_UNIT})(?![A-Za-z]))?"
)
_MEAN_PAREN = re.compile(
    rf"\bmean\s*\(\s*(?:SD|s\.d\.)\s*\)[^0-9\-]{{0,20}}(?P<mean>{_NUMBER})\s*\(\s*(?P<sd>{_NUMBER})\s*\)",
    _I,
)
_MEDIAN = re.compile(
    rf"\bmedian[^0-9\-]{{0,25}}(?P<median>{_NUMBER})\s*[^0-9\-]{{0,15}}\(\s*(?:IQR|interquartile"
    rf" range)?[:,]?\s*(?P<q1>{_NUMBER})\s*(?:-|–|to)\s*(?P<q3>{_NUMBER})\s*\)",
    _I,
)
_SE = re.compile(r"\b(?:SEM|S\.E\.M\.|SE|standard error)\b")
# "Data are mean ± SEM" anywhere in the text makes every ± a standard error.
_SE_DECLARED = re.compile(
    r"mean\s*(?:±|\+/-)\s*(?:SEM|S\.E\.M\.|SE)\b|standard errors? of the mean"
)


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def suggest_numbers(texts: Mapping[str, str | None]) -> list[Suggestion]:
    """Sample sizes and summary statistics, each pointing at the characters it was read from."""
    out: list[Suggestion] = []
    for text in _texts(texts):
        out.extend(_sample_sizes(text))
        out.extend(_statistics(text))
    return out


def _sample_sizes(text: _Text) -> list[Suggestion]:
    out = []
    for match in _N_COUNT.finditer(text.text):
        n = word_number(match.group("n"))
        if n is None or n == 0:
            continue
        out.append(
            Suggestion(
                "sample_size",
                n,
                text.evidence(match.start(), match.end()),
                "rules:sample-size",
                0.6,
                f"{n} {match.group('what').lower()}",
            )
        )
    for match in _N_EQUALS.finditer(text.text):
        n = int(match.group("n"))
        out.append(
            Suggestion(
                "sample_size",
                n,
                text.evidence(match.start(), match.end()),
                "rules:sample-size",
                0.5,
                f"n = {n}",
            )
        )
    return out


def _context(text: _Text, start: int) -> str:
    """The words before a statistic in its sentence: the group or measure it belongs to."""
    sentence = sentence_at(text.sentences, start)
    before = text.text[sentence.start : start]
    before = re.split(r"[;:]|,\s(?=\w+\s(?:group|was|were))", before)[-1]
    return before.strip()[-80:]


def _statistics(text: _Text) -> list[Suggestion]:
    out = []
    for match in list(_MEAN_SD.finditer(text.text)) + list(_MEAN_PAREN.finditer(text.text)):
        sentence = sentence_at(text.sentences, match.start())
        declared = _SE_DECLARED.search(text.text)
        dispersion = "se" if declared or _SE.search(sentence.text) else "sd"
        value: dict[str, Any] = {
            "mean": _num(match.group("mean")),
            dispersion: _num(match.group("sd")),
        }
        unit = (match.groupdict().get("unit") or "").strip()
        if unit:
            value["unit"] = unit
        after = text.text[match.end() : match.end() + 25]
        n_match = re.match(r"[^.;]{0,10}?\b[nN]\s*=\s*(\d+)", after)
        end = match.end()
        if n_match:
            value["n"] = int(n_match.group(1))
            end = match.end() + n_match.end()
        context = _context(text, match.start())
        out.append(
            Suggestion(
                "statistic",
                value,
                text.evidence(match.start(), end),
                "rules:mean-sd",
                0.6,
                f"mean ± {dispersion.upper()}" + (f" after {context!r}" if context else ""),
                arm=context,
            )
        )
    for match in _MEDIAN.finditer(text.text):
        value = {
            "median": _num(match.group("median")),
            "q1": _num(match.group("q1")),
            "q3": _num(match.group("q3")),
        }
        context = _context(text, match.start())
        out.append(
            Suggestion(
                "statistic",
                value,
                text.evidence(match.start(), match.end()),
                "rules:median-iqr",
                0.6,
                "median (IQR)" + (f" after {context!r}" if context else ""),
                arm=context,
            )
        )
    return sorted(out, key=lambda s: s.evidence.start)


# --- everything for one study ----------------------------------------------------------------


def suggest_all(
    texts: Mapping[str, str | None],
    vocab: Vocabularies,
    model: DesignModel | None = None,
) -> list[Suggestion]:
    """Every suggestion for a study whose texts are ``texts`` (title, abstract, pasted text)."""
    return [*suggest_design(texts, model), *suggest_entities(texts, vocab), *suggest_numbers(texts)]


def predicted_fields(suggestions: Iterable[Suggestion]) -> dict[str, Any]:
    """The values the suggestions propose: design as one label, entity fields as sets."""
    out: dict[str, Any] = {"design": None}
    for s in suggestions:
        if s.field == "design":
            out["design"] = s.value
        elif isinstance(s.value, str):
            out.setdefault(s.field, set()).add(s.value)
    return out
