"""A small project with screening decisions, to train a model from."""

from __future__ import annotations

from pathlib import Path

from metasift.project import Project, init_project
from metasift.records.importing import import_file
from metasift.screening.store import add_decision
from metasift.store.records import iter_screenable
from tests.conftest import FIXTURES


def screened_project(folder: Path, model: str | None = None) -> Path:
    """A project of the 40 labelled SYNERGY records, every one decided as labelled."""
    init_project(folder, "Object-in-context memory in rodents")
    if model:
        toml = folder / "review.toml"
        toml.write_text(toml.read_text() + f'\n[screening]\nmodel = "{model}"\n')
    with Project.open(folder) as proj:
        import_file(proj.engine, FIXTURES / "synergy_mini")
        pairs = list(iter_screenable(proj.engine))
        with proj.engine.begin() as conn:
            for record_id, record in pairs:
                decision = "include" if record.label else "exclude"
                add_decision(conn, record_id=record_id, decision=decision, reviewer="ann")
    return folder
