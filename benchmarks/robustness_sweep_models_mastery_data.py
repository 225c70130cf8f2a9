"""The larger robustness sweep of models, mastery, data, pilot and the ``plm`` CLI (issue 18).

Runs ``tests/robustness/test_sweep_models_mastery_data.py`` and ``test_sweep_cli.py`` with
more hypothesis examples per strategy than the suite's default (8) and prints a table of
cases by outcome class: ``error`` (a PlmError naming the argument or column), ``result``
(finite numbers), ``result+note`` (a result carrying a note). Any raw exception, silent
non-finite number, unclear message or mutated input fails the run (pytest's exit status).

Usage::

    PLMRESEARCH_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/robustness_sweep_models_mastery_data.py [EXAMPLES]

``EXAMPLES`` defaults to 200; ``8`` reproduces the counts of the default suite. ``PLM_SWEEP_RANDOM=1``
explores fresh hypothesis examples instead of the fixed (derandomized) set.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = ["tests/robustness/test_sweep_models_mastery_data.py", "tests/robustness/test_sweep_cli.py"]


class _Counts:
    """Collects the harness's outcome counts and the CLI sweep's at the end of the session."""

    def __init__(self) -> None:
        self.table: dict[str, Counter] = {}

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        harness = sys.modules.get("robustness.harness")
        if harness is not None:
            self.table.update({k: Counter(v) for k, v in harness.COUNTS.items()})
        cli = sys.modules.get("robustness.test_sweep_cli") or sys.modules.get("test_sweep_cli")
        if cli is not None:
            self.table["cli"] = Counter(cli.COUNTS)


def main() -> int:
    examples = sys.argv[1] if len(sys.argv) > 1 else "200"
    os.environ["PLM_SWEEP_EXAMPLES"] = examples
    os.environ.setdefault("PLMRESEARCH_FAST", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.chdir(ROOT)
    counts = _Counts()
    rc = pytest.main(["-q", "-p", "no:cacheprovider", *FILES], plugins=[counts])
    kinds = ["error", "result", "result+note"]
    print(f"\nrobustness sweep, {examples} hypothesis examples per strategy (pytest exit {int(rc)})")
    print(f"{'sweep':<22}" + "".join(f"{k:>13}" for k in kinds) + f"{'cases':>9}")
    total = Counter()
    for name, c in sorted(counts.table.items()):
        total.update(c)
        print(f"{name:<22}" + "".join(f"{c.get(k, 0):>13}" for k in kinds) + f"{sum(c.values()):>9}")
    print(f"{'total':<22}" + "".join(f"{total.get(k, 0):>13}" for k in kinds) + f"{sum(total.values()):>9}")
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())
