"""Tables, figures and HTML for notebooks and reports (depends on everything; nothing depends on it)."""

from plmresearch.report.figures import plot_reproduction
from plmresearch.report.tables import format_number, tidy_table

__all__ = ["format_number", "plot_reproduction", "tidy_table"]
