"""Reproductions of published evaluations (``plm reproduce``)."""

from plmresearch.reproduce.spec import STATUSES, Scoreboard, Study, StudyResult, list_studies, load_study, run_studies, studies_dir

__all__ = ["STATUSES", "Scoreboard", "Study", "StudyResult", "list_studies", "load_study", "run_studies", "studies_dir"]
