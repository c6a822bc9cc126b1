"""Reviewers screening at the same time over HTTP, on SQLite and PostgreSQL: no decision lost
or stored twice, each record goes to exactly as many reviewers as the protocol asks for, and
a record nobody decides goes back to the pool when its lease expires."""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from metasift.project import Project
from metasift.store.schema import decisions
from tests.conftest import FIXTURES
from tests.web.conftest import csrf_of, make_project, start_server

RECORD = re.compile(r'name="record_id" value="(\d+)"')
SYNERGY_MINI = FIXTURES / "synergy_mini"  # 40 real works
TEAM = ("ana", "ben", "cy", "dee", "eli", "fay", "gus", "hal")


def _stored(root) -> list[tuple[int, str]]:
    with Project.open(root) as project, project.engine.connect() as conn:
        rows = conn.execute(
            sa.select(decisions.c.record_id, decisions.c.reviewer).where(
                decisions.c.retracted_at.is_(None)
            )
        ).all()
    return [(r.record_id, r.reviewer) for r in rows]


def _decision(record_id: int) -> str:
    return "include" if record_id % 3 else "exclude"


HELD = "reload in a moment"  # every record left for the reviewer is held by others


def _screen_all(
    server, name: str, slug: str, *, twice: bool = False, held_at_end: bool = False
) -> tuple[list[int], int]:
    """Decide every record the server hands to ``name``; returns their ids in order and how
    many answers said the decision was already stored.

    ``twice``: every decision is sent twice at the same moment, as a double click or a
    retried request would. While the only records left are held by others, the reviewer
    reloads (for up to 30 s); with ``held_at_end`` that is expected to be how it ends.
    """
    client = server.login(name)
    page = client.get(f"/p/{slug}/screen").text
    headers = {"X-CSRF-Token": csrf_of(page), "HX-Request": "true"}
    seen, repeats = [], 0
    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(2) as pool:
        while True:
            match = RECORD.search(page)
            if match is None and HELD in page and not held_at_end:
                assert time.monotonic() < deadline, f"{name} waited 30 s for held records"
                time.sleep(0.05)
                page = client.get(f"/p/{slug}/screen").text
                continue
            if match is None:
                break
            record_id = int(match.group(1))
            seen.append(record_id)
            data = {"record_id": record_id, "decision": _decision(record_id)}

            def send(_, data=data):
                return client.post(f"/p/{slug}/screen/decide", data=data, headers=headers)

            answers = list(pool.map(send, range(2 if twice else 1)))
            assert [a.status_code for a in answers] == [200] * len(answers), answers[0].text
            repeats += sum("already stored" in a.text for a in answers)
            page = client.get(f"/p/{slug}/screen").text if twice else answers[0].text
    assert (HELD if held_at_end else "No record is waiting for you") in page
    return seen, repeats


def test_single_screening_by_eight_reviewers_at_once(tmp_path, db_url):
    root = make_project(
        tmp_path / "team", "Team", db_url, reviewers=1, source=SYNERGY_MINI, extra_users=TEAM[3:]
    )
    with start_server([root]) as server, ThreadPoolExecutor(len(TEAM)) as pool:
        results = dict(
            zip(
                TEAM,
                pool.map(lambda n: _screen_all(server, n, "team", twice=True), TEAM),
                strict=True,
            )
        )
    seen = {name: ids for name, (ids, _) in results.items()}
    stored = _stored(root)
    # Every record decided once, by the reviewer it was handed to, and by nobody else: the
    # reviewers' records never overlap.
    assert len(stored) == 40
    assert sorted(stored) == sorted((rid, name) for name, ids in seen.items() for rid in ids)
    assert sum(len(ids) for ids in seen.values()) == len(set().union(*seen.values())) == 40
    # Each decision was sent twice; one of the two answers said it was stored already.
    assert sum(repeats for _, repeats in results.values()) == 40
    # The work was shared: several reviewers got records.
    assert sum(1 for ids in seen.values() if ids) >= 2


def test_dual_screening_by_six_reviewers_gives_each_record_to_two(tmp_path, db_url):
    team = TEAM[:6]
    root = make_project(
        tmp_path / "dual", "Dual", db_url, reviewers=2, source=SYNERGY_MINI, extra_users=team[3:]
    )
    with start_server([root]) as server, ThreadPoolExecutor(len(team)) as pool:
        screened = pool.map(lambda n: _screen_all(server, n, "dual"), team)
        results = dict(zip(team, screened, strict=True))
    stored = _stored(root)
    assert len(stored) == 80 == len(set(stored))
    per_record = Counter(record_id for record_id, _ in stored)
    assert len(per_record) == 40 and set(per_record.values()) == {2}
    for name, (ids, repeats) in results.items():
        assert len(ids) == len(set(ids)) and repeats == 0, name
        assert sorted(ids) == sorted(r for r, who in stored if who == name)


def test_single_screening_shares_the_work_and_stores_a_repeat_once(tmp_path, db_url):
    root = make_project(tmp_path / "single", "Single", db_url, reviewers=1)
    with start_server([root]) as server:
        ana, ben = server.login("ana"), server.login("ben")
        page_a, page_b = ana.get("/p/single/screen").text, ben.get("/p/single/screen").text
        first_a, first_b = RECORD.search(page_a).group(1), RECORD.search(page_b).group(1)
        assert first_a != first_b  # never the same record to two reviewers at once
        # Reloading keeps one's record.
        assert RECORD.search(ana.get("/p/single/screen").text).group(1) == first_a
        headers = {"X-CSRF-Token": csrf_of(page_a), "HX-Request": "true"}
        data = {"record_id": first_a, "decision": "include"}
        with ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(
                    lambda _: ana.post("/p/single/screen/decide", data=data, headers=headers),
                    range(4),
                )
            )
        assert [r.status_code for r in answers] == [200] * 4
        assert sum("already stored" in r.text for r in answers) == 3
        assert _stored(root) == [(int(first_a), "ana")]
        # Undo gives the record back to its reviewer, and the decision is retracted.
        undone = ana.post("/p/single/screen/undo", headers=headers)
        assert f"Undid your decision on record {first_a}" in undone.text
        assert RECORD.search(undone.text).group(1) == first_a
        assert _stored(root) == []
        # Ben screens the rest; the record Ana holds is not handed to him, and he is told
        # that it is held, not that nothing is left.
        rest, _ = _screen_all(server, "ben", "single", held_at_end=True)
        assert first_b in map(str, rest) and first_a not in map(str, rest)
        assert len(rest) == 8
        assert sorted(r for r, _ in _stored(root)) == sorted(rest)


def test_an_abandoned_record_returns_to_the_pool_when_its_lease_expires(tmp_path, db_url):
    root = make_project(tmp_path / "lease", "Lease", db_url, reviewers=1)
    ttl = 3.0
    with start_server([root], lease_seconds=ttl) as server:
        ana = server.login("ana")
        page = ana.get("/p/lease/screen").text
        leased_at = time.monotonic()
        held = int(RECORD.search(page).group(1))
        rest, _ = _screen_all(server, "ben", "lease", held_at_end=True)
        # While ana's lease runs, ben gets every record but hers, and is told it is held.
        assert time.monotonic() - leased_at < ttl, "too slow to test the lease"
        assert len(rest) == 8 and held not in rest
        time.sleep(max(0.0, leased_at + ttl + 0.2 - time.monotonic()))
        ben = server.login("ben")
        page_b = ben.get("/p/lease/screen").text
        assert int(RECORD.search(page_b).group(1)) == held
        headers = {"X-CSRF-Token": csrf_of(page_b), "HX-Request": "true"}
        data = {"record_id": held, "decision": "exclude"}
        assert ben.post("/p/lease/screen/decide", data=data, headers=headers).status_code == 200
        # Ana comes back and decides the record that was handed on: refused, not stored.
        late = ana.post(
            "/p/lease/screen/decide",
            data={"record_id": held, "decision": "include"},
            headers={"X-CSRF-Token": csrf_of(page), "HX-Request": "true"},
        )
        assert late.status_code == 400 and "handed to other reviewers" in late.text
    stored = _stored(root)
    assert len(stored) == 9 and {who for _, who in stored} == {"ben"}
