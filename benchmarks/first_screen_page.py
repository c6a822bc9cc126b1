"""The first screening page after an import, as the reviewer waits for it, at 100,000 records.

Builds a project of --records records (default 100,000: the real titles and abstracts of the
SYNERGY datasets in ../shared/data/synergy, repeated with new ids, as benchmarks/web_load.py
does), starts `metasift serve` on 127.0.0.1 in its own process, logs a reviewer in and times
whole requests with httpx, as the browser sends them:

- the first screening page (the record shown, nothing built yet): goal under 1 s;
- each decision with the next record while the features are still being built;
- how long until the ranking is the model's (the page stops saying "Ranking updates in the
  background"), and a decision after that.

    .venv/bin/python benchmarks/first_screen_page.py
    .venv/bin/python benchmarks/first_screen_page.py --records 20000 --decisions 10
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_load import (
    CSRF,
    PASSWORD,
    RECORD,
    SYNERGY,
    build_project,
    metasift_server,
    write_corpus,
)

GOAL_SECONDS = 1.0
WARMING = "Ranking updates in the background"
console = Console(width=120)


def timed(call) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = call()
    return time.perf_counter() - started, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=20, help="decisions while warming up")
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    args = parser.parse_args()
    if not SYNERGY.exists():
        raise SystemExit(f"{SYNERGY} is missing: the benchmark reads the SYNERGY works there.")
    work = Path(tempfile.mkdtemp(prefix="metasift-first-page-")) if args.keep is None else args.keep
    try:
        corpus = work / "corpus.jsonl"
        write_corpus(corpus, args.records)
        root = work / "project"
        console.print(f"Building a project of {args.records:,} records ...")
        (name,) = build_project(root, corpus, None, reviewers=1, per_record=1)
        with metasift_server(root, work / "server.log") as (url, _pid):
            client = httpx.Client(base_url=url, timeout=600)
            token = CSRF.search(client.get("/login").text).group(1)
            client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
            slug = root.name
            first, page = timed(lambda: client.get(f"/p/{slug}/screen"))
            assert page.status_code == 200, page.text
            warming_at_first = WARMING in page.text
            headers = {"X-CSRF-Token": CSRF.search(page.text).group(1), "HX-Request": "true"}
            started = time.perf_counter()
            cold: list[float] = []
            html = page.text
            for _ in range(args.decisions):
                record = RECORD.search(html)
                if record is None or WARMING not in html:
                    break
                data = {"record_id": record.group(1), "decision": "exclude"}
                took, answer = timed(
                    lambda data=data: client.post(
                        f"/p/{slug}/screen/decide", data=data, headers=headers
                    )
                )
                cold.append(took)
                html = answer.text
            while WARMING in html:
                time.sleep(0.5)
                html = client.get(f"/p/{slug}/screen").text
            ready = time.perf_counter() - started
            record = RECORD.search(html).group(1)
            warm, _ = timed(
                lambda: client.post(
                    f"/p/{slug}/screen/decide",
                    data={"record_id": record, "decision": "exclude"},
                    headers=headers,
                )
            )
        table = Table(title=f"First screening page after an import, {args.records:,} records")
        table.add_column("request")
        table.add_column("seconds", justify="right")
        table.add_row("first screening page (cold)", f"{first:.3f}")
        if cold:
            cold.sort()
            table.add_row(
                f"decide and next while warming, median of {len(cold)}",
                f"{cold[len(cold) // 2]:.3f}",
            )
            table.add_row("decide and next while warming, slowest", f"{cold[-1]:.3f}")
        table.add_row("until the model's ranking is in use", f"{ready:.1f}")
        table.add_row("decide and next with the model's ranking", f"{warm:.3f}")
        console.print(table)
        verdict = "met" if first < GOAL_SECONDS else "MISSED"
        console.print(
            f"goal: first page under {GOAL_SECONDS:.0f} s: {verdict}; the page said the ranking "
            f"updates in the background: {warming_at_first}"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
