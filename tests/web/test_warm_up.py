"""At start the server builds each project's screening features in the background, reporting
long feature work to its log, so that the first reviewer does not wait for them."""

from __future__ import annotations

import logging

from metasift.screening import features
from metasift.web.app import create_app
from metasift.web.server import open_projects, warm_up
from tests.web.conftest import make_project


def test_warm_up_builds_each_projects_features_and_logs_their_progress(
    tmp_path, caplog, monkeypatch
):
    root = make_project(tmp_path / "alpha", "Alpha review", None)
    app = create_app(open_projects([root]))
    # The default model's features without the embed extra are quick and report nothing;
    # a report made while they are built reaches the log with the project's name.
    built = features.MemberFeatures.fit_transform

    def reporting(self, texts, y=None, **params):
        features._PROGRESS.get()("embedding records", len(texts), len(texts))
        return built(self, texts, y, **params)

    monkeypatch.setattr(features.MemberFeatures, "fit_transform", reporting)
    try:
        with caplog.at_level(logging.INFO, logger="metasift.web"):
            for thread in warm_up(app):
                thread.join(timeout=120)
        served = app.state.served.projects["alpha"]
        corpus = served.screening()._corpus
        assert corpus is not None and len(corpus.records) == 9  # the screenable records
        assert "alpha: embedding records: 9 of 9" in caplog.text
    finally:
        app.state.served.close()
