"""The ``metasift`` command line: one command per stage, each a thin call into the stage."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from metasift.errors import MetasiftError

app = typer.Typer(
    help="metasift: systematic reviews from one protocol file, reproducibly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

ProjectOpt = Annotated[
    Path, typer.Option("--project", "-p", help="Project folder (holds review.toml).")
]


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the project in.")] = Path("."),
    title: Annotated[str | None, typer.Option(help="Review title.")] = None,
) -> None:
    """Create a project folder with a commented review.toml template."""
    from metasift.project import init_project

    path = init_project(directory, title)
    console.print(f"Created {path}. Edit it, then run 'metasift import FILE...' in {directory}.")


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Export files (or SYNERGY folders).")],
    project: ProjectOpt = Path("."),
    source: Annotated[str | None, typer.Option(help="Database the files come from.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Format, if detection fails.")] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="CSV column mapping override FIELD=COLUMN (repeatable)."),
    ] = None,
    label_column: Annotated[str | None, typer.Option(help="Column holding include labels.")] = None,
    force: Annotated[
        bool, typer.Option(help="Import a file again even if already imported.")
    ] = False,
) -> None:
    """Import export files; prints for each: read N, imported M, rejected K."""
    from metasift.project import Project
    from metasift.records.formats import ReadOptions
    from metasift.records.importing import import_file

    column_map = {}
    for item in column or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise MetasiftError(
                f"--column {item!r}: expected FIELD=COLUMN, e.g. title=Article Title."
            )
        column_map[key.strip()] = value.strip()
    options = ReadOptions(source_database=source, column_map=column_map, label_column=label_column)
    failed = False
    with Project.open(project) as proj, _progress() as progress:
        for path in files:
            task = progress.add_task(f"Importing {path.name}", total=None)
            try:
                summary = import_file(
                    proj.engine,
                    path,
                    fmt=fmt,
                    options=options,
                    force=force,
                    on_record=lambda n, t=task: progress.update(t, completed=n),
                )
            except MetasiftError as exc:
                failed = True
                err_console.print(f"[red]error:[/red] {exc}")
                continue
            finally:
                progress.remove_task(task)
            console.print(f"{path}: {summary.format}: {summary.line()}")
            for rejection in summary.rejections[:20]:
                console.print(f"  rejected {rejection.describe()}")
            if summary.rejected > 20:
                console.print(
                    f"  ... and {summary.rejected - 20} more rejections (see 'metasift imports')."
                )
    if failed:
        raise typer.Exit(1)


@app.command()
def records(
    project: ProjectOpt = Path("."),
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, ris, bibtex or jsonl (default: a table).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """List or export the project's records."""
    from metasift.project import Project
    from metasift.records.formats import write_records
    from metasift.store.records import iter_records

    with Project.open(project) as proj:
        stored = (record for _, record in iter_records(proj.engine))
        if fmt is None and out is None:
            table = Table("id", "year", "first author", "title", "source")
            n = 0
            for record_id, record in iter_records(proj.engine):
                n += 1
                table.add_row(
                    str(record_id),
                    str(record.year or ""),
                    record.first_author or "",
                    (record.title or "")[:90],
                    record.source_database or "",
                )
            console.print(table)
            console.print(f"{n} records")
            return
        fmt = fmt or (out.suffix.lstrip(".") if out else "jsonl")
        if out is None:
            write_records(stored, sys.stdout, fmt)
        else:
            with out.open("w", encoding="utf-8", newline="") as fh:
                write_records(stored, fh, fmt)
            err_console.print(f"Wrote {out}")


@app.command()
def search(
    project: ProjectOpt = Path("."),
    source: Annotated[
        str | None, typer.Option(help="Search only this source of review.toml (or a kind).")
    ] = None,
    query: Annotated[
        str | None, typer.Option(help="Run this ad hoc query instead of the protocol's.")
    ] = None,
    fresh: Annotated[
        bool, typer.Option(help="Start over instead of resuming an interrupted search.")
    ] = False,
) -> None:
    """Search PubMed, Europe PMC and OpenAlex live; each run is imported and logged."""
    import logging

    from rich.logging import RichHandler

    from metasift.project import Project
    from metasift.search import search_project

    # Retry notices print above the progress bar; the count warning is printed at the end.
    notices = RichHandler(console=err_console, show_time=False, show_path=False)
    notices.addFilter(lambda record: record.name != "metasift.search.runner")
    logging.getLogger("metasift.search").addHandler(notices)
    tasks: dict[str, object] = {}
    with Project.open(project) as proj, _progress() as progress:

        def on_progress(spec, retrieved: int, reported: int | None) -> None:
            if spec.source not in tasks:
                tasks[spec.source] = progress.add_task(f"Searching {spec.source}", total=None)
            progress.update(tasks[spec.source], completed=retrieved, total=reported or None)

        try:
            results = search_project(
                proj, source=source, query=query, fresh=fresh, on_progress=on_progress
            )
        finally:
            logging.getLogger("metasift.search").removeHandler(notices)
    failed = False
    for result in results:
        if isinstance(result, MetasiftError):
            failed = True
            err_console.print(f"[red]error:[/red] {result}")
            continue
        console.print(result.line())
        if result.warning:
            err_console.print(
                f"[bold red]WARNING:[/bold red] {result.spec.source}: {result.warning}"
            )
    if failed:
        raise typer.Exit(1)


@app.command()
def searchlog(
    project: ProjectOpt = Path("."),
    fmt: Annotated[str, typer.Option("--format", help="md, csv or json.")] = "md",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Export the PRISMA-S search log: every run with its exact query and counts."""
    from metasift.project import Project
    from metasift.search.log import render_log

    with Project.open(project) as proj:
        text = render_log(proj.engine, fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"Wrote {out}")


def main() -> None:
    try:
        app()
    except MetasiftError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
