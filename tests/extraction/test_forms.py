"""The protocol's extraction form, cell validation and the CSV/XLSX template round trip."""

import csv

import pytest

from metasift.errors import ProtocolError
from metasift.extraction.forms import extraction_settings
from metasift.extraction.template import read_template, write_template
from metasift.extraction.validation import CellError, columns, validate_rows

SECTION = {
    "reviewers": 2,
    "fields": [
        {"name": "design", "type": "choice", "choices": ["RCT", "animal in vivo"]},
        {"name": "disease", "type": "multi_choice", "choices": ["psoriasis", "atopic dermatitis"]},
        {"name": "animals", "type": "integer", "min": 0},
        {"name": "dose", "type": "number", "max": 1e8},
        {"name": "published", "type": "date"},
        {"name": "notes", "type": "text"},
    ],
    "arm_fields": [{"name": "treatment", "type": "text"}],
    "outcomes": [
        {"name": "ear_thickness", "kind": "continuous", "unit": "mm", "timepoints": ["d7", "d14"]},
        {"name": "remission", "kind": "dichotomous"},
    ],
}


def form():
    return extraction_settings(SECTION).form


def test_errors_name_the_key_path():
    bad = {**SECTION, "fields": [{"name": "design", "type": "choice"}, {"name": "X"}]}
    with pytest.raises(ProtocolError) as info:
        extraction_settings(bad)
    message = str(info.value)
    assert "key 'extraction.fields.0': field 'design': a choice field needs choices" in message
    assert "key 'extraction.fields.1.name': 'X' is not a field name" in message
    with pytest.raises(ProtocolError, match=r"key 'extraction\.reviewers': reviewers must be 1"):
        extraction_settings({"reviewers": 3})
    with pytest.raises(ProtocolError, match=r"key 'extraction\.outcome' is not a known setting"):
        extraction_settings({"outcome": []})
    with pytest.raises(ProtocolError, match=r"arm_fields: \['n'\] are statistics"):
        extraction_settings({"arm_fields": [{"name": "n", "type": "integer"}]})


def test_default_form_is_generic():
    settings = extraction_settings({})
    names = [f.name for f in settings.form.fields]
    assert names == [
        "design",
        "population",
        "intervention",
        "comparator",
        "country",
        "follow_up",
        "sample_size",
        "funding",
    ]
    assert not any(f.vocabulary for f in settings.form.fields)
    assert settings.vocabulary_files == [] and settings.vocabularies == {}
    assert settings.map_fields == ("population", "intervention", "design")


def test_generic_outcomes_take_effect_and_se_without_an_arm():
    form = extraction_settings({"outcomes": [{"name": "death", "kind": "generic"}]}).form
    assert form.outcome("death").statistics == ("n", "effect", "se")
    header = columns(form)
    rows = [(2, {"study_id": "1", "outcome": "death", "effect": "-0.22", "se": "0.1"})]
    values, errors = validate_rows(form, rows, header, sheet="s")
    assert errors == []
    assert {(v.field, v.value, v.arm) for v in values} == {("effect", -0.22, ""), ("se", 0.1, "")}
    bad = [(2, {"study_id": "1", "outcome": "death", "effect": "x", "se": "-1"})]
    _, errors = validate_rows(form, bad, header, sheet="s")
    assert [e.column for e in errors] == ["effect", "se"]


HEADER = [
    "study_id",
    "citation",
    "arm",
    "outcome",
    "timepoint",
    "design",
    "disease",
    "animals",
    "dose",
    "published",
    "notes",
    "treatment",
    "n",
    "mean",
    "sd",
    "median",
    "q1",
    "q3",
    "events",
    "effect",
    "se",
]


def row(**cells):
    return {h: cells.get(h, "") for h in HEADER}


def test_validation_reports_every_bad_cell():
    rows = [
        (
            2,
            row(
                study_id="1",
                design="rct",
                disease="psoriasis; Atopic dermatitis",
                animals="12",
                published="2021-02-30",
                dose="1e6",
            ),
        ),
        (3, row(study_id="1", arm="ADSC", treatment="ADSC IV", n="8")),
        (
            4,
            row(
                study_id="1",
                arm="ADSC",
                outcome="ear_thickness",
                timepoint="d7",
                n="8",
                mean="0.31",
                sd="-0.1",
            ),
        ),
        (5, row(study_id="1", arm="ADSC", outcome="ear_thickness", timepoint="d30", mean="1")),
        (6, row(study_id="1", arm="ADSC", outcome="remission", n="8", events="9")),
        (7, row(study_id="x", design="RCT")),
        (8, row(study_id="2", design="cohort", animals="3.5", disease="acne")),
        (9, row(study_id="1", outcome="remission", events="1")),
    ]
    values, errors = validate_rows(form(), rows, HEADER, sheet="extraction", study_ids={1, 2})
    assert errors == [
        CellError("extraction", 2, "published", "2021-02-30", "a date that exists, as YYYY-MM-DD"),
        CellError("extraction", 4, "sd", "-0.1", "a value >= 0"),
        CellError("extraction", 5, "timepoint", "d30", "one of: d7, d14"),
        CellError("extraction", 6, "events", "9", "at most n (8)"),
        CellError(
            "extraction", 7, "study_id", "x", "the study's id (a whole number from the template)"
        ),
        CellError("extraction", 8, "design", "cohort", "one of: RCT, animal in vivo"),
        CellError(
            "extraction",
            8,
            "disease",
            "acne",
            "values from: psoriasis, atopic dermatitis (separated by ';'); unknown: acne",
        ),
        CellError("extraction", 8, "animals", "3.5", "a whole number, e.g. 12"),
        CellError("extraction", 9, "arm", "", "the arm this result belongs to"),
    ]
    assert errors[0].describe() == (
        "sheet 'extraction', row 2, column 'published': '2021-02-30'; "
        "expected a date that exists, as YYYY-MM-DD"
    )
    got = {(v.row, v.field, v.arm, v.outcome, v.timepoint): v.value for v in values}
    assert got[(2, "design", "", "", "")] == "RCT"
    assert got[(2, "disease", "", "", "")] == ["psoriasis", "atopic dermatitis"]
    assert got[(2, "animals", "", "", "")] == 12
    assert got[(2, "dose", "", "", "")] == 1e6
    assert got[(3, "n", "ADSC", "", "")] == 8
    assert got[(3, "treatment", "ADSC", "", "")] == "ADSC IV"
    assert got[(4, "mean", "ADSC", "ear_thickness", "d7")] == 0.31


def test_unknown_column_and_study_are_errors():
    header = [*HEADER, "colour"]
    rows = [(2, {**row(study_id="9", design="RCT"), "colour": "red"})]
    _, errors = validate_rows(form(), rows, header, sheet="s", study_ids={1})
    assert [(e.row, e.column) for e in errors] == [(1, "colour"), (2, "study_id")]


VALUES = {
    (1, "design", "", "", ""): "animal in vivo",
    (1, "disease", "", "", ""): ["psoriasis"],
    (1, "animals", "", "", ""): 24,
    (1, "published", "", "", ""): "2021-03",
    (1, "notes", "", "", ""): "IMQ model; 2 doses",
    (1, "n", "ADSC", "", ""): 12,
    (1, "treatment", "ADSC", "", ""): "2.5 x 10^6 IV",
    (1, "n", "ADSC", "ear_thickness", "d7"): 12,
    (1, "mean", "ADSC", "ear_thickness", "d7"): 0.31,
    (1, "sd", "ADSC", "ear_thickness", "d7"): 0.05,
    (1, "median", "vehicle", "ear_thickness", "d14"): 0.5,
    (1, "q1", "vehicle", "ear_thickness", "d14"): 0.4,
    (1, "q3", "vehicle", "ear_thickness", "d14"): 0.62,
    (1, "events", "ADSC", "remission", ""): 3,
    (1, "n", "ADSC", "remission", ""): 12,
}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_template_round_trip(tmp_path, suffix):
    path = tmp_path / f"template{suffix}"
    studies = [(1, "Lee 2021: ADSCs in psoriasis"), (2, "Kim 2019: exosomes")]
    rows = write_template(path, form(), studies, VALUES)
    assert rows == 6  # study 1: study, 1 arm, 3 result rows; study 2: study row
    sheet, header, read = read_template(path)
    assert header == HEADER
    values, errors = validate_rows(form(), read, header, sheet=sheet, study_ids={1, 2})
    assert errors == []
    assert {v.key: v.value for v in values} == VALUES
    assert sheet == ("template.csv" if suffix == ".csv" else "extraction")


def test_filled_csv_with_errors_reports_cells(tmp_path):
    path = tmp_path / "filled.csv"
    write_template(path, form(), [(1, "Lee 2021")], {})
    with path.open(encoding="utf-8") as fh:
        lines = list(csv.reader(fh))
    lines[1][HEADER.index("design")] = "trial"
    lines.append(
        ["1", "", "ADSC", "ear_thickness", "d7", *[""] * 7, "8", "abc", "", "", "", "", ""]
    )
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(lines)
    sheet, header, read = read_template(path)
    _, errors = validate_rows(form(), read, header, sheet=sheet, study_ids={1})
    assert [e.describe() for e in errors] == [
        "sheet 'filled.csv', row 2, column 'design': 'trial'; expected one of: RCT, animal in vivo",
        "sheet 'filled.csv', row 3, column 'mean': 'abc'; "
        "expected a number with a decimal point, e.g. 12.5",
    ]


def test_xlsx_has_guide_and_dropdowns(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "t.xlsx"
    write_template(path, form(), [(1, "Lee 2021")])
    book = load_workbook(path)
    assert book.sheetnames == ["extraction", "lists", "guide"]
    validations = book["extraction"].data_validations.dataValidation
    assert [v.formula1 for v in validations] == ["=lists!$A$1:$A$2"]
    assert [c.value for c in book["lists"]["A"]] == ["RCT", "animal in vivo"]
