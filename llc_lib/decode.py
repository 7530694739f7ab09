"""Bit-packed codes and the two decoders.

Codes are (N, k) arrays of +-1 (or booleans; a bit is 1 where the value is > 0). ``pack`` stores them as
(N, ceil(k/64)) uint64 words; the Hamming distance is popcount(a XOR b) summed over words.

- MHD (minimum Hamming decoding): the class whose code is nearest in Hamming distance. Tie rule: the
  lowest class index among the nearest (deterministic); ``n_ties`` says how many classes shared the minimum.
- ED (exact decoding): the class whose code equals the instance code, else -1 ("no class"). If several
  classes share that code (possible in baseline codebooks), the lowest class index; ``n_match`` counts them.
"""
from __future__ import annotations

import numpy as np


def to_bits(codes) -> np.ndarray:
    """(N, k) bool array: True where the code value is > 0."""
    a = np.asarray(codes)
    if a.ndim != 2:
        raise ValueError(f"codes must be 2-D (N, k), got shape {a.shape}")
    return a > 0


def pack(codes) -> np.ndarray:
    """(N, k) codes -> (N, ceil(k/64)) uint64 words (bit j of the code is bit j%64 of word j//64)."""
    bits = to_bits(codes)
    n, k = bits.shape
    words = -(-k // 64)
    padded = np.zeros((n, words * 64), dtype=bool)
    padded[:, :k] = bits
    return np.ascontiguousarray(np.packbits(padded, axis=1, bitorder="little")).view(np.uint64)


def hamming(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(N, M) int32 Hamming distances between packed codes a (N, W) and b (M, W)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or a.dtype != np.uint64 or b.dtype != np.uint64:
        raise ValueError("hamming expects packed uint64 codes of the same word count; use decode.pack first")
    out = np.empty((len(a), len(b)), dtype=np.int32)
    for s in range(0, len(a), chunk):
        x = a[s:s + chunk, None, :] ^ b[None, :, :]
        out[s:s + chunk] = np.bitwise_count(x).sum(-1, dtype=np.int32)
    return out


def mhd_decode(instance_codes, class_codes) -> dict[str, np.ndarray]:
    """MHD: {'pred' (N,) class index, 'dist' (N,) its Hamming distance, 'n_ties' (N,) classes at that distance}."""
    d = hamming(pack(instance_codes), pack(class_codes))
    pred = d.argmin(1)  # argmin returns the first, i.e. lowest class index among ties
    dmin = d[np.arange(len(d)), pred]
    return {"pred": pred, "dist": dmin, "n_ties": (d == dmin[:, None]).sum(1)}


def ed_decode(instance_codes, class_codes) -> dict[str, np.ndarray]:
    """ED: {'pred' (N,) class index or -1 when no class code matches exactly, 'n_match' (N,) matching classes}."""
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
