"""Two ways to train faster on a CPU without dropping an epoch, against one process with two threads: two
processes with one thread each, and one process under bf16 autocast (``TrainConfig.cpu_bf16``); as images per
second of the cpu profile's training step, summed over the processes.

    python benchmarks/bench_jobs.py [--seconds 60] [--rounds 2] [--step real|micro] [--threads 2]

The step is ``train.train_step`` of the cpu profile's real-valued model (ResNet-9 w16, batches of 256 synthetic
32x32 images, channels_last), on whole batches (``real``) or in Phase 2's micro-batches (``micro``). Each
process builds its model, takes two warm-up steps, says it is ready, and then steps for the same window of
``--seconds`` of wall-clock time, which starts at one moment given to all of them; its rate is the images of
the steps it finished over the time from that moment to the end of its last step. The configurations alternate
over ``--rounds`` and the best round of each counts.

Goal: each way >= G x one job of ``--threads`` threads in float32, G the speed-up of the training that a cold
``make reproduce PROFILE=cpu`` needs to fit two hours on the fast AVX-512 host (AMD EPYC, on the day its cold run
was timed) with every model and epoch it trains now, read from the committed estimate ``ESTIMATE`` (``python
docs/measurements/logs/run.py cold_estimate_2026-12-07`` prints it). Neither reproduces checkpoints trained in
float32 with two threads bit for bit: the number of threads changes the order of floating-point sums, bf16 the
precision of the products.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ESTIMATE = Path(__file__).resolve().parents[1] / "docs/measurements/logs/cold_estimate_2026-12-07.log"


def goal() -> float:
    """The speed-up of the training that the committed cold-run estimate says a cold run needs; SystemExit with
    one line when the estimate is missing or says none."""
    text = ESTIMATE.read_text(encoding="utf-8") if ESTIMATE.exists() else ""
    found = re.search(r"must run ([0-9.]+)x as fast", text)
    if found is None:
        raise SystemExit(
            f"error: {ESTIMATE} gives no needed speed-up; print it again: python docs/measurements/logs/run.py "
            f"cold_estimate_2026-12-07 > {ESTIMATE}"
        )
    return float(found.group(1))


def worker(args) -> int:
    """One process: build the step, warm up, print "ready", read the start time from stdin, step until the
    window ends, print {"images": n, "seconds": s} as one JSON line."""
    import torch
    from bench_train import ours

    from llc_lib.config.profiles import get_profile
    from llc_lib.engine.device import pick_device

    torch.set_num_threads(args.threads)
    p, device = get_profile("cpu"), pick_device("cpu")
    micro = p.instance.micro_batch if args.step == "micro" else None
    cfg = p.real.replace(cpu_bf16=args.bf16)
    step = ours(p, cfg, "real", 256, device, 32, 100, micro_batch=micro)
    for _ in range(2):
        step()
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    time.sleep(max(0.0, start - time.time()))
    steps = 0
    while time.time() < start + args.seconds:
        step()
        steps += 1
    print(json.dumps({"images": 256 * steps, "seconds": time.time() - start}), flush=True)
    return 0


def run_jobs(jobs: int, threads: int, bf16: bool, args) -> list[float]:
    """Images/s of each of ``jobs`` processes with ``threads`` threads each (under bf16 autocast if ``bf16``),
    stepping over one shared window."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--worker", "--threads", str(threads), "--step", args.step]
    cmd += ["--seconds", str(args.seconds)] + (["--bf16"] if bf16 else [])
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    procs = [subprocess.Popen(cmd, env=env, **pipes) for _ in range(jobs)]
    for proc in procs:
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"error: a worker failed before it was ready (it printed {line!r}; its error is above)")
    start = f"{time.time() + 1.0}\n"
    for proc in procs:
        proc.stdin.write(start)
        proc.stdin.flush()
    rates = []
    for proc in procs:
        out = json.loads(proc.stdout.readline())
        if proc.wait() != 0:
            raise SystemExit("error: a worker failed while stepping (its error is above)")
        rates.append(out["images"] / out["seconds"])
    return rates


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="timed window of every run, in seconds")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each configuration counts")
    ap.add_argument("--step", choices=["real", "micro"], default="real", help="whole batches or micro-batches")
    ap.add_argument("--threads", type=int, default=2, help="the cores to share: N jobs of 1 thread vs 1 job of N")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    n, need = args.threads, goal()  # read first: a missing estimate fails before minutes of timing
    base = f"1 job, {n} threads"
    configs = {base: (1, n, False), f"{n} jobs, 1 thread each": (n, 1, False), f"{base}, bf16 autocast": (1, n, True)}
    best = {name: [0.0] for name in configs}
    for _ in range(args.rounds):
        for name, (jobs, threads, bf16) in configs.items():
            rates = run_jobs(jobs, threads, bf16, args)
            if sum(rates) > sum(best[name]):
                best[name] = rates
    print(
        f"cpu profile's real-valued training step ({args.step}), {args.seconds:.0f} s windows, best of "
        f"{args.rounds} alternating rounds; {os.cpu_count()} CPUs\n"
    )
    print("| configuration | images/s (sum) | per job | against 1 job | goal |")
    print("|---|---:|---|---:|---|")
    one = sum(best[base])
    for name, rates in best.items():
        ratio = sum(rates) / one
        verdict = "" if name == base else f">= {need:.2f}x: {'met' if ratio >= need else 'NOT met'}"
        print(f"| {name} | {sum(rates):.1f} | {', '.join(f'{r:.1f}' for r in rates)} | {ratio:.2f}x | {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
