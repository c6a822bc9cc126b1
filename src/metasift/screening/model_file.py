"""A project's frozen screening model from its store, and to and from a file.

The file is what workers of a Dask cluster load (each task reads it itself, so nothing but a
path goes through the scheduler); it is a pickle, to be read only by the one who wrote it,
like any model file of scikit-learn.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from sqlalchemy import Engine

from metasift.errors import MetasiftError
from metasift.protocol import Protocol
from metasift.screening.models import get_model
from metasift.screening.scoring import ProjectModel, train_project_model
from metasift.screening.session import no_records_to_screen
from metasift.screening.settings import screening_settings
from metasift.screening.store import relevance_labels
from metasift.store.records import iter_screenable

MODEL_FILE = "model.pkl"


def project_model(engine: Engine, protocol: Protocol) -> ProjectModel:
    """The project's screening model (``[screening] model``) trained on every standing
    title/abstract decision (:func:`~metasift.screening.store.relevance_labels`).

    Args:
        engine: the project store.
        protocol: the project's protocol (model and seed).
    """
    settings = screening_settings(protocol)
    pairs = list(iter_screenable(engine))
    if not pairs:
        raise no_records_to_screen()
    position = {rid: i for i, (rid, _) in enumerate(pairs)}
    relevance = relevance_labels(engine)
    labels = {position[r]: label for r, label in relevance.items() if r in position}
    records = [record for _, record in pairs]
    return train_project_model(
        records, labels, get_model(settings.model, len(records)), settings.seed
    )


def save_model(model: ProjectModel, path: Path) -> Path:
    """Write ``model`` to ``path`` (atomically: a reader never sees half a file).

    Args:
        model: from :func:`project_model` or :func:`train_project_model`.
        path: the file to write.
    """
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)
    return path


def load_model(path: Path) -> ProjectModel:
    """A model written by :func:`save_model`.

    Args:
        path: the model file.
    """
    try:
        with Path(path).open("rb") as fh:
            model = pickle.load(fh)
    except FileNotFoundError:
        raise MetasiftError(f"{path}: no such model file.") from None
    if not isinstance(model, ProjectModel):
        raise MetasiftError(f"{path} holds no metasift screening model.")
    return model
