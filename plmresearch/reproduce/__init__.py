"""Reproductions of published evaluations: specs, estimators, scoreboard (``plm reproduce``).

Layout
------
``spec``
    :class:`Study` and :func:`load_study`: read a YAML spec and check it (dataset, columns,
    estimator names and parameters, targets with source, status and tolerance) before anything runs.
``registry``
    :func:`~plmresearch.reproduce.registry.register`: the named estimators a spec may call. An
    estimator's spec parameters are read from its signature, never listed by hand.
``estimators``
    Generic estimators (OLS ANCOVA, the randomized-experiment estimators of ``causal``,
    multilevel models).
``studies/<name>.yaml`` and ``studies/<name>.py``
    One spec per study and, when the publication needs code of its own (e.g. Krueger's
    percentile scores for Project STAR), one module of that name beside it.
``run``, ``scoreboard``
    :func:`run_studies` runs specs; :class:`Scoreboard` sets the published numbers next to ours.

The specs are package data of ``plmresearch.reproduce.studies``: a checkout and an installed
wheel read the same files, so ``plm reproduce`` works outside a checkout too.
``PLMRESEARCH_STUDIES_DIR`` points it at another folder of specs.

Adding a study
--------------
1. Write ``plmresearch/reproduce/studies/<name>.yaml`` (copy a spec close to yours; :func:`load_study` names any
   unknown key, column, estimator or parameter and the fix). Each target's ``source`` names a
   publication (table, column) or a reference package with its version and call; never a file
   that does not ship with the package.
2. Only when the publication needs its own construction (a sample restriction, an outcome
   scale, an estimator nothing generic covers): add ``plmresearch/reproduce/studies/<name>.py``
   with functions decorated by ``@register(values=(...), columns=(...))``, each with the
   signature ``f(df, study, *, fast=False, <spec parameters with defaults>)`` returning
   ``{value name: number}``. Every module there is imported when the registry is first used;
   nothing else lists it.
3. Add ``notebooks/repro_<name>.ipynb`` (the suite checks there is one per spec) and a test
   of the study module's construction against a trusted number.

``plm reproduce <name> --fast`` then runs it; ``plm reproduce --list`` lists it.
"""

from plmresearch.reproduce.registry import all_estimators, get_estimator, register
from plmresearch.reproduce.run import run_study
from plmresearch.reproduce.scoreboard import Scoreboard, StudyResult
from plmresearch.reproduce.spec import STATUSES, Study, list_studies, load_study, run_studies, studies_dir

__all__ = [
    "STATUSES",
    "Scoreboard",
    "Study",
    "StudyResult",
    "all_estimators",
    "get_estimator",
    "list_studies",
    "load_study",
    "register",
    "run_studies",
    "run_study",
    "studies_dir",
]
