"""Progress bars: on for a terminal or Jupyter, off in logs (CI), off on request."""

import io
import sys

from plmresearch.progress import enabled, progress_bar


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_off_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.delenv("PLMRESEARCH_PROGRESS", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not enabled()
    with progress_bar(range(3), desc="work") as bar:
        assert bar.disable and list(bar) == [0, 1, 2]
    assert sys.stderr.getvalue() == ""  # nothing written to a log


def test_on_for_a_terminal_off_on_request(monkeypatch):
    monkeypatch.delenv("PLMRESEARCH_PROGRESS", raising=False)
    monkeypatch.setattr(sys, "stderr", _Tty())
    assert enabled() and not enabled(progress=False)
    monkeypatch.setenv("PLMRESEARCH_PROGRESS", "0")
    assert not enabled()


def test_environment_forces_it_on(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setenv("PLMRESEARCH_PROGRESS", "1")
    assert enabled() and not enabled(progress=False)
