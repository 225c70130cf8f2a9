"""plmresearch: a research toolkit for personalized and mastery-based learning.

Effect sizes that follow What Works Clearinghouse conventions, causal and
hierarchical models, Bayesian knowledge tracing, and reproductions of
published evaluations on public data.
"""

import warnings

# A pip-installed PyTensor that finds no BLAS library warns once per process, in a red box under a
# notebook cell; the models here are small and run fine without it. README ("Installation notes")
# says how to get a BLAS-linked install.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation", category=UserWarning)

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
