#!/usr/bin/env bash
# Install the extra dependencies needed to train the CRNN on synthetic data:
# Debian font packages (for the synthetic word generator) and pip extras.
# Idempotent: re-running only installs what is missing. Packages that the
# configured apt sources do not provide are skipped with a warning.
set -euo pipefail

FONT_PACKAGES=(
  fonts-dejavu fonts-dejavu-extra fonts-liberation fonts-liberation2 fonts-freefont-ttf
  fonts-noto-core fonts-roboto fonts-open-sans fonts-lato fonts-croscore
  fonts-crosextra-carlito fonts-crosextra-caladea fonts-urw-base35 fonts-cantarell
  fonts-comfortaa fonts-oxygen fonts-linuxlibertine fonts-texgyre fonts-hack fonts-firacode
  fonts-inconsolata fonts-lobster fonts-league-spartan fonts-quicksand fonts-ebgaramond
  fonts-ubuntu fonts-bebas-neue fonts-anonymous-pro fonts-jura fonts-dancingscript
  fonts-yanone-kaffeesatz fonts-sil-andika fonts-go fonts-comic-neue fonts-cabin
  fonts-aenigma fonts-mplus
)
PIP_PACKAGES=(fonttools wordfreq)
PYTHON="${PYTHON:-python}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "warning: not root and no sudo; skipping apt packages" >&2; SUDO="__skip__"; fi
fi

if [ "$SUDO" != "__skip__" ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  missing=()
  for pkg in "${FONT_PACKAGES[@]}"; do
    # Already installed?
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      continue
    fi
    # Available from the configured sources?
    cand="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
      echo "warning: $pkg not available from apt sources; skipping" >&2
      continue
    fi
    missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "all available font packages already installed"
  fi
  if command -v fc-cache >/dev/null 2>&1; then fc-cache -f >/dev/null 2>&1 || true; fi
else
  echo "warning: apt-get unavailable; install fonts manually (see this script)" >&2
fi

"$PYTHON" -m pip install "${PIP_PACKAGES[@]}"
