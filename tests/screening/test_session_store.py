"""Screening decisions and model runs in the store (SQLite and PostgreSQL), and the CLI loop."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from metasift.protocol import parse_protocol, template
from metasift.records.importing import import_file
from metasift.screening.session import ScreeningSession
from metasift.screening.store import standing_decisions
from metasift.store import create_db_engine, migrate
from metasift.store.schema import decisions, model_runs
from tests.conftest import FIXTURES

MINI = FIXTURES / "synergy_mini"
PROTOCOL = template("Object-in-context memory in rodents").replace(
    'question = ""',
    'question = "What affects object-in-context recognition memory in rats and mice?"',
)


def _engine(url: str):
    engine = create_db_engine(url)
    migrate(engine)
    import_file(engine, MINI)
    return engine


def test_decisions_and_model_runs_are_stored(db_url):
    engine = _engine(db_url)
    protocol = parse_protocol(PROTOCOL)
    session = ScreeningSession(engine, protocol, "ann", background=False)
    shown = []
    for key in ("include", "exclude", "maybe", "exclude"):
        record_id, _, proposal = session.current()
        shown.append((record_id, proposal.rank))
        session.decide(key, note="checked" if key == "maybe" else None)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions).order_by(decisions.c.id)).all()
        runs = {r.id: r for r in conn.execute(sa.select(model_runs))}
    assert [(r.record_id, r.rank) for r in rows] == shown
    assert [r.decision for r in rows] == ["include", "exclude", "maybe", "exclude"]
    assert all(r.reviewer == "ann" and r.stage == "title_abstract" for r in rows)
    assert all(r.decided_at is not None and r.retracted_at is None for r in rows)
    assert rows[2].note == "checked"
    # The first record came from the protocol-similarity ranking, later ones from models
    # trained on the decisions made so far.
    assert runs[rows[0].model_run_id].kind == "cold"
    assert runs[rows[0].model_run_id].n_labelled == 0
    assert runs[rows[-1].model_run_id].n_labelled >= 2
    assert runs[rows[-1].model_run_id].model == session.model.name
    status = session.status()
    assert (status.n_screened, status.n_included, status.n_records) == (4, 2, 40)
    session.close()


def test_undo_retracts_and_a_new_session_resumes_deterministically(db_url):
    engine = _engine(db_url)
    protocol = parse_protocol(PROTOCOL)
    session = ScreeningSession(engine, protocol, "ann", background=False)
    for key in ("include", "exclude", "exclude", "include", "exclude"):
        session.decide(key)
    last = session.current()[0]
    session.decide("include")
    assert session.undo() == last
    assert session.current()[0] == last
    with engine.connect() as conn:
        retracted = (
            conn.execute(
                sa.select(decisions.c.record_id).where(decisions.c.retracted_at.is_not(None))
            )
            .scalars()
            .all()
        )
    assert retracted == [last]
    assert [d.record_id for d in standing_decisions(engine)][-1] != last
    # Without the undone record in the way, the learner's next proposal is the resumed one's.
    next_here = session.record_ids[session.learner.propose().index]
    session.close()
    resumed = ScreeningSession(engine, protocol, "bob", background=False)
    assert resumed.learner.n_labelled == 5
    assert resumed.current()[0] == next_here
    resumed.close()


def test_screen_cli_driven_through_stdin(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "review.toml").write_text(
        PROTOCOL.replace("include_terms = []", 'include_terms = ["object", "context"]'),
        encoding="utf-8",
    )
    run = [sys.executable, "-m", "metasift.cli"]
    assert subprocess.run([*run, "import", "-p", str(project), str(MINI)]).returncode == 0
    stranger = subprocess.run(
        [*run, "screen", "-p", str(project), "--reviewer", "cli-tester"],
        input="i\n",
        capture_output=True,
        text=True,
    )
    assert stranger.returncode == 1
    assert "'cli-tester' is not a member of this review" in stranger.stderr
    assert "metasift reviewer add cli-tester" in stranger.stderr
    add = [*run, "reviewer", "add", "cli-tester", "--role", "owner", "-p", str(project)]
    assert subprocess.run(add).returncode == 0
    result = subprocess.run(
        [*run, "screen", "-p", str(project), "--reviewer", "cli-tester"],
        input="i\ne\nx\nm\nu\ne\ni\nq\n",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "unknown key 'x'" in out
    assert "undid the decision on record" in out
    assert "of the relevant records found so far (at least" in out and "keep screening" in out
    # The guarantee is stated with the assumption it rests on.
    said = " ".join(result.stderr.split())
    assert "Stopping rule: stop is recommended when the records screened last make it " in said
    assert "unlikely (under 5%) that fewer than 95% of the relevant records have been found" in said
    assert "the guarantee rests on this ranking, not on a random draw" in said
    assert "4 decision(s) stored for cli-tester" in out
    engine = create_db_engine(f"sqlite:///{project / 'metasift.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions).order_by(decisions.c.id)).all()
    standing = [r.decision for r in rows if r.retracted_at is None]
    assert standing == ["include", "exclude", "exclude", "include"]
    assert [r.decision for r in rows if r.retracted_at is not None] == ["maybe"]
    assert all(r.reviewer == "cli-tester" and r.model_run_id for r in rows)
    # Piped input that ends without q ends the session cleanly too.
    again = subprocess.run(
        [*run, "screen", "-p", str(project), "--reviewer", "cli-tester"],
        input="e\n",
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "1 decision(s) stored" in again.stdout
    assert "screened 5 of 40" in again.stdout


def test_seed_studies_come_first_and_settings_are_validated(tmp_path):
    import pytest

    from metasift.errors import ProtocolError
    from metasift.records.formats import read_records

    engine = _engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    seed = read_records(MINI)[7]
    protocol = parse_protocol(PROTOCOL + f'\n[screening]\nseed_studies = ["{seed.doi}"]\n')
    session = ScreeningSession(engine, protocol, "ann", background=False)
    _, first, proposal = session.current()
    assert first.doi == seed.doi and proposal.ranking.kind == "cold"
    session.close()
    bad = parse_protocol(PROTOCOL + "\n[screening]\ntarget_recall = 2\nmodle = 'x'\n")
    with pytest.raises(ProtocolError, match=r"key 'screening\.target_recall'") as info:
        ScreeningSession(engine, bad, "ann", background=False)
    assert "key 'screening.modle' is not a known setting" in str(info.value)
