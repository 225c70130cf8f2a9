"""The estimator registry reads spec parameters from signatures; study modules register themselves;
scoreboard sources never point at a file that does not ship."""

import re

import pytest
import yaml

from plmresearch.errors import SpecError
from plmresearch.reproduce import all_estimators, get_estimator, list_studies, load_study, register, studies_dir
from plmresearch.reproduce import registry


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made by a test vanish after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry.all_estimators()))


def test_parameters_come_from_the_signature():
    est = get_estimator("krueger_table5")
    assert est.params == {"grade": "K", "column": 1}
    assert est.module == "plmresearch.reproduce.studies.star_krueger1999"
    ml = get_estimator("multilevel_model")
    assert ml.required == ("formula",) and ml.params["engine"] == "statsmodels"
    assert get_estimator("ols_ancova").column_params == ("outcome", "treatment", "covariates")


def test_every_study_module_registers_on_first_use():
    modules = {e.module for e in all_estimators().values()}
    shipped = {p.stem for p in studies_dir().glob("*.py") if p.stem != "__init__"}
    assert shipped and {f"plmresearch.reproduce.studies.{m}" for m in shipped} <= modules
    # each study module is named after a spec
    assert shipped <= set(list_studies())


def test_register_reads_a_new_estimator(scratch_registry):
    @register(columns=("column",), values=("mean",))
    def column_mean(df, study, *, fast=False, column, scale=1.0):
        return {"mean": float(df[column].mean()) * scale}

    est = get_estimator("column_mean")
    assert est.params == {"column": registry.REQUIRED, "scale": 1.0} and est.required == ("column",)
    assert est.values == ("mean",) and est.column_params == ("column",)


@pytest.mark.parametrize("define,text", [
    (lambda: register("e")(lambda df, study, fast=False, x=1: {}), "must be `fast`"),
    (lambda: register("k")(lambda df, study, *, fast=False, **kw: {}), "must be keyword-only"),
    (lambda: register("f")(lambda data, study, *, fast=False: {}), "must start with (df, study"),
    (lambda: register("g")(lambda df, study, *, x=1: {}), "must be `fast`"),
    (lambda: register("h", columns=("outcome",))(lambda df, study, *, fast=False, x=1: {}), "columns ['outcome']"),
    (lambda: register("krueger_table5")(lambda df, study, *, fast=False: {}), "registered twice"),
])
def test_register_refuses_a_signature_the_spec_cannot_use(scratch_registry, define, text):
    with pytest.raises(TypeError, match=re.escape(text)):
        define()


def test_unknown_estimator_suggests_the_closest():
    with pytest.raises(SpecError, match="krueger_table5"):
        get_estimator("krueger_table")


def test_spec_missing_a_required_parameter_names_it(tmp_path):
    spec = {
        "name": "hsb_tiny", "title": "t", "dataset": "hsb", "design": {"unit": "student", "assignment": "none"},
        "outcome": "mathach",
        "analyses": [{"id": "m", "estimator": "multilevel_model", "params": {"engine": "statsmodels"}}],
        "targets": [{"quantity": "q", "analysis": "m", "value": "sigma2", "published": 1.0, "source": "s",
                     "status": "REFERENCE-RUN", "tolerance": 0.1, "tolerance_reason": "r"}],
    }
    path = tmp_path / "hsb_tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError, match=r"key 'analyses\[0\]\.params\.formula'.*needs parameter 'formula'.*Fix: add 'formula'"):
        load_study(path)


# Our development notes (../shared/references) are not part of the package: a source must name the
# publication (table, column) or the reference package with its version and call.
NOT_SHIPPED = re.compile(r"\.md\b|\.\./|shared/|references/|reference sheet|reproduction_targets", re.I)


@pytest.mark.parametrize("name", list_studies())
def test_scoreboard_sources_name_no_file_that_does_not_ship(name):
    study = load_study(name)
    sources = [t.source for t in study.targets] + [r.source for r in study.report if r.source]
    assert sources
    for s in sources:
        assert not NOT_SHIPPED.search(s), f"{name}: source {s!r} names a file that does not ship"
