"""The ``metasift`` command line: one command per stage, each a thin call into the stage."""

# Start-up is paid by every command, --help included (budget: 0.3 s on two shared cores; see
# benchmarks/startup.py). So the stages are imported inside the commands that use them, rich
# on first output, help is plain text, and annotations are not strings (no ``from __future__
# import annotations``), since typer reads every command's on each start and a string costs an
# eval.
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metasift.errors import MetasiftError

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterator

    import rich.table
    from rich.progress import Progress

# A group's --help flag is None when not given, and typer builds a pydantic validator for any
# flag whose value is not a bool: a default of False spares every sub-command (and its --help)
# importing pydantic just to parse its group's flag. Every typer.Typer here takes it.
_GROUP_SETTINGS = {"default_map": {"help": False}}

app = typer.Typer(
    help="metasift: systematic reviews from one protocol file, reproducibly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # typer's rich help imports markdown-it, pygments and all of rich for the help page, about
    # as much time as the rest of start-up; click's plain help says the same.
    rich_markup_mode=None,
    context_settings=_GROUP_SETTINGS,
)


class _LazyConsole:
    """A rich Console made on first use: importing rich costs --version and --help ~30 ms.

    It stands for the Console wherever one is passed (a progress bar's, a log handler's):
    attributes, and the context-manager protocol rich itself uses, are the Console's.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console = None

    def _made(self) -> Any:
        if self._console is None:
            self._console = _text_safe_console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)

    def __enter__(self) -> Any:
        return self._made().__enter__()

    def __exit__(self, *exc: object) -> None:
        self._made().__exit__(*exc)


def Table(*headers: Any, **options: Any) -> "rich.table.Table":
    """rich's Table, imported on first use (see _LazyConsole)."""
    from rich.table import Table

    return Table(*headers, **options)


console = _LazyConsole(soft_wrap=True)
err_console = _LazyConsole(stderr=True, soft_wrap=True)

ProjectOpt = Annotated[
    Path, typer.Option("--project", "-p", help="Project folder (holds review.toml).")
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        help="A Dask scheduler's address (tcp://HOST:PORT), or 'local' for a local cluster "
        "started by this command; workers must see the same files."
    ),
]
WorkersOpt = Annotated[
    int | None, typer.Option(min=1, help="Workers of the local cluster (default: one per core).")
]


# C0 controls but tab and newline, DEL and C1: an ESC or CSI from a record's title would
# drive the terminal (set its title, move the cursor, hide what follows).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _safe(text: object, *, markup: bool = True) -> str:
    """``text`` printable as is: a record's title, a file name, a user's or a server's words.

    Control characters are shown as ``\\xNN`` escapes instead of reaching the terminal, and
    rich markup (``[/x]``) is escaped, so the text neither fails to print nor styles itself.

    Args:
        text: what to print (anything; printed as ``str(text)``).
        markup: escape rich markup too; False for ``print`` and ``markup=False`` output.
    """
    plain = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", str(text).replace("\r\n", "\n"))
    if not markup:
        return plain
    from rich.markup import escape

    return escape(plain)


class _TerminalText:
    """Standard output that shows control characters as ``\\xNN`` when it is a terminal: an
    export printed there (``records --format csv``) is read, not kept, and a title's escape
    sequence must not drive the terminal. Redirected to a file or a pipe, output is exact."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(_safe(text, markup=False))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _stdout() -> Any:
    """``sys.stdout``, through :class:`_TerminalText` when it is a terminal."""
    return _TerminalText(sys.stdout) if sys.stdout.isatty() else sys.stdout


def _text_safe_console(**options: Any) -> Any:
    """A rich Console that passes every string it renders through :func:`_safe`'s control
    escaping, and prints a string whose markup does not parse as plain text: a safety net
    under the print calls, which escape what they interpolate."""
    from rich.console import Console
    from rich.errors import MarkupError

    class TextSafeConsole(Console):
        def render_str(self, text: str, **kwargs: Any) -> Any:
            text = _safe(text, markup=False)
            try:
                return super().render_str(text, **kwargs)
            except MarkupError:
                return super().render_str(text, **{**kwargs, "markup": False})

    return TextSafeConsole(**options)


def _print_version(value: bool) -> None:
    """--version: print the version and stop before any command runs."""
    if value:
        from metasift import __version__

        print(f"metasift {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    # Options of the whole program; the help text is the app's (typer.Typer(help=...)).
    pass


def _progress() -> "Progress":
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@contextmanager
def _progress_with_features() -> "Iterator[Progress]":
    """:func:`_progress`, with long feature work (sentence embeddings) inside the block drawn
    as a bar of its own."""
    from metasift.screening.features import feature_progress

    with _progress() as progress, feature_progress(_stage_progress(progress)):
        yield progress


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the project in.")] = Path("."),
    title: Annotated[str | None, typer.Option(help="Review title.")] = None,
    reviewer: Annotated[
        str | None,
        typer.Option("--reviewer", "-r", help="Your name (default: $METASIFT_REVIEWER or login)."),
    ] = None,
) -> None:
    """Create a project folder with a commented review.toml template; you (--reviewer) are
    its first owner."""
    from metasift.project import Project, init_project
    from metasift.workflow.reviewers import add_reviewer

    path = init_project(directory, title)
    me = _reviewer(reviewer)
    with Project.open(directory) as proj:
        add_reviewer(proj.engine, me, "owner")
    console.print(
        f"Created {_safe(path)}, with {_safe(me)} as owner (add the team with 'metasift "
        f"reviewer add'). Edit it, then run 'metasift import FILE...' in {_safe(directory)}."
    )


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Export files (or SYNERGY folders).")],
    project: ProjectOpt = Path("."),
    source: Annotated[
        str | None,
        typer.Option(
            help="Database the files come from (default: what the export states, else the "
            "file name, flagged as 'source not stated')."
        ),
    ] = None,
    platform: Annotated[
        str | None, typer.Option(help="Platform or interface searched (Ovid, Embase.com...).")
    ] = None,
    searched: Annotated[
        str | None, typer.Option(help="Date the search was run (YYYY-MM-DD).")
    ] = None,
    query_file: Annotated[
        Path | None, typer.Option(help="Text file holding the full search string, as run.")
    ] = None,
    limits: Annotated[
        str | None, typer.Option(help="Limits and filters applied (dates, languages...).")
    ] = None,
    source_type: Annotated[
        str | None,
        typer.Option(
            help="Where PRISMA counts it: database, register, other (citation searching, "
            "websites...) or previous (studies of the review's previous version)."
        ),
    ] = None,
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
    """Import export files; prints for each: read N, imported M, rejected K, and the PRISMA-S
    details recorded (a --source named in review.toml takes its platform, date, search string
    and limits from there)."""
    from metasift.project import Project
    from metasift.records.formats import ReadOptions
    from metasift.records.importing import import_file
    from metasift.records.provenance import SearchDetails, declared_details, describe

    column_map = {}
    for item in column or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise MetasiftError(
                f"--column {item!r}: expected FIELD=COLUMN, e.g. title=Article Title."
            )
        column_map[key.strip()] = value.strip()
    options = ReadOptions(column_map=column_map, label_column=label_column)
    query = None
    if query_file is not None:
        try:
            query = query_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MetasiftError(
                f"--query-file {query_file}: cannot read it ({exc.strerror or exc})."
            ) from exc
    given = SearchDetails(source, platform, searched, query, limits, source_type)
    failed = False
    with Project.open(project) as proj, _progress() as progress:
        details = given.over(declared_details(proj.protocol, source, proj.root))
        for path in files:
            task = progress.add_task(f"Importing {_safe(path.name)}", total=None)
            try:
                summary = import_file(
                    proj.engine,
                    path,
                    fmt=fmt,
                    options=options,
                    force=force,
                    on_record=lambda n, t=task: progress.update(t, completed=n),
                    details=details,
                )
            except MetasiftError as exc:
                failed = True
                err_console.print(f"[red]error:[/red] {_safe(str(exc))}")
                continue
            finally:
                progress.remove_task(task)
            console.print(f"{_safe(path)}: {summary.format}: {_safe(summary.line())}")
            if (found := summary.provenance) is not None:
                console.print(f"  PRISMA-S: {_safe(describe(found))}")
                for note in [*found.flags, *found.notes]:
                    console.print(f"  [yellow]note:[/yellow] {_safe(note)}")
            for rejection in summary.rejections[:20]:
                console.print(f"  rejected {_safe(rejection.describe())}")
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
                    _safe(record.first_author or ""),
                    _safe((record.title or "")[:90]),
                    _safe(record.source_database or ""),
                )
            console.print(table)
            console.print(f"{n} records")
            return
        fmt = fmt or (out.suffix.lstrip(".") if out else "jsonl")
        if out is None:
            write_records(stored, _stdout(), fmt)
        else:
            with out.open("w", encoding="utf-8", newline="") as fh:
                write_records(stored, fh, fmt)
            err_console.print(f"Wrote {_safe(out)}")


@app.command()
def meta(
    data: Annotated[Path, typer.Argument(help="CSV of study data (metafor column names).")],
    measure: Annotated[
        str | None,
        typer.Option(
            help="MD, SMD, ROM, NMD, OR, RR, RD, PETO, COR, ZCOR, PR, PLO, PAS, IRR "
            "(omit when the data have yi and vi)."
        ),
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
    random: Annotated[
        list[str] | None,
        typer.Option(
            help="Multilevel model (metafor's rma.mv) with these random effects, e.g. "
            "'~ 1 | study/esid' (repeatable); --method REML or ML."
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(help="With --random: CR2 cluster-robust tests clustered on this column."),
    ] = None,
    arms: Annotated[
        str | None,
        typer.Option(
            help="INTERVENTION,COMPARATOR: read inputs from per-arm columns as extraction "
            "exports them (e.g. 'ADSC.events', 'ADSC.n', 'vehicle.mean', 'vehicle.sd')."
        ),
    ] = None,
) -> None:
    """Meta-analysis of a CSV of study data, with metafor's estimators and names."""
    import json

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
    if random or cluster:
        _meta_multilevel(
            data,
            rows,
            random,
            cluster,
            measure,
            method,
            mod_list,
            columns,
            slab,
            as_json,
            {
                "--knha": knha,
                "--by": by,
                "--bias": bias,
                "--forest": forest,
                "--funnel": funnel,
                "--arms": arms,
            },
        )
        return
    pair = [a.strip() for a in arms.split(",")] if arms else None
    if pair is not None and len(pair) != 2:
        raise MetasiftError(f"--arms {arms!r}: name two arms, e.g. --arms treatment,control.")
    analysis = Analysis.build(
        name="meta",
        arms=pair,
        measure=measure,
        method=method,
        knha=knha,
        mods=mod_list,
        by=by,
        slab=slab,
        bias=bias,
        columns=columns,
        forest=str(forest) if forest else None,
        funnel=str(funnel) if funnel else None,
    )
    outcome = run_analysis(rows, analysis, origin=f"{data}: ")
    for message in outcome.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {_safe(message)}")
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_dict(), indent=2) + "\n")
    else:
        # the fit presents itself (metafor's layout); the CLI adds no formatting of its own
        console.print(outcome.summary(), markup=False, highlight=False, emoji=False)
    for path in outcome.files:
        err_console.print(f"Wrote {_safe(path)}")


def _meta_multilevel(
    data: Path,
    rows: list,
    random: list[str] | None,
    cluster: str | None,
    measure: str | None,
    method: str,
    mods: list[str],
    columns: dict[str, str],
    slab: str | None,
    as_json: bool,
    others: dict[str, object],
) -> None:
    """``meta --random``: a multilevel model, with CR2 robust tests when --cluster is given."""
    import json

    from metasift.synthesis.dependent import run_multilevel

    if not random:
        raise MetasiftError(
            "--cluster works with a multilevel model: add its random effects, e.g. "
            "--random '~ 1 | study/esid' --cluster study."
        )
    given = [name for name, value in others.items() if value]
    if given:
        raise MetasiftError(
            f"{', '.join(given)} cannot be combined with --random yet; a multilevel model takes "
            "--measure, --method REML|ML, --mods, --cluster, --column, --slab and --json."
        )
    outcome = run_multilevel(
        rows,
        random=random,
        measure=measure,
        method=method,
        mods=mods,
        cluster=cluster,
        columns=columns,
        slab=slab,
        origin=f"{data}: ",
    )
    for message in outcome.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {_safe(message)}")
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_dict(), indent=2) + "\n")
    else:
        console.print(outcome.summary(), markup=False, highlight=False, emoji=False)


# --- extraction and risk of bias ----------------------------------------------------------------

extract_app = typer.Typer(
    help="Data extraction: template round trip, double extraction, suggestions, evidence map.",
    no_args_is_help=True,
    context_settings=_GROUP_SETTINGS,
)
rob_app = typer.Typer(
    help="Risk of bias: RoB 2, ROBINS-I, SYRCLE.",
    no_args_is_help=True,
    context_settings=_GROUP_SETTINGS,
)
app.add_typer(extract_app, name="extract")
app.add_typer(rob_app, name="rob")

StudiesOpt = Annotated[
    str | None,
    typer.Option(help="Study ids, comma-separated (default: the studies included at full text)."),
]
ReviewerOpt = Annotated[
    str | None,
    typer.Option(
        "--reviewer", "-r", help="Who you are (default: $METASIFT_REVIEWER or login name)."
    ),
]


def _reviewer(name: str | None) -> str:
    import getpass
    import os

    return name or os.environ.get("METASIFT_REVIEWER") or getpass.getuser()


def _member(proj, name: str | None) -> str:
    """The name of who acts (``--reviewer``), once the review's one rule says they may decide."""
    from metasift.workflow.reviewers import require

    return require(proj.engine, _reviewer(name), "decide").name


def _study_ids(proj, studies: str | None) -> list[int]:
    from metasift.workflow.state import extraction_studies

    if not studies:
        found = extraction_studies(proj.engine, proj.protocol)
        if not found:
            raise MetasiftError(
                "no study is included at full text yet; extraction works on included studies "
                "(see 'metasift status'), or name records with --studies 3,7,12."
            )
        return found
    try:
        return [int(x) for x in studies.replace(" ", "").split(",") if x]
    except ValueError:
        raise MetasiftError(f"--studies {studies!r}: expected ids like 3,7,12") from None


@extract_app.command("template")
def extract_template(
    project: ProjectOpt = Path("."),
    out: Annotated[Path, typer.Option(help="File to write: .csv or .xlsx.")] = Path(
        "extraction.xlsx"
    ),
    studies: StudiesOpt = None,
    reviewer: Annotated[
        str | None, typer.Option(help="Pre-fill with this reviewer's values.")
    ] = None,
) -> None:
    """Write the extraction template (one row per study; add arm and result rows)."""
    from metasift.extraction.stage import export_template
    from metasift.project import Project

    with Project.open(project) as proj:
        n = export_template(proj.engine, proj.protocol, out, _study_ids(proj, studies), reviewer)
    console.print(
        f"Wrote {_safe(out)} ({n} rows). Fill it in, then 'metasift extract import {_safe(out)}'."
    )


@extract_app.command("import")
def extract_import(
    file: Annotated[Path, typer.Argument(help="A filled-in template (.csv or .xlsx).")],
    reviewer: ReviewerOpt = None,
    project: ProjectOpt = Path("."),
    studies: StudiesOpt = None,
) -> None:
    """Import a filled-in template; nothing is stored unless every cell is valid."""
    from metasift.extraction.stage import import_template
    from metasift.project import Project

    with Project.open(project) as proj:
        reviewer = _member(proj, reviewer)
        result = import_template(
            proj.engine, proj.protocol, file, reviewer, _study_ids(proj, studies)
        )
    if result.errors:
        for error in result.errors:
            err_console.print(f"  {_safe(error.describe())}")
        raise MetasiftError(
            f"{file}: {len(result.errors)} invalid cell(s); nothing imported. Fix them and "
            f"import again."
        )
    console.print(f"{_safe(file)}: imported {result.stored} values for {_safe(reviewer)}.")


@extract_app.command("discrepancies")
def extract_discrepancies(project: ProjectOpt = Path("."), studies: StudiesOpt = None) -> None:
    """List the values on which the reviewers of a study disagree (or one is missing)."""
    from metasift.extraction.stage import discrepancies
    from metasift.project import Project

    with Project.open(project) as proj:
        found = discrepancies(proj.engine, _study_ids(proj, studies))
    for d in found:
        console.print(_safe(d.describe()))
    console.print(f"{len(found)} discrepancies")


@extract_app.command("reconcile")
def extract_reconcile(
    by: Annotated[str, typer.Option(help="Who reconciles.")],
    project: ProjectOpt = Path("."),
    study: Annotated[int | None, typer.Option(help="Study id.")] = None,
    field: Annotated[str | None, typer.Option(help="Field (or statistic) name.")] = None,
    arm: Annotated[str, typer.Option(help="Arm, for arm and result values.")] = "",
    outcome: Annotated[str, typer.Option(help="Outcome, for result values.")] = "",
    timepoint: Annotated[str, typer.Option(help="Time point, for result values.")] = "",
    take: Annotated[str | None, typer.Option(help="Keep this reviewer's value.")] = None,
    value: Annotated[str | None, typer.Option(help="Record this value instead.")] = None,
    agreements: Annotated[
        bool, typer.Option(help="Record the consensus wherever all reviewers agree.")
    ] = False,
    studies: StudiesOpt = None,
) -> None:
    """Settle a discrepancy (--study --field with --take or --value), or accept agreements."""
    from metasift.extraction.stage import reconcile, reconcile_agreements
    from metasift.project import Project

    with Project.open(project) as proj:
        by = _member(proj, by)
        if agreements:
            n = reconcile_agreements(proj.engine, _study_ids(proj, studies), by)
            console.print(f"Recorded {n} agreed values as consensus.")
            return
        if study is None or field is None:
            raise MetasiftError("reconcile needs --study and --field (or --agreements)")
        key = (study, field, arm, outcome, timepoint)
        chosen = reconcile(proj.engine, proj.protocol, key, by, take=take, value_text=value)
    console.print(f"study {study} {_safe(field)}: consensus {_safe(repr(chosen))}")


@extract_app.command("values")
def extract_values(
    project: ProjectOpt = Path("."),
    studies: StudiesOpt = None,
    reviewer: Annotated[str | None, typer.Option(help="Only this reviewer's values.")] = None,
) -> None:
    """List extracted values with who entered them, when, and from where."""
    from metasift.extraction.store import get_values
    from metasift.project import Project

    with Project.open(project) as proj:
        ids = _study_ids(proj, studies) if studies else None
        rows = get_values(proj.engine, ids, reviewer)
    table = Table("study", "field", "arm/outcome/time", "value", "reviewer", "source", "entered")
    for v in rows:
        where = " / ".join(x for x in (v.arm, v.outcome, v.timepoint) if x)
        detail = v.source_detail.get("file") or v.source_detail.get("by") or ""
        if "suggestion" in v.source_detail:
            detail = f"suggestion {v.source_detail['suggestion']['suggestion_id']}"
        table.add_row(
            str(v.study_id),
            _safe(v.field),
            _safe(where),
            _safe(v.value),
            _safe(v.reviewer),
            _safe(f"{v.source} {detail}".strip()),
            v.entered_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@extract_app.command("suggest")
def extract_suggest(
    project: ProjectOpt = Path("."),
    studies: StudiesOpt = None,
    text: Annotated[
        Path | None, typer.Option(help="Pasted result text of one study (with --studies ID).")
    ] = None,
    learn_design: Annotated[
        bool,
        typer.Option(help="Where no design rule applies, use a model fitted on accepted designs."),
    ] = False,
) -> None:
    """Suggest designs, entities, sample sizes and statistics from abstracts (or --text)."""
    from metasift.extraction.stage import design_model, run_suggestions
    from metasift.project import Project

    pasted = None
    if text is not None:
        if not text.exists():
            raise MetasiftError(f"{text}: no such file")
        pasted = (text.name, text.read_text(encoding="utf-8"))
    with Project.open(project) as proj, _progress() as progress:
        ids = _study_ids(proj, studies)
        task = progress.add_task("Suggesting", total=len(ids))
        model = design_model(proj.engine, proj.protocol) if learn_design else None
        added = run_suggestions(
            proj.engine,
            proj.protocol,
            ids,
            pasted=pasted,
            model=model,
            on_study=lambda n: progress.update(task, completed=n),
        )
    console.print(
        f"{added} new suggestions for {len(ids)} studies; review them with "
        f"'metasift extract review --reviewer NAME'."
    )


@extract_app.command("review")
def extract_review(
    reviewer: ReviewerOpt = None,
    project: ProjectOpt = Path("."),
    studies: StudiesOpt = None,
    id: Annotated[int | None, typer.Option("--id", help="One suggestion to act on.")] = None,
    action: Annotated[str | None, typer.Option(help="accept, edit or reject (with --id).")] = None,
    value: Annotated[str | None, typer.Option(help="Corrected value (edit).")] = None,
    field: Annotated[str | None, typer.Option(help="Record under this field instead.")] = None,
    arm: Annotated[str | None, typer.Option(help="Arm of a statistic.")] = None,
    outcome: Annotated[str | None, typer.Option(help="Outcome of a statistic.")] = None,
    timepoint: Annotated[str | None, typer.Option(help="Time point of a statistic.")] = None,
) -> None:
    """Show pending suggestions with their source sentence; accept, edit or reject them."""
    from metasift.extraction.stage import review_suggestion
    from metasift.extraction.store import get_suggestions
    from metasift.project import Project

    with Project.open(project) as proj:
        reviewer = _member(proj, reviewer)
        if id is not None:
            if action is None:
                raise MetasiftError("--id needs --action accept, edit or reject")
            done = review_suggestion(
                proj.engine,
                proj.protocol,
                id,
                action,
                reviewer,
                value_text=value,
                arm=arm,
                outcome=outcome,
                timepoint=timepoint,
                field_name=field,
            )
            console.print(
                f"suggestion {done.id}: {done.status} "
                f"({_safe(done.field)} = {_safe(repr(done.final_value))})"
            )
            return
        ids = _study_ids(proj, studies) if studies else None
        pending = get_suggestions(proj.engine, ids, status="pending")
        console.print(
            f"{len(pending)} pending suggestions. a=accept, e=edit, r=reject, s=skip, q=quit"
        )
        for s in pending:
            before = s.sentence[: s.span_start - s.sentence_start]
            after = s.sentence[s.span_end - s.sentence_start :]
            console.print(
                f"\n[bold]#{s.id}[/bold] study {s.study_id} [cyan]{_safe(s.field)}[/cyan] = "
                f"[bold]{_safe(s.value)}[/bold]  ({_safe(s.method)}, {s.confidence:.2f})"
            )
            console.print(
                f"  {_safe(s.text_source)} \\[{s.span_start}:{s.span_end}]: "
                f"...{_safe(before[-80:])}[reverse]{_safe(s.cue)}[/reverse]{_safe(after[:80])}..."
            )
            console.print(f"  why: {_safe(s.explanation)}", highlight=False)
            choice = typer.prompt("  action", default="s").strip().lower()[:1]
            if choice == "q":
                break
            if choice not in ("a", "e", "r"):
                continue
            kwargs = {}
            if choice == "e":
                kwargs["value_text"] = typer.prompt("  value")
            if s.field == "statistic" and choice != "r":
                kwargs["outcome"] = typer.prompt("  outcome")
                kwargs["arm"] = typer.prompt("  arm", default=_safe(s.arm or "", markup=False))
                kwargs["timepoint"] = typer.prompt("  time point", default="")
            act = {"a": "accept", "e": "edit", "r": "reject"}[choice]
            try:
                done = review_suggestion(proj.engine, proj.protocol, s.id, act, reviewer, **kwargs)
            except MetasiftError as exc:
                err_console.print(f"  [red]not recorded:[/red] {_safe(exc)}")
                continue
            console.print(f"  {done.status}")


@extract_app.command("map")
def extract_map(
    project: ProjectOpt = Path("."),
    studies: StudiesOpt = None,
    out: Annotated[Path, typer.Option(help="Heatmap file: .svg, .png or .pdf.")] = Path(
        "evidence-map.svg"
    ),
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Counts as CSV.")] = None,
) -> None:
    """Evidence map: studies by disease x intervention x study type, as a heatmap."""
    from metasift.extraction.plots import evidence_heatmap, save
    from metasift.extraction.stage import evidence_map
    from metasift.project import Project
    from metasift.records.cells import SafeWriter

    with Project.open(project) as proj:
        emap = evidence_map(proj.engine, proj.protocol, _study_ids(proj, studies))
    save(evidence_heatmap(emap), out)
    if csv_out:
        with csv_out.open("w", encoding="utf-8", newline="") as fh:
            writer = SafeWriter(fh)
            writer.writerow([*emap.fields, "studies", "study_ids"])
            for row in emap.records():
                writer.writerow(
                    [
                        *(row[f] for f in emap.fields),
                        row["studies"],
                        " ".join(map(str, row["study_ids"])),
                    ]
                )
    console.print(f"Wrote {_safe(out)}" + (f" and {_safe(csv_out)}" if csv_out else ""))


@extract_app.command("table")
def extract_table(
    project: ProjectOpt = Path("."),
    studies: StudiesOpt = None,
    out: Annotated[Path, typer.Option(help=".csv or .html")] = Path("characteristics.csv"),
) -> None:
    """The characteristics-of-included-studies table."""
    from metasift.extraction.stage import characteristics
    from metasift.project import Project

    with Project.open(project) as proj:
        table = characteristics(proj.engine, proj.protocol, _study_ids(proj, studies))
    text = table.to_html() if out.suffix.lower() == ".html" else table.to_csv()
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote {_safe(out)} ({len(table.rows)} studies)")


@rob_app.command("record")
def rob_record(
    study: Annotated[int, typer.Option(help="Study id.")],
    tool: Annotated[str, typer.Option(help="rob2, robins-i or syrcle.")],
    domain: Annotated[str, typer.Option(help="D1..D5 (RoB 2), D1..D7 (ROBINS-I), 1..10 (SYRCLE).")],
    reviewer: ReviewerOpt = None,
    project: ProjectOpt = Path("."),
    answer: Annotated[
        list[str] | None, typer.Option(help="Signalling answer Q=A, e.g. 1.1=PY (repeatable).")
    ] = None,
    judgement: Annotated[str | None, typer.Option(help="Judgement (else the algorithm's).")] = None,
    support: Annotated[str, typer.Option(help="Support for the judgement (quotes, reasons).")] = "",
    result: Annotated[str, typer.Option(help="The result assessed (RoB 2, ROBINS-I).")] = "",
) -> None:
    """Record one domain judgement with its support."""
    from metasift.extraction.stage import record_rob
    from metasift.project import Project

    answers = {}
    for item in answer or []:
        question, sep, value = item.partition("=")
        if not sep:
            raise MetasiftError(f"--answer {item!r}: expected QUESTION=ANSWER, e.g. 1.2=PY")
        answers[question.strip()] = value.strip()
    with Project.open(project) as proj:
        proposed, final = record_rob(
            proj.engine,
            study_id=study,
            tool=tool,
            domain=domain,
            reviewer=_member(proj, reviewer),
            answers=answers,
            judgement=judgement,
            support=support,
            result=result,
        )
    note = f" (algorithm: {proposed})" if proposed and proposed != final else ""
    console.print(f"study {study} {_safe(tool)} {_safe(domain)}: {_safe(final)}{_safe(note)}")


@rob_app.command("list")
def rob_list(
    tool: Annotated[str, typer.Option(help="rob2, robins-i or syrcle.")],
    project: ProjectOpt = Path("."),
    studies: StudiesOpt = None,
) -> None:
    """Domain and overall judgements per study."""
    from metasift.extraction.rob import TOOLS
    from metasift.extraction.stage import rob_table
    from metasift.project import Project

    with Project.open(project) as proj:
        rows = rob_table(proj.engine, _study_ids(proj, studies), tool)
    keys = [d.key for d in TOOLS[tool]]
    table = Table("study", "result", *keys, "overall")
    for r in rows:
        table.add_row(
            str(r.study_id),
            _safe(r.result),
            *(_safe(r.domains.get(k, "")) for k in keys),
            _safe(r.overall or ""),
        )
    console.print(table)


@rob_app.command("plot")
def rob_plot(
    tool: Annotated[str, typer.Option(help="rob2, robins-i or syrcle.")],
    project: ProjectOpt = Path("."),
    studies: StudiesOpt = None,
    out: Annotated[Path, typer.Option(help=".svg, .png or .pdf")] = Path("rob.svg"),
    kind: Annotated[str, typer.Option(help="traffic (per study) or summary (bars).")] = "traffic",
) -> None:
    """Traffic-light or summary plot in the style of robvis."""
    from metasift.extraction.plots import save, summary_plot, traffic_light
    from metasift.extraction.stage import citation, rob_table, study_records
    from metasift.project import Project

    with Project.open(project) as proj:
        ids = _study_ids(proj, studies)
        rows = rob_table(proj.engine, ids, tool)
        recs = study_records(proj.engine, [r.study_id for r in rows])
    for r in rows:
        r.label = citation(recs[r.study_id]).split(":")[0]
    if not rows:
        raise MetasiftError(f"no {tool} judgements recorded yet ('metasift rob record')")
    if kind not in ("traffic", "summary"):
        raise MetasiftError("--kind is traffic or summary")
    figure = traffic_light(rows, tool) if kind == "traffic" else summary_plot(rows, tool)
    save(figure, out)
    console.print(f"Wrote {out}")


# --- certainty of evidence (GRADE) and the Summary of Findings ---------------------------------

grade_app = typer.Typer(
    help="GRADE: certainty of evidence per outcome, proposed from the data, judged by reviewers.",
    no_args_is_help=True,
    context_settings=_GROUP_SETTINGS,
)
app.add_typer(grade_app, name="grade")


@grade_app.command("list")
def grade_list(
    project: ProjectOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Each analysis' domains: metasift's proposal and rule, the reviewers' judgement."""
    import json

    from metasift.project import Project
    from metasift.workflow.certainty import grade_review

    with Project.open(project) as proj:
        graded = grade_review(proj.engine, proj.protocol)
    if as_json:
        sys.stdout.write(json.dumps([g.to_dict() for g in graded], indent=2) + "\n")
        return
    if not graded:
        console.print("No analyses to grade: add [[analysis.analyses]] to review.toml.")
        return
    for item in graded:
        data = item.to_dict()
        table = Table("domain", "proposed", "judgement", "reviewer", "rule / footnote")
        for d in data["domains"]:
            table.add_row(
                _safe(d["domain"]),
                _safe(d["proposed"]),
                _safe(d["judgement"]),
                _safe(d["reviewer"] or "-"),
                _safe(d["footnote"]),
            )
        console.print(
            f"[bold]{_safe(item.name)}[/bold]: certainty {_safe(data['certainty'])}"
            + (f" (pending: {', '.join(item.pending)})" if item.pending else "")
        )
        console.print(table)


@grade_app.command("judge")
def grade_judge(
    analysis: Annotated[str, typer.Argument(help="The analysis' name in review.toml.")],
    domain: Annotated[
        str,
        typer.Argument(
            help="risk_of_bias, inconsistency, indirectness, imprecision, publication_bias "
            "(non-randomised: large_effect, dose_response, confounding)."
        ),
    ],
    judgement: Annotated[
        str | None,
        typer.Option(help="e.g. 'not serious', 'serious', 'very serious' (omit to confirm)."),
    ] = None,
    footnote: Annotated[
        str, typer.Option(help="Why (shown in the Summary of Findings); needed to override.")
    ] = "",
    reviewer: ReviewerOpt = None,
    project: ProjectOpt = Path("."),
) -> None:
    """Confirm metasift's proposal for one domain, or override it with a footnote."""
    from metasift.project import Project
    from metasift.workflow.certainty import record_grade

    with Project.open(project) as proj:
        stored = record_grade(
            proj.engine,
            proj.protocol,
            analysis=analysis,
            domain=domain,
            reviewer=_reviewer(reviewer),
            judgement=judgement,
            footnote=footnote,
        )
    how = "overrides the proposal" if stored.overridden else "confirms the proposal"
    console.print(f"{_safe(analysis)}, {_safe(domain)}: {_safe(stored.label)} ({how}).")


@app.command()
def sof(
    project: ProjectOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    docx: Annotated[
        Path | None, typer.Option(help="Also write the table as a Word document (.docx).")
    ] = None,
    markdown: Annotated[bool, typer.Option(help="Print the table as Markdown.")] = False,
) -> None:
    """Summary of Findings in GRADEpro's layout, from the analyses and their certainty."""
    import json

    from metasift.project import Project
    from metasift.workflow.certainty import summary_of_findings

    with Project.open(project) as proj:
        table = summary_of_findings(proj.engine, proj.protocol)
    if not table.rows:
        raise MetasiftError("no analyses to summarise: add [[analysis.analyses]] to review.toml.")
    if docx is not None:
        from metasift.report.sof import write_docx

        write_docx(table, docx)
        err_console.print(f"Wrote {_safe(docx)}")
    if as_json:
        sys.stdout.write(json.dumps(table.to_dict(), indent=2, ensure_ascii=False) + "\n")
    elif markdown:
        from metasift.report.sof import sof_markdown

        sys.stdout.write(sof_markdown(table))
    else:
        grid = Table(*table.headers, title=f"Summary of findings: {_safe(table.title)}")
        for row in table.rows:
            grid.add_row(*(_safe(c) for c in row.cells()))
        console.print(grid)
        for mark, text in table.footnotes:
            console.print(f"{mark}. {_safe(text)}")


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

    from metasift.project import Project
    from metasift.search import search_project

    # Retry notices print above the progress bar; the count warning is printed at the end.
    notices = _notices()
    notices.addFilter(lambda record: record.name != "metasift.search.runner")
    logging.getLogger("metasift.search").addHandler(notices)
    tasks: dict[str, object] = {}
    with Project.open(project) as proj, _progress() as progress:

        def on_progress(spec, retrieved: int, reported: int | None) -> None:
            if spec.source not in tasks:
                tasks[spec.source] = progress.add_task(
                    f"Searching {_safe(spec.source)}", total=None
                )
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
            err_console.print(f"[red]error:[/red] {_safe(result)}")
            continue
        console.print(_safe(result.line()))
        if result.warning:
            err_console.print(
                f"[bold red]WARNING:[/bold red] {_safe(result.spec.source)}: "
                f"{_safe(result.warning)}"
            )
    if failed:
        raise typer.Exit(1)


def _notices() -> "logging.Handler":
    """A log handler that prints notices (retries, warnings) above a progress bar, each
    printable as is: a notice can quote a server's reply."""
    import logging

    from rich.logging import RichHandler

    class Printable(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return _safe(super().format(record), markup=False)

    handler = RichHandler(console=err_console, show_time=False, show_path=False)
    handler.setFormatter(Printable())
    return handler


@app.command()
def update(
    project: ProjectOpt = Path("."),
    offline: Annotated[
        bool,
        typer.Option(help="Search nothing: work on what was imported into the update's round."),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="Search from this day (YYYY-MM-DD) instead of the last search's."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    reviewer: ReviewerOpt = None,
) -> None:
    """Living review: search for records added since the last search, as a new round;
    de-duplicate them against the project, score them with the review's model and list
    those above the inclusion threshold, with how many relevant records the update holds."""
    import json
    import logging

    from metasift.project import Project
    from metasift.store.records import iter_records
    from metasift.store.schema import records
    from metasift.workflow.update import run_update

    notices = _notices()
    notices.addFilter(lambda record: record.name != "metasift.search.runner")
    logging.getLogger("metasift.search").addHandler(notices)
    with Project.open(project) as proj:
        try:
            with _progress() as progress:
                result = run_update(
                    proj,
                    _reviewer(reviewer),
                    offline=offline,
                    since=since,
                    progress=_stage_progress(progress, capitalize=False),
                )
        finally:
            logging.getLogger("metasift.search").removeHandler(notices)
        listed = result.listing()
        titles = {
            rid: r.title or ""
            for rid, r in iter_records(proj.engine, records.c.id.in_([i for i, _ in listed]))
        }
    if json_out:
        _stdout().write(json.dumps(_update_json(result, titles), indent=2) + "\n")
    else:
        _print_update(result, titles)
    if result.failed:
        raise typer.Exit(1)


def _update_json(result, titles: dict[int, str]) -> dict[str, Any]:
    scores = result.scores
    return {
        "round": result.round,
        "resumed": result.resumed,
        "windows": result.windows,
        "searches": [
            {"source": s.spec.source, "error": str(s)}
            if isinstance(s, MetasiftError)
            else {
                "source": s.spec.source,
                "reported": s.reported,
                "retrieved": s.retrieved,
                "imported": s.imported,
                "seen_before": s.merged,
                "rejected": s.rejected,
            }
            for s in result.searches
        ],
        "round_records": result.round_records,
        "duplicates": result.duplicates,
        "new_records": len(result.new_ids),
        "threshold": scores.threshold if scores else None,
        "target_recall": scores.target_recall if scores else None,
        "expected_relevant": None
        if scores is None
        else {
            "mean": scores.expected.mean,
            "low": scores.expected.low,
            "high": scores.expected.high,
            "level": scores.expected.level,
            "method": scores.expected.method,
        },
        "listed": [
            {"record": rid, "probability": p, "title": titles.get(rid, "")}
            for rid, p in result.listing()
        ],
    }


def _print_update(result, titles: dict[int, str]) -> None:
    verb = "continued" if result.resumed else "started"
    console.print(f"Round {result.round} ({verb}).")
    for s in result.searches:
        if isinstance(s, MetasiftError):
            err_console.print(f"[red]error:[/red] {_safe(s)}")
            continue
        window = result.windows.get(s.spec.source, {})
        console.print(
            f"{_safe(s.spec.source)}, added {window.get('from')} to {window.get('to')}: "
            f"{_safe(s.line().split(': ', 1)[1])}"
        )
    if result.failed:
        err_console.print(
            "Some searches failed; run 'metasift update' again to resume them. Nothing was "
            "de-duplicated or scored yet."
        )
        return
    console.print(
        f"{result.round_records:,} records in the round, {result.duplicates:,} duplicates of "
        f"records already in the review (or of each other): {len(result.new_ids):,} new "
        "records to screen."
    )
    scores = result.scores
    if scores is None:
        return
    listed = result.listing()
    table = Table("record", "probability", "title", title="New records above the threshold")
    for rid, p in listed:
        table.add_row(str(rid), f"{p:.2f}", _safe(titles.get(rid, "")))
    console.print(table)
    e = scores.expected
    console.print(
        f"{len(listed):,} of {len(result.new_ids):,} new records are at or above the inclusion "
        f"threshold (probability {scores.threshold:.2f}: where the review's included records "
        f"reach its target recall of {scores.target_recall:.0%})."
    )
    console.print(
        f"Expected relevant records in this update: {e.mean:.1f} "
        f"({e.level:.0%} interval {e.low}-{e.high}; sum of calibrated probabilities, "
        f"{e.method})."
    )
    console.print("Screen them as usual: 'metasift screen' shows the new round's records.")


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
        _stdout().write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"Wrote {_safe(out)}")


def _stage_progress(progress: "Progress", *, capitalize: bool = True):
    """A core progress callback (step, done, total) drawn as one rich bar per step; a step
    that names a source ("Searching PubMed") keeps its own capitals."""
    tasks: dict[str, int] = {}

    def update(step: str, done: int, total: int | None) -> None:
        if step not in tasks:
            label = _safe(step.capitalize() if capitalize else step)
            tasks[step] = progress.add_task(label, total=total or None)
        progress.update(tasks[step], completed=done, total=total or None)

    return update


_MARKS = {
    "agree": "= agree",
    "differ": "≠ DIFFER",
    "close": "~ differ, weighed little",
    "missing": "  missing",
}


def _print_pair(pair: str, score: float, reason: str, rows: list) -> None:
    """One queued pair: both records side by side, each field marked agree/differ."""
    a, _, b = pair.partition("-")
    table = Table(
        "field", f"record {a}", f"record {b}", "", title=f"pair {pair}: {score:g}, {reason}"
    )
    for row in rows:
        table.add_row(row.field, _safe(row.a), _safe(row.b), _MARKS.get(row.status, row.status))
    console.print(table)


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
    review: Annotated[
        bool,
        typer.Option(help="List the pairs waiting for a decision, both records side by side."),
    ] = False,
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
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Find duplicate records across all imports; keep one merged record per cluster."""
    import getpass
    import json

    from metasift.dedup.settings import parse_settings

    if scheduler and not files:
        raise MetasiftError(
            "--scheduler de-duplicates files (metasift dedup FILE... --scheduler ADDRESS); "
            "a project's records are de-duplicated in this process."
        )
    if files and scheduler:
        _dedup_on_dask(files, out, scheduler, workers, review)
        return
    if files:
        from metasift.dedup.standalone import dedup_files, write_clusters

        records: list = []
        with _progress() as progress:
            rows, result = dedup_files(
                files, progress=_stage_progress(progress), records_out=records
            )
        if review:
            from metasift.dedup.standalone import queued_pairs

            # Records are numbered from 1 in reading order, as in the clusters CSV.
            for pair, comparison in queued_pairs(result, records):
                label = f"{pair.a + 1}-{pair.b + 1}"
                _print_pair(label, pair.evidence.score, pair.reason, comparison)
            err_console.print(
                f"{len(result.review)} pair(s) for a reviewer "
                f"({1000 * len(result.review) / max(result.n_records, 1):.1f} per 1,000 records)."
            )
        if out is None:
            write_clusters(rows, _stdout())
        else:
            with out.open("w", encoding="utf-8", newline="") as fh:
                write_clusters(rows, fh)
            err_console.print(
                f"Wrote {_safe(out)}: {len(rows)} records, "
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
            for item in items:
                _print_pair(item.pair, item.score, item.reason, item.side_by_side())
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
                        _safe(m["role"]),
                        str(m["matched_with"] or ""),
                        f"{m['score']:g}" if m["score"] is not None else "",
                        _safe(m["rule"] or ""),
                        _safe(", ".join(m["fields"])),
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


def _client(scheduler: str | None, workers: int | None):
    from metasift.scale import dask_client

    address = None if scheduler in (None, "local") else scheduler
    return dask_client(address, n_workers=workers)


def _dedup_on_dask(
    files: list[Path], out: Path | None, scheduler: str, workers: int | None, review: bool
) -> None:
    """``dedup FILE... --scheduler``: the same rows as in one process, computed on Dask."""
    from metasift.dedup.distributed import dedup_files_distributed
    from metasift.dedup.standalone import write_clusters

    if review:
        raise MetasiftError("--review lists pairs in one process: leave out --scheduler.")
    with _client(scheduler, workers) as client, _progress() as progress:
        rows, unique = dedup_files_distributed(
            files,
            client,
            progress=_stage_progress(progress),
        )
    if out is None:
        write_clusters(rows, _stdout())
        return
    with out.open("w", encoding="utf-8", newline="") as fh:
        write_clusters(rows, fh)
    err_console.print(f"Wrote {_safe(out)}: {len(rows)} records, {unique} unique.")


@app.command()
def shards(
    files: Annotated[list[Path], typer.Argument(help="Files to convert (any importable format).")],
    out: Annotated[Path, typer.Option(help="Folder to write the shards to.")],
    rows: Annotated[int, typer.Option(min=1, help="Records per shard.")] = 50_000,
) -> None:
    """Write records as Parquet shards (id = FILE-NAME:POSITION) for 'score' and 'dedup'."""
    from metasift.records.formats import Rejection, read_file
    from metasift.records.shards import write_shards

    rejected = 0

    def items():
        nonlocal rejected
        for path in files:
            for item in read_file(path):
                if isinstance(item, Rejection):
                    rejected += 1
                    continue
                yield f"{path.name}:{item.source_position}", item

    written = write_shards(items(), out, rows)
    err_console.print(
        f"Wrote {len(written)} shard(s) to {_safe(out)}"
        + (f"; {rejected} record(s) rejected by the readers." if rejected else ".")
    )


@app.command()
def score(
    shard_files: Annotated[
        list[Path], typer.Option("--in", help="Record shards (.parquet) to score (repeatable).")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the scores (one file per shard).")],
    project: ProjectOpt = Path("."),
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Score record shards with the project's screening model, on Dask (a local cluster by
    default): writes OUT/model.pkl, then OUT/SHARD with columns id, score."""
    from metasift.project import Project
    from metasift.screening.model_file import MODEL_FILE, project_model, save_model
    from metasift.screening.shards import outputs, score_shards

    outputs(shard_files, out)  # refuses clashing names before any work
    with Project.open(project) as proj:
        model = project_model(proj.engine, proj.protocol)
    out.mkdir(parents=True, exist_ok=True)
    model_file = save_model(model, out.resolve() / MODEL_FILE)
    err_console.print(_safe(repr(model)))
    with _client(scheduler, workers) as client, _progress() as progress:
        task = progress.add_task(f"Scoring {len(shard_files)} shard(s)", total=None)
        done = score_shards(
            model_file,
            [p.resolve() for p in shard_files],
            out.resolve(),
            client,
            progress=lambda k, total, scored: progress.update(task, completed=scored),
        )
    total = sum(n for _, n in done)
    err_console.print(f"Scored {total} records in {len(done)} shard(s); scores in {_safe(out)}.")


@app.command()
def simulate(
    dataset: Annotated[
        Path | None,
        typer.Argument(help="SYNERGY folder or any importable file with a label column."),
    ] = None,
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
    prior_idx: Annotated[
        list[int] | None,
        typer.Option(
            help="A prior record by its position in the file (0 is the first record read); "
            "repeat for several. Instead of drawing priors by seed, e.g. to pair a run with "
            "ASReview's --prior-idx."
        ),
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
    screen_all: Annotated[
        bool,
        typer.Option(
            help="Keep ranking after the last relevant record is found. By default the "
            "simulation stops there, as ASReview's does: the records left are all irrelevant, "
            "so every metric and stopping rule comes out the same."
        ),
    ] = False,
) -> None:
    """Simulate screening of a labelled dataset and report WSS, recall, ATD and stopping."""
    import json

    from metasift.screening.models import MODELS, default_model_name, get_model

    if list_models:
        from rich.markup import escape

        for name, spec in MODELS.items():
            mark = " (default)" if name == default_model_name() else ""
            console.print(f"[bold]{name}[/bold]{mark}: {escape(spec.description)}")
        return
    if dataset is None:
        raise MetasiftError("give a DATASET to simulate (or --list-models to list the models).")
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
    texts = record_texts(data.records, spec.text_fields)
    with _progress_with_features() as progress:
        task = progress.add_task(f"Simulating {_safe(data.name)}", total=len(texts))
        result = run_simulation(
            texts,
            data.labels,
            model=spec,
            seed=seed,
            prior=chosen,
            prior_indices=prior_idx or None,
            criteria_text=criteria_text,
            until_all_found=not screen_all,
            on_step=lambda n, total: progress.update(task, completed=n),
        )
        progress.update(task, completed=len(texts))  # the rest is known to be irrelevant
    m = result.metrics
    title = f"{_safe(data.name)}: {m['n_records']} records, {m['n_relevant']} relevant"
    table = Table(title=title)
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
    priors = f"records {', '.join(map(str, prior_idx))}" if prior_idx else chosen.describe()
    console.print(f"model {spec.name}, seed {seed}, priors: {priors}")
    if json_out:
        ids = [r.source_position for r in data.records]
        json_out.write_text(json.dumps(result_document(result, ids, data.name), indent=1))
        err_console.print(f"Wrote {_safe(json_out)}")
    if plot:
        plot_recall(result, plot, title=f"{data.name}: recall curve ({spec.name}, seed {seed})")
        err_console.print(f"Wrote {_safe(plot)}")


SCREEN_KEYS = "[i]nclude  [e]xclude  [m]aybe  [a] more of the abstract  [u]ndo  [q]uit > "
SHORT_KEYS = "i/e/m a u q > "


def _screen_view(shown, status, criteria, *, page: int = 0, out=None) -> int:
    """Draw one record to screen, fitted to the terminal: the title, the footer and the keys
    always show; the abstract gets the lines left and is paged (``page``) when longer. On a
    small terminal the title is cut short and the footer and keys said briefly.

    Returns the number of pages the abstract takes at this terminal size.
    """
    from rich.panel import Panel
    from rich.text import Text

    out = out or console
    width, height = out.size.width, out.size.height
    inner = max(width - 4, 10)  # the panel's borders and padding
    record = shown.record

    def wrapped(text: str, style: str = "", limit: int | None = None) -> list[Text]:
        body = Text(_safe(text, markup=False), style=style)
        body.highlight_words(criteria.include_terms, style="bold green", case_sensitive=False)
        body.highlight_words(criteria.exclude_terms, style="bold red", case_sensitive=False)
        lines = list(body.wrap(out, inner))
        if limit is not None and len(lines) > limit:
            lines = lines[:limit]
            lines[-1].truncate(inner - 1)
            lines[-1].append("…")
        return lines

    def rows(text: str, at: int = width) -> int:
        return len(Text(text).wrap(out, at))

    meta = " · ".join(
        x for x in (record.first_author, str(record.year or ""), record.journal or "") if x
    )
    # Roomy first; then briefer until the title, footer and keys leave the abstract a line.
    for title_limit, with_meta, brief in ((4, True, False), (2, False, True), (1, False, True)):
        title = wrapped(record.title or "(no title)", "bold", title_limit)
        meta_lines = wrapped(meta, "dim", 2) if meta and with_meta else []
        footer = _screen_status(status, brief=brief)
        keys = SHORT_KEYS if brief else SCREEN_KEYS
        # Borders (2), the blank line after the title, the "more" line, and the key echoed.
        more = 1 if brief else rows("[abstract lines 999-999 of 999: a for more]", inner)
        fixed = 2 + len(title) + len(meta_lines) + 1 + more + rows(footer) + rows(keys) + 1
        if height - fixed >= 1:
            break
    room = max(height - fixed, 1)
    abstract = wrapped(record.abstract or "(no abstract)")
    pages = max(1, -(-len(abstract) // room))
    page %= pages
    shown_lines = abstract[page * room : (page + 1) * room]
    body = Text("\n").join([*title, *meta_lines, Text(""), *shown_lines])
    if pages > 1:
        first, last = page * room + 1, page * room + len(shown_lines)
        note = (
            f"[{first}-{last}/{len(abstract)}, a]"
            if brief
            else (f"[abstract lines {first}-{last} of {len(abstract)}: a for more]")
        )
        body.append("\n" + note, style="dim")
    rank = "" if shown.rank is None or brief else f"ranked {shown.rank} of the records left"
    out.print(Panel(body, title=f"record {shown.record_id}", subtitle=rank), soft_wrap=False)
    out.print(footer, markup=False, highlight=False)
    out.print(keys, end="", markup=False, highlight=False)
    return pages


def _screen_status(status, *, brief: bool = False) -> str:
    """The screener's footer: progress and the stopping rule's estimate, in words."""
    from metasift.screening.stopping import recall_in_words

    if brief:
        recall = (
            "recall: too early"
            if status.estimated_recall is None
            else f"~{100 * status.estimated_recall:.0f}% found"
        )
        stop = ", may stop" if status.stop else ""
        return f"screened {status.n_screened:,} of {status.n_records:,} · {recall}{stop}"
    recall = recall_in_words(status.estimated_recall, status.recall_lower_bound, status.stop)
    return (
        f"screened {status.n_screened:,} of {status.n_records:,} "
        f"({100 * status.n_screened / max(status.n_records, 1):.0f}%) · "
        f"{status.n_included:,} judged relevant (include or maybe) · "
        f"{recall} [{status.rule}]"
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
    a more of a long abstract, u undo, q quit. Records are handed out as in the web app: a
    record another member is reading is passed over."""
    from metasift.project import Project
    from metasift.screening.session import KEYS
    from metasift.workflow.handout import TeamScreening

    name = _reviewer(reviewer)
    with Project.open(project) as proj:
        err_console.print("Preparing the ranking ...")
        team = TeamScreening(proj.engine, proj.protocol)
        with _progress_with_features():
            rule = team.session(name).rule.describe()
        err_console.print(f"Stopping rule: {rule}.", markup=False)
        decided = page = 0
        try:
            _, shown, why = team.decide_and_next(name)
            while True:
                if shown is None:
                    console.print(why or "No record is waiting for you.", markup=False)
                    break
                _screen_view(shown, team.status(), proj.protocol.criteria, page=page)
                key = _read_key()
                console.print(key or "")
                if key in (None, "q"):
                    break
                if key == "a":
                    page += 1
                    continue
                page = 0
                if key == "u":
                    undone = team.undo(name)
                    console.print(
                        f"undid the decision on record {undone}" if undone else "nothing to undo"
                    )
                    decided -= 1 if undone else 0
                    _, shown, why = team.decide_and_next(name)
                    continue
                if key not in KEYS:
                    console.print(f"unknown key {key!r}: use i, e, m, a, u or q")
                    continue
                stored, shown, why = team.decide_and_next(name, shown.record_id, KEYS[key])
                decided += int(stored)
                team.forget_status()
        finally:
            team.close()
        console.print(f"{decided} decision(s) stored for {name}.", markup=False)
        console.print(_screen_status(team.status()), markup=False)


# --- review workflow: reviewers, decisions, conflicts, full text, PRISMA, report, run ---------

reviewer_app = typer.Typer(
    help="Reviewers of the project and their roles.",
    no_args_is_help=True,
    context_settings=_GROUP_SETTINGS,
)
fulltext_app = typer.Typer(
    help="Full-text stage: reports sought, retrieved or not, grouped into studies, assessed.",
    no_args_is_help=True,
    context_settings=_GROUP_SETTINGS,
)
app.add_typer(reviewer_app, name="reviewer")
app.add_typer(fulltext_app, name="fulltext")

StageOpt = Annotated[str, typer.Option("--stage", help="title_abstract or full_text.")]


@reviewer_app.command("add")
def reviewer_add(
    name: str,
    role: Annotated[str, typer.Option(help="owner, reviewer or viewer.")] = "reviewer",
    project: ProjectOpt = Path("."),
    reviewer: ReviewerOpt = None,
) -> None:
    """Add a member to the review team (owners only, once the review has one)."""
    from metasift.project import Project
    from metasift.workflow.reviewers import add_reviewer

    with Project.open(project) as proj:
        add_reviewer(proj.engine, name, role, actor=_reviewer(reviewer))
    console.print(f"Added {name} ({role}).", markup=False)


@reviewer_app.command("role")
def reviewer_role(
    name: str,
    role: Annotated[str, typer.Argument(help="owner, reviewer or viewer.")],
    project: ProjectOpt = Path("."),
    reviewer: ReviewerOpt = None,
) -> None:
    """Change a member's role (owners only)."""
    from metasift.project import Project
    from metasift.workflow.reviewers import add_reviewer, get_reviewer

    with Project.open(project) as proj:
        get_reviewer(proj.engine, name)
        add_reviewer(proj.engine, name, role, actor=_reviewer(reviewer), replace=True)
    console.print(f"{name} is now {role}.", markup=False)


@reviewer_app.command("list")
def reviewer_list(project: ProjectOpt = Path(".")) -> None:
    """List the team: each member's role and standing decisions per stage."""
    from metasift.project import Project
    from metasift.workflow.state import review_state

    with Project.open(project) as proj:
        state = review_state(proj.engine, proj.protocol)
    table = Table("name", "role", "title/abstract", "full text")
    for member in state.team:
        made = state.decisions_by_reviewer.get(member.name, {})
        table.add_row(
            _safe(member.name),
            member.role,
            str(made.get("title_abstract", 0)),
            str(made.get("full_text", 0)),
        )
    console.print(table)


@app.command("decide")
def decide_cmd(
    record: Annotated[int, typer.Argument(help="Record id (see 'metasift records').")],
    decision: Annotated[str, typer.Argument(help="include, exclude or maybe.")],
    project: ProjectOpt = Path("."),
    stage: StageOpt = "title_abstract",
    reason: Annotated[str | None, typer.Option(help="Exclusion reason from the protocol.")] = None,
    note: Annotated[str | None, typer.Option(help="Free-text note.")] = None,
    reviewer: ReviewerOpt = None,
) -> None:
    """Record one decision on one record."""
    from metasift.project import Project
    from metasift.workflow.decisions import decide

    with Project.open(project) as proj:
        decide(
            proj.engine,
            proj.protocol,
            record_id=record,
            reviewer=_reviewer(reviewer),
            decision=decision,
            stage=stage,
            reason=reason,
            note=note,
        )
    console.print(f"record {record}: {decision} ({stage}) by {_safe(_reviewer(reviewer))}")


@app.command("decisions")
def decisions_cmd(
    project: ProjectOpt = Path("."),
    stage: StageOpt = "title_abstract",
    reviewer: ReviewerOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """The decisions you may see (under blind dual screening, only your own)."""
    import json

    from metasift.project import Project
    from metasift.workflow.decisions import visible_decisions

    me = _reviewer(reviewer)
    with Project.open(project) as proj:
        seen = visible_decisions(proj.engine, proj.protocol, me, stage)
    if fmt == "json":
        console.print_json(
            json.dumps(
                [
                    {
                        "record_id": v.record_id,
                        "status": v.status,
                        "decision": v.decision,
                        "reason": v.reason,
                        "votes": v.votes,
                    }
                    for v in seen.values()
                ]
            )
        )
        return
    table = Table("record", "status", "decision", "reason", "votes")
    for v in seen.values():
        votes = ", ".join(f"{k}: {d}" for k, d in v.votes.items())
        table.add_row(
            str(v.record_id), v.status, v.decision or "", _safe(v.reason or ""), _safe(votes)
        )
    console.print(table)


@app.command("conflicts")
def conflicts_cmd(project: ProjectOpt = Path("."), stage: StageOpt = "title_abstract") -> None:
    """Records on which reviewers disagree; resolve with 'metasift resolve'."""
    from metasift.project import Project
    from metasift.workflow.decisions import conflicts

    with Project.open(project) as proj:
        found = conflicts(proj.engine, proj.protocol, stage)
    if not found:
        console.print(f"No conflicts at {stage}.")
        return
    table = Table("record", "votes")
    for v in found:
        votes = "; ".join(
            f"{name}: {d}" + (f" ({v.reasons.get(name)})" if v.reasons.get(name) else "")
            for name, d in v.votes.items()
        )
        table.add_row(str(v.record_id), _safe(votes))
    console.print(table)
    console.print(f"{len(found)} conflict(s).")


@app.command("resolve")
def resolve_cmd(
    record: int,
    decision: str,
    project: ProjectOpt = Path("."),
    stage: StageOpt = "title_abstract",
    reason: Annotated[str | None, typer.Option(help="Exclusion reason from the protocol.")] = None,
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    reviewer: ReviewerOpt = None,
) -> None:
    """Resolve a conflict as a third reviewer."""
    from metasift.project import Project
    from metasift.workflow.decisions import resolve

    with Project.open(project) as proj:
        resolve(
            proj.engine,
            proj.protocol,
            record_id=record,
            resolver=_reviewer(reviewer),
            decision=decision,
            stage=stage,
            reason=reason,
            note=note,
        )
    console.print(
        f"record {record}: conflict resolved as {decision} by {_safe(_reviewer(reviewer))}"
    )


@app.command("agreement")
def agreement_cmd(project: ProjectOpt = Path("."), stage: StageOpt = "title_abstract") -> None:
    """Agreement between reviewers: percent agreement and kappa with its 95% CI."""
    from metasift.project import Project
    from metasift.workflow.decisions import agreement

    with Project.open(project) as proj:
        result = agreement(proj.engine, proj.protocol, stage)
    if result is None:
        console.print(f"No record has decisions from two reviewers at {stage}.")
        return
    name = "Cohen's" if result.method == "cohen" else "Fleiss'"
    console.print(
        f"{result.n_subjects} records, {result.n_raters} reviewers per record: "
        f"{result.percent_agreement:.1%} agreement, {name} kappa {result.kappa:.3f} "
        f"(95% CI {result.ci_lb:.3f} to {result.ci_ub:.3f})"
    )


@app.command("log")
def log_cmd(
    project: ProjectOpt = Path("."),
    actor: Annotated[str | None, typer.Option(help="Only this person's entries.")] = None,
    action: Annotated[str | None, typer.Option(help="Only actions starting with this.")] = None,
    record: Annotated[str | None, typer.Option(help="Only entries about this id.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the most recent N entries.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or jsonl.")] = "table",
) -> None:
    """The audit log: who did what, when, and the value before."""
    import json

    from metasift.project import Project
    from metasift.store.audit import iter_log

    with Project.open(project) as proj:
        entries = list(
            iter_log(proj.engine, actor=actor, action=action, entity_id=record, limit=limit)
        )
    if fmt == "jsonl":
        for e in entries:
            print(
                json.dumps(
                    {
                        "id": e.id,
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "entity": e.entity,
                        "entity_id": e.entity_id,
                        "previous": e.previous,
                        "value": e.value,
                        "note": e.note,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table("when", "who", "action", "what", "before", "after")
    for e in entries:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            _safe(e.actor),
            _safe(e.action),
            _safe(f"{e.entity} {e.entity_id or ''}"),
            _safe(json.dumps(e.previous, ensure_ascii=False)) if e.previous is not None else "",
            _safe(json.dumps(e.value, ensure_ascii=False)) if e.value is not None else "",
        )
    console.print(table)


@fulltext_app.command("list")
def fulltext_list(project: ProjectOpt = Path(".")) -> None:
    """Reports sought for retrieval, with their state and verdict."""
    from metasift.project import Project
    from metasift.workflow.fulltext import list_reports

    with Project.open(project) as proj:
        reports = list_reports(proj.engine, proj.protocol)
    table = Table("record", "study", "retrieval", "location", "source", "verdict")
    for r in reports:
        verdict = "" if r.verdict is None else f"{r.verdict.status}: {r.verdict.decision or ''}"
        if r.verdict and r.verdict.reason:
            verdict += f" ({r.verdict.reason})"
        where = r.location or r.not_retrieved_reason or ""
        source = ""
        if r.texts:
            text = r.texts[-1]
            source = f"{text.source}, {text.licence}" if text.licence else text.source
        table.add_row(
            str(r.record_id),
            str(r.study_id),
            r.retrieval,
            _safe(where),
            _safe(source),
            _safe(verdict),
        )
    console.print(table)


@fulltext_app.command("fetch")
def fulltext_fetch(
    only_included: Annotated[
        bool, typer.Option(help="Only the reports of studies included at full text.")
    ] = False,
    again: Annotated[
        bool, typer.Option(help="Ask again about reports no source had a copy of.")
    ] = False,
    project: ProjectOpt = Path("."),
    reviewer: ReviewerOpt = None,
) -> None:
    """Find and download open-access full texts (Europe PMC, PMC OA, Unpaywall) of the reports
    sought; resumable. Unpaywall needs METASIFT_EMAIL (or 'email' in the config file)."""
    import logging

    from metasift.project import Project
    from metasift.workflow.fulltext import fetch_reports

    # Retry notices (metasift.search's HTTP layer) and the fetch's own print above the bar.
    notices = _notices()
    loggers = [logging.getLogger(name) for name in ("metasift.search", "metasift.fulltext")]
    for logger in loggers:
        logger.addHandler(notices)
    with Project.open(project) as proj, _progress() as progress:
        task = progress.add_task("Fetching full texts", total=None)

        def on_progress(done: int, total: int, record_id: int, outcome: str) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = fetch_reports(
                proj.engine,
                proj.protocol,
                proj.root,
                _reviewer(reviewer),
                only_included=only_included,
                again=again,
                on_progress=on_progress,
            )
        finally:
            for logger in loggers:
                logger.removeHandler(notices)
    missing = [r for r in report.records if r.outcome in ("not_found", "failed")]
    if missing:
        table = Table("record", "outcome", "what each source said")
        for r in missing:
            table.add_row(str(r.record_id), r.outcome.replace("_", " "), _safe(r.summary()))
        console.print(table)
    console.print(_safe(report), markup=False)


@fulltext_app.command("attach")
def fulltext_attach(
    record: int,
    file: Annotated[Path, typer.Argument(help="The report's PDF or JATS XML.")],
    project: ProjectOpt = Path("."),
    reviewer: ReviewerOpt = None,
) -> None:
    """Attach a PDF or JATS XML file as the full text of a report (it counts as retrieved)."""
    from metasift.project import Project
    from metasift.workflow.fulltext import attach_report

    with Project.open(project) as proj:
        text = attach_report(
            proj.engine, proj.protocol, proj.root, record, file, _reviewer(reviewer)
        )
    pages = f", {text.pages} page(s)" if text.pages else ""
    console.print(
        f"record {record}: {_safe(file)} stored as {text.path} ({text.size:,} bytes{pages})"
    )


@fulltext_app.command("suggest")
def fulltext_suggest(
    record: int,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    project: ProjectOpt = Path("."),
) -> None:
    """Suggest extraction values from a report's full text (sample and arm sizes, means and
    SDs, effects with CIs, p-values, follow-up), each with its page or section, span and
    sentence; accept or reject them with 'metasift fulltext accept|reject ID'."""
    import json

    from metasift.extraction.fulltext_stage import suggest_from_fulltext
    from metasift.project import Project
    from metasift.workflow.text_suggestions import study_of_report

    with Project.open(project) as proj:
        study = study_of_report(proj.engine, proj.protocol, record)
        found = suggest_from_fulltext(proj.engine, proj.root, record, study_id=study)
    if as_json:
        out = {
            "record_id": found.record_id,
            "study_id": found.study_id,
            "fulltext_sha256": found.sha256,
            "media_type": found.media_type,
            "added": found.added,
            "suggestions": [s.as_dict() for s in found.suggestions],
        }
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table("id", "field", "value", "where", "cue", "confidence", "status")
    for s in found.suggestions:
        table.add_row(
            str(s.id),
            _safe(s.field),
            _safe(json.dumps(s.value, ensure_ascii=False)),
            _safe(f"{s.text_source[:40]} [{s.span_start}:{s.span_end}]"),
            _safe(s.cue[:60]),
            f"{s.confidence:.2f}",
            s.status,
        )
    console.print(table)
    console.print(
        f"record {record}: {found.added} new of {len(found.suggestions)} suggestions from its "
        f"{'JATS XML' if found.media_type.endswith('xml') else 'PDF'} full text"
    )


def _review_text_suggestion(project, reviewer, suggestion, action, **options) -> None:
    import json

    from metasift.extraction.stage import review_suggestion
    from metasift.project import Project

    with Project.open(project) as proj:
        who = _member(proj, reviewer)
        done = review_suggestion(proj.engine, proj.protocol, suggestion, action, who, **options)
    console.print(
        f"suggestion {done.id}: {done.status} "
        f"({_safe(done.field)} = {_safe(json.dumps(done.final_value, ensure_ascii=False))}; "
        f"from {_safe(done.text_source)} [{done.span_start}:{done.span_end}])"
    )


@fulltext_app.command("accept")
def fulltext_accept(
    suggestion: int,
    value: Annotated[
        str | None, typer.Option(help="The value to record instead (an edit).")
    ] = None,
    field: Annotated[str | None, typer.Option(help="Record under this field instead.")] = None,
    arm: Annotated[str | None, typer.Option(help="Arm of a statistic or size.")] = None,
    outcome: Annotated[str | None, typer.Option(help="Outcome of a statistic or effect.")] = None,
    timepoint: Annotated[str | None, typer.Option(help="Time point of the outcome.")] = None,
    project: ProjectOpt = Path("."),
    reviewer: ReviewerOpt = None,
) -> None:
    """Accept a suggestion (or, with --value, record a corrected value): it fills the
    extraction form, with the page or section and sentence it came from."""
    _review_text_suggestion(
        project,
        reviewer,
        suggestion,
        "edit" if value is not None else "accept",
        value_text=value,
        field_name=field,
        arm=arm,
        outcome=outcome,
        timepoint=timepoint,
    )


@fulltext_app.command("reject")
def fulltext_reject(
    suggestion: int, project: ProjectOpt = Path("."), reviewer: ReviewerOpt = None
) -> None:
    """Reject a suggestion: it stays in the store, marked rejected, and fills nothing."""
    _review_text_suggestion(project, reviewer, suggestion, "reject")


@fulltext_app.command("locate")
def fulltext_locate(
    record: int, location: str, project: ProjectOpt = Path("."), reviewer: ReviewerOpt = None
) -> None:
    """Record the PDF path or URL of a report (it counts as retrieved)."""
    from metasift.project import Project
    from metasift.workflow.fulltext import set_location

    with Project.open(project) as proj:
        set_location(proj.engine, proj.protocol, record, location, _reviewer(reviewer))
    console.print(f"record {record}: {_safe(location)}")


@fulltext_app.command("not-retrieved")
def fulltext_not_retrieved(
    record: int, reason: str, project: ProjectOpt = Path("."), reviewer: ReviewerOpt = None
) -> None:
    """Mark a report as not retrieved, with the reason."""
    from metasift.project import Project
    from metasift.workflow.fulltext import mark_not_retrieved

    with Project.open(project) as proj:
        mark_not_retrieved(proj.engine, proj.protocol, record, reason, _reviewer(reviewer))
    console.print(f"record {record}: not retrieved ({_safe(reason)})")


@fulltext_app.command("group")
def fulltext_group(
    records_: Annotated[
        list[int], typer.Argument(metavar="RECORD...", help="Reports of one study.")
    ],
    label: Annotated[str, typer.Option(help="Name of the study.")] = "",
    project: ProjectOpt = Path("."),
    reviewer: ReviewerOpt = None,
) -> None:
    """Group several reports of one study."""
    from metasift.project import Project
    from metasift.workflow.fulltext import group_reports

    with Project.open(project) as proj:
        study = group_reports(proj.engine, proj.protocol, records_, _reviewer(reviewer), label)
    console.print(f"records {', '.join(map(str, records_))} grouped as study {study}")


StageArg = Annotated[str, typer.Argument(help="title_abstract or full_text.")]


@app.command("close")
def close_cmd(
    stage: StageArg,
    project: ProjectOpt = Path("."),
    force: Annotated[
        bool, typer.Option(help="Close although the stage's rule says it is not finished.")
    ] = False,
    reviewer: ReviewerOpt = None,
) -> None:
    """Close a stage (owners only): title_abstract when the stopping rule recommends it,
    full_text when every report is assessed. A closed stage takes no more decisions."""
    from metasift.project import Project
    from metasift.workflow.closure import close_stage

    with Project.open(project) as proj:
        said = close_stage(proj.engine, proj.protocol, stage, _reviewer(reviewer), force=force)
    console.print(said, markup=False)


@app.command("close-screening", hidden=True)
def close_screening_cmd(
    project: ProjectOpt = Path("."),
    force: Annotated[
        bool, typer.Option(help="Close even if the rule says keep screening.")
    ] = False,
    reviewer: ReviewerOpt = None,
) -> None:
    """Same as 'metasift close title_abstract'."""
    close_cmd("title_abstract", project, force, reviewer)


@app.command("reopen")
def reopen_cmd(
    stage: StageArg,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit log and the report.")],
    project: ProjectOpt = Path("."),
    reviewer: ReviewerOpt = None,
) -> None:
    """Reopen a closed stage (owners only), saying why."""
    from metasift.project import Project
    from metasift.workflow.closure import reopen_stage
    from metasift.workflow.decisions import STAGE_NAMES

    with Project.open(project) as proj:
        reopen_stage(proj.engine, stage, _reviewer(reviewer), reason)
    console.print(f"{STAGE_NAMES[stage].capitalize()} reopened.")


@app.command("status")
def status_cmd(
    project: ProjectOpt = Path("."),
    json_out: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Where the review stands, in one screen: counts, stages, team and the work left."""
    import json

    from metasift.project import Project
    from metasift.workflow.state import review_state

    with Project.open(project) as proj:
        state = review_state(proj.engine, proj.protocol)
        title = proj.protocol.review.title
    if json_out:
        print(json.dumps(state.as_json(), indent=2, ensure_ascii=False))
        return
    table = Table(title=_safe(title), show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="left")
    for label, value in state.lines():
        table.add_row(label, _safe(value))
    console.print(table)
    if state.team:
        team = ", ".join(f"{m.name} ({m.role})" for m in state.team)
        console.print(f"Team: {team}", markup=False)
    if state.pending():
        console.print("Work left: " + "; ".join(state.pending()) + ".", markup=False)
    else:
        console.print("Nothing pending: the PRISMA diagram is final.")


@app.command("prisma")
def prisma_cmd(
    project: ProjectOpt = Path("."),
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    svg: Annotated[Path | None, typer.Option(help="Write the diagram as SVG.")] = None,
    png: Annotated[Path | None, typer.Option(help="Write the diagram as PNG.")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write the diagram as PDF.")] = None,
    other_methods: Annotated[
        bool | None,
        typer.Option(
            "--other-methods/--databases-only",
            help="Template variant (default: with other methods when the review has any).",
        ),
    ] = None,
    draft: Annotated[bool, typer.Option(help="Draw a review still in progress.")] = False,
) -> None:
    """PRISMA 2020 counts and flow diagram, computed from the store."""
    import json

    from metasift.project import Project
    from metasift.report.prisma_diagram import save_prisma
    from metasift.workflow.counts import prisma_counts

    with Project.open(project) as proj:
        counts = prisma_counts(proj.engine, proj.protocol)
    if not draft:
        try:
            counts.check()
        except MetasiftError as exc:
            if not counts.pending:
                raise
            raise MetasiftError(
                f"{exc} Draw it as it stands with --draft, or see 'metasift status'."
            ) from None
    for path in (svg, png, pdf):
        if path is not None:
            save_prisma(counts, path, other_methods=other_methods, draft=draft)
            err_console.print(f"Wrote {_safe(path)}")
    if json_out or not any((svg, png, pdf)):
        print(json.dumps(counts.as_json(), indent=2, ensure_ascii=False))


@app.command("report")
def report_cmd(
    project: ProjectOpt = Path("."),
    out: Annotated[Path | None, typer.Option(help="Folder (default: PROJECT/report).")] = None,
) -> None:
    """Write the HTML report (self-contained) and its Markdown twin."""
    from metasift.project import Project
    from metasift.report.build import build_report
    from metasift.report.render import write_report

    with Project.open(project) as proj:
        path = write_report(build_report(proj), out or proj.root / "report")
    console.print(f"Report: {_safe(path)}")


@app.command("run")
def run_cmd(
    project: ProjectOpt = Path("."),
    offline: Annotated[bool, typer.Option(help="Skip live searches; use bundled files.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: PROJECT/report).")
    ] = None,
) -> None:
    """Run the protocol end to end (import or search, dedup, screening, full text,
    extraction suggestions, report), resuming where it stopped."""
    from metasift.project import Project
    from metasift.run import run_review

    colours = {"done": "green", "skipped": "dim", "pending": "yellow", "failed": "red"}
    with Project.open(project) as proj, _progress() as bar:
        progress = _stage_progress(bar)

        def on_stage(item) -> None:
            colour = colours.get(item.status, "white")
            bar.console.print(f"[{colour}]{item.stage:<12}[/{colour}] {_safe(item.detail)}")

        result = run_review(proj, offline=offline, out=out, progress=progress, on_stage=on_stage)
    if result.failed():
        console.print(
            "Not searched: "
            + ", ".join(s.subject for s in result.failed())
            + "; run again when online, or with --offline to go on with the files already "
            "imported."
        )
    if result.pending():
        console.print(
            "Waiting for reviewers: " + "; ".join(_safe(s.detail) for s in result.pending())
        )
    console.print(f"Report written to {_safe(result.report)}")


# --- web app: users and the server -------------------------------------------------------------

user_app = typer.Typer(
    help="Users of the web app and their role in a project.",
    no_args_is_help=True,
    context_settings=_GROUP_SETTINGS,
)
app.add_typer(user_app, name="user")


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat it: ") != first:
            raise MetasiftError("the two passwords differ; nothing changed.")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="owner, reviewer or viewer.")] = "reviewer",
    project: ProjectOpt = Path("."),
    reviewer: ReviewerOpt = None,
) -> None:
    """Give a member a web login (adding them to the team, or changing their role); the
    password is read from stdin. Owners only, once the review has one."""
    from metasift.project import Project
    from metasift.web.users import add_user

    password = _read_password()
    with Project.open(project) as proj:
        add_user(proj.engine, name, password, role, actor=_reviewer(reviewer))
    console.print(f"{_safe(name)} is {role} of {_safe(project)}.")


@user_app.command("list")
def user_list(project: ProjectOpt = Path(".")) -> None:
    """List the users of the project and their roles."""
    from metasift.project import Project
    from metasift.web.users import list_users

    with Project.open(project) as proj:
        for name, role in list_users(proj.engine):
            print(f"{_safe(name, markup=False)}\t{role}")


@user_app.command("unlock")
def user_unlock(name: str, project: ProjectOpt = Path("."), reviewer: ReviewerOpt = None) -> None:
    """Lift the lock on a login after too many failed attempts (owners only; audited)."""
    from metasift.project import Project
    from metasift.web.logins import unlock

    with Project.open(project) as proj:
        cleared = unlock(proj.engine, name, actor=_reviewer(reviewer))
    console.print(f"{name} may log in again ({cleared} failed login(s) cleared).", markup=False)


@app.command()
def serve(
    project: Annotated[
        list[Path] | None,
        typer.Option("--project", "-p", help="Project folder to serve (repeatable)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    lease_minutes: Annotated[
        float,
        typer.Option(help="A record shown but not decided goes back to the pool after this."),
    ] = 30,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A name the server answers to besides 127.0.0.1, localhost and --host "
            "(repeatable); requests naming another host get 400.",
        ),
    ] = None,
) -> None:
    """Serve the projects in the browser; each user sees the projects they are a member of."""
    from metasift.web.server import serve as run_server

    run_server(
        project or [Path(".")],
        host=host,
        port=port,
        lease_seconds=lease_minutes * 60,
        allowed_hosts=allowed_host,
    )


def main() -> None:
    try:
        app()
    except MetasiftError as exc:
        err_console.print(f"[red]error:[/red] {_safe(exc)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
