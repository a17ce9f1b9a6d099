#!/usr/bin/env bash
# One device call (see scripts/GPU.md): bash scripts/gpu_train.sh [SECONDS]
#
# Unpacks the kit, installs its wheels, runs the CUDA tests, resumes training for SECONDS (default 480,
# shortened so that everything is written DEADLINE=570 s after the start) and writes to $OUT:
#   pytest.txt, gpu_speed.md (benchmarks/gpu_speed.py), train.txt (environment + training log, last line "ckpt sha256 HASH"),
#   train_log.csv, model/{config.json,model.safetensors}, ckpt.part_aa, ckpt.part_ab (15 MiB parts).
# Environment: OUT (required), PY=python3, CFG=configs/crnn_small_en_gpu.json, KIT=.gpu,
#   RUN=$KIT/run (out_dir), EXTRA_ARGS (more --set KEY=JSON), SKIP_TESTS=1, SKIP_BENCH=1,
#   CYCLE_BY_TIME=0 (one cycle of the config's max_steps over several calls instead of one per call).
set -uo pipefail
cd "$(dirname "$0")/.."
T0=$SECONDS
N="${1:-480}"
: "${OUT:?set OUT}"
PY="${PY:-python3}"
CFG="${CFG:-configs/crnn_small_en_gpu.json}"
KIT="${KIT:-.gpu}"
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

# Packages: the device lacks rapidfuzz and shapely; a local venv has them (then nothing is installed).
if "$PY" -c 'import rapidfuzz, shapely' 2>/dev/null; then
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$KIT"/whl/*.whl >>"$LOG" 2>&1
  export PYTHONPATH="/tmp/site:$PWD"
fi
"$PY" -c 'import torch, crnn_plugin; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' >>"$LOG" 2>&1

# words.txt, data/ and fonts/ for the config's .gpu/... paths (removed again at the end if unpacked here)
unpacked=0
if [ ! -d "$KIT/data" ]; then
  tar -xzf "$KIT/pack.tar.gz" -C "$KIT" && unpacked=1
fi

# The carried checkpoint: join its parts once and check them against the recorded hash.
if [ ! -f "$RUN/checkpoint.pt" ] && compgen -G "$KIT/ckpt.part_*" >/dev/null; then
  cat "$KIT"/ckpt.part_* >"$RUN/checkpoint.pt"
  want="$(awk '{ print $1 }' "$KIT/ckpt.sha256" 2>/dev/null)"
  have="$(sha256sum "$RUN/checkpoint.pt" | awk '{ print $1 }')"
  if [ -n "$want" ] && [ "$want" != "$have" ]; then
    echo "checkpoint parts do not match $KIT/ckpt.sha256; not training" >>"$LOG"
    exit 3
  fi
  echo "joined the carried checkpoint ($have)" >>"$LOG"
fi

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout -k 10 150 "$PY" -m pytest -q -p no:cacheprovider -m gpu tests/ >"$OUT/pytest.txt" 2>&1
  echo "pytest exit $? ($((SECONDS - T0)) s in)" >>"$LOG"
fi

if [ "${SKIP_BENCH:-0}" != 1 ]; then  # issue 8's GPU figures: model and end-to-end throughput
  timeout -k 10 90 "$PY" benchmarks/gpu_speed.py --folder "$KIT/data/iiit5k_train" --out "$OUT/gpu_speed.md" \
    >/dev/null 2>>"$LOG"
  echo "gpu_speed exit $? ($((SECONDS - T0)) s in)" >>"$LOG"
fi

LEFT=$((DEADLINE - (SECONDS - T0) - 75))  # setup before the clock starts, final save, the copies
[ "$N" -le "$LEFT" ] || N="$LEFT"
ARGS=""
if [ "${CYCLE_BY_TIME:-1}" = 1 ]; then
  # Default: every call is one whole warmup + cosine cycle that ends when the call's training time
  # does (cycle_seconds), whatever the throughput, so each call returns a model at the low rate.
  cs=0
  if [ -f "$RUN/checkpoint.pt" ]; then
    cs="$("$PY" scripts/gpu_kit.py ckpt-step "$RUN/checkpoint.pt")"
  fi
  ARGS="--set cycle_start=$cs --set max_steps=$((cs + 1000000)) --set cycle_seconds=$N"
elif [ -s "$KIT/cycle_start" ]; then  # resumed from a CPU checkpoint: a new cycle of max_steps steps from there
  cs="$(cat "$KIT/cycle_start")"
  n="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["max_steps"])' "$CFG")"
  ARGS="--set cycle_start=$cs --set max_steps=$((cs + n))"
fi
echo "training for $N s: $CFG $ARGS ${EXTRA_ARGS:-}" >>"$LOG"
# shellcheck disable=SC2086  # ARGS and EXTRA_ARGS are lists of --set KEY=JSON words
timeout --foreground -s INT -k 20 $((N + 60)) "$PY" -m crnn_plugin.train "$CFG" --set "out_dir=\"$RUN\"" \
  --set "stop_after_s=$N" $ARGS ${EXTRA_ARGS:-} >>"$LOG" 2>&1
echo "train exit $? ($((SECONDS - T0)) s in)" >>"$LOG"

cp "$RUN/final/config.json" "$RUN/final/model.safetensors" "$OUT/model/" 2>>"$LOG"
cp "$RUN/train_log.csv" "$OUT/" 2>>"$LOG"
if [ -f "$RUN/checkpoint.pt" ]; then
  split -b 15M "$RUN/checkpoint.pt" "$OUT/ckpt.part_"
  echo "ckpt sha256 $(sha256sum "$RUN/checkpoint.pt" | awk '{ print $1 }')" >>"$LOG"
fi
if [ "$unpacked" = 1 ]; then rm -rf "$KIT/data" "$KIT/fonts" "$KIT/words.txt"; fi
ls -l "$OUT" "$OUT/model"
tail -n 5 "$LOG"
