"""Reading PDFs that may be hostile: in a child process, with limits, never running anything.

A PDF comes from a publisher's server or a reviewer's disk and is parsed by pypdf (pure Python,
permissive licence; it has no JavaScript engine and calls no program once ``jbig2dec_binary``
is unset). A hostile file can still try to exhaust the reader: a page tree of millions of
pages, a stream that inflates to gigabytes (a decompression bomb), a cross-reference table that
sends the parser in circles. So every PDF is read in a child process:

* pypdf's own limits, lowered (:class:`PdfLimits`): pages, bytes out of one stream;
* the child's address space, CPU time and file writes capped by ``setrlimit`` (POSIX; the
  child sets them on itself before it reads anything), and a wall-clock timeout after which
  it is killed, so a file that slips past pypdf's limits still
  cannot hang or swap the worker that reads it;
* a broken cross-reference table is refused (pypdf in strict mode), not silently rebuilt;
* a document with JavaScript or a launch action is refused: it is never run here, but a reader
  opening the stored file later might run it.

The child answers one JSON object on its standard output; :func:`inspect_pdf` and
:func:`pdf_pages` turn it into a result or a :class:`~metasift.errors.FileRefusedError`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metasift.errors import FileRefusedError

# Keys whose presence means code or a program would run when the document is opened or used.
_ACTION_KEYS = {"/JS", "/JavaScript"}
_ACTION_TYPES = {"/JavaScript", "/Launch", "/ImportData", "/Rendition"}


@dataclass(frozen=True)
class PdfLimits:
    """What a PDF may cost to read.

    Args:
        max_pages: pages a full text may have (a report is rarely over a few hundred).
        max_stream_bytes: bytes one stream may inflate to (pypdf's decompression limits).
        max_objects: objects the check for scripts looks at.
        max_text_chars: characters of text taken from the whole document.
        timeout: seconds of wall-clock time for the child.
        memory_bytes: address space of the child.
    """

    max_pages: int = 2000
    max_stream_bytes: int = 50_000_000
    max_objects: int = 500_000
    max_text_chars: int = 5_000_000
    timeout: float = 60.0
    memory_bytes: int = 1 << 30


@dataclass(frozen=True)
class PdfInfo:
    """What the check found: the page count of a PDF that may be stored."""

    pages: int


def inspect_pdf(
    path: Path, limits: PdfLimits | None = None, *, shown: str | None = None
) -> PdfInfo:
    """Check that ``path`` is a PDF that reads within ``limits``; raises FileRefusedError.

    Args:
        path: the file to check.
        limits: what reading it may cost (default :class:`PdfLimits`).
        shown: how the file is named in errors (the user's name for it, or its URL).
    """
    answer = _run("check", path, limits or PdfLimits(), shown or str(path))
    return PdfInfo(pages=int(answer["pages"]))


def pdf_pages(
    path: Path,
    limits: PdfLimits | None = None,
    *,
    shown: str | None = None,
    first: int | None = None,
) -> list[tuple[int, str]]:
    """The text of each page of ``path`` as ``[(page number from 1, text)]``, read with limits.

    Args:
        path: a PDF (checked again here: the same refusals as :func:`inspect_pdf`).
        limits: what reading it may cost (default :class:`PdfLimits`).
        shown: how the file is named in errors.
        first: only the text of this many first pages.
    """
    mode = f"text:{first}" if first else "text"
    answer = _run(mode, path, limits or PdfLimits(), shown or str(path))
    return [(int(n), str(text)) for n, text in answer["pages_text"]]


def _run(mode: str, path: Path, limits: PdfLimits, shown: str) -> dict[str, Any]:
    args = [
        sys.executable,
        "-B",  # no .pyc writes: the child may write no file at all
        "-P",  # nor import a module from the working directory (a project folder, say)
        "-m",
        __name__,
        mode,
        str(path),
        json.dumps(limits.__dict__),
    ]
    here = os.getcwd()
    found = [p for p in sys.path if p and os.path.abspath(p) != here]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(found)}
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            timeout=limits.timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FileRefusedError(
            shown,
            f"reading the PDF took longer than {limits.timeout:g} s and was stopped "
            "(a broken or hostile file?)",
        ) from exc
    try:
        answer = json.loads(done.stdout.decode("utf-8"))
    except ValueError:
        raise FileRefusedError(shown, _crash(done)) from None
    if not answer.get("ok"):
        raise FileRefusedError(shown, str(answer.get("reason") or "the PDF cannot be read"))
    return answer


def _crash(done: subprocess.CompletedProcess[bytes]) -> str:
    """Why the child gave no answer: killed at a limit, or crashed."""
    if done.returncode < 0:
        return (
            f"reading the PDF was stopped at a resource limit (signal {-done.returncode}); "
            "a broken or hostile file?"
        )
    last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
    if "MemoryError" in last[0]:
        return "reading the PDF needed more memory than allowed (a decompression bomb?)"
    return f"the PDF reader failed ({last[0][:200]})"


# --- the child ---------------------------------------------------------------------------------


def _refuse(reason: str) -> dict[str, Any]:
    return {"ok": False, "reason": reason}


def _scripted(reader: Any, limit: int) -> str | None:
    """The first script or launch action found in the document's objects, if any.

    Every indirect object is read once and its direct dictionaries and arrays walked (an
    action is often written inline, as in ``/OpenAction << /S /JavaScript ... >>``); indirect
    references are not followed, since their objects are read in turn. ``limit`` bounds the
    nodes looked at.
    """
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    ids = [(num, gen) for gen, objs in reader.xref.items() for num in objs]
    ids += [(num, 0) for num in reader.xref_objStm]
    budget = limit
    for num, gen in ids:
        try:
            todo = [reader.get_object(IndirectObject(num, gen, reader))]
        except Exception:  # an unreadable object is not a script
            continue
        while todo and budget > 0:
            obj = todo.pop()
            budget -= 1
            if isinstance(obj, DictionaryObject):
                if _ACTION_KEYS & set(obj.keys()):
                    return "JavaScript"
                if obj.get("/S") in _ACTION_TYPES:
                    return f"a {str(obj['/S']).lstrip('/')} action"
                todo += [v for v in obj.values() if not isinstance(v, IndirectObject)]
            elif isinstance(obj, ArrayObject):
                todo += [v for v in obj if not isinstance(v, IndirectObject)]
        if budget <= 0:
            break
    return None


def _inspect(mode: str, path: str, limits: dict[str, Any]) -> dict[str, Any]:
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

    cap = int(limits["max_stream_bytes"])
    settings = {
        "jbig2dec_binary": None,  # never call a program
        "maximum_declared_stream_length": cap,
        "array_based_stream_maximum_output_length": cap,
        "zlib_maximum_output_length": cap,
        "lzw_maximum_output_length": cap,
        "run_length_maximum_output_length": cap,
        "brotli_maximum_output_length": cap,
        "jbig2_maximum_output_length": cap,
        "image_maximum_buffer_size": cap,
        "page_tree_maximum_entries": int(limits["max_pages"]) * 2 + 10,
    }
    max_pages = int(limits["max_pages"])
    with apply_configuration(**settings):
        try:
            reader = PdfReader(path, strict=True)
        except FileNotDecryptedError:
            raise
        except (PyPdfError, ValueError, KeyError, TypeError) as exc:
            return _refuse(f"not a readable PDF: the cross-reference table is broken ({exc})")
        try:
            declared = int(reader.trailer["/Root"]["/Pages"].get("/Count", 0))
        except FileNotDecryptedError:
            raise
        except (PyPdfError, KeyError, TypeError, ValueError) as exc:
            return _refuse(f"not a readable PDF: it has no page tree ({exc})")
        if declared > max_pages:
            return _refuse(f"the PDF says it has {declared:,} pages; at most {max_pages:,} read")
        try:
            pages = len(reader.pages)
        except FileNotDecryptedError:
            raise
        except (PyPdfError, RecursionError, ValueError) as exc:
            return _refuse(f"the page tree cannot be read within the limits ({exc})")
        if pages > max_pages:
            return _refuse(f"the PDF has {pages:,} pages; at most {max_pages:,} read")
        if pages == 0:
            return _refuse("the PDF has no pages")
        script = _scripted(reader, int(limits["max_objects"]))
        if script:
            return _refuse(
                f"the PDF carries {script}; it would run when opened in some readers. "
                "Save a copy without it (e.g. print to PDF) and attach that."
            )
        texts: list[tuple[int, str]] = []
        budget = int(limits["max_text_chars"])
        try:
            for number, page in enumerate(reader.pages, start=1):
                if mode == "check":
                    page.get_contents() and page.get_contents().get_data()  # inflate, bounded
                elif ":" in mode and number > int(mode.split(":")[1]):
                    break
                else:
                    text = page.extract_text()[:budget] if budget > 0 else ""
                    budget -= len(text)
                    texts.append((number, text))
        except FileNotDecryptedError:
            raise
        except LimitReachedError as exc:
            return _refuse(
                f"a page of the PDF inflates past the limits: a decompression bomb? ({exc})"
            )
        except (PyPdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
            return _refuse(f"a page of the PDF cannot be read within the limits ({exc})")
    return {"ok": True, "pages": pages, "pages_text": texts}


def _confine(limits: dict[str, Any]) -> None:
    """Cap this process's memory, CPU time and file writes before it reads the PDF.

    The child sets its own limits as it starts (rather than a ``preexec_fn`` in the parent,
    which is unsafe in a threaded web server); nothing of the file is read before.
    """
    try:
        import resource
    except ImportError:  # not POSIX: the parent's timeout still holds
        return
    cpu = int(limits["timeout"]) + 1
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _main(argv: list[str]) -> int:
    mode, path, limits = argv[1], argv[2], json.loads(argv[3])
    _confine(limits)
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        answer = _inspect(mode, path, limits)
    except MemoryError:
        answer = _refuse("reading the PDF needed more memory than allowed (a decompression bomb?)")
    except FileNotDecryptedError:
        answer = _refuse("the PDF is protected by a password; attach a copy saved without one")
    except DependencyError as exc:
        answer = _refuse(
            f"the PDF is encrypted in a way this installation cannot read ({exc}); install "
            "pypdf's crypto extra (pip install 'pypdf[crypto]') or attach a copy saved "
            "without encryption"
        )
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv))
