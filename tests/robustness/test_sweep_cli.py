"""Robustness sweep of the ``plm`` command (issue 18).

Every failing invocation of every subcommand must print exactly one line on stderr
(``plm: error: ...``), nothing on stdout, return exit status 2, and write nothing: each
case runs ``main([...])`` in-process inside an empty working folder (``tmp_path``) and
compares that folder's files (names, sizes, contents) before and after.

``CASES`` are hand-written; ``test_hypothesis_cli`` draws argument lists from tokens
(``PLM_SWEEP_EXAMPLES`` examples, default 8).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plmresearch.cli import build_parser, main

N_EXAMPLES = int(os.environ.get("PLM_SWEEP_EXAMPLES", "8"))
COUNTS: Counter = Counter()


def _tree(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a digest of its content."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _setup(root: Path) -> None:
    """The working folder's fixtures: files a failing command must leave alone."""
    (root / "existing.yaml").write_text("keep: me\n", encoding="utf-8")
    (root / "a_file").write_text("not a folder\n", encoding="utf-8")
    (root / "bad.yaml").write_text("design: [unclosed\n", encoding="utf-8")
    (root / "empty.yaml").write_text("", encoding="utf-8")
    (root / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    (root / "old_demo").mkdir()
    (root / "old_demo" / "pilot.yaml").write_text("# an earlier demo's config\n", encoding="utf-8")
    (root / "old_report").mkdir()
    (root / "old_report" / "pilot_report").mkdir()
    (root / "folder").mkdir()


def run_failing(argv: list[str], root: Path, capsys) -> str:
    """Run ``plm argv`` in ``root``; assert the failure contract; return the stderr line."""
    before = _tree(root)
    capsys.readouterr()
    rc = main(argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, f"plm {' '.join(argv)}: exit {rc}, stderr {err!r}"
    assert len(lines) == 1 and lines[0].startswith("plm: "), f"plm {' '.join(argv)}: stderr {err!r}"
    assert "Traceback" not in err
    assert out == "", f"plm {' '.join(argv)}: printed {out!r} on stdout"
    assert _tree(root) == before, f"plm {' '.join(argv)} wrote or changed files"
    COUNTS["error"] += 1
    return lines[0]


# (case name, argv, words one of which the message must contain)
CASES = [
    ("no_command", [], "command"),
    ("unknown_command", ["fly"], "fly"),
    ("option_without_command", ["--colour"], "command"),
    ("unknown_option", ["datasets", "list", "--colour"], "--colour"),
    ("datasets_no_action", ["datasets"], "action"),
    ("datasets_unknown_action", ["datasets", "delete"], "delete"),
    ("datasets_list_extra_argument", ["datasets", "list", "hsb"], "hsb"),
    ("datasets_show_no_name", ["datasets", "show"], "NAME"),
    ("datasets_show_unknown", ["datasets", "show", "hsbb"], "hsbb"),
    ("datasets_show_empty_name", ["datasets", "show", ""], "name"),
    ("datasets_fetch_unknown", ["datasets", "fetch", "nosuch"], "nosuch"),
    ("reproduce_unknown_study", ["reproduce", "nosuch_study"], "nosuch_study"),
    ("reproduce_unknown_option", ["reproduce", "--slow"], "--slow"),
    ("pilot_no_action", ["pilot"], "action"),
    ("pilot_init_existing_file", ["pilot", "init", "existing.yaml"], "existing.yaml"),
    ("pilot_init_missing_folder", ["pilot", "init", "nowhere/pilot.yaml"], "nowhere"),
    ("pilot_init_into_folder", ["pilot", "init", "folder"], "folder"),
    ("pilot_init_under_a_file", ["pilot", "init", "a_file/pilot.yaml"], "a_file"),
    ("pilot_report_missing_config", ["pilot", "report", "missing.yaml"], "missing.yaml"),
    ("pilot_report_folder", ["pilot", "report", "folder"], "folder"),
    ("pilot_report_bad_yaml", ["pilot", "report", "bad.yaml"], "bad.yaml"),
    ("pilot_report_empty_yaml", ["pilot", "report", "empty.yaml"], "empty.yaml"),
    ("pilot_report_list_yaml", ["pilot", "report", "list.yaml"], "list.yaml"),
    ("pilot_report_no_config", ["pilot", "report"], "CONFIG"),
    ("issue18_pilot_demo_into_existing_file", ["pilot", "demo", "a_file", "--fast"], "a_file"),
    ("issue18_pilot_demo_into_folder_with_its_files", ["pilot", "demo", "old_demo", "--fast"], "pilot.yaml"),
    ("pilot_demo_into_folder_with_its_report", ["pilot", "demo", "old_report", "--fast"], "pilot_report"),
    ("pilot_demo_under_a_file", ["pilot", "demo", "a_file/demo", "--fast"], "a_file"),
    ("pilot_demo_seed_text", ["pilot", "demo", "new", "--seed", "abc"], "seed"),
    ("pilot_demo_seed_negative", ["pilot", "demo", "new", "--seed", "-1"], "seed"),
    ("pilot_demo_design_unknown", ["pilot", "demo", "new", "--design", "rct"], "design"),
]


@pytest.mark.parametrize("name,argv,words", CASES, ids=[c[0] for c in CASES])
def test_cli_failure_is_one_line_exit_2_and_writes_nothing(name, argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _setup(tmp_path)
    line = run_failing(argv, tmp_path, capsys)
    assert words.lower() in line.lower(), f"{name}: the message does not name {words!r}: {line!r}"


def test_cli_internal_error_is_one_line(tmp_path, capsys, monkeypatch):
    """A bug (not a PlmError) is still one line with exit 2, and says how to get the traceback."""
    import plmresearch.data as data

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLM_DEBUG", raising=False)
    monkeypatch.setattr(data, "list_datasets", lambda: 1 / 0)
    line = run_failing(["datasets", "list"], tmp_path, capsys)
    assert "internal error" in line and "ZeroDivisionError" in line and "PLM_DEBUG" in line


def test_every_subcommand_has_a_failing_case():
    """Each leaf command of the parser appears in CASES (a new subcommand needs its own case)."""
    parser = build_parser()
    leaves = []

    def walk(p, path):
        subs = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            leaves.append(path)
        for action in subs:
            for name, child in action.choices.items():
                walk(child, path + [name])

    walk(parser, [])
    covered = {tuple(argv[: len(leaf)]) for _, argv, _ in CASES for leaf in leaves}
    missing = [" ".join(leaf) for leaf in leaves if tuple(leaf) not in covered]
    assert not missing, f"subcommands without a failing case: {missing}"


TOKENS = st.sampled_from(["hsbb", "--fast", "--quiet", "--bogus", "-x", "", "existing.yaml", "a_file", "folder",
                          "old_demo", "bad.yaml", "--output", "--seed", "--design", "list.yaml", "é", "--"])
PREFIXES = st.sampled_from([[], ["datasets"], ["datasets", "show"], ["datasets", "fetch"], ["pilot"],
                            ["pilot", "init"], ["pilot", "report"], ["reproduce", "no_such_study"]])


def _could_succeed(argv: list[str]) -> bool:
    """Argument lists that are valid commands (they would write a template or print a card)."""
    try:
        args = build_parser().parse_args(argv)
    except BaseException:  # noqa: BLE001 - argparse's own exit
        return False
    if argv[:2] == ["pilot", "init"]:
        return not Path(args.path).exists() and Path(args.path).parent.is_dir() and bool(args.path.strip())
    return argv[:2] in (["datasets", "show"], ["datasets", "fetch"]) and args.name in ("hsb",)


@settings(max_examples=N_EXAMPLES, deadline=None, derandomize=not os.environ.get("PLM_SWEEP_RANDOM"),
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=PREFIXES, tail=st.lists(TOKENS, min_size=0, max_size=3))
def test_hypothesis_cli(prefix, tail, tmp_path_factory, capsys):
    root = tmp_path_factory.mktemp("cli")
    old = os.getcwd()
    os.chdir(root)
    try:
        _setup(root)
        argv = prefix + tail
        if _could_succeed(argv):
            return
        run_failing(argv, root, capsys)
    finally:
        os.chdir(old)
