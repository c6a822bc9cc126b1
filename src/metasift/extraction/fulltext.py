"""Extraction suggestions from a full text's prose, each pointing at its part, span and sentence.

Input is a full text as :func:`metasift.fulltext.text_parts` gives it: ``[(part, text)]``, a part
being a PDF page ("page 3") or a JATS section ("Results / Cross-sectional surveys") or table
("Table 2 Hazard ratio ..."). Output is :class:`~metasift.extraction.suggest.Suggestion` objects
whose evidence names the part (``text_source``), the character span in that part's text and
the sentence, so that a viewer can highlight them and a reviewer can check them.

What is suggested, and with which value:

* ``sample_size`` (int): a count of participants ("a sample of 119 patients", "N = 41");
* ``arm_size`` ({n, group}): the size of one compared group ("313 sheep and 449 goats", a
  table column "Non-cases (n=335 924)"), its group also as the suggestion's ``arm``;
* ``statistic`` ({mean, sd, n?} or {events, n}): a mean with its SD ("57.1 ± 12.2", a table's
  mean and SD columns), with the group's n when the text or table gives it;
* ``effect`` ({measure, estimate, lower, upper}): an OR, RR, HR, MD or SMD with its 95% CI
  ("HR, 0.84; 95% CI: 0.74–0.95", "odds ratios ... 1.60 (1.38–1.86)", "OR = 7.3");
* ``p_value`` ({op, value}); ``follow_up`` ({low, high, unit}).

Written as rules by hand: the libraries that read trial reports (trialstreamer, RobotReviewer's
PICO taggers) need models and services we do not ship, and none returns numbers with the exact
character spans provenance needs. The rules are few, stated below, and every suggestion says
which one fired. Tables are read by :mod:`metasift.extraction.tables`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from metasift.extraction.suggest import Evidence, Suggestion, word_number
from metasift.extraction.tables import (
    MEASURE,
    WIDE,
    is_table,
    measure_name,
    table_blocks,
    table_suggestions,
)
from metasift.extraction.text import Sentence, sentence_at, split_sentences

# A number as articles print it: thousands grouped by a space, comma or thin space.
INT = r"\d{1,3}(?:[ ,\u2009\u202f\n]\d{3})+(?!\.\d)|\d+"
NUM = r"[-−–]?\d+(?:\.\d+)?"
DASH = r"\s*(?:–|-|—|−|to)\s*"
_MEASURE = MEASURE
_SUBJECTS = (
    r"patients|participants|subjects|volunteers|individuals|persons|people|women|men|girls"
    r"|boys|children|adults|infants|cases|controls|mice|rats|rabbits|dogs|pigs|animals|sheep"
    r"|goats|cattle|cows|fish|minnows|pairs|tumours|tumors|eyes|households|ruminants"
)
_WORDS = (
    r"(?:[Oo]ne|[Tt]wo|[Tt]hree|[Ff]our|[Ff]ive|[Ss]ix|[Ss]even|[Ee]ight|[Nn]ine|[Tt]en|[Ee]leven"
    r"|[Tt]welve|(?:[Tt]hir|[Ff]our|[Ff]if|[Ss]ix|[Ss]even|[Ee]igh|[Nn]ine)teen"
    r"|(?:[Tt]wen|[Tt]hir|[Ff]or|[Ff]if|[Ss]ix|[Ss]even|[Ee]igh|[Nn]ine)ty(?:[- ][a-z]+)?)"
)
_COUNT = re.compile(
    rf"\b(?P<n>{INT}|{_WORDS})(?P<adj>(?:\s+(?!and\b|of\b|or\b|in\b)[A-Za-z/-]+){{0,3}}?)"
    rf"\s+(?P<what>(?:non-)?(?:{_SUBJECTS}))\b"
)
_NOT_A_COUNT = re.compile(
    r"(?:%|\bthe|\bof whom|\bper|[–-]|\bover|\bmore than|\babout|\bapproximately|\bnearly"
    r"|\balmost|\bup to|\bless than|\bfewer than|\bat least|~|∼)\s*$",
    re.IGNORECASE,
)
_N_EQUALS = re.compile(rf"\b[nN]\s*=\s*(?P<n>{INT})(?!\s*(?:–|-|to)\s*\d)")
_PLUS_MINUS = re.compile(rf"(?P<mean>{NUM})\s*(?:±|\+/-|\+/−)\s*(?P<sd>\d+(?:\.\d+)?)")
_CONFIDENCE = re.compile(r"confidence|\bCI\b|95\s*%", re.IGNORECASE)
_STANDARD_ERROR = re.compile(r"\bSEM?\b|S\.E\.M?\.|standard errors?", re.IGNORECASE)
# est (lo–hi) / est [lo, hi] / est; 95% CI: lo–hi / est (95% CI lo to hi)
_EFFECT_CI = re.compile(
    rf"(?P<est>{NUM})\s*(?:[;,]\s*95\s*%\s*(?:CI|confidence intervals?)(?:\s*\(CI\))?[:,]?\s*"
    rf"|[(\[]\s*(?:95\s*%\s*CI[:,]?\s*)?)(?P<lo>{NUM})(?:{DASH}|\s*,\s*)(?P<hi>{NUM})",
    re.IGNORECASE,
)
# "OR = 7.3", "HR 0.92", "hazard ratio (HR), 0.92": a measure named just before its estimate.
_EFFECT_NAMED = re.compile(
    rf"{_MEASURE.pattern}(?:\s*\([A-Za-z]+\))?\s*(?:[,:=]|of|was|were)?\s*(?P<est>{NUM})\b"
    rf"(?!\s*%)"
)
_P_VALUE = re.compile(
    r"\b[Pp](?:\s*-?\s*(?:values?|trend|interaction|for trend))?\s*(?P<op>[<>=≤≥]|,)\s*"
    r"(?P<v>0?\.\d+|1(?:\.0+)?|\d(?:\.\d+)?\s*[×x]\s*10\s*[-−]\s*\d+)"
)
_UNIT = r"(?P<unit>days?|weeks?|months?|years?|hours?|hr)"
_WORD_NUM = r"[a-z]+"
_FOLLOW_UP = [
    (
        re.compile(
            rf"follow(?:ed)?[- ]up(?:\s+(?:period|time|duration))?[^.;]{{0,40}}?\b"
            rf"(?P<lo>{NUM}|{_WORD_NUM})(?:{DASH}(?P<hi>{NUM}|{_WORD_NUM}))?[\s-]*{_UNIT}\b",
            re.IGNORECASE,
        ),
        "follow-up named",
        0.8,
    ),
    (
        re.compile(
            rf"\b(?P<lo>{NUM}|{_WORD_NUM})(?:{DASH}(?P<hi>{NUM}|{_WORD_NUM}))?[\s-]*{_UNIT}"
            rf"[\s-]+(?:study period|interval|follow[- ]up|observation period|treatment period"
            rf"|exposure)\b",
            re.IGNORECASE,
        ),
        "a study period or interval",
        0.7,
    ),
    (
        re.compile(
            rf"\b(?:given|fed|treated|exposed|received|administered|dosed|followed|monitored)\b"
            rf"(?:[^.;]|\.(?=\d)){{0,120}}?\b(?:for|during|over)\s+(?P<lo>{NUM})(?:{DASH}(?P<hi>{NUM}))?"
            rf"\s*{_UNIT}\b",
            re.IGNORECASE,
        ),
        "a treatment or exposure given for a time",
        0.55,
    ),
]


def number(text: str) -> float | None:
    """'337 802', '1,308', '0.92', '−0.5', 'seven' -> a number; None if it is not one.

    Args:
        text: a number as printed, or a number word.
    """
    text = text.strip().replace("\u2009", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d{1,3}(?:[ ,\n]\d{3})+", text):
        return float(re.sub(r"[ ,\n]", "", text))
    text = text.replace("−", "-").replace("–", "-")
    try:
        return float(text)
    except ValueError:
        word = word_number(text)
        return float(word) if word is not None else None


def _int(text: str) -> int | None:
    value = number(text)
    return int(value) if value is not None and value == int(value) and value >= 0 else None


class Part:
    """One named part of a full text, split into sentences once."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.sentences: list[Sentence] = split_sentences(text) or [Sentence(0, 0, "")]

    def evidence(self, start: int, end: int) -> Evidence:
        sentence = sentence_at(self.sentences, start)
        return Evidence(self.name, sentence.text, sentence.start, start, end)

    def sentence(self, position: int) -> Sentence:
        return sentence_at(self.sentences, position)


def suggest_fulltext(parts: Sequence[tuple[str, str]]) -> list[Suggestion]:
    """Every suggestion the rules find in ``parts``, in reading order.

    Args:
        parts: ``[(part name, text)]`` of one full text (pages or sections and tables).
    """
    out: list[Suggestion] = []
    for name, text in parts:
        if not text or not text.strip():
            continue
        if is_table(name):
            out.extend(table_suggestions(name, text))
            continue
        # Tables laid out in a page (a PDF's text): read as tables, and blanked for the prose
        # rules, so that spans still count in the page's own text.
        found: list[Suggestion] = []
        for start, end, caption in table_blocks(text):
            found += table_suggestions(
                caption or name, text[start:end], separator=WIDE, source=name, offset=start
            )
            text = text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]
        part = Part(name, text)
        found += [
            *_sizes(part),
            *_means(part),
            *_effects(part),
            *_p_values(part),
            *_follow_ups(part),
        ]
        out.extend(sorted(found, key=lambda s: s.evidence.start))
    return out


# --- sample and group sizes -----------------------------------------------------------------


def _sizes(part: Part) -> list[Suggestion]:
    out: list[Suggestion] = []
    counts = []
    for match in _COUNT.finditer(part.text):
        n = _int(match.group("n"))
        before = part.text[max(0, match.start() - 16) : match.start()]
        # "of whom 1878 developed", "the 240 samples", "9–11 pairs", "over 1800 cases": not a
        # sample's size; a year or a percentage is not a count either.
        if n is None or n < 2 or _NOT_A_COUNT.search(before):
            continue
        if 1900 <= n <= 2100 and not re.search(r"[ ,]", match.group("n")):
            continue
        counts.append(match)
    for match in counts:
        n = _int(match.group("n"))
        assert n is not None
        sentence = part.sentence(match.start())
        others = [
            m for m in counts if m is not match and sentence.start <= m.start() < sentence.end
        ]
        after = part.text[match.end() : match.end() + 3]
        joined = any(
            re.search(r"\band\b|\bvs\.?|\bversus\b", part.text[a:b])
            for a, b in ((min(m.end(), match.end()), max(m.start(), match.start())) for m in others)
        )
        inside = _in_parentheses(part.text, sentence.start, match.start())
        what = match.group("what").lower()
        group = f"{match.group('adj').strip()} {what}".strip()
        if after.lstrip().startswith("(") and any(
            m.start() > match.end() and _in_parentheses(part.text, match.end(), m.start())
            for m in others
        ):
            field, why, conf = "sample_size", "a total with its groups in brackets", 0.8
        elif (inside and others) or (joined and others):
            field, why, conf = "arm_size", "one of several groups counted together", 0.65
        elif re.search(
            r"\b(?:of|out of)\s*$", part.text[max(0, match.start() - 8) : match.start()]
        ):
            field, why, conf = "sample_size", "the total of 'X of N'", 0.6
        else:
            field, why, conf = "sample_size", "a count of participants", 0.6
        value: object = n if field == "sample_size" else {"n": n, "group": group}
        out.append(
            Suggestion(
                field,
                value,
                part.evidence(match.start(), match.end()),
                f"rules:{field.replace('_', '-')}",
                conf,
                f"{n} {what}: {why}",
                arm=group if field == "arm_size" else "",
            )
        )
    for match in _N_EQUALS.finditer(part.text):
        n = _int(match.group("n"))
        if n is None:
            continue
        out.append(
            Suggestion(
                "sample_size",
                n,
                part.evidence(match.start(), match.end()),
                "rules:sample-size",
                0.6,
                f"n = {n}",
            )
        )
    return out


def _in_parentheses(text: str, start: int, position: int) -> bool:
    """Whether ``position`` sits inside brackets opened after ``start``."""
    depth = 0
    for char in text[start:position]:
        depth += char == "("
        depth -= char == ")" and depth > 0
    return depth > 0


# --- means and SDs --------------------------------------------------------------------------


def _means(part: Part) -> list[Suggestion]:
    out = []
    for match in _PLUS_MINUS.finditer(part.text):
        sentence = part.sentence(match.start())
        near = part.text[match.end() : match.end() + 60]
        # "mean ± 95% confidence limits" is not an SD; neither is a half-width.
        if _CONFIDENCE.search(near.split(")")[0]) or re.search(
            r"±\s*95\s*%|confidence (?:limits|intervals?)\)", sentence.text
        ):
            continue
        dispersion = "se" if _STANDARD_ERROR.search(sentence.text) else "sd"
        value: dict[str, object] = {
            "mean": number(match.group("mean")),
            dispersion: number(match.group("sd")),
        }
        end = match.end()
        n_after = re.match(rf"[^.;)]{{0,25}}?\b[nN]\s*=\s*({INT})", near)
        if n_after:
            value["n"] = _int(n_after.group(1))
            end = match.end() + n_after.end()
        else:
            size = _nearest_size(part, sentence, match.start())
            if size is not None:
                value["n"] = size
        out.append(
            Suggestion(
                "statistic",
                value,
                part.evidence(match.start(), end),
                "rules:mean-sd",
                0.7 if dispersion == "sd" else 0.5,
                f"mean ± {dispersion.upper()}",
                arm=_context(part, sentence, match.start()),
            )
        )
    return out


def _nearest_size(part: Part, sentence: Sentence, position: int) -> int | None:
    """The count of participants said just before a statistic in its sentence, if any:
    "119 patients (68.9 % women; mean age = 57.1 ± 12.2 yrs)"."""
    before = part.text[sentence.start : position]
    found = list(_COUNT.finditer(before))
    if not found:
        return None
    last = found[-1]
    if before[last.end() :].count("(") - before[last.end() :].count(")") <= 0:
        return None
    return _int(last.group("n"))


def _context(part: Part, sentence: Sentence, position: int) -> str:
    before = part.text[sentence.start : position]
    before = re.split(r"[;:(]|,\s", before)[-1]
    return before.strip()[-60:]


# --- effect estimates -----------------------------------------------------------------------


def _effects(part: Part) -> list[Suggestion]:
    out = []
    taken: list[tuple[int, int]] = []
    for match in _EFFECT_CI.finditer(part.text):
        est, lo, hi = (number(match.group(k)) for k in ("est", "lo", "hi"))
        if est is None or lo is None or hi is None or not lo <= est <= hi or lo == hi:
            continue
        sentence = part.sentence(match.start())
        measures = list(_MEASURE.finditer(part.text, sentence.start, match.start()))
        if not measures:
            continue
        measure = measure_name(measures[-1].group("m"))
        close = part.text.find(")", match.end(), match.end() + 3)
        end = close + 1 if close >= 0 else match.end()
        out.append(
            Suggestion(
                "effect",
                {"measure": measure, "estimate": est, "lower": lo, "upper": hi},
                part.evidence(match.start(), end),
                "rules:effect-ci",
                0.85 if measures[-1].end() > match.start() - 60 else 0.7,
                f"{measure} {est} (95% CI {lo} to {hi}); measure named "
                f"{measures[-1].group('m')!r} before it",
                outcome=_context(part, sentence, measures[-1].start()),
            )
        )
        taken.append((match.start(), end))
    for match in _EFFECT_NAMED.finditer(part.text):
        if any(a <= match.start("est") < b for a, b in taken):
            continue
        est = number(match.group("est"))
        if est is None or est < 0:
            continue
        measure = measure_name(match.group("m"))
        if measure in ("MD", "SMD"):
            continue  # a difference without its CI is too often a sentence's other number
        out.append(
            Suggestion(
                "effect",
                {"measure": measure, "estimate": est, "lower": None, "upper": None},
                part.evidence(match.start(), match.end()),
                "rules:effect",
                0.6,
                f"{measure} {est}, no confidence interval given with it",
            )
        )
    return out


def _p_values(part: Part) -> list[Suggestion]:
    out = []
    for match in _P_VALUE.finditer(part.text):
        op = "=" if match.group("op") == "," else match.group("op")
        raw = re.sub(r"\s", "", match.group("v")).replace("×", "x").replace("−", "-")
        value = number(raw) if "x" not in raw else float(raw.replace("x10", "e"))
        out.append(
            Suggestion(
                "p_value",
                {"op": op, "value": value},
                part.evidence(match.start(), match.end()),
                "rules:p-value",
                0.8,
                f"P {op} {match.group('v')}",
            )
        )
    return out


# --- follow-up ------------------------------------------------------------------------------


def _follow_ups(part: Part) -> list[Suggestion]:
    out = []
    seen: set[int] = set()
    for pattern, why, confidence in _FOLLOW_UP:
        for match in pattern.finditer(part.text):
            lo = number(match.group("lo"))
            hi = number(match.group("hi")) if match.group("hi") else lo
            if lo is None or hi is None or match.start("lo") in seen:
                continue
            seen.add(match.start("lo"))
            unit = _unit(match.group("unit"))
            out.append(
                Suggestion(
                    "follow_up",
                    {"low": lo, "high": hi, "unit": unit},
                    part.evidence(match.start("lo"), match.end("unit")),
                    "rules:follow-up",
                    confidence,
                    f"{why}: {match.group(0)[-60:]!r}",
                )
            )
    return out


def _unit(text: str) -> str:
    text = text.lower()
    if text == "hr":
        return "hours"
    return text if text.endswith("s") else text + "s"
