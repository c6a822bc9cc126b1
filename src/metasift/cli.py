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
def meta(
    data: Annotated[Path, typer.Argument(help="CSV of study data (metafor column names).")],
    measure: Annotated[
        str | None,
        typer.Option(help="MD, SMD, ROM, OR, RR, RD, PETO, COR, ZCOR, PR, PLO, PAS, IRR "
                     "(omit when the data have yi and vi)."),
    ] = None,
    method: Annotated[
        str, typer.Option(help="EE, FE, DL, REML, ML, PM, EB, HE, SJ, HS, MH or PETO.")
    ] = "REML",
    knha: Annotated[bool, typer.Option(help="Hartung-Knapp-Sidik-Jonkman adjustment.")] = False,
    mods: Annotated[
        list[str] | None,
        typer.Option(help="Moderator column(s) for meta-regression (repeat or comma-separate)."),
    ] = None,
    by: Annotated[str | None, typer.Option(help="Column defining subgroups.")] = None,
    slab: Annotated[str | None, typer.Option(help="Column with study labels.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the fitted model as JSON.")
    ] = False,
    forest: Annotated[
        Path | None, typer.Option(help="Write a forest plot (.svg/.png/.pdf).")
    ] = None,
    funnel: Annotated[
        Path | None, typer.Option(help="Write a funnel plot (.svg/.png/.pdf).")
    ] = None,
    bias: Annotated[
        bool, typer.Option(help="Egger's test, rank correlation, trim-and-fill, fail-safe N.")
    ] = False,
    column: Annotated[
        list[str] | None,
        typer.Option(help="Read a metafor input from another column: ARG=COLUMN (repeatable)."),
    ] = None,
) -> None:
    """Meta-analysis of a CSV of study data, with metafor's estimators and names."""
    import json
    import math

    from metasift.synthesis.plan import Analysis, run_analysis
    from metasift.synthesis.table import read_csv

    rows = read_csv(data)
    mod_list = [m.strip() for item in mods or [] for m in item.split(",") if m.strip()]
    columns = {}
    for item in column or []:
        arg, sep, col = item.partition("=")
        if not sep:
            raise MetasiftError(f"--column {item!r}: expected ARG=COLUMN, e.g. ai=tpos.")
        columns[arg.strip()] = col.strip()
    try:
        analysis = Analysis(
            name="meta", measure=measure, method=method, knha=knha, mods=mod_list, by=by,
            slab=slab, bias=bias, columns=columns, forest=str(forest) if forest else None,
            funnel=str(funnel) if funnel else None,
        )
    except ValueError as exc:
        raise MetasiftError(str(exc).split("\n", 1)[-1].strip()) from exc
    outcome = run_analysis(rows, analysis, origin=f"{data}: ")
    for message in outcome.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {message}")
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_dict(), indent=2) + "\n")
    else:
        summary = outcome.to_dict()
        table = Table("statistic", "value", title=f"{data.name}: {summary['measure']}, "
                      f"{summary['method']}{' + KNHA' if knha else ''}, k = {summary['k']}")
        for key, value in summary.items():
            if isinstance(value, float):
                table.add_row(key, f"{value:.6g}")
            elif isinstance(value, dict) and key == "exp":
                for sub, val in value.items():
                    table.add_row(f"exp({sub})", f"{val:.4g}")
        console.print(table)
        for coef in summary.get("coefficients", []):
            console.print(
                "  " + ", ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in coef.items()
                )
            )
        if outcome.subgroups is not None:
            sg = outcome.subgroups
            for name, fit in sg.fits.items():
                console.print(f"  {sg.by} = {name}: k = {fit.k}, estimate = {fit.b[0]:.4g} "
                              f"[{fit.ci_lb[0]:.4g}, {fit.ci_ub[0]:.4g}], I2 = {fit.I2:.1f}%")
            qm = "n/a" if math.isnan(sg.QM) else f"{sg.QM:.4g} (p = {sg.QMp:.4g})"
            console.print(f"  subgroup differences: QM = {qm}; Qb = {sg.Qb:.4g} "
                          f"(df = {sg.Qb_df}, p = {sg.Qbp:.4g})")
        for name, result in outcome.bias.items():
            console.print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in result.items()))
    for path in outcome.files:
        err_console.print(f"Wrote {path}")


def main() -> None:
    try:
        app()
    except MetasiftError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
