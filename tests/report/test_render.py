import base64
import re

from metasift.report.context import Download, Figure, ReportContext, Table
from metasift.report.prisma_diagram import prisma_svg
from metasift.report.render import render_html, render_markdown, write_report
from tests.workflow.test_prisma_counts import consistent


def context() -> ReportContext:
    counts = consistent()
    return ReportContext(
        title="ADMSC <review>",
        generated_at="2026-11-24",
        protocol=Table(
            "Protocol", ["item", "value"], [["Question", "Do <script>alert(1)</script> work?"]]
        ),
        prisma=counts,
        prisma_svg=prisma_svg(counts),
        characteristics=Table("Studies", ["study", "n"], [["Cho 2018 | mice", "12"]]),
        screening_figures=[Figure("Recall curve", "<svg><circle r='1'/></svg>")],
        downloads=[Download("Included records (CSV)", "included.csv", "text/csv", "title\nA\n")],
        notices=["Decisions were simulated from the corpus labels."],
    )


def test_html_is_self_contained_and_escapes_text():
    html = render_html(context())
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "ADMSC &lt;review&gt;" in html
    assert "Records screened (n = 170)" in html
    assert "<circle r='1'/>" in html
    assert 'class="num">12<' in html
    href = re.search(
        r'download="included.csv" href="data:text/csv;charset=utf-8;base64,([^"]+)"', html
    )
    assert base64.b64decode(href.group(1)).decode() == "title\nA\n"
    assert 'src="http' not in html and 'href="http' not in html


def test_markdown_and_files(tmp_path):
    md = render_markdown(context())
    assert "- Records screened: 170; excluded: 140" in md
    assert "| Cho 2018 \\| mice | 12 |" in md
    path = write_report(context(), tmp_path)
    assert path.name == "report.html"
    assert (tmp_path / "figures" / "prisma.svg").exists()
    assert (tmp_path / "included.csv").read_text() == "title\nA\n"
    assert (tmp_path / "report.md").read_text() == md
