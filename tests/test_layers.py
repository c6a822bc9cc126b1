"""The layers of the design: an import only goes down a layer, never up (DESIGN.md, "Layers").

1 doors (cli, web, run) > 2 report > 3 workflow > 4 stages > 5 records > 6 foundations.
Imports inside functions count too: a lazy import is still a dependency.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "metasift"

# module prefix -> layer; the longest matching prefix wins
LAYERS = {
    "cli": 1,
    "web": 1,
    "run": 1,
    "report": 2,
    "workflow": 3,
    "search": 4,
    "fulltext": 4,
    "dedup": 4,
    "screening": 4,
    "extraction": 4,
    "synthesis": 4,
    "records": 5,
    "records.model": 6,
    "store": 6,
    "protocol": 6,
    "project": 6,
    "errors": 6,
    "lazy": 6,
    "cache": 6,
    "scale": 6,
}


def layer(module: str) -> int | None:
    found = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return LAYERS[max(found, key=len)] if found else None


def imports_going_up(src: Path = SRC) -> list[str]:
    up = []
    for path in sorted(src.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(src).with_suffix("")
        module = ".".join(p for p in rel.parts if p != "__init__")
        here = layer(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if not name.startswith("metasift."):
                    continue
                there = layer(name.removeprefix("metasift."))
                if here is not None and there is not None and there < here:
                    up.append(f"{rel}:{node.lineno}: {module} (layer {here}) imports {name}")
    return up


def test_every_module_has_a_layer():
    unplaced = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "migrations" not in p.parts
        and p.name != "__init__.py"
        and layer(".".join(p.relative_to(SRC).with_suffix("").parts)) is None
    ]
    assert unplaced == []


def test_no_import_goes_up_a_layer():
    assert imports_going_up() == []


def test_the_check_sees_an_import_going_up(tmp_path):
    (tmp_path / "screening").mkdir()
    (tmp_path / "screening" / "store.py").write_text(
        "def f():\n    from metasift.workflow.decisions import decide\n"
    )
    (tmp_path / "workflow.py").write_text("import metasift.records.model\n")
    assert imports_going_up(tmp_path) == [
        "screening/store:2: screening.store (layer 4) imports metasift.workflow.decisions"
    ]
