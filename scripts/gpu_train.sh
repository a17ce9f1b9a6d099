#!/usr/bin/env bash
# shellcheck disable=SC2129  # the log gets one line per step, as each step ends
# One device call (see scripts/GPU.md): bash scripts/gpu_train.sh [SECONDS]
#
# Unpacks the kit, installs its wheels, runs the CUDA tests and the GPU benchmark, then trains for
# SECONDS (default 480, shortened so that everything is written DEADLINE=570 s after the start):
# a warm restart from the fp16 start model ($START, weights only) with a fresh optimizer, the
# config's warmup and one cosine cycle that ends with the training time (cycle_seconds), seed
# = the config's seed + the GPU calls before this one (each call sees new synthetic and real batches).
# Writes 6 files to $OUT (at most 8 come back):
#   pytest.txt, gpu_speed.md, train.txt (environment, training log, "steps N", "sha256 HASH  model/FILE"),
#   train_log.csv (this call's, steps from 0), model/config.json, model/model.safetensors (fp32).
# Environment: OUT (required), PY=python3, CFG=configs/crnn_v2_en_gpu.json, KIT=.gpu (wheels,
#   packs), START=$KIT/start, RUN=$KIT/run (out_dir, emptied first), EXTRA_ARGS (more --set
#   KEY=JSON), SKIP_TESTS=1, SKIP_BENCH=1, DEADLINE=570.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
T0=$SECONDS
N="${1:-480}"
: "${OUT:?set OUT}"
PY="${PY:-python3}"
CFG="${CFG:-configs/crnn_v2_en_gpu.json}"
KIT="${KIT:-.gpu}"
START="${START:-$KIT/start}"
RUN="${RUN:-$KIT/run}"
DEADLINE="${DEADLINE:-570}"
mkdir -p "$OUT/model" "$RUN"
export PYTHONUNBUFFERED=1
LOG="$OUT/train.txt"
{
  date -u
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
  echo "cores $(nproc)"
} >"$LOG" 2>&1

# Packages: the device lacks rapidfuzz (shapely too, which neither training nor the GPU tests
# import); a local venv has it (then nothing is installed).
if "$PY" -c 'import rapidfuzz' 2>/dev/null; then
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$KIT"/whl/*.whl >>"$LOG" 2>&1
  export PYTHONPATH="/tmp/site:$PWD"
fi
"$PY" -c 'import torch, crnn_plugin; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' >>"$LOG" 2>&1
# What training needs; a problem skips the benchmark and training, never the tests.
problem=""
if ! "$PY" -c 'from PIL import features; raise SystemExit(not features.check("webp"))' 2>>"$LOG"; then
  problem="Pillow here cannot read WebP (the kit's crops)"
elif ! (cd "$START" && sha256sum -c --quiet SHA256SUMS) >>"$LOG" 2>&1; then
  problem="$START does not match its SHA256SUMS"
fi
calls="$("$PY" scripts/gpu_kit.py info "$START" calls --default 0 2>>"$LOG" || echo 0)"
origin="$("$PY" scripts/gpu_kit.py info "$START" origin 2>>"$LOG")"
seed0="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("seed", 0))' "$CFG")"
SEED=$((seed0 + calls))
echo "start: $START ($origin; GPU calls before this one: $calls), seed $SEED" >>"$LOG"

# words.txt, data/, fonts/ and photos/ for the config's .gpu/... paths (removed again at the end if unpacked here)
unpacked=0
if [ -z "$problem" ] && [ ! -d "$KIT/data" ]; then
  unpacked=1
  for a in "$KIT/data.tar.xz" "$KIT/synth.tar.gz"; do
    "$PY" scripts/gpu_kit.py unpack "$a" "$KIT" 2>>"$LOG" || problem="cannot unpack $a"
  done
  echo "unpacked the packs ($((SECONDS - T0)) s in)" >>"$LOG"
fi
cat "$KIT/pack.txt" >>"$LOG" 2>/dev/null
[ -z "$problem" ] || echo "$problem: no benchmark, no training" >>"$LOG"

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout -k 10 150 "$PY" -m pytest -q -p no:cacheprovider -m gpu tests/ >"$OUT/pytest.txt" 2>&1
  echo "pytest exit $? ($((SECONDS - T0)) s in)" >>"$LOG"
fi

if [ "${SKIP_BENCH:-0}" != 1 ] && [ -z "$problem" ]; then  # issue 8's GPU figures: model and end-to-end throughput
  timeout -k 10 90 "$PY" benchmarks/gpu_speed.py --folder "$KIT/data/iiit5k_train" --out "$OUT/gpu_speed.md" \
    >/dev/null 2>>"$LOG"
  echo "gpu_speed exit $? ($((SECONDS - T0)) s in)" >>"$LOG"
fi

if [ -z "$problem" ]; then
  LEFT=$((DEADLINE - (SECONDS - T0) - 75))  # setup before the clock starts, final save, the copies
  [ "$N" -le "$LEFT" ] || N="$LEFT"
  # Each call: one whole warmup + cosine cycle that ends when the call's training time does
  # (cycle_seconds), whatever the throughput, so the call returns a model at the low rate.
  ARGS="--set cycle_start=0 --set max_steps=1000000 --set cycle_seconds=$N --set seed=$SEED"
  rm -rf "$RUN/final" "$RUN/checkpoint.pt" "$RUN/train_log.csv"  # a warm restart, never a resume
  echo "training for $N s: $CFG init_from $START $ARGS ${EXTRA_ARGS:-}" >>"$LOG"
  # shellcheck disable=SC2086  # ARGS and EXTRA_ARGS are lists of --set KEY=JSON words
  timeout --foreground -s INT -k 20 $((N + 60)) "$PY" -m crnn_plugin.train "$CFG" --no-resume \
    --set "out_dir=\"$RUN\"" --set "init_from=\"$START\"" --set "stop_after_s=$N" $ARGS ${EXTRA_ARGS:-} >>"$LOG" 2>&1
  echo "train exit $? ($((SECONDS - T0)) s in)" >>"$LOG"
  echo "steps $(awk '/ checkpoint at step / { s = $NF } END { print s + 0 }' "$LOG")" >>"$LOG"

  cp "$RUN/final/config.json" "$RUN/final/model.safetensors" "$OUT/model/" 2>>"$LOG"
  cp "$RUN/train_log.csv" "$OUT/" 2>>"$LOG"
  if [ -f "$OUT/model/model.safetensors" ]; then
    (cd "$OUT" && sha256sum model/config.json model/model.safetensors) | sed 's/^/sha256 /' >>"$LOG"
  fi
fi
if [ "$unpacked" = 1 ]; then rm -rf "$KIT/data" "$KIT/fonts" "$KIT/photos" "$KIT/words.txt"; fi
ls -l "$OUT" "$OUT/model"
tail -n 5 "$LOG"
