"""The terminal screener keeps the title, the footer and the decision keys on screen at any
terminal size; a long abstract is paged; the footer says progress and recall in words."""

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from metasift import cli
from metasift.records.model import Record

TITLE = "Adipose-derived mesenchymal stem cell exosomes attenuate imiquimod-induced psoriasis"
ABSTRACT = " ".join(
    f"Sentence {i} of a long abstract about exosomes, keratinocytes and IL-17." for i in range(90)
)


def status(**changes):
    values = dict(
        n_screened=12,
        n_records=340,
        n_included=5,
        estimated_recall=0.8,
        recall_lower_bound=0.65,
        stop=False,
        rule="hypergeometric",
    )
    return SimpleNamespace(**{**values, **changes})


def draw(width: int, height: int, page: int = 0, **record):
    out = io.StringIO()
    screen = Console(file=out, width=width, height=height, color_system=None)
    shown = SimpleNamespace(
        record=Record(title=TITLE, abstract=ABSTRACT, authors=["Ana, B."], year=2021, **record),
        rank=1,
        record_id=7,
    )
    criteria = SimpleNamespace(include_terms=["exosomes"], exclude_terms=[])
    pages = cli._screen_view(shown, status(), criteria, page=page, out=screen)
    return out.getvalue(), pages


@pytest.mark.parametrize(("height", "width"), [(24, 80), (45, 100), (12, 40)])
def test_title_footer_and_keys_fit_the_terminal(height, width):
    text, pages = draw(width, height)
    lines = text.split("\n")
    # What is drawn, and the line where the reviewer's key is echoed, fit the terminal.
    assert len(lines) + 1 <= height, text
    flat = " ".join(line.strip("│ ") for line in lines)
    assert " ".join(TITLE.split()[:4]) in flat
    assert ("[i]nclude" in text and "[q]uit" in text) or (height < 20 and "i/e/m a u q >" in text)
    assert "screened 12 of 340" in flat
    assert pages > 1 and ("a for more" in text or (height < 20 and ", a]" in text))


def test_the_abstract_is_paged_and_comes_round_again():
    first, pages = draw(100, 45)
    second, _ = draw(100, 45, page=1)
    assert "Sentence 0 " in first and "Sentence 0 " not in second
    assert draw(100, 45, page=pages)[0] == first


def test_a_short_abstract_takes_one_page_and_no_more_line():
    out = io.StringIO()
    screen = Console(file=out, width=100, height=45, color_system=None)
    shown = SimpleNamespace(record=Record(title="T", abstract="Short."), rank=None, record_id=1)
    criteria = SimpleNamespace(include_terms=[], exclude_terms=[])
    assert cli._screen_view(shown, status(), criteria, out=screen) == 1
    assert "a for more" not in out.getvalue()


def test_the_footer_speaks_the_reviewers_language():
    footer = cli._screen_status(status())
    assert footer.startswith("screened 12 of 340 (4%)")
    assert "5 judged relevant (include or maybe)" in footer
    assert "about 80% of the relevant records found so far (at least 65%); keep screening" in footer
    early = cli._screen_status(status(estimated_recall=None, recall_lower_bound=None))
    assert "too early to estimate how many relevant records are found" in early
    done = cli._screen_status(status(estimated_recall=0.97, recall_lower_bound=0.95, stop=True))
    assert "the stopping rule says you may stop" in done
