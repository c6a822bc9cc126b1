"""Precision and recall of full-text extraction suggestions, on JATS and on PDFs rendered from it.

The labelled set (``benchmarks/data/fulltext_labels.json``, how it was made in
``fulltext_labels.md``) holds the true values of the eight real open-access articles in
``../shared/data/fulltext/jats``. Each article is read twice:

* JATS: :func:`metasift.fulltext.jats_sections`, as a stored JATS full text is read;
* PDF: the same parts drawn into an A4 PDF with matplotlib (prose wrapped, table rows with
  their cells apart as columns are in a typeset PDF, a table kept on one page), then read by
  :func:`metasift.fulltext.pdf_pages` in its confined child, page by page.

Only the table rows the labels cover are scored (``table_lines``: header and first rows) and
drawn into the PDF; prose is scored whole. A suggestion counts when its field and value are a
labelled one of the article (values compared as numbers; one label is found once, however
often the text repeats it); ``sample_size``, ``arm_size`` (scored as group_size),
``statistic`` with a mean and SD (mean_sd), ``effect`` and ``follow_up`` are scored; p-values
and events are suggested but not labelled. For JATS, "located" is the share of found labels
for which a suggestion also points at the labelled place (same part, overlapping span).

The rules were written looking at the four ``dev`` articles only; the four ``held-out`` ones
are reported apart and are the figures to quote. The split is fixed in the labels file.

    PYTHONPATH=src python benchmarks/fulltext_suggestions.py [--jats-only]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import textwrap
from collections import defaultdict
from pathlib import Path

from metasift.extraction.fulltext import suggest_fulltext
from metasift.extraction.suggest import Suggestion
from metasift.fulltext.jats import jats_sections
from metasift.fulltext.pdfsafe import pdf_pages

HERE = Path(__file__).resolve().parent
LABELS = HERE / "data" / "fulltext_labels.json"
ARTICLES = HERE.parents[1] / "shared" / "data" / "fulltext" / "jats"
FIELDS = ("sample_size", "group_size", "mean_sd", "effect", "follow_up")


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def label_key(field: str, value: dict) -> tuple:
    """The comparable form of a labelled value."""
    if field in ("sample_size", "group_size"):
        return (field, int(value["n"]))
    if field == "mean_sd":
        return (field, _r(value["mean"]), _r(value["sd"]))
    if field == "effect":
        lo, hi = value["lower"], value["upper"]
        return (field, value["measure"], _r(value["estimate"]), _r(lo), _r(hi))
    return (field, _r(value["low"]), _r(value["high"]), value["unit"])


def suggestion_key(s: Suggestion) -> tuple | None:
    """The comparable form of a suggestion, or None for a kind the labels do not cover."""
    v = s.value
    if s.field == "sample_size":
        return ("sample_size", int(v))
    if s.field == "arm_size":
        return ("group_size", int(v["n"]))
    if s.field == "statistic" and "mean" in v and ("sd" in v or "se" in v):
        return ("mean_sd", _r(v["mean"]), _r(v.get("sd", v.get("se"))))
    if s.field == "effect":
        return ("effect", v["measure"], _r(v["estimate"]), _r(v["lower"]), _r(v["upper"]))
    if s.field == "follow_up":
        return ("follow_up", _r(v["low"]), _r(v["high"]), v["unit"])
    return None


def _limit(part: str, text: str, table_lines: dict[str, int]) -> str | None:
    """The part as scored: a table cut to its labelled lines (None: not scored at all)."""
    if not part.lower().startswith("table"):
        return text
    for prefix, lines in table_lines.items():
        if re.match(re.escape(prefix) + r"(?!\d)", part):
            return "\n".join(text.split("\n")[:lines]) if lines else None
    return text


def load(name: str, entry: dict) -> tuple[list[tuple[str, str]], list[dict]]:
    """The article's parts as scored, and its labels with where each is (part, start, end)."""
    path = ARTICLES / f"{name}.nxml"
    parts = []
    for part, text in jats_sections(path):
        kept = _limit(part, text, entry["table_lines"])
        if kept is not None:
            parts.append((part, kept))
    labels = []
    for label in entry["labels"]:
        where = next(
            (
                (part, text.find(label["quote"]))
                for part, text in parts
                if part.startswith(label["part"]) and label["quote"] in text
            ),
            None,
        )
        if where is None:
            raise SystemExit(f"{name}: quote {label['quote']!r} not in part {label['part']!r}")
        part, start = where
        labels.append({**label, "at": (part, start, start + len(label["quote"]))})
    return parts, labels


def render_pdf(parts: list[tuple[str, str]], path: Path) -> Path:
    """Draw ``parts`` into an A4 PDF: headings, wrapped prose, table rows as spaced columns."""
    import matplotlib

    matplotlib.use("pdf")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    per_page = 68
    lines: list[str] = []
    for name, text in parts:
        if name.lower().startswith("table"):
            rows = [re.sub(r"\s*\|\s*", "    ", row).strip() for row in text.split("\n")]
            block = ["", name, *rows]
            # As a typesetter does, a table that does not fit below starts on a new page.
            room = per_page - len(lines) % per_page
            if len(block) > room and len(block) <= per_page:
                lines += [""] * room
            lines += block
        else:
            lines += ["", name]
            for paragraph in text.split("\n"):
                lines += textwrap.wrap(paragraph, 110)
    with PdfPages(path) as pdf:
        for first in range(0, len(lines), per_page):
            fig = plt.figure(figsize=(8.27, 11.69))
            for i, line in enumerate(lines[first : first + per_page]):
                fig.text(0.05, 0.965 - i * 0.0138, line, fontsize=7, family="DejaVu Sans")
            pdf.savefig(fig)
            plt.close(fig)
    return path


def score(suggestions: list[Suggestion], labels: list[dict]) -> dict:
    """Per field: true positives, suggested (distinct values), labelled, located."""
    truth = {label_key(lab["field"], lab["value"]): lab for lab in labels}
    found: dict[tuple, list[Suggestion]] = defaultdict(list)
    for s in suggestions:
        key = suggestion_key(s)
        if key is not None:
            found[key].append(s)
    out = {f: {"tp": 0, "suggested": 0, "labelled": 0, "located": 0} for f in FIELDS}
    for key in truth:
        out[key[0]]["labelled"] += 1
    for key, group in found.items():
        out[key[0]]["suggested"] += 1
        if key in truth:
            out[key[0]]["tp"] += 1
            part, start, end = truth[key]["at"]
            if any(
                s.evidence.text_source == part and s.evidence.start < end and start < s.evidence.end
                for s in group
            ):
                out[key[0]]["located"] += 1
    return out


def _pr(tp: int, suggested: int, labelled: int) -> tuple[str, str]:
    p = f"{tp / suggested:.2f}" if suggested else "–"
    r = f"{tp / labelled:.2f}" if labelled else "–"
    return p, r


def _add(total: dict, part: dict) -> None:
    for f, counts in part.items():
        for k, v in counts.items():
            total.setdefault(f, defaultdict(int))[k] += v


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jats-only", action="store_true", help="skip the rendered PDFs")
    args = parser.parse_args()
    if not ARTICLES.exists():
        sys.exit(f"{ARTICLES}: the articles are not there; nothing to measure")
    data = json.loads(LABELS.read_text(encoding="utf-8"))
    paths = ["jats"] if args.jats_only else ["jats", "pdf"]
    results: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, entry in data["articles"].items():
            parts, labels = load(name, entry)
            results[("jats", name)] = score(suggest_fulltext(parts), labels)
            if "pdf" in paths:
                pdf = render_pdf(parts, Path(tmp) / f"{name}.pdf")
                pages = [(f"page {n}", t) for n, t in pdf_pages(pdf)]
                results[("pdf", name)] = score(suggest_fulltext(pages), labels)
    splits = {"held-out": [], "dev": []}
    for name, entry in data["articles"].items():
        splits[entry["split"]].append(name)
    for split, names in splits.items():
        print(f"\n== {split} articles ({', '.join(names)})")
        print(
            f"{'path':5} {'field':12} {'tp':>4} {'sugg':>5} {'true':>5} {'P':>5} {'R':>5}  located"
        )
        for path in paths:
            total: dict = {}
            for name in names:
                _add(total, results[(path, name)])
            for f in FIELDS:
                c = total[f]
                p, r = _pr(c["tp"], c["suggested"], c["labelled"])
                loc = f"{c['located']}/{c['tp']}" if path == "jats" else ""
                print(
                    f"{path:5} {f:12} {c['tp']:4} {c['suggested']:5} {c['labelled']:5} "
                    f"{p:>5} {r:>5}  {loc}"
                )
            tp = sum(total[f]["tp"] for f in FIELDS)
            sug = sum(total[f]["suggested"] for f in FIELDS)
            lab = sum(total[f]["labelled"] for f in FIELDS)
            p, r = _pr(tp, sug, lab)
            print(f"{path:5} {'ALL':12} {tp:4} {sug:5} {lab:5} {p:>5} {r:>5}")
    print("\n== per article (all scored fields)")
    print(
        f"{'article':18} {'split':9} {'path':5} {'tp':>4} {'sugg':>5} {'true':>5} {'P':>5} "
        f"{'R':>5} {'F1':>5}"
    )
    worst: dict[str, tuple[float, str]] = {}
    for (path, name), res in results.items():
        tp = sum(res[f]["tp"] for f in FIELDS)
        sug = sum(res[f]["suggested"] for f in FIELDS)
        lab = sum(res[f]["labelled"] for f in FIELDS)
        p, r = _pr(tp, sug, lab)
        f1 = 2 * tp / (sug + lab) if sug + lab else 0.0
        split = data["articles"][name]["split"]
        print(f"{name:18} {split:9} {path:5} {tp:4} {sug:5} {lab:5} {p:>5} {r:>5} {f1:5.2f}")
        if lab and f1 < worst.get(path, (2.0, ""))[0]:
            worst[path] = (f1, name)
    for path, (f1, name) in worst.items():
        print(f"worst article ({path}, labelled values only): {name}, F1 {f1:.2f}")


if __name__ == "__main__":
    main()
