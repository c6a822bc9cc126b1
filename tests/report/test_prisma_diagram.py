import pytest

from metasift.report.prisma_diagram import prisma_svg, save_prisma
from tests.workflow.test_prisma_counts import consistent


def test_svg_holds_every_box_with_its_count():
    svg = prisma_svg(consistent())
    for text in [
        "Identification of studies via databases and registers",
        "PubMed (n = 120)",
        "Duplicate records removed (n = 90)",
        "Records screened (n = 170)",
        "Records excluded (n = 140)",
        "Reports not retrieved (n = 2)",
        "wrong study type (n = 6)",
        "Studies included in review (n = 14)",
        "Reports of included studies (n = 15)",
    ]:
        assert text in svg, text
    assert "via other methods" not in svg


def test_other_methods_variant_and_file_formats(tmp_path):
    counts = consistent()
    counts.other_methods = {"Citation searching": 3}
    svg = prisma_svg(counts, other_methods=True)
    assert "Identification of studies via other methods" in svg
    assert "Citation searching (n = 3)" in svg
    for suffix, magic in [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")]:
        path = save_prisma(consistent(), tmp_path / f"prisma{suffix}")
        assert path.read_bytes().startswith(magic)


def test_a_draft_says_so_below_the_boxes_never_over_them():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from metasift.report.prisma_diagram import draw_prisma
    from metasift.workflow.prisma import PrismaCounts

    counts = PrismaCounts(
        databases={"PubMed": 300},
        screened=20,
        excluded_screening=10,
        sought=10,
        pending={
            "records awaiting title/abstract screening": 227,
            "reports awaiting full-text assessment": 10,
        },
    )
    fig = draw_prisma(counts, draft=True)
    renderer = FigureCanvasAgg(fig).get_renderer()
    (draft,) = [t for t in fig.axes[0].texts if t.get_text().startswith("DRAFT")]
    assert "227 records awaiting title/abstract screening" in draft.get_text().replace("\n", " ")
    text = draft.get_window_extent(renderer)
    boxes = [p.get_window_extent(renderer) for p in fig.axes[0].patches]
    assert boxes and not any(text.overlaps(box) for box in boxes)


def _variant(name: str):
    from metasift.workflow.prisma import OtherMethodsFlow, PrismaCounts

    if name == "draft":
        return PrismaCounts(
            databases={"PubMed": 300, "Embase (Embase.com)": 120},
            screened=20,
            excluded_screening=10,
            sought=10,
            pending={
                "records awaiting title/abstract screening": 390,
                "reports awaiting full-text assessment": 10,
            },
        )
    counts = consistent()
    if name in ("updated", "updated+other"):
        counts.previous_studies, counts.previous_reports = 9, 11
    if name in ("other", "updated+other"):
        counts.other_methods = {"Citation searching": 12, "Websites": 3}
        counts.other_flow = OtherMethodsFlow(
            sought=15,
            not_retrieved=1,
            assessed=14,
            excluded={"wrong population": 10},
            included_reports=4,
        )
        counts.included_reports += 4
    return counts


@pytest.mark.parametrize("variant", ["normal", "draft", "updated", "other", "updated+other"])
def test_no_text_of_the_rendered_diagram_overlaps_another_or_leaves_its_box(variant, tmp_path):
    """Rendered to PNG by matplotlib's Agg: every text's extent is checked against every
    other text and against the boxes, at the pixels the PNG holds."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.patches import FancyBboxPatch

    from metasift.report.prisma_diagram import draw_prisma

    counts = _variant(variant)
    fig = draw_prisma(counts, draft=variant == "draft")
    canvas = FigureCanvasAgg(fig)
    fig.savefig(tmp_path / "prisma.png", dpi=fig.dpi)
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    texts = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text()]
    boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)]
    page = fig.bbox
    for i, (text, extent) in enumerate(texts):
        assert page.contains(extent.x0, extent.y0) and page.contains(extent.x1, extent.y1), text
        for other, other_extent in texts[i + 1 :]:
            assert not extent.overlaps(other_extent), (text, other)
        holders = [b for b in boxes if extent.overlaps(b)]
        # A box's text (or a phase label) lies inside its one box; the draft line in none.
        assert len(holders) <= 1, text
        for box in holders:
            inside = box.padded(1)
            assert inside.contains(extent.x0, extent.y0) and inside.contains(
                extent.x1, extent.y1
            ), text
    svg = prisma_svg(counts, draft=variant == "draft")
    if variant.startswith("updated"):
        assert "Previous studies" in svg and "Total studies included in review (n = 23)" in svg
        assert "New studies included in review (n = 14)" in svg
    if "other" in variant:
        assert "Identification of studies via other methods" in svg
