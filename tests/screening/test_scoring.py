"""A project's frozen screening model: the learner's ranking, record by record."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from metasift.errors import MetasiftError
from metasift.records.formats import read_records
from metasift.screening.learner import fit_scores
from metasift.screening.models import get_model
from metasift.screening.scoring import hashed_twin, score_records, train_project_model
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def collection():
    records = read_records(FIXTURES / "synergy_mini")
    return records, {i: r.label for i, r in enumerate(records)}


def test_a_hashed_model_scores_as_the_learner_ranks(collection):
    records, labels = collection
    # The default's four members on hashed words and stems (its character member has a
    # vocabulary, so the default itself is scored by a twin: see the test below).
    model = get_model("svm+logistic-bmi/words+stems+mesh")
    project = train_project_model(records, labels, model, seed=3)
    assert not project.twin and project.model == model.name
    # The learner's ranking after every decision, on the same records: the same numbers
    # (up to rounding: the learner standardises member by member, the frozen model at once).
    from metasift.screening.features import record_texts

    X = model.make_features().fit_transform(record_texts(records, model.text_fields))
    labelled = np.arange(len(records))
    y = np.asarray([labels[i] for i in labelled])
    kind, learner = fit_scores(X, labelled, y, model, 3, None)
    assert kind == "classifier"
    np.testing.assert_allclose(score_records(project, records), learner, rtol=1e-5, atol=1e-5)


def test_a_score_depends_on_its_record_alone(collection):
    records, labels = collection
    project = train_project_model(records, labels, get_model("default"))
    whole = score_records(project, records)
    pieces = np.concatenate([score_records(project, records[i : i + 7]) for i in range(0, 40, 7)])
    assert whole.tobytes() == pieces.tobytes()
    reversed_scores = score_records(project, records[::-1])[::-1]
    assert whole.tobytes() == reversed_scores.tobytes()
    assert score_records(project, []).shape == (0,)
    assert project.included_scores.min() > np.median(whole)


def test_vocabulary_models_are_scored_by_a_hashed_twin(collection):
    records, labels = collection
    twin = hashed_twin(get_model("tfidf-nb"))
    assert twin.name == "tfidf-nb/hashed"
    assert (twin.features, twin.classifier) == ("hashed-words", "logistic")
    assert hashed_twin(get_model("svm-u4")) is get_model("svm-u4")
    project = train_project_model(records, labels, get_model("tfidf-logistic"))
    assert project.twin and "hashed twin of tfidf-logistic" in repr(project)
    scores = score_records(project, records)
    relevant = np.asarray([labels[i] for i in range(len(records))]) == 1
    assert scores[relevant].mean() > scores[~relevant].mean()


def test_a_model_needs_both_kinds_of_decision(collection):
    records, _ = collection
    with pytest.raises(MetasiftError, match="at least one relevant and one irrelevant"):
        train_project_model(records, {0: 1, 1: 1}, get_model("default"))


def test_one_model_without_members_is_its_own_ensemble(collection):
    records, labels = collection
    model = dataclasses.replace(get_model("svm-u4"))
    project = train_project_model(records, labels, model)
    assert len(project.groups) == 1 and project.groups[0].share == 1.0
