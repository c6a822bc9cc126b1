"""Spreadsheet cells that stay data: the one rule every CSV and XLSX writer of metasift follows.

A record's title, an author, a file name or a reviewer's note is untrusted text, and a
spreadsheet opening a CSV (or an XLSX formula cell) runs a cell that begins like a formula:
``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``, ``+1+1``, ``@SUM(...)``. OWASP's rule for CSV
injection (owasp.org/www-community/attacks/CSV_Injection, current text) is followed here:

- no cell begins with ``=``, ``+``, ``-``, ``@``, tab (0x09), carriage return (0x0D) or line
  feed (0x0A): such a cell is prefixed with a single quote, which spreadsheets read as "text";
  so is one where spaces come before ``=``, ``+``, ``-`` or ``@`` (some spreadsheets trim them
  on import), and one that already begins with quotes before such a start, so that
  :func:`restore_cell` can take exactly one quote off and give back what was written;
- the field separator must not start a new cell: every text cell is written in double quotes
  (``csv.QUOTE_NONNUMERIC``), quotes inside doubled, so ``a,=1+2`` stays one cell, and so does
  ``a;=1+2`` at the start of a line read by a spreadsheet that splits on ';' (Excel in many
  locales). Further along a line such a reader takes quotes differently, and no rule about how
  a cell begins can cover a separator the file does not use; that choice is the reader's.

Numbers stay numbers: an ``int`` or ``float`` is written bare, and in a column the caller marks
numeric (a mean, an SD, a count) a string that is a plain decimal number, e.g. ``-0.5``, is
written as it is, because a spreadsheet reads it as that number and a number cannot call a
function. The same string in a text column (a title "-0.5") is prefixed like any other, so it
stays the text it is.

In XLSX (openpyxl) a string is stored as a string cell (data type ``s``), never a formula, with
Excel's own "quote prefix" flag on formula-like text instead of an added character, so the
value reads back unchanged; characters XML cannot hold (C0 controls but tab and line breaks)
are dropped, since openpyxl refuses them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

QUOTE = "'"
# OWASP's characters at the start of a cell, or =+-@ after leading whitespace; leading quotes
# are part of the pattern so that adding one is always undone by removing one.
_FORMULA = re.compile(r"'*(?:[=+\-@\t\r\n]|\s+[=+\-@])")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` (or it with quotes taken off) as a formula."""
    return _FORMULA.match(text) is not None


def safe_cell(value: Any, *, numeric: bool = False) -> Any:
    """``value`` as a CSV cell a spreadsheet shows as written, never runs.

    Args:
        value: the cell's value; ``None`` is an empty cell, ``int``/``float`` stay numbers,
            anything else is written as its text.
        numeric: the column holds numbers, so a plain decimal number in text (``"-0.5"``)
            is left as it is rather than quoted as text.

    Returns:
        The number, or the text with a leading ``'`` when it would begin like a formula.
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    if numeric and _NUMBER.fullmatch(text):
        return text
    return QUOTE + text if formula_like(text) else text


def restore_cell(text: str) -> str:
    """The value :func:`safe_cell` was given, from the text of the cell it wrote.

    Only the quote :func:`safe_cell` adds is removed: ``'=x`` gives ``=x`` but ``'abc`` stays
    ``'abc``. For reading metasift's own CSV files back (a filled-in template, a records export).
    """
    if text.startswith(QUOTE) and formula_like(text[1:]):
        return text[1:]
    return text


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`safe_cell`, text cells quoted.

    Args:
        stream: the open text stream (``newline=""`` for files).
        numeric: indexes of the columns that hold numbers.
        **options: passed to :func:`csv.writer` (e.g. ``lineterminator``).
    """

    def __init__(self, stream: TextIO, numeric: Iterable[int] = (), **options: Any) -> None:
        self._writer = csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC, **options)
        self._numeric = frozenset(numeric)

    def writerow(self, row: Sequence[Any]) -> None:
        """Write one row of cells."""
        self._writer.writerow([safe_cell(v, numeric=i in self._numeric) for i, v in enumerate(row)])

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Write every row of ``rows``."""
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """``csv.DictWriter`` counterpart of :class:`SafeWriter` (missing keys are empty cells).

    Args:
        stream: the open text stream.
        fieldnames: the columns, in order.
        numeric: names of the columns that hold numbers.
        **options: passed to :func:`csv.writer`.
    """

    def __init__(
        self,
        stream: TextIO,
        fieldnames: Sequence[str],
        numeric: Iterable[str] = (),
        **options: Any,
    ) -> None:
        self.fieldnames = list(fieldnames)
        wanted = set(numeric)
        self._writer = SafeWriter(
            stream, (i for i, n in enumerate(self.fieldnames) if n in wanted), **options
        )

    def writeheader(self) -> None:
        """Write the header row."""
        self._writer.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, Any]) -> None:
        """Write one row given as a mapping from column name to value."""
        self._writer.writerow([row.get(name) for name in self.fieldnames])

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Write every row of ``rows``."""
        for row in rows:
            self.writerow(row)


def set_xlsx_cell(cell: Any, value: Any) -> None:
    """Store ``value`` in an openpyxl cell as data: numbers as numbers, text as a string cell.

    Args:
        cell: an openpyxl ``Cell`` (openpyxl is imported by the caller, not here).
        value: ``None``, a number, or anything else, stored as its text.
    """
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        cell.value = value
        return
    text = _XML_ILLEGAL.sub("", str(value))
    cell.value = text
    cell.data_type = "s"  # openpyxl makes any text starting with '=' a formula otherwise
    if formula_like(text):
        cell.quotePrefix = True


def append_xlsx_row(sheet: Any, values: Sequence[Any]) -> None:
    """Append ``values`` as the next row of an openpyxl worksheet, each via :func:`set_xlsx_cell`.

    Args:
        sheet: an openpyxl ``Worksheet``.
        values: the row's values, from the first column on.
    """
    sheet.append([None] * len(values))  # empty cells: the row is placed as append places it
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        set_xlsx_cell(sheet.cell(row=row, column=column), value)


__all__ = [
    "SafeDictWriter",
    "SafeWriter",
    "append_xlsx_row",
    "formula_like",
    "restore_cell",
    "safe_cell",
    "set_xlsx_cell",
]
