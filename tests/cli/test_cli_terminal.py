"""The `plm` command fits the terminal, documents every argument with an example, and has --version."""

import argparse

import pytest

import plmresearch
from plmresearch.cli import build_parser, main


@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("argv", [["datasets", "list"], ["datasets", "show", "star"],
                                  ["datasets", "show", "assistments_2009"]])
def test_output_fits_the_terminal(argv, columns, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 5
    assert max(len(line) for line in lines) <= columns, max(lines, key=len)


def _parsers(parser, path=("plm",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


def test_every_argument_has_help_and_every_command_an_example():
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{' '.join(path)}: argument {action.dest!r} has no help text"
        assert parser.epilog and "examples:" in parser.epilog and " ".join(path) in parser.epilog, path


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"plmresearch {plmresearch.__version__}"
