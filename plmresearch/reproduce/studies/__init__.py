"""The study specs (``<name>.yaml``, package data) and the code specific to one study (``<name>.py``).

A module here holds what belongs to one publication: its construction of the sample and the
outcome (e.g. Krueger's percentile scores for Project STAR) and the estimators its spec calls,
registered with :func:`plmresearch.reproduce.registry.register`. Every module in this package
is imported when the estimator registry is first used; nothing else needs to list it.
"""
