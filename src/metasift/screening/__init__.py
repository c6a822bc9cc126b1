"""Title/abstract screening: active learning ranks the records, stopping rules say when to stop.

Entry points: :class:`ScreeningSession` (a reviewer's screening of a project: next record,
decisions, the stopping rule's verdict) with :func:`build_corpus`; :func:`simulate` (replay a
labelled collection to measure a model, ASReview-style) with :func:`choose_priors` and
:func:`result_document`; :func:`get_model` (a named screening model: features, classifier,
query strategy) and :class:`Learner`; a project's frozen model for records outside it
(:func:`project_model`, :func:`score_records`, :func:`score_shards` on Dask); the stopping
rules (:func:`default_rules`, :class:`HypergeometricStop`, ...); the metrics (:func:`wss`,
:func:`recall_at`, :func:`atd`).

The computational core (features, classifiers, query strategies, learner, stopping rules,
metrics, simulation, a living review's calibration in :mod:`~metasift.screening.living`) is
pure; :mod:`metasift.screening.store` and :mod:`metasift.screening.session` connect it to the
project store and the reviewer, and :func:`score_new_records` scores a living review's new
records with the project's model.
Names load on first use, so importing the package does not import scikit-learn.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    classifiers=["make_classifier"],
    datasets=["Dataset", "load_dataset"],
    features=["make_features", "record_texts"],
    learner=["Learner", "Proposal", "fit_scores"],
    metrics=["atd", "recall_at", "wss"],
    model_file=["load_model", "project_model", "save_model"],
    models=[
        "DEFAULT_EMBED_MODEL",
        "DEFAULT_MODEL",
        "MODELS",
        "ScreeningModel",
        "default_model_name",
        "get_model",
    ],
    plot=["plot_recall", "progress_figure"],
    query=["make_query"],
    scoring=["ProjectModel", "hashed_twin", "score_records", "score_texts", "train_project_model"],
    session=["Corpus", "ScreeningSession", "build_corpus", "make_rule"],
    settings=["ScreeningSettings", "screening_settings"],
    simulate=["Prior", "SimulationResult", "choose_priors", "result_document", "simulate"],
    stopping=[
        "BiasedUrnStop",
        "ConsecutiveIrrelevantStop",
        "CountingProcessStop",
        "HypergeometricStop",
        "KneeStop",
        "PointProcessStop",
        "SafeStop",
        "SampledHypergeometricStop",
        "StopEstimate",
        "StoppingRule",
        "default_rules",
        "recall_in_words",
    ],
    shards=["score_shard", "score_shards"],
    store=["add_decision", "standing_decisions"],
    living=[
        "Calibration",
        "Expected",
        "expected_relevant",
        "fit_calibration",
        "inclusion_threshold",
        "score_update",
    ],
    update=["NewScores", "score_new_records"],
)
