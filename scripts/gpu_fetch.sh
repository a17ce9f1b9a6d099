#!/usr/bin/env bash
# Bring back what a device call of scripts/gpu_train.sh wrote (see scripts/GPU.md):
#
#   bash scripts/gpu_fetch.sh FILES_AT [DEST]      (DEST defaults to runs/gpu, which git ignores)
#
# DEST/final/ gets the model folder (config.json, model.safetensors), DEST/checkpoint.pt the joined
# checkpoint, DEST/ the logs; $KIT/ckpt.part_* (+ ckpt.sha256) become the new parts to carry on the
# next call and $KIT/run/train_log.csv the log it appends to. The joined checkpoint is not kept in
# $KIT: the kit would carry it twice and pass the transfer limit. Environment: KIT=.gpu, PY.
set -euo pipefail
FA="${1:?usage: gpu_fetch.sh FILES_AT [DEST]}"
FA="$(cd "$FA" && pwd)"
cd "$(dirname "$0")/.."
DEST="${2:-runs/gpu}"
KIT="${KIT:-.gpu}"
if [ -x .venv/bin/python ]; then PY="${PY:-.venv/bin/python}"; else PY="${PY:-python3}"; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

mkdir -p "$DEST"
for f in pytest.txt train.txt train_log.csv; do
  if [ -f "$FA/$f" ]; then
    cp "$FA/$f" "$DEST/"
    if [ "$f" != train_log.csv ]; then tail -n 6 "$FA/$f"; fi
  fi
done
if [ -f "$FA/model/model.safetensors" ] && [ -f "$FA/model/config.json" ]; then
  rm -rf "$DEST/final"
  mkdir -p "$DEST/final"
  cp "$FA/model/config.json" "$FA/model/model.safetensors" "$DEST/final/"
  "$PY" -c 'import sys; from crnn_plugin import from_pretrained; from_pretrained(sys.argv[1])' "$DEST/final"
  echo "model: $DEST/final (loads)"
else
  echo "warning: no model folder came back (training did not reach its end)" >&2
fi

if ! compgen -G "$FA/ckpt.part_*" >/dev/null; then
  echo "error: no checkpoint parts came back; $KIT keeps its parts" >&2
  exit 1
fi
cat "$FA"/ckpt.part_* >"$DEST/checkpoint.pt.tmp"
have="$(sha256sum "$DEST/checkpoint.pt.tmp" | awk '{ print $1 }')"
want="$(awk '/^ckpt sha256 / { h = $3 } END { print h }' "$FA/train.txt" 2>/dev/null || true)"
if [ -n "$want" ] && [ "$want" != "$have" ]; then
  echo "error: joined parts ($have) do not match train.txt ($want)" >&2
  exit 1
fi
mv "$DEST/checkpoint.pt.tmp" "$DEST/checkpoint.pt"
step="$("$PY" scripts/gpu_kit.py ckpt-step "$DEST/checkpoint.pt")"

mkdir -p "$KIT/run"
rm -f "$KIT"/ckpt.part_* "$KIT/ckpt.from" "$KIT/run/checkpoint.pt"
cp "$FA"/ckpt.part_* "$KIT/"
(cd "$DEST" && sha256sum checkpoint.pt) >"$KIT/ckpt.sha256"
if [ -f "$FA/train_log.csv" ]; then cp "$FA/train_log.csv" "$KIT/run/train_log.csv"; fi
rm -rf "$KIT/run/final"
echo "checkpoint: step $step -> $DEST/checkpoint.pt; parts for the next call in $KIT"
tail -n 2 "$KIT/run/train_log.csv" 2>/dev/null || true
