"""Importing in the browser records the same PRISMA-S details as `metasift import`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from metasift.project import Project
from metasift.store.schema import imports
from tests.web.conftest import csrf_of

EMBASE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "ris/asreview/embase.ris"


def test_an_upload_records_its_search_details(two_projects):
    server, alpha, _ = two_projects
    ana = server.login("ana")
    token = csrf_of(ana.get("/p/alpha/import").text)
    response = ana.post(
        "/p/alpha/import",
        files={"file": ("embase.ris", EMBASE.read_bytes())},
        data={
            "csrf_token": token,
            "searched": "2025-03-01",
            "query": "'adipose'/exp AND 'psoriasis'/exp",
            "limits": "English",
        },
    )
    assert response.status_code == 200, response.text
    assert "source Embase (stated by the export), platform Embase.com" in response.text
    assert "searched 2025-03-01" in response.text
    with Project.open(alpha) as project, project.engine.connect() as conn:
        row = conn.execute(sa.select(imports).order_by(imports.c.id.desc())).first()
    assert (row.source, row.source_origin, row.platform, row.searched, row.limits) == (
        "Embase",
        "export",
        "Embase.com",
        "2025-03-01",
        "English",
    )
