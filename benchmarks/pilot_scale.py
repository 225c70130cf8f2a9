"""Wall time and peak memory of `plm pilot report --fast` at district and state scale.

For each design (cluster RCT, individual RCT, multisite) and size (default 10k, 100k, 1M
students) it simulates a district (:func:`plmresearch.pilot.simulate_district`), writes it as
Parquet with a config, and runs ``plm pilot report --fast --quiet`` in a fresh process,
measuring wall time and the child's peak resident memory (``resource.getrusage``,
RUSAGE_CHILDREN ru_maxrss). The Bayesian section is included.

    python benchmarks/pilot_scale.py [SIZES...]        e.g. 10000 100000 1000000

Target (issue 13): 1M students in <= 2 minutes and <= 4 GB on a 2-core machine. The Bayesian
section is computed from class and school sums (:mod:`plmresearch.models.nested_normal`), so
its cost does not grow with the number of students; what grows is reading the file,
pseudonymizing the IDs (one HMAC per student), the regressions and the subgroup models.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from plmresearch.pilot import write_demo

DESIGNS = ("cluster_rct", "individual_rct", "multisite")
# the report in a child process that prints its own peak resident memory (ru_maxrss, kB on Linux)
_CHILD = ("import resource, sys\nfrom plmresearch.cli import main\nrc = main(sys.argv[1:])\n"
          "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\nsys.exit(rc)")


def shape(design: str, n: int) -> dict:
    """Schools of about 5,000 students for a cluster RCT at scale (the case in the issue), 25 per class."""
    per_class = 25
    schools = max(6, n // 5000) if design == "cluster_rct" else max(6, n // 2500)
    classes = max(1, n // (schools * per_class))
    return dict(n_schools=schools, classes_per_school=classes, students_per_class=per_class)


def run_one(design: str, n: int, root: Path) -> tuple[float, float, int]:
    folder = root / f"{design}_{n}"
    data_path, config_path, district = write_demo(folder, file_type="parquet", design=design, random_seed=1,
                                                  **shape(design, n))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, "pilot", "report", str(config_path), "--fast", "--quiet"],
                          capture_output=True, text=True, env=os.environ.copy())
    wall = time.perf_counter() - t0
    lines = proc.stderr.strip().splitlines()
    peak = next((int(ln.split()[1]) for ln in lines if ln.startswith("MAXRSS ")), 0)  # kB, the child's own peak
    if proc.returncode != 0:
        print(f"  {design} {n}: FAILED: {[ln for ln in lines if not ln.startswith('MAXRSS')][-1:]}", flush=True)
    return wall, peak / 1024**2, len(district.data)


if __name__ == "__main__":
    sizes = [int(s) for s in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}; CPUs: {}".format(*os.getloadavg(), os.cpu_count()))
    print(f"{'design':<16}{'students':>10}{'wall (s)':>10}{'peak RSS (GB)':>15}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for design in DESIGNS:
                wall, gb, rows = run_one(design, n, Path(tmp))
                print(f"{design:<16}{rows:>10,}{wall:>10.1f}{gb:>15.2f}", flush=True)
    print("load average (1, 5, 15 min) after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print("wall: the whole `plm pilot report --fast` process (import, read, seven sections, Bayes, HTML); "
          "peak RSS: that process's own maximum resident memory.")
