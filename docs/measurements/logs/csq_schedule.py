"""CSQ at two schedules, from two retrieval results (notebook 06's JSON): tie-aware MAP@R (%) of CSQ, HashNet
and LLC at every k, each baseline's epochs and published length, and the last three epochs' training loss.

    python docs/measurements/logs/csq_schedule.py REV:figures/06_retrieval.json figures/06_retrieval.json

An argument REV:PATH is read from git (the file as committed at REV), any other as a file.
"""
import json
import subprocess
import sys


def load(arg):
    if ":" in arg:
        return json.loads(subprocess.run(["git", "show", arg], check=True, capture_output=True, text=True).stdout)
    return json.load(open(arg))


runs = [(arg, load(arg)) for arg in sys.argv[1:]]
bits = runs[0][1]["bits"]
print("| result | CSQ epochs (published) | HashNet epochs (published) | CSQ loss, last 3 epochs | "
      + " | ".join(f"CSQ {k}" for k in bits) + " | " + " | ".join(f"HashNet {k}" for k in bits) + " | "
      + " | ".join(f"LLC {k}" for k in bits) + " |")
print("|---|---:|---:|---|" + "---:|" * 3 * len(bits))
for arg, r in runs:
    s = r["hash_schedules"]
    maps = [f"{100 * r['methods'][m][str(k)]['map_tie_aware']:.2f}" for m in ("CSQ", "HashNet", "LLC") for k in bits]
    print(f"| `{arg}` | {s['csq']['epochs']} ({s['csq']['published_epochs']:.1f}) | {s['hashnet']['epochs']} "
          f"({s['hashnet']['published_epochs']:.1f}) | {', '.join(f'{v:.4f}' for v in s['csq']['loss'][-3:])} | "
          + " | ".join(maps) + " |")
