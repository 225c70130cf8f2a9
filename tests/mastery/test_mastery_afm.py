"""Additive Factors Model: maximum likelihood by adaptive Gauss-Hermite quadrature vs lme4::glmer."""

from __future__ import annotations

import numpy as np
import pytest

import plmresearch
from plmresearch.errors import InputError
from plmresearch.mastery import evaluate_predictions, fit_afm


@pytest.fixture(scope="module")
def subset():
    d = plmresearch.load_dataset("assistments_2009")
    tr = d[d["split"] == "train"]
    return tr[tr["skill"].isin([30, 94, 98]) & (tr["student"] < 400)].reset_index(drop=True)


def test_afm_matches_glmer(subset):
    """Reference: R 4.x, lme4 1.1.31 (packageVersion("lme4")), on the same rows written to CSV
    (train split, skills 30/94/98, student < 400: 5,146 responses, 175 students;
    opp = earlier responses of the student on the skill):

        glmer(correct ~ 0 + skill + skill:opp + (1|student), family = binomial, data = d, nAGQ = 15)
        fixef: skill30 0.3963705195  skill94 3.2059774262  skill98 0.1291453214
               skill30:opp 0.0038895934  skill94:opp 0.0059334443  skill98:opp 0.0184665212
        student SD 1.1458609; logLik -2846.447408
        SE: 0.125538695 0.438723463 0.132151135 0.003913743 0.000757473 0.003299204
    """
    assert len(subset) == 5146 and subset["student"].nunique() == 175
    m = fit_afm(subset, order="position", n_nodes=15)
    p = m.params
    print(p.round(6).to_string(), m.student_sd, m.log_likelihood)
    np.testing.assert_allclose(p["easiness"], [0.3963705195, 3.2059774262, 0.1291453214], atol=1e-3)
    np.testing.assert_allclose(p["learning_rate"], [0.0038895934, 0.0059334443, 0.0184665212], atol=2e-5)
    np.testing.assert_allclose(p["easiness_se"], [0.125538695, 0.438723463, 0.132151135], rtol=2e-3)
    np.testing.assert_allclose(p["learning_rate_se"], [0.003913743, 0.000757473, 0.003299204], rtol=2e-3)
    assert m.student_sd == pytest.approx(1.1458609, abs=1e-3)
    assert m.log_likelihood == pytest.approx(-2846.447408, abs=1e-3)
    pred = m.predict(subset)
    ev = evaluate_predictions(pred, skill=None)
    assert ev.loc["overall", "auc"] > 0.6
    assert "opportunity" in pred and "opportunity" not in subset


def test_afm_bad_input(subset):
    with pytest.raises(InputError, match="n_nodes"):
        fit_afm(subset, order="position", n_nodes=1)
    with pytest.raises(InputError, match="one student"):
        fit_afm(subset[subset["student"] == subset["student"].iloc[0]], order="position")
    bad = subset.copy()
    bad.loc[3, "correct"] = 3
    with pytest.raises(InputError, match="0/1"):
        fit_afm(bad, order="position")
