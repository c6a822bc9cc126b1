import tomllib
from pathlib import Path
from typing import Any

FLAGSHIP = Path(__file__).resolve().parents[2] / "examples" / "admsc-skin"
# The flagship example's topic vocabularies (metasift itself ships none).
FLAGSHIP_VOCAB = FLAGSHIP / "vocab"


def flagship_extraction(**overrides: Any) -> dict[str, Any]:
    """The flagship's ``[extraction]`` section (its topic form and vocabularies), with the
    vocabulary files as absolute paths so that a protocol read from text finds them."""
    section = tomllib.loads((FLAGSHIP / "review.toml").read_text(encoding="utf-8"))["extraction"]
    section["vocabulary_files"] = [str(FLAGSHIP / f) for f in section["vocabulary_files"]]
    return {**section, **overrides}
