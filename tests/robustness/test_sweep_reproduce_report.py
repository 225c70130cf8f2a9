"""Robustness sweep (issue 18) of the reproductions, report helpers, result tables and simulations.

Every public name of ``plmresearch.reproduce``, ``plmresearch.report``, ``plmresearch.simulate``
and the package root's ``estimates_table`` is called with bad and edge-case arguments under the rule in
:mod:`robustness.harness`: a ``PlmError`` that names the argument, or a finite result; never a
raw exception; inputs unchanged. Hypothesis draws the free-form values (``PLM_SWEEP_EXAMPLES``
sets how many; the default keeps this file to seconds).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robustness.harness import outcome

import plmresearch
import plmresearch.reproduce as reproduce
import plmresearch.report as report
import plmresearch.simulate as simulate
from plmresearch.results import Estimate

SWEEP = "reproduce/report/results"
EXAMPLES = int(os.environ.get("PLM_SWEEP_EXAMPLES", "25"))
HYP = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# anything a user might pass where a name, a path, a number or a table is expected
ODD = [None, 3, 2.5, float("nan"), -1, True, "", "  ", "nope", ["star_krueger1999"], {"a": 1}, b"x",
       pd.DataFrame(), pd.Series([1.0]), np.array([1.0])]


def _rep(seed: int) -> dict:
    return {"x": seed % 7}


def _est(x: float = 1.0) -> Estimate:
    return Estimate(estimate=x, std_error=0.5, ci_low=x - 1, ci_high=x + 1, method="test")


# (case id, function, args, kwargs, words the error must name)
HAND = [
    ("load_study unknown name", reproduce.load_study, ("nope",), {}, ["nope"]),
    ("load_study a number", reproduce.load_study, (3,), {}, ["name_or_path"]),
    ("load_study a list", reproduce.load_study, (["star_krueger1999"],), {}, ["name_or_path"]),
    ("load_study blank", reproduce.load_study, ("  ",), {}, ["name_or_path"]),
    ("get_estimator unknown", reproduce.get_estimator, ("nope",), {}, ["nope"]),
    ("get_estimator None", reproduce.get_estimator, (None,), {}, ["none"]),
    ("run_study with a name", reproduce.run_study, ("star_krueger1999",), {}, ["study", "load_study"]),
    ("run_study with a number", reproduce.run_study, (5,), {}, ["study"]),
    ("run_studies one unknown name", reproduce.run_studies, ("nope",), {}, ["nope"]),
    ("run_studies a dict", reproduce.run_studies, ({"a": 1},), {}, ["names"]),
    ("format_number digits text", report.format_number, (1.5,), {"digits": "3"}, ["digits"]),
    ("format_number digits 2.5", report.format_number, (1.5,), {"digits": 2.5}, ["digits"]),
    ("format_number digits 100", report.format_number, (1.5,), {"digits": 100}, ["digits"]),
    ("format_number whole_from text", report.format_number, (1.5,), {"whole_from": "x"}, ["whole_from"]),
    ("tidy_table None", report.tidy_table, (None,), {}, ["tidy_table", "dataframe"]),
    ("tidy_table digits -1", report.tidy_table, (pd.DataFrame({"a": [1.5]}),), {"digits": -1}, ["digits"]),
    ("plot_reproduction a frame", report.plot_reproduction, (pd.DataFrame(),), {}, ["result"]),
    ("estimates_table None", plmresearch.estimates_table, (None,), {}, ["estimates"]),
    ("estimates_table empty", plmresearch.estimates_table, ([],), {}, ["estimates"]),
    ("estimates_table numbers", plmresearch.estimates_table, ([1, 2],), {}, ["estimates"]),
    ("estimates_table mixed", plmresearch.estimates_table, ({"a": _est(), "b": "x"},), {}, ["estimates"]),
    ("run fn not callable", simulate.run, (5, 10, 1), {}, ["fn"]),
    ("run n 0", simulate.run, (_rep, 0, 1), {}, ["`n`"]),
    ("run n text", simulate.run, (_rep, "10", 1), {}, ["`n`"]),
    ("run n 2.5", simulate.run, (_rep, 2.5, 1), {}, ["`n`"]),
    ("run seed text", simulate.run, (_rep, 3, "abc"), {}, ["seed"]),
    ("run seed -1", simulate.run, (_rep, 3, -1), {}, ["seed"]),
    ("run client text", simulate.run, (_rep, 3, 1), {"client": "x"}, ["client"]),
    ("run batch_size 0", simulate.run, (_rep, 3, 1), {"batch_size": 0}, ["batch_size"]),
    ("run progress text", simulate.run, (_rep, 3, 1), {"progress": "no"}, ["progress"]),
    ("run fn returns None", simulate.run, (lambda s: None, 3, 1), {}, ["returned"]),
    ("seeds n -1", simulate.seeds, (-1,), {}, ["`n`"]),
    ("power_by_simulation design", simulate.power_by_simulation, ("x", 0.2, 10), {"icc": 0.1}, ["design"]),
    ("power_by_simulation effect nan", simulate.power_by_simulation, ("cluster_rct", float("nan"), 10),
     {"icc": 0.1, "n_clusters": 10, "n_per_cluster": 10}, ["effect_size"]),
    ("power_by_simulation effect text", simulate.power_by_simulation, ("cluster_rct", "0.2", 10),
     {"icc": 0.1, "n_clusters": 10, "n_per_cluster": 10}, ["effect_size"]),
    ("power_by_simulation n_sims 0", simulate.power_by_simulation, ("cluster_rct", 0.2, 0),
     {"icc": 0.1, "n_clusters": 10, "n_per_cluster": 10}, ["n_sims", "`n`"]),
    ("power_by_simulation sizes missing", simulate.power_by_simulation, ("cluster_rct", 0.2, 10), {"icc": 0.1},
     ["n_clusters"]),
    ("power_by_simulation icc 1", simulate.power_by_simulation, ("cluster_rct", 0.2, 10),
     {"icc": 1.0, "n_clusters": 10, "n_per_cluster": 10}, ["icc"]),
    ("power_by_simulation attrition 1", simulate.power_by_simulation, ("cluster_rct", 0.2, 10),
     {"icc": 0.1, "n_clusters": 10, "n_per_cluster": 10, "attrition": 1.0}, ["attrition"]),
    ("power_by_simulation seed text", simulate.power_by_simulation, ("cluster_rct", 0.2, 10),
     {"icc": 0.1, "n_clusters": 10, "n_per_cluster": 10, "random_seed": "abc"}, ["random_seed"]),
    ("power_by_simulation heterogeneity -1", simulate.power_by_simulation, ("multisite_rct", 0.2, 10),
     {"icc": 0.1, "n_sites": 10, "n_per_site": 10, "effect_heterogeneity": -1.0}, ["effect_heterogeneity"]),
]

COVERED = {f.__name__ for _, f, *_ in HAND} | {"list_studies", "studies_dir", "all_estimators", "register",
                                                "Study", "StudyResult", "Scoreboard", "STATUSES"}


@pytest.mark.parametrize("case", HAND, ids=[c[0] for c in HAND])
def test_hand_written_case(case):
    _, fn, args, kwargs, names = case
    assert outcome(SWEEP, fn, *args, names=names, **kwargs) == "error"


def test_load_study_with_a_folder_says_it_is_a_folder(tmp_path):
    assert outcome(SWEEP, reproduce.load_study, str(tmp_path), names=["folder"]) == "error"


def test_load_study_with_an_empty_spec_file(tmp_path):
    (tmp_path / "x.yaml").write_text("", encoding="utf-8")
    assert outcome(SWEEP, reproduce.load_study, str(tmp_path / "x.yaml"), names=["mapping", "x.yaml"]) == "error"


def test_run_study_with_data_that_is_not_a_frame():
    study = reproduce.load_study("eight_schools_rubin1981")
    assert outcome(SWEEP, reproduce.run_study, study, data=[1, 2, 3], names=["data"]) == "error"


def test_every_public_name_is_swept():
    public = set(reproduce.__all__) | set(report.__all__) | set(simulate.__all__) | {"estimates_table"}
    assert public <= COVERED, f"not in the sweep: {sorted(public - COVERED)}"


@HYP
@given(st.one_of(st.sampled_from(ODD), st.text(max_size=12)))
def test_load_study_any_argument(arg):
    # every odd argument either loads a real spec or is refused with a SpecError naming it
    kind = outcome(SWEEP, reproduce.load_study, arg, names=["name_or_path", "study spec", "folder"])
    assert kind in ("error", "result")


@HYP
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.none(), st.text(max_size=8),
                 st.booleans(), st.decimals(allow_nan=False, allow_infinity=False)),
       st.integers(min_value=-3, max_value=20))
def test_format_number_any_value(value, digits):
    if 0 <= digits <= 15:
        text = report.format_number(value, digits)
        assert isinstance(text, str)
        if isinstance(value, float) and np.isfinite(value) and value != 0:
            assert text not in ("0", "0.0", "-0") and not set(text) <= set("0.,-")  # never a non-zero as zero
    else:
        assert outcome(SWEEP, report.format_number, value, digits, names=["digits"]) == "error"


frames = st.integers(min_value=0, max_value=6).flatmap(lambda n: st.fixed_dictionaries({
    "x": st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=n, max_size=n),
    "k": st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n),
    "s": st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=n, max_size=n),
}).map(pd.DataFrame))


@HYP
@given(frames)
def test_tidy_table_any_frame(df):
    # a display object: it renders and leaves the data as they were
    before = df.copy(deep=True)
    html = report.tidy_table(df).to_html()
    assert isinstance(html, str)
    pd.testing.assert_frame_equal(df, before)


@HYP
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=4))
def test_estimates_table_stacks_any_number_of_results(values):
    kind = outcome(SWEEP, plmresearch.estimates_table, [_est(v) for v in values])
    assert kind == "result"


def test_an_error_inside_a_replication_keeps_its_type_and_names_the_replication():
    # the user's own function failing is the user's exception (not ours to rename), with a note saying where
    def fails_on_third(seed):
        if fails_on_third.calls == 2:
            raise ZeroDivisionError("boom")
        fails_on_third.calls += 1
        return {"x": 1}

    fails_on_third.calls = 0
    with pytest.raises(ZeroDivisionError) as info:
        simulate.run(fails_on_third, 5, 1, progress=False)
    seed = int(simulate.seeds(5, 1)[2])
    assert any("replication 2" in n and f"fn({seed})" in n for n in info.value.__notes__)


@HYP
@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_run_any_size_and_seed_is_reproducible(n, seed):
    a = simulate.run(_rep, n, seed, progress=False)
    b = simulate.run(_rep, n, seed, progress=False)
    pd.testing.assert_frame_equal(a, b)
    assert list(a["replication"]) == list(range(n))


def test_signatures_did_not_drift():
    # the hand-written cases name these parameters; a rename must update the sweep
    assert "name_or_path" in inspect.signature(reproduce.load_study).parameters
    assert "digits" in inspect.signature(report.format_number).parameters
    assert Path(reproduce.studies_dir()).is_dir()
