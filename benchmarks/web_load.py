"""Web load: many reviewers screening at once through `metasift serve`, on SQLite and PostgreSQL.

Builds a project of --records records (default 100,000: the real titles and abstracts of the
SYNERGY datasets in ../shared/data/synergy, repeated with new ids) with --reviewers reviewer
accounts, starts `metasift serve` on 127.0.0.1 in its own process, and lets as many clients
(real HTTP with httpx, each logged in, sending its CSRF token) "decide and get next" for
--seconds (default 300) per backend: one POST stores the decision on the record shown and
answers with the next record, as the screening page does. Each client waits --think seconds
between decisions (0: as fast as the server answers, a stress test far beyond human pace).

Then the store is checked against what the server acknowledged: lost = acknowledged decisions
missing from the store, duplicated = decisions stored more than once, or records decided by
more reviewers than the protocol asks for. PostgreSQL runs on a throw-away server started on
127.0.0.1 (needs the server binaries: apt-get install postgresql). Goal: zero lost, zero
duplicated, p95 of "decide and get next" under 200 ms.

    .venv/bin/python benchmarks/web_load.py                       # 100k records, 5 min each
    .venv/bin/python benchmarks/web_load.py --seconds 60 --backends sqlite
    .venv/bin/python benchmarks/web_load.py --reviewers-per-record 2   # dual screening
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from metasift.project import Project
from metasift.records.formats import ReadOptions, read_records
from metasift.records.importing import import_file
from metasift.store.pgserver import create_database, free_port, throwaway_server
from metasift.store.schema import decisions
from metasift.web.users import add_user

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("METASIFT_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
SYNERGY = SHARED / "synergy"
PASSWORD = "load test password"
GOAL_P95_MS = 200.0
RECORD = re.compile(r'name="record_id" value="(\d+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
console = Console(width=150)


# -- the project -------------------------------------------------------------------------
def write_corpus(path: Path, size: int) -> int:
    """A JSON-lines file of ``size`` records: the SYNERGY works repeated, each copy with
    new ids (no DOI or PMID, so that none is a duplicate of another)."""
    base = []
    for folder in sorted(SYNERGY.iterdir()):
        if (folder / "labels.csv").exists():
            for r in read_records(folder):
                if r.title:
                    base.append(
                        {
                            "title": r.title,
                            "abstract": r.abstract,
                            "authors": r.authors,
                            "year": r.year,
                            "journal": r.journal,
                            "keywords": r.keywords,
                        }
                    )
    with path.open("w", encoding="utf-8") as out:
        for i in range(size):
            row = dict(base[i % len(base)], source_id=f"load-{i}")
            out.write(json.dumps(row) + "\n")
    return len(base)


def protocol_text(database_url: str | None, reviewers_per_record: int) -> str:
    database = f'[project]\ndatabase_url = "{database_url}"\n' if database_url else ""
    return f"""
[review]
title = "Web load"
question = "Which interventions work in the reviews of the SYNERGY collection?"
{database}
[criteria]
include_terms = ["randomized", "randomised", "trial"]
exclude_terms = ["review", "mice"]

[screening]
reviewers_per_record = {reviewers_per_record}
blind = true

[[sources]]
name = "SYNERGY"
"""


def build_project(
    root: Path, corpus: Path, database_url: str | None, reviewers: int, per_record: int
) -> list[str]:
    root.mkdir(parents=True)
    (root / "review.toml").write_text(protocol_text(database_url, per_record), encoding="utf-8")
    names = [f"r{i:02d}" for i in range(1, reviewers + 1)]
    with Project.open(root) as project:
        started = time.perf_counter()
        summary = import_file(
            project.engine,
            corpus,
            options=ReadOptions(source_database="SYNERGY"),
            name=corpus.name,
        )
        console.print(
            f"  imported {summary.imported:,} records in {time.perf_counter() - started:.0f} s"
        )
        for name in names:
            add_user(project.engine, name, PASSWORD, "reviewer")
    return names


# -- servers -----------------------------------------------------------------------------
@contextmanager
def postgres() -> Iterator[str]:
    """A throw-away PostgreSQL server on 127.0.0.1 (fsync on); yields an empty database's URL."""
    try:
        with throwaway_server(durable=True, max_connections=200) as server:
            yield create_database(server, "load")
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from exc


@contextmanager
def metasift_server(root: Path, log: Path) -> Iterator[tuple[str, int]]:
    """`metasift serve` on 127.0.0.1 in its own process (so that the clients do not share its
    interpreter); yields its URL once it answers."""
    port = free_port()
    metasift = Path(sys.executable).with_name("metasift")
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(metasift), "serve", "--project", str(root), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/login", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {log}") from None
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the reviewers -----------------------------------------------------------------------
@dataclass
class Reviewer:
    name: str
    url: str
    slug: str
    client: httpx.Client = field(init=False)
    latencies: list[float] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    repeats: int = 0
    errors: Counter = field(default_factory=Counter)
    page: str = ""

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def log_in(self) -> None:
        token = CSRF.search(self.client.get("/login").text).group(1)
        answer = self.client.post(
            "/login", data={"name": self.name, "password": PASSWORD, "csrf_token": token}
        )
        if answer.status_code != 303:
            raise SystemExit(f"{self.name} could not log in: {answer.status_code}")
        # The first screening page waits for the features of every record to be built.
        self.page = self.client.get(f"/p/{self.slug}/screen", timeout=1800).text
        self.headers = {"X-CSRF-Token": CSRF.search(self.page).group(1), "HX-Request": "true"}

    def work(self, stop_at: float, think: float, rng: np.random.Generator) -> None:
        while time.monotonic() < stop_at:
            match = RECORD.search(self.page)
            if match is None:
                # Every record handed out may be held by others for a moment: look once more.
                self.page = self.client.get(f"/p/{self.slug}/screen").text
                match = RECORD.search(self.page)
                if match is None:
                    return
            record_id = int(match.group(1))
            decision = "exclude" if rng.random() < 0.9 else "include"
            started = time.perf_counter()
            try:
                answer = self.client.post(
                    f"/p/{self.slug}/screen/decide",
                    data={"record_id": record_id, "decision": decision},
                    headers=self.headers,
                )
            except httpx.HTTPError as exc:
                self.errors[type(exc).__name__] += 1
                self.page = self.client.get(f"/p/{self.slug}/screen").text
                continue
            self.latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                message = re.sub(r"<[^>]+>", "", answer.text).strip()[:120]
                self.errors[f"HTTP {answer.status_code}: {message}"] += 1
                self.page = self.client.get(f"/p/{self.slug}/screen").text
                continue
            if "already stored" in answer.text:
                self.repeats += 1
            else:
                self.acknowledged.append(record_id)
            self.page = answer.text
            if think:
                time.sleep(rng.exponential(think))


@dataclass
class Result:
    backend: str
    reviewers: int
    per_record: int
    seconds: float
    decisions: int
    latencies: np.ndarray
    lost: int
    duplicated: int
    unacknowledged: int
    errors: Counter


def check_store(root: Path, team: list[Reviewer], per_record: int) -> tuple[int, int, int]:
    """(lost, duplicated, unacknowledged) decisions, from the store's own rows."""
    with Project.open(root) as project, project.engine.connect() as conn:
        rows = conn.execute(
            sa.select(decisions.c.record_id, decisions.c.reviewer).where(
                decisions.c.retracted_at.is_(None)
            )
        ).all()
    stored = Counter((r.record_id, r.reviewer) for r in rows)
    acknowledged = Counter((rid, r.name) for r in team for rid in r.acknowledged)
    lost = sum((acknowledged - stored).values())
    duplicated = sum(n - 1 for n in stored.values() if n > 1)
    duplicated += sum((acknowledged - Counter(set(acknowledged))).values())
    per = Counter(rid for rid, _ in stored)
    duplicated += sum(n - per_record for n in per.values() if n > per_record)
    unacknowledged = sum((Counter(set(stored)) - acknowledged).values())
    return lost, duplicated, unacknowledged


def run_backend(
    backend: str, database_url: str | None, corpus: Path, work: Path, args: argparse.Namespace
) -> Result:
    root = work / f"load-{backend}"
    console.print(f"[bold]{backend}[/]: building the project")
    names = build_project(root, corpus, database_url, args.reviewers, args.reviewers_per_record)
    with metasift_server(root, work / f"serve-{backend}.log") as (url, pid):
        team = [Reviewer(name, url, root.name) for name in names]
        started = time.perf_counter()
        threads = [threading.Thread(target=r.log_in) for r in team]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        console.print(
            f"  {len(team)} reviewers logged in and shown a first record in "
            f"{time.perf_counter() - started:.0f} s (features of every record built)"
        )
        stop_at = time.monotonic() + args.seconds
        threads = [
            threading.Thread(
                target=r.work, args=(stop_at, args.think, np.random.default_rng([args.seed, i]))
            )
            for i, r in enumerate(team)
        ]
        begun = time.perf_counter()
        for t in threads:
            t.start()
        spy = None
        if args.profile:
            # py-spy samples the server while the reviewers work (collapsed stacks).
            out = args.profile.with_name(f"{args.profile.stem}-{backend}.txt")
            spy_command = [str(Path(sys.executable).with_name("py-spy")), "record"]
            spy_command += ["--pid", str(pid), "--duration", str(int(args.seconds))]
            spy_command += ["--output", str(out), "--format", "raw", "--nonblocking"]
            spy = subprocess.Popen(
                spy_command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"  {backend}: reviewers deciding", total=args.seconds)
            while any(t.is_alive() for t in threads):
                progress.update(task, completed=min(args.seconds, time.perf_counter() - begun))
                time.sleep(0.5)
        elapsed = time.perf_counter() - begun
        if spy is not None:
            spy.wait()
        for r in team:
            r.client.close()
    lost, duplicated, unacknowledged = check_store(root, team, args.reviewers_per_record)
    errors = sum((r.errors for r in team), Counter())
    return Result(
        backend,
        len(team),
        args.reviewers_per_record,
        elapsed,
        sum(len(r.acknowledged) for r in team),
        np.array([x for r in team for x in r.latencies]) * 1000,
        lost,
        duplicated,
        unacknowledged,
        errors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--reviewers-per-record", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds per record")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the projects and logs in this folder")
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks: PATH-<backend>.txt")
    args = parser.parse_args()
    if not SYNERGY.exists():
        raise SystemExit(f"shared data not available: {SYNERGY} (set METASIFT_SHARED_DATA)")

    work = Path(tempfile.mkdtemp(prefix="metasift-load-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        corpus = work / "records.jsonl"
        base = write_corpus(corpus, args.records)
        console.print(f"{args.records:,} records: {base:,} SYNERGY works repeated")
        for backend in args.backends:
            if backend == "sqlite":
                results.append(run_backend(backend, None, corpus, work, args))
            else:
                with postgres() as url:
                    results.append(run_backend(backend, url, corpus, work, args))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    table = Table(
        title=f"decide and get next: {args.records:,} records, think time {args.think:g} s, "
        f"{args.reviewers_per_record} reviewer(s) per record"
    )
    for column in ("backend", "reviewers", "decisions", "decisions/s", "p50 ms", "p95 ms"):
        table.add_column(column, justify="right")
    for column in ("p99 ms", "lost", "duplicated", "errors", f"p95 < {GOAL_P95_MS:.0f} ms"):
        table.add_column(column, justify="right")
    for r in results:
        p50, p95, p99 = (
            np.percentile(r.latencies, [50, 95, 99]) if len(r.latencies) else (np.nan,) * 3
        )
        ok = p95 < GOAL_P95_MS and r.lost == 0 and r.duplicated == 0
        table.add_row(
            r.backend,
            str(r.reviewers),
            f"{r.decisions:,}",
            f"{r.decisions / r.seconds:.1f}",
            f"{p50:.0f}",
            f"{p95:.0f}",
            f"{p99:.0f}",
            str(r.lost),
            str(r.duplicated),
            str(sum(r.errors.values())),
            "[green]yes[/]" if ok else "[red]no[/]",
        )
    console.print(table)
    for r in results:
        if r.errors or r.unacknowledged:
            console.print(
                f"{r.backend}: errors {dict(r.errors)}; {r.unacknowledged} stored decision(s) "
                "whose answer did not arrive"
            )


if __name__ == "__main__":
    main()
