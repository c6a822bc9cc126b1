"""The Summary of Findings rendered: HTML (Jinja2, the report's own template), Markdown, and a
Word table (python-docx) that review authors paste into a manuscript.

The cells come from :class:`metasift.synthesis.sof.SummaryOfFindings`; nothing is computed here.
The .docx follows GRADEpro's export: a landscape page, the title, one table with a two-row
header ("Anticipated absolute effects* (95% CI)" over its two columns), then the footnotes and
the GRADE legend.
"""

from __future__ import annotations

from pathlib import Path

from metasift.report.render import environment
from metasift.synthesis.sof import SummaryOfFindings

ABSOLUTE = "Anticipated absolute effects* (95% CI)"


def sof_html(sof: SummaryOfFindings) -> str:
    """The table as an HTML fragment (the report's section, or a page of its own).

    :param sof: the Summary of Findings.
    """
    return environment().get_template("sof.html.j2").render(sof=sof)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def sof_markdown(sof: SummaryOfFindings) -> str:
    """The table in Markdown: one header row (the absolute-effect columns say so), the rows,
    then the footnotes and notes.

    :param sof: the Summary of Findings.
    """
    headers = list(sof.headers)
    headers[4] = f"{headers[4]}* (95% CI)"
    headers[5] = f"{headers[5]}* (95% CI)"
    lines = [f"**Summary of findings: {sof.title}**", ""]
    lines.append("| " + " | ".join(_cell(h) for h in headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for row in sof.rows:
        cells = row.cells()
        if row.footnotes:
            cells[2] = row.certainty + " " + "".join(f"<sup>{m}</sup>" for m in row.footnotes)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines.append("")
    lines += [f"<sup>{mark}</sup> {text}  " for mark, text in sof.footnotes]
    lines += [f"{note}  " for note in sof.notes]
    return "\n".join(lines).rstrip() + "\n"


def write_docx(sof: SummaryOfFindings, path: Path) -> Path:
    """Write the table as a Word document.

    :param sof: the Summary of Findings.
    :param path: the .docx file to write.
    """
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    document.add_heading(f"Summary of findings: {sof.title}", level=2)
    table = document.add_table(rows=2, cols=len(sof.headers))
    table.style = "Table Grid"
    top, sub = table.rows[0].cells, table.rows[1].cells
    for i, header in enumerate(sof.headers):
        if i in (4, 5):
            sub[i].text = header
        else:
            top[i].text = header
            top[i].merge(sub[i])
    merged = top[4].merge(top[5])
    merged.text = ABSOLUTE
    for row in sof.rows:
        cells = table.add_row().cells
        for i, text in enumerate(row.cells()):
            cells[i].text = text
    for row in table.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(9)
    for row in table.rows[:2]:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.bold = True
    for mark, text in sof.footnotes:
        paragraph = document.add_paragraph()
        run = paragraph.add_run(mark)
        run.font.superscript = True
        paragraph.add_run(f" {text}")
    for note in sof.notes:
        document.add_paragraph(note)
    document.save(str(path))
    return path


__all__ = ["sof_html", "sof_markdown", "write_docx"]
