"""Print the markdown tables of one or more ``python -m llc_lib variants`` JSON files: per variant, split and k,
the class-code accuracy, MHD, ED, bits right, R, W and P(exact | class code right) (percent where a fraction),
then Phase 2's per-epoch training loss and its median seconds per epoch.

    python docs/measurements/logs/variants_table.py FILE.json [FILE.json ...]
"""
import json
import statistics
import sys

rows, losses = [], []
for path in sys.argv[1:]:
    for name, v in json.load(open(path)).items():
        if not isinstance(v, dict) or "phase2_history" not in v:
            continue
        hist = v["phase2_history"]
        for split in ("train", "test"):
            for k, r in v[split].items():
                rows.append(f"| {name} | {len(hist)} | {split} | {k} | {100 * r['class_code_acc']:.1f} | "
                            f"{100 * r['mhd_acc']:.1f} | {100 * r['ed_acc']:.1f} | {r['bits_right']:.2f} | "
                            f"{r['bits_right_if_class_code_right']:.2f} | {r['bits_right_if_class_code_wrong']:.2f} | "
                            f"{r['p_exact_given_class_code_right']:.3f} |")
        last = [h["loss"] for h in hist]
        losses.append(f"| {name} | {len(hist)} | {last[0]:.4f} | {last[len(last) // 2 - 1]:.4f} | {last[-3]:.4f} | "
                      f"{last[-2]:.4f} | {last[-1]:.4f} | {statistics.median(h['seconds'] for h in hist):.1f} |")
print("| variant | epochs | split | k | class-code | MHD | ED | bits right | R | W | P(exact given right) |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
print("\n".join(rows))
print()
print("| variant | epochs | loss, epoch 1 | loss, half-way | loss, 3rd last | 2nd last | last | median s per epoch |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
print("\n".join(losses))
