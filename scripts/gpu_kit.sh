#!/usr/bin/env bash
# Build the ignored .gpu/ training kit that travels to a lent GPU machine (see scripts/GPU.md).
# Run here (CPU machine, PyPI reachable) once per session that has a GPU:
#
#   bash scripts/gpu_kit.sh
#
# .gpu/ holds few files, so that what travels is what is counted:
#   whl/*.whl      rapidfuzz and shapely for the device's Python 3.12
#   pack.tar.gz    words.txt, data/ (real train splits) and fonts/; gpu_train.sh unpacks it into .gpu/
#   ckpt.part_*    the checkpoint to resume (+ ckpt.sha256; cycle_start and ckpt.from when it is a
#                  CPU checkpoint), run/train_log.csv the log the calls append to
# Idempotent: what exists is kept, the carried checkpoint too, so that a later session continues.
#   FORCE=1       rebuild the wheels and the pack
#   RESET_CKPT=1  drop the carried checkpoint and log (the next GPU call starts over)
#   FROM_CKPT=P   first checkpoint to carry (default: the CPU run's checkpoint, when present);
#                 FROM_CKPT=none starts the GPU run from the config's init_from (shipped weights)
#   LIMIT_MIB=63  what may travel in all (working tree + .gpu); the fonts get what is left
#   FONT_BUDGET_MIB=30, WORDS_N=50000, DATA_MAX_H=96, DATA_QUALITY=90, DATA_SRC=../shared/data
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.gpu
if [ -x .venv/bin/python ]; then PY="${PY:-.venv/bin/python}"; else PY="${PY:-python3}"; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
LIMIT_MIB="${LIMIT_MIB:-63}"
FONT_BUDGET_MIB="${FONT_BUDGET_MIB:-30}"
WORDS_N="${WORDS_N:-50000}"  # = SynthConfig.english_top_n: the same word distribution as the CPU run
DATA_SRC="${DATA_SRC:-../shared/data}"
FROM_CKPT="${FROM_CKPT:-/work/runs/crnn_small_en/checkpoint.pt}"
SPLITS=(iiit5k_train svt_train ic15_train)

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes() { { du -sb "$@" 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }'; }

exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
grep -qxF '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >>"$exclude"
mkdir -p "$KIT"
if [ "${FORCE:-0}" = 1 ]; then rm -rf "$KIT/whl" "$KIT/pack.tar.gz"; fi
if [ "${RESET_CKPT:-0}" = 1 ]; then rm -rf "$KIT"/ckpt.* "$KIT/cycle_start" "$KIT/run"; fi
rm -rf "$KIT/data" "$KIT/fonts" "$KIT/words.txt"  # unpacked copies (a simulated call) never travel

# 1. wheels the device lacks (pinned to this venv's versions when it has them)
if ! ls "$KIT"/whl/rapidfuzz-*.whl "$KIT"/whl/shapely-*.whl >/dev/null 2>&1; then
  reqs="$("$PY" -c 'import rapidfuzz, shapely; print(f"rapidfuzz=={rapidfuzz.__version__} shapely=={shapely.__version__}")' 2>/dev/null || echo "rapidfuzz shapely")"
  rm -rf "$KIT/whl"
  # shellcheck disable=SC2086
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$KIT/whl" $reqs
fi

# 2. the checkpoint the first GPU call resumes: a CPU checkpoint starts a new warmup + cosine cycle
#    at its step (.gpu/cycle_start); gpu_train.sh then counts the config's max_steps from there.
#    Parts made from a CPU checkpoint (.gpu/ckpt.from; no GPU result fetched yet) follow it when it is newer.
if [ -f "$KIT/ckpt.from" ] && [ "$FROM_CKPT" != none ] && [ "$FROM_CKPT" -nt "$KIT/ckpt.from" ]; then
  rm -f "$KIT"/ckpt.part_* "$KIT/ckpt.sha256" "$KIT/cycle_start" "$KIT/ckpt.from"
  echo "checkpoint: $FROM_CKPT is newer than the carried one; taking it"
fi
if ! compgen -G "$KIT/ckpt.part_*" >/dev/null; then
  if [ "$FROM_CKPT" != none ] && [ -f "$FROM_CKPT" ]; then
    tmp="$(mktemp -d)"
    cp "$FROM_CKPT" "$tmp/checkpoint.pt"  # a copy: the CPU run replaces its file while training
    step="$("$PY" scripts/gpu_kit.py ckpt-step "$tmp/checkpoint.pt")"
    split -b 15M "$tmp/checkpoint.pt" "$KIT/ckpt.part_"
    (cd "$tmp" && sha256sum checkpoint.pt) >"$KIT/ckpt.sha256"
    echo "$step" >"$KIT/cycle_start"
    echo "$FROM_CKPT step $step" >"$KIT/ckpt.from"
    rm -rf "$tmp"
    echo "checkpoint: $FROM_CKPT at step $step (the GPU cycle starts there)"
  else
    rm -f "$KIT/cycle_start" "$KIT/ckpt.from"
    echo "checkpoint: none; the first GPU call starts from the config's init_from"
  fi
fi

# 3. the pack: words (wordfreq is not on the device), the real train splits (never a *_test
#    split, re-encoded to fit) and the fonts, which get what is left of the travel budget
repo_b="$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | awk 'END { print $1 }')"
if [ ! -s "$KIT/pack.tar.gz" ]; then
  stage="$(mktemp -d /tmp/gpu_kit.XXXXXX)"
  trap 'rm -rf "$stage"' EXIT
  "$PY" scripts/gpu_kit.py words "$stage/words.txt" --n "$WORDS_N"
  du -sh "${SPLITS[@]/#/$DATA_SRC/}"
  nice -n 15 "$PY" scripts/gpu_kit.py data "$DATA_SRC" "$stage/data" "${SPLITS[@]}" \
    --max-h "${DATA_MAX_H:-96}" --quality "${DATA_QUALITY:-90}"
  ck_b="$(bytes "$KIT"/ckpt.part_*)"
  [ "$ck_b" -gt 0 ] || ck_b="$(bytes /work/runs/crnn_small_en/checkpoint.pt)"
  [ "$ck_b" -gt 0 ] || ck_b=$((26 * 1048576))
  wd_b="$(tar -czf - -C "$stage" words.txt data | wc -c)"
  rest_b=$((repo_b + ck_b + wd_b + $(bytes "$KIT/whl" "$KIT/run" "$KIT"/ckpt.sha256 "$KIT/cycle_start")))
  budget="$(awk -v l="$LIMIT_MIB" -v r="$rest_b" -v f="$FONT_BUDGET_MIB" \
    'BEGIN { b = l - r / 1048576 - 0.3; if (b > f) b = f; printf "%.2f", b }')"
  if awk -v b="$budget" 'BEGIN { exit !(b < 1) }'; then
    echo "error: only $budget MiB left for fonts" >&2
    exit 1
  fi
  nice -n 15 "$PY" scripts/gpu_kit.py fonts "$stage/fonts" --budget-mib "$budget"
  if find "$stage" -path '*_test*' | grep -q .; then echo "error: a test split is staged" >&2; exit 1; fi
  tar -czf "$KIT/pack.tar.gz.tmp" -C "$stage" words.txt data fonts
  mv "$KIT/pack.tar.gz.tmp" "$KIT/pack.tar.gz"
fi

# 4. sizes
echo "--- .gpu"
for p in whl pack.tar.gz ckpt.part_* run; do
  compgen -G "$KIT/$p" >/dev/null || continue
  printf '  %-12s %s\n' "$p" "$(mib "$(bytes "$KIT"/$p)")"
done
kit_b="$(bytes "$KIT")"
total=$((repo_b + kit_b))
echo "  total .gpu   $(mib "$kit_b") in $(find "$KIT" -type f | wc -l) files"
echo "travels: working tree $(mib "$repo_b") + .gpu $(mib "$kit_b") = $(mib "$total") (limit 64 MiB)"
if [ "$total" -gt $((64 * 1048576)) ]; then echo "error: over the 64 MiB transfer limit" >&2; exit 1; fi
if [ ! -e "$KIT/ckpt.part_aa" ]; then
  echo "note: a GPU checkpoint (~25 MiB) travels from the second call on"
fi
