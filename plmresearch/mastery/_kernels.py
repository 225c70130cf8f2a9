"""Compiled (numba) forward-backward and EM kernels for two-state BKT.

State 1 = skill known (mastered), state 0 = unknown. Parameters are stored in the
order of :data:`PARAM_NAMES`: prior, learn, forget, guess, slip.

The E-step is the scaled forward-backward recursion of Rabiner (1989), "A tutorial
on hidden Markov models", Proc. IEEE 77(2), eqs. 27 and 37-40 (scaling, Sec. V.A),
with the BKT emission/transition structure of Corbett & Anderson (1995),
"Knowledge tracing", UMUAI 4:253-278. The M-step is the closed-form Baum-Welch
update (Rabiner eqs. 40a-c); each parameter's expected complete-data log-likelihood
is concave in that parameter alone, so clipping the update to its bounds gives the
constrained maximiser.

Work is one task per (skill, restart); tasks run in parallel threads with a chunk
size of one so that the few very large skills do not leave a thread idle. Inside a
task the loop runs over students and responses in compiled code.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

PARAM_NAMES = ("prior", "learn", "forget", "guess", "slip")
_EPS = 1e-12


@njit(cache=True, nogil=True)
def _e_step_full(obs, seq_start, q0, q1, p, counts, post, scale):
    """Forward-backward over sequences q0..q1-1, accumulating Baum-Welch counts.

    Returns the total log-likelihood of the sequences under ``p``.
    """
    prior, learn, forget, guess, slip = p[0], p[1], p[2], p[3], p[4]
    ll = 0.0
    for q in range(q0, q1):
        a = seq_start[q]
        n = seq_start[q + 1] - a
        pk = prior
        for t in range(n):
            o = obs[a + t]
            e1 = 1.0 - slip if o == 1 else slip
            e0 = guess if o == 1 else 1.0 - guess
            c = pk * e1 + (1.0 - pk) * e0
            if c < _EPS:
                c = _EPS
            post[t] = pk * e1 / c
            scale[t] = c
            ll += np.log(c)
            pk = post[t] * (1.0 - forget) + (1.0 - post[t]) * learn
        bk = 1.0
        bu = 1.0
        for t in range(n - 1, -1, -1):
            o = obs[a + t]
            gk = post[t] * bk
            gu = (1.0 - post[t]) * bu
            s = gk + gu
            if s > 0.0:
                gk /= s
                gu /= s
            if o == 1:
                counts[6] += gu
            else:
                counts[8] += gk
            counts[7] += gu
            counts[9] += gk
            if t < n - 1:
                # denominators of learn/forget use gamma at t for t < n-1
                counts[3] += gu
                counts[5] += gk
            if t > 0:
                # xi_{t-1}(i, j) up to a constant; normalising it (and beta) at every
                # step avoids the overflow of Rabiner-scaled betas on long sequences.
                e1 = 1.0 - slip if o == 1 else slip
                e0 = guess if o == 1 else 1.0 - guess
                pk_prev = post[t - 1]
                x_kk = pk_prev * (1.0 - forget) * e1 * bk
                x_ku = pk_prev * forget * e0 * bu
                x_uk = (1.0 - pk_prev) * learn * e1 * bk
                x_uu = (1.0 - pk_prev) * (1.0 - learn) * e0 * bu
                z = x_kk + x_ku + x_uk + x_uu
                if z > 0.0:
                    counts[2] += x_uk / z
                    counts[4] += x_ku / z
                nbk = (1.0 - forget) * e1 * bk + forget * e0 * bu
                nbu = learn * e1 * bk + (1.0 - learn) * e0 * bu
                z = nbk + nbu
                bk = nbk / z
                bu = nbu / z
            else:
                counts[0] += gk
                counts[1] += 1.0
    return ll


@njit(cache=True, nogil=True)
def _m_step(counts, p, forgets, lo, hi):
    new = p.copy()
    if counts[1] > 0:
        new[0] = counts[0] / counts[1]
    if counts[3] > _EPS:
        new[1] = counts[2] / counts[3]
    if forgets and counts[5] > _EPS:
        new[2] = counts[4] / counts[5]
    if not forgets:
        new[2] = 0.0
    if counts[7] > _EPS:
        new[3] = counts[6] / counts[7]
    if counts[9] > _EPS:
        new[4] = counts[8] / counts[9]
    for k in range(5):
        if k == 2 and not forgets:
            continue
        if new[k] < lo[k]:
            new[k] = lo[k]
        if new[k] > hi[k]:
            new[k] = hi[k]
    return new


@njit(cache=True, nogil=True)
def _em_task(obs, seq_start, q0, q1, init, forgets, lo, hi, maxiter, tol, maxlen):
    """EM for one skill from one starting point. Returns (params, loglik, n_iter)."""
    post = np.empty(maxlen)
    scale = np.empty(maxlen)
    counts = np.zeros(10)
    p = init.copy()
    prev = -np.inf
    ll = -np.inf
    it = 0
    converged = False
    while it < maxiter:
        it += 1
        counts[:] = 0.0
        ll = _e_step_full(obs, seq_start, q0, q1, p, counts, post, scale)
        if abs(ll - prev) < tol:
            converged = True
            break
        prev = ll
        p = _m_step(counts, p, forgets, lo, hi)
    if not converged:
        # the loop ended on an M-step: score the final parameters
        counts[:] = 0.0
        ll = _e_step_full(obs, seq_start, q0, q1, p, counts, post, scale)
    return p, ll, it


@njit(parallel=True, cache=True)
def em_all(obs, seq_start, skill_q, skill_maxlen, inits, forgets, lo, hi, maxiter, tol, order):
    """Run EM for every (skill, restart) task. ``order`` lists task ids, largest first."""
    n_skill, n_rest = inits.shape[0], inits.shape[1]
    out = np.empty((n_skill, n_rest, 5))
    lls = np.empty((n_skill, n_rest))
    its = np.empty((n_skill, n_rest), dtype=np.int64)
    for j in prange(order.shape[0]):
        task = order[j]
        s = task // n_rest
        r = task % n_rest
        p, ll, it = _em_task(obs, seq_start, skill_q[s], skill_q[s + 1], inits[s, r], forgets,
                             lo, hi, maxiter, tol, skill_maxlen[s])
        out[s, r, :] = p
        lls[s, r] = ll
        its[s, r] = it
    return out, lls, its


@njit(cache=True)
def forward_predict(obs, seq_start, seq_param):
    """One-step-ahead predictions for each response.

    Returns p_correct (before the response) and p_mastered (after the response and
    the learning transition, Corbett & Anderson 1995 eq. 1-2).
    """
    n_total = obs.shape[0]
    p_correct = np.empty(n_total)
    p_mastered = np.empty(n_total)
    for q in range(seq_start.shape[0] - 1):
        prior, learn, forget, guess, slip = (seq_param[q, 0], seq_param[q, 1], seq_param[q, 2],
                                             seq_param[q, 3], seq_param[q, 4])
        pk = prior
        for i in range(seq_start[q], seq_start[q + 1]):
            p_correct[i] = pk * (1.0 - slip) + (1.0 - pk) * guess
            if obs[i] == 1:
                c = p_correct[i]
                post = pk * (1.0 - slip) / c if c > _EPS else pk
            else:
                c = 1.0 - p_correct[i]
                post = pk * slip / c if c > _EPS else pk
            pk = post * (1.0 - forget) + (1.0 - post) * learn
            p_mastered[i] = pk
    return p_correct, p_mastered


@njit(cache=True)
def loglik_all(obs, seq_start, seq_param):
    """Log-likelihood of every sequence under its own parameters (forward pass)."""
    out = np.zeros(seq_start.shape[0] - 1)
    for q in range(seq_start.shape[0] - 1):
        prior, learn, forget, guess, slip = (seq_param[q, 0], seq_param[q, 1], seq_param[q, 2],
                                             seq_param[q, 3], seq_param[q, 4])
        pk = prior
        ll = 0.0
        for i in range(seq_start[q], seq_start[q + 1]):
            e1 = 1.0 - slip if obs[i] == 1 else slip
            e0 = guess if obs[i] == 1 else 1.0 - guess
            c = pk * e1 + (1.0 - pk) * e0
            post = pk * e1 / c
            ll += np.log(c)
            pk = post * (1.0 - forget) + (1.0 - post) * learn
        out[q] = ll
    return out


def run_em(obs, seq_start, skill_q, skill_maxlen, inits, forgets, lo, hi, maxiter, tol, n_jobs):
    """Thread-count and scheduling wrapper around :func:`em_all`."""
    skill_sizes = np.array([seq_start[skill_q[s + 1]] - seq_start[skill_q[s]] for s in range(len(skill_q) - 1)])
    n_rest = inits.shape[1]
    order = np.argsort(-np.repeat(skill_sizes, n_rest), kind="stable").astype(np.int64)
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_jobs, numba.config.NUMBA_NUM_THREADS)))
    try:
        with numba.parallel_chunksize(1):
            return em_all(obs, seq_start, skill_q, skill_maxlen, inits, bool(forgets), lo, hi,
                          int(maxiter), float(tol), order)
    finally:
        numba.set_num_threads(old)
