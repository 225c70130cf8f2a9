"""The examples in docstrings (``>>>``) run and print what they say, like ``pytest --doctest-modules``
over the package; run here as one test per module so the suite needs no extra flag."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import plmresearch


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(plmresearch.__path__, prefix="plmresearch."):
        module = importlib.import_module(info.name)
        if any(t.examples for t in doctest.DocTestFinder(exclude_empty=True).find(module)):
            names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_examples_are_found():
    """Guards against a finder that finds nothing (and a test that then passes vacuously)."""
    assert {"plmresearch.effects.smd", "plmresearch.effects.wwc", "plmresearch.models", "plmresearch.data",
            "plmresearch.report.tables"} <= set(MODULES), MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} example(s) in {name} failed (output above)"
