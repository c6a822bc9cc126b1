"""Suggestions: each points at the characters it was read from."""

import pytest

from metasift.extraction.suggest import (
    DesignModel,
    classify_design_rules,
    predicted_fields,
    suggest_all,
    suggest_design,
    suggest_entities,
    suggest_numbers,
    word_number,
)
from metasift.extraction.text import split_sentences
from metasift.extraction.vocab import load_vocabularies, vocabulary_folder
from tests.extraction import FLAGSHIP_VOCAB

ABSTRACT = (
    "Atopic dermatitis (AD) is a chronic skin disease. Exosomes derived from human adipose "
    "tissue-derived mesenchymal stem cells (ASC-exosomes) were injected into NC/Nga mice "
    "sensitised with house dust mite. Serum IgE fell from 12.4 ± 3.1 ng/mL (n = 8) to "
    "6.2 ± 1.5 ng/mL (n = 8), and eosinophils decreased. P. acnes was not studied."
)


@pytest.fixture(scope="module")
def vocab():
    return load_vocabularies(files=vocabulary_folder(FLAGSHIP_VOCAB))


def test_sentences_keep_offsets():
    sentences = split_sentences(ABSTRACT)
    assert [s.text[:12] for s in sentences] == [
        "Atopic derma",
        "Exosomes der",
        "Serum IgE fe",
        "P. acnes was",
    ]
    for s in sentences:
        assert ABSTRACT[s.start : s.end] == s.text


def test_entity_spans_point_at_the_mention(vocab):
    found = suggest_entities({"title": "", "abstract": ABSTRACT}, vocab)
    by_field = {(s.field, s.value): s for s in found}
    disease = by_field[("disease", "atopic dermatitis")]
    assert ABSTRACT[disease.evidence.start : disease.evidence.end] == "Atopic dermatitis"
    assert disease.evidence.sentence == "Atopic dermatitis (AD) is a chronic skin disease."
    product = by_field[("intervention", "ADMSC exosomes/EVs")]
    assert product.evidence.cue == (
        "Exosomes derived from human adipose tissue-derived mesenchymal stem cells"
    )
    assert ABSTRACT[product.evidence.start : product.evidence.end] == product.evidence.cue
    assert ("intervention", "ADMSC") not in by_field  # the cells are the exosomes' source
    model = by_field[("model", "NC/Nga")]
    assert model.evidence.cue == "NC/Nga mice"
    assert by_field[("model", "house dust mite")].evidence.cue == "house dust mite"
    assert {v for f, v in by_field if f == "outcome_measures"} == {"serum IgE", "eosinophils"}
    assert {v for f, v in by_field if f == "species"} == {"mouse"}


def test_abbreviation_ad_is_not_adipose_derived(vocab):
    text = "AD-MSCs were given to mice with psoriasis."
    found = suggest_entities({"abstract": text}, vocab)
    assert {(s.field, s.value) for s in found if s.field in ("disease", "intervention")} == {
        ("disease", "psoriasis"),
        ("intervention", "ADMSC"),
    }


def test_protocol_vocabulary_extension():
    vocab = load_vocabularies(
        {"interventions": {"ADMSC": ["lipo-stem cells"]}, "diseases": {"prurigo": ["PN"]}},
        vocabulary_folder(FLAGSHIP_VOCAB),
    )
    found = suggest_entities({"abstract": "Lipo-stem cells in PN and prurigo nodularis."}, vocab)
    assert {(s.field, s.value, s.evidence.cue) for s in found} >= {
        ("intervention", "ADMSC", "Lipo-stem cells"),
        ("disease", "prurigo", "PN"),
    }


def test_statistics_and_sample_sizes():
    found = suggest_numbers({"abstract": ABSTRACT})
    stats = [s for s in found if s.field == "statistic"]
    assert [s.value for s in stats] == [
        {"mean": 12.4, "sd": 3.1, "unit": "ng/mL", "n": 8},
        {"mean": 6.2, "sd": 1.5, "unit": "ng/mL", "n": 8},
    ]
    assert stats[0].evidence.cue == "12.4 ± 3.1 ng/mL (n = 8"
    assert ABSTRACT[stats[1].evidence.start : stats[1].evidence.end] == "6.2 ± 1.5 ng/mL (n = 8"
    text = "Seventeen patients were enrolled; the median PASI was 12 (IQR 8-15)."
    found = suggest_numbers({"text:results.txt": text})
    assert [(s.field, s.value, s.evidence.cue) for s in found] == [
        ("sample_size", 17, "Seventeen patients"),
        ("statistic", {"median": 12.0, "q1": 8.0, "q3": 15.0}, "median PASI was 12 (IQR 8-15)"),
    ]
    assert found[0].evidence.text_source == "text:results.txt"
    se = suggest_numbers({"abstract": "Values are mean ± SEM. Score 4.5 ± 0.5 in mice."})
    assert [s.value for s in se if s.field == "statistic"] == [{"mean": 4.5, "se": 0.5}]


def test_word_numbers():
    assert [word_number(x) for x in ("7", "seven", "Thirty nine", "twenty-eight", "lots")] == [
        7,
        7,
        39,
        28,
        None,
    ]


@pytest.mark.parametrize(
    ("title", "abstract", "design"),
    [
        ("Stem cells for psoriasis: a review", "We summarise trials.", "review"),
        ("X", "This review summarizes preclinical data on MSCs.", "review"),
        ("Protocol for an open-label randomised controlled trial", "We will enrol.", "other"),
        ("Exosomes for facial redness: a report of two cases", "Two patients.", "case report"),
        ("X", "A 17-year-old male presented with a defect.", "case report"),
        ("X", "Thirty-four patients were randomly allocated to two doses.", "RCT"),
        ("X", "A single-arm, open-label study of seven subjects.", "non-randomised clinical"),
        ("X", "Imiquimod-induced psoriasis-like dermatitis in BALB/c mice.", "animal in vivo"),
        ("Canine atopic dermatitis", "Sixteen dogs received cells.", "animal in vivo"),
        ("X", "Keratinocytes were co-cultured with conditioned medium in vitro.", "in vitro"),
        ("X", "Cells are interesting.", None),
    ],
)
def test_design_rules(title, abstract, design):
    call = classify_design_rules({"title": title, "abstract": abstract})
    assert call.design == design
    if design:
        source = title if call.evidence.text_source == "title" else abstract
        assert source[call.evidence.start : call.evidence.end] == call.evidence.cue


def test_design_model_fills_in_when_rules_abstain():
    texts = [
        "trial of patients treated",
        "patients trial arm",
        "mice model injected",
        "mouse model dermatitis",
        "cells cultured medium",
        "cultured cells dish",
    ]
    labels = ["RCT", "RCT", "animal in vivo", "animal in vivo", "in vitro", "in vitro"]
    model = DesignModel().fit(texts, labels)
    assert model.predict("a mouse model")[0] == "animal in vivo"
    found = suggest_design({"title": "Dermatitis model outcomes"}, model)
    assert [(s.value, s.method) for s in found] == [("animal in vivo", "sklearn:design")]
    assert "model" in found[0].explanation
    assert suggest_design({"title": "Dermatitis model outcomes"}) == []


def test_predicted_fields(vocab):
    fields = predicted_fields(
        suggest_all({"title": "ADSCs in imiquimod-induced psoriasis in mice"}, vocab)
    )
    assert fields["design"] == "animal in vivo"
    assert fields["disease"] == {"psoriasis"}
    assert fields["intervention"] == {"ADMSC"}
    assert fields["model"] == {"imiquimod"}
