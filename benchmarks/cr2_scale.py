"""CR2 cost by cluster size: the dense n_g x n_g implementation versus the low-rank kernel.

The dense code (``dense_cr2`` in tests/causal/test_causal_cr2_lowrank.py, the package's CR2 before
issue 13 item 6) eigendecomposes I - H_gg for every cluster (O(n_g^3) time, O(n_g^2) memory per
cluster, all kept for the df) and builds an n x G matrix per coefficient for the Bell-McCaffrey df.
The kernel (plmresearch.causal._ols) needs only k x k matrices per cluster. Both compute the vcov
and the df of every coefficient. Runs alternate (dense, kernel, dense, kernel, ...) per size; the
table shows the fastest wall time of each and the tracemalloc peak (NumPy reports its buffers to
tracemalloc), and the ratios dense / kernel.

    python benchmarks/cr2_scale.py [--clusters 4] [--sizes 50 200 1000 2000 5000] [--reps 2]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "causal"))

from test_causal_cr2_lowrank import dense_cr2  # noqa: E402

from plmresearch.causal._ols import ols  # noqa: E402


def design(n_g: int, clusters: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(clusters), n_g)
    n = len(cl)
    t = (np.arange(clusters) % 2)[cl].astype(float)
    X = np.column_stack([np.ones(n), t, rng.normal(size=(n, 2))])
    y = X @ np.array([1.0, 0.3, 0.5, -0.2]) + rng.normal(size=clusters)[cl] + rng.normal(size=n)
    return y, X, cl


def run_dense(y, X, cl):
    M = np.linalg.inv(X.T @ X)
    e = y - X @ (M @ X.T @ y)
    return dense_cr2(X, M, e, cl)


def run_kernel(y, X, cl):
    fit = ols(y, X, se_type="CR2", cluster=cl)
    return fit.vcov, fit.df


def measure(fn, *args):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args)
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return wall, peak, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clusters", type=int, default=4)
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000, 2000, 5000])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--dense-max", type=int, default=None,
                    help="skip the dense code above this cluster size (it needs G n_g^2 doubles and O(n_g^3) time)")
    a = ap.parse_args()
    from threadpoolctl import threadpool_limits

    print(f"CR2 vcov + Bell-McCaffrey df of all 4 coefficients, {a.clusters} clusters of n_g units, "
          f"best of {a.reps} alternating runs, 1 BLAS thread")
    hdr = (f"{'n_g':>6} {'n':>7} {'dense s':>9} {'kernel s':>9} {'time ratio':>10} "
           f"{'dense MiB':>10} {'kernel MiB':>10} {'mem ratio':>9} {'max|dV|':>9} {'max|ddf|':>9}")
    print(hdr)
    print("-" * len(hdr))
    with threadpool_limits(limits=1, user_api="blas"):
        run_kernel(*design(10, 3))  # warm-up: the kernel's thread-pool scan happens once per process
        for n_g in a.sizes:
            y, X, cl = design(n_g, a.clusters)
            dense = a.dense_max is None or n_g <= a.dense_max
            td, tk, md, mk = [], [], [], []
            for _ in range(a.reps):
                if dense:
                    w, m, (Vd, dfd) = measure(run_dense, y, X, cl)
                    td.append(w)
                    md.append(m)
                w, m, (Vk, dfk) = measure(run_kernel, y, X, cl)
                tk.append(w)
                mk.append(m)
            if not dense:
                print(f"{n_g:>6} {len(y):>7} {'skipped':>9} {min(tk):>9.4f} {'':>10} {'':>10} "
                      f"{max(mk) / 2**20:>10.2f}", flush=True)
                continue
            dV = np.max(np.abs(Vd - Vk))
            ddf = np.max(np.abs(dfd - dfk))
            print(f"{n_g:>6} {len(y):>7} {min(td):>9.3f} {min(tk):>9.4f} {min(td) / min(tk):>10.1f} "
                  f"{max(md) / 2**20:>10.1f} {max(mk) / 2**20:>10.2f} {max(md) / max(mk):>9.1f} "
                  f"{dV:>9.1e} {ddf:>9.1e}", flush=True)


if __name__ == "__main__":
    main()
