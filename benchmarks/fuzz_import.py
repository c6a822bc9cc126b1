"""Fuzz run of the importers: real exports with one record damaged at a time, many times.

Every sample file of ../shared/data/formats (see its SOURCES.md), cut to its first
``--records`` records, has one record damaged per try (truncated, unclosed markup, invalid
bytes, nested markup or entities, at a random place; tests/records/damage.py) and is read
again. A try loses records when an undamaged record does not arrive unchanged, field for
field; it misplaces when a rejection of the damaged record names a line outside it. Each
``--import-every``-th try also runs the whole import into a fresh SQLite store and checks
``read = imported + rejected + merged``. Anything raised but an ImportFileError is a
traceback. Prints the files tried, the tries, records lost, misplaced rejections, broken
accounting and tracebacks per format and damage, and the first few failures to reproduce.
Goal: records lost 0, tracebacks 0.

    python benchmarks/fuzz_import.py                  # 200 tries per file
    python benchmarks/fuzz_import.py --tries 20       # a quick look
    python benchmarks/fuzz_import.py --seed 7 --records 50
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.records.damage: the damage the property tests use

from metasift.errors import ImportFileError  # noqa: E402
from metasift.records.importing import import_file  # noqa: E402
from metasift.store import create_db_engine, migrate  # noqa: E402
from tests.records.damage import (  # noqa: E402
    DAMAGE,
    FORMAT_OF_FOLDER,
    compare,
    damage_file,
    first_records,
    read_items,
    record_spans,
)

SHARED = ROOT.parent / "shared" / "data" / "formats"


def samples(root: Path) -> list[tuple[Path, str]]:
    """Every sample file with the reader of its folder."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix != ".md":
            fmt = FORMAT_OF_FOLDER.get(path.relative_to(root).parts[0])
            if fmt:
                found.append((path, fmt))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=200, help="damaged reads per file")
    parser.add_argument("--records", type=int, default=40, help="records kept of each file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--import-every", type=int, default=20, help="full import every N tries")
    parser.add_argument("--data", type=Path, default=SHARED, help="the formats folder")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"no sample files at {args.data}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    totals: Counter[str] = Counter()
    by_kind: dict[tuple[str, str], Counter[str]] = {}
    failures: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for path, fmt in samples(args.data):
            data = first_records(path.read_bytes(), fmt, args.records)
            original = work / f"original{path.suffix}"
            original.write_bytes(data)
            before = read_items(original, fmt)
            count = len(record_spans(data, fmt))
            totals["files"] += 1
            if count != len(before):
                totals["files skipped (record split disagrees with the reader)"] += 1
                continue
            for attempt in range(args.tries):
                index, kind, at = rng.randrange(count), rng.choice(DAMAGE), rng.random()
                tally = by_kind.setdefault((fmt, kind), Counter())
                tally["tries"] += 1
                totals["tries"] += 1
                damaged, lines = damage_file(data, fmt, index, kind, at)
                target = work / f"damaged{path.suffix}"
                target.write_bytes(damaged)
                where = f"{path.relative_to(args.data)} record {index + 1} {kind} at={at:.4f}"
                try:
                    try:
                        after = read_items(target, fmt)
                    except ImportFileError:
                        after = []
                    if attempt % args.import_every == 0:
                        engine = create_db_engine(f"sqlite:///{work / f'{attempt}.sqlite'}")
                        migrate(engine)
                        try:
                            summary = import_file(engine, target, fmt=fmt)
                        except ImportFileError:
                            summary = None
                        engine.dispose()
                        if summary and summary.read != (
                            summary.imported + summary.rejected + summary.merged
                        ):
                            tally["accounting broken"] += 1
                            failures.append(f"accounting: {where}: {summary.line()}")
                except Exception:
                    tally["tracebacks"] += 1
                    failures.append(f"traceback: {where}\n{traceback.format_exc()}")
                    continue
                outcome = compare(before, after, index + 1, lines)
                tally["records lost"] += len(outcome.lost)
                tally["misplaced rejections"] += len(outcome.misplaced)
                tally["extra records"] += outcome.extra_records
                if outcome.lost:
                    failures.append(f"lost {outcome.lost[:5]}: {where}")
    elapsed = time.perf_counter() - started
    columns = ("tries", "records lost", "misplaced rejections", "extra records", "tracebacks")
    print(f"{'format':<12} {'damage':<16} " + " ".join(f"{c:>20}" for c in columns))
    grand: Counter[str] = Counter()
    for (fmt, kind), tally in sorted(by_kind.items()):
        grand.update(tally)
        print(f"{fmt:<12} {kind:<16} " + " ".join(f"{tally[c]:>20}" for c in columns))
    print()
    print(f"files tried: {totals['files']}")
    skipped = totals["files skipped (record split disagrees with the reader)"]
    if skipped:
        print(f"files skipped (record split disagrees with the reader): {skipped}")
    print(f"tries: {grand['tries']} in {elapsed:.1f} s (seed {args.seed})")
    print(f"records lost: {grand['records lost']}")
    print(f"misplaced rejections: {grand['misplaced rejections']}")
    print(f"accounting broken: {grand['accounting broken']}")
    print(f"tracebacks: {grand['tracebacks']}")
    for failure in failures[:10]:
        print(f"  {failure}")
    return 1 if grand["records lost"] or grand["tracebacks"] else 0


if __name__ == "__main__":
    sys.exit(main())
