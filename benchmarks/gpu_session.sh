#!/usr/bin/env bash
# One GPU session on a lent machine (no internet; torch preinstalled): rebuild CIFAR-100 from the JPEG-q95
# transport copy in .devdata/ (git-ignored, carried), benchmark training, then run independent trainings
# concurrently on the one GPU. Everything lands in $OUT; a deadline keeps the whole call inside its limit.
#   usage (device tool): bash benchmarks/gpu_session.sh DEADLINE_SECONDS ['name|command' ...]
set -u
set -m  # job control: every background job gets a process group of its own, which the end stops
deadline=$(( $(date +%s) + ${1:-540} )); shift
out=/tmp/gpu-session; mkdir -p "$out"  # packed into $OUT/gpu-session.tgz at the end (one file travels back)
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4 LLC_RUNS_DIR=/tmp/llc-runs PYTHONPATH=$PWD
if [ -e data/cifar100.npz ]; then  # a real file is never replaced; only a dangling link to ../shared is
  echo "data/cifar100.npz exists; move it away to rebuild it from the transport copy" >&2; exit 2
fi
[ -L data/cifar100.npz ] && rm data/cifar100.npz
python3 .devdata/decode_q95.py .devdata/cifar100_q95.jpg .devdata/cifar100_meta.npz data/cifar100.npz
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt"
t=$(date +%s); python3 benchmarks/bench_train.py --rounds 3 > "$out/bench_train.txt" 2>&1
echo "bench_train: $(( $(date +%s) - t )) s" >> "$out/times.txt"
jobs=("$@")  # each "name|command"; default: the gpu headline and the instance-code variants
[ ${#jobs[@]} -gt 0 ] || jobs=(
  "gpu_headline|python3 -m llc_lib reproduce --profile gpu --seed 0 && python3 -m llc_lib variants --profile gpu --variants profile p2-2x p2-k-bits --out $out/inst_gpu.json"
  "inst_cpu_p1|python3 -m llc_lib variants --profile cpu --variants p1-no-aux p1-k20 --out $out/inst_cpu_p1.json"
)
pids=()
for j in "${jobs[@]}"; do
  name=${j%%|*}; cmd=${j#*|}
  ( t=$(date +%s); bash -c "$cmd" > "$out/$name.log" 2>&1; echo "$name: rc $? after $(( $(date +%s) - t )) s" >> "$out/times.txt" ) &
  pids+=($!)
done
while [ "$(date +%s)" -lt "$deadline" ] && kill -0 "${pids[@]}" 2>/dev/null; do sleep 5; done
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && echo "still running at the deadline: pid $p" >> "$out/times.txt"; done
for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done  # only the jobs this script started
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
for f in "$LLC_RUNS_DIR"/*/results*.json; do [ -e "$f" ] && cp "$f" "$out/$(basename "$(dirname "$f")")_$(basename "$f")"; done
cat "$out/times.txt"
tar czf "${OUT:-/tmp}/gpu-session.tgz" -C "$out" .
