"""The public API's speed, as ratios: encoding against the plain forward pass of the same network, and Hamming
search over a million random codes against faiss's ``IndexBinaryFlat``.

    python benchmarks/bench_api.py [--images 2000] [--database 1000000] [--queries 100] [--top-k 10]

Encode: ``LLCModel.encode`` (checks, forward pass, sign, packing) of ``--images`` random 32x32 images with the
committed headline model, against the bare forward pass (backbone + projection) of the same network over the
same normalised batches; goal: throughput >= 0.95x the forward pass's. Search: ``HammingIndex`` with the numpy
backend and with its default one (faiss, when installed) against faiss ``IndexBinaryFlat`` over ``--database``
random codes of 20 and 64 bits; goal: <= 1.0x faiss's time, with the same distances (ids may differ only inside
a tie at the top_k cut-off). The index memory per code is stated. Times are the best of ``--repeats`` runs in
one process on this machine, the two searches of a row timed in turn; a search above 1.0x by less than the
timings' own spread (median / best - 1) is "within noise".
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import llc_lib
from llc_lib.engine.data import normalise

from common import best_of


def bench_encode(n: int, repeats: int) -> bool:
    model = llc_lib.load("cpu")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, model.image_size, model.image_size, 3), dtype=np.uint8)
    net = model.net

    @torch.no_grad()
    def forward():
        for s in range(0, n, 128):  # the evaluation batch of the CPU (device.eval_batch_size)
            net.head.project(net.backbone(normalise(torch.from_numpy(images[s : s + 128]))))

    t_fwd, _ = best_of(forward, repeats)
    t_enc, _ = best_of(lambda: model.encode(images, bits=20), repeats)
    ratio = t_fwd / t_enc
    print("| encode | images/s | forward pass images/s | encode / forward | goal >= 0.95x |")
    print("|---|---:|---:|---:|---|")
    goal = "met" if ratio >= 0.95 else "NOT met"
    print(f"| {n} images, 20 bits | {n / t_enc:.0f} | {n / t_fwd:.0f} | {ratio:.2f}x | {goal} |")
    return True


def interleaved(fns, repeats: int) -> tuple[list[float], list[float], list]:
    """(best seconds, median seconds, last result) of each of ``fns``, timed in turn ``repeats`` times."""
    times, out = [[] for _ in fns], [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            out[i] = fn()
            times[i].append(time.perf_counter() - t)
    return [min(t) for t in times], [float(np.median(t)) for t in times], out


def verdict(ratio: float, noise: float) -> str:
    """'met' at <= 1.0x; 'within noise' when above by less than the timings' own spread (``noise``: the larger
    median / best - 1 of the two); else 'NOT met'."""
    return "met" if ratio <= 1.0 else "within noise" if ratio <= 1.0 + noise else "NOT met"


def bench_search(n: int, queries: int, top_k: int, repeats: int) -> bool:
    try:
        import faiss
    except ImportError:
        print("faiss-cpu is not installed (pip install faiss-cpu): the search comparison is skipped")
        return True
    rng = np.random.default_rng(0)
    print(
        "\n| bits | database | HammingIndex backend | its search (ms) | faiss IndexBinaryFlat (ms) | ours / faiss "
        "| noise | goal <= 1.0x | same distances | bytes per code |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---|---|---:|")
    ok = True
    for bits in (20, 64):
        db = llc_lib.pack_codes(rng.random((n, bits)) < 0.5)
        q = llc_lib.pack_codes(rng.random((queries, bits)) < 0.5)
        ref = faiss.IndexBinaryFlat(8 * db.shape[1])
        ref.add(db)
        for backend in ("numpy", "auto"):  # auto: faiss, since it is installed
            mine = llc_lib.HammingIndex(bits, backend=backend)
            mine.add(db)
            mine.search(q, 1)  # the index prepared once (as ref.add above), outside the timing
            best, median, ((d, _), (fd, _)) = interleaved(
                [lambda: mine.search(q, top_k), lambda: ref.search(q, top_k)], repeats
            )
            same = bool(np.array_equal(d, fd))
            ok &= same
            ratio, noise = best[0] / best[1], max(m / b - 1 for m, b in zip(median, best))
            print(
                f"| {bits} | {n:,} | {backend} ({mine.backend}) | {1e3 * best[0]:.1f} | {1e3 * best[1]:.1f} | "
                f"{ratio:.2f}x | {noise:.2f} | {verdict(ratio, noise)} | {'yes' if same else 'NO'} | {mine.nbytes} |"
            )
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--database", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"torch threads {torch.get_num_threads()}, best of {args.repeats}\n")
    ok = bench_encode(args.images, args.repeats)
    ok &= bench_search(args.database, args.queries, args.top_k, args.repeats)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
