"""Print the robustness sweeps' outcome counts (harness.COUNTS) at the end of a pytest run."""

from __future__ import annotations

from .harness import COUNTS

CLASSES = ("error", "result", "result+note")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest hook signature
    if not COUNTS:
        return
    tr = terminalreporter
    tr.section("robustness sweep outcomes")
    tr.write_line(f"{'sweep':<24}{'cases':>8}" + "".join(f"{c:>13}" for c in CLASSES))
    total = {c: 0 for c in CLASSES}
    for sweep in sorted(COUNTS):
        counts = COUNTS[sweep]
        n = sum(counts.values())
        tr.write_line(f"{sweep:<24}{n:>8}" + "".join(f"{counts.get(c, 0):>13}" for c in CLASSES))
        for c in CLASSES:
            total[c] += counts.get(c, 0)
    if len(COUNTS) > 1:
        tr.write_line(f"{'all':<24}{sum(total.values()):>8}" + "".join(f"{total[c]:>13}" for c in CLASSES))
