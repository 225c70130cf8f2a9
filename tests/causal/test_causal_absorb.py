"""``ols(absorb=blocks)`` (block fixed effects absorbed by demeaning, Frisch-Waugh-Lovell) equals the
regression with block dummies, for every variance type it accepts, to 1e-10.

Reference: the same ``ols`` with an intercept and B - 1 dummy columns, whose HC/CR variances are
checked against estimatr/sandwich in test_causal_reference.py. The FWL theorem (Frisch & Waugh 1933;
Lovell 1963) gives equal coefficients and residuals; the leverage of the dummy regression is
1/n_b + that of the demeaned X (Davidson & MacKinnon 2004, sec. 2.4)."""

import numpy as np
import pytest

from plmresearch.causal._ols import ols
from plmresearch.errors import InputError


def _blocked(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 15, size=7)
    block = np.repeat(np.arange(7), sizes)
    n = len(block)
    t = (rng.random(n) < 0.5).astype(float)
    Z = rng.normal(size=(n, 2))
    y = 0.5 * t + Z @ [0.3, -0.2] + rng.normal(size=7)[block] + rng.normal(size=n) * (1 + t)
    cluster = block * 10 + rng.integers(0, 3, size=n)   # clusters nested in blocks
    return y, np.column_stack([t, Z]), block, cluster


@pytest.mark.parametrize("se_type, clustered", [("classical", False), ("HC0", False), ("HC1", False),
                                                ("HC2", False), ("HC3", False), ("CR0", True), ("stata", True)])
@pytest.mark.parametrize("seed", [0, 1])
def test_absorbed_blocks_equal_the_dummy_regression(se_type, clustered, seed):
    y, X, block, cluster = _blocked(seed)
    D = (block[:, None] == np.arange(1, 7)[None, :]).astype(float)
    cl = cluster if clustered else None
    full = ols(y, np.column_stack([X, np.ones(len(y)), D]), se_type=se_type, cluster=cl)
    fast = ols(y, X, se_type=se_type, cluster=cl, absorb=block)
    k = X.shape[1]
    np.testing.assert_allclose(fast.coef, full.coef[:k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.vcov, full.vcov[:k, :k], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(fast.df, full.df[:k], rtol=1e-10)
    np.testing.assert_allclose(fast.resid, full.resid, rtol=1e-10, atol=1e-10)


def test_absorb_refuses_cr2_and_weights():
    y, X, block, cluster = _blocked(3)
    with pytest.raises(InputError, match="absorb"):
        ols(y, X, se_type="CR2", cluster=cluster, absorb=block)
    with pytest.raises(InputError, match="absorb"):
        ols(y, X, se_type="HC2", weights=np.ones(len(y)), absorb=block)
