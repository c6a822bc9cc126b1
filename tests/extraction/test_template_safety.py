"""The extraction template opens as data in a spreadsheet and reads back unchanged."""

import csv

import pytest

from metasift.extraction.template import read_template, write_template
from metasift.extraction.validation import validate_rows
from tests.extraction.test_forms import form

CITATION = '=HYPERLINK("http://evil.example","Lee 2021") \x1b]0;pwned\x07'
VALUES = {
    (1, "notes", "", "", ""): "@SUM(A1:A2)",
    (1, "treatment", "+cmd|' /C calc'!A0", "", ""): "-2+3",
    (1, "mean", "+cmd|' /C calc'!A0", "ear_thickness", "d7"): -0.5,
    (1, "n", "+cmd|' /C calc'!A0", "ear_thickness", "d7"): 12,
}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_template_cells_are_data_and_round_trip(tmp_path, suffix):
    path = tmp_path / f"template{suffix}"
    write_template(path, form(), [(1, CITATION), (2, "-Kim 2019")], VALUES)
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        header = rows[0]
        texts = [c for row in rows for i, c in enumerate(row) if header[i] != "mean"]
        assert not [c for c in texts if c[:1] in ("=", "+", "-", "@", "\t", "\r", "\n")]
        # a real number in a numeric column stays a number
        assert "-0.5" in [row[header.index("mean")] for row in rows]
    else:
        from openpyxl import load_workbook

        book = load_workbook(path)
        cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        citation = book["extraction"]["B2"]
        assert citation.data_type == "s" and citation.quotePrefix
    sheet, header, read = read_template(path)
    by_study = {row["study_id"]: row for _, row in read if not row["arm"]}
    # the ESC and BEL cannot be stored in XLSX (XML); everything else comes back as written
    expected = CITATION if suffix == ".csv" else CITATION.replace("\x1b", "").replace("\x07", "")
    assert by_study["1"]["citation"] == expected
    assert by_study["2"]["citation"] == "-Kim 2019"
    values, errors = validate_rows(form(), read, header, sheet=sheet, study_ids={1, 2})
    assert errors == []
    assert {v.key: v.value for v in values} == VALUES


def test_xlsx_zip_bomb_is_refused(tmp_path):
    import zipfile

    from metasift.errors import TemplateError

    path = tmp_path / "bomb.xlsx"
    write_template(path, form(), [(1, "Lee 2021")])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings2.xml", b" " * (64 * 2**20))
    assert path.stat().st_size < 2**20
    with pytest.raises(TemplateError, match="refused as a possible zip bomb"):
        read_template(path)
