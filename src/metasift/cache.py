"""The user's cache folder: results that are slow to compute and cheap to compute again.

Caches live in the platform's cache folder (``~/.cache/metasift`` on Linux, found by
platformdirs), or in ``$METASIFT_CACHE_DIR``; never in the working folder, so that running a
command leaves no files where it was run. Deleting the folder loses nothing but time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

ENV = "METASIFT_CACHE_DIR"


def cache_dir(kind: str = "") -> Path:
    """The cache folder (a sub-folder ``kind`` of it when given), created if missing.

    Args:
        kind: what is cached there, e.g. "embeddings".
    """
    base = os.environ.get(ENV)
    if not base:
        from platformdirs import user_cache_dir

        base = user_cache_dir("metasift", appauthor=False)
    folder = Path(base) / kind if kind else Path(base)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cache_key(parts: Iterable[str]) -> str:
    """A SHA-256 of ``parts`` (each length-prefixed, so no two lists share a key)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def cached_array(kind: str, parts: Iterable[str], compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The array cached under ``parts``, or ``compute()`` stored there first.

    A damaged or unreadable cache file is computed again; the file is written to a temporary
    name and renamed, so that a killed process never leaves half a file to be read.

    Args:
        kind: the cache's sub-folder.
        parts: everything the result depends on (model, settings, input texts).
        compute: makes the array when it is not cached.
    """
    folder = cache_dir(kind)
    path = folder / f"{cache_key(parts)}.npy"
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            pass
    array = compute()
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)  # a read-only cache costs time, not the result
    return array
