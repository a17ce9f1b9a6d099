#!/usr/bin/env bash
# Bring back what a device call of scripts/gpu_train.sh wrote (see scripts/GPU.md):
#
#   bash scripts/gpu_fetch.sh FILES_AT [DEST]      (DEST defaults to runs/gpu, which git ignores)
#
# Checks model/config.json and model/model.safetensors against the hashes in train.txt, checks
# that they load, and writes DEST/final/ (the call's fp32 model: the one to evaluate and ship),
# DEST/pytest.txt, train.txt, gpu_speed.md (this call's) and DEST/train_log.csv (every call's rows,
# steps and hours continued from the calls before). Then $KIT/start becomes the fp16 copy of the
# new model, with one more GPU call counted: the next call starts from it. Fetching the same
# call twice changes nothing. Environment: KIT=.gpu, PY.
set -euo pipefail
FA="${1:?usage: gpu_fetch.sh FILES_AT [DEST]}"
FA="$(cd "$FA" && pwd)"
cd "$(dirname "$0")/.."
DEST="${2:-runs/gpu}"
KIT="${KIT:-.gpu}"
if [ -x .venv/bin/python ]; then PY="${PY:-.venv/bin/python}"; else PY="${PY:-python3}"; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [ -f "$FA/train.txt" ]; then tail -n 8 "$FA/train.txt"; fi
if [ -f "$FA/pytest.txt" ]; then tail -n 3 "$FA/pytest.txt"; fi
for f in model/config.json model/model.safetensors; do
  if [ ! -f "$FA/$f" ]; then
    echo "error: no $f came back (training did not reach its end); $KIT keeps its start" >&2
    exit 1
  fi
  want="$(awk -v f="$f" '$1 == "sha256" && $3 == f { h = $2 } END { print h }' "$FA/train.txt" 2>/dev/null || true)"
  have="$(sha256sum "$FA/$f" | awk '{ print $1 }')"
  if [ "$want" != "$have" ]; then
    echo "error: $f ($have) does not match train.txt (${want:-no hash})" >&2
    exit 1
  fi
done
if [ "$("$PY" scripts/gpu_kit.py info "$KIT/start" source_sha256)" = "$have" ]; then
  echo "already fetched: $KIT/start is this call's model; nothing changed"
  exit 0
fi

mkdir -p "$DEST" "$KIT"
rm -rf "$DEST/final.tmp"
mkdir -p "$DEST/final.tmp"
cp "$FA/model/config.json" "$FA/model/model.safetensors" "$DEST/final.tmp/"
"$PY" -c 'import sys; from crnn_plugin import from_pretrained; from_pretrained(sys.argv[1])' "$DEST/final.tmp"
rm -rf "$DEST/final"
mv "$DEST/final.tmp" "$DEST/final"
echo "model: $DEST/final (hashes match, loads)"
for f in pytest.txt train.txt gpu_speed.md; do
  if [ -f "$FA/$f" ]; then cp "$FA/$f" "$DEST/"; else rm -f "$DEST/$f"; fi
done
if [ -f "$FA/train_log.csv" ]; then
  "$PY" scripts/gpu_kit.py log-append "$FA/train_log.csv" "$DEST/train_log.csv" --prev "$KIT/start"
fi

# the next call's start: fp16, one more call counted, this call's steps added
steps="$(awk '$1 == "steps" { s = $2 } END { print s }' "$FA/train.txt")"
"$PY" scripts/gpu_kit.py start "$DEST/final" "$KIT/start.new" --prev "$KIT/start" \
  --call-log "$FA/train_log.csv" ${steps:+--call-steps "$steps"} \
  --origin "GPU call fetched from $FA on $(date -u +%FT%TZ)"
rm -rf "$KIT/start"
mv "$KIT/start.new" "$KIT/start"
tail -n 2 "$DEST/train_log.csv" 2>/dev/null || true
