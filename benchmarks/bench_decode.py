"""MHD decoding of N binary instance codes against C class codes vs the float classifier it replaces.

    python benchmarks/bench_decode.py [--n 100000] [--bits 20] [--dim 512] [--classes 100 1000]

The float classifier is what a real-valued model does at the end: (N, d) features x (d, C) weights in
float32 (torch, all threads) and an argmax. MHD takes the packed k-bit codes and returns the nearest class
code (XOR + popcount, ``decode.mhd_decode``); the speed goal (MHD >= 5x faster) is about that step.
An LLC model must also make the codes from the same features: the last column times the whole LLC head,
(N, d) x (d, k) projection + sign + ``decode.pack`` + MHD, against the same float classifier. Times are the
best of ``--repeats`` runs, in one process, on this machine.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from llc_lib.kernels.decode import default_threads, mhd_decode, pack

from common import best_of


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--bits", type=int, default=20)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--classes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(
        f"MHD decode of N={args.n:,} {args.bits}-bit codes vs float classifier (d={args.dim}); "
        f"kernel threads {default_threads()}, torch threads {torch.get_num_threads()}, best of {args.repeats}\n"
    )
    print(
        "| C | pack (ms) | MHD (ms) | float matmul+argmax (ms) | float / MHD | goal >= 5x | MHD = brute force "
        "| LLC head: project+sign+pack+MHD (ms) | float / LLC head |"
    )
    print("|---:|---:|---:|---:|---:|---|---|---:|---:|")
    ok = True
    for c in args.classes:
        inst = np.where(rng.random((args.n, args.bits)) < 0.5, 1, -1).astype(np.int8)
        cls = np.where(rng.random((c, args.bits)) < 0.5, 1, -1).astype(np.int8)
        t_pack, packed = best_of(lambda: pack(inst), args.repeats)
        cls_packed = pack(cls)
        t_mhd, res = best_of(lambda: mhd_decode(packed, cls_packed, ties=False), args.repeats)
        feats = torch.randn(args.n, args.dim)
        weight = torch.randn(args.dim, c)
        t_float, _ = best_of(lambda: (feats @ weight).argmax(1), args.repeats)
        proj = torch.randn(args.dim, args.bits)
        t_head, _ = best_of(lambda: mhd_decode(pack((feats @ proj).numpy()), cls_packed, ties=False), args.repeats)
        # correctness on a slice: the lowest-index class among the nearest, computed the slow way
        d = (inst[:2000, None, :] != cls[None, :, :]).sum(-1)
        same = bool(np.array_equal(res["pred"][:2000], d.argmin(1)))
        ratio = t_float / t_mhd
        ok &= same
        print(
            f"| {c} | {1e3 * t_pack:.1f} | {1e3 * t_mhd:.1f} | {1e3 * t_float:.1f} | {ratio:.1f}x | "
            f"{'met' if ratio >= 5 else 'NOT met'} | {'yes' if same else 'NO'} | {1e3 * t_head:.1f} | "
            f"{t_float / t_head:.1f}x |"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
