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
