"""Bad input to `plm pilot` (issue 13, item 8): one clear line on stderr, exit 2, nothing written."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from plmresearch.cli import main
from plmresearch.pilot import write_demo


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            for p in folder.rglob("*")}


@pytest.fixture()
def demo(tmp_path):
    data_path, config_path, _ = write_demo(tmp_path / "d", random_seed=1, n_schools=4)
    return tmp_path / "d", data_path, config_path


def run_refused(capsys, argv, folder, word):
    before = snapshot(folder)
    assert main(argv) == 2
    # progress lines ("plm pilot: 1/7 ...") may come first; the error itself is one line
    err = "\n".join(ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("plm pilot: "))
    assert err.startswith("plm: error:") and len(err.splitlines()) == 1 and "Traceback" not in err
    assert word.lower() in err.lower(), err
    assert snapshot(folder) == before        # nothing written, nothing changed
    return err


def test_duplicated_yaml_key(demo, capsys):
    folder, _, config_path = demo
    text = config_path.read_text().replace("  effect_threshold: 0.1\n", "  effect_threshold: 0.1\n  effect_threshold: 0.3\n")
    config_path.write_text(text)
    err = run_refused(capsys, ["pilot", "report", str(config_path), "--fast"], folder, "appears twice")
    assert "effect_threshold" in err and "line" in err


def test_empty_outcomes(demo, capsys):
    folder, _, config_path = demo
    cfg = yaml.safe_load(config_path.read_text())
    cfg["columns"]["outcomes"] = []
    config_path.write_text(yaml.safe_dump(cfg))
    run_refused(capsys, ["pilot", "report", str(config_path), "--fast"], folder, "columns.outcomes")


def test_boundary_table_holding_text(demo, capsys):
    folder, _, config_path = demo
    pd.DataFrame({"overall": [0, 5, 10], "cautious": ["5.7", "n/a", "4.1"], "optimistic": [10, 9, 8]}).to_csv(
        folder / "bounds.csv", index=False)
    cfg = yaml.safe_load(config_path.read_text())
    cfg["attrition"]["boundary_table"] = "bounds.csv"
    config_path.write_text(yaml.safe_dump(cfg))
    err = run_refused(capsys, ["pilot", "report", str(config_path), "--fast"], folder, "holds text")
    assert "'n/a'" in err and "cautious" in err


def test_config_path_that_is_a_folder(demo, capsys):
    folder, _, _ = demo
    run_refused(capsys, ["pilot", "report", str(folder), "--fast"], folder, "is a folder")


def test_xlsx_with_the_data_on_another_sheet(tmp_path, capsys):
    data_path, config_path, district = write_demo(tmp_path / "d", random_seed=1, n_schools=4, file_type="xlsx")
    with pd.ExcelWriter(data_path, engine="openpyxl") as xw:
        pd.DataFrame({"About": ["Spring 2025 pilot export"]}).to_excel(xw, sheet_name="README", index=False)
        district.data.to_excel(xw, sheet_name="Students", index=False)
    err = run_refused(capsys, ["pilot", "report", str(config_path), "--fast"], tmp_path / "d", "sheet 'Students'")
    assert "sheet: Students" in err


def test_demo_into_a_folder_holding_its_files(tmp_path, capsys):
    folder = tmp_path / "demo"
    write_demo(folder, random_seed=1, n_schools=4)
    run_refused(capsys, ["pilot", "demo", str(folder), "--fast"], folder, "already holds")
    (folder / "pilot.yaml").unlink()
    (folder / "district_pilot.csv").unlink()
    (folder / "pilot_report").mkdir()
    run_refused(capsys, ["pilot", "demo", str(folder), "--fast"], folder, "pilot_report")
