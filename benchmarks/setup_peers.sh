#!/usr/bin/env bash
# Install the OCR peers of the benchmark in a separate venv (default /work/peers-venv).
# Usage: bash benchmarks/setup_peers.sh [VENV_DIR]
# Needs: python3 with venv, and root for apt-get (Tesseract's English model and headers).
set -euo pipefail

VENV="${1:-${PEERS_VENV:-/work/peers-venv}}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        tesseract-ocr tesseract-ocr-eng libtesseract-dev libleptonica-dev pkg-config
else
    echo "setup_peers.sh: not root or no apt-get; install tesseract-ocr-eng (and libtesseract-dev) yourself" >&2
fi

python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
# torch first and pinned, so that nothing below pulls another build.
"$VENV/bin/pip" install -q torch==2.14.1 torchvision==0.29.1
"$VENV/bin/pip" install -q -r "$HERE/requirements-peers.txt"
"$VENV/bin/pip" check
"$VENV/bin/python" -c "import tesserocr, rapidocr, rapidocr_onnxruntime, easyocr, easyocr_en_models, rapidfuzz; print('peers venv ready:', '$VENV')"
