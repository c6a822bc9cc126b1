"""Each stage package is a public API: a docstring, ``__all__``, names that resolve, and an
import that stays cheap (names load from their modules on first use)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

PACKAGES = (
    "records",
    "search",
    "fulltext",
    "dedup",
    "screening",
    "extraction",
    "synthesis",
    "workflow",
    "report",
    "store",
)
HEAVY = ("numpy", "scipy", "sklearn", "matplotlib", "sqlalchemy", "httpx", "rapidfuzz")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves_and_is_listed(name: str) -> None:
    package = importlib.import_module(f"metasift.{name}")
    assert package.__doc__ and len(package.__doc__.strip()) > 80, "say what the stage does"
    assert package.__all__, f"metasift.{name} lists no public names"
    assert len(set(package.__all__)) == len(package.__all__)
    listed = dir(package)
    for public in package.__all__:
        value = getattr(package, public)
        assert not isinstance(value, types.ModuleType), f"{name}.{public} is a module"
        assert public in listed, f"dir(metasift.{name}) misses {public}"
        namespace: dict[str, object] = {}
        exec(f"from metasift.{name} import {public}", namespace)
        assert namespace[public] is value


def test_unknown_names_raise_attribute_error() -> None:
    import metasift.dedup

    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        _ = metasift.dedup.not_there
    with pytest.raises(ImportError):
        exec("from metasift.dedup import not_there", {})


def test_a_submodule_is_still_reachable_by_name() -> None:
    from metasift.dedup import store
    from metasift.synthesis import plots

    assert store.run_dedup is importlib.import_module("metasift.dedup").run_dedup
    assert plots.forest is importlib.import_module("metasift.synthesis").forest


def test_a_function_named_as_its_module_stays_the_function() -> None:
    # subgroup() lives in synthesis/subgroup.py; importing the module must not replace it
    import metasift.synthesis
    import metasift.synthesis.subgroup

    assert callable(metasift.synthesis.subgroup)
    assert not isinstance(metasift.synthesis.subgroup, types.ModuleType)
    assert metasift.synthesis.subgroup is sys.modules["metasift.synthesis.subgroup"].subgroup


def test_importing_the_packages_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        + "".join(f"import metasift.{name}\n" for name in PACKAGES)
        + f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing the stage packages loads {out}"
