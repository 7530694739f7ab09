"""Seconds of eval-mode outputs (``inference.outputs``) over the cpu profile's 10,000 test images at several
batch sizes, and the largest difference of any output from the batch-1000 outputs. Needs the cpu checkpoints
of seed 0 (weights/cpu installed, or a cpu reproduce). Usage, from the repository root, on a quiet machine:

    python docs/measurements/logs/eval_batch.py
"""
import time

import numpy as np
import torch

from llc_lib.graph import plan
from llc_lib.engine.inference import outputs
from llc_lib.notebook import setup

ctx = setup("cpu", 0, (), False, notebook="06_retrieval")
real, _, phase2 = plan.headline(ctx.profile, 0)
te = ctx.test(0)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(te)} test images")
for spec in (real, phase2):
    model, ref = ctx.fit(spec), None
    for bs in (1000, 256, 128, 64):
        t = time.time()
        out = outputs(model, te, torch.device("cpu"), batch_size=bs)
        dt = time.time() - t
        ref = ref or out
        diff = max(float(np.abs(out[k] - ref[k]).max()) for k in out)
        print(f"{spec.label:14s} batch {bs:5d}: {dt:5.2f} s, largest difference from batch 1000: {diff}")
