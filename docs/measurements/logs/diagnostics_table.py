"""Print the tables of one or more `python -m llc_lib diagnose` JSON files side by side, labelled by file name.

    python docs/measurements/logs/diagnostics_table.py A.json [B.json ...]

(a) the trained and the refitted head per split and k; the refit's per-bit training accuracy; (b) the codebook
entries; (c) the nearest-code distances, means and histograms. Every number is read from the files; nothing is computed but means
and differences.
"""
import json
import sys
from pathlib import Path

runs = [(Path(a).stem, json.loads(Path(a).read_text())) for a in sys.argv[1:]]

print("| file | split | k | head | ED | MHD | bits right | R | W | P(exact given right) |")
print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
for name, d in runs:
    for split in ("train", "test"):
        for k in map(str, d["bits"]):
            for head in ("trained_head", "refitted_head"):
                r = d[head][split][k]
                print(f"| {name} | {split} | {k} | {head.split('_')[0]} | {100 * r['ed_acc']:.1f} | "
                      f"{100 * r['mhd_acc']:.1f} | {r['bits_right']:.2f} | {r['R']:.2f} | {r['W']:.2f} | "
                      f"{r['p_exact_given_right']:.3f} |")
print()
print("| file | split | k | ED refitted - trained (points) | P(exact given right) refitted - trained |")
print("|---|---|---:|---:|---:|")
for name, d in runs:
    for split in ("train", "test"):
        for k in map(str, d["bits"]):
            t, r = d["trained_head"][split][k], d["refitted_head"][split][k]
            print(f"| {name} | {split} | {k} | {100 * (r['ed_acc'] - t['ed_acc']):+.1f} | "
                  f"{r['p_exact_given_right'] - t['p_exact_given_right']:+.3f} |")
print()
print("| file | refit: bits | converged | iterations | training accuracy per bit (min, mean, max) |")
print("|---|---:|---:|---|---|")
for name, d in runs:
    per = d["refit"]["per_bit"]
    acc = [b["train_acc"] for b in per]
    its = [b["iterations"] for b in per]
    print(f"| {name} | {len(per)} | {sum(b['converged'] for b in per)} | {min(its)}-{max(its)} | "
          f"{min(acc):.3f}, {sum(acc) / len(acc):.3f}, {max(acc):.3f} |")
print()
print("| file | Spearman |C| vs error | error by |C| quintile (smallest first) | mean error | entries > half wrong "
      "| majority-sign changes | majority-sign ED@20 test | learnt ED@20 test |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for name, d in runs:
    c = d["codebook_entries"]
    q = ", ".join(f"{e:.2f}" for e in c["error_by_abs_C_quintile"])
    maj = c["majority_sign_codebook_test"]["20"]["ed_acc"]
    print(f"| {name} | {c['spearman_abs_C_vs_error']:.2f} | {q} | {c['mean_error']:.3f} | "
          f"{c['entries_over_half_wrong']} | {c['majority_sign_changes']} | {100 * maj:.1f} | "
          f"{100 * d['trained_head']['test']['20']['ed_acc']:.1f} |")
print()
print("| file | k | learnt: mean distance to the nearest other class code | random (mean over draws) |")
print("|---|---:|---:|---:|")
for name, d in runs:
    for k in map(str, d["bits"]):
        g = d["geometry"][k]
        print(f"| {name} | {k} | {g['learnt_mean']:.2f} | {g['random_mean']:.2f} |")
print()
print("| file | k | codes | classes at nearest-code distance 0, 1, 2, ... bits |")
print("|---|---:|---|---|")
for name, d in runs:
    for k in map(str, d["bits"]):
        g = d["geometry"][k]
        last = max(i for i, (a, b) in enumerate(zip(g["learnt_hist"], g["random_hist_per_draw"])) if a or b)
        print(f"| {name} | {k} | learnt | {', '.join(str(c) for c in g['learnt_hist'][:last + 1])} |")
        print(f"| {name} | {k} | random (mean per draw) | "
              f"{', '.join(f'{c:.1f}' for c in g['random_hist_per_draw'][:last + 1])} |")
print()
print("| file | random codes for 1000 classes, 20 bits: mean distance to the nearest other class code |")
print("|---|---:|")
for name, d in runs:
    print(f"| {name} | {d['geometry']['random_1000_classes_20_bits_mean']:.2f} |")
