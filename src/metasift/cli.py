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
def simulate(
    dataset: Annotated[
        Path, typer.Argument(help="SYNERGY folder or any importable file with a label column.")
    ],
    model: Annotated[str, typer.Option(help="Screening model (see --list-models).")] = "default",
    seed: Annotated[int, typer.Option(help="Seed for priors and models.")] = 0,
    prior_included: Annotated[
        int, typer.Option(help="Included records given as prior knowledge.")
    ] = 1,
    prior_excluded: Annotated[
        int, typer.Option(help="Excluded records given as prior knowledge.")
    ] = 1,
    prior: Annotated[
        str | None,
        typer.Option(help="'criteria': no prior labels; rank by similarity to the criteria."),
    ] = None,
    criteria: Annotated[
        Path | None,
        typer.Option(help="Text file with the eligibility criteria (default: criteria.txt)."),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Format of DATASET.")] = None,
    label_column: Annotated[str | None, typer.Option(help="Column holding the labels.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the recall curve (PNG/SVG/PDF).")] = None,
    list_models: Annotated[bool, typer.Option(help="List the screening models and exit.")] = False,
) -> None:
    """Simulate screening of a labelled dataset and report WSS, recall, ATD and stopping."""
    import json

    from metasift.screening.models import DEFAULT_MODEL, MODELS, get_model

    if list_models:
        for name, spec in MODELS.items():
            mark = " (default)" if name == DEFAULT_MODEL else ""
            console.print(f"[bold]{name}[/bold]{mark}: {spec.description}")
        return
    from metasift.screening.datasets import load_dataset
    from metasift.screening.features import record_texts
    from metasift.screening.plot import plot_recall
    from metasift.screening.simulate import Prior, result_document
    from metasift.screening.simulate import simulate as run_simulation

    if prior not in (None, "criteria"):
        raise MetasiftError(f"--prior {prior!r}: the only named prior is 'criteria'.")
    spec = get_model(model)
    data = load_dataset(dataset, fmt=fmt, label_column=label_column)
    criteria_text = criteria.read_text(encoding="utf-8") if criteria else data.criteria
    chosen = Prior(prior_included, prior_excluded, criteria=prior == "criteria")
    texts = record_texts(data.records)
    with _progress() as progress:
        task = progress.add_task(f"Simulating {data.name}", total=len(texts))
        result = run_simulation(
            texts,
            data.labels,
            model=spec,
            seed=seed,
            prior=chosen,
            criteria_text=criteria_text,
            on_step=lambda n, total: progress.update(task, completed=n),
        )
    m = result.metrics
    table = Table(title=f"{data.name}: {m['n_records']} records, {m['n_relevant']} relevant")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("wss@95", "wss@100", "recall@10%", "recall@20%", "atd"):
        table.add_row(key, "-" if m[key] is None else f"{m[key]:.3f}")
    table.add_row("screened to 95% recall", str(m["screened_to_95"]))
    table.add_row("screened to 100% recall", str(m["screened_to_100"]))
    for name, stop in result.stopping.items():
        value = (
            "never"
            if stop["stop_at"] is None
            else (f"{stop['stop_at']} screened, recall {100 * stop['recall']:.1f}%")
        )
        table.add_row(f"stop: {name}", value)
    table.add_row("wall time", f"{result.wall_time:.2f} s")
    console.print(table)
    console.print(f"model {spec.name}, seed {seed}, priors: {chosen.describe()}")
    if json_out:
        ids = [r.source_position for r in data.records]
        json_out.write_text(json.dumps(result_document(result, ids, data.name), indent=1))
        err_console.print(f"Wrote {json_out}")
    if plot:
        plot_recall(result, plot, title=f"{data.name}: recall curve ({spec.name}, seed {seed})")
        err_console.print(f"Wrote {plot}")


def _screen_view(record, record_id: int, proposal, status, criteria) -> None:
    from rich.panel import Panel
    from rich.text import Text

    body = Text()
    body.append((record.title or "(no title)") + "\n", style="bold")
    meta = " · ".join(
        x for x in (record.first_author, str(record.year or ""), record.journal or "") if x
    )
    if meta:
        body.append(meta + "\n", style="dim")
    body.append("\n")
    body.append(record.abstract or "(no abstract)")
    body.highlight_words(criteria.include_terms, style="bold green", case_sensitive=False)
    body.highlight_words(criteria.exclude_terms, style="bold red", case_sensitive=False)
    kind = proposal.ranking.kind
    console.print(
        Panel(
            body,
            title=f"record {record_id}",
            subtitle=f"rank {proposal.rank} of the {kind} ranking {proposal.ranking.index}",
        ),
        soft_wrap=False,
    )
    console.print(_screen_status(status), markup=False)


def _screen_status(status) -> str:
    recall = (
        "estimated recall -"
        if status.estimated_recall is None
        else f"estimated recall {100 * status.estimated_recall:.0f}% "
        f"(lower bound {100 * (status.recall_lower_bound or 0):.0f}%)"
    )
    verdict = "stop recommended" if status.stop else "keep screening"
    return (
        f"screened {status.n_screened:,} of {status.n_records:,} "
        f"({100 * status.n_screened / status.n_records:.0f}%), included {status.n_included:,} · "
        f"{recall} — {verdict} [{status.rule}]"
    )


def _read_key() -> str | None:
    """One key: a single key press on a terminal, one line when input is piped."""
    if sys.stdin.isatty():
        import click

        try:
            return click.getchar().lower()
        except (EOFError, KeyboardInterrupt):
            return None
    line = sys.stdin.readline()
    return line.strip().lower()[:1] if line else None


@app.command()
def screen(
    project: ProjectOpt = Path("."),
    reviewer: Annotated[
        str | None, typer.Option(help="Your name, stored with every decision (default: $USER).")
    ] = None,
) -> None:
    """Screen titles and abstracts, most relevant first: i include, e exclude, m maybe,
    u undo, q quit."""
    import getpass

    from metasift.project import Project
    from metasift.screening.session import KEYS, ScreeningSession

    name = reviewer or getpass.getuser()
    with Project.open(project) as proj:
        err_console.print("Preparing the ranking ...")
        session = ScreeningSession(proj.engine, proj.protocol, name)
        decided = 0
        try:
            while True:
                shown = session.current()
                if shown is None:
                    console.print("Every record is screened.")
                    break
                record_id, record, proposal = shown
                _screen_view(record, record_id, proposal, session.status(), proj.protocol.criteria)
                console.print(
                    "[i]nclude  [e]xclude  [m]aybe  [u]ndo  [q]uit > ", end="", markup=False
                )
                key = _read_key()
                console.print(key or "")
                if key in (None, "q"):
                    break
                if key == "u":
                    undone = session.undo()
                    console.print(
                        f"undid the decision on record {undone}" if undone else "nothing to undo"
                    )
                    decided -= 1 if undone else 0
                    continue
                if key not in KEYS:
                    console.print(f"unknown key {key!r}: use i, e, m, u or q")
                    continue
                session.decide(KEYS[key])
                decided += 1
            console.print(f"{decided} decision(s) stored for {name}.")
            console.print(_screen_status(session.status()), markup=False)
        finally:
            session.close()


def main() -> None:
    try:
        app()
    except MetasiftError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
