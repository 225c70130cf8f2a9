"""A report people can read (issue 13, item 7): progress lines, --quiet, wording, precision, alt text."""

import argparse
import re

import pandas as pd

from plmresearch.cli import _progress, build_parser
from plmresearch.pilot import load_config, write_demo
from plmresearch.pilot.report import write_report
from plmresearch.report.pilot_html import _fmt


def test_progress_lines_per_section_and_quiet(tmp_path):
    _, config_path, _ = write_demo(tmp_path / "d", random_seed=3, n_schools=4, design="multisite")
    lines = []
    target, a = write_report(load_config(config_path), bayesian=False, progress=lines.append)
    assert [ln for ln in lines if re.match(r"\d/7 ", ln)][:4] == ["1/7 data checks", "2/7 sample flow and attrition",
                                                                   "3/7 baseline equivalence", "4/7 main effect"]
    assert lines[-1] == "writing the report"
    assert _progress(argparse.Namespace(quiet=True)) is None
    args = build_parser().parse_args(["pilot", "demo", "x", "--quiet"])
    assert args.quiet and args.design == "multisite"   # the default demo is the multisite district
    html = (target / "report.html").read_text()
    # what to conclude names the threshold and whether the district set it (the demo config sets 0.1)
    assert "What to conclude.</b> Against the threshold the district set in its config, 0.1 SD" in html
    assert "improvement index is the expected change in percentile rank" in html
    alts = re.findall(r"<img alt='([^']*)'", html)
    assert alts and all(len(t) > 20 and t != "figure" for t in alts)
    assert "break-before:page" in html
    assert "p-value (BH adjusted)" in html or "Estimate (points)" in html


def test_default_threshold_is_called_the_default(tmp_path):
    import yaml

    _, config_path, _ = write_demo(tmp_path / "d", random_seed=3, n_schools=4, design="multisite")
    cfg = yaml.safe_load(config_path.read_text())
    del cfg["analysis"]["effect_threshold"]
    config_path.write_text(yaml.safe_dump(cfg))
    target, _ = write_report(load_config(config_path), bayesian=False)
    assert "the default threshold (the district did not set analysis.effect_threshold)" in \
        (target / "report.html").read_text()


def test_consistent_precision():
    assert _fmt("p_value", 0.00002) == "&lt; 0.001" and _fmt("p_value", 0.0312) == "0.031"
    assert _fmt("estimate", 3.28766) == "3.29" and _fmt("n_treated", 229.0) == "229"
    assert _fmt("df", 3.8912) == "3.9" and _fmt("estimate", float("nan")) == ""
    assert isinstance(pd.DataFrame, type)
