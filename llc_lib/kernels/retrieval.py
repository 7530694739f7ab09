"""Retrieval evaluation: MAP@R, precision/recall curves and tie statistics for Hamming and real-valued ranking.

A query's relevant items are the database items of its class. For one ranked list (positions 1..R):

    AP@R = sum_{i <= R} rel_i * P@i / sum_{i <= R} rel_i      (0 when no relevant item is in the top R)

and MAP@R is the mean over all queries (queries with nothing relevant in the top R count as 0), the
convention of the DeepHash code bases.

Hamming distances of k-bit codes take only k + 1 values, so a low-bit ranking is full of ties and "the top
R" is not defined by the distances alone. Two numbers are reported:

* **tie-aware MAP** (``map_tie_aware``): the expected AP@R when the items of equal distance are put in a
  uniformly random order. It is computed exactly, not by sampling: inside a tie group of n items with r
  relevant, every position is relevant with probability r/n and, given that, holds on average
  (j-1)(r-1)/(n-1) relevant items before it, which gives the expected sum of precisions in closed form
  (harmonic numbers). If the cut-off R splits a tie group, the number X of relevant items taken from it is
  hypergeometric and AP = (sum of precisions) / (relevant items above R) is averaged over X exactly.
  Its weights take the C library's exp (``_exp``), so the same histograms give the same float64 on
  every CPU.
* **stable MAP** (``map_stable``): AP@R of one deterministic list, ties ordered by database index (what
  DeepHash-style code computes with a stable sort). The database must then be in an order unrelated to the
  labels (``retrieval_study`` shuffles it with a fixed seed), or the tie rule would favour some classes.

``tie_stats`` says how much the ties matter: how often the cut-off at R splits a tie group and how big it is.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from .decode import block_rows, check_packed, distances, hamming_topk, map_blocks, pack

# ------------------------------------------------------------------------------------------- input checks


def _check_pair(queries, database, q_labels, db_labels, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """(q_labels, db_labels) as arrays; ValueError unless queries (Q, w) and database (M, w) are 2-D with the
    same width w (``unit``: what a column is) and the label vectors have Q and M entries."""
    q, db = np.asarray(queries), np.asarray(database)
    q_labels, db_labels = np.asarray(q_labels), np.asarray(db_labels)
    if q.ndim != 2 or db.ndim != 2:
        raise ValueError(f"queries and database must be 2-D, got shapes {q.shape} and {db.shape}")
    if q.shape[1] != db.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} {unit} but the database has {db.shape[1]}")
    if q_labels.shape != (len(q),) or db_labels.shape != (len(db),):
        raise ValueError(
            f"{len(q)} queries and {len(db)} database items need as many labels, got label shapes "
            f"{q_labels.shape} and {db_labels.shape}"
        )
    return q_labels, db_labels


def _check_bits(packed: np.ndarray, bits: int) -> None:
    """ValueError unless packed codes (N, W) can hold ``bits``-bit codes: W = ceil(bits / 64) and no bit at
    position >= ``bits`` is set (a longer code with only -1 beyond ``bits`` cannot be told apart)."""
    words = packed.shape[1]
    if not (words - 1) * 64 < bits <= words * 64:
        raise ValueError(f"bits={bits} does not match packed codes of {words} 64-bit words")
    if bits % 64 and (packed[:, -1] >> np.uint64(bits % 64)).any():
        raise ValueError(f"packed codes have bits set beyond bit {bits}: they are longer than bits={bits}")


# ------------------------------------------------------------------------------------------- histograms


def distance_histograms(
    queries: np.ndarray, database: np.ndarray, q_labels, db_labels, bits: int, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per query, how many database items (and how many relevant ones) lie at each Hamming distance.

    queries (Q, W), database (M, W): packed codes of ``bits`` bits; labels (Q,) and (M,). Returns (n, r), both
    int64 (Q, bits + 1): n[q, d] = items at distance d, r[q, d] = items of the query's class at distance d.
    """
    check_packed(queries, database)
    q_labels, db_labels = _check_pair(queries, database, q_labels, db_labels, "words")
    _check_bits(queries, bits)
    _check_bits(database, bits)
    nb = bits + 1
    n = np.zeros((len(queries), nb), np.int64)
    r = np.zeros((len(queries), nb), np.int64)

    def block(s, e):
        d = distances(queries[s:e], database).astype(np.int64)
        d += (np.arange(e - s) * nb)[:, None]
        n[s:e] = np.bincount(d.ravel(), minlength=(e - s) * nb).reshape(e - s, nb)
        rel = db_labels[None, :] == q_labels[s:e, None]
        r[s:e] = np.bincount(d[rel], minlength=(e - s) * nb).reshape(e - s, nb)

    map_blocks(block, len(queries), max(8, block_rows(len(database), 8)), threads)
    return n, r


def _group_at(n: np.ndarray, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Per query, (index of the tie group that holds ranked position N (1-based), items ranked before that
    group), from the (Q, G) group sizes ``n``; a cut-off beyond the database falls in the last group."""
    cum = np.cumsum(n, 1)
    g = np.minimum((cum < N).sum(1), n.shape[1] - 1)
    rows = np.arange(len(n))
    return g, cum[rows, g] - n[rows, g]


def _harmonic(m: int) -> np.ndarray:
    """H[0..m]: H[i] = 1 + 1/2 + ... + 1/i (H[0] = 0)."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, m + 1))])


def _precision_sums(H, before, n, r_before, r):
    """Expected sum of precisions over the first ``n`` positions of a tie group that starts after ``before``
    items (``r_before`` relevant) and holds ``r`` relevant among those ``n`` positions (arrays broadcast)."""
    n = np.asarray(n, np.float64)
    a = H[(before + n).astype(np.int64)] - H[before]  # sum_j 1 / (before + j)
    b = n - (before + 1) * a  # sum_j (j - 1) / (before + j)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(n > 0, r / n, 0.0) * (r_before + 1) * a
        second = np.where(n > 1, r * (r - 1) / (n * (n - 1)), 0.0) * b
    return first + second


def _log_choose(a, b):
    return gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(a - b + 1.0)


def _exp(a: np.ndarray) -> np.ndarray:
    """exp of every element of ``a`` by the C library's ``exp`` (``math.exp``), on every CPU alike. numpy's
    ``np.exp`` takes its own AVX-512 kernel where the CPU has AVX-512 (the C library's elsewhere), whose
    float64 results differ from the C library's in the last bit for about 5 % of arguments, which moves a
    tie-aware MAP in its last digit between an AVX2 and an AVX-512 host."""
    a = np.asarray(a, np.float64)
    return np.fromiter((math.exp(v) for v in a.ravel().tolist()), np.float64, a.size).reshape(a.shape)


def _hypergeom_pmf(x, total, good, draws):
    """P(X = x) for X = good items among ``draws`` taken without replacement from ``total`` (broadcasts);
    the same float64 on every CPU (``_exp``)."""
    x, total, good, draws = np.broadcast_arrays(x, total, good, draws)
    ok = (x >= 0) & (x <= good) & (draws - x >= 0) & (draws - x <= total - good)
    x, total, good, draws = x[ok], total[ok], good[ok], draws[ok]
    logp = _log_choose(good, x) + _log_choose(total - good, draws - x) - _log_choose(total, draws)
    out = np.zeros(ok.shape)
    out[ok] = _exp(logp)
    return out


def map_tie_aware(n: np.ndarray, r: np.ndarray, R: int) -> np.ndarray:
    """(Q,) expected AP@R under uniformly random order within equal distances, from ``distance_histograms``."""
    total = n.sum(1)
    if (total < R).any():
        raise ValueError(f"R={R} exceeds the database size {int(total.min())}")
    H = _harmonic(int(total.max()))
    cum_n = np.cumsum(n, 1) - n  # items before each group
    cum_r = np.cumsum(r, 1) - r
    b, before = _group_at(n, R)  # the group that holds position R
    rows = np.arange(len(n))
    full = np.arange(n.shape[1])[None, :] < b[:, None]  # groups entirely inside the top R
    s_full = (_precision_sums(H, cum_n, n, cum_r, r) * full).sum(1)
    nb, rb, rbefore = n[rows, b], r[rows, b], cum_r[rows, b]
    m = R - before  # positions of the boundary group that make it into the top R (1..nb)
    x = np.arange(int(min(R, rb.max())) + 1)[None, :]  # relevant items drawn from the boundary group
    pmf = _hypergeom_pmf(x, nb[:, None], rb[:, None], m[:, None])
    s_b = _precision_sums(H, before[:, None], m[:, None], rbefore[:, None], x * 1.0)
    s_b = np.where(m[:, None] > 0, s_b, 0.0)
    # inside the boundary group's m slots, given x relevant: E[sum] = (x/m)(..)A + x(x-1)/(m(m-1)) B, which is
    # _precision_sums with n = m and r = x
    denom = rbefore[:, None] + x
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = np.where(denom > 0, (s_full[:, None] + s_b) / denom, 0.0)
    return (pmf * ap).sum(1)


def expected_relevant_at(n: np.ndarray, r: np.ndarray, cutoffs) -> np.ndarray:
    """(Q, len(cutoffs)) expected number of relevant items in the top N for each N in ``cutoffs``
    (random order within ties: linear inside the tie group that holds position N)."""
    cum_r = np.cumsum(r, 1)
    out = np.empty((len(n), len(cutoffs)))
    rows = np.arange(len(n))
    for j, N in enumerate(cutoffs):
        g, before_n = _group_at(n, N)
        before_r = cum_r[rows, g] - r[rows, g]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(n[rows, g] > 0, r[rows, g] / n[rows, g], 0.0)
        out[:, j] = before_r + np.clip(N - before_n, 0, n[rows, g]) * frac
    return out


def tie_stats(n: np.ndarray, R: int) -> dict[str, float]:
    """How the ties meet the cut-off R: 'split_rate' (fraction of queries whose top R ends inside a tie group),
    'mean_boundary_group' (mean size of the group holding position R), 'mean_open_slots' (mean number of top-R
    positions that group fills, i.e. decided by the tie rule when it is split), 'mean_distinct_distances'
    (distinct distance values among the top R)."""
    b, before = _group_at(n, R)
    nb = n[np.arange(len(n)), b]
    split = (R - before) < nb
    return {
        "split_rate": float(split.mean()),
        "mean_boundary_group": float(nb.mean()),
        "mean_open_slots": float(np.where(split, R - before, 0).mean()),
        "mean_distinct_distances": float(((n > 0) & (np.arange(n.shape[1]) <= b[:, None])).sum(1).mean()),
    }


# ------------------------------------------------------------------------------------ explicit lists


def average_precision(relevance: np.ndarray) -> np.ndarray:
    """(Q,) AP of ranked 0/1 relevance lists (Q, R) (0 where nothing relevant was retrieved)."""
    rel = np.asarray(relevance, dtype=np.float64)
    hits = np.cumsum(rel, 1)
    prec = hits / np.arange(1, rel.shape[1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hits[:, -1] > 0, (prec * rel).sum(1) / hits[:, -1], 0.0)


def map_stable(
    queries: np.ndarray, database: np.ndarray, q_labels, db_labels, R: int, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """((Q,) AP@R, (Q, R) retrieved indices) of the Hamming ranking with ties ordered by database index.

    queries (Q, W), database (M, W): packed codes (their bit length is not checked: compare it before packing,
    as ``evaluate_hamming`` does); labels (Q,) and (M,)."""
    check_packed(queries, database)
    q_labels, db_labels = _check_pair(queries, database, q_labels, db_labels, "words")
    idx, _ = hamming_topk(queries, database, R, threads)
    rel = db_labels[idx] == q_labels[:, None]
    return average_precision(rel), idx


def real_scores(q: np.ndarray, db: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """(Q, M) float64 similarity scores (higher = nearer): cosine similarity or negative squared Euclidean
    distance. Computed in float64 from the float32 features: float32 products would round differently with each
    machine's BLAS kernels and reorder near-tied neighbours, so the ranking (and every MAP and PR point) would
    depend on the host."""
    q, db = np.asarray(q, np.float32).astype(np.float64), np.asarray(db, np.float32).astype(np.float64)
    if metric == "cosine":
        qn = q / (np.linalg.norm(q, axis=1, keepdims=True) + 1e-12)
        dn = db / (np.linalg.norm(db, axis=1, keepdims=True) + 1e-12)
        return qn @ dn.T
    if metric == "euclidean":
        return 2 * q @ db.T - (db * db).sum(1)[None, :] - (q * q).sum(1)[:, None]
    raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")


def rank_real(
    q: np.ndarray,
    db: np.ndarray,
    q_labels,
    db_labels,
    R: int,
    metric: str = "cosine",
    cutoffs=(),
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Real-valued retrieval: {'ap' (Q,) AP@R, 'top' (Q, R) indices, 'relevant_at' (Q, len(cutoffs)) relevant
    items in the top N}. Equal scores (measure zero for real features) are ordered by database index, in the
    top-R lists and in the counts alike. q (Q, d), db (M, d); labels (Q,) and (M,)."""
    q_labels, db_labels = _check_pair(q, db, q_labels, db_labels, "dimensions")
    if not 1 <= R <= len(db):
        raise ValueError(f"R must lie in 1..{len(db)}, got {R}")
    if not (np.isfinite(q).all() and np.isfinite(db).all()):
        raise ValueError("real-valued features contain NaN or infinite values: the model that made them diverged")
    ap, top = np.empty(len(q)), np.empty((len(q), R), np.int64)
    rel_at = np.empty((len(q), len(cutoffs)))
    cut = np.asarray(cutoffs, np.int64)
    members = {c: np.flatnonzero(db_labels == c) for c in np.unique(q_labels)}

    def block(s, e):
        sc = real_scores(q[s:e], db, metric)
        kth = -np.partition(-sc, R - 1, axis=1)[:, R - 1]  # each row's R-th highest score
        for i in range(e - s):
            cand = np.flatnonzero(sc[i] >= kth[i])  # in index order, every item tied with the R-th included
            top[s + i] = cand[np.argsort(-sc[i, cand], kind="stable")[:R]]
        ap[s:e] = average_precision(db_labels[top[s:e]] == q_labels[s:e, None])
        if not len(cut):
            return
        srt = np.sort(sc, axis=1)
        for i in range(e - s):  # 0-based position of each relevant item in the ranking
            rel = members[q_labels[s + i]]
            v = sc[i, rel]
            hi = np.searchsorted(srt[i], v, side="right")
            pos = len(db) - hi  # items scoring strictly higher
            for j in np.flatnonzero(hi - np.searchsorted(srt[i], v, side="left") > 1):  # ties: lower index first
                pos[j] += np.count_nonzero(sc[i, : rel[j]] == v[j])
            rel_at[s + i] = np.searchsorted(np.sort(pos), cut, side="left")

    map_blocks(block, len(q), 64, threads)
    return {"ap": ap, "top": top, "relevant_at": rel_at}


def pr_curve(relevant_at: np.ndarray, cutoffs, n_relevant: np.ndarray) -> dict[str, list]:
    """Mean precision and recall at each cut-off N from (Q, len(cutoffs)) relevant counts; recall is averaged
    over the queries that have a relevant item."""
    cut = np.asarray(cutoffs, np.float64)
    n_rel = np.asarray(n_relevant, np.float64)
    has = n_rel > 0
    recall = (relevant_at[has] / n_rel[has, None]).mean(0) if has.any() else np.zeros(len(cut))
    return {
        "n": [int(c) for c in cut],
        "precision": (relevant_at / cut[None, :]).mean(0).tolist(),
        "recall": recall.tolist(),
    }


def default_cutoffs(m: int, points: int = 40) -> np.ndarray:
    """Log-spaced cut-offs 1..m (unique integers) for precision-recall curves."""
    return np.unique(np.round(np.logspace(0, np.log10(m), points)).astype(np.int64))


def class_index_codes(pred, num_classes: int) -> np.ndarray:
    """(N, ceil(log2 C)) int8 +-1 codes: the binary expansion of each predicted class index ``pred`` (N,).
    Retrieval with them ranks the items predicted as the query's predicted class first (Sablayrolles et al.,
    "How should we evaluate supervised hashing?", ICASSP 2017: the baseline any supervised hash must beat)."""
    bits = max(1, int(np.ceil(np.log2(num_classes))))
    pred = np.asarray(pred, dtype=np.int64)
    return np.where((pred[:, None] >> np.arange(bits)[::-1]) & 1, 1, -1).astype(np.int8)


def evaluate_hamming(
    q_codes,
    db_codes,
    q_labels,
    db_labels,
    R: int = 1000,
    pr: bool = True,
    keep_top: bool = False,
    threads: int | None = None,
) -> dict:
    """Everything the retrieval notebook reports for one binary code: tie-aware and stable MAP@R, tie
    statistics, optionally the PR curve (expected under random tie order) and the stable top-R lists.

    q_codes (Q, k) and db_codes (M, k) are +-1 / bool codes (not packed) of the same length k; labels (Q,)
    and (M,)."""
    _check_pair(q_codes, db_codes, q_labels, db_labels, "bits")
    k = np.asarray(q_codes).shape[1]
    qp, dp = pack(q_codes), pack(db_codes)
    n, r = distance_histograms(qp, dp, q_labels, db_labels, k, threads)
    ap_stable, top = map_stable(qp, dp, q_labels, db_labels, R, threads)
    out = {
        "bits": k,
        "map_tie_aware": float(map_tie_aware(n, r, R).mean()),
        "map_stable": float(ap_stable.mean()),
        "ties": tie_stats(n, R),
    }
    if pr:
        cutoffs = default_cutoffs(len(dp))
        out["pr"] = pr_curve(expected_relevant_at(n, r, cutoffs), cutoffs, r.sum(1))
    if keep_top:
        out["top"] = top
    return out


def evaluate_real(
    q,
    db,
    q_labels,
    db_labels,
    R: int = 1000,
    metric: str = "cosine",
    pr: bool = True,
    keep_top: bool = False,
    threads: int | None = None,
) -> dict:
    """MAP@R, optionally the PR curve and the top-R lists of real-valued features ranked by ``metric``."""
    cutoffs = default_cutoffs(len(db)) if pr else ()
    res = rank_real(q, db, q_labels, db_labels, R, metric, cutoffs, threads)
    out = {"dims": int(np.asarray(q).shape[1]), "metric": metric, "map": float(res["ap"].mean())}
    if pr:
        n_rel = np.bincount(np.asarray(db_labels))[np.asarray(q_labels)]
        out["pr"] = pr_curve(res["relevant_at"], cutoffs, n_rel)
    if keep_top:
        out["top"] = res["top"]
    return out
