"""The report: PRISMA 2020 flow diagram and the review's HTML/Markdown report with downloads.

Entry points: :func:`build_report` gathers every number and figure of a project into a
:class:`ReportContext`; :func:`write_report` (or :func:`render_html` /
:func:`render_markdown`) renders it; :func:`prisma_svg` / :func:`save_prisma` draw the PRISMA
2020 flow diagram from the counts. Names load on first use, so importing the package stays
cheap.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    build=["build_report", "simulation_notice"],
    context=["ReportContext"],
    figures=["svg_of"],
    prisma_diagram=["draw_prisma", "prisma_svg", "save_prisma"],
    render=["render_html", "render_markdown", "write_report"],
)
