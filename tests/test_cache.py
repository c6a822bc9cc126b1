"""Caches live in the user's cache folder (or $METASIFT_CACHE_DIR), never where a command runs."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from metasift.cache import cache_dir, cache_key, cached_array

MINI = Path(__file__).resolve().parent / "fixtures" / "synergy_mini"


def test_the_cache_folder_is_the_platforms_unless_overridden(tmp_path, monkeypatch):
    monkeypatch.setenv("METASIFT_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir("embeddings") == tmp_path / "mine" / "embeddings"
    assert (tmp_path / "mine" / "embeddings").is_dir()
    monkeypatch.delenv("METASIFT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if sys.platform.startswith("linux"):
        assert cache_dir() == tmp_path / "xdg" / "metasift"


def test_an_array_is_computed_once_and_a_damaged_file_again(tmp_path, monkeypatch):
    monkeypatch.setenv("METASIFT_CACHE_DIR", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(2, 3)

    first = cached_array("vectors", ["model", "text a", "text b"], compute)
    again = cached_array("vectors", ["model", "text a", "text b"], compute)
    assert len(calls) == 1 and np.array_equal(first, again) and again.dtype == np.float32
    (file,) = (tmp_path / "vectors").glob("*.npy")
    file.write_bytes(b"half a file")
    assert np.array_equal(cached_array("vectors", ["model", "text a", "text b"], compute), first)
    assert len(calls) == 2
    assert cache_key(["ab", "c"]) != cache_key(["a", "bc"])


def test_simulate_leaves_nothing_in_the_folder_it_runs_in(tmp_path):
    here = tmp_path / "cwd"
    here.mkdir()
    env = {**os.environ, "METASIFT_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "simulate", str(MINI), "--seed", "1"],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert list(here.iterdir()) == []
