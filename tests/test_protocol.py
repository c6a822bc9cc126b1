import pytest

from metasift.errors import ProtocolError
from metasift.protocol import parse_protocol, template


def test_template_is_a_valid_protocol():
    protocol = parse_protocol(template("My review"))
    assert protocol.review.title == "My review"
    assert protocol.criteria.exclusion_reasons[0] == "wrong population"


def test_error_names_the_key_path():
    text = template() + '\n[[sources]]\nname = "PubMed"\nkind = "pubmedd"\n'
    with pytest.raises(ProtocolError, match=r"key 'sources\.0\.kind'"):
        parse_protocol(text)


def test_unknown_key_is_an_error_not_ignored():
    with pytest.raises(ProtocolError, match=r"key 'criteria\.exlude' is not a known setting"):
        parse_protocol('[review]\ntitle = "x"\n[criteria]\nexlude = []\n')


def test_missing_title():
    with pytest.raises(ProtocolError, match=r"key 'review\.title' is required"):
        parse_protocol("[review]\n")


def test_invalid_toml_names_the_file():
    with pytest.raises(ProtocolError, match=r"^my\.toml: not valid TOML"):
        parse_protocol("[review\n", "my.toml")


def test_duplicate_exclusion_reason():
    with pytest.raises(ProtocolError, match="listed twice"):
        parse_protocol('[review]\ntitle="x"\n[criteria]\nexclusion_reasons=["a","a"]\n')


def test_a_file_source_declares_its_prisma_s_details(tmp_path):
    from metasift.protocol import parse_protocol
    from metasift.records.provenance import declared_details

    (tmp_path / "embase.txt").write_text("'adipose'/exp AND 'psoriasis'/exp\n", encoding="utf-8")
    protocol = parse_protocol(
        '[review]\ntitle = "t"\n[[sources]]\nname = "Embase"\nkind = "file"\n'
        'files = ["embase.ris"]\nplatform = "Embase.com"\nsearched = "2025-03-01"\n'
        'query_file = "embase.txt"\nlimits = "English"\ncategory = "database"\n'
    )
    details = declared_details(protocol, "embase", tmp_path)
    assert (details.source, details.platform, details.searched) == (
        "Embase",
        "Embase.com",
        "2025-03-01",
    )
    assert (details.query, details.limits) == ("'adipose'/exp AND 'psoriasis'/exp", "English")
    assert declared_details(protocol, "Scopus", tmp_path).source is None
    with pytest.raises(ProtocolError, match=r"sources\.0\.searched.*YYYY-MM-DD"):
        parse_protocol('[review]\ntitle = "t"\n[[sources]]\nname = "E"\nsearched = "March"\n')


def test_init_template_shows_extraction_and_analysis_and_validates():
    import re

    from metasift.extraction.forms import extraction_settings
    from metasift.protocol import parse_protocol, template
    from metasift.synthesis.plan import parse_plan

    text = template("A review")
    assert "[extraction]" in text and "[analysis]" in text
    protocol = parse_protocol(text)
    assert extraction_settings(protocol.extraction).reviewers == 2
    assert parse_plan(protocol.analysis).analyses == []
    # the commented examples are valid too once uncommented
    head, tail = text.split("[extraction]\n", 1)
    lines = [head, "[extraction]"]
    for line in tail.splitlines():
        example = re.match(r"^# (\[\[?(extraction|analysis)\.|[a-z_]+ = )(.*)$", line)
        lines.append(line[2:] if example else line)
    full = parse_protocol("\n".join(lines))
    settings = extraction_settings(full.extraction)
    assert [o.kind for o in settings.outcomes] == ["dichotomous"]
    (analysis,) = parse_plan(full.analysis).analyses
    assert analysis.arms == ("treatment", "control")
    assert analysis.grade.thresholds == (0.75, 1.25)
