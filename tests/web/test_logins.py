"""Login limits, the lockout an owner lifts, and the Host header: over real HTTP."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from metasift.cli import app as cli
from metasift.project import Project
from metasift.store.audit import iter_log
from metasift.web import logins
from metasift.web.logins import LoginLimits, backoff_wait
from tests.web.conftest import PASSWORD, make_project, start_server

FAST = LoginLimits(per_account=3, per_address=6, backoff=2.0, backoff_max=4.0, lock_after=5)


def _try(client: httpx.Client, name: str, password: str) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The names whose password was checked (an argon2 computation each)."""
    seen: list[str] = []
    real = logins.authenticate

    def counting(engine, name, password):
        seen.append(name)
        return real(engine, name, password)

    monkeypatch.setattr(logins, "authenticate", counting)
    return seen


def _failures(root, name: str) -> list:
    with Project.open(root) as project:
        return list(iter_log(project.engine, action="login.failed", entity_id=name))


def test_backoff_doubles_after_the_limit_and_is_capped():
    limits = LoginLimits(backoff=30, backoff_max=100)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    at = [now - timedelta(seconds=5)] * 4
    assert backoff_wait(at, 5, limits, now) == 0
    assert backoff_wait([*at, now], 5, limits, now) == 30
    assert backoff_wait([*at, now, now], 5, limits, now) == 60
    assert backoff_wait([now] * 9, 5, limits, now) == 100
    # Naive times (as SQLite hands them back) are UTC.
    assert backoff_wait([now.replace(tzinfo=None)] * 5, 5, limits, now) == 30


def test_failures_then_429_without_checking_the_password(tmp_path, db_url, checked):
    root = make_project(tmp_path / "alpha", "Alpha review", db_url, records=False)
    with start_server([root], login_limits=FAST) as server:
        client = server.client()
        for _ in range(FAST.per_account):
            assert _try(client, "ben", "wrong password").status_code == 401
        assert len(checked) == FAST.per_account
        for _ in range(5):
            refused = _try(client, "ben", PASSWORD)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["Retry-After"]) <= 2
            assert "Too many failed logins" in refused.text
        # No password was checked for the refused attempts, and none of them is a failure.
        assert len(checked) == FAST.per_account
        audited = _failures(root, "ben")
        assert len(audited) == FAST.per_account
        assert all(e.value == {"address": "127.0.0.1"} for e in audited)
        assert all(PASSWORD not in str(e) and "wrong password" not in str(e) for e in audited)
        # Other names are not held back by ben's failures (until the address limit).
        assert server.login("cy").get("/").status_code == 200
        # After the wait the right password lets ben in and clears the count.
        time.sleep(FAST.backoff + 0.1)
        assert _try(client, "ben", PASSWORD).status_code == 303
        with Project.open(root) as project:
            assert logins.failures(project.engine, "ben") == 0


def test_the_address_limit_covers_every_name(tmp_path, checked):
    root = make_project(tmp_path / "alpha", "Alpha review", None, records=False)
    with start_server([root], login_limits=FAST) as server:
        client = server.client()
        names = [f"guess{i}" for i in range(FAST.per_address)]
        for name in names:
            assert _try(client, name, "wrong password").status_code == 401
        refused = _try(client, "ana", PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert checked == names


def test_lockout_is_lifted_by_an_owner_only(tmp_path, monkeypatch):
    root = make_project(tmp_path / "alpha", "Alpha review", None, records=False)
    limits = LoginLimits(per_account=100, per_address=100, lock_after=4)
    with start_server([root], login_limits=limits) as server:
        client = server.client()
        for _ in range(limits.lock_after):
            assert _try(client, "ben", "wrong password").status_code == 401
        locked = _try(client, "ben", PASSWORD)
        assert locked.status_code == 423 and "ask an owner of the project" in locked.text
        assert "metasift user" not in locked.text  # the web says what to do, not a command
        # An unknown name locks the same way: the lock says nothing about who exists.
        for _ in range(limits.lock_after):
            assert _try(client, "nobody", "wrong password").status_code == 401
        assert _try(client, "nobody", "wrong password").status_code == 423

        runner = CliRunner()
        refused = runner.invoke(cli, ["user", "unlock", "ben", "-p", str(root), "-r", "cy"])
        assert refused.exit_code != 0
        assert "only owners may manage the review" in str(refused.exception)
        assert _try(client, "ben", PASSWORD).status_code == 423

        lifted = runner.invoke(cli, ["user", "unlock", "ben", "-p", str(root), "-r", "ana"])
        assert lifted.exit_code == 0, lifted.output
        assert "4 failed login(s) cleared" in lifted.output
        assert _try(client, "ben", PASSWORD).status_code == 303
    with Project.open(root) as project:
        (entry,) = iter_log(project.engine, action="user.unlock")
    assert (entry.actor, entry.entity_id, entry.previous) == ("ana", "ben", {"failures": 4})


def test_a_request_naming_another_host_is_refused(tmp_path):
    root = make_project(tmp_path / "alpha", "Alpha review", None, records=False)
    with start_server([root]) as server:
        client = server.client()
        assert client.get("/login").status_code == 200
        assert client.get("/login", headers={"Host": "localhost"}).status_code == 200
        evil = client.get("/login", headers={"Host": "attacker.example"})
        assert evil.status_code == 400
        assert evil.headers["X-Frame-Options"] == "DENY"
    with start_server([root], allowed_hosts=["review.example.org"]) as server:
        client = server.client()
        assert client.get("/login", headers={"Host": "review.example.org"}).status_code == 200
        assert client.get("/login").status_code == 400
