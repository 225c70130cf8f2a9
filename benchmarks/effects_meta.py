"""Speed of plmresearch.effects.meta_analysis / meta_regression by number of studies k.

Run: .venv/bin/python benchmarks/effects_meta.py   (prints a table; no assertions)
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from plmresearch.effects import meta_analysis, meta_regression


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    rng = np.random.default_rng(2026)
    rows = []
    for k in (20, 200, 1000, 2000):
        v = rng.uniform(0.005, 0.1, k)
        x = rng.normal(size=k)
        y = 0.2 + 0.1 * x + rng.normal(0, np.sqrt(v + 0.02))
        for method in ("FE", "DL", "REML", "PM"):
            rows.append({"k": k, "model": "intercept", "method": method,
                         "seconds": timed(lambda: meta_analysis(y, v, method=method))})
        rows.append({"k": k, "model": "1 moderator", "method": "REML",
                     "seconds": timed(lambda: meta_regression(y, v, x, method="REML"))})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda s: f"{s:.4f}"))


if __name__ == "__main__":
    main()
