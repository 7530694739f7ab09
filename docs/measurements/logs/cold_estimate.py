"""Estimate a cold `make reproduce PROFILE=cpu` on a quiet machine from recorded training times.

For every committed cpu checkpoint (weights/cpu/ckpt, the models behind figures/): its epochs times the median
of its recorded per-epoch seconds (a median, so that epochs slowed by another job count little). Checkpoints
whose every epoch shared the cores (the real model and LLC Phase 1 of seed 0) take instead the median of the
same recipe trained quietly for another seed (runs/cpu/ckpt, `make seeds`). Adds the notebooks' evaluation,
read from a warm reproduce log. Usage (from the repository root):

    python docs/measurements/logs/cold_estimate.py LOG_OF_A_WARM_MAKE_REPRODUCE
"""
import glob
import re
import sys
from pathlib import Path

import numpy as np
import torch

QUIET_STANDINS = {"real-621fbacdcb4e": ("real-2b3082929c28", "real-92a2d3711adb"),  # seeds 1, 2 of the recipe
                  "llc-k64-scratch-7e79b505251e": ("llc-k64-scratch-a0f610a398c2", "llc-k64-scratch-2542663a32cc")}


def epoch_seconds(path) -> list[float]:
    return [r["seconds"] for r in torch.load(path, weights_only=True)["history"]]


total = 0.0
for path in sorted(glob.glob("weights/cpu/ckpt/*.pt")):
    name = Path(path).stem
    s = epoch_seconds(path)
    if name in QUIET_STANDINS:
        quiet = []
        for other in QUIET_STANDINS[name]:
            quiet += epoch_seconds(f"runs/cpu/ckpt/{other}.pt")
            print(f"  stand-in {other}: per-epoch seconds {[round(x, 1) for x in epoch_seconds(f'runs/cpu/ckpt/{other}.pt')]}")
        med, how = float(np.median(quiet)), "median of seeds 1-2"
    else:
        med, how = float(np.median(s)), "own median"
    total += med * len(s)
    print(f"{name:36s} {len(s):3d} epochs x {med:5.1f} s ({how}) = {med * len(s):6.0f} s   recorded {sum(s):6.0f} s")
# the other models of seed 2 of `make seeds` (quiet, 2026-12-02): how fast the same recipes ran that day
for other in ("instance-k64-73e882da8944", "instance-random-k64-cc381c35fc1c", "instance-svd-k64-b58a50e903e6",
              "instance-cca-k64-cf38c8bcd815", "instance-llc-k64-e13a4ee69934"):
    s = epoch_seconds(f"runs/cpu/ckpt/{other}.pt")
    print(f"seed 2 {other}: median {np.median(s):.1f} s per epoch, {sum(s):.0f} s")
log = Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else ""
evals = [float(x) for x in re.findall(r"done in ([0-9]+) s", log)]
print(f"training: {total:.0f} s; evaluation (notebooks of the log): {sum(evals):.0f} s; "
      f"cold estimate: {(total + sum(evals)) / 60:.0f} min")
