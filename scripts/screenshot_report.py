"""Screenshot an HTML report with Debian's headless Chromium, so a person can check that it renders.

Usage: python scripts/screenshot_report.py REPORT.html OUT.png [--height 3000]
Needs the `chromium` package (apt-get install chromium). No network is used: the report is
self-contained, and Chromium's background networking is switched off.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def screenshot(report: Path, out: Path, width: int = 1200, height: int = 3000, timeout: int = 120) -> Path:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", f"--screenshot={out.resolve()}", f"--window-size={width},{height}",
               "--hide-scrollbars", report.resolve().as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
    if not out.exists():
        raise RuntimeError(f"chromium did not write {out}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--height", type=int, default=3000)
    args = ap.parse_args(argv)
    print(screenshot(args.report, args.out, height=args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
