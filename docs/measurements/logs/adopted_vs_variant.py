"""The adopted Phase 2 as the profile trained it against the same recipe measured earlier as a variant, on the
test images: the same recipe and seed from the same Phase 1 checkpoint, trained on two machines. Usage:

    python docs/measurements/logs/adopted_vs_variant.py figures/headline_results.json \
        docs/measurements/phase2_lr_cpu_seed0.json:p2-lr0.2-2x-micro64 [--seeds figures/seeds.json]

Prints, at 14 and 20 bits, each number of both runs, their difference and the seed study's sample std of that
number (the spread over seeds of the recipe the seed study ran, the only spread measured).
"""
import argparse
import json

METRICS = ("class_code_acc", "mhd_acc", "ed_acc", "bits_right", "p_exact_given_class_code_right",
           "bits_right_if_class_code_right", "bits_right_if_class_code_wrong")

ap = argparse.ArgumentParser()
ap.add_argument("headline")
ap.add_argument("variant")
ap.add_argument("--seeds", default="figures/seeds.json")
args = ap.parse_args()
h = json.load(open(args.headline))
path, name = args.variant.split(":")
v = json.load(open(path))[name]
sd = {k: s["std"] for k, s in json.load(open(args.seeds))["numbers"].items()}
prov = h["run"]["provenance"]
print(f"headline: {h['checkpoints']['llc_phase2']}, evaluated on {prov['cpu']} ({prov['cpu_capability']}, "
      f"{prov['threads']} threads)")
print(f"variant {name}: {path}\n")
print("| k | number | profile (headline) | variant | difference | seed sd |")
print("|---:|---|---:|---:|---:|---:|")
for k in ("14", "20"):
    for m in METRICS:
        a, b = h["llc"][k][m], v["test"][k][m]
        s = sd.get(f"llc_{m}@{k}")
        print(f"| {k} | {m} | {a:.4f} | {b:.4f} | {a - b:+.4f} | {'' if s is None else f'{s:.4f}'} |")
