"""Tables, figures and HTML for notebooks and reports (depends on everything; nothing depends on it)."""

from plmresearch.report.figures import plot_reproduction

__all__ = ["plot_reproduction"]
