"""Phase 1 in micro-batches of 64 against the cpu profile's Phase 1 in whole batches of 256 (seed 0): class-code
accuracy on the test split at every length of the nested sweep, and seconds per epoch. Trains nothing: fit the
micro-batch model first with

    python -m llc_lib train --profile cpu --what llc --set llc.micro_batch=64

then print the comparison with

    python docs/measurements/logs/phase1_microbatch.py

"Costs nothing" by the rule of phase2_convergence_cpu_seed0.md: no class-code accuracy falls by two seed standard
deviations or more (the spread of figures/seeds.json, three seeds of the whole-batch Phase 1).
"""
import json
import statistics
from pathlib import Path

import torch

from llc_lib.graph import plan
from llc_lib.config.overrides import apply_sets
from llc_lib.config.profiles import get_profile
from llc_lib.core.paths import REPO_ROOT
from llc_lib.engine.data import labels_of
from llc_lib.graph.workspace import Workspace
from llc_lib.engine.inference import head_logits, outputs
from llc_lib.config.folders import runs_root

from cost_rule import costs  # the script's folder

base = get_profile("cpu")
models = {"whole batches of 256 (the profile)": base,
          "micro-batches of 64": apply_sets(base, ["llc.micro_batch=64"])}
ws = Workspace(runs_root(base), torch.device("cpu"), train=False, workers=base.workers)
seeds = json.loads((REPO_ROOT / "figures" / "seeds.json").read_text())["numbers"]
test = ws.store.get(plan.test_data(base, 0), "test")
y = labels_of(test).numpy()

acc = {}
for name, prof in models.items():
    _, spec, _ = plan.headline(prof, 0)
    model = ws.fit(spec)
    proj = outputs(model, test, ws.device, workers=ws.workers)["proj"]
    acc[name] = {k: float((head_logits(model, proj, k).argmax(1) == y).mean()) for k in prof.sweep}
    secs = [h["seconds"] for h in ws.history(spec)]
    print(f"{name}: {spec.name}, {len(secs)} epochs, {sum(secs):.0f} s, median {statistics.median(secs):.1f} s "
          f"per epoch (min {min(secs):.1f}, max {max(secs):.1f}), last loss {ws.history(spec)[-1]['loss']:.4f}")

a, b = acc.values()
print("\n| k | whole batches | micro-batches | difference (points) | 2 seed sd (points) | verdict |")
print("|---:|---:|---:|---:|---:|---|")
fell = []
for k in base.sweep:
    sd = seeds.get(f"llc_class_code_acc@{k}", {}).get("std")
    d = 100 * (b[k] - a[k])
    verdict = "no sd" if sd is None else ("costs" if costs(d, 100 * sd) else "no cost")
    fell.append(verdict == "costs")
    two = "–" if sd is None else f"{200 * sd:.2f}"
    print(f"| {k} | {100 * a[k]:.2f} | {100 * b[k]:.2f} | {d:+.2f} | {two} | {verdict} |")
print(f"\nmicro-batches of 64 cost Phase 1 nothing on the lengths with a seed spread: {'no' if any(fell) else 'yes'}")
