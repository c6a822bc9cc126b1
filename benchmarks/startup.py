"""Start-up time: how long ``metasift`` makes the user wait, against ``python -c pass``.

Times whole processes, as a user waits for them at the prompt: interpreter start, imports,
building the command line, the work and exit. Each command runs ``--repeat`` times (default
15), the commands interleaved round by round so that a burst of load on the shared machine
falls on all of them alike. Prints the median and the fastest run of each, the ratio of the
median to the baseline's (``python -c pass``, the least any Python command can cost) and
whether the median is within the budget for help and version (0.3 s). The machine is shared,
so it also prints the median CPU time (user + system) of each command, which waiting for a
core does not inflate, and the load average before and after.

The commands:

* ``metasift --version`` and ``metasift --help``;
* ``metasift import --help`` and ``metasift status --help`` (when there is a status command):
  a sub-command's help;
* ``metasift records --project P`` on a tiny project (six records from a RIS fixture) made
  in a temporary folder: a real command that opens the store.

It runs the ``metasift`` entry point installed in the virtual environment of the Python that
runs it (the ``bin`` folder of ``sys.executable``), with the environment it was given, so to
measure a source tree other than the installed one, put its ``src`` first on PYTHONPATH::

    .venv/bin/python benchmarks/startup.py                    # 15 rounds
    .venv/bin/python benchmarks/startup.py --repeat 5         # quick look
    PYTHONPATH=$PWD/src /other/venv/bin/python benchmarks/startup.py
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "formats" / "ris" / "asreview" / "pubmed_zotero.ris"
BUDGET = 0.3  # seconds, for --version and --help


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str]) -> tuple[float, float, int]:
    """Run one process to its end; return its wall time, CPU time and exit status."""
    cpu = _cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, _cpu_of_children() - cpu, done.returncode


def _tiny_project(metasift: Path, folder: Path) -> Path:
    """A project with the six records of a RIS fixture, made with metasift's own commands."""
    project = folder / "tiny"
    for argv in (
        [str(metasift), "init", str(project), "--title", "Start-up benchmark"],
        [str(metasift), "import", str(FIXTURE), "--project", str(project)],
    ):
        subprocess.run(argv, check=True, capture_output=True)
    return project


def _has_command(metasift: Path, name: str) -> bool:
    return _run([str(metasift), name, "--help"])[2] == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="Runs of each command.")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    metasift = Path(sys.executable).parent / "metasift"
    if not metasift.exists():
        sys.exit(f"{metasift} not found: install metasift in this environment first.")
    console = Console()

    with tempfile.TemporaryDirectory() as tmp:
        project = _tiny_project(metasift, Path(tmp))
        ms = str(metasift)
        commands: dict[str, list[str]] = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "metasift --version": [ms, "--version"],
            "metasift --help": [ms, "--help"],
            "metasift import --help": [ms, "import", "--help"],
        }
        if _has_command(metasift, "status"):
            commands["metasift status --help"] = [ms, "status", "--help"]
        commands["metasift records --project P"] = [ms, "records", "--project", str(project)]

        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        status: dict[str, int] = {}
        for argv in commands.values():  # warm the file cache and the .pyc files
            _run(argv)
        load_before = os.getloadavg()[0]
        for _ in range(args.repeat):
            for name, argv in commands.items():
                seconds, cpu_seconds, status[name] = _run(argv)
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
        load_after = os.getloadavg()[0]

    baseline = statistics.median(times["python -c pass"])
    table = Table(
        title=f"Start-up: whole processes, {args.repeat} runs each, interleaved ({metasift.parent})"
    )
    columns = ("command", "median s", "min s", "median / python -c pass", "cpu s", "exit", "budget")
    for column in columns:
        table.add_column(column, justify="left" if column == "command" else "right")
    for name, runs in times.items():
        median = statistics.median(runs)
        budgeted = "--version" in name or "--help" in name
        verdict = ("ok" if median < BUDGET else "OVER") if budgeted else ""
        table.add_row(
            name,
            f"{median:.3f}",
            f"{min(runs):.3f}",
            f"{median / baseline:.1f}x",
            f"{statistics.median(cpu[name]):.3f}",
            str(status[name]),
            verdict,
        )
    console.print(table)
    console.print(
        f"budget for --version and --help: median < {BUDGET} s; load average (1 min) "
        f"{load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
