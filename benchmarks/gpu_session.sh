#!/usr/bin/env bash
# A first run on a machine with a CUDA GPU, from a checkout: links or builds the data (as `make data`), records
# the GPU, times the training step (benchmarks/bench_train.py), then runs jobs concurrently on the GPU; by
# default the gpu profile's headline (`python -m llc_lib reproduce --profile gpu --seed 0`: the real model, LLC
# Phase 1 and Phase 2, trained and evaluated). Checkpoints go to the runs folder ($LLC_RUNS_DIR, else runs/), so
# a later `make reproduce PROFILE=gpu` reuses them; logs, timings and a copy of each headline results file go
# to OUT_DIR.
#   usage: bash benchmarks/gpu_session.sh [OUT_DIR ['name|command' ...]]
#     OUT_DIR            default runs/gpu-session-<date>-<time>
#     'name|command'     runs as `bash -c command` in the checkout, its output in OUT_DIR/name.log
#   Python: $PYTHON, else .venv/bin/python (`make setup`), else python3. Data: $SHARED (default
#   ../shared/datasets) as in the Makefile. Exit code 0 when every job succeeded, 2 without a CUDA GPU.
set -u
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then py=$PYTHON; elif [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
out=${1:-runs/gpu-session-$(date +%Y%m%d-%H%M%S)}
[ $# -gt 0 ] && shift
runs=${LLC_RUNS_DIR:-runs}
if ! "$py" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "$py sees no CUDA GPU; on a machine without one, run make reproduce (the cpu profile)" >&2
  exit 2
fi
mkdir -p "$out"
export PYTHONUNBUFFERED=1
"$py" -m llc_lib data --shared "${SHARED:-../shared/datasets}" || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
t=$(date +%s)
"$py" benchmarks/bench_train.py --rounds 3 > "$out/bench_train.txt" 2>&1
echo "bench_train: rc $? after $(( $(date +%s) - t )) s" >> "$out/times.txt"

jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=("gpu_headline|'$py' -m llc_lib reproduce --profile gpu --seed 0")
set -m  # every job gets a process group of its own, which an interrupt stops as a whole
pids=()
for j in "${jobs[@]}"; do
  name=${j%%|*}
  cmd=${j#*|}
  (
    t=$(date +%s)
    bash -c "$cmd" > "$out/$name.log" 2>&1
    rc=$?
    echo "$name: rc $rc after $(( $(date +%s) - t )) s" >> "$out/times.txt"
    exit $rc
  ) &
  pids+=($!)
done
trap 'for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null; done; exit 130' INT TERM
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
trap - INT TERM

nvidia-smi > "$out/nvidia-smi.txt" 2>&1
for f in "$runs"/*/headline_results*.json; do
  [ -e "$f" ] && cp "$f" "$out/$(basename "$(dirname "$f")")_$(basename "$f")"
done
cat "$out/times.txt"
echo "logs, timings and results: $out/"
exit $rc
