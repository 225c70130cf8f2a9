"""Bayesian knowledge tracing (Corbett & Anderson 1995) fitted by EM.

Per skill, a two-state hidden Markov model: a student starts knowing the skill with
probability ``prior``; after each opportunity an unknown skill becomes known with
probability ``learn`` (and, with ``forgets=True``, a known one is forgotten with
probability ``forget``); a known skill is answered wrongly with probability
``slip``, an unknown one correctly with probability ``guess``.

Parameters are fitted by expectation-maximisation (Baum-Welch; Rabiner 1989) from
``n_restarts`` random starts per skill; the start with the highest log-likelihood
wins, as in pyBKT (Badrinath, Wang & Pardos 2021). The forward-backward recursion
is compiled with numba and runs over all students of a skill in one call; skills
(and restarts) run in parallel threads when ``n_jobs > 1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plmresearch._dask import session
from plmresearch.errors import InputError, ModelError
from plmresearch.mastery import _kernels, _scale
from plmresearch.mastery._data import correct_values, pack, validate
from plmresearch.validation import (
    check_flag,
    check_seed,
    count,
    positive,
    probability,
    require_columns,
    require_frame,
)

PARAM_NAMES = _kernels.PARAM_NAMES

#: Named bound sets for the M-step. ``"none"`` is pyBKT's unconstrained EM (up to
#: 1e-6 from 0 and 1); ``"nondegenerate"`` keeps guess and slip below 0.5 so that a
#: correct answer always raises P(known) (Baker, Corbett & Aleven 2008, "model
#: degeneracy"); ``"corbett_anderson"`` uses the tighter guess <= 0.3, slip <= 0.1
#: ceilings of Corbett & Anderson (1995).
BOUNDS: dict[str, dict[str, tuple[float, float]]] = {
    "none": {},
    "nondegenerate": {"guess": (1e-6, 0.5), "slip": (1e-6, 0.5)},
    "corbett_anderson": {"guess": (1e-6, 0.3), "slip": (1e-6, 0.1)},
}
_FLOOR = 1e-6

#: Choices for skills a model was not fitted on (``predict``/``evaluate``).
UNSEEN = ("error", "drop", "prior")


def _bounds_arrays(bounds) -> tuple[np.ndarray, np.ndarray]:
    if bounds is None:
        bounds = "none"
    if isinstance(bounds, str):
        if bounds not in BOUNDS:
            raise InputError(f"`bounds` must be one of {sorted(BOUNDS)} or a dict, got {bounds!r}.")
        bounds = BOUNDS[bounds]
    if not isinstance(bounds, Mapping):
        raise InputError(f"`bounds` must be a name in {sorted(BOUNDS)} or a dict {{param: (low, high)}}, got {bounds!r}.")
    lo = np.full(5, _FLOOR)
    hi = np.full(5, 1 - _FLOOR)
    for name, pair in bounds.items():
        if name not in PARAM_NAMES:
            raise InputError(f"Unknown parameter {name!r} in `bounds`; use one of {list(PARAM_NAMES)}.")
        try:
            low, high = pair
        except (TypeError, ValueError):
            raise InputError(f"`bounds[{name!r}]` must be a (low, high) pair, got {pair!r}.") from None
        low = probability(low, f"bounds[{name!r}] low")
        high = probability(high, f"bounds[{name!r}] high")
        if low >= high:
            raise InputError(f"`bounds[{name!r}]` must have low < high, got {pair!r}.")
        k = PARAM_NAMES.index(name)
        lo[k], hi[k] = max(low, _FLOOR), min(high, 1 - _FLOOR)
    return lo, hi


def _random_starts(rng: np.random.Generator, n_skill: int, n_restarts: int, forgets: bool, lo, hi) -> np.ndarray:
    """Starting values: prior U(0.05, 0.95); learn, guess, slip U(0.01, 0.5); forget U(0.01, 0.5) or 0."""
    u = rng.uniform(size=(n_skill, n_restarts, 5))
    low = np.array([0.05, 0.01, 0.01, 0.01, 0.01])
    high = np.array([0.95, 0.5, 0.5, 0.5, 0.5])
    start = low + u * (high - low)
    start = np.clip(start, lo, hi)
    if not forgets:
        start[..., 2] = 0.0
    return np.ascontiguousarray(start)


@dataclass
class BKTModel:
    """A fitted BKT model: one parameter row per skill (``params``) and the column names used."""

    params: pd.DataFrame
    skill: str
    student: str
    correct: str
    order: str | None
    forgets: bool
    restarts: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The parameter table (one row per skill)."""
        return self.params.copy()

    def _repr_html_(self) -> str:
        return self.params.to_html(float_format=lambda x: f"{x:.4f}")

    def population_params(self) -> pd.Series:
        """Population-average parameters: the unweighted mean of each parameter over the fitted skills.

        Used by ``unseen="prior"`` for skills the model was not fitted on; every skill counts
        once, whatever its number of responses, as a skill drawn at random would.
        """
        return self.params.loc[:, list(PARAM_NAMES)].mean()

    def _unseen_plan(self, present: pd.Series, unseen: str) -> tuple[pd.DataFrame, pd.Index, list[str]]:
        """Parameters to predict with, skills to drop, and notes, from the rows per skill present.

        ``present`` holds the number of rows of each skill, in order of first appearance.
        """
        if unseen not in UNSEEN:
            raise InputError(f"`unseen` must be one of {list(UNSEEN)}, got {unseen!r}.")
        known = self.params.index
        is_new = ~present.index.isin(known)
        new = present.index[is_new]
        params = self.params.loc[:, list(PARAM_NAMES)]
        if not len(new):
            return params, new[:0], []
        n_rows = int(present[is_new].sum())
        if unseen == "error":
            raise InputError(
                f"{len(new)} skill(s) in column '{self.skill}' were not in the fitted data "
                f"({n_rows} row(s)), e.g. {list(new[:5])}. Fit them too, or pass unseen='drop' to leave "
                "those rows out, or unseen='prior' to predict them from the population-average parameters."
            )
        if unseen == "drop":
            note = (f"{n_rows} row(s) on {len(new)} skill(s) not in the fitted data were dropped "
                    f"(e.g. {list(new[:5])}).")
            return params, new, [note]
        avg = self.population_params()
        extra = pd.DataFrame([avg.to_numpy()] * len(new), index=new, columns=list(PARAM_NAMES))
        note = (f"{n_rows} row(s) on {len(new)} skill(s) not in the fitted data (e.g. {list(new[:5])}) were "
                "predicted from the population-average parameters (mean over the "
                f"{len(known)} fitted skills).")
        return pd.concat([params, extra]), new[:0], [note]

    def _resolve_unseen(self, df: pd.DataFrame, unseen: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
        """The rows to predict, the parameter table to predict them with, and notes for the result."""
        if unseen not in UNSEEN:
            raise InputError(f"`unseen` must be one of {list(UNSEEN)}, got {unseen!r}.")
        require_frame(df)
        require_columns(df, [self.skill], what="response table")
        codes, labels = pd.factorize(df[self.skill])
        present = pd.Series(np.bincount(codes[codes >= 0], minlength=len(labels)), index=pd.Index(labels))
        params, drop, notes = self._unseen_plan(present, unseen)
        return (df.loc[~df[self.skill].isin(drop)] if len(drop) else df), params, notes

    def _packed(self, df: pd.DataFrame, params: pd.DataFrame | None = None):
        y = validate(df, self.skill, self.student, self.correct, self.order)
        known = (self.params if params is None else params).index
        unknown = pd.Index(pd.unique(df[self.skill])).difference(known)
        if len(unknown):
            raise InputError(
                f"{len(unknown)} skill(s) in column '{self.skill}' were not in the fitted data, e.g. "
                f"{list(unknown[:5])}. Fit them too, or drop those rows before predicting."
            )
        return pack(df, self.skill, self.student, y, skills=pd.Index(known, name=self.skill))

    def predict(self, df, unseen: str = "error", client=None, progress: bool = True):
        """Copy of ``df`` with ``p_correct`` (before each response) and ``p_mastered`` (after it).

        ``p_correct`` = P(K) (1 - slip) + (1 - P(K)) guess, with P(K) the probability the
        skill is known before the opportunity given the student's earlier responses on
        that skill; ``p_mastered`` is P(K) after the response is observed and the
        learning transition applied (Corbett & Anderson 1995, eqs. 1-2), the quantity
        compared with 0.95 by the mastery rule of the Cognitive Tutor.

        Parameters
        ----------
        df : DataFrame
            Responses with the columns the model was fitted with.
        unseen : {"error", "drop", "prior"}
            What to do with skills the model was not fitted on. ``"error"`` (default)
            raises an error naming them; ``"drop"`` leaves their rows out; ``"prior"``
            predicts them from :meth:`population_params`. What was done is recorded in
            ``result.attrs["notes"]``.
        client : dask.distributed.Client, optional
            Run on this Dask cluster (see :func:`fit_bkt`). ``df`` may also be a Dask
            DataFrame or a path/glob of Parquet files; then the result is a lazy Dask
            DataFrame holding the model's columns, ``p_correct`` and ``p_mastered``,
            partitioned by skill and in log order within each partition (compute it or
            write it with ``.to_parquet``). A pandas frame with a client gives a pandas frame,
            as without one.
        """
        if client is not None or _scale.is_distributed(df):
            return _scale.predict_distributed(self, df, unseen, client, progress)
        data, params, notes = self._resolve_unseen(df, unseen)
        pk = self._packed(data, params)
        theta = params.to_numpy(dtype=float)
        seq_param = np.ascontiguousarray(theta[pk.seq_skill])
        p_correct, p_mastered = _kernels.forward_predict(pk.obs, pk.seq_start, seq_param)
        out = data.copy()
        pc = np.empty(len(data))
        pm = np.empty(len(data))
        pc[pk.rows] = p_correct
        pm[pk.rows] = p_mastered
        out["p_correct"] = pc
        out["p_mastered"] = pm
        out.attrs["notes"] = notes
        return out

    def log_likelihood(self, df: pd.DataFrame) -> pd.Series:
        """Log-likelihood of ``df`` per skill under the fitted parameters."""
        pk = self._packed(df)
        theta = self.params.loc[:, list(PARAM_NAMES)].to_numpy(dtype=float)
        ll = _kernels.loglik_all(pk.obs, pk.seq_start, np.ascontiguousarray(theta[pk.seq_skill]))
        return pd.Series(np.bincount(pk.seq_skill, weights=ll, minlength=len(pk.skills)), index=pk.skills,
                         name="log_likelihood")

    def evaluate(self, df, by_skill: bool = True, unseen: str = "error", client=None,
                 progress: bool = True) -> pd.DataFrame:
        """AUC, RMSE and log-loss of ``predict(df, unseen=unseen)``: one row per skill and an 'overall' (pooled) row.

        ``unseen`` is as in :meth:`predict`; its note (rows dropped or predicted from the
        population-average parameters) is in ``result.attrs["notes"]``.

        With ``client=`` or a Dask/Parquet ``df`` the predictions are made and scored on the
        workers and never gathered: per-skill rows are exact, and so are the pooled n,
        accuracy, RMSE and log-loss (sums merged); the pooled AUC is merged from score
        histograms with 2**20 bins on [0, 1] and is within ``result.attrs["auc_max_error"]``
        (reported, typically below 1e-5) of the exact value.
        """
        from plmresearch.mastery.evaluate import evaluate_predictions

        check_flag(by_skill, "by_skill")
        if client is not None or _scale.is_distributed(df):
            return _scale.evaluate_distributed(self, df, by_skill, unseen, client, progress)

        pred = self.predict(df, unseen=unseen)
        out = evaluate_predictions(pred, correct=self.correct, p_correct="p_correct",
                                   skill=self.skill if by_skill else None)
        out.attrs["notes"] = list(pred.attrs.get("notes", []))
        return out


def _run_em_with_progress(pk, starts, forgets, lo, hi, max_iter, tol, n_jobs, progress):
    """EM for every skill and restart; with a visible bar, in chunks of skills so the bar can move.

    Every (skill, restart) task is independent and its start is drawn beforehand, so chunking
    does not change any estimate.
    """
    from plmresearch.progress import enabled, progress_bar

    n_skill = len(pk.skills)
    if not enabled(progress) or n_skill < 2:
        return _kernels.run_em(pk.obs, pk.seq_start, pk.skill_q, pk.skill_maxlen, starts, forgets,
                               lo, hi, max_iter, tol, n_jobs)
    step = max(1, n_skill // 40, n_jobs)
    parts = []
    maxlen = pk.skill_maxlen
    with progress_bar(total=n_skill, desc=f"BKT EM ({starts.shape[1]} restarts)", unit="skill") as bar:
        for a in range(0, n_skill, step):
            b = min(a + step, n_skill)
            parts.append(_kernels.run_em(pk.obs, pk.seq_start, np.ascontiguousarray(pk.skill_q[a:b + 1]),
                                         np.ascontiguousarray(maxlen[a:b]), np.ascontiguousarray(starts[a:b]),
                                         forgets, lo, hi, max_iter, tol, n_jobs))
            bar.update(b - a)
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def fit_bkt(
    df: pd.DataFrame,
    skill: str = "skill",
    student: str = "student",
    correct: str = "correct",
    order: str | None = "order",
    forgets: bool = False,
    n_restarts: int = 20,
    random_seed: int | None = 0,
    bounds: str | Mapping[str, tuple[float, float]] | None = "none",
    max_iter: int = 100,
    tol: float = 1e-3,
    skills: Sequence | None = None,
    n_jobs: int = 1,
    convergence: str = "loglik",
    progress: bool = True,
    client=None,
) -> BKTModel:
    """Fit one BKT model per skill by EM with random restarts.

    Parameters
    ----------
    df : DataFrame, Dask DataFrame, or path
        Long table, one row per response. Within each student, rows must already be in
        increasing ``order`` (the function refuses to guess an order). A Dask DataFrame or a
        Parquet file, folder or glob runs on Dask (see ``client``).
    skill, student, correct, order : str
        Column names. ``correct`` holds 0/1 (or bool); ``order`` is numeric or datetime
        (None: row order is the order).
    forgets : bool
        Also fit P(forget) (Khajah, Lindsey & Mozer 2016); otherwise it is fixed at 0.
    n_restarts : int
        Random starts per skill; the highest log-likelihood wins (pyBKT ``num_fits``).
    random_seed : int
        Seed of the starting values; results do not depend on ``n_jobs``.
    bounds : str or dict
        ``"none"`` (default, as pyBKT), ``"nondegenerate"``, ``"corbett_anderson"``, or
        ``{param: (low, high)}``; see :data:`BOUNDS`.
    max_iter, tol : EM stops after ``max_iter`` iterations or when the log-likelihood
        changes by less than ``tol`` (pyBKT: 100 and 1e-3).
    convergence : {"loglik", "pybkt"}
        ``"loglik"``: stop when |change in log-likelihood| < ``tol``. ``"pybkt"``:
        reproduce pyBKT 1.4's rule, which compares log-likelihoods truncated to
        integers (its C++ E-step returns ``PyLong_FromLong(loglik)``), so EM stops
        earlier, from the third iteration on; the best restart is also chosen on the
        truncated value. Use it to compare with pyBKT on identical terms.
    skills : sequence, optional
        Fit only these skills.
    n_jobs : int
        Threads across skills and restarts (-1: all available); on Dask the workers are the
        parallelism and each runs its skills in one thread.
    progress : bool
        Show a progress bar over skills (see :mod:`plmresearch.progress`); the estimates
        do not depend on it.
    client : dask.distributed.Client, optional
        Fit on this Dask cluster. ``df`` may also be a Dask DataFrame or a Parquet file,
        folder or glob (read with column pruning: only the four model columns); without a
        client those start a ``LocalCluster`` with one single-threaded worker process per
        core (or use the default client, if one is running). Each skill is fitted on one
        worker; a partition that already holds whole skills (one Parquet file per group of
        skills) is used as it is, otherwise the rows are shuffled by skill. Only parameters
        come back. The same ``random_seed`` gives the same parameters as in memory.

    Returns
    -------
    BKTModel
        ``.params``: DataFrame indexed by skill with prior, learn, forget, guess, slip,
        log_likelihood, n_students, n_responses, n_iter, converged.
    """
    n_restarts, max_iter, tol, forgets, n_jobs, lo, hi, kernel_tol = _fit_arguments(
        n_restarts, max_iter, tol, forgets, n_jobs, random_seed, bounds, convergence)
    check_flag(progress, "progress")
    if skills is not None and (isinstance(skills, str) or not hasattr(skills, "__iter__")):
        raise InputError(f"`skills` must be a list of skill labels, got {skills!r}; e.g. skills=[{skills!r}].")
    if client is not None or _scale.is_distributed(df):
        return _fit_distributed(df, _scale.Columns(skill, student, correct, order), forgets, n_restarts, random_seed,
                                lo, hi, max_iter, kernel_tol, skills, progress, client)
    validate(df, skill, student, correct, order)  # every check, before any argument is used
    data = df
    if skills is not None:
        wanted = pd.Index(list(skills))
        _check_wanted(wanted, pd.Index(pd.unique(df[skill])), skill)
        data = df.loc[df[skill].isin(wanted)]
        y = validate(data, skill, student, correct, order)
    else:
        y = correct_values(df, correct)
    _check_sizes(data.groupby(skill, sort=True).size(), skill)
    pk = pack(data, skill, student, y)
    rng = np.random.default_rng(random_seed)
    starts = _random_starts(rng, len(pk.skills), n_restarts, forgets, lo, hi)
    est, lls, its = _run_em_with_progress(pk, starts, forgets, lo, hi, max_iter, kernel_tol, n_jobs, progress)
    return _model(pk.skills, est, lls, its, np.diff(pk.skill_q), np.diff(pk.seq_start[pk.skill_q]), max_iter,
                  _scale.Columns(skill, student, correct, order), forgets)


def _fit_arguments(n_restarts, max_iter, tol, forgets, n_jobs, random_seed, bounds, convergence):
    n_restarts = count(n_restarts, "n_restarts")
    max_iter = count(max_iter, "max_iter")
    tol = positive(tol, "tol")
    forgets = check_flag(forgets, "forgets")
    if n_jobs == -1:
        import os

        n_jobs = os.cpu_count() or 1
    n_jobs = count(n_jobs, "n_jobs")
    check_seed(random_seed)
    lo, hi = _bounds_arrays(bounds)
    if convergence not in ("loglik", "pybkt"):
        raise InputError(f"`convergence` must be 'loglik' or 'pybkt', got {convergence!r}.")
    kernel_tol = -1.0 if convergence == "pybkt" else tol
    return n_restarts, max_iter, tol, bool(forgets), n_jobs, lo, hi, kernel_tol


def _check_wanted(wanted: pd.Index, present: pd.Index, skill: str) -> None:
    missing = wanted.difference(present)
    if len(missing):
        raise InputError(f"Skill(s) {list(missing[:5])} given in `skills` have no rows in column '{skill}'.")


def _check_sizes(sizes: pd.Series, skill: str) -> None:
    tiny = sizes[sizes < 2]
    if len(tiny):
        raise InputError(
            f"{len(tiny)} skill(s) in column '{skill}' have a single response (e.g. {list(tiny.index[:5])}); "
            "BKT cannot be fitted from one response. Drop those skills or pool them with related ones."
        )


def _model(skills: pd.Index, est, lls, its, n_students, n_responses, max_iter: int, cols, forgets: bool) -> BKTModel:
    """The fitted model from EM output arrays (skill x restart); the best restart per skill wins."""
    if not np.all(np.isfinite(lls)):
        bad = skills[~np.isfinite(lls).all(axis=1)]
        raise ModelError(f"EM produced a non-finite log-likelihood for skill(s) {list(bad[:5])}.")
    n_restarts = lls.shape[1]
    best = np.argmax(lls, axis=1)
    idx = np.arange(len(skills))
    params = pd.DataFrame(est[idx, best], index=skills, columns=list(PARAM_NAMES))
    params["log_likelihood"] = lls[idx, best]
    params["n_students"] = n_students
    params["n_responses"] = n_responses
    params["n_iter"] = its[idx, best]
    params["converged"] = its[idx, best] < max_iter
    restarts = pd.DataFrame(
        {
            cols.skill: np.repeat(skills.to_numpy(), n_restarts),
            "restart": np.tile(np.arange(n_restarts), len(skills)),
            **{name: est[:, :, k].ravel() for k, name in enumerate(PARAM_NAMES)},
            "log_likelihood": lls.ravel(),
            "n_iter": its.ravel(),
        }
    )
    return BKTModel(params=params, skill=cols.skill, student=cols.student, correct=cols.correct, order=cols.order,
                    forgets=forgets, restarts=restarts)


def _fit_distributed(data, cols, forgets, n_restarts, random_seed, lo, hi, max_iter, tol, skills, progress, client):
    """fit_bkt on a Dask cluster: pass 1 counts rows per skill, pass 2 fits whole skills on workers."""
    from dask import delayed

    with session(client) as c:
        source = _scale.Source(data, c, cols.names)
        counts = _scale.count_skills(source, cols.skill, progress)
        sizes = counts.per_skill
        wanted = None
        if skills is not None:
            wanted = pd.Index(list(skills))
            _check_wanted(wanted, sizes.index, cols.skill)
            sizes = sizes[sizes.index.isin(wanted)]
        _check_sizes(sizes, cols.skill)
        names = pd.Index(sizes.index, name=cols.skill)
        starts = _random_starts(np.random.default_rng(random_seed), len(names), n_restarts, forgets, lo, hi)
        shared = delayed((names, starts), traverse=False)
        tasks = [delayed(_scale.fit_part)(p, cols, shared, forgets, lo, hi, max_iter, tol, wanted)
                 for p in _scale.skill_partitions(source, counts, cols.skill, wanted)]
        parts = [r for r in _scale.compute_all(c, tasks, f"BKT EM ({n_restarts} restarts)", progress) if r]
    est = np.full((len(names), n_restarts, 5), np.nan)
    lls = np.full((len(names), n_restarts), np.nan)
    its = np.zeros((len(names), n_restarts), dtype=np.int64)
    n_students = np.zeros(len(names), dtype=np.int64)
    n_responses = np.zeros(len(names), dtype=np.int64)
    for r in parts:
        i = r["idx"]
        est[i], lls[i], its[i], n_students[i], n_responses[i] = r["est"], r["lls"], r["its"], r["n_students"], \
            r["n_responses"]
    return _model(names, est, lls, its, n_students, n_responses, max_iter, cols, forgets)
