"""Progress bars for long work (MCMC sampling, BKT restarts, reproductions, pilot reports, benchmarks).

One choice for the whole package: ``tqdm.auto``, which draws a widget in Jupyter (with
ipywidgets, in the ``notebook`` extra) and a text bar in a terminal. Every long-running public
function takes ``progress=True``; ``progress=False`` (``plm ... --quiet``) turns it off.

Logs stay readable: outside Jupyter a bar is drawn only when standard error is a terminal, so CI
logs and redirected output get no carriage-return updates. ``PLMRESEARCH_PROGRESS=0`` turns every
bar off, ``=1`` forces them on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def enabled(progress: bool = True) -> bool:
    """Whether a bar should be drawn: asked for, not turned off by the environment, and somewhere to draw it."""
    if not progress:
        return False
    env = os.environ.get("PLMRESEARCH_PROGRESS", "").strip().lower()
    if env in ("0", "false", "no", "off"):
        return False
    if env in ("1", "true", "yes", "on"):
        return True
    if _in_jupyter():
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None,
                 unit: str = "it", progress: bool = True, leave: bool = False, **kwargs: Any):
    """A ``tqdm.auto`` bar, disabled unless :func:`enabled` says otherwise.

    Use it as an iterable wrapper or a context manager with ``.update(n)``, like tqdm.
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled(progress), leave=leave,
                dynamic_ncols=True, **kwargs)
