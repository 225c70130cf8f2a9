"""Print the robustness sweeps' outcome counts (harness.COUNTS) at the end of a pytest run.

With ``PLM_SWEEP_TABLE=1`` (set by ``benchmarks/robustness_sweep.py``) the counts are also
printed per public function.
"""

from __future__ import annotations

import os

from .harness import COUNTS, COUNTS_BY_FUNCTION

CLASSES = ("error", "result", "result+note")


def _row(label: str, counts, width: int) -> str:
    return f"{label:<{width}}{sum(counts.values()):>8}" + "".join(f"{counts.get(c, 0):>13}" for c in CLASSES)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest hook signature
    if not COUNTS:
        return
    tr = terminalreporter
    tr.section("robustness sweep outcomes")
    tr.write_line(f"{'sweep':<24}{'cases':>8}" + "".join(f"{c:>13}" for c in CLASSES))
    total = {c: 0 for c in CLASSES}
    for sweep in sorted(COUNTS):
        tr.write_line(_row(sweep, COUNTS[sweep], 24))
        for c in CLASSES:
            total[c] += COUNTS[sweep].get(c, 0)
    if len(COUNTS) > 1:
        tr.write_line(_row("all", total, 24))
    if os.environ.get("PLM_SWEEP_TABLE") == "1":
        tr.section("robustness sweep outcomes per function")
        tr.write_line(f"{'sweep / function':<48}{'cases':>8}" + "".join(f"{c:>13}" for c in CLASSES))
        for (sweep, fn), counts in sorted(COUNTS_BY_FUNCTION.items()):
            tr.write_line(_row(f"{sweep} / {fn}", counts, 48))
