"""Mastery learning models: Bayesian knowledge tracing, mastery criteria, learner simulation, AFM."""

from plmresearch.mastery.bkt import BOUNDS, BKTModel, fit_bkt
from plmresearch.mastery.evaluate import evaluate_predictions

__all__ = ["BOUNDS", "BKTModel", "fit_bkt", "evaluate_predictions"]
