"""Mastery learning models: Bayesian knowledge tracing, mastery criteria, learner simulation, AFM."""

from plmresearch.mastery.afm import AFMModel, fit_afm, opportunity_counts
from plmresearch.mastery.bkt import BOUNDS, BKTModel, fit_bkt
from plmresearch.mastery.criteria import (
    DEFAULT_RULES,
    BKTThreshold,
    ConsecutiveCorrect,
    MovingWindow,
    first_mastery,
    mastery_opportunities,
    summarize_opportunities,
)
from plmresearch.mastery.evaluate import evaluate_predictions
from plmresearch.mastery.plots import learning_curve, mastery_trajectories, parameter_plot
from plmresearch.mastery.simulate import simulate_mastery, simulate_matrix, simulate_responses

__all__ = [
    "AFMModel", "fit_afm", "opportunity_counts",
    "BOUNDS", "BKTModel", "fit_bkt", "evaluate_predictions",
    "DEFAULT_RULES", "BKTThreshold", "ConsecutiveCorrect", "MovingWindow", "first_mastery",
    "mastery_opportunities", "summarize_opportunities",
    "learning_curve", "mastery_trajectories", "parameter_plot",
    "simulate_mastery", "simulate_matrix", "simulate_responses",
]
