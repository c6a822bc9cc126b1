"""`metasift user add` and `user list`: the password comes from stdin and is stored hashed."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from metasift.cli import app
from metasift.project import Project
from metasift.store.schema import users
from metasift.web.users import authenticate


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def test_user_add_reads_the_password_from_stdin(tmp_path):
    (tmp_path / "review.toml").write_text('[review]\ntitle = "Users"\n')
    added = _run(
        "user",
        "add",
        "ana",
        "--role",
        "owner",
        "--project",
        str(tmp_path),
        input="long enough pw\n",
    )
    assert added.exit_code == 0, added.output
    assert "ana is owner" in added.output
    # Once the review has an owner, only an owner adds people.
    refused = _run(
        "user", "add", "ben", "-r", "mallory", "--project", str(tmp_path), input="another secret\n"
    )
    assert refused.exit_code != 0
    assert "'mallory' is not a member of this review" in str(refused.exception)
    _run("user", "add", "ben", "-r", "ana", "--project", str(tmp_path), input="another secret\n")
    listed = _run("user", "list", "--project", str(tmp_path))
    assert listed.output.splitlines() == ["ana\towner", "ben\treviewer"]
    with Project.open(tmp_path) as project:
        assert authenticate(project.engine, "ana", "long enough pw") is not None
        assert authenticate(project.engine, "ana", "long enough pw ") is None
        with project.engine.connect() as conn:
            stored = conn.execute(sa.select(users.c.password_hash)).scalars().all()
        assert all(h.startswith("$argon2id$") and "long enough" not in h for h in stored)


def test_user_add_refuses_a_short_password_or_an_unknown_role(tmp_path):
    (tmp_path / "review.toml").write_text('[review]\ntitle = "Users"\n')
    short = _run("user", "add", "ana", "--project", str(tmp_path), input="short\n")
    assert short.exit_code != 0 and "at least 8 characters" in str(short.exception)
    role = _run(
        "user",
        "add",
        "ana",
        "--role",
        "admin",
        "--project",
        str(tmp_path),
        input="long enough pw\n",
    )
    assert role.exit_code != 0 and "unknown role 'admin'" in str(role.exception)
    listed = _run("user", "list", "--project", str(tmp_path))
    assert listed.output == ""
