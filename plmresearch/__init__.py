"""plmresearch: a research toolkit for personalized and mastery-based learning.

Effect sizes that follow What Works Clearinghouse conventions, causal and
hierarchical models, Bayesian knowledge tracing, and reproductions of
published evaluations on public data.
"""

from plmresearch.data import dataset_card, fetch_dataset, list_datasets, load_dataset
from plmresearch.errors import PlmError, PlmWarning
from plmresearch.results import EffectSize, Estimate, Result, estimates_table

__version__ = "0.1.0"

__all__ = [
    "EffectSize",
    "Estimate",
    "PlmError",
    "PlmWarning",
    "Result",
    "__version__",
    "dataset_card",
    "estimates_table",
    "fetch_dataset",
    "list_datasets",
    "load_dataset",
]
