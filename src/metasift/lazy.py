"""Public names of a stage package, loaded from their modules on first use (PEP 562).

A stage package's ``__init__`` lists its API without importing it, so that ``import
metasift.synthesis`` does not load scipy and matplotlib before a name that needs them is asked
for: every command of the CLI pays at start-up for whatever its imports load.

Usage, in a package's ``__init__.py``::

    __all__, __getattr__, __dir__ = attach(
        __name__,
        core=["DedupResult", "deduplicate"],
        store=["run_dedup", "undo"],
    )
"""

from __future__ import annotations

import importlib
import os
import sys
import types

# typing and collections.abc are only needed by type checkers; importing them here would
# cost more than the rest of an empty package import.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_SHADOWED = "__lazy_shadowed__"


class _Package(types.ModuleType):
    """A package some of whose public names are also the names of its submodules.

    ``synthesis.subgroup`` is both the function and the module defining it. Importing a
    submodule binds it on its package under its own name; for these names the public function
    keeps the attribute, as an eager ``from .subgroup import subgroup`` in the package would.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in self.__dict__.get(_SHADOWED, ()):
            return
        super().__setattr__(name, value)


def attach(
    package: str, **modules: list[str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``.

    :param package: the package's ``__name__``.
    :param modules: for each submodule (relative name), the public names it defines.
    :returns: the sorted public names, and the module-level ``__getattr__`` and ``__dir__``
        that load a name from its submodule on first access and then keep it on the package.
    """
    origin: dict[str, str] = {}
    for module, names in modules.items():
        for name in names:
            if name in origin:
                raise ValueError(f"{package}: {name!r} listed in {origin[name]} and {module}")
            origin[name] = module
    namespace = sys.modules[package]
    submodules = {
        entry.removesuffix(".py")
        for path in getattr(namespace, "__path__", ())
        for entry in os.listdir(path)
    }
    shadowed = frozenset(origin) & submodules
    if shadowed:
        namespace.__dict__[_SHADOWED] = shadowed
        namespace.__class__ = _Package

    def __getattr__(name: str) -> Any:
        module = origin.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace.__dict__[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace.__dict__) | set(origin))

    return sorted(origin), __getattr__, __dir__
