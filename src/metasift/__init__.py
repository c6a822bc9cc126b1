"""metasift: biomedical systematic reviews from one protocol file, reproducibly.

The Python API is the same as the command line's: one package per stage, in the order the
data flows, each taking a :class:`~metasift.project.Project` (or plain data, for the pure
cores) and raising errors from :mod:`metasift.errors`:

* :mod:`metasift.records`: the Record model, normalisation, readers and writers of export
  files (``records.importing.import_file``);
* :mod:`metasift.search`: live PubMed, Europe PMC and OpenAlex searches, logged for PRISMA-S;
* :mod:`metasift.dedup`: de-duplication (blocking, pair scoring, clustering, merge);
* :mod:`metasift.screening`: AI-ranked title/abstract screening, stopping rules, simulation;
* :mod:`metasift.workflow`: reviewers, decisions, conflicts, agreement, PRISMA counts, the
  audit log;
* :mod:`metasift.extraction`: extraction forms, suggestions, risk of bias;
* :mod:`metasift.synthesis`: effect sizes and meta-analysis, after metafor
  (``escalc`` -> ``rma`` -> ``forest``);
* :mod:`metasift.report`: the PRISMA 2020 diagram and the report.

A project is opened with::

    from metasift.project import Project

    with Project.open("myreview") as project:
        ...

Importing ``metasift`` imports none of the stages (nor numpy, SQLAlchemy and the like), so
that the command line starts fast; import the stage you use. ``metasift.__version__`` is the
installed distribution's version, or the one in pyproject.toml for a source tree that is not
installed.
"""

from __future__ import annotations


def _version() -> str:
    """The installed version, else the source tree's pyproject.toml version, else 0+unknown."""
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    try:
        return version("metasift")
    except PackageNotFoundError:
        pass
    try:
        import tomllib

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        with pyproject.open("rb") as fh:
            return tomllib.load(fh)["project"]["version"]
    except (OSError, KeyError, ValueError):
        return "0+unknown"


def __getattr__(name: str) -> str:
    # Looked up on first use, not at import: importlib.metadata costs tens of milliseconds,
    # which every command would pay for a value only --version prints.
    if name == "__version__":
        globals()["__version__"] = value = _version()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
