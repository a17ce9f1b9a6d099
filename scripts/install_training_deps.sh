#!/usr/bin/env bash
# Install the extra dependencies needed to train the CRNN on synthetic data:
# Debian font packages (for the synthetic word generator), Debian wallpaper
# packages (photographic backgrounds) and pip extras.
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
# Photographic backgrounds (crnn_plugin/training/synth_photos.py cuts textures from them;
# without them the generator uses procedural backgrounds only). Licences, from
# /usr/share/doc/<pkg>/copyright:
#   ukui-wallpapers              CC-BY-SA-3.0
#   lomiri-wallpapers            per file: CC-BY-4.0, CC-BY-SA-3.0, CC-BY-SA-4.0, CC0-1.0 (debian/: Expat)
#   plasma-workspace-wallpapers  GPL-2+
#   gnome-backgrounds            per file: CC-BY-SA-3.0, CC-BY-SA-2.0, CC-BY-2.0 (package GPL-2+)
#   mate-backgrounds             GPL-2+ (desktop/Ubuntu-Mate-*-no-logo.png: CC-BY-SA-4.0)
# Only derived, downscaled textures end up in training images; none are redistributed.
WALLPAPER_PACKAGES=(
  ukui-wallpapers lomiri-wallpapers plasma-workspace-wallpapers gnome-backgrounds mate-backgrounds
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
  for pkg in "${FONT_PACKAGES[@]}" "${WALLPAPER_PACKAGES[@]}"; do
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
    echo "all available font and wallpaper packages already installed"
  fi
  if command -v fc-cache >/dev/null 2>&1; then fc-cache -f >/dev/null 2>&1 || true; fi
else
  echo "warning: apt-get unavailable; install fonts and wallpapers manually (see this script)" >&2
fi

"$PYTHON" -m pip install "${PIP_PACKAGES[@]}"
