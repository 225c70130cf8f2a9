"""Pilot config: the template, loading, and one clear SpecError per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plmresearch.errors import SpecError
from plmresearch.pilot.config import DESIGNS, PilotConfig, init_template, load_config, write_template


def _write(tmp_path: Path, text: str, name: str = "pilot.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _minimal() -> dict:
    return {
        "data": {"file": "pilot_data.csv"},
        "columns": {"student_id": "id", "school": "school", "treatment": "treat", "outcomes": "post"},
        "design": {"type": "individual_rct"},
    }


def test_template_is_commented_and_loads_with_defaults(tmp_path):
    text = init_template()
    assert text.count("#") > 30  # commented: every key explained
    for design in DESIGNS:
        assert design in text
    cfg = load_config(_write(tmp_path, text))
    assert cfg.data_file == tmp_path.resolve() / "pilot_data.csv"  # relative to the config's folder
    assert cfg.output_folder == tmp_path.resolve() / "pilot_report"
    assert cfg.design == "cluster_rct" and cfg.assigned_unit == "school" and not cfg.blocked_by_school
    assert cfg.outcomes == ("posttest",) and cfg.pretests == ("pretest",)
    assert cfg.subgroups == ("frl", "ell", "sped", "race_ethnicity", "gender")
    assert cfg.suppression_threshold == 10
    assert cfg.drop_columns == ("student_name",)
    assert cfg.source == str(tmp_path / "pilot.yaml")


def test_minimal_config_gets_documented_defaults():
    cfg = PilotConfig.from_mapping(_minimal(), base_dir="/data")
    assert cfg.data_file == Path("/data/pilot_data.csv")
    assert cfg.outcomes == ("post",) and cfg.pretests == () and cfg.class_column is None
    assert (cfg.treated_value, cfg.control_value) == (1, 0)
    assert cfg.suppression_threshold == 10 and cfg.effect_threshold == 0.1 and cfg.ci_level == 0.95
    assert cfg.assigned_unit == "student" and not cfg.needs_within_school_comparison
    multisite = _minimal()
    multisite["design"] = {"type": "multisite"}
    assert PilotConfig.from_mapping(multisite).needs_within_school_comparison


def test_write_template_refuses_to_overwrite(tmp_path):
    p = write_template(tmp_path / "pilot.yaml")
    assert p.read_text(encoding="utf-8") == init_template()
    p.write_text("mine", encoding="utf-8")
    with pytest.raises(SpecError, match="already exists"):
        write_template(p)
    assert p.read_text(encoding="utf-8") == "mine"
    with pytest.raises(SpecError, match="does not exist"):
        write_template(tmp_path / "no" / "pilot.yaml")


@pytest.mark.parametrize(
    "edit, key, fix",
    [
        (lambda c: c.update(colums=c.pop("columns")), "'colums'", "Did you mean 'columns'"),
        (lambda c: c["columns"].update(outcome="post"), "'columns.outcome'", "Did you mean 'outcomes'"),
        (lambda c: c["columns"].pop("treatment"), "'columns.treatment'", "add `treatment:`"),
        (lambda c: c.pop("design"), "'design'", "add a `design:` section"),
        (lambda c: c["design"].update(type="cluster-rct"), "'design.type'", "Did you mean 'cluster_rct'"),
        (lambda c: c["columns"].update(outcomes=[1, 2]), "'columns.outcomes'", "column names"),
        (lambda c: c.update(privacy={"suppression_threshold": "ten"}), "'privacy.suppression_threshold'",
         "whole number"),
        (lambda c: c.update(privacy={"suppression_threshold": 0}), "'privacy.suppression_threshold'", "use 10"),
        (lambda c: c.update(analysis={"ci_level": 95}), "'analysis.ci_level'", "0.95"),
        (lambda c: c["design"].update(assigned_unit="school"), "'design.assigned_unit'", "student"),
        (lambda c: c["design"].update(type="cluster_rct", assigned_unit="class"), "'columns.class'",
         "class/section column"),
        (lambda c: c["design"].update(type="comparison_schools"), "'columns.pretests'", "pretest column"),
        (lambda c: c.update(privacy={"drop_columns": ["nm"], "keep_columns": ["nm"]}), "'privacy.keep_columns'",
         "one of them only"),
        (lambda c: c.update(privacy={"drop_columns": ["school"]}), "'privacy.drop_columns'", "remove them"),
        (lambda c: c["columns"].update(outcomes=["treat"]), "'columns.outcomes'", "its own column"),
        (lambda c: c.update(treatment_values={"treated": "Y", "control": "Y"}), "'treatment_values'",
         "two different codes"),
        (lambda c: c["data"].update(sheet="Sheet1"), "'data.sheet'", "only meaningful for an Excel"),
        (lambda c: c["design"].update(type="multisite", blocked_by_school=False), "'design.blocked_by_school'",
         "true"),
    ],
)
def test_each_mistake_names_file_key_and_fix(tmp_path, edit, key, fix):
    raw = _minimal()
    edit(raw)
    path = _write(tmp_path, yaml.safe_dump(raw))
    with pytest.raises(SpecError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and key in msg and "Fix:" in msg and fix in msg, msg


def test_yaml_syntax_error_gives_line(tmp_path):
    path = _write(tmp_path, "data:\n  file: a.csv\ncolumns:\n  student_id: id\n   school: s\n")
    with pytest.raises(SpecError, match=r"not valid YAML at line 5"):
        load_config(path)


def test_missing_or_empty_config(tmp_path):
    with pytest.raises(SpecError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="the config is empty"):
        load_config(_write(tmp_path, "# only a comment\n"))
    with pytest.raises(SpecError, match="must be a mapping"):
        load_config(_write(tmp_path, "- a\n- b\n", "list.yaml"))


def test_yes_no_treatment_codes_are_kept_as_given(tmp_path):
    raw = _minimal()
    raw["treatment_values"] = {"treated": "Y", "control": "N"}
    cfg = load_config(_write(tmp_path, yaml.safe_dump(raw)))
    assert (cfg.treated_value, cfg.control_value) == ("Y", "N")
