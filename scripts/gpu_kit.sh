#!/usr/bin/env bash
# Build the ignored .gpu/ training kit that travels to a lent GPU machine (see scripts/GPU.md).
# Run here (CPU machine, PyPI reachable) once per session that has a GPU:
#
#   bash scripts/gpu_kit.sh
#
# .gpu/ holds few files, so that what travels is what is counted:
#   whl/*.whl      rapidfuzz for the device's Python 3.12 (WHEELS="rapidfuzz ..." for more)
#   data.tar.xz    words.txt and data/: every real train split the GPU config reads, re-encoded
#                  (scripts/gpu_kit.py ENCODINGS); gpu_train.sh unpacks it into .gpu/ on the device
#   synth.tar.gz   fonts/ (ASCII subsets, sized to what is left of the travel budget) and photos/
#                  (wallpapers for the scene synth's photo backgrounds, PHOTO_BUDGET_MIB)
#   pack.txt       what the two packs hold (splits, encodings, counts, fonts, photos)
#   start/         the model the next call starts from: config.json, fp16 model.safetensors,
#                  start.json (origin, GPU calls and steps so far), SHA256SUMS
# Idempotent: what exists is kept (a fetched GPU start too, so that the next session continues).
#   CFG=configs/crnn_v2_en_gpu.json   the GPU training config (its .gpu/data/<split> paths decide the data)
#   FROM=runs/crnn_v2_en/checkpoint.pt  the start while no GPU result has been fetched (a training
#                  checkpoint or a model folder; taken again whenever it is newer than the carried start)
#   RESET_START=1  drop the carried start (also a fetched GPU one) and take FROM
#   FORCE=1        rebuild the wheels and both packs; FORCE_SYNTH=1 only synth.tar.gz
#   LIMIT_MIB=63.5 what may travel in all (working tree + .gpu); the fonts get what is left, at most
#   FONT_BUDGET_MIB=8; PHOTO_BUDGET_MIB=1.5; WORDS_N=50000; DATA_SRC=../shared/data; DATA_ARGS
#                  (more `gpu_kit.py data` options: --enc SPLIT=FMT:MAX_H:Q, --max-items SPLIT=N)
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.gpu
if [ -x .venv/bin/python ]; then PY="${PY:-.venv/bin/python}"; else PY="${PY:-python3}"; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
CFG="${CFG:-configs/crnn_v2_en_gpu.json}"
LIMIT_MIB="${LIMIT_MIB:-63.5}"
FONT_BUDGET_MIB="${FONT_BUDGET_MIB:-8}"
PHOTO_BUDGET_MIB="${PHOTO_BUDGET_MIB:-1.5}"
WORDS_N="${WORDS_N:-50000}"  # = SynthConfig.english_top_n: the same word distribution as the CPU run
DATA_SRC="${DATA_SRC:-../shared/data}"
# Since two models ship in weights/ (22.8 MiB of working tree), the two largest real splits travel
# subsampled (scans 40.8k -> 20k, receipt lines 15.5k -> 10k; at the GPU's ~2 M samples a call both
# are still seen many times over) so that everything stays under the 64 MiB limit.
DATA_ARGS="${DATA_ARGS:---max-items scans_pseudo_train=20000 sroie_lines_train=10000 sroie_lines_train_recased=10000}"
# Receipt lines with their ink's case (scripts/recase_labels.py, from TEACHER's readings): built
# here when the GPU config reads them and runs/recase has none yet (~30 s).
RECASED="${RECASED:-runs/recase/sroie_lines_train_recased}"
TEACHER="${TEACHER:-weights/crnn-small-en-v2}"
FROM="${FROM:-runs/crnn_v2_en/checkpoint.pt}"
if [ ! -e "$FROM" ] && [ "$FROM" = runs/crnn_v2_en/checkpoint.pt ] && [ -d runs/crnn_v2_en/final ]; then
  FROM=runs/crnn_v2_en/final
fi
if [ ! -e "$FROM" ] && [ "$FROM" = runs/crnn_v2_en/checkpoint.pt ]; then
  FROM=weights/crnn-small-en-v2  # a fresh checkout: start from the shipped default model
fi

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes() { { du -sb "$@" 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }'; }
kit() { "$PY" scripts/gpu_kit.py "$@"; }

exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
grep -qxF '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >>"$exclude"
mkdir -p "$KIT"
if [ "${FORCE:-0}" = 1 ]; then rm -rf "$KIT/whl" "$KIT/data.tar.xz" "$KIT/synth.tar.gz"; fi
if [ "${FORCE_SYNTH:-0}" = 1 ]; then rm -f "$KIT/synth.tar.gz"; fi
if [ "${RESET_START:-0}" = 1 ]; then rm -rf "$KIT/start"; fi
# never travel: unpacked copies and a simulated call's run folder; the old kit's checkpoint parts
rm -rf "$KIT/data" "$KIT/fonts" "$KIT/photos" "$KIT/words.txt" "$KIT/run" "$KIT"/*.tmp
rm -f "$KIT/pack.tar.gz" "$KIT/fonts.tar.gz" "$KIT"/ckpt.* "$KIT/cycle_start"

# 1. wheels the device lacks (pinned to this venv's versions when it has them): rapidfuzz, which
#    lexicons, evaluation and the GPU tests need; not shapely (only polygon regions import it:
#    no training code, no GPU test)
read -ra wheels <<<"${WHEELS:-rapidfuzz}"
missing=0
for w in "${wheels[@]}"; do compgen -G "$KIT/whl/$w-*.whl" >/dev/null || missing=1; done
if [ "$missing" = 1 ]; then
  reqs=()
  for w in "${wheels[@]}"; do
    v="$("$PY" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$w" 2>/dev/null || true)"
    reqs+=("$w${v:+==$v}")
  done
  rm -rf "$KIT/whl"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$KIT/whl" "${reqs[@]}"
fi
for f in "$KIT"/whl/*.whl; do  # wheels no longer wanted (shapely, carried until 2026-11-28)
  case " ${wheels[*]} " in *" $(basename "$f" | cut -d- -f1) "*) ;; *) rm -f "$f" && echo "whl: dropped $f" ;; esac
done

# 2. the start: weights only, fp16; every GPU call is a warm restart from it (fresh optimizer,
#    warmup, one cosine cycle). A fetched GPU result (calls > 0) is kept; until then FROM, when newer.
calls="$(kit info "$KIT/start" calls --default 0 2>/dev/null || echo 0)"
if [ -f "$KIT/start/start.json" ] && [ "$calls" -gt 0 ]; then
  echo "start: kept, GPU call $calls's model ($(kit info "$KIT/start" origin))"
else
  stamp="$FROM"
  [ ! -d "$FROM" ] || stamp="$FROM/model.safetensors"
  if [ -e "$stamp" ] && { [ ! -f "$KIT/start/start.json" ] || [ "$stamp" -nt "$KIT/start/start.json" ]; }; then
    nice -n 15 "$PY" scripts/gpu_kit.py start "$FROM" "$KIT/start"
  elif [ -f "$KIT/start/start.json" ]; then
    echo "start: kept ($(kit info "$KIT/start" origin))"
  else
    echo "error: no start model: FROM=$FROM does not exist (FROM=weights/crnn-small-en starts from the shipped weights)" >&2
    exit 1
  fi
fi

# 3. the packs: words (wordfreq is not on the device) and the real train splits (never a *_test or
#    *_val split), then photos and the fonts, which get what is left of the travel budget
splits="$(kit splits "$CFG" | tr '\n' ' ')"
if [ -s "$KIT/data.tar.xz" ] && ! grep -qxF "splits: $splits" "$KIT/pack.txt" 2>/dev/null; then
  echo "data: $CFG reads other splits than the pack holds; rebuilding it"
  rm -f "$KIT/data.tar.xz" "$KIT/synth.tar.gz"
fi
stage="$(mktemp -d /tmp/gpu_kit.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
if [ ! -s "$KIT/data.tar.xz" ]; then
  kit words "$stage/words.txt" --n "$WORDS_N"
  read -ra split_list <<<"$splits"
  extra=()
  if [[ " $splits " == *" sroie_lines_train_recased "* ]]; then
    if [ ! -s "$RECASED/labels.tsv" ]; then
      mkdir -p "$(dirname "$RECASED")"
      "$PY" -m crnn_plugin evaluate "$DATA_SRC/sroie_lines_train" --model "$TEACHER" \
        --predictions "$RECASED.teacher.jsonl" >/dev/null
      "$PY" scripts/recase_labels.py "$DATA_SRC/sroie_lines_train" "$RECASED.teacher.jsonl" --out "$RECASED"
    fi
    extra=(--extra "sroie_lines_train_recased=$RECASED")
  fi
  for s in "${split_list[@]}"; do
    if [ -d "$DATA_SRC/$s" ]; then du -sh "$DATA_SRC/$s" | sed 's/^/source: /'; fi
  done
  # shellcheck disable=SC2086  # DATA_ARGS is a list of options
  nice -n 15 "$PY" scripts/gpu_kit.py data "$DATA_SRC" "$stage/data" --config "$CFG" ${DATA_ARGS:-} "${extra[@]}" \
    | tee "$stage/data.txt"
  if find "$stage" -path '*_test*' -o -path '*_val*' | grep -q .; then
    echo "error: a test or validation split is staged" >&2
    exit 1
  fi
  nice -n 15 "$PY" scripts/gpu_kit.py pack "$stage" "$KIT/data.tar.xz" words.txt data
  { echo "splits: $splits"; cat "$stage/data.txt"; } >"$KIT/pack.txt"
  rm -f "$KIT/synth.tar.gz"
  rm -rf "$stage/data"
fi
repo_b="$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | awk '/\ttotal$/ { s += $1 } END { print s + 0 }')"
if [ ! -s "$KIT/synth.tar.gz" ]; then
  nice -n 15 "$PY" scripts/gpu_kit.py photos "$stage/photos" --budget-mib "$PHOTO_BUDGET_MIB" | tee "$stage/synth.txt"
  rest_b=$((repo_b + $(bytes "$KIT/whl" "$KIT/start" "$KIT/data.tar.xz" "$KIT/pack.txt" "$stage/photos")))
  budget="$(awk -v l="$LIMIT_MIB" -v r="$rest_b" -v f="$FONT_BUDGET_MIB" \
    'BEGIN { b = l - r / 1048576 - 0.3; if (b > f) b = f; printf "%.2f", b }')"
  if awk -v b="$budget" 'BEGIN { exit !(b < 2) }'; then
    echo "error: only $budget MiB left for fonts: subsample a split (DATA_ARGS='--max-items SPLIT=N') or lower a quality" >&2
    exit 1
  fi
  nice -n 15 "$PY" scripts/gpu_kit.py fonts "$stage/fonts" --budget-mib "$budget" | tee -a "$stage/synth.txt"
  nice -n 15 "$PY" scripts/gpu_kit.py pack "$stage" "$KIT/synth.tar.gz" fonts photos
  grep -v '^fonts: \|^photos: ' "$KIT/pack.txt" >"$stage/pack.txt" || true
  cat "$stage/pack.txt" "$stage/synth.txt" >"$KIT/pack.txt"
fi

# 4. sizes
echo "--- .gpu"
for p in whl start data.tar.xz synth.tar.gz pack.txt; do
  [ -e "$KIT/$p" ] || continue
  printf '  %-13s %s\n' "$p" "$(mib "$(bytes "$KIT/$p")")"
done
kit_b="$(bytes "$KIT")"
total=$((repo_b + kit_b))
echo "  total .gpu    $(mib "$kit_b") in $(find "$KIT" -type f | wc -l) files"
echo "travels: working tree $(mib "$repo_b") + .gpu $(mib "$kit_b") = $(mib "$total") (limit 64 MiB)"
if [ "$total" -gt $((64 * 1048576)) ]; then echo "error: over the 64 MiB transfer limit" >&2; exit 1; fi
