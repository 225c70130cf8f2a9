"""Absorbed fixed effects, IV with fixed effects, Lee bounds and response weights against R.

Reference values: tests/causal/fixtures/r_fe_iv_attrition_reference.csv, written by
r_reference_fe_iv_attrition.R beside it (R 4.2.2, estimatr 1.0.0, AER 1.2.10, sandwich 3.0.2):
``estimatr::lm_robust(..., fixed_effects = ~ strata, se_type = s)``, ``estimatr::iv_robust``,
``AER::ivreg`` + ``sandwich::vcovHC``, first-stage Wald F from ``lm`` + ``vcovHC``/``vcovCL``, and
Lee (2009) bounds written out from the paper's eq. (6)-(7) with ``quantile(type = 1)``.
Data: the Mindspark RCT, High School and Beyond (hsb) and a simulated IV/attrition frame.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plmresearch import load_dataset
from plmresearch.causal import fe_regression, ipw_attrition, iv_regression, lee_bounds
from plmresearch.errors import InputError, ModelError, PlmError

FIX = Path(__file__).parent / "fixtures"
R = pd.read_csv(FIX / "r_fe_iv_attrition_reference.csv")
TOL = dict(rel=1e-8, abs=1e-10)


def ref(case: str) -> dict:
    rows = R[R["case"] == case]
    assert len(rows), case
    return dict(zip(rows["term"], rows["value"]))


@pytest.fixture(scope="module")
def ms():
    d = load_dataset("mindspark_msg2019")
    a = load_dataset("mindspark_msg2019_attendance")
    d = d.merge(a[["st_id", "att_tot"]], on="st_id", how="left")
    d["att"] = d["att_tot"].fillna(0.0)
    d["female"] = d["st_female1"].astype(float)
    return d


@pytest.fixture(scope="module")
def ms_math(ms):
    return ms.dropna(subset=["m_theta_mle1", "m_theta_mle2"])


@pytest.fixture(scope="module")
def sim():
    return pd.read_csv(FIX / "iv_fe_attrition_sim.csv")


def check(est, r, terms, df=True):
    tab = est.extra["coefficients"].set_index("term")
    for t in terms:
        assert tab.loc[t, "estimate"] == pytest.approx(r[f"est:{t}"], **TOL), t
        assert tab.loc[t, "std_error"] == pytest.approx(r[f"se:{t}"], **TOL), t
    if df:
        assert tab.loc[terms[0], "df"] == pytest.approx(r["df"], **TOL)
    if "r2_within" in r and est.extra["r2_within"] is not None:
        assert est.extra["r2_within"] == pytest.approx(r["r2_within"], **TOL)
        assert est.extra["r2"] == pytest.approx(r["r2"], **TOL)


@pytest.mark.parametrize("se", ["classical", "HC0", "HC1", "HC2", "HC3"])
def test_fe_mindspark_equals_lm_robust_fixed_effects(ms_math, se):
    est = fe_regression(ms_math, "m_theta_mle2", ["treat", "m_theta_mle1"], absorb="strata", se_type=se)
    check(est, ref(f"ms_fe_{se}"), ["treat", "m_theta_mle1"])


@pytest.mark.parametrize("se", ["CR0", "stata", "CR2"])
def test_fe_clustered_mindspark_equals_lm_robust(ms_math, se):
    est = fe_regression(ms_math, "m_theta_mle2", ["treat", "m_theta_mle1"], absorb="strata", cluster="strata", se_type=se)
    check(est, ref(f"ms_fe_cl_{se}"), ["treat", "m_theta_mle1"], df=se != "CR2")


def test_fe_weighted_equals_lm_robust(ms_math):
    d = ms_math.assign(w=1 + ms_math["female"])
    est = fe_regression(d, "m_theta_mle2", ["treat", "m_theta_mle1"], absorb="strata", se_type="HC1", weights="w")
    check(est, ref("ms_fe_wls_HC1"), ["treat", "m_theta_mle1"])


@pytest.mark.parametrize("case,se,cl", [("hsb_fe_classical", "classical", None), ("hsb_fe_HC1", "HC1", None),
                                        ("hsb_fe_cl_CR0", "CR0", "school"), ("hsb_fe_cl_stata", "stata", "school")])
def test_fe_hsb_equals_lm_robust(case, se, cl):
    h = load_dataset("hsb")
    est = fe_regression(h, "mathach", ["ses", "female", "minority"], absorb="school", cluster=cl, se_type=se)
    check(est, ref(case), ["ses", "female", "minority"])


def test_fe_constant_is_statas_and_without_absorb_is_ols(ms_math):
    """areg's constant: mean(y) - mean(x)'b; with no absorbed effects, plain OLS (Table 2 col 1)."""
    est = fe_regression(ms_math, "m_theta_mle2", ["treat", "m_theta_mle1"], absorb="strata")
    tab = est.extra["coefficients"].set_index("term")["estimate"]
    xbar = ms_math[["treat", "m_theta_mle1"]].mean()
    assert tab["(Intercept)"] == pytest.approx(ms_math["m_theta_mle2"].mean() - xbar @ tab[["treat", "m_theta_mle1"]], rel=1e-12)
    ols = fe_regression(ms_math, "m_theta_mle2", ["treat", "m_theta_mle1"], se_type="HC1")
    assert ols.extra["r2"] == pytest.approx(0.403, abs=5e-4)  # Table 2 col 1 prints R2 0.403


@pytest.mark.parametrize("se", ["classical", "HC0", "HC1"])
def test_iv_fe_mindspark_equals_iv_robust(ms_math, se):
    est = iv_regression(ms_math, "m_theta_mle2", "att", "treat", ["m_theta_mle1"], absorb="strata", se_type=se)
    check(est, ref(f"ms_iv_{se}"), ["att", "m_theta_mle1"])
    assert est.extra["first_stage_F"] == pytest.approx(ref(f"ms_first_stage_F_{se}")["F"], **TOL)


@pytest.mark.parametrize("se", ["CR0", "stata"])
def test_iv_fe_clustered_equals_iv_robust(ms_math, se):
    est = iv_regression(ms_math, "m_theta_mle2", "att", "treat", ["m_theta_mle1"], absorb="strata",
                        cluster="strata", se_type=se)
    check(est, ref(f"ms_iv_cl_{se}"), ["att", "m_theta_mle1"])


@pytest.mark.parametrize("se", ["HC0", "HC1"])
def test_iv_fe_equals_aer_ivreg_with_dummies(ms_math, se):
    est = iv_regression(ms_math, "m_theta_mle2", "att", "treat", ["m_theta_mle1"], absorb="strata", se_type=se)
    r = ref(f"ms_ivreg_vcovHC_{se}")
    assert est.estimate == pytest.approx(r["est:att"], **TOL)
    assert est.std_error == pytest.approx(r["se:att"], **TOL)


@pytest.mark.parametrize("se", ["classical", "HC0", "HC1"])
def test_iv_two_instruments_sim_equals_iv_robust(sim, se):
    est = iv_regression(sim, "y", "d", ["z1", "z2"], ["x"], absorb="site", se_type=se)
    check(est, ref(f"sim_iv_{se}"), ["d", "x"])
    if se != "classical":
        assert est.extra["first_stage_F"] == pytest.approx(ref(f"sim_first_stage_F_{se}")["F"], **TOL)


def test_iv_clustered_sim_and_its_first_stage_F(sim):
    est = iv_regression(sim, "y", "d", ["z1", "z2"], ["x"], absorb="site", cluster="site", se_type="stata")
    check(est, ref("sim_iv_cl_stata"), ["d", "x"])
    assert est.extra["first_stage_F"] == pytest.approx(ref("sim_first_stage_F_cl_stata")["F"], **TOL)


@pytest.mark.parametrize("case,outcome,base", [("ms_lee_math", "m_theta_mle2", "m_theta_mle1"),
                                               ("ms_lee_hindi", "h_theta_mle2", "h_theta_mle1")])
def test_lee_bounds_mindspark_equal_r(ms, case, outcome, base):
    d = ms.dropna(subset=[base])
    b = lee_bounds(d, outcome, "treat", n_boot=0)
    r = ref(case)
    assert (b.lower, b.upper, b.trimming_proportion) == pytest.approx((r["lower"], r["upper"], r["p"]), **TOL)
    assert b.trimmed_arm == "control"  # more attrition among lottery winners (Table 1: 0.85 vs 0.90)


def test_lee_bounds_with_ties_equal_r_and_bracket_the_respondent_difference(sim):
    b = lee_bounds(sim, "yint", "z1", n_boot=200, random_seed=1)
    r = ref("sim_lee_int")
    assert (b.lower, b.upper, b.trimming_proportion) == pytest.approx((r["lower"], r["upper"], r["p"]), **TOL)
    assert b.trimmed_arm == "treatment"
    naive = sim.loc[sim.z1 == 1, "yint"].mean() - sim.loc[sim.z1 == 0, "yint"].mean()
    assert b.lower <= naive <= b.upper
    assert b.ci_low < b.lower and b.ci_high > b.upper and b.se_lower > 0


def test_lee_bounds_collapse_without_differential_attrition():
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"t": np.repeat([0, 1], 50), "y": rng.normal(size=100)})
    d.loc[[0, 1, 50, 51], "y"] = np.nan
    b = lee_bounds(d, "y", "t", n_boot=0)
    assert b.trimming_proportion == 0 and b.lower == pytest.approx(b.upper)


@pytest.mark.parametrize("case,outcome,base", [("ms_ipw_math", "m_theta_mle2", "m_theta_mle1"),
                                               ("ms_ipw_hindi", "h_theta_mle2", "h_theta_mle1")])
def test_ipw_attrition_equals_glm_plus_lm_robust(ms, case, outcome, base):
    d = ms.dropna(subset=[base])
    est = ipw_attrition(d, outcome, "treat", [base, "female", "ses_index"], [base], absorb="strata", se_type="HC1")
    check(est, ref(case), ["treat", base])
    assert est.extra["unweighted"].estimate != est.estimate


# --- bad input ---------------------------------------------------------------------------------

def test_bad_inputs_raise_plm_errors(ms_math, sim):
    with pytest.raises(InputError, match="Missing values"):
        fe_regression(load_dataset("mindspark_msg2019"), "m_theta_mle2", ["treat", "m_theta_mle1"], absorb="strata")
    with pytest.raises(PlmError, match="nope"):
        fe_regression(ms_math, "m_theta_mle2", ["nope"], absorb="strata")
    with pytest.raises(ModelError, match="do not vary within"):
        fe_regression(ms_math.assign(s2=ms_math["strata"] * 2.0), "m_theta_mle2", ["treat", "s2"], absorb="strata")
    with pytest.raises(InputError, match="se_type"):
        fe_regression(ms_math, "m_theta_mle2", ["treat"], absorb="strata", se_type="HC9")
    with pytest.raises(InputError, match="at least 2 clusters"):
        fe_regression(ms_math.assign(one=1), "m_theta_mle2", ["treat"], cluster="one", se_type="stata")
    with pytest.raises(InputError, match="not numeric|numeric"):
        fe_regression(ms_math, "m_theta_mle2", ["st_id"])
    with pytest.raises(InputError, match="both the endogenous"):
        iv_regression(ms_math, "m_theta_mle2", "att", "att")
    with pytest.raises(InputError, match="also covariates"):
        iv_regression(ms_math, "m_theta_mle2", "att", "treat", ["treat"])
    with pytest.raises(ModelError, match="collinear"):
        iv_regression(ms_math.assign(z=2 * ms_math["m_theta_mle1"]), "m_theta_mle2", "att", "z", ["m_theta_mle1"])
    with pytest.raises(InputError, match="empty"):
        lee_bounds(ms_math[ms_math["treat"] == 1], "m_theta_mle2", "treat")
    with pytest.raises(InputError, match="n_boot"):
        lee_bounds(sim, "yint", "z1", n_boot=1)
    with pytest.raises(InputError, match="missing value"):
        ipw_attrition(load_dataset("mindspark_msg2019"), "m_theta_mle2", "treat", ["st_age1"])
    df = ms_math.copy()
    fe_regression(df, "m_theta_mle2", ["treat", "m_theta_mle1"], absorb="strata")
    pd.testing.assert_frame_equal(df, ms_math)  # input never modified
