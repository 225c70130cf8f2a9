"""Study specs: validation errors name the file, the key and the fix; every shipped spec loads."""

from pathlib import Path

import pytest
import yaml

from plmresearch.errors import SpecError
from plmresearch.reproduce import STATUSES, list_studies, load_study

GOOD = {
    "name": "tiny",
    "title": "Reading methods ANCOVA",
    "dataset": "reading_methods",
    "design": {"unit": "student", "assignment": "students randomized to three methods"},
    "outcome": "posttest_1",
    "treatment": "method",
    "covariates": ["pretest_1"],
    "analyses": [{"id": "a1", "estimator": "ols_ancova", "params": {"covariates": ["pretest_1"]}}],
    "targets": [{
        "quantity": "DRTA vs Basal", "analysis": "a1", "value": "DRTA", "published": 3.6265537702,
        "source": "R lm()", "status": "REFERENCE-RUN", "tolerance": 1e-6, "tolerance_reason": "deterministic",
    }],
}


def write(tmp_path: Path, spec: dict, name: str = "tiny") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_good_spec_loads_and_runs(tmp_path):
    study = load_study(write(tmp_path, GOOD))
    result = study.run()
    assert result.passed, result.table
    row = result.table.iloc[0]
    assert row["within_tolerance"] == "yes" and abs(row["difference"]) < 1e-6


@pytest.mark.parametrize("mutate,key,text", [
    (lambda s: s.update(dataset="hsbb"), "dataset", "Did you mean 'hsb'"),
    (lambda s: s.update(outcome="posttest1"), "outcome", "Did you mean 'posttest_1'"),
    (lambda s: s["analyses"][0].update(estimator="ols_ancovaa"), "analyses[0].estimator", "ols_ancova"),
    (lambda s: s["analyses"][0]["params"].update(covariates=["pretest_9"]), "analyses[0].params.covariates", "pretest_9"),
    (lambda s: s["targets"][0].pop("source"), "targets[0].source", "add 'source'"),
    (lambda s: s["targets"][0].update(status="maybe"), "targets[0].status", "VERIFIED"),
    (lambda s: s["targets"][0].update(published="3.6"), "targets[0].published", "without quotes"),
    (lambda s: s["targets"][0].update(analysis="a2"), "targets[0].analysis", "a1"),
    (lambda s: s.update(colour="blue"), "colour", "unknown key"),
    (lambda s: s["design"].pop("unit"), "design.unit", "missing"),
])
def test_malformed_spec_names_file_key_and_fix(tmp_path, mutate, key, text):
    import copy

    spec = copy.deepcopy(GOOD)
    mutate(spec)
    path = write(tmp_path, spec)
    with pytest.raises(SpecError) as err:
        load_study(path)
    msg = str(err.value)
    assert str(path) in msg and f"key '{key}'" in msg and "Fix:" in msg and text in msg


def test_unknown_study_name_suggests():
    with pytest.raises(SpecError, match="star_krueger1999"):
        load_study("star_krueger")


@pytest.mark.parametrize("name", list_studies())
def test_shipped_specs_are_valid(name):
    study = load_study(name)
    assert study.targets, "a reproduction needs published targets"
    for t in study.targets:
        assert t.status in STATUSES and t.source and t.tolerance_reason


def _spec_with(status, published):
    import copy

    spec = copy.deepcopy(GOOD)
    spec["targets"][0].update(status=status, published=published)
    return spec


def test_miss_against_established_number_fails_the_run(tmp_path, capsys, monkeypatch):
    from plmresearch.cli import main

    write(tmp_path, _spec_with("VERIFIED", 99.0))
    monkeypatch.setenv("PLMRESEARCH_STUDIES_DIR", str(tmp_path))
    assert main(["reproduce", "tiny", "--reports-dir", str(tmp_path / "reports")]) == 1
    captured = capsys.readouterr()
    assert "missed its tolerance" in captured.err
    assert len(list((tmp_path / "reports").glob("scoreboard-*.md"))) == 1
    assert len(list((tmp_path / "reports").glob("scoreboard-*.html"))) == 1


def test_miss_against_unverified_number_is_shown_but_does_not_fail(tmp_path, capsys, monkeypatch):
    from plmresearch.cli import main

    write(tmp_path, _spec_with("UNVERIFIED", 99.0))
    monkeypatch.setenv("PLMRESEARCH_STUDIES_DIR", str(tmp_path))
    assert main(["reproduce", "tiny", "--reports-dir", str(tmp_path / "reports")]) == 0
    out = capsys.readouterr().out
    assert "UNVERIFIED" in out and "DRTA vs Basal" in out
    # a second run writes new files, never overwriting the first
    assert main(["reproduce", "tiny", "--reports-dir", str(tmp_path / "reports")]) == 0
    assert len(list((tmp_path / "reports").glob("scoreboard-*.md"))) == 2
