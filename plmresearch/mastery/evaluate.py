"""Predictive accuracy of knowledge-tracing predictions: AUC, RMSE, log-loss.

The pooled ("overall") AUC ranks every held-out response against every other, as in
pyBKT's ``Model.evaluate`` and Khajah, Lindsey & Mozer (2016); the per-skill rows
rank within a skill (AUC is undefined, NaN, when a skill's responses are all
correct or all wrong).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from plmresearch.errors import InputError
from plmresearch.mastery._data import correct_values
from plmresearch.validation import (
    require_columns,
    require_frame,
    require_no_missing,
    require_numeric,
    unique_columns,
)

#: the index label of the pooled row
OVERALL = "overall"


def _scores(y: np.ndarray, p: np.ndarray) -> dict:
    auc = roc_auc_score(y, p) if 0 < y.sum() < len(y) else np.nan
    return {
        "n": len(y),
        "accuracy": float(np.mean(y)),
        "auc": float(auc),
        "rmse": float(np.sqrt(np.mean((y - p) ** 2))),
        "log_loss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
    }


def evaluate_predictions(df: pd.DataFrame, correct: str = "correct", p_correct: str = "p_correct",
                         skill: str | None = "skill") -> pd.DataFrame:
    """AUC, RMSE and log-loss per skill (when ``skill`` is given) and pooled over all rows.

    Returns a DataFrame indexed by skill plus a final ``'overall'`` row, with columns
    n, accuracy (share correct), auc, rmse, log_loss.
    """
    require_frame(df)
    require_columns(df, [correct, p_correct, skill], what="predictions")
    unique_columns(df, [correct, p_correct, skill], what="predictions")
    require_no_missing(df, [correct, p_correct])
    require_numeric(df, p_correct)
    y = correct_values(df, correct).astype(float)
    p = df[p_correct].to_numpy(dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise InputError(f"Column '{p_correct}' must hold probabilities in [0, 1].")
    rows = {}
    if skill is not None:
        codes, labels = pd.factorize(df[skill], sort=True)
        if any(str(label) == OVERALL for label in labels):
            raise InputError(
                f"Column '{skill}' has a skill named '{OVERALL}', the label of the pooled row of this table, "
                f"so one of the two rows would be lost. Rename that skill (e.g. df['{skill}'].replace("
                f"{{'{OVERALL}': '{OVERALL}_skill'}})) or pass skill=None for the pooled row only."
            )
        for k, label in enumerate(labels):
            m = codes == k
            rows[label] = _scores(y[m], p[m])
    rows[OVERALL] = _scores(y, p)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = skill or "subset"
    return out
