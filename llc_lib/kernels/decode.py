"""Bit-packed codes, the Hamming kernels and the two decoders.

Codes are (N, k) arrays of +-1, booleans, or real values (a real codebook, an instance projection z). All
are read by one rule, that of ``codebook.binarize``: bit +1 where the value is > 0, -1 where it is <= 0
(zero included), for class codes and instance outputs alike. The official code reads a codebook and, in its
MHD, an output the same way (sign with 0 -> -1); its ED reads sigmoid(z) >= 0.5, i.e. z = 0 as +1, so our
ED differs from the official one only on an output of exactly 0 (a measure-zero event for float outputs).

``pack`` stores codes as (N, ceil(k/64)) uint64 words; the Hamming distance is popcount(a XOR b) summed over
words (``np.bitwise_count``, one hardware popcount per word). Packed words do not record the code length k:
compare lengths before packing. The kernels work on row blocks sized to stay in cache and spread the blocks
over a thread pool (numpy releases the GIL inside ufuncs and sorts); ``hamming_topk`` takes one query at a time
within its block, in database chunks that stay in cache.

- MHD (minimum Hamming decoding): the class whose code is nearest in Hamming distance. Tie rule: the
  lowest class index among the nearest (deterministic); ``n_ties`` says how many classes shared the minimum.
- ED (exact decoding): the class whose code equals the instance code, else -1 ("no class"). If several
  classes share that code (possible in baseline codebooks), the lowest class index; ``n_match`` counts them.
- ``hamming_topk``: the K nearest database codes of each query, by distance and then by database index
  (a stable, documented tie order).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..core.env import env


def to_bits(codes) -> np.ndarray:
    """(N, k) bool array: True where the code value is > 0, so 0 is bit -1 (booleans as they are); the same
    bits as ``codebook.binarize(codes) > 0``, for codebooks and instance outputs alike."""
    a = np.asarray(codes)
    if a.ndim != 2:
        raise ValueError(f"codes must be 2-D (N, k), got shape {a.shape}")
    return a if a.dtype == bool else a > 0


def pack(codes) -> np.ndarray:
    """(N, k) codes -> (N, ceil(k/64)) uint64 words (bit j of the code is bit j%64 of word j//64)."""
    bits = to_bits(codes)
    n, k = bits.shape
    words = -(-k // 64)
    padded = np.zeros((n, words * 64), dtype=bool)
    padded[:, :k] = bits
    return np.ascontiguousarray(np.packbits(padded, axis=1, bitorder="little")).view(np.uint64)


def default_threads() -> int:
    """Worker threads of the kernels: ``$LLC_THREADS`` if set, else the CPUs this process may use."""
    threads = env("LLC_THREADS")
    if threads is not None:
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"LLC_THREADS must be a positive integer, got {threads!r}")
        return int(threads)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def check_packed(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or a.dtype != np.uint64 or b.dtype != np.uint64:
        raise ValueError("Hamming kernels expect packed uint64 codes of the same word count; use decode.pack first")


def _dist_dtype(words: int):
    return np.uint8 if words * 64 <= 255 else np.uint16


def block_rows(m: int, words: int, budget: int = 1 << 21) -> int:
    """Rows per block so that one block's (rows, m) uint64 XOR buffer holds about ``budget`` bytes."""
    return max(1, budget // (8 * max(1, m * words)))


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Hamming distances of one block, in the smallest unsigned dtype that holds them."""
    x = a[:, None, 0] ^ b[None, :, 0]
    d = np.bitwise_count(x)  # uint8 per word
    if a.shape[1] == 1:
        return d
    d = d.astype(_dist_dtype(a.shape[1]))
    for w in range(1, a.shape[1]):
        np.bitwise_xor(a[:, None, w], b[None, :, w], out=x)
        d += np.bitwise_count(x)
    return d


def map_blocks(fn, n: int, rows: int, threads: int | None):
    """[fn(start, stop) for each row block of range(n)], the blocks run on a thread pool."""
    spans = [(s, min(n, s + rows)) for s in range(0, n, rows)]
    threads = min(threads or default_threads(), len(spans))
    if threads <= 1:
        return [fn(s, e) for s, e in spans]
    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(lambda se: fn(*se), spans))


def hamming(a: np.ndarray, b: np.ndarray, chunk: int | None = None, threads: int | None = None) -> np.ndarray:
    """(N, M) Hamming distances between packed codes a (N, W) and b (M, W).

    dtype uint8 when k <= 192 bits fit (W <= 3), else uint16. ``chunk`` fixes the rows per block.
    """
    check_packed(a, b)
    out = np.empty((len(a), len(b)), dtype=_dist_dtype(a.shape[1]))

    def block(s, e):
        out[s:e] = distances(a[s:e], b)

    map_blocks(block, len(a), chunk or block_rows(len(b), a.shape[1]), threads)
    return out


def _same_length(a, b) -> None:
    """ValueError unless two unpacked code arrays have the same code length k (packed words cannot tell)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != np.uint64 and b.dtype != np.uint64 and a.ndim == b.ndim == 2 and a.shape[1] != b.shape[1]:
        raise ValueError(
            f"instance codes have {a.shape[1]} bits but class codes {b.shape[1]}; decode prefixes of the same length"
        )


def mhd_decode(instance_codes, class_codes, ties: bool = True, threads: int | None = None) -> dict[str, np.ndarray]:
    """MHD: {'pred' (N,) class index, 'dist' (N,) its Hamming distance, 'n_ties' (N,) classes at that
    distance (only when ``ties``)}. Codes may be +-1 / bool arrays or already packed uint64 words."""
    _same_length(instance_codes, class_codes)
    inst, cls = (c if c.dtype == np.uint64 else pack(c) for c in map(np.asarray, (instance_codes, class_codes)))
    check_packed(inst, cls)
    n = len(inst)
    pred, dist = np.empty(n, np.int64), np.empty(n, _dist_dtype(inst.shape[1]))
    n_ties = np.empty(n, np.int64) if ties else None

    def block(s, e):
        d = distances(inst[s:e], cls)
        p = d.argmin(1)  # argmin returns the first, i.e. lowest class index among ties
        pred[s:e] = p
        dist[s:e] = m = d[np.arange(e - s), p]
        if ties:
            n_ties[s:e] = (d == m[:, None]).sum(1)

    map_blocks(block, n, block_rows(len(cls), inst.shape[1], 1 << 20), threads)
    out = {"pred": pred, "dist": dist}
    if ties:
        out["n_ties"] = n_ties
    return out


def ed_decode(instance_codes, class_codes) -> dict[str, np.ndarray]:
    """ED: {'pred' (N,) class index or -1 when no class code matches exactly, 'n_match' (N,) matching classes}."""
    _same_length(instance_codes, class_codes)
    inst, cls = pack(instance_codes), pack(class_codes)
    # Exact match is a hash look-up: sort the class codes once, binary-search each instance code.
    keys_c = cls.view(np.dtype((np.void, cls.dtype.itemsize * cls.shape[1]))).ravel()
    keys_i = inst.view(np.dtype((np.void, inst.dtype.itemsize * inst.shape[1]))).ravel()
    order = np.argsort(keys_c, kind="stable")  # stable: equal codes stay in class-index order
    sorted_c = keys_c[order]
    lo = np.searchsorted(sorted_c, keys_i, side="left")
    hi = np.searchsorted(sorted_c, keys_i, side="right")
    n_match = hi - lo
    pred = np.where(n_match > 0, order[np.minimum(lo, len(order) - 1)], -1)
    return {"pred": pred, "n_match": n_match}


def hamming_topk(
    queries: np.ndarray, database: np.ndarray, k: int, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` Hamming search of packed ``queries`` (Q, W) over packed ``database`` (M, W).

    Returns (indices int64 (Q, k), distances (Q, k)), nearest first; equal distances are ordered by
    database index. Per query: the distances to every database code (``distances_to``, ``_GROUP`` queries at
    a time); a bound on the k-th smallest, the k-th smallest of the first ``_SAMPLE`` codes (or the first k, if
    more); then a stable sort of just the codes within that bound, which hold the k nearest. The queries are
    split into one block per thread.
    """
    check_packed(queries, database)
    m, words = database.shape
    if not 1 <= k <= m:
        raise ValueError(f"k must lie in 1..{m} (database size), got {k}")
    n = len(queries)
    idx = np.empty((n, k), np.int64)
    dist = np.empty((n, k), _dist_dtype(words))
    threads = max(1, min(threads or default_threads(), n))
    sample = min(m, max(k, _SAMPLE))

    def block(s, e):
        # scratch reused by the block's queries: the distances of a group, one chunk's XOR
        d, buf = np.empty((_GROUP, m), dist.dtype), np.empty(min(m, _CHUNK), np.uint64)
        for g in range(s, e, _GROUP):
            group = queries[g : min(e, g + _GROUP)]
            distances_to(group, database, d, buf)
            for j, row in enumerate(d[: len(group)]):
                bound = np.partition(row[:sample], k - 1)[k - 1]  # >= the k-th smallest of all
                near = np.flatnonzero(row <= bound)  # database order
                order = np.argsort(row[near], kind="stable")[:k]
                idx[g + j], dist[g + j] = near[order], row[near[order]]

    map_blocks(block, n, max(1, -(-n // threads)), threads)
    return idx, dist


_CHUNK = 1 << 16  # database codes per XOR pass of ``distances_to``: 512 KiB that stay in cache for a group
_GROUP = 8  # queries that share each chunk of the database while it is in cache
_SAMPLE = 1 << 12  # database codes whose k-th smallest distance bounds the search


def distances_to(queries: np.ndarray, database: np.ndarray, out: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """``out[:G]`` (G, M) := the Hamming distances of packed ``queries`` (G, W) to packed ``database`` (M, W),
    in chunks of ``len(buf)`` database codes, each chunk compared with every query while it is in cache, through
    the scratch buffer ``buf`` (uint64); ``out`` is uint8 or uint16 (``_dist_dtype``). Returns ``out``."""
    c = len(buf)
    for s in range(0, len(database), c):
        e = min(len(database), s + c)
        x = buf[: e - s]
        for q, o in zip(queries, out[:, s:e]):
            np.bitwise_xor(database[s:e, 0], q[0], out=x)
            np.bitwise_count(x, out=o)
            for w in range(1, database.shape[1]):
                np.bitwise_xor(database[s:e, w], q[w], out=x)
                o += np.bitwise_count(x)
    return out
