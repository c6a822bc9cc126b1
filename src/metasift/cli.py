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


def _stage_progress(progress: Progress):
    """A core progress callback (step, done, total) drawn as one rich bar per step."""
    tasks: dict[str, int] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = progress.add_task(step.capitalize(), total=total or None)
        progress.update(tasks[step], completed=done, total=total or None)

    return update


@app.command()
def dedup(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Export files to de-duplicate without a project (see --out)."),
    ] = None,
    project: ProjectOpt = Path("."),
    out: Annotated[
        Path | None,
        typer.Option(help="With FILE...: write file,position,source_id,cluster CSV here."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    undo: Annotated[
        str | None, typer.Option(help="Undo the merge of cluster ID, or 'all'.")
    ] = None,
    review: Annotated[bool, typer.Option(help="List the pairs waiting for a decision.")] = False,
    decide: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Record a decision on a queued pair: PAIR same|different."),
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option(help="Who decides (default: the login name).")
    ] = None,
    clusters: Annotated[
        bool, typer.Option(help="List the duplicate clusters with their evidence.")
    ] = False,
) -> None:
    """Find duplicate records across all imports; keep one merged record per cluster."""
    import getpass
    import json

    from metasift.dedup.settings import parse_settings

    if files:
        from metasift.dedup.standalone import dedup_files, write_clusters

        with _progress() as progress:
            rows, result = dedup_files(files, progress=_stage_progress(progress))
        if out is None:
            write_clusters(rows, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as fh:
                write_clusters(rows, fh)
            err_console.print(
                f"Wrote {out}: {len(rows)} records, "
                f"{result.n_records - result.duplicates_removed} unique."
            )
        return

    from metasift.dedup import store
    from metasift.project import Project

    who = reviewer if reviewer is not None else getpass.getuser()
    with Project.open(project) as proj:
        if undo is not None:
            undone = store.undo(proj.engine, undo, who)
            console.print(
                f"Undid {len(undone)} cluster(s); their records are kept apart from now on."
            )
        elif decide is not None:
            a, b = store.decide(proj.engine, decide[0], decide[1], who)
            console.print(
                f"Recorded: records {a} and {b} are {decide[1].lower()} ({who}). "
                "Run 'metasift dedup' to apply it."
            )
        elif review:
            items = store.review_queue(proj.engine)
            if as_json:
                console.print_json(json.dumps([item.__dict__ for item in items]))
                return
            table = Table("pair", "score", "why", "record", "year", "first author", "title")
            for item in items:
                for n, rec in enumerate(item.records):
                    table.add_row(
                        item.pair if n == 0 else "",
                        f"{item.score:g}" if n == 0 else "",
                        (item.reason if n == 0 else ", ".join(item.conflicts)) or "",
                        str(rec["id"]),
                        str(rec["year"] or ""),
                        rec["authors"][0] if rec["authors"] else "",
                        (rec["title"] or "")[:80],
                    )
            console.print(table)
            console.print(
                f"{len(items)} pair(s) to review. Decide with "
                "'metasift dedup --decide PAIR same|different'."
            )
        elif clusters:
            listing = store.list_clusters(proj.engine)
            if as_json:
                console.print_json(json.dumps(listing))
                return
            table = Table("cluster", "record", "role", "matched with", "score", "rule", "fields")
            for c in listing:
                for m in c["members"]:
                    table.add_row(
                        str(c["cluster"]),
                        str(m["record_id"]),
                        m["role"],
                        str(m["matched_with"] or ""),
                        f"{m['score']:g}" if m["score"] is not None else "",
                        m["rule"] or "",
                        ", ".join(m["fields"]),
                    )
            console.print(table)
            console.print(f"{len(listing)} cluster(s). Undo one with 'metasift dedup --undo ID'.")
        else:
            settings = parse_settings(proj.protocol.dedup, str(proj.root / "review.toml"))
            with _progress() as progress:
                summary = store.run_dedup(proj.engine, settings, _stage_progress(progress))
            if as_json:
                console.print_json(json.dumps(summary.to_dict()))
            else:
                console.print(
                    f"records in {summary.records_in}, clusters {summary.clusters}, "
                    f"duplicates removed {summary.duplicates_removed}, "
                    f"manual queue {summary.manual_queue}, linked {summary.linked}"
                )


def main() -> None:
    try:
        app()
    except MetasiftError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
