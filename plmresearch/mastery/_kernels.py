"""Compiled (numba) forward-backward and EM kernels for two-state BKT.

State 1 = skill known (mastered), state 0 = unknown. Parameters are stored in the
order of :data:`PARAM_NAMES`: prior, learn, forget, guess, slip.

The E-step is the forward-backward recursion of Rabiner (1989), "A tutorial on
hidden Markov models", Proc. IEEE 77(2), eqs. 19-25 and 37-38, with the BKT
emission/transition structure of Corbett & Anderson (1995), "Knowledge tracing",
UMUAI 4:253-278. The forward messages are the filtered P(known | o_1..o_t) (Rabiner's
scaling, Sec. V.A); the backward messages and xi are renormalised to sum to one at
each step instead of being divided by the scale factors, which cannot overflow on the
1,900-response sequences of ASSISTments (gamma and xi are distributions, so the
normalisation is exact). Tests check both against enumeration of all hidden paths. The M-step is the closed-form Baum-Welch
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


@njit(cache=True, nogil=True, error_model="numpy")
def _e_step_full(obs, seq_start, q0, q1, p, counts, post, post_u):
    """Forward-backward over sequences q0..q1-1, accumulating Baum-Welch counts.

    counts (overwritten): prior_num, n_seq, learn_num, learn_den, forget_num,
    forget_den, guess_num, guess_den, slip_num, slip_den. Returns the total
    log-likelihood of the sequences under ``p``.
    """
    prior, learn, forget, guess, slip = p[0], p[1], p[2], p[3], p[4]
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = 0.0
    ll = 0.0
    prod = 1.0
    for q in range(q0, q1):
        a = seq_start[q]
        n = seq_start[q + 1] - a
        # forward: post[t], post_u[t] = P(known / unknown at t | o_1..o_t);
        # c = P(o_t | o_1..o_{t-1}). Both states are carried separately (as pyBKT
        # does): 1 - P(known) would round a P(unknown) below 1e-16 to zero for good
        # and then ignore any number of later wrong answers.
        pk = prior
        pu = 1.0 - prior
        for t in range(n):
            o = obs[a + t]
            e1 = 1.0 - slip if o == 1 else slip
            e0 = guess if o == 1 else 1.0 - guess
            ak = pk * e1
            au = pu * e0
            c = ak + au
            if c < _EPS:
                c = _EPS
            fk = ak / c
            fu = au / c
            post[t] = fk
            post_u[t] = fu
            prod *= c
            if prod < 1e-250:  # one log per many responses instead of one each
                ll += np.log(prod)
                prod = 1.0
            pk = fk * (1.0 - forget) + fu * learn
            pu = fk * forget + fu * (1.0 - learn)
        # backward; beta and xi are renormalised at every step (they are only
        # needed up to a constant), which cannot overflow on long sequences
        bk = 1.0
        bu = 1.0
        for t in range(n - 1, -1, -1):
            o = obs[a + t]
            gk = post[t] * bk
            gu = post_u[t] * bu
            s = gk + gu
            if s > 0.0:
                gk /= s
                gu /= s
            if o == 1:
                c6 += gu
            else:
                c8 += gk
            c7 += gu
            c9 += gk
            if t < n - 1:
                c3 += gu
                c5 += gk
            if t > 0:
                e1 = 1.0 - slip if o == 1 else slip
                e0 = guess if o == 1 else 1.0 - guess
                pp = post[t - 1]
                pq = post_u[t - 1]
                ek = e1 * bk
                eu = e0 * bu
                x_kk = pp * (1.0 - forget) * ek
                x_ku = pp * forget * eu
                x_uk = pq * learn * ek
                x_uu = pq * (1.0 - learn) * eu
                z = x_kk + x_ku + x_uk + x_uu
                if z > 0.0:
                    c2 += x_uk / z
                    c4 += x_ku / z
                nbk = (1.0 - forget) * ek + forget * eu
                nbu = learn * ek + (1.0 - learn) * eu
                z = nbk + nbu
                if z > 0.0:
                    bk = nbk / z
                    bu = nbu / z
                else:
                    bk = bu = 1.0
            else:
                c0 += gk
                c1 += 1.0
    ll += np.log(prod)
    counts[0] = c0
    counts[1] = c1
    counts[2] = c2
    counts[3] = c3
    counts[4] = c4
    counts[5] = c5
    counts[6] = c6
    counts[7] = c7
    counts[8] = c8
    counts[9] = c9
    return ll


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
def _em_task(obs, seq_start, q0, q1, init, forgets, lo, hi, maxiter, tol, maxlen):
    """EM for one skill from one starting point. Returns (params, loglik, n_iter)."""
    post = np.empty(maxlen)
    post_u = np.empty(maxlen)
    counts = np.zeros(10)
    p = init.copy()
    prev = -np.inf
    ll = -np.inf
    it = 0
    converged = False
    while it < maxiter:
        it += 1
        counts[:] = 0.0
        ll = _e_step_full(obs, seq_start, q0, q1, p, counts, post, post_u)
        if tol < 0.0:
            # pyBKT 1.4 compatibility: its C++ E-step returns the log-likelihood
            # truncated to an integer (PyLong_FromLong) and EM_fit stops from the
            # third iteration on when two such values differ by < 1e-3
            ll = float(int(ll))
            if it > 2 and ll == prev:
                converged = True
                break
        elif abs(ll - prev) < tol:
            converged = True
            break
        prev = ll
        p = _m_step(counts, p, forgets, lo, hi)
    if not converged:
        # the loop ended on an M-step: score the final parameters
        counts[:] = 0.0
        ll = _e_step_full(obs, seq_start, q0, q1, p, counts, post, post_u)
        if tol < 0.0:
            ll = float(int(ll))
    return p, ll, it


@njit(parallel=True, cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def forward_predict(obs, seq_start, seq_param):
    """One-step-ahead predictions for each response.

    Returns p_correct (before the response) and p_mastered (after the response and
    the learning transition, Corbett & Anderson 1995 eq. 1-2). P(known) and
    P(unknown) are carried separately so that a tiny P(unknown) survives rounding.
    """
    n_total = obs.shape[0]
    p_correct = np.empty(n_total)
    p_mastered = np.empty(n_total)
    for q in range(seq_start.shape[0] - 1):
        prior, learn, forget, guess, slip = (seq_param[q, 0], seq_param[q, 1], seq_param[q, 2],
                                             seq_param[q, 3], seq_param[q, 4])
        pk = prior
        pu = 1.0 - prior
        for i in range(seq_start[q], seq_start[q + 1]):
            p_correct[i] = pk * (1.0 - slip) + pu * guess
            e1 = 1.0 - slip if obs[i] == 1 else slip
            e0 = guess if obs[i] == 1 else 1.0 - guess
            ak = pk * e1
            au = pu * e0
            c = ak + au
            if c > _EPS:
                ak /= c
                au /= c
            else:
                ak, au = pk, pu
            pk = ak * (1.0 - forget) + au * learn
            pu = ak * forget + au * (1.0 - learn)
            p_mastered[i] = min(1.0, max(0.0, pk))
    return p_correct, p_mastered


@njit(cache=True, error_model="numpy")
def loglik_all(obs, seq_start, seq_param):
    """Log-likelihood of every sequence under its own parameters (forward pass)."""
    out = np.zeros(seq_start.shape[0] - 1)
    for q in range(seq_start.shape[0] - 1):
        prior, learn, forget, guess, slip = (seq_param[q, 0], seq_param[q, 1], seq_param[q, 2],
                                             seq_param[q, 3], seq_param[q, 4])
        pk = prior
        pu = 1.0 - prior
        ll = 0.0
        for i in range(seq_start[q], seq_start[q + 1]):
            e1 = 1.0 - slip if obs[i] == 1 else slip
            e0 = guess if obs[i] == 1 else 1.0 - guess
            ak = pk * e1
            au = pu * e0
            c = ak + au
            ll += np.log(c)
            ak /= c
            au /= c
            pk = ak * (1.0 - forget) + au * learn
            pu = ak * forget + au * (1.0 - learn)
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


def run_em_serial(obs, seq_start, skill_q, skill_maxlen, inits, forgets, lo, hi, maxiter, tol):
    """The tasks of :func:`em_all` one after another in the calling thread (no numba thread pool).

    For Dask workers, where the parallelism is across processes: an idle OpenMP pool in each
    of several worker processes would compete for the cores. Same compiled task, same results.
    """
    n_skill, n_rest = inits.shape[0], inits.shape[1]
    out = np.empty((n_skill, n_rest, 5))
    lls = np.empty((n_skill, n_rest))
    its = np.empty((n_skill, n_rest), dtype=np.int64)
    for s in range(n_skill):
        for r in range(n_rest):
            out[s, r], lls[s, r], its[s, r] = _em_task(obs, seq_start, skill_q[s], skill_q[s + 1], inits[s, r],
                                                       bool(forgets), lo, hi, int(maxiter), float(tol),
                                                       skill_maxlen[s])
    return out, lls, its
