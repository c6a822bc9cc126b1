"""Suggestions from full-text prose and tables, on sentences and rows copied from the real
open-access articles of ../shared/data/fulltext (the article named in each test)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from metasift.errors import ExtractionError
from metasift.extraction.fulltext import number, suggest_fulltext
from metasift.extraction.fulltext_values import effect_on_pooled_scale
from metasift.fulltext.jats import jats_sections

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fulltext"

# 6605965a (Br J Cancer 2010), abstract.
HR_SENTENCE = (
    "Results: After stratification for center and age, and adjustment for body mass index, "
    "smoking, diabetes mellitus, physical activity and alcohol consumption, ever use of oral "
    "contraceptives was marginally inversely associated with colorectal cancer risk (hazard "
    "ratio (HR), 0.92; 95% confidence interval (CI), 0.83–1.02), although this association was "
    "stronger among post-menopausal women (HR, 0.84; 95% CI: 0.74–0.95)."
)
# 6605965a, Table 1 (header and first rows) and Table 2 (first rows).
TABLE_1 = (
    "Characteristic | Colorectal cancer cases (n=1878) | Non-cases (n=335 924)\n"
    "Mean (s.d.) age at recruitment (years) | 57.4 (8.0) | 50.5 (9.7)\n"
    "Current smokers (%) | 18.5 | 19.6"
)
TABLE_2_NAME = (
    "Table 2 Hazard ratio (HR) and 95% confidence interval (CI) for oral contraceptive use, "
    "reproductive variables and colorectal cancer among women in the European Prospective "
    "Investigation into Cancer and Nutrition cohort"
)
TABLE_2 = (
    "Variable | Number of cases/non-cases | Age and center-stratified, HR (95% CI) | "
    "Multivariable adjusted, HR (95% CI)\n"
    "Oral contraceptive use\n"
    "Never | 1040/138 359 | 1.00 (reference) | 1.00 (reference)\n"
    "Ever | 822/196 040 | 0.93 (0.84–1.03) | 0.92 (0.83–1.02)"
)


def _values(suggestions, field=None):
    return [(s.field, s.value) for s in suggestions if field in (None, s.field)]


def _cue(parts, s):
    return dict(parts)[s.evidence.text_source][s.evidence.start : s.evidence.end]


def test_effects_with_their_confidence_intervals_and_where_they_are() -> None:
    parts = [("Abstract", HR_SENTENCE)]
    found = [s for s in suggest_fulltext(parts) if s.field == "effect"]
    assert [s.value for s in found] == [
        {"measure": "HR", "estimate": 0.92, "lower": 0.83, "upper": 1.02},
        {"measure": "HR", "estimate": 0.84, "lower": 0.74, "upper": 0.95},
    ]
    assert [_cue(parts, s) for s in found] == [
        "0.92; 95% confidence interval (CI), 0.83–1.02)",
        "0.84; 95% CI: 0.74–0.95)",
    ]
    assert found[0].evidence.text_source == "Abstract"
    assert found[0].evidence.sentence == HR_SENTENCE[len("Results: ") - 9 :]
    assert (found[0].method, found[0].confidence) == ("rules:effect-ci", 0.85)


def test_groups_counted_together() -> None:
    # 6605965a, Materials and Methods.
    text = (
        "Study participants included 1878 female colorectal cancer cases (1295 colon and 583 "
        "rectal cancers) and 335 924 female non-cases recruited into EPIC, a prospective cohort "
        "that was established in the 1990s in 10 European countries with more than half a "
        "million participants, mostly aged 35–70 years."
    )
    found = suggest_fulltext([("Materials and Methods", text)])
    assert _values(found) == [
        ("arm_size", {"n": 1878, "group": "female colorectal cancer cases"}),
        ("arm_size", {"n": 335924, "group": "female non-cases"}),
    ]
    assert [s.arm for s in found] == ["female colorectal cancer cases", "female non-cases"]


def test_what_is_not_a_size_mean_or_effect() -> None:
    parts = [
        # 1471-2180-11-174: a mean with its 95% confidence limits is not a mean and SD.
        (
            "Results",
            "resulting in growth rates of 1.01 ± 0.07, 0.93 ± 0.05, 0.49 ± 0.04, and 0.35 ± 0.01 "
            "h-1 (mean ± 95% confidence limits), respectively (see Table ).",
        ),
        # ehp-116-1694: a range of pairs; "or" is not an odds ratio.
        (
            "Methods",
            "Before beginning PBDE-47 exposure, the breeding pairs for all treatments (n = 9–11 "
            "pairs per treatment) were fed clean, frozen Artemia.",
        ),
        (
            "Abstract",
            "Methods Breeding pairs of adult fathead minnows (Pimephales promelas) were given "
            "dietary PBDE-47 at two doses (2.4 μg/pair/day or 12.3 μg/pair/day) for 21 days.",
        ),
    ]
    found = suggest_fulltext(parts)
    assert _values(found) == [("follow_up", {"low": 21.0, "high": 21.0, "unit": "days"})]


def test_a_mean_and_sd_takes_the_n_of_the_count_it_describes() -> None:
    # 1472-6831-8-11, abstract.
    text = (
        "The resulting OHIP-NL's psychometric properties were examined in a sample of 119 "
        "patients (68.9 % women; mean age = 57.1 ± 12.2 yrs)."
    )
    found = suggest_fulltext([("Abstract", text)])
    assert _values(found) == [
        ("sample_size", 119),
        ("statistic", {"mean": 57.1, "sd": 12.2, "n": 119}),
    ]


def test_table_cells_are_read_with_their_headers() -> None:
    name = "Table 1 Participant characteristics at recruitment"
    parts = [(name, TABLE_1), (TABLE_2_NAME, TABLE_2)]
    found = suggest_fulltext(parts)
    assert [(s.field, s.value, s.arm, s.outcome) for s in found] == [
        (
            "arm_size",
            {"n": 1878, "group": "Colorectal cancer cases"},
            "Colorectal cancer cases",
            "",
        ),
        ("arm_size", {"n": 335924, "group": "Non-cases"}, "Non-cases", ""),
        (
            "statistic",
            {"mean": 57.4, "sd": 8.0, "n": 1878},
            "Colorectal cancer cases",
            "Mean (s.d.) age at recruitment (years)",
        ),
        (
            "statistic",
            {"mean": 50.5, "sd": 9.7, "n": 335924},
            "Non-cases",
            "Mean (s.d.) age at recruitment (years)",
        ),
        (
            "effect",
            {"measure": "HR", "estimate": 0.93, "lower": 0.84, "upper": 1.03},
            "",
            "Oral contraceptive use / Ever",
        ),
        (
            "effect",
            {"measure": "HR", "estimate": 0.92, "lower": 0.83, "upper": 1.02},
            "",
            "Oral contraceptive use / Ever",
        ),
    ]
    assert [_cue(parts, s) for s in found] == [
        "Colorectal cancer cases (n=1878)",
        "Non-cases (n=335 924)",
        "57.4 (8.0)",
        "50.5 (9.7)",
        "0.93 (0.84–1.03)",
        "0.92 (0.83–1.02)",
    ]
    assert (
        found[2].evidence.sentence
        == "Mean (s.d.) age at recruitment (years) | 57.4 (8.0) | 50.5 (9.7)"
    )


def test_a_table_laid_out_in_a_pdf_page_points_into_the_page() -> None:
    rows = [line.split(" | ") for line in TABLE_2.split("\n")]
    page = (
        "drank more alcohol, exercised less and were less likely to have ever taken oral\n"
        + TABLE_2_NAME[:60]
        + "\n"
        + "\n".join("    ".join(cells) for cells in rows)
        + "\nReproductive factors, including age at menarche, were not associated."
    )
    parts = [("page 4", page)]
    found = [s for s in suggest_fulltext(parts) if s.field == "effect"]
    assert [(s.value["estimate"], _cue(parts, s)) for s in found] == [
        (0.93, "0.93 (0.84–1.03)"),
        (0.92, "0.92 (0.83–1.02)"),
    ]
    assert {s.evidence.text_source for s in found} == {"page 4"}


def test_numbers_as_articles_print_them() -> None:
    assert [number(t) for t in ("337 802", "1,308", "0.92", "−0.5", "seven", "x")] == [
        337802.0,
        1308.0,
        0.92,
        -0.5,
        7.0,
        None,
    ]


def test_a_whole_article_from_its_jats() -> None:
    parts = jats_sections(FIXTURES / "1472-6831-8-11.nxml")
    found = suggest_fulltext(parts)
    sizes = sorted({s.value for s in found if s.field == "sample_size"})
    assert sizes == [7, 41, 119]
    table_1 = [s for s in found if s.evidence.text_source.startswith("Table 1 ")]
    assert [(s.value["mean"], s.value["sd"], s.arm) for s in table_1[:2]] == [
        (44.1, 40.2, "Total OHIP-NL (49)"),
        (0.9, 0.8, "Total OHIP-NL (49)"),
    ]
    text = dict(parts)
    for s in found:  # every span is the cue it claims, inside its sentence
        part = text[s.evidence.text_source]
        assert part[s.evidence.start : s.evidence.end] == s.evidence.cue
        start = s.evidence.sentence_start
        assert part[start : start + len(s.evidence.sentence)] == s.evidence.sentence


def test_an_effect_goes_to_the_pooled_scale_with_its_se() -> None:
    effect, se = effect_on_pooled_scale(
        {"measure": "HR", "estimate": 0.84, "lower": 0.74, "upper": 0.95}
    )
    assert (round(effect, 6), round(se, 6)) == (round(math.log(0.84), 6), 0.063729)
    assert effect_on_pooled_scale(
        {"measure": "MD", "estimate": -5.6, "lower": -9.52, "upper": -1.68}
    ) == pytest.approx((-5.6, 2.0), abs=1e-4)
    with pytest.raises(ExtractionError, match="without its confidence interval"):
        effect_on_pooled_scale({"measure": "OR", "estimate": 7.3, "lower": None, "upper": None})
