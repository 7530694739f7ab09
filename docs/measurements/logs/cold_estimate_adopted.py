"""Estimate a cold `make reproduce PROFILE=cpu` after a change of epochs, from the timed cold run.

Reads the per-model lines of a timed cold run (what `cold_run_times.py` printed, e.g.
cold_run_times_2026-12-02.log) and its notebook and total lines; each model whose epochs changed since is
counted at its new epochs times its own per-epoch seconds in that run (same machine, same day). Models whose
recipe changed in another way (here: micro-batches) are counted at their old per-epoch seconds. Usage:

    python docs/measurements/logs/cold_estimate_adopted.py docs/measurements/logs/cold_run_times_2026-12-02.log
"""
import re
import sys

# key in the timed run -> (what, epochs now): the changes since that run
NEW_EPOCHS = {"2856c1cfbf6c": ("LLC Phase 2 (headline), lr 0.2, micro-batches of 64", 30),
              "e5fac4291706": ("OOD Phase 2 (keeps Phase 2's ratio to Phase 1: 30/15 x 8)", 16),
              "3565aeeab724": ("CSQ at its published length", 24)}

text = open(sys.argv[1]).read()
train = 0.0
for kind, key, epochs, seconds in re.findall(r"^(\w+ k=\S+)\s+([0-9a-f]{12})\s+(\d+) epochs\s+(\d+) s", text, re.M):
    epochs, seconds = int(epochs), float(seconds)
    if key in NEW_EPOCHS:
        what, now = NEW_EPOCHS[key]
        print(f"{kind:14s} {key}: {epochs} -> {now} epochs at {seconds / epochs:.1f} s = {seconds / epochs * now:.0f} s ({what})")
        seconds = seconds / epochs * now
    train += seconds
total = float(re.search(r"total wall time (\d+) s", text).group(1))
old_train = float(re.search(r"training, \d+ models: (\d+) s", text).group(1))
other = total - old_train  # notebooks, starting processes, loading data
print(f"training {old_train:.0f} -> {train:.0f} s; notebooks and the rest {other:.0f} s (as timed)")
print(f"estimated cold run: {(train + other):.0f} s = {(train + other) / 60:.0f} min on the timed run's machine and day")
for day, factor in (("2026-12-01 (46 s per Phase 2 epoch)", 46 / 34.9), ("2026-12-02 night (63.2 s)", 63.2 / 34.9)):
    print(f"  at the speed of {day}: x{factor:.2f} = {(train + other) * factor / 60:.0f} min")
