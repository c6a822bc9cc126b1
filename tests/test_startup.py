"""Start-up: the command line imports no heavy library until a command needs it.

Each check runs in a fresh interpreter and looks at ``sys.modules``, so it tests what is
imported, not how long it takes (benchmarks/startup.py measures the time).
"""

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import metasift

ROOT = Path(__file__).resolve().parents[1]

# The libraries the stages need and the command line itself does not: scientific stack, the
# store, the web app, parsers, HTTP. pydantic too: typer builds pydantic validators for the
# values of options, but --help and --version give none. rich is imported on first output
# (help is click's plain text).
HEAVY = {
    "alembic",
    "fastapi",
    "httpx",
    "jinja2",
    "lxml",
    "matplotlib",
    "numpy",
    "openpyxl",
    "pandas",
    "psycopg",
    "pydantic",
    "rapidfuzz",
    "rich",
    "scipy",
    "sklearn",
    "sqlalchemy",
    "uvicorn",
}

# Runs the command line in-process, as the console script does, then prints the top-level
# packages imported by then.
RUN_AND_LIST = textwrap.dedent(
    """
    import sys
    from metasift.cli import main

    sys.argv = ["metasift", *sys.argv[1:]]
    try:
        main()
    except SystemExit:
        pass
    print(" ".join(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
    """
)


def test_importing_the_cli_imports_no_heavy_library():
    code = "import metasift.cli, sys; print(' '.join(sorted(sys.modules)), file=sys.stderr)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stderr.split())
    assert {name.split(".")[0] for name in loaded} & HEAVY == set()
    # cli.py imports the stages inside the commands that use them: only the error tree here.
    assert sorted(name for name in loaded if name.startswith("metasift")) == [
        "metasift",
        "metasift.cli",
        "metasift.errors",
    ]


def test_importing_the_package_imports_nothing_of_its_own():
    code = "import metasift, sys; print(' '.join(sorted(sys.modules)), file=sys.stderr)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    loaded = set(result.stderr.split())
    assert [name for name in loaded if name.startswith("metasift")] == ["metasift"]
    assert {name.split(".")[0] for name in loaded} & (HEAVY | {"typer"}) == set()


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["import", "--help"],
        ["records", "--help"],
        ["extract", "template", "--help"],
    ],
    ids=" ".join,
)
def test_help_and_version_import_no_heavy_library(args):
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, *args], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout or "metasift " in result.stdout
    loaded = set(result.stderr.split())
    assert loaded & HEAVY == set()


def test_version_option_prints_the_package_version():
    result = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"metasift {metasift.__version__}\n"


def test_version_is_the_installed_one_else_the_pyproject_one(monkeypatch):
    import importlib.metadata

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    try:
        installed = importlib.metadata.version("metasift")
    except importlib.metadata.PackageNotFoundError:
        installed = pyproject["project"]["version"]
    assert metasift.__version__ == installed

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert metasift._version() == pyproject["project"]["version"]
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        metasift.nonsense  # noqa: B018


def test_the_lazy_console_stands_for_a_console_in_a_progress_bar():
    import io

    from rich.progress import Progress

    from metasift.cli import _LazyConsole

    out = io.StringIO()
    console = _LazyConsole(file=out, force_terminal=True, width=60)
    with Progress(console=console) as progress:  # rich enters the console itself on stop
        task = progress.add_task("Importing", total=2)
        progress.update(task, completed=2)
    console.print("done")
    assert "Importing" in out.getvalue() and out.getvalue().endswith("done\n")
