"""Extraction in the project store, on SQLite and on a real PostgreSQL server."""

import csv
import json

import pytest

from metasift.extraction import stage
from metasift.extraction.store import CONSENSUS, get_suggestions, get_values
from metasift.protocol import parse_protocol
from metasift.records.importing import import_file
from metasift.store import create_db_engine, migrate
from tests.extraction import flagship_extraction

PROTOCOL = parse_protocol(
    """
[review]
title = "ADSCs in inflammatory skin disease"

[extraction]
reviewers = 2

[[extraction.fields]]
name = "design"
type = "choice"
choices = ["RCT", "animal in vivo", "in vitro"]

[[extraction.fields]]
name = "disease"
type = "multi_choice"
vocabulary = "diseases"

[[extraction.fields]]
name = "intervention"
type = "multi_choice"
vocabulary = "interventions"

[[extraction.fields]]
name = "sample_size"
type = "integer"

[[extraction.outcomes]]
name = "ige"
kind = "continuous"
timepoints = ["end"]
"""
)
# the fields name the flagship's vocabularies (metasift ships none): read them from its files
PROTOCOL = PROTOCOL.model_copy(
    update={
        "extraction": {
            **PROTOCOL.extraction,
            "vocabulary_files": flagship_extraction()["vocabulary_files"],
            "map_fields": ["disease", "intervention", "design"],
        }
    }
)

RECORDS = [
    {
        "title": "Adipose-derived stem cells in imiquimod-induced psoriasis in mice",
        "abstract": "Thirty BALB/c mice received ADSCs. Ear thickness fell from 0.52 ± 0.04 mm "
        "(n = 10) in the vehicle group to 0.31 ± 0.03 mm (n = 10) with ADSCs.",
        "authors": ["Lee, A."],
        "year": 2021,
    },
    {
        "title": "Exosomes from adipose-derived stem cells in atopic dermatitis: a randomised "
        "trial",
        "abstract": "Forty patients were randomly assigned to ADSC exosomes or vehicle.",
        "authors": ["Kim, B."],
        "year": 2022,
    },
]


@pytest.fixture
def engine(db_url, tmp_path):
    engine = create_db_engine(db_url)
    migrate(engine)
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n", encoding="utf-8")
    import_file(engine, path)
    yield engine
    engine.dispose()


def _fill(path, edits):
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
        header = list(rows[0])
    for row in rows:
        row.update(edits.get((row["study_id"], row["arm"], row["outcome"]), {}))
    for (study, arm, outcome), extra in edits.items():
        if not any((r["study_id"], r["arm"], r["outcome"]) == (study, arm, outcome) for r in rows):
            rows.append(
                {
                    **dict.fromkeys(header, ""),
                    "study_id": study,
                    "arm": arm,
                    "outcome": outcome,
                    **extra,
                }
            )
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def test_double_extraction_discrepancies_and_reconciliation(engine, tmp_path):
    ids = stage.all_study_ids(engine)
    first, second = ids
    a, b = tmp_path / "ann.csv", tmp_path / "bob.csv"
    assert stage.export_template(engine, PROTOCOL, a, ids) == 2
    stage.export_template(engine, PROTOCOL, b, ids)
    _fill(
        a,
        {
            (str(first), "", ""): {
                "design": "animal in vivo",
                "disease": "psoriasis",
                "sample_size": "30",
            },
            (str(second), "", ""): {"design": "RCT", "disease": "atopic dermatitis"},
            (str(first), "ADSC", "ige"): {
                "timepoint": "end",
                "n": "10",
                "mean": "0.31",
                "sd": "0.03",
            },
        },
    )
    _fill(
        b,
        {
            (str(first), "", ""): {
                "design": "animal in vivo",
                "disease": "Psoriasis",
                "sample_size": "20",
            },
            (str(second), "", ""): {"design": "RCT", "disease": "atopic dermatitis; psoriasis"},
            (str(first), "ADSC", "ige"): {
                "timepoint": "end",
                "n": "10",
                "mean": "0.31",
                "sd": "0.3",
            },
        },
    )
    assert stage.import_template(engine, PROTOCOL, a, "ann", ids).stored == 8
    assert stage.import_template(engine, PROTOCOL, b, "bob", ids).stored == 8

    stored = {(v.key, v.reviewer): v for v in get_values(engine, ids)}
    ann_design = stored[((first, "design", "", "", ""), "ann")]
    assert ann_design.value == "animal in vivo"
    assert ann_design.source == "import"
    assert ann_design.source_detail == {"file": "ann.csv", "sheet": "ann.csv", "row": 2}
    assert ann_design.entered_at.tzinfo is not None

    found = stage.discrepancies(engine, ids)
    assert [d.describe() for d in found] == [
        f"study {first} sample_size: ann: 30; bob: 20",
        f"study {first} sd [ADSC / ige / end]: ann: 0.03; bob: 0.3",
        f"study {second} disease: ann: atopic dermatitis; bob: atopic dermatitis, psoriasis",
    ]
    assert stage.reconcile_agreements(engine, ids, by="carol") == 5
    stage.reconcile(engine, PROTOCOL, (first, "sample_size", "", "", ""), "carol", take="ann")
    stage.reconcile(
        engine, PROTOCOL, (first, "sd", "ADSC", "ige", "end"), "carol", value_text="0.03"
    )
    with pytest.raises(stage.ExtractionError, match="expected values from"):
        stage.reconcile(
            engine, PROTOCOL, (second, "disease", "", "", ""), "carol", value_text="eczema?"
        )
    assert len(stage.discrepancies(engine, ids)) == 1
    stage.reconcile(
        engine, PROTOCOL, (second, "disease", "", "", ""), "carol", value_text="atopic dermatitis"
    )
    assert stage.discrepancies(engine, ids) == []
    final = stage.final_values(engine, ids)
    assert final[(first, "sample_size", "", "", "")].value == 30
    assert final[(first, "sample_size", "", "", "")].source_detail == {
        "by": "carol",
        "reviewer_values": {"ann": 30, "bob": 20},
        "took": "ann",
    }
    assert final[(first, "sd", "ADSC", "ige", "end")].value == 0.03
    assert {v.reviewer for v in final.values()} == {CONSENSUS}

    emap = stage.evidence_map(engine, PROTOCOL, ids)
    assert emap.count("psoriasis", "not reported", "animal in vivo") == 1
    assert emap.count("atopic dermatitis", "not reported", "RCT") == 1
    table = stage.characteristics(engine, PROTOCOL, ids)
    assert table.columns == [
        "study",
        "design",
        "disease",
        "intervention",
        "sample size",
        "arms",
    ]
    assert table.rows[0] == [
        "Lee 2021: Adipose-derived stem cells in imiquimod-induced psoriasis in mice",
        "animal in vivo",
        "psoriasis",
        "",
        "30",
        "",
    ]


def test_import_with_invalid_cells_stores_nothing(engine, tmp_path):
    ids = stage.all_study_ids(engine)
    path = tmp_path / "t.csv"
    stage.export_template(engine, PROTOCOL, path, ids)
    _fill(path, {(str(ids[0]), "", ""): {"design": "cohort", "sample_size": "ten"}})
    result = stage.import_template(engine, PROTOCOL, path, "ann", ids)
    assert [e.describe() for e in result.errors] == [
        "sheet 't.csv', row 2, column 'design': 'cohort'; "
        "expected one of: RCT, animal in vivo, in vitro",
        "sheet 't.csv', row 2, column 'sample_size': 'ten'; expected a whole number, e.g. 12",
    ]
    assert result.stored == 0 and get_values(engine, ids) == []


def test_suggestions_are_reviewed_and_keep_provenance(engine):
    ids = stage.all_study_ids(engine)
    first, second = ids
    added = stage.run_suggestions(engine, PROTOCOL, ids)
    assert stage.run_suggestions(engine, PROTOCOL, ids) == 0  # idempotent
    pending = get_suggestions(engine, ids, status="pending")
    assert len(pending) == added
    design = {s.study_id: s for s in pending if s.field == "design"}
    assert (design[first].value, design[second].value) == ("animal in vivo", "RCT")
    disease = next(s for s in pending if s.study_id == first and s.field == "disease")
    assert disease.cue == "psoriasis"
    title = RECORDS[0]["title"]
    assert title[disease.span_start : disease.span_end] == "psoriasis"

    done = stage.review_suggestion(engine, PROTOCOL, disease.id, "accept", "ann")
    assert (done.status, done.reviewer, done.final_value) == ("accepted", "ann", ["psoriasis"])
    value = get_values(engine, [first], "ann")[0]
    assert (value.field, value.value, value.source) == ("disease", ["psoriasis"], "suggestion")
    assert value.source_detail["suggestion"]["span"] == [disease.span_start, disease.span_end]
    assert value.source_detail["suggestion"]["cue"] == "psoriasis"

    stage.review_suggestion(
        engine, PROTOCOL, design[second].id, "edit", "ann", value_text="in vitro"
    )
    assert get_values(engine, [second], "ann")[0].value == "in vitro"
    stage.review_suggestion(engine, PROTOCOL, design[first].id, "reject", "ann")
    assert get_suggestions(engine, ids=[design[first].id])[0].status == "rejected"

    stats = [s for s in pending if s.field == "statistic"]
    assert [s.value for s in stats] == [
        {"mean": 0.52, "sd": 0.04, "unit": "mm", "n": 10},
        {"mean": 0.31, "sd": 0.03, "unit": "mm", "n": 10},
    ]
    with pytest.raises(stage.ExtractionError, match="needs the outcome and arm"):
        stage.review_suggestion(engine, PROTOCOL, stats[1].id, "accept", "ann")
    stage.review_suggestion(
        engine, PROTOCOL, stats[1].id, "accept", "ann", arm="ADSC", outcome="ige", timepoint="end"
    )
    got = {v.field: v.value for v in get_values(engine, [first], "ann") if v.outcome == "ige"}
    assert got == {"mean": 0.31, "sd": 0.03, "n": 10}
    # With one reviewer per study, the reviewer's accepted suggestions are the study's values.
    emap = stage.evidence_map(engine, PROTOCOL, ids)
    assert emap.studies == {
        ("psoriasis", "not reported", "not reported"): [first],
        ("not reported", "not reported", "in vitro"): [second],
    }


def test_risk_of_bias_is_recorded_with_support(engine):
    ids = stage.all_study_ids(engine)
    study = ids[1]
    proposed, final = stage.record_rob(
        engine,
        study_id=study,
        tool="rob2",
        domain="D1",
        reviewer="ann",
        answers={"1.1": "Y", "1.2": "NI", "1.3": "N"},
        support="Sealed envelopes not described.",
    )
    assert (proposed, final) == ("Some concerns", "Some concerns")
    with pytest.raises(stage.ExtractionError, match="explain why with --support"):
        stage.record_rob(
            engine,
            study_id=study,
            tool="rob2",
            domain="D2",
            reviewer="ann",
            answers={"2.1": "N", "2.2": "N", "2.6": "Y"},
            judgement="High",
        )
    for domain in ("D2", "D3", "D4", "D5"):
        stage.record_rob(
            engine,
            study_id=study,
            tool="rob2",
            domain=domain,
            reviewer="ann",
            judgement="Low",
            support="as reported",
        )
    rows = stage.rob_table(engine, ids, "rob2")
    assert [(r.study_id, r.domains["D1"], r.overall) for r in rows] == [
        (study, "Some concerns", "Some concerns")
    ]
    stage.record_rob(
        engine,
        study_id=ids[0],
        tool="syrcle",
        domain="3",
        reviewer="ann",
        answers={"3": "No"},
        support="Allocation not concealed.",
    )
    syrcle = stage.rob_table(engine, ids, "syrcle")
    assert [(r.domains, r.overall) for r in syrcle] == [({"3": "High"}, None)]


def test_design_model_learns_from_accepted_designs(engine):
    ids = stage.all_study_ids(engine)
    with pytest.raises(stage.ExtractionError, match="there are 0"):
        stage.design_model(engine, PROTOCOL)
    for sid, design in zip(ids, ["animal in vivo", "RCT"], strict=True):
        for reviewer in ("ann", "bob"):
            stage.enter_value(engine, PROTOCOL, (sid, "design", "", "", ""), design, reviewer)
    model = stage.design_model(engine, PROTOCOL, min_studies=2)
    assert model.predict("randomly assigned patients")[0] == "RCT"
    assert model.predict("BALB/c mice received cells")[0] == "animal in vivo"
