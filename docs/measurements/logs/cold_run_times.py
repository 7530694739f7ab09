"""Where the time of a cold `make reproduce PROFILE=cpu` went, from its log alone.

Prints, per model the run fitted (``python -m llc_lib fit --key KEY`` lines, or ``=== fit KEY`` lines of a
script that fits keys one by one), its epochs and the seconds its
epoch lines report (``seconds=``: the optimisation only, not loading or saving); per notebook, the "done in"
seconds (notebook 01 only evaluates: `make` fits every checkpoint before the notebook that needs it); and the
total wall time the Makefile printed. Usage:

    python docs/measurements/logs/cold_run_times.py LOG
"""
import re
import sys
from pathlib import Path

log = Path(sys.argv[1]).read_text(encoding="utf-8", errors="replace")
models, key = {}, None
for line in log.splitlines():
    line = line.split("\r")[-1]
    fit = re.search(r"(?:-m llc_lib fit --profile \w+ --key|^=== fit) (\w+)", line)
    if fit:
        key = fit.group(1)
        models[key] = []
    epoch = re.match(r"\[(\w+) k=(\S+)\] epoch \d+/\d+ .*seconds=([0-9.]+)", line)
    if epoch and key:
        models[key].append((f"{epoch.group(1)} k={epoch.group(2)}", float(epoch.group(3))))
train = 0.0
for key, rows in models.items():
    s = sum(sec for _, sec in rows)
    train += s
    print(f"{rows[0][0] if rows else '?':16s} {key}  {len(rows):3d} epochs {s:7.0f} s  "
          f"({s / max(1, len(rows)):5.1f} s per epoch)")
print(f"training, {len(models)} models: {train:.0f} s ({train / 60:.1f} min)")
for name, sec in re.findall(r"== notebooks/(\S+)\.ipynb \(cpu\).*?done in ([0-9]+) s", log, flags=re.S):
    print(f"notebook {name:30s} done in {sec:>5s} s")
total = re.findall(r"total wall time ([0-9]+) s", log)
print(f"make reproduce (cpu): total wall time {total[-1]} s = {int(total[-1]) / 60:.1f} min" if total else
      "make reproduce (cpu): no total wall time in the log (it did not finish)")
