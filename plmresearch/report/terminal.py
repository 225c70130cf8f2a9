"""Text for a terminal: tables and paragraphs that fit its width (``shutil.get_terminal_size``).

Long cells wrap inside their column instead of widening the table; numbers are right-aligned.
"""

from __future__ import annotations

import math
import re
import shutil
import textwrap
from collections.abc import Sequence

import pandas as pd

#: What each status word of a reproduction target means (the scoreboard prints this legend).
STATUS_LEGEND = {
    "VERIFIED": "checked against the publication itself",
    "SECONDARY": "from a faithful secondary source (a textbook or transcription of the publication)",
    "UNVERIFIED": "not confirmed in the publication; a miss is shown but does not fail the run",
    "REFERENCE-RUN": "computed by a reference package (R) on the same data, not printed in a paper",
    "context": "published under a different protocol; shown for comparison, not scored",
    "not published": "our number, shown for information; nothing published to compare with",
}
OK_LEGEND = "ok: yes = within tolerance, no = miss, n/a = shown for context, not scored"


def terminal_width(default: int = 100, minimum: int = 60) -> int:
    """Columns of the terminal (``$COLUMNS`` first, as ``shutil`` reads it), at least ``minimum``."""
    return max(minimum, shutil.get_terminal_size((default, 24)).columns)


def number(x, digits: int = 4) -> str:
    """A number at ``digits`` significant digits; whole numbers in full, with separators; NaN empty."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return ""
    x = float(x)
    if x.is_integer() and abs(x) >= 1:
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def wrap_text(text: str, width: int | None = None) -> str:
    """Wrap each line to ``width``, continuing under its value column.

    ``Key   : value`` lines continue under the value; ``  name  type  meaning`` lines (two or
    more spaces between fields) continue under the last field; other lines under their indent.
    """
    width = width or terminal_width()
    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        m = re.match(r"^(.{0,40}? : )", line) or re.match(r"^(\s*(?:\S+(?: \S+)*\s{2,}){1,3})", line)
        indent = " " * len(m.group(1)) if m and len(m.group(1)) < width // 2 else re.match(r"\s*", line).group(0)
        out.append(textwrap.fill(line, width=width, subsequent_indent=indent, break_on_hyphens=False))
    return "\n".join(out)


def table(rows: Sequence[Sequence], headers: Sequence[str], width: int | None = None, *,
          align: str | None = None, wrap: Sequence[int] = (), indent: int = 0) -> str:
    """A plain-text table that fits ``width``: the columns listed in ``wrap`` share the room left
    by the others and wrap inside it. ``align`` is one character per column, ``<`` or ``>``."""
    width = (width or terminal_width()) - indent
    cells = [[("" if v is None else str(v)) for v in r] for r in rows]
    n = len(headers)
    align = align or "<" * n
    natural = [max([len(headers[j])] + [len(r[j]) for r in cells]) for j in range(n)]
    gap = 2
    fixed = sum(natural[j] for j in range(n) if j not in wrap) + gap * (n - 1)
    widths = list(natural)
    if wrap:
        room = max(width - fixed, 12 * len(wrap))
        need = sum(natural[j] for j in wrap)
        if need > room:
            # share the room in proportion to need, each at least 12 characters
            for j in wrap:
                widths[j] = max(12, int(room * natural[j] / need))
    pad = " " * indent

    def render(values: Sequence[str]) -> list[str]:
        parts = [textwrap.wrap(v, widths[j], break_on_hyphens=False) or [""] if j in wrap else [v]
                 for j, v in enumerate(values)]
        height = max(len(p) for p in parts)
        lines = []
        for k in range(height):
            line = (" " * gap).join(
                f"{(p[k] if k < len(p) else ''):{align[j]}{widths[j]}}" for j, p in enumerate(parts))
            lines.append(pad + line.rstrip())
        return lines

    out = render(list(headers))
    out.append(pad + (" " * gap).join("-" * w for w in widths))
    for r in cells:
        out += render(r)
    return "\n".join(out)


def _difference(diff, tol) -> str:
    """Signed, 3 significant digits; ``0`` when it is below a thousandth of the tolerance (rounding noise)."""
    if diff is None or pd.isna(diff):
        return ""
    if tol is not None and not pd.isna(tol) and tol > 0 and abs(diff) < tol / 1000:
        return "0"
    return f"{diff:+.3g}"


def scoreboard_text(board: pd.DataFrame, width: int | None = None, titles: dict[str, str] | None = None) -> str:
    """The reproduction scoreboard for a terminal: one block per study (its title once), the
    quantities wrapped, numbers at four significant digits, each source once as a numbered note
    under its study, and a legend of the status words at the end."""
    width = width or terminal_width()
    titles = titles or {}
    blocks = []
    for study, t in board.groupby("study", sort=False):
        sources: list[str] = []
        rows = []
        for r in t.itertuples(index=False):
            src = str(r.source or "").strip()
            ref = ""
            if src:
                if src not in sources:
                    sources.append(src)
                ref = f"[{sources.index(src) + 1}]"
            rows.append([r.quantity, number(r.published), number(r.reproduced),
                         _difference(r.difference, r.tolerance), number(r.tolerance),
                         r.within_tolerance, r.status, ref])
        head = f"{study}: {titles[study]}" if titles.get(study) else str(study)
        lines = [textwrap.fill(head, width), table(rows, ["quantity", "published", "ours", "diff", "tol", "ok", "status", "src"],
                                                   width, align="<>>>><<<", wrap=[0], indent=2)]
        for k, s in enumerate(sources, 1):
            lines.append(textwrap.fill(s, width, initial_indent=f"  [{k}] ", subsequent_indent=" " * (len(str(k)) + 5)))
        blocks.append("\n".join(lines))
    legend = ["Status of each published number:"]
    used = [s for s in STATUS_LEGEND if s in set(board["status"])]
    w = max((len(s) for s in used), default=0)
    for s in used:
        legend.append(textwrap.fill(STATUS_LEGEND[s], width, initial_indent=f"  {s:<{w}}  ",
                                    subsequent_indent=" " * (w + 4)))
    legend.append(textwrap.fill(OK_LEGEND, width, initial_indent="  ", subsequent_indent="  "))
    return "\n\n".join(blocks + ["\n".join(legend)])
