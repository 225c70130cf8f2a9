"""BKT on a Dask cluster: fit, predict and evaluate logs too large for one process.

Skills are independent EM problems, so the log is split so that every skill lies in one
partition (as it comes, when each Parquet file or Dask partition already holds whole skills;
otherwise by a shuffle on the skill) and each partition is fitted on a worker with the same
numba kernels as the in-memory engine. Only parameters, per-skill counts and score
histograms come back to the client; the log itself is never gathered.

Pass 1 reads the skill column alone (Parquet column pruning through pyarrow) and counts rows
per skill and partition: it gives the sorted skill list (so the starting values are drawn in
the same order as in memory and the same seed gives the same parameters), the single-response
and unseen-skill checks, and whether a shuffle is needed. Pass 2 reads the four model columns.

Every row carries its position in the log (partition number * 2**40 + row), so rows are put
back in log order on the worker: the order check, ``order=None`` and the sequences are the
same as in memory.
"""

from __future__ import annotations

import glob
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from plmresearch._dask import gather, n_workers, session
from plmresearch.errors import ColumnError, InputError, PlmWarning
from plmresearch.mastery import _kernels
from plmresearch.mastery._data import pack, validate
from plmresearch.validation import require_columns

POS = "_plm_pos"
GROUP = "_plm_group"
_POS_SHIFT = 40  # rows per partition < 2**40
#: rows per partition when a Parquet file, a pandas frame or a shuffle is split
TARGET_ROWS = 2_000_000
#: equal-width bins on [0, 1] of the score histograms merged for the pooled AUC
AUC_BINS = 2**20


def is_distributed(data) -> bool:
    """True for a path/glob (or list of them) of Parquet files or a Dask DataFrame."""
    if isinstance(data, (str, os.PathLike)):
        return True
    if isinstance(data, (list, tuple)) and data and all(isinstance(x, (str, os.PathLike)) for x in data):
        return True
    return type(data).__module__.startswith("dask.")


# ---- sources: a list of partitions (delayed objects or futures) with the needed columns ----

def parquet_files(path) -> list[str]:
    """The Parquet files named by a path, a directory, a glob, or a list of those (sorted)."""
    items = path if isinstance(path, (list, tuple)) else [path]
    files: list[str] = []
    for item in items:
        item = os.fspath(item)
        if any(ch in item for ch in "*?["):
            found = sorted(glob.glob(item))
        elif Path(item).is_dir():
            found = sorted(str(p) for p in Path(item).rglob("*.parquet"))
        elif Path(item).exists():
            found = [item]
        else:
            raise InputError(f"No file or folder {item!r}; give a Parquet file, a folder of them, or a glob.")
        if not found:
            raise InputError(f"{item!r} names no Parquet files (looked for *.parquet).")
        files.extend(found)
    return files


def _read_piece(file: str, row_groups: list[int], columns: list[str]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.ParquetFile(file).read_row_groups(row_groups, columns=columns).to_pandas()


def _parquet_pieces(files: list[str], columns: list[str]) -> list[tuple[str, list[int]]]:
    """(file, row groups) pieces of at most about TARGET_ROWS rows; every file must have ``columns``."""
    import pyarrow.parquet as pq

    pieces = []
    for f in files:
        try:
            meta = pq.ParquetFile(f).metadata
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError(f"Cannot read {f!r} as Parquet: {exc}") from None
        names = set(meta.schema.names)
        missing = [c for c in columns if c not in names]
        if missing:
            raise ColumnError(
                f"Parquet file {f!r} has no column(s) {missing} (it has {sorted(names)[:10]}); every file of "
                f"the log needs {columns}. Rewrite that file or leave it out of the path/glob."
            )
        group, rows = [], 0
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if group and rows + n > TARGET_ROWS:
                pieces.append((f, group))
                group, rows = [], 0
            group.append(g)
            rows += n
        pieces.append((f, group))
    return pieces


@dataclass
class Source:
    """How to make the log's partitions for a set of columns (same partitioning for any columns)."""

    data: object
    client: object
    columns: list[str]

    def __post_init__(self):
        from dask import delayed

        d = self.data
        if isinstance(d, pd.DataFrame):
            require_columns(d, self.columns, what="response table")
            chunks = [d.iloc[a:a + TARGET_ROWS, [d.columns.get_loc(c) for c in self.columns]]
                      for a in range(0, max(len(d), 1), TARGET_ROWS)]
            # chunks go into the graph, not scattered: a dead worker's chunk can be sent again
            chunks = [delayed(c, traverse=False) for c in chunks]
            self._parts = lambda cols: [delayed(_select)(c, cols) for c in chunks]
        elif is_distributed(d) and not type(d).__module__.startswith("dask."):
            pieces = _parquet_pieces(parquet_files(d), self.columns)
            self._parts = lambda cols: [delayed(_read_piece)(f, g, cols) for f, g in pieces]
        else:
            require_columns(d, self.columns, what="Dask DataFrame")
            parts = d[self.columns].to_delayed()
            self._parts = lambda cols: [delayed(_select)(p, cols) for p in parts]

    def parts(self, columns: list[str] | None = None) -> list:
        return self._parts(columns or self.columns)


def _select(part: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return part.loc[:, columns]


def compute_all(client, tasks: list, desc: str, progress: bool) -> list:
    """Compute delayed ``tasks`` on ``client``; results in task order (see plmresearch._dask.gather)."""
    return gather(client.compute(tasks), desc, progress)


# ---- pass 1: rows per skill and partition ----

def _skill_counts(part: pd.DataFrame, skill: str) -> pd.Series:
    n = part[skill].value_counts(dropna=False, sort=False)
    return n[n > 0]  # a categorical column also lists its unused categories


@dataclass
class SkillCounts:
    table: pd.DataFrame  # rows: partition, skill, n
    skill: str

    @property
    def per_skill(self) -> pd.Series:
        return self.table.groupby("skill", sort=True)["n"].sum()



def count_skills(source: Source, skill: str, progress: bool) -> SkillCounts:
    from dask import delayed

    tasks = [delayed(_skill_counts)(p, skill) for p in source.parts([skill])]
    res = compute_all(source.client, tasks, "reading skills", progress)
    frames = [pd.DataFrame({"partition": i, "skill": s.index, "n": s.to_numpy()}) for i, s in enumerate(res) if len(s)]
    if not frames:
        raise InputError("The response log has no rows.")
    table = pd.concat(frames, ignore_index=True)
    if table["skill"].isna().any():
        n = int(table.loc[table["skill"].isna(), "n"].sum())
        raise InputError(f"Column '{skill}' has {n} missing value(s); Knowledge tracing needs every response's "
                         "skill; drop incomplete rows first.")
    return SkillCounts(table, skill)


# ---- pass 2: partitions that hold whole skills, in log order ----

def _with_pos(part: pd.DataFrame, number: int) -> pd.DataFrame:
    return part.assign(**{POS: (np.int64(number) << _POS_SHIFT) + np.arange(len(part), dtype=np.int64)})


def _with_group(part: pd.DataFrame, number: int, skill: str, codes: pd.Series) -> pd.DataFrame:
    out = _with_pos(part, number)
    out[GROUP] = codes.reindex(out[skill].to_numpy()).to_numpy()
    return out[out[GROUP].notna()]  # skills left out (``skills=``, unseen='drop') have no code


def skill_partitions(source: Source, counts: SkillCounts, skill: str, wanted: pd.Index | None = None) -> list:
    """Delayed partitions each holding whole skills, rows in log order (column ``POS``)."""
    import dask.dataframe as dd
    from dask import delayed

    parts = source.parts()
    keep = counts.table if wanted is None else counts.table[counts.table["skill"].isin(wanted)]
    used = sorted(set(keep["partition"]))
    if not keep["skill"].duplicated().any():  # every skill already in one partition: no shuffle
        return [delayed(_with_pos)(parts[i], i) for i in used]
    per_skill = keep.groupby("skill", sort=True)["n"].sum()
    codes = pd.Series(np.arange(len(per_skill), dtype=float), index=per_skill.index)
    n_out = int(min(len(per_skill), max(2 * n_workers(source.client), -(-int(per_skill.sum()) // TARGET_ROWS))))
    meta = _with_group(_meta_frame(source), 0, skill, codes)
    pieces = [delayed(_with_group)(parts[i], i, skill, codes) for i in used]
    ddf = dd.from_delayed(pieces, meta=meta, verify_meta=False)
    return ddf.shuffle(on=GROUP, npartitions=n_out).to_delayed()


def _meta_frame(source: Source) -> pd.DataFrame:
    """An empty frame with the columns and dtypes of the log (reads one partition's schema)."""
    d = source.data
    if isinstance(d, pd.DataFrame):
        return d.loc[:, source.columns].iloc[:0]
    if type(d).__module__.startswith("dask."):
        return d._meta.loc[:, source.columns]
    import pyarrow.parquet as pq

    schema = pq.read_schema(parquet_files(d)[0])
    return schema.empty_table().select(source.columns).to_pandas()


def in_log_order(part: pd.DataFrame) -> pd.DataFrame:
    if not part[POS].is_monotonic_increasing:
        part = part.sort_values(POS, kind="stable")
    return part.reset_index(drop=True)


# ---- worker tasks ----

@dataclass(frozen=True)
class Columns:
    skill: str
    student: str
    correct: str
    order: str | None

    @property
    def names(self) -> list[str]:
        return [self.skill, self.student, self.correct] + ([self.order] if self.order else [])


def fit_part(part: pd.DataFrame, cols: Columns, shared: tuple[pd.Index, np.ndarray], forgets: bool,
             lo, hi, max_iter: int, tol: float, wanted: pd.Index | None) -> dict | None:
    """EM for every skill of one partition; ``shared`` = (all skills, sorted; their starts), drawn on the client."""
    skills, starts = shared
    if wanted is not None:
        part = part[part[cols.skill].isin(wanted)]
    if not len(part):
        return None
    part = in_log_order(part)
    y = validate(part, cols.skill, cols.student, cols.correct, cols.order)
    pk = pack(part, cols.skill, cols.student, y)
    idx = skills.get_indexer(pk.skills)
    est, lls, its = _kernels.run_em_serial(pk.obs, pk.seq_start, pk.skill_q, pk.skill_maxlen,
                                           np.ascontiguousarray(starts[idx]), forgets, lo, hi, max_iter, tol)
    return {"idx": idx, "est": est, "lls": lls, "its": its, "n_students": np.diff(pk.skill_q),
            "n_responses": np.diff(pk.seq_start[pk.skill_q])}


def predict_part(part: pd.DataFrame, cols: Columns, params: pd.DataFrame, drop: pd.Index | None) -> pd.DataFrame:
    """``part`` in log order with p_correct and p_mastered (BKTModel.predict on whole skills)."""
    if drop is not None and len(drop):
        part = part[~part[cols.skill].isin(drop)]
    part = in_log_order(part)
    out = part.drop(columns=[c for c in (GROUP,) if c in part.columns])
    if not len(part):
        return out.assign(p_correct=np.zeros(0), p_mastered=np.zeros(0))
    y = validate(part, cols.skill, cols.student, cols.correct, cols.order)
    pk = pack(part, cols.skill, cols.student, y, skills=params.index)
    theta = params.to_numpy(dtype=float)
    pc, pm = _kernels.forward_predict(pk.obs, pk.seq_start, np.ascontiguousarray(theta[pk.seq_skill]))
    out["p_correct"] = np.empty(len(part))
    out["p_mastered"] = np.empty(len(part))
    out.iloc[pk.rows, out.columns.get_loc("p_correct")] = pc
    out.iloc[pk.rows, out.columns.get_loc("p_mastered")] = pm
    return out


def evaluate_part(part: pd.DataFrame, cols: Columns, params: pd.DataFrame, drop: pd.Index | None,
                  by_skill: bool, bins: int) -> dict:
    """Per-skill sums (n, correct, squared error, log-loss), exact per-skill AUC, and a sparse score histogram."""
    from plmresearch.mastery.evaluate import _scores

    pred = predict_part(part, cols, params, drop)
    y = pred[cols.correct].to_numpy(dtype=float)
    p = pred["p_correct"].to_numpy(dtype=float)
    skill_rows = {}
    if by_skill and len(pred):
        codes, labels = pd.factorize(pred[cols.skill], sort=True)
        for k, label in enumerate(labels):
            skill_rows[label] = _scores(y[codes == k], p[codes == k])
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    b = np.minimum((p * bins).astype(np.int64), bins - 1)
    uniq, cnt = np.unique(b * 2 + y.astype(np.int64), return_counts=True)
    return {"skills": skill_rows, "n": len(y), "sum_y": float(y.sum()), "sse": float(((y - p) ** 2).sum()),
            "sum_ll": float(-(y * np.log(pc) + (1 - y) * np.log1p(-pc)).sum()), "hist_key": uniq, "hist_n": cnt,
            **_within_bin_pairs(b, p, y)}


def _within_bin_pairs(b: np.ndarray, p: np.ndarray, y: np.ndarray) -> dict:
    """Exact Mann-Whitney U of the pairs of this partition that share a bin, less the tie credit the
    histogram gives them (0.5 a pair), and how many such pairs there are."""
    from scipy.stats import rankdata

    if not len(p):
        return {"within_correction": 0.0, "within_pairs": 0.0}
    pos = y == 1
    rank = rankdata(p)  # ranks are monotone in p, so each bin's rows hold consecutive ranks
    bin_ids, size = np.unique(b, return_counts=True)
    before = np.concatenate([[0], np.cumsum(size)[:-1]])  # rows in lower bins
    offset = before[np.searchsorted(bin_ids, b)]
    n_pos = np.bincount(np.searchsorted(bin_ids, b[pos]), minlength=len(bin_ids)).astype(float)
    n_neg = size - n_pos
    u = float((rank[pos] - offset[pos]).sum() - (n_pos * (n_pos + 1) / 2).sum())
    pairs = float((n_pos * n_neg).sum())
    return {"within_correction": u - 0.5 * pairs, "within_pairs": pairs}


def pooled_auc(pos: np.ndarray, neg: np.ndarray, within_correction: float = 0.0,
               within_pairs: float = 0.0) -> tuple[float, float]:
    """AUC from per-bin counts of positive and negative scores, and its largest possible error.

    AUC = U / (P N), U the Mann-Whitney statistic (Hanley & McNeil 1982). Pairs in different
    bins are ranked exactly by the bins; pairs in one bin and one partition exactly by their
    partition (``within_correction``: their U less 0.5 a pair); the other pairs in one bin count
    one half (a tie), so the AUC is within 0.5 * (sum_b pos_b neg_b - within_pairs) / (P N)
    of the exact value.
    """
    P, N = float(pos.sum()), float(neg.sum())
    if P == 0 or N == 0:
        return np.nan, 0.0
    below = np.cumsum(neg) - neg
    u = float((pos * (below + 0.5 * neg)).sum()) + within_correction
    return u / (P * N), max(0.0, 0.5 * (float((pos * neg).sum()) - within_pairs) / (P * N))


# ---- drivers for BKTModel.predict / evaluate (the model is passed in; this module does not import bkt) ----

def _plan(model, data, unseen: str, client, progress: bool):
    cols = Columns(model.skill, model.student, model.correct, model.order)
    source = Source(data, client, cols.names)
    counts = count_skills(source, cols.skill, progress)
    present = counts.per_skill
    params, drop, notes = model._unseen_plan(present, unseen)
    keep = present.index[~present.index.isin(drop)]
    parts = skill_partitions(source, counts, cols.skill, keep if len(drop) else None)
    return cols, source, parts, params, (drop if len(drop) else None), notes


def predict_distributed(model, data, unseen: str, client, progress: bool):
    """BKTModel.predict on a cluster: pandas in, pandas out (log order); otherwise a lazy Dask DataFrame."""
    import dask.dataframe as dd
    from dask import delayed

    if unseen not in ("error", "drop", "prior"):
        raise InputError(f"`unseen` must be one of ['error', 'drop', 'prior'], got {unseen!r}.")
    if isinstance(data, pd.DataFrame):
        with session(client) as c:
            cols, source, parts, params, drop, notes = _plan(model, data, unseen, c, progress)
            tasks = [delayed(_predictions_only)(p, cols, params, drop) for p in parts]
            res = compute_all(c, tasks, "BKT predict", progress)
        pred = pd.concat(res).sort_values(POS, kind="stable")
        out = data.iloc[(pred[POS].to_numpy() & ((1 << _POS_SHIFT) - 1)) + (pred[POS].to_numpy() >> _POS_SHIFT)
                        * TARGET_ROWS].copy()
        out["p_correct"] = pred["p_correct"].to_numpy()
        out["p_mastered"] = pred["p_mastered"].to_numpy()
        out.attrs["notes"] = notes
        return out
    with session(client) as c:
        cols, source, parts, params, drop, notes = _plan(model, data, unseen, c, progress)
    meta = _meta_frame(source).assign(p_correct=np.zeros(0), p_mastered=np.zeros(0))
    for note in notes:  # a Dask DataFrame has no attrs to carry them
        warnings.warn(note, PlmWarning, stacklevel=3)
    return dd.from_delayed([delayed(_predict_drop_pos)(p, cols, params, drop) for p in parts], meta=meta,
                           verify_meta=False)


def _predictions_only(part, cols, params, drop):
    return predict_part(part, cols, params, drop).loc[:, [POS, "p_correct", "p_mastered"]]


def _predict_drop_pos(part, cols, params, drop):
    return predict_part(part, cols, params, drop).drop(columns=[POS])


def evaluate_distributed(model, data, by_skill: bool, unseen: str, client, progress: bool) -> pd.DataFrame:
    """BKTModel.evaluate on a cluster: per-partition sums and histograms, merged on the client."""
    from dask import delayed

    if unseen not in ("error", "drop", "prior"):
        raise InputError(f"`unseen` must be one of ['error', 'drop', 'prior'], got {unseen!r}.")
    with session(client) as c:
        cols, source, parts, params, drop, notes = _plan(model, data, unseen, c, progress)
        tasks = [delayed(evaluate_part)(p, cols, params, drop, by_skill, AUC_BINS) for p in parts]
        res = compute_all(c, tasks, "BKT evaluate", progress)
    hist = np.zeros(2 * AUC_BINS, dtype=np.int64)
    rows: dict = {}
    n = sum_y = sse = sum_ll = correction = pairs = 0.0
    for r in res:
        correction += r["within_correction"]
        pairs += r["within_pairs"]
        np.add.at(hist, r["hist_key"], r["hist_n"])
        rows.update(r["skills"])
        n += r["n"]
        sum_y += r["sum_y"]
        sse += r["sse"]
        sum_ll += r["sum_ll"]
    auc, err = pooled_auc(hist[1::2], hist[0::2], correction, pairs)
    rows = {k: rows[k] for k in sorted(rows)}
    rows["overall"] = {"n": int(n), "accuracy": sum_y / n, "auc": auc, "rmse": float(np.sqrt(sse / n)),
                       "log_loss": sum_ll / n}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = cols.skill if by_skill else "subset"
    out.attrs["notes"] = notes + [
        f"Pooled AUC merged from score histograms ({AUC_BINS} bins on [0, 1]); it is within {err:.2g} of the "
        "exact value (pairs from different partitions in one bin count as ties). Per-skill AUCs are exact."]
    out.attrs["auc_max_error"] = err
    return out
