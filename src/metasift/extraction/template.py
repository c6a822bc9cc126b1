"""The extraction template as CSV or XLSX (openpyxl), written and read back.

Both formats hold the same table (see :mod:`metasift.extraction.validation` for the row
kinds). The XLSX file adds a ``guide`` sheet describing every column, drop-down lists for
choice fields (kept on a hidden ``lists`` sheet, since Excel limits inline lists to 255
characters), and a frozen header row.

Cells are written by the rule of :mod:`metasift.records.cells`: formula-like text (a citation
beginning with ``=``) stays text in a spreadsheet, and reading the template back gives the
values as they were.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from metasift.errors import ImportFileError, TemplateError
from metasift.extraction.forms import STATISTICS, Form
from metasift.extraction.validation import KEY_COLUMNS, MULTI_SEPARATOR, columns, format_value
from metasift.records.cells import SafeDictWriter, append_xlsx_row, restore_cell, set_xlsx_cell
from metasift.records.formats.archive import LimitedArchive

SHEET = "extraction"
Key = tuple[int, str, str, str, str]


def template_rows(
    form: Form,
    studies: Sequence[tuple[int, str]],
    values: Mapping[Key, object] | None = None,
) -> list[dict[str, str]]:
    """Rows of the template: per study its study row, then its arm and result rows if any."""
    values = values or {}
    by_study: dict[int, dict[tuple[str, str, str], dict[str, str]]] = {}
    for (study_id, field, arm, outcome, timepoint), value in values.items():
        row = by_study.setdefault(study_id, {}).setdefault((arm, outcome, timepoint), {})
        row[field] = format_value(value)
    out = []
    for study_id, citation in studies:
        groups = by_study.get(study_id, {})
        keys = sorted(groups, key=lambda k: (k != ("", "", ""), k))
        if ("", "", "") not in groups:
            keys.insert(0, ("", "", ""))
        for arm, outcome, timepoint in keys:
            row = {c: "" for c in columns(form)}
            row.update(study_id=str(study_id), citation=citation if not arm else "")
            row.update(arm=arm, outcome=outcome, timepoint=timepoint)
            row.update(groups.get((arm, outcome, timepoint), {}))
            out.append(row)
    return out


def write_template(
    path: Path,
    form: Form,
    studies: Sequence[tuple[int, str]],
    values: Mapping[Key, object] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """Write the template (format from the suffix: .csv or .xlsx); returns the rows written."""
    rows = template_rows(form, studies, values)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = SafeDictWriter(fh, columns(form), numeric=numeric_columns(form))
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".xlsx":
        _write_xlsx(path, form, rows, choices or {})
    else:
        raise TemplateError(f"{path}: the template is written as .csv or .xlsx, not {suffix!r}")
    return len(rows)


def numeric_columns(form: Form) -> set[str]:
    """The template's columns that hold numbers (their cells are not quoted as text)."""
    typed = {f.name for f in form.fields + form.arm_fields if f.type in ("number", "integer")}
    return {"study_id", *STATISTICS, *typed}


def _write_xlsx(
    path: Path, form: Form, rows: list[dict[str, str]], choices: Mapping[str, Sequence[str]]
) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    names = columns(form)
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    append_xlsx_row(sheet, names)
    for row in rows:
        append_xlsx_row(sheet, [row[c] for c in names])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE5F0")
    sheet.freeze_panes = "F2"
    for i, name in enumerate(names, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = 40 if name == "citation" else 16
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    list_col = 0
    last_row = max(len(rows) + 200, 500)
    for spec in form.fields + form.arm_fields:
        if spec.type != "choice":
            continue
        allowed = list(choices.get(spec.name) or spec.choices)
        list_col += 1
        letter = get_column_letter(list_col)
        for r, value in enumerate(allowed, start=1):
            set_xlsx_cell(lists[f"{letter}{r}"], value)
        target = get_column_letter(names.index(spec.name) + 1)
        validation = DataValidation(
            type="list",
            formula1=f"=lists!${letter}$1:${letter}${len(allowed)}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=spec.title,
            error=f"Pick one of the listed values for {spec.title}.",
        )
        validation.add(f"{target}2:{target}{last_row}")
        sheet.add_data_validation(validation)
    guide = book.create_sheet("guide")
    append_xlsx_row(guide, ["column", "row kind", "type", "allowed values / notes"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    append_xlsx_row(guide, ["study_id", "all", "integer", "the study's id; do not change"])
    append_xlsx_row(guide, ["citation", "study", "text", "for orientation; ignored on import"])
    append_xlsx_row(guide, ["arm", "arm, result", "text", "name of the group (e.g. ADSC, vehicle)"])
    outcome_names = ", ".join(o.name for o in form.outcomes) or "(none defined)"
    append_xlsx_row(guide, ["outcome", "result", "text", outcome_names])
    append_xlsx_row(
        guide,
        [
            "timepoint",
            "result",
            "text",
            "; ".join(f"{o.name}: {', '.join(o.timepoints)}" for o in form.outcomes if o.timepoints)
            or "(none)",
        ],
    )
    for spec in form.fields + form.arm_fields:
        kind = "study" if spec in form.fields else "arm"
        allowed = list(choices.get(spec.name) or spec.choices)
        note = ", ".join(allowed) if allowed else spec.help
        if spec.type == "multi_choice":
            note = f"several, separated by '{MULTI_SEPARATOR}': {note}"
        if spec.type == "date":
            note = "YYYY-MM-DD"
        append_xlsx_row(guide, [spec.name, kind, spec.type, note])
    append_xlsx_row(guide, ["n", "arm, result", "integer", "participants or animals"])
    append_xlsx_row(guide, ["mean, sd", "result", "number", "continuous outcomes"])
    append_xlsx_row(guide, ["median, q1, q3", "result", "number", "continuous outcomes (IQR)"])
    append_xlsx_row(guide, ["events", "result", "integer", "dichotomous outcomes"])
    guide.column_dimensions["A"].width = 20
    guide.column_dimensions["D"].width = 90
    for row in guide.iter_rows(min_row=2):
        row[3].alignment = Alignment(wrap_text=True)
    book.save(path)


def read_template(path: Path) -> tuple[str, list[str], list[tuple[int, dict[str, str]]]]:
    """(sheet name, header, [(row number, {column: text})]) of a filled-in template."""
    if not path.exists():
        raise TemplateError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                header = [h.strip() for h in next(reader, [])]
                # restore_cell takes off the quote write_template put before formula-like text
                rows = [
                    (i, {h: restore_cell(c) for h, c in zip(header, cells, strict=False)})
                    for i, cells in enumerate(reader, start=2)
                ]
        except UnicodeDecodeError as exc:
            raise TemplateError(f"{path}: not UTF-8 text ({exc}); save the CSV as UTF-8") from exc
        return path.name, header, rows
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        _check_xlsx_size(path)
        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise TemplateError(f"{path}: not a readable XLSX workbook ({exc})") from exc
        if SHEET not in book.sheetnames:
            raise TemplateError(f"{path}: no sheet named {SHEET!r} (sheets: {book.sheetnames})")
        sheet = book[SHEET]
        it = sheet.iter_rows(values_only=True)
        header = [_cell_text(h).strip() for h in next(it, ())]
        rows = [
            (i, {h: _cell_text(v) for h, v in zip(header, cells, strict=False) if h})
            for i, cells in enumerate(it, start=2)
        ]
        book.close()
        return SHEET, header, rows
    raise TemplateError(f"{path}: templates are .csv or .xlsx files, not {suffix!r}")


def _check_xlsx_size(path: Path) -> None:
    """Refuse an XLSX (a zip archive) that would unpack past the archive limits, before
    openpyxl reads it whole (its shared strings are held in memory)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            LimitedArchive(zf, path, zf.namelist())
    except zipfile.BadZipFile as exc:
        raise TemplateError(f"{path}: not a readable XLSX workbook ({exc})") from exc
    except ImportFileError as exc:
        raise TemplateError(str(exc)) from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


__all__ = ["KEY_COLUMNS", "TemplateError", "read_template", "template_rows", "write_template"]
