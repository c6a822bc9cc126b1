"""Title/abstract screening: active learning ranks the records, stopping rules say when to stop.

The computational core (features, classifiers, query strategies, learner, stopping rules,
metrics, simulation) is pure; :mod:`metasift.screening.store` and
:mod:`metasift.screening.session` connect it to the project store and the reviewer.
"""
