"""Does a recipe change cost accuracy? Compares variant B against variant A (``python -m llc_lib variants``
JSON files) on the test split: every number below must not fall by 2 seed standard deviations or more, the
sds taken from a seed study (figures/seeds.json: 3 seeds of the cpu profile).

    python docs/measurements/logs/variant_verdicts.py A_FILE:A_NAME B_FILE:B_NAME [--seeds figures/seeds.json]

Also prints, for Phase 2 convergence, the change in bits right and ED at 20 bits on the training images
(the rule of docs/measurements/phase2_recipe_cpu_seed0.md: converged when doubling the epochs adds < 0.1 bit
and < 2 points).
"""
import argparse
import json

from cost_rule import costs

METRICS = ("class_code_acc", "mhd_acc", "ed_acc", "p_exact_given_class_code_right")

ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--seeds", default="figures/seeds.json")
args = ap.parse_args()


def row(spec):
    path, name = spec.rsplit(":", 1)
    return json.load(open(path))[name]


a, b = row(args.a), row(args.b)
sd = json.load(open(args.seeds))["numbers"]
ok = True
print("| k | number | A | B | B - A | 2 seed sd | verdict |")
print("|---:|---|---:|---:|---:|---:|---|")
for k in ("14", "20"):
    for m in METRICS:
        va, vb, s = a["test"][k][m], b["test"][k][m], sd[f"llc_{m}@{k}"]["std"]
        fine = not costs(vb - va, s)
        ok &= fine
        print(f"| {k} | {m} | {va:.4f} | {vb:.4f} | {vb - va:+.4f} | {2 * s:.4f} | {'no cost' if fine else 'COSTS'} |")
print(f"\nB costs nothing against A on the test split (every number within 2 seed sds): {'yes' if ok else 'no'}")
tr_a, tr_b = a["train"]["20"], b["train"]["20"]
d_bits, d_ed = tr_b["bits_right"] - tr_a["bits_right"], 100 * (tr_b["ed_acc"] - tr_a["ed_acc"])
print(f"training images, 20 bits: bits right {tr_a['bits_right']:.2f} -> {tr_b['bits_right']:.2f} ({d_bits:+.2f}), "
      f"ED {100 * tr_a['ed_acc']:.1f} -> {100 * tr_b['ed_acc']:.1f} % ({d_ed:+.1f} points); if B is A with twice the "
      f"Phase 2 epochs, A has converged: {'yes' if d_bits < 0.1 and d_ed < 2 else 'no'}")
