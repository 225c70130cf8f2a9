"""The README's Usage section runs as written.

Every ```python block under "## Usage" is executed as it stands, each in a fresh namespace and a
fresh working folder, with the package's own datasets (from the local mirror). Every ```bash line
that calls ``plm`` is parsed by the real command-line parser, and the quick ones (catalogue, card,
study list, config template, dataset fetch from the mirror) are run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

README = Path(__file__).resolve().parents[2] / "README.md"


def usage_blocks(lang: str) -> list[tuple[str, str]]:
    """(subsection heading, code) for each fenced ``lang`` block of the Usage section, in order."""
    text = README.read_text(encoding="utf-8")
    usage = text.split("\n## Usage\n", 1)[1]
    usage = re.split(r"\n## (?!#)", usage, maxsplit=1)[0]
    blocks, heading = [], "Usage"
    for part in re.split(r"(^### [^\n]*$|^```\w*\n.*?^```$)", usage, flags=re.M | re.S):
        if part.startswith("### "):
            heading = part[4:].strip()
        elif part.startswith(f"```{lang}\n"):
            blocks.append((heading, part[len(lang) + 4:].rsplit("```", 1)[0]))
    return blocks


PYTHON = usage_blocks("python")
BASH = [(h, line.strip()) for h, code in usage_blocks("bash") for line in code.splitlines() if line.strip()]


def test_usage_section_has_its_blocks():
    """A block renamed to another language or moved out of Usage would silently leave this test."""
    headings = [h for h, _ in PYTHON]
    assert len(PYTHON) == 6, headings
    assert {"Datasets", "Mastery learning", "Multilevel models", "At scale (Dask)"} <= set(headings)
    assert len(BASH) >= 9


@pytest.mark.parametrize("heading, code", PYTHON, ids=[f"{i}-{h.split()[0]}" for i, (h, _) in enumerate(PYTHON)])
def test_python_block_runs_as_written(heading, code, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    exec(compile(code, f"README.md ({heading})", "exec"), namespace)
    plt.close("all")


@pytest.mark.parametrize("heading, line", BASH, ids=[line.split("#")[0].strip() for _, line in BASH])
def test_bash_line_is_a_valid_plm_command(heading, line, tmp_path, monkeypatch, capsys):
    from plmresearch.cli import build_parser, main

    command = line.split("#", 1)[0].strip()
    words = shlex.split(command)
    assert words[0].endswith("plm"), f"{line!r} is not a plm command"
    build_parser().parse_args(words[1:])  # raises SystemExit on an unknown command or option
    quick = {("datasets", "list"), ("datasets", "show"), ("datasets", "fetch"), ("pilot", "init")}
    if tuple(words[1:3]) in quick or "--list" in words:
        monkeypatch.chdir(tmp_path)
        assert main(words[1:]) == 0
        assert capsys.readouterr().out.strip()
