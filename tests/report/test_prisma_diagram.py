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
