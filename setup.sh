#!/usr/bin/env bash
# Set up gstreamed on Debian 12: GStreamer + PyGObject from Debian, a .venv that sees them,
# and the package with its pinned Python dependencies. Safe to re-run.
#   ./setup.sh            base + demo extras
#   ./setup.sh test       also the test tools, the optional torch backend and Ray
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_PACKAGES=(
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 python3-gst-1.0
  gstreamer1.0-python3-plugin-loader python3-venv python3-pip
)
# The tests also open a --live window on a virtual X display and serve a live RTSP camera.
[ "${1:-}" = "test" ] && DEBIAN_PACKAGES+=(xvfb gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's python3 carries the gi bindings and gst-python overrides; the venv must see them.
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
extras="demo"
[ "${1:-}" = "test" ] && extras="demo,test,torch,ray"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${extras}]" 2>&1 \
  | grep -v "^WARNING: Location" >&2 || true
# TrackEval without its declared GUI/plotting requirements (see pyproject.toml, extra "eval").
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "trackeval==1.3.0" 2>&1 \
  | grep -v "^WARNING: Location" >&2 || true
.venv/bin/python -c "import gstreamed.gst, onnxruntime, cv2, trackeval.metrics" >/dev/null \
  || { echo "setup: the environment is incomplete (see messages above)" >&2; exit 1; }
