"""Suggestions from a table's cells, each read with its row and column headers.

A table comes as text, one row a line and its cells joined by ``" | "`` (what
:func:`metasift.fulltext.jats_sections` gives for a JATS ``<table-wrap>``). The leading lines
without numbers are the header; a later line without numbers starts a new header (a table in
two blocks) or, with one cell only, names a section of rows ("Oral contraceptive use (among
post-menopausal women)"). Each number is then read by what its headers say it is:

* a header cell "Non-cases (n=335 924)" or "n = 4924" under a group: that group's size;
* a column headed n (``n``, ``na``, ``No.``, ``Total sampled``): the row group's size, or the
  n of the row's mean and SD;
* a column headed SD after a column of numbers: mean and SD;
* a cell "57.4 (8.0)" where the row or column says "mean (s.d.)", or a cell "0.12±0.02";
* a cell "0.93 (0.84–1.03)" (or an estimate beside a column of "lo, hi" under a CI header)
  where the column header or the caption names the measure (HR, OR, RR, MD, SMD);
* a column headed P: p-values; a column of events ("No. positive") beside an n: events of n.

Spans are character offsets in the table's text, and the "sentence" of a cell is its row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metasift.extraction.suggest import Evidence, Suggestion

SEPARATOR = " | "
# Columns of a table in a PDF's text: cells apart by three spaces or more.
WIDE = re.compile(r" {3,}")
_NUM = r"[-−]?\d+(?:\.\d+)?"
_INT = r"\d{1,3}(?:[ ,]\d{3})+|\d+"
_NUMERIC = re.compile(rf"^\s*(?:[<>≤≥⩽⩾]\s*)?{_NUM}")
_N_HEADER = re.compile(
    r"^(?:n[a-e]?|N|no\.?|number|total sampled|total number|sample size)$", re.IGNORECASE
)
_N_CELL = re.compile(rf"^\(?\s*[nN]\s*=\s*(?P<n>{_INT})\s*\)?$")
_N_IN_HEADER = re.compile(rf"^(?P<group>.*?)\s*\(\s*[nN]\s*=\s*(?P<n>{_INT})\s*\)\s*$")
_SD_HEADER = re.compile(r"^(?:SD|s\.d\.|S\.D\.|standard deviation)\b", re.IGNORECASE)
_MEAN_SD_LABEL = re.compile(r"mean\s*(?:\(\s*(?:s\.?d\.?|SD)\s*\)|±\s*SD)", re.IGNORECASE)
_P_HEADER = re.compile(r"^(?:P[a-e]?|P[- ]?values?)$", re.IGNORECASE)
_EVENTS_HEADER = re.compile(r"^(?:no\.?\s+(?:positive|events|deaths)|events|deaths)$", re.I)
_CI_HEADER = re.compile(r"\bC\.?I\.?\b|confidence", re.IGNORECASE)
MEASURES = {
    "hazard ratio": "HR",
    "odds ratio": "OR",
    "relative risk": "RR",
    "risk ratio": "RR",
    "rate ratio": "RR",
    "mean difference": "MD",
    "standardi[sz]ed mean difference": "SMD",
}
MEASURE = re.compile(
    r"\b(?P<m>(?i:hazard ratios?|odds ratios?|relative risks?|risk ratios?|rate ratios?"
    r"|standardi[sz]ed mean differences?|mean differences?)|HRs?|ORs?|RRs?|SMD|MD)\b"
)
_EFFECT_CELL = re.compile(
    rf"^(?P<est>{_NUM})\s*[(\[]\s*(?P<lo>{_NUM})\s*(?:–|-|—|,|to)\s*(?P<hi>{_NUM})\s*[)\]]+$"
)
_CI_CELL = re.compile(rf"^[(\[]?\s*(?P<lo>{_NUM})\s*(?:–|-|—|,|to)\s*(?P<hi>{_NUM})\s*[)\]]?$")
_MEAN_PAREN = re.compile(rf"^(?P<mean>{_NUM})\s*\(\s*(?P<sd>\d+(?:\.\d+)?)\s*\)$")
_PLUS_MINUS = re.compile(rf"^(?P<mean>{_NUM})\s*±\s*(?P<sd>\d+(?:\.\d+)?)$")
_P_CELL = re.compile(r"^(?P<op>[<>≤≥⩽⩾]?)\s*(?P<v>0?\.\d+|1(?:\.0+)?)[a-z*†‡]*$")


def is_table(name: str) -> bool:
    """Whether a part named ``name`` is a table ("Table 2 Hazard ratio ...").

    Args:
        name: a part's name from :func:`metasift.fulltext.text_parts`.
    """
    return re.match(r"(?i)table\b", name) is not None


def _number(text: str) -> float | None:
    text = text.strip().replace("−", "-")
    if re.fullmatch(r"\d{1,3}(?:[ ,]\d{3})+", text):
        return float(re.sub(r"[ ,]", "", text))
    try:
        return float(text)
    except ValueError:
        return None


def measure_name(text: str) -> str:
    """'hazard ratios' -> 'HR', 'ORs' -> 'OR', 'mean difference' -> 'MD'.

    Args:
        text: a measure as the article names it.
    """
    low = text.lower().rstrip("s") if len(text) > 3 else text.upper().rstrip("S")
    for name, short in MEASURES.items():
        if re.fullmatch(name, low):
            return short
    return low.upper()


def _measure(text: str) -> str | None:
    found = MEASURE.search(text)
    return measure_name(found.group("m")) if found else None


@dataclass
class _Cell:
    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def numeric(self) -> bool:
        return bool(_NUMERIC.match(self.text))


@dataclass
class _Row:
    start: int
    text: str
    cells: list[_Cell]


def _rows(text: str, separator: re.Pattern[str]) -> list[_Row]:
    rows, offset = [], 0
    for line in text.split("\n"):
        cells, at = [], 0
        for gap in separator.finditer(line):
            cells.append(_Cell(offset + at, line[at : gap.start()]))
            at = gap.end()
        cells.append(_Cell(offset + at, line[at:]))
        rows.append(_Row(offset, line, cells))
        offset += len(line) + 1
    return rows


class _Table:
    def __init__(
        self, name: str, text: str, separator: re.Pattern[str], source: str, offset: int
    ) -> None:
        self.name = name
        self.source = source
        self.offset = offset
        self.rows = _rows(text, separator)
        self.header: list[_Row] = []
        self.section = ""
        self.stub = ""
        self.col_n: dict[int, int] = {}
        self.col_group: dict[int, str] = {}
        self.out: list[Suggestion] = []

    def heading(self, col: int, width: int = 0) -> str:
        """The lowest header cell above column ``col`` that says something. A header row
        shorter than the data row (``width`` cells) is aligned to its right: a PDF's text
        drops the empty header cell above the row labels."""
        for row in reversed(self.header):
            at = col - max(0, width - len(row.cells))
            if 0 <= at < len(row.cells) and row.cells[at].text.strip():
                return row.cells[at].text.strip()
        return ""

    def add(self, field, value, row, start, end, method, confidence, why, arm="", outcome=""):
        at = self.offset
        evidence = Evidence(self.source, row.text, at + row.start, at + start, at + end)
        self.out.append(
            Suggestion(field, value, evidence, method, confidence, why, arm=arm, outcome=outcome)
        )

    def read(self) -> list[Suggestion]:
        in_header = True
        for row in self.rows:
            cells = row.cells
            filled = [c for c in cells if c.text.strip()]
            numbers = [c for c in cells[1:] if c.numeric]
            if not filled:
                continue
            if not numbers:
                if len(filled) == 1 and (not in_header or self.header):
                    self.section = filled[0].text.strip()
                    continue
                if not in_header:
                    self.header, self.col_n, self.col_group = [], {}, {}
                    in_header = True
                self.header.append(row)
                self._header_sizes(row)
                continue
            in_header = False
            self._data(row)
        return self.out

    def _header_sizes(self, row: _Row) -> None:
        for col, cell in enumerate(row.cells):
            text = cell.text.strip()
            inline = _N_IN_HEADER.match(text)
            alone = _N_CELL.match(text)
            if not inline and not alone:
                continue
            n = int(_number((inline or alone).group("n")) or 0)
            group = inline.group("group").strip() if inline else self.heading_above(row, col)
            self.col_n[col] = n
            self.col_group[col] = group
            total = re.match(r"(?i)(?:total|all|overall)\b", group or "")
            field = "sample_size" if total else "arm_size"
            value = n if total else {"n": n, "group": group}
            self.add(
                field,
                value,
                row,
                cell.start,
                cell.end,
                f"table:{field.replace('_', '-')}",
                0.8,
                f"n = {n} in the header of column {group!r}",
                arm="" if total else group,
            )

    def heading_above(self, row: _Row, col: int) -> str:
        for above in reversed(self.header[:-1] if self.header[-1] is row else self.header):
            if col < len(above.cells) and above.cells[col].text.strip():
                return above.cells[col].text.strip()
        return ""

    def _label(self, row: _Row) -> str:
        """The row's name: its leading cells with words; under a row header that spans rows
        (its first cell empty here) the header above is named first ("Oral health status /
        Very good")."""
        words = []
        for cell in row.cells:
            if cell.numeric:
                break
            if cell.text.strip():
                words.append(cell.text.strip())
        first = row.cells[0].text.strip()
        if first:
            self.stub = first
        elif words and self.stub:
            return " / ".join([self.stub, *words])
        return " / ".join(words)

    def _data(self, row: _Row) -> None:
        label = self._label(row)
        outcome = " / ".join(x for x in (self.section, label) if x)
        cells = row.cells
        row_n = None
        n_col = None
        for col, cell in enumerate(cells):
            if _N_HEADER.match(self.heading(col, len(cells))) and re.fullmatch(
                _INT, cell.text.strip()
            ):
                row_n, n_col = int(_number(cell.text) or 0), col
                break
        used: set[int] = set()
        for col, cell in enumerate(cells):
            text = cell.text.strip()
            head = self.heading(col, len(cells))
            if col == 0 or not text:
                continue
            if _SD_HEADER.match(head) and col - 1 not in used and col - 1 != n_col:
                mean, sd = _number(cells[col - 1].text), _number(text)
                if mean is not None and sd is not None:
                    value = {"mean": mean, "sd": sd}
                    if row_n is not None:
                        value["n"] = row_n
                    arm = self.heading(col - 1, len(cells))
                    self.add(
                        "statistic",
                        value,
                        row,
                        cells[col - 1].start,
                        cell.end,
                        "table:mean-sd-columns",
                        0.8,
                        f"mean in column {arm!r}, SD in column {head!r}",
                        arm=label or arm,
                        outcome=outcome if label else arm,
                    )
                    used |= {col - 1, col}
                    continue
            self._cell(row, col, cell, head, label, outcome, row_n, n_col, used)
        if (
            row_n is not None
            and n_col is not None
            and not any(
                s.evidence.sentence_start == self.offset + row.start and s.field == "statistic"
                for s in self.out
            )
        ):
            group = " ".join(x for x in (label, self.col_group.get(n_col, "")) if x)
            self.add(
                "arm_size",
                {"n": row_n, "group": group},
                row,
                cells[n_col].start,
                cells[n_col].end,
                "table:arm-size",
                0.7,
                f"column {self.heading(n_col)!r} of row {label!r}",
                arm=group,
            )

    def _cell(self, row, col, cell, head, label, outcome, row_n, n_col, used) -> None:
        text = cell.text.strip()
        cells = row.cells
        context = f"{head} {label} {self.section}"
        found = _EFFECT_CELL.match(text)
        if found:
            measure = _measure(head) or _measure(self.name)
            est, lo, hi = (_number(found.group(k)) for k in ("est", "lo", "hi"))
            if measure and None not in (est, lo, hi) and lo <= est <= hi and lo < hi:
                self.add(
                    "effect",
                    {"measure": measure, "estimate": est, "lower": lo, "upper": hi},
                    row,
                    cell.start,
                    cell.end,
                    "table:effect-ci",
                    0.85,
                    f"{measure} from {'the column header' if _measure(head) else 'the caption'}",
                    outcome=outcome,
                )
            return
        if (
            col + 1 < len(cells)
            and _CI_HEADER.search(self.heading(col + 1, len(cells)))
            and _CI_CELL.match(cells[col + 1].text.strip())
            and re.fullmatch(_NUM, text)
        ):
            ci = _CI_CELL.match(cells[col + 1].text.strip())
            measure = (
                _measure(head) or _measure(self.heading(col + 1, len(cells))) or _measure(self.name)
            )
            est, lo, hi = _number(text), _number(ci.group("lo")), _number(ci.group("hi"))
            if measure and None not in (est, lo, hi) and lo <= est <= hi and lo < hi:
                self.add(
                    "effect",
                    {"measure": measure, "estimate": est, "lower": lo, "upper": hi},
                    row,
                    cell.start,
                    cells[col + 1].end,
                    "table:effect-ci-columns",
                    0.8,
                    f"{measure} in column {head!r}, its CI in the next column",
                    outcome=outcome,
                )
            return
        found = _MEAN_PAREN.match(text)
        if found and _MEAN_SD_LABEL.search(context):
            value = {"mean": _number(found.group("mean")), "sd": _number(found.group("sd"))}
            if col in self.col_n:
                value["n"] = self.col_n[col]
            arm = self.col_group.get(col, head)
            self.add(
                "statistic",
                value,
                row,
                cell.start,
                cell.end,
                "table:mean-sd",
                0.8,
                "a mean (SD) cell",
                arm=arm,
                outcome=outcome,
            )
            return
        found = _PLUS_MINUS.match(text)
        if found:
            kind = "se" if re.search(r"\bSEM?\b|standard error", f"{context} {self.name}") else "sd"
            value = {"mean": _number(found.group("mean")), kind: _number(found.group("sd"))}
            if row_n is not None:
                value["n"] = row_n
            self.add(
                "statistic",
                value,
                row,
                cell.start,
                cell.end,
                "table:mean-sd",
                0.75,
                f"a mean ± {kind.upper()} cell",
                arm=label,
                outcome=head,
            )
            return
        if _P_HEADER.match(head) and _P_CELL.match(text):
            found = _P_CELL.match(text)
            self.add(
                "p_value",
                {"op": found.group("op") or "=", "value": float(found.group("v"))},
                row,
                cell.start,
                cell.end,
                "table:p-value",
                0.8,
                f"column {head!r}",
                outcome=outcome,
            )
            return
        if _EVENTS_HEADER.match(head) and row_n is not None and re.fullmatch(r"\d+", text):
            self.add(
                "statistic",
                {"events": int(text), "n": row_n},
                row,
                cells[n_col].start,
                cell.end,
                "table:events",
                0.75,
                f"column {head!r} of {row_n}",
                arm=label,
                outcome=outcome,
            )


def table_suggestions(
    name: str,
    text: str,
    *,
    separator: re.Pattern[str] | None = None,
    source: str | None = None,
    offset: int = 0,
) -> list[Suggestion]:
    """Every suggestion read from the table ``name`` whose rows are the lines of ``text``.

    Args:
        name: the table's label and caption (they may name the measure).
        text: its rows, cells joined by ``" | "`` (or apart by ``separator``).
        separator: what separates cells (default ``" | "``; :data:`WIDE` for a PDF's text).
        source: the part the table is in, when it is not a part of its own (a PDF page).
        offset: where ``text`` starts in that part, so that spans are the part's.
    """
    sep = separator or re.compile(re.escape(SEPARATOR))
    return _Table(name, text, sep, source or name, offset).read()


def table_blocks(text: str) -> list[tuple[int, int, str]]:
    """Tables laid out in a page's text: ``[(start, end, caption)]`` of each run of two or more
    lines whose cells stand apart (:data:`WIDE`), with the nearest line above that starts with
    "Table" as its caption.

    Args:
        text: a PDF page's text.
    """
    blocks: list[tuple[int, int, str]] = []
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append((offset, line))
        offset += len(line) + 1
    run: list[tuple[int, str]] = []
    caption = ""
    for start, line in [*lines, (offset, "")]:
        if WIDE.search(line.strip()):
            run.append((start, line))
            continue
        if len(run) >= 2:
            blocks.append((run[0][0], run[-1][0] + len(run[-1][1]), caption))
        run = []
        if re.match(r"(?i)\s*table\b", line):
            caption = line.strip()
    return blocks
