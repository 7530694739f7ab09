"""Top-K Hamming search: ours (``decode.hamming_topk``) vs faiss-cpu ``IndexBinaryFlat`` vs plain torch.

    python benchmarks/bench_retrieval.py [--queries 10000] [--database 50000] [--k 1000] [--bits 16 32 64]

All three get the same random codes. Ours: packed uint64 words, XOR + popcount, then a stable (radix) sort of
each row's distances on a thread pool. faiss: its binary flat index (packed bytes, its own threads). torch:
the straightforward tensor version, +-1 float codes, distances = (k - q . d) / 2 by matmul, then torch.topk.
The three must return the same distances at every rank (their order among equal distances may differ; the
ids strictly inside the top-K distance radius must agree). Times are the best of ``--repeats`` runs in one
process; the speed goal is ours <= 1.0x faiss's time.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from llc_lib.kernels.decode import default_threads, hamming_topk, pack

from common import best_of


def torch_topk(q: torch.Tensor, db: torch.Tensor, k: int, chunk: int = 1024):
    """(indices, distances) by +-1 float matmul and torch.topk, in query chunks."""
    bits = q.shape[1]
    idx, dist = [], []
    for s in range(0, len(q), chunk):
        d = (bits - q[s : s + chunk] @ db.T) / 2
        v, i = torch.topk(d, k, dim=1, largest=False, sorted=True)
        idx.append(i)
        dist.append(v)
    return torch.cat(idx).numpy(), torch.cat(dist).round().to(torch.int64).numpy()


def agree(idx_a, dist_a, idx_b, dist_b) -> bool:
    """Same distance at every rank, and the same ids strictly inside each query's K-th distance."""
    da, db = np.asarray(dist_a, np.int64), np.asarray(dist_b, np.int64)
    if not np.array_equal(da, db):
        return False
    inside = da < da[:, -1:]
    return all(set(ia[m].tolist()) == set(ib[m].tolist()) for ia, ib, m in zip(idx_a, idx_b, inside))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--database", type=int, default=50_000)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--bits", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    import faiss

    rng = np.random.default_rng(0)
    print(
        f"top-{args.k} Hamming search, {args.queries:,} queries x {args.database:,} database codes; "
        f"our threads {default_threads()}, faiss threads {faiss.omp_get_max_threads()}, torch threads "
        f"{torch.get_num_threads()}; best of {args.repeats}\n"
    )
    print(
        "| bits | ours (s) | faiss IndexBinaryFlat (s) | torch matmul+topk (s) | ours / faiss | ours / torch "
        "| goal <= 1.0x faiss | same as faiss | same as torch |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|---|---|")
    ok = True
    for bits in args.bits:
        if bits % 8:
            raise SystemExit(f"faiss binary codes need a multiple of 8 bits, got {bits}")
        q = rng.random((args.queries, bits)) < 0.5
        db = rng.random((args.database, bits)) < 0.5
        qp, dp = pack(q), pack(db)
        t_ours, (i_ours, d_ours) = best_of(lambda: hamming_topk(qp, dp, args.k), args.repeats)
        index = faiss.IndexBinaryFlat(bits)
        index.add(np.packbits(db, axis=1, bitorder="little"))
        qb = np.packbits(q, axis=1, bitorder="little")
        t_faiss, (d_faiss, i_faiss) = best_of(lambda: index.search(qb, args.k), args.repeats)
        qt, dt = (
            torch.from_numpy(np.where(q, 1.0, -1.0).astype(np.float32)),
            torch.from_numpy(np.where(db, 1.0, -1.0).astype(np.float32)),
        )
        t_torch, (i_torch, d_torch) = best_of(lambda: torch_topk(qt, dt, args.k), args.repeats)
        same_f, same_t = agree(i_ours, d_ours, i_faiss, d_faiss), agree(i_ours, d_ours, i_torch, d_torch)
        ok &= same_f and same_t
        r = t_ours / t_faiss
        print(
            f"| {bits} | {t_ours:.2f} | {t_faiss:.2f} | {t_torch:.2f} | {r:.2f}x | {t_ours / t_torch:.2f}x | "
            f"{'met' if r <= 1.0 else 'NOT met'} | {'yes' if same_f else 'NO'} | {'yes' if same_t else 'NO'} |"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
